"""One computed sentence per figure or table of the paper, from its artefact."""

from __future__ import annotations

from collections.abc import Callable

from ..tables import UNLABELLED
from . import artefacts as A
from .frames import display
from .inputs import SKIPPED, Inputs


def funnel(inp: Inputs) -> str:
    fn = A.figure_1(inp).frame.sort_values("order")
    return (f"{int(fn['count'].iloc[0]):,} searched repositories narrow to "
            f"{int(fn['count'].iloc[-2]):,} studied ({int(fn['count'].iloc[-1]):,} in the "
            "final dataset); the largest cut is the Dockerfile criterion.")


def table1(inp: Inputs) -> str:
    t = A.table1(inp, "paper").frame.set_index("category")
    t = t.drop(index=[c for c in ("Total", UNLABELLED) if c in t.index])
    top = t["repos"].idxmax()
    low = t["dockerfiles"].idxmin()
    return (f"{display(top)} is the largest category ({int(t.loc[top, 'repos'])} repositories,"
            f" {t.loc[top, 'share_pct']:.0f}%); {display(low)} has the fewest Dockerfiles "
            f"per repository (median {t.loc[low, 'dockerfiles']:g}).")


def purposes(inp: Inputs) -> str:
    art = A.figure_2(inp)
    c = art.extra["counts"]
    nodes = {n["id"]: n["name"] for n in art.extra["nodes"]}
    if not c:
        return f"{len(nodes)} purposes and subcategories drawn from taxonomy/purposes.yaml."
    top = sorted(c.items(), key=lambda kv: -kv[1])[:3]
    return "Most frequent purposes: " + ", ".join(
        f"{nodes.get(k, k)} ({v} repositories)" for k, v in top) + "."


def instructions(inp: Inputs) -> str:
    df = A.figure_3a(inp, "corrected").frame
    med = df.groupby("instruction")["percentage"].median().sort_values(ascending=False)
    return (f"{med.index[0]} is the most used instruction (median {med.iloc[0]:.1f}% of a "
            f"repository's instructions), followed by {med.index[1]} and {med.index[2]}.")


def run_commands(inp: Inputs) -> str:
    df = A.figure_3b(inp, "corrected").frame
    med = df.groupby("run_category")["percentage"].median().sort_values(ascending=False)
    return ("RUN commands are mostly " + ", ".join(
        f"{k} ({v:.1f}%)" for k, v in med.head(3).items()) + " (median share per repository).")


def base_images(inp: Inputs) -> str:
    sh = A.figure_4a(inp, "corrected").frame
    tot = sh.groupby("key")["pct"].sum().sort_values(ascending=False)
    return "Most used base images: " + ", ".join(
        f"{k} ({v:.1f}% of repositories)" for k, v in tot.head(3).items()) + "."


def base_image_types(inp: Inputs) -> str:
    sh = A.figure_4b(inp, "corrected").frame
    tot = sh.groupby("key")["pct"].sum().sort_values(ascending=False)
    return "Most common base image types: " + ", ".join(
        f"{' '.join(str(k).split())} ({v:.1f}%)" for k, v in tot.head(3).items()) + "."


def table2(inp: Inputs) -> str:
    t = A.table2(inp, "corrected").frame.set_index("category")
    arch = sorted({a.strip() for v in t["arch"].dropna() for a in str(v).split(",")} - {""})
    return (f"Median config size {t['conf_size'].min():.2f}-{t['conf_size'].max():.2f} KiB; "
            f"median layers {t['layers'].min():g}-{t['layers'].max():g} per repository; "
            f"architectures seen: {', '.join(arch)}.")


def file_types(inp: Inputs) -> str:
    art = A.figure_5a(inp, "paper")
    df, line = art.frame, art.extra["line"]
    spread = df.groupby("file_type")["category"].nunique()
    common = spread[spread >= 3].index
    num = df[df["file_type"].isin(common)].groupby("file_type")["perc_number"].mean()
    sto = line[line["file_type"].isin(common)].groupby("file_type")["value"].mean()
    num, sto = num.sort_values(ascending=False), sto.sort_values(ascending=False)
    return (f"Among file types shown for 3+ categories, {', '.join(num.index[:3])} have the "
            f"most files (mean {num.iloc[0]:.0f}% for {num.index[0]}), while {sto.index[0]} "
            f"holds the most bytes (mean {sto.iloc[0]:.0f}% of storage).")


def file_sizes(inp: Inputs) -> str:
    df = A.figure_5b(inp, "paper").frame
    r = df.sort_values("size_mb", ascending=False).iloc[0]
    return (f"The largest file type is {r['file_type']} in {display(str(r['category']))} "
            f"({r['size_mb']:.0f} MB).")


FINDINGS: tuple[tuple[str, Callable[[Inputs], str], str], ...] = (
    ("figure1_funnel", funnel, "both modes"), ("table1", table1, "paper mode"),
    ("figure2_purposes", purposes, "corrected mode"),
    ("figure3a_instructions", instructions, "corrected mode"),
    ("figure3b_run_commands", run_commands, "corrected mode"),
    ("figure4a_base_images", base_images, "corrected mode"),
    ("figure4b_base_image_types", base_image_types, "corrected mode"),
    ("table2", table2, "corrected mode"),
    ("figure5a_file_types", file_types, "paper mode"),
    ("figure5b_file_sizes", file_sizes, "paper mode"))
"""Artefact name -> its finding and the mode it reads."""


def findings(inp: Inputs, done: dict[str, str]) -> list[tuple[str, str]]:
    """One computed sentence per figure/table that was drawn (``done``: name -> status)."""
    out: list[tuple[str, str]] = []
    for name, fn, mode in FINDINGS:
        if not any(k.startswith(name) and v == "ok" for k, v in done.items()):
            reason = next((v for k, v in done.items() if k.startswith(name)), "not drawn")
            out.append((name, f"not drawn ({reason})"))
            continue
        try:
            out.append((name, f"{fn(inp)} [{mode}]"))
        except SKIPPED as exc:
            out.append((name, f"finding not computed ({exc})"))
    return out


def finding(inp: Inputs, name: str) -> str:
    """The computed one-line finding of one figure or table (for the notebooks)."""
    return dict(findings(inp, {name: "ok"}))[name]

"""The reproduction targets: walk the paper's targets file, compare, give each leaf a status.

Target ids are dotted JSON paths into ``paper_targets.json`` ending at the compared leaf,
e.g. ``rq1_table1_medians.Model.Size.value``; a key that itself contains a dot is written
in brackets (``rq4_fig5b_file_size.value.Model.[.a].size_MB``). Tolerances, adopted
sections, static reasons and data defects come from ``targets/sections.yaml``
(:mod:`pipeline.report.sections`); the targets file must have the sha256 pinned there.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..config import CATEGORIES, Paths
from ..errors import MldockError, StageInputMissing
from ..schemas import REPRODUCTION
from ..taxonomy import normalise_keyword
from .frames import canon
from .inputs import MODES
from .sections import BOUND_KINDS, Sections, load_sections

TARGETS_ENV = "MLDOCK_PAPER_TARGETS"
UNREPRODUCIBLE = "unreproducible (data)"
STATUSES = ("reproduced", "differs", UNREPRODUCIBLE, "not recomputable")


class TargetsChanged(MldockError):
    """The targets file found is not the one ``targets/sections.yaml`` pins."""

    def __init__(self, path: Path, got: str, want: str, pin: Path) -> None:
        super().__init__(
            f"{path}: sha256 {got[:12]}... is not the pinned {want[:12]}... ({pin}); "
            "point --targets at the pinned paper_targets.json, or review the changes and "
            f"update targets_file.sha256 in {pin}")


META_KEYS = {"unit", "location", "data_file", "note", "exact_from_counts", "text_claim",
             "text_claims", "categories", "seed_keywords", "conventions", "paper"}


def key_part(k: str) -> str:
    return f"[{k}]" if "." in k else k


def tid(*parts: str) -> str:
    return ".".join(key_part(p) for p in parts)


@dataclass
class Leaf:
    id: str
    section: str
    path: tuple[str, ...]
    value: Any
    reference: str  # "paper" or "package"
    unit: str


def walk_targets(spec: dict[str, Any]) -> Iterator[Leaf]:
    """Every compared leaf of ``paper_targets.json`` (``_meta`` excluded).

    A dict with a ``value`` key is a target: its value (or, when the paper prints none,
    its ``data_value``) is expanded into leaves (dict keys recurse; scalars and lists are
    leaves).  Dicts without ``value`` recurse; bare numbers inside them are leaves taken
    from the package (``intermediate_in_data``).
    """

    def expand(v: Any, path: tuple[str, ...], ref: str, unit: str, section: str) -> Iterator[Leaf]:
        if isinstance(v, dict):
            for k, sub in v.items():
                yield from expand(sub, (*path, str(k)), ref, unit, section)
        else:
            yield Leaf(tid(*path), section, path, v, ref, unit)

    def rec(node: Any, path: tuple[str, ...], unit: str) -> Iterator[Leaf]:
        section = path[0]
        if isinstance(node, dict) and "value" in node:
            u = str(node.get("unit", unit))
            if node["value"] is None and "data_value" in node:
                yield from expand(node["data_value"], (*path, "data_value"), "package", u, section)
            else:
                yield from expand(node["value"], (*path, "value"), "paper", u, section)
        elif isinstance(node, dict):
            u = str(node.get("unit", unit))
            for k, sub in node.items():
                if k in META_KEYS:
                    continue
                yield from rec(sub, (*path, str(k)), u)
        elif isinstance(node, (int, float)) and not isinstance(node, bool):
            yield Leaf(tid(*path), section, path, node, "package", unit)

    for k, v in spec.items():
        if k.startswith("_"):
            continue
        yield from rec(v, (k,), "")


class Ours:
    """Our values per mode, keyed by target id; reasons for what we cannot compute."""

    def __init__(self) -> None:
        self.values: dict[str, dict[str, Any]] = {m: {} for m in MODES}
        self.reasons: dict[str, dict[str, str]] = {m: {} for m in MODES}
        self.mix: dict[str, dict[str, str]] = {m: {} for m in MODES}  # label mix per mode
        self.notes: dict[str, str] = {}
        self.why: dict[str, dict[str, str]] = {m: {} for m in MODES}  # per-target cause

    def set(self, mode: str, target: str, value: Any) -> None:
        self.values[mode][target] = value

    def both(self, target: str, value: Any) -> None:
        for m in MODES:
            self.values[m][target] = value

    def missing(self, mode: str, prefix: str, reason: str) -> None:
        self.reasons[mode][prefix] = reason

    def reason_for(self, mode: str, target: str) -> str:
        best = ""
        for prefix in self.reasons[mode]:
            if target.startswith(prefix) and len(prefix) > len(best):
                best = prefix
        return self.reasons[mode].get(best, "") if best else ""


def _norm_key_plain(k: Any) -> str:
    s = normalise_keyword(k)
    return s[3:] if s.startswith("{}/") else s


def _norm_set(v: Any) -> set[str]:
    if isinstance(v, str):
        v = v.strip("{}").replace("'", "").split(",")
    return {normalise_keyword(x) for x in v if str(x).strip()}


#: how a bound claim of the paper is checked (``bounds`` of targets/sections.yaml)
BOUNDS = {"more_than": lambda ours, paper: ours > paper,
          "less_than": lambda ours, paper: ours < paper}
assert set(BOUNDS) == set(BOUND_KINDS)


def compare(paper: Any, ours: Any, tol: float, leaf: Leaf, bound: str = ""
            ) -> tuple[str, Any]:
    """``(status, difference)`` for one leaf; status ``reproduced`` or ``differs``.  A
    ``bound`` claim ("more than 5") holds when ours lies on the claimed side of the paper's."""
    if isinstance(paper, bool) or isinstance(ours, bool):
        return ("reproduced" if paper == ours else "differs"), None
    if isinstance(paper, (int, float)) and isinstance(ours, (int, float, np.number)):
        diff = float(ours) - float(paper)
        ok = BOUNDS[bound](float(ours), float(paper)) if bound else abs(diff) <= tol + 1e-9
        return ("reproduced" if ok else "differs"), round(diff, 4)
    if leaf.path[-2:] == ("instructions_excluded_examples", "value"):
        ok = _norm_set(paper) <= _norm_set(ours)
        return ("reproduced" if ok else "differs"), None
    ps, os_ = _norm_set(paper), _norm_set(ours)
    if ps == os_:
        return "reproduced", None
    parts: list[str] = []
    if os_ - ps:
        parts.append("+" + ", ".join(sorted(os_ - ps)))
    if ps - os_:
        parts.append("-" + ", ".join(sorted(ps - os_)))
    return "differs", "; ".join(parts)


def leaf_kind(leaf: Leaf) -> str:
    """``list`` (compared as a set), ``table cell`` (per category, or a row of a figure's
    table) or ``scalar``."""
    if isinstance(leaf.value, list):
        return "list"
    rows = {"intermediate_in_data", "stacked_totals", "totals", "overall_median",
            "manual-labeling.csv (406)", "final-dataset.csv (405)"}
    per_cat = any(canon(part) in CATEGORIES for part in leaf.path[:-1])
    return "table cell" if per_cat or rows & set(leaf.path[1:-1]) else "scalar"


#: the columns of the reproduction table, as its schema declares them
COLUMNS = [c.name for c in REPRODUCTION.columns]


def reproduction(spec: dict[str, Any], ours: Ours, sections: Sections | None = None
                 ) -> pd.DataFrame:
    """One row per target leaf: paper value, ours per mode, difference, status, reason."""
    sec = sections or load_sections()
    adopted, static, defects = sec.adopted(), sec.static_reasons(), sec.data_defects()
    bounds = sec.bounds()
    rows: list[dict[str, Any]] = []
    for leaf in walk_targets(spec):
        tol = sec.tolerance(leaf.section, leaf.path)
        row: dict[str, Any] = {
            "target": leaf.id,
            "section": leaf.section,
            "kind": leaf_kind(leaf),
            "reference": leaf.reference,
            "paper_value": _show(leaf.value),
            "unit": leaf.unit,
            "tolerance": tol if isinstance(leaf.value, (int, float)) else None,
        }
        fixed = next((r for k, r in adopted.items() if leaf.id.startswith(k + ".")), "")
        reasons = [r for mode in MODES
                   if (r := _mode_columns(row, leaf, mode, (tol, bounds.get(leaf.id, "")), ours,
                                          fixed, static, defects))]
        row["labels"] = _labels(ours, leaf.id)
        row["reason"] = _reason(row, leaf, (tol, bounds.get(leaf.id, "")), reasons, ours)
        if UNREPRODUCIBLE in (row["status_paper"], row["status_corrected"]):
            row["reason"] = f"{defects[leaf.id]}; {row['reason']}"
        rows.append(row)
    return pd.DataFrame(rows, columns=COLUMNS)


def _mode_columns(row: dict[str, Any], leaf: Leaf, mode: str, check: tuple[float, str],
                  ours: Ours, adopted: str, static: dict[str, str], defects: dict[str, str]
                  ) -> str:
    """Fill ``ours_``, ``diff_`` and ``status_<mode>``; returns the not-recomputable reason.
    ``check`` is the leaf's tolerance and bound."""
    v = ours.values[mode].get(leaf.id)
    if not adopted and v is not None:
        status, diff = compare(leaf.value, v, check[0], leaf, check[1])
        if status == "differs" and leaf.id in defects:
            status = UNREPRODUCIBLE
        row[f"ours_{mode}"], row[f"diff_{mode}"], row[f"status_{mode}"] = _show(v), diff, status
        return ""
    r = adopted or _static_reason(leaf.id, static) or ours.reason_for(mode, leaf.id) or (
        "no matching value in our tables")
    row[f"ours_{mode}"], row[f"diff_{mode}"] = None, None
    row[f"status_{mode}"] = "not recomputable"
    return f"{mode}: {r}"


def _static_reason(target: str, static: dict[str, str]) -> str:
    for prefix, r in static.items():
        if target.startswith(prefix):
            return r
    return ""


def _mix_for(ours: Ours, mode: str, target: str) -> str:
    """``mode``'s label mix of the longest prefix of ``target`` that has one."""
    mixes = ours.mix[mode]
    best = ""
    for prefix in mixes:
        if (target == prefix or target.startswith(prefix + ".")) and len(prefix) > len(best):
            best = prefix
    return mixes.get(best, "")


def _labels(ours: Ours, target: str) -> str:
    """The ``labels`` column: the paper mode's mix, or each mode's when they differ."""
    mixes = {m: _mix_for(ours, m, target) for m in MODES}
    if len(set(mixes.values())) == 1:
        return mixes[MODES[0]]
    return "; ".join(f"{m}: {x}" for m, x in mixes.items() if x)


def _causes(target: str, statuses: dict[str, str], ours: Ours) -> list[str]:
    """Per differing mode (``statuses``: mode -> status), the cause found in the data: a
    computed per-target cause (``ours.why``); else, when another mode reproduces it with
    as many predicted labels (the modes' sets may differ in labelled repositories only),
    the mode's rule (``method:``); else the mode's own predicted labels."""
    out = []
    for mode in MODES:
        if statuses[mode] != "differs":
            continue
        mix = _mix_for(ours, mode, target)
        blanks = _counts(mix)[1]
        same = [m for m in MODES if m != mode and statuses[m] == "reproduced"
                and _counts(_mix_for(ours, m, target))[1] == blanks]
        why = ours.why[mode].get(target) or (
            f"method: {mode} mode's rule differs from the study's (the other mode "
            f"reproduces with the same labels, {blanks or 0} predicted)" if same
            else _label_cause(mix))
        if why and why not in out:
            out.append(why if len(MODES) == 1 else f"{mode}: {why}")
    return out


def _counts(mix: str) -> tuple[int, int | None]:
    """``"n manual / m predicted"`` -> ``(n, m)``; ``(0, None)`` for no mix."""
    parts = [x.split() for x in mix.split(" / ")]
    if len(parts) != 2 or not all(p and p[0].isdigit() for p in parts):
        return 0, None
    return int(parts[0][0]), int(parts[1][0])


def _label_cause(mix: str) -> str:
    """``"n manual / m predicted"`` -> the blank-label cause when m > 0."""
    n, m = _counts(mix)
    return (f"the copy leaves {m} of the {n + m} repositories behind this value unlabelled "
            f"(category predicted)") if m else ""


def _show(v: Any) -> Any:
    if isinstance(v, (list, tuple, set)):
        return ", ".join(str(x) for x in v)
    if isinstance(v, np.generic):
        return v.item()
    return v


def _reason(row: dict[str, Any], leaf: Leaf, check: tuple[float, str], reasons: list[str],
            ours: Ours) -> str:
    """One line: per mode, how far off (or why not computed), plus a section note."""
    tol, bound = check
    sp, sc = row["status_paper"], row["status_corrected"]
    if sp == sc == "not recomputable":
        texts = [r.split(": ", 1)[1] for r in reasons]
        return texts[0] if len(set(texts)) == 1 else "; ".join(reasons)
    numeric = isinstance(leaf.value, (int, float)) and not isinstance(leaf.value, bool)
    parts = []
    if sp == sc == "reproduced":
        if not numeric:
            parts.append("both modes equal (as sets)")
        elif bound:
            parts.append(f"a bound claim: both modes {bound.replace('_', ' ')} the paper's value")
        else:
            parts.append("both modes within tolerance" + (f" ±{tol:g}" if tol else " (exact)"))
    else:
        for mode, s in (("paper", sp), ("corrected", sc)):
            if s in ("differs", UNREPRODUCIBLE):
                d = row[f"diff_{mode}"]
                parts.append(f"{mode} mode off by {d}" if d is not None else f"{mode} mode differs")
            elif s == "not recomputable":
                parts.extend(r for r in reasons if r.startswith(mode))
            else:
                parts.append(f"{mode} mode reproduced")
    parts += _causes(leaf.id, {m: row[f"status_{m}"] for m in MODES}, ours)
    note = ours.notes.get(leaf.section, "")
    if note and "differs" in (sp, sc):
        parts.append(note)
    return "; ".join(parts)


def load_spec(p: Paths, path: Path | None = None) -> dict[str, Any]:
    """``paper_targets.json``: ``path``, ``$MLDOCK_PAPER_TARGETS``, or the shared folder
    beside the project (``targets_file.path`` of ``targets/sections.yaml``); its sha256
    must be the pinned one (:class:`TargetsChanged`)."""
    sec = load_sections(p.targets)
    rel, sha = sec.targets_file()
    candidates = [path] if path else []
    if os.environ.get(TARGETS_ENV):
        candidates.append(Path(os.environ[TARGETS_ENV]))
    candidates += [p.root.parent / "shared" / rel,
                   Path(__file__).resolve().parents[3] / "shared" / rel]
    for c in candidates:
        if c and c.exists():
            raw = c.read_bytes()
            got = hashlib.sha256(raw).hexdigest()
            if got != sha:
                raise TargetsChanged(c, got, sha, sec.path)
            data: dict[str, Any] = json.loads(raw.decode("utf-8"))
            return data
    raise StageInputMissing(
        f"paper_targets.json (looked in {', '.join(str(c) for c in candidates if c)})",
        f"set {TARGETS_ENV}=<path to paper_targets.json> and rerun mldock report")


def status_counts(rep: pd.DataFrame) -> pd.DataFrame:
    """Counts of reproduced / differs / not recomputable per mode."""
    out = {}
    for mode in MODES:
        out[mode] = rep[f"status_{mode}"].value_counts()
    df = pd.DataFrame(out).reindex(list(STATUSES)).fillna(0)
    return df.astype(int)


#: what a differing target's reason says, in the order the causes are told apart
CAUSES = (("rule", ("rule:",)),
          ("method", ("method:",)),
          ("blank labels of the copy", ("unlabelled", "labels are blank")))


def difference_causes(rep: pd.DataFrame, mode: str = "paper") -> pd.DataFrame:
    """Differing targets of ``mode`` per cause found in their reason (``unexplained`` when
    the reason names none)."""
    d = rep[rep[f"status_{mode}"] == "differs"]
    mine = d["reason"].fillna("").map(lambda r: _mode_part(r, mode))

    def cause(r: str) -> str:
        return next((c for c, marks in CAUSES if any(m in r for m in marks)), "unexplained")

    got = mine.map(cause).value_counts()
    names = [c for c, _ in CAUSES] + ["unexplained"]
    return pd.DataFrame({"cause": names, "targets": [int(got.get(c, 0)) for c in names]})


def _mode_part(reason: str, mode: str) -> str:
    """The parts of a reason that speak of ``mode`` (or of no mode in particular)."""
    others = [m for m in MODES if m != mode]
    return "; ".join(p for p in reason.split("; ")
                     if not any(p.startswith(f"{o}:") or p.startswith(f"{o} mode") for o in others))


def artefact_counts(rep: pd.DataFrame, modes: tuple[str, ...] = MODES,
                    sections: Sections | None = None) -> pd.DataFrame:
    """Per paper artefact and mode: targets per status."""
    rows = []
    for name, secs in (sections or load_sections()).artefacts():
        sub = rep[rep["section"].isin(secs)]
        row: dict[str, Any] = {"artefact": name, "targets": len(sub)}
        for mode in modes:
            vc = sub[f"status_{mode}"].value_counts()
            for st in STATUSES:
                row[f"{mode}: {st}"] = int(vc.get(st, 0))
        rows.append(row)
    return pd.DataFrame(rows)

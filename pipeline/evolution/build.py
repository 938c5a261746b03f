"""The evolution tables from the corpus: one row per file and release, the base-image moves
between consecutive releases, one row per project and release."""

from __future__ import annotations

import json
from typing import Any

import pandas as pd

from ..schemas import TABLES
from .corpus import Version


def versions_frame(versions: list[Version], summaries: dict[str, dict[str, Any]],
                   tags: dict[str, dict[str, tuple[str, str]]], canon: dict[str, str],
                   categories: dict[str, str]) -> pd.DataFrame:
    """``dockerfile_versions``: one row per archive member, in (repo, path, date, tag) order."""
    rows = []
    for v in versions:
        s = summaries[v.sha256]
        date, source = tags[v.repo.lower()][v.tag]
        repo = canon.get(v.repo.lower(), v.repo)
        final = s["final"] or {}
        bases = s["bases"]
        rows.append({
            "repo": repo, "category": categories.get(repo, ""), "path": v.path, "tag": v.tag,
            "tag_date": date, "tag_date_source": source, "member": v.member, "sha256": v.sha256,
            "parse_status": s["status"], "n_instructions": s["n_instructions"],
            "n_stages": s["n_stages"], "n_run_commands": s["n_run_commands"],
            "mld_smells": s["mld_smells"],
            "base_image": final.get("image", ""),
            "base_images": json.dumps(sorted({b["image"] for b in bases})),
            "n_unpinned": sum(not b["pinned"] for b in bases if not b["variable"]),
            "pinned": bool(bases) and all(b["pinned"] or b["variable"] for b in bases),
            "digest_pinned": bool(bases) and all(b["digest"] for b in bases),
            "os_version": final.get("os_version", ""), "cuda_version": final.get("cuda_version", ""),
            "cudnn_version": final.get("cudnn_version", ""), "gpu": any(b["gpu"] for b in bases),
            "error": s["error"],
        })
    df = pd.DataFrame(rows, columns=TABLES["dockerfile_versions"].column_names)
    return df.sort_values(["repo", "path", "tag_date", "tag"], kind="stable").reset_index(drop=True)


def changes_frame(versions: pd.DataFrame) -> pd.DataFrame:
    """``base_image_changes``: per file, each release whose final base image differs from the
    file's previous release by tag date (files without a base image are left out)."""
    cols = ["tag", "tag_date", "base_image", "os_version", "cuda_version"]
    v = versions[versions["base_image"].fillna("") != ""]
    v = v.sort_values(["repo", "path", "tag_date", "tag"], kind="stable")
    prev = v.groupby(["repo", "path"], sort=False)[cols].shift(1)
    changed = prev["base_image"].notna() & (v["base_image"] != prev["base_image"])
    out = pd.concat([v.loc[changed, ["repo", "category", "path"]].reset_index(drop=True),
                     prev.loc[changed, cols].add_prefix("from_").reset_index(drop=True),
                     v.loc[changed, cols].add_prefix("to_").reset_index(drop=True)], axis=1)
    return out[TABLES["base_image_changes"].column_names].reset_index(drop=True)


def releases_frame(versions: pd.DataFrame) -> pd.DataFrame:
    """``release_summary``: per project and release, its Dockerfiles' sizes, stages, pinning
    mldock's smells (MLD rules) and the base images' OS and CUDA versions (files that did not parse are counted apart)."""
    v = versions.assign(ok=versions["parse_status"] != "error")
    parsed = v[v["ok"]]
    keys = ["repo", "tag"]
    images = {j: json.loads(j) for j in v["base_images"].unique()}
    out = v.groupby(keys, sort=True).agg(category=("category", "first"), tag_date=("tag_date", "first"),
                                         n_files=("path", "size"), n_dockerfiles=("ok", "sum"))
    means = parsed.groupby(keys).agg(instructions_per_dockerfile=("n_instructions", "mean"),
                                     stages_per_dockerfile=("n_stages", "mean"),
                                     mld_smells_per_dockerfile=("mld_smells", "mean"),
                                     share_pinned=("pinned", "mean"))
    sets = parsed.groupby(keys).agg(
        n_base_images=("base_images", lambda s: len({i for j in set(s) for i in images[j]})),
        os_versions=("os_version", _json_set), cuda_versions=("cuda_version", _json_set))
    out = out.join(means).join(sets).reset_index()
    out = out.fillna({"instructions_per_dockerfile": 0.0, "stages_per_dockerfile": 0.0,
                      "mld_smells_per_dockerfile": 0.0,
                      "share_pinned": 0.0, "n_base_images": 0, "os_versions": "[]",
                      "cuda_versions": "[]"})
    out = out[TABLES["release_summary"].column_names]
    return out.sort_values(["repo", "tag_date", "tag"], kind="stable").reset_index(drop=True)


def _json_set(s: pd.Series) -> str:
    return json.dumps(sorted({str(x) for x in s if isinstance(x, str) and x}))


def histories_frame(versions: pd.DataFrame, changes: pd.DataFrame) -> pd.DataFrame:
    """``dockerfile_histories``: per file, its releases, distinct contents, base images and
    base-image changes (the corpus' shape at a glance)."""
    v = versions.sort_values(["repo", "path", "tag_date", "tag"], kind="stable")
    out = v.groupby(["repo", "path"], sort=True).agg(
        category=("category", "first"), n_releases=("tag", "size"),
        first_tag=("tag", "first"), first_tag_date=("tag_date", "first"),
        last_tag=("tag", "last"), last_tag_date=("tag_date", "last"),
        n_contents=("sha256", "nunique"),
        n_base_images=("base_image", lambda s: s[s != ""].nunique()),
        parse_status=("parse_status", "last"))
    n = changes.groupby(["repo", "path"]).size().rename("n_base_image_changes")
    out = out.join(n).fillna({"n_base_image_changes": 0}).reset_index()
    return out[TABLES["dockerfile_histories"].column_names]


def moves(changes: pd.DataFrame, top: int = 12) -> pd.DataFrame:
    """The heatmap's counts: base-image moves ``from_label -> to_label`` between the ``top``
    most frequent labels (the CUDA version and the OS release where known, else the image
    without its tag), counted once per file and release pair."""
    def label(side: str) -> pd.Series:
        img = changes[f"{side}_base_image"].str.rsplit(":", n=1).str[0]
        os_, cuda = changes[f"{side}_os_version"], changes[f"{side}_cuda_version"]
        base = os_.where(os_ != "", img)
        return ("cuda " + cuda + " ").where(cuda != "", "") + base

    df = pd.DataFrame({"from": label("from"), "to": label("to")})
    df = df[df["from"] != df["to"]]
    counts = pd.concat([df["from"], df["to"]]).value_counts()
    keep = sorted(counts.index, key=lambda k: (-int(counts[k]), str(k)))[:top]
    df = df[df["from"].isin(keep) & df["to"].isin(keep)]
    grid = pd.crosstab(df["from"], df["to"]).reindex(index=keep, columns=keep, fill_value=0)
    return grid.astype(int)

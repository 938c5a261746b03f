"""The replication-package path (``mldock images --replication``): Table 2 and Figure 5.

Table 2 from the package's ``Manifest_*.csv`` rows (study.md 5.3) in ``paper`` mode (the
study's computation, quirks included) and ``corrected`` mode; Figure 5 inputs from
``RQ4/files-v2/`` (:mod:`pipeline.images.figure5`).  Reads the interim tables ingest
normalised them into (``package_image_configs``, ``package_image_layers``,
``package_image_repos``, ``package_file_types_*``), never the package folder.  Writes
``images_repo_stats``, ``images_table2``, ``file_types_by_num`` and ``file_types_by_size``.
"""

from __future__ import annotations

import json
import logging
import statistics
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field

import pandas as pd

from ..config import Paths
from ..core import modes
from ..errors import StageInputMissing
from ..outputs import writes_set
from ..progress import Progress, no_progress, track
from ..tables import read_table, source_info, write_table
from .figure5 import FileTypeRows, figure5_inputs
from .table2 import repo_category_maps, table2

log = logging.getLogger(__name__)

MODES = tuple(m.name for m in modes.SHOWN)


def package_rows(p: Paths, name: str) -> list[dict[str, str]]:
    """Rows of an interim table ingest wrote from the package, as dicts of text ("" for blank)."""
    return read_table(name, p).fillna("").to_dict("records")


@dataclass
class ManifestData:
    """The package's Manifest_Config_info*.csv and Manifest_details*.csv rows (raw text)."""

    config: list[dict[str, str]] = field(default_factory=list)
    details: list[dict[str, str]] = field(default_factory=list)


def load_manifest(p: Paths) -> ManifestData:
    """The manifest rows from ``package_image_configs`` / ``package_image_layers``.

    Keys as the computations below use them: ``Image``, ``RepoTag``, ``config_size``,
    ``config_digest``, ``architecture``, ``os``, ``config_env_count``, ``diff_ids``, ``file``
    (configs) and ``Image``, ``RepoTag``, ``layers_size``, ``layers_digest``,
    ``config_digest``, ``file`` (layers).
    """
    def keyed(r: dict[str, str]) -> dict[str, str]:
        return {"Image": r.pop("image"), "RepoTag": r.pop("repo_tag"), **r}

    md = ManifestData([keyed(r) for r in package_rows(p, "package_image_configs")],
                      [keyed(r) for r in package_rows(p, "package_image_layers")])
    if not md.config or not md.details:
        raise StageInputMissing("package_image_configs / package_image_layers rows", "mldock ingest")
    return md


def image_repo_map(p: Paths) -> dict[str, list[str]]:
    """image name (tag stripped) -> repositories listing it, in ``final-dataset.csv`` order.

    From ``package_image_repos``.  The paper uses only the first repository
    (``list.index``); the corrected mode uses all.
    """
    df = read_table("package_image_repos", p)  # ingest wrote it in final-dataset order
    out: dict[str, list[str]] = {}
    for img, repo in zip(df["image"], df["repo"], strict=True):
        out.setdefault(img, []).append(repo)
    return out


def _int(v: str) -> int:
    try:
        return int(float(v))
    except (TypeError, ValueError):
        return 0


def first_crawl(details: list[dict[str, str]]) -> list[dict[str, str]]:
    """Drop repeated crawls of an image:tag from Manifest_details rows.

    The rows of one image:tag (in file order, across files) that are an exact repetition
    of one manifest's layer sequence are reduced to one copy; a digest repeated inside one
    manifest (e.g. the empty layer) is kept.
    """
    by_key: dict[tuple[str, str], list[dict[str, str]]] = defaultdict(list)
    for d in details:
        by_key[(d["Image"], d["RepoTag"])].append(d)
    keep: dict[tuple[str, str], int] = {}
    for key, rows in by_key.items():
        seq = [(r["layers_digest"], r["layers_size"]) for r in rows]
        n = len(seq)
        keep[key] = n
        for period in range(1, n // 2 + 1):
            if n % period == 0 and seq == seq[:period] * (n // period):
                keep[key] = period
                break
    seen: dict[tuple[str, str], int] = defaultdict(int)
    out = []
    for d in details:
        key = (d["Image"], d["RepoTag"])
        if seen[key] < keep[key]:
            out.append(d)
        seen[key] += 1
    return out


def repo_stats(md: ManifestData, img2repos: Mapping[str, list[str]], mode: str) -> pd.DataFrame:
    """Per-repository values behind Table 2 (one row per repository with config or layer data).

    paper: image -> first repository; every config row (duplicates included) summed;
    RootFS = Σ len(diff_ids.split('/')) (+1 per image).  corrected: image -> every
    repository listing it; duplicate image:tag rows dropped; per-image means; RootFS =
    number of diff_ids.
    """
    pol = modes.policy(mode)

    def repos_of(image: str) -> list[str]:
        return pol.repos_of_image(img2repos.get(image, []))

    cfg_rows: dict[str, list[dict[str, str]]] = defaultdict(list)
    seen: set[tuple[str, str, str]] = set()
    for c in md.config:
        for repo in repos_of(c["Image"]):
            key = (repo, c["Image"], c["RepoTag"])
            if not pol.keeps_duplicate_crawls:
                if key in seen:
                    continue
                seen.add(key)
            cfg_rows[repo].append(c)
    det_rows: dict[str, list[dict[str, str]]] = defaultdict(list)
    details = md.details if pol.keeps_duplicate_crawls else first_crawl(md.details)
    for d in details:
        for repo in repos_of(d["Image"]):
            det_rows[repo].append(d)
    images_of: dict[str, set[str]] = defaultdict(set)
    for img in img2repos:
        for repo in repos_of(img):
            images_of[repo].add(img)
    out = []
    for repo in sorted(set(cfg_rows) | set(det_rows)):
        cr = cfg_rows.get(repo, [])
        dr = det_rows.get(repo, [])
        conf = pol.per_repo([_int(c["config_size"]) for c in cr])
        env = pol.per_repo([_int(c["config_env_count"]) for c in cr])
        rfs = pol.per_repo([pol.rootfs(c["diff_ids"]) for c in cr])
        per_image: dict[tuple[str, str], int] = defaultdict(int)
        for d in dr:
            per_image[(d["Image"], d["RepoTag"])] += _int(d["layers_size"])
        out.append({
            "mode": mode,
            "repo": repo,
            "images": json.dumps(sorted(images_of.get(repo, set()))),
            "config_rows": len(cr),
            "manifest_images": len(per_image),
            "conf_size": conf,
            "env": env,
            "layers": len({d["layers_digest"] for d in dr}) if dr else None,
            "rootfs": rfs,
            "layers_size": statistics.fmean(per_image.values()) if per_image else None,
            "architectures": json.dumps(sorted({c["architecture"] for c in cr if c["architecture"]})),
            "oses": json.dumps(sorted({c["os"] for c in cr if c["os"]})),
        })
    return pd.DataFrame(out)


def table2_from_mapping(p: Paths, categories: Mapping[str, str], mode: str = "paper") -> pd.DataFrame:
    """Table 2 from the ingested package tables for an explicit repo -> category mapping."""
    stats = repo_stats(load_manifest(p), image_repo_map(p), mode)
    return table2(stats, categories, mode=mode)


def load_file_types_rows(p: Paths) -> FileTypeRows:
    """The ``package_file_types_*`` rows (RQ4/files-v2) behind Figure 5."""
    return FileTypeRows(*(package_rows(p, f"package_file_types_{n}")
                          for n in ("top_num", "num", "top_size", "repos")))


@writes_set("images")
def run_replication(p: Paths, progress: Progress = no_progress) -> dict[str, int]:
    """Replication-package mode: write images_repo_stats, images_table2 and Figure 5 inputs
    from the package tables ingest wrote under ``data/interim/``."""
    cat_map, src_map = repo_category_maps(p)
    md = load_manifest(p)
    img2repos = image_repo_map(p)
    stats = pd.concat([repo_stats(md, img2repos, m)
                       for m in track(MODES, progress, "images", len(MODES), "mode")],
                      ignore_index=True)
    t2 = pd.concat([table2(stats, cat_map, src_map, mode=m) for m in MODES], ignore_index=True)
    stats["category"] = stats["repo"].map(lambda r: cat_map.get(r, ""))
    stats["category_source"] = stats["repo"].map(lambda r: src_map.get(r, ""))
    unlabelled = stats[(stats["mode"] == modes.PAPER.name) & (stats["category"] == "")]
    if len(unlabelled):
        log.info("%d repositories with image data have no category and are left out of Table 2",
                 len(unlabelled))
    by_num, by_size = figure5_inputs(load_file_types_rows(p), cat_map)
    extra = {"package_dir": str(source_info(p).get("package_dir") or "")}
    write_table(stats, "images_repo_stats", p, extra)
    write_table(t2, "images_table2", p, extra)
    write_table(by_num, "file_types_by_num", p, extra)
    write_table(by_size, "file_types_by_size", p, extra)
    return {"repos": int((stats["mode"] == modes.PAPER.name).sum()), "table2_rows": len(t2),
            "by_num": len(by_num), "by_size": len(by_size)}

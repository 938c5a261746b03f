"""Images stage (RQ4): Table 2 and Figure 5 inputs.

Two sources:

* **live** (``mldock images --image REF`` or ``--from-repos``): manifests, configs and layers
  through the registry HTTP API (:mod:`pipeline.registry`), layers scanned as streams
  (:mod:`pipeline.layers`); writes ``images``, ``layers`` and ``image_file_types``.
* **replication package** (``mldock images --replication``): Table 2 from the package's
  ``Manifest_*.csv`` rows (study.md 5.3) in ``paper`` mode (the study's computation,
  quirks included) and ``corrected`` mode; Figure 5 inputs from ``RQ4/files-v2/``.  Reads
  the interim tables ingest normalised them into (``package_image_configs``,
  ``package_image_layers``, ``package_image_repos``, ``package_file_types_*``), never the
  package folder.  Writes ``images_repo_stats``, ``images_table2``, ``file_types_by_num``
  and ``file_types_by_size``.

Categories come from ``data/processed/projects.csv`` when it exists, else from
``data/interim/repos.csv`` (:func:`pipeline.tables.repo_categories`, as in the report);
unlabelled repositories are left out (logged).
:func:`table2` accepts an explicit repo -> category mapping.
"""

from __future__ import annotations

import csv
import gzip
import json
import logging
import math
import statistics
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from .config import Paths
from .core import modes
from .errors import MldockError, RateLimited, RegistryError, StageInputMissing
from .layers import (
    DEFAULT_MAX_UNCOMPRESSED,
    DigestMismatch,
    FileTypes,
    LayerError,
    LayerScan,
    UnsupportedLayerType,
    corrected_type_counts,
    load_file_types,
    marker_entries,
    merge_layers,
    paper_extension,
    paper_type_counts,
    real_extension,
    scan_layer,
)
from .registry import CONFIG_TYPES, LAYER_TYPES, RegistryClient, parse_reference
from .schemas import IMAGES_TABLE2_LIVE
from .tables import (
    UNLABELLED,
    ErrorLog,
    atomic_path,
    read_table,
    repo_categories,
    source_info,
    write_table,
)
from .taxonomy import load_categories

log = logging.getLogger(__name__)

STAGE = "images"
MODES = tuple(m.name for m in modes.SHOWN)


# ======================================================================================
# categories
# ======================================================================================


def repo_category_maps(p: Paths) -> tuple[dict[str, str], dict[str, str]]:
    """(repo -> category, repo -> category source) of the labelled repositories.

    :func:`pipeline.tables.repo_categories` of ``projects.csv`` (when it exists) over
    ``repos.csv``, the rule the report uses; unlabelled repositories are left out.
    """
    repos = read_table("repos", p)
    proc = p.table("processed", "projects")
    projects = read_table("projects", p) if proc.exists() else None
    cats = repo_categories(repos, projects)
    labelled = cats[cats["category"] != UNLABELLED]
    if len(cats) - len(labelled):
        origin = proc if projects is not None and len(projects) else p.table("interim", "repos")
        log.info("categories from %s: %d labelled, %d unlabelled repositories left out",
                 origin, len(labelled), len(cats) - len(labelled))
    return (dict(zip(labelled["repo"], labelled["category"], strict=True)),
            dict(zip(labelled["repo"], labelled["category_source"], strict=True)))


# ======================================================================================
# replication-package mode: Table 2 (study.md 5.3)
# ======================================================================================


def _rows(p: Paths, name: str) -> list[dict[str, str]]:
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

    md = ManifestData([keyed(r) for r in _rows(p, "package_image_configs")],
                      [keyed(r) for r in _rows(p, "package_image_layers")])
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


def size_text(size_bytes: float) -> str:
    """``11635`` -> ``'11.36 KiB'`` (binary units, kept)."""
    units = ("B", "KiB", "MiB", "GiB", "TiB")
    if size_bytes <= 0:
        return "0 B"
    i = min(int(math.floor(math.log(size_bytes, 1024))), len(units) - 1)
    return f"{round(size_bytes / 1024**i, 2)} {units[i]}"


def _median(vals: Iterable[Any]) -> float | None:
    v = [float(x) for x in vals if x is not None and not (isinstance(x, float) and math.isnan(x))]
    return float(statistics.median(v)) if v else None


def table2(
    stats: pd.DataFrame,
    categories: Mapping[str, str],
    sources: Mapping[str, str] | None = None,
    mode: str | None = None,
) -> pd.DataFrame:
    """Table 2 per category from :func:`repo_stats` rows and an explicit repo -> category map.

    Repositories without a category in ``categories`` are left out.  ``mode`` defaults to
    the ``mode`` column of ``stats`` (one mode per call).
    """
    sources = sources or {}
    rows = []
    for m in ([mode] if mode else sorted(stats["mode"].unique()) if len(stats) else []):
        st = stats[stats["mode"] == m] if "mode" in stats.columns else stats
        st = st.assign(category=st["repo"].map(lambda r: categories.get(r, "")))
        st = st[st["category"] != ""]
        order = load_categories().ordered(st["category"])
        for cat in order:
            g = st[st["category"] == cat]
            gc = g[g["config_rows"] > 0]
            gl = g[g["layers"].notna()]
            med_conf = _median(gc["conf_size"])
            archs = sorted({a for v in gc["architectures"] for a in json.loads(v)})
            oses = sorted({a for v in gc["oses"] for a in json.loads(v)})
            srcs = [sources.get(r, "") for r in gc["repo"]]
            # rows measured from a live registry ('live') keep units as corrected ones do
            pol = modes.BY_NAME.get(m, modes.CORRECTED)
            conf = None if med_conf is None else pol.config_size(med_conf)
            rows.append({
                "mode": m,
                "category": cat,
                "conf_size": conf,
                "conf_size_bytes": med_conf,
                "conf_size_text": size_text(med_conf) if med_conf is not None else None,
                "arch": ", ".join(archs),
                "os": ", ".join(oses),
                "env": _median(gc["env"]),
                "layers": _median(gl["layers"]),
                "rootfs": _median(gc["rootfs"]),
                "layers_size": _median(gl["layers_size"]),
                "files": None,
                "max_level": None,
                "n_repos": len(gc),
                "n_layer_repos": len(gl),
                "n_manual": sum(1 for s in srcs if s == "manual"),
                "n_predicted": sum(1 for s in srcs if s == "predicted"),
            })
    return pd.DataFrame(rows)


def table2_from_mapping(p: Paths, categories: Mapping[str, str], mode: str = "paper") -> pd.DataFrame:
    """Table 2 from the ingested package tables for an explicit repo -> category mapping."""
    stats = repo_stats(load_manifest(p), image_repo_map(p), mode)
    return table2(stats, categories, mode=mode)


# ======================================================================================
# replication-package mode: Figure 5 inputs (RQ4/files-v2)
# ======================================================================================


def _num(v: str) -> float | None:
    try:
        return float(v)
    except (TypeError, ValueError):
        return None


@dataclass
class FileTypeRows:
    """The package's RQ4/files-v2 rows (``package_file_types_*``), categories canonical."""

    top_num: list[dict[str, str]] = field(default_factory=list)
    num: list[dict[str, str]] = field(default_factory=list)
    top_size: list[dict[str, str]] = field(default_factory=list)
    repos: list[dict[str, str]] = field(default_factory=list)


def load_file_types_rows(p: Paths) -> FileTypeRows:
    return FileTypeRows(_rows(p, "package_file_types_top_num"), _rows(p, "package_file_types_num"),
                        _rows(p, "package_file_types_top_size"), _rows(p, "package_file_types_repos"))


def _paper_figure5(ft: FileTypeRows) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The published box values and bars, with the paper's own categories."""
    rank: dict[tuple[str, str], int] = {}
    storage: dict[tuple[str, str], float | None] = {}
    counters: dict[str, int] = defaultdict(int)
    for r in ft.top_num:
        counters[r["category"]] += 1
        rank[(r["category"], r["file_type"])] = counters[r["category"]]
        storage[(r["category"], r["file_type"])] = _num(r["perc_storage"])
    by_num = [
        {"mode": "paper", "category": r["category"], "file_type": r["file_type"],
         "rank": rank[(r["category"], r["file_type"])], "repo": None,
         "perc_number": _num(r["perc_number"]), "perc_storage": storage[(r["category"], r["file_type"])]}
        for r in ft.num if (r["category"], r["file_type"]) in rank
    ]
    by_size: list[dict[str, Any]] = []
    counters = defaultdict(int)
    for r in ft.top_size:
        counters[r["category"]] += 1
        by_size.append({
            "mode": "paper", "category": r["category"], "file_type": r["file_type"],
            "rank": counters[r["category"]], "size_mb": _num(r["size"]),
            "perc_size": _num(r["perc_size"]), "n_repos": None,
        })
    return by_num, by_size


def _per_repo_types(rows: list[dict[str, str]], categories: Mapping[str, str]) -> dict[str, dict[str, list[tuple[str, dict[str, float]]]]]:
    """category -> file type -> [(repo, summed shares and bytes)], exact duplicate rows dropped."""
    seen_rows: set[tuple[str, ...]] = set()
    per: dict[tuple[str, str], dict[str, float]] = {}
    for r in rows:
        row_key = tuple(r[k] for k in ("repo", "file_type", "total_size", "total_number", "perc_size", "perc_num"))
        if row_key in seen_rows:
            continue
        seen_rows.add(row_key)
        acc = per.setdefault((r["repo"], r["file_type"]), {"num": 0.0, "size": 0.0, "bytes": 0.0})
        acc["num"] += _num(r["perc_num"]) or 0.0
        acc["size"] += _num(r["perc_size"]) or 0.0
        acc["bytes"] += _num(r["total_size"]) or 0.0
    by_cat: dict[str, dict[str, list[tuple[str, dict[str, float]]]]] = defaultdict(lambda: defaultdict(list))
    for (repo, ftype), acc in per.items():
        cat = categories.get(repo, "")
        if cat:
            by_cat[cat][ftype].append((repo, acc))
    return by_cat


def _corrected_figure5(ft: FileTypeRows, categories: Mapping[str, str], top: int
                       ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Per-repository rows, deduplicated, our categories, top types by the median share."""
    by_cat = _per_repo_types(ft.repos, categories)
    by_num: list[dict[str, Any]] = []
    by_size: list[dict[str, Any]] = []
    for cat in load_categories().ordered(by_cat):
        types = by_cat[cat]
        ranked = sorted(types, key=lambda t: (-statistics.median(a["num"] for _, a in types[t]), t))[:top]
        for i, t in enumerate(ranked, 1):
            mean_storage = statistics.fmean(a["size"] for _, a in types[t])
            for repo, a in sorted(types[t]):
                by_num.append({
                    "mode": "corrected", "category": cat, "file_type": t, "rank": i, "repo": repo,
                    "perc_number": round(a["num"], 6), "perc_storage": round(mean_storage, 6),
                })
        ranked_s = sorted(types, key=lambda t: (-statistics.median(a["bytes"] for _, a in types[t]), t))[:top]
        for i, t in enumerate(ranked_s, 1):
            by_size.append({
                "mode": "corrected", "category": cat, "file_type": t, "rank": i,
                "size_mb": round(statistics.median(a["bytes"] for _, a in types[t]) / 1024**2, 4),
                "perc_size": round(statistics.fmean(a["size"] for _, a in types[t]), 6),
                "n_repos": len(types[t]),
            })
    return by_num, by_size


def figure5_inputs(
    ft: FileTypeRows, categories: Mapping[str, str], top: int = 12
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(file_types_by_num, file_types_by_size) in both modes.

    paper: the published box values and bars of ``Top10_files_by_num(_1).csv`` and
    ``Top10_files_by_size.csv`` (mean perc_size from the ``_1`` file as published), with
    the paper's own categories.  corrected: from the per-repository rows of
    ``layers_files_*.csv`` with exact duplicate rows dropped, the repositories' categories
    taken from ``categories``, and the top types chosen by the **median** per-repository
    share (the paper says median; its code used the mean).
    """
    num_p, size_p = _paper_figure5(ft)
    num_c, size_c = _corrected_figure5(ft, categories, top)
    return pd.DataFrame(num_p + num_c), pd.DataFrame(size_p + size_c)


def run_replication(p: Paths) -> dict[str, int]:
    """Replication-package mode: write images_repo_stats, images_table2 and Figure 5 inputs
    from the package tables ingest wrote under ``data/interim/``."""
    cat_map, src_map = repo_category_maps(p)
    md = load_manifest(p)
    img2repos = image_repo_map(p)
    stats = pd.concat([repo_stats(md, img2repos, m) for m in MODES], ignore_index=True)
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


# ======================================================================================
# live mode: registry + stream scan
# ======================================================================================


@dataclass
class ImageResult:
    images: list[dict[str, Any]] = field(default_factory=list)
    layers: list[dict[str, Any]] = field(default_factory=list)
    file_types: list[dict[str, Any]] = field(default_factory=list)


def _config_summary(raw: bytes) -> dict[str, Any]:
    doc = json.loads(raw)
    cfg = doc.get("config") or {}
    rootfs = doc.get("rootfs") or {}
    return {
        "architecture": doc.get("architecture") or "",
        "os": doc.get("os") or "",
        "variant": doc.get("variant") or "",
        "env_count": len(cfg.get("Env") or []),
        "rootfs_diff_ids": len(rootfs.get("diff_ids") or []),
    }


def _type_rows(mode: str, view: str, ref: str, platform: str, counts: dict[str, tuple[int, int]]) -> list[dict[str, Any]]:
    n = sum(c for c, _ in counts.values())
    b = sum(s for _, s in counts.values())
    return [
        {
            "mode": mode, "view": view, "reference": ref, "platform": platform, "file_type": t,
            "files": c, "bytes": s,
            "perc_number": round(100 * c / n, 6) if n else 0.0,
            "perc_size": round(100 * s / b, 6) if b else 0.0,
        }
        for t, (c, s) in sorted(counts.items())
    ]


def analyse_image(
    client: RegistryClient,
    reference: str,
    ft: FileTypes,
    errors: ErrorLog,
    *,
    platform: str = "linux/amd64",
    max_layer_bytes: int = DEFAULT_MAX_UNCOMPRESSED,
    repo: str = "",
    scan: bool = True,
    listings: Path | None = None,
) -> ImageResult:
    """Fetch one reference (every selected platform), scan its layers, summarise.

    With ``listings``, every file of every layer and of the final file system is written
    to ``listings/<manifest digest>.csv.gz`` (path, kind, size, depth, extensions, classes).

    Problems become error rows and a ``status`` value; they never raise.
    """
    res = ImageResult()
    try:
        ref = parse_reference(reference)
        resolved = client.resolve(ref, platform)
    except RateLimited:
        raise
    except (MldockError, ValueError) as exc:
        errors.add(reference, exc)
        return res
    for man, desc, index_digest in resolved:
        plat = desc.platform if desc is not None and desc.platform else ""
        row: dict[str, Any] = {
            "reference": str(ref), "repo": repo, "registry": ref.registry,
            "repository": ref.repository, "tag": ref.tag, "index_digest": index_digest or None,
            "digest": man.digest, "media_type": man.media_type, "status": "ok",
        }
        item = f"{ref}@{man.digest}"
        cfg: dict[str, Any] = {}
        assert man.config is not None
        try:
            if man.config.media_type not in CONFIG_TYPES:
                raise RegistryError(f"config media type {man.config.media_type!r} is not an image config")
            cfg = _config_summary(client.get_blob_bytes(ref, man.config.digest))
        except RateLimited:
            raise
        except (MldockError, ValueError) as exc:
            errors.add(item, exc)
            row["status"] = type(exc).__name__
        if not plat:
            plat = f"{cfg.get('os') or 'unknown'}/{cfg.get('architecture') or 'unknown'}"
            if cfg.get("variant"):
                plat += f"/{cfg['variant']}"
        row.update({
            "platform": plat, "config_digest": man.config.digest, "config_size": man.config.size,
            "architecture": cfg.get("architecture"), "os": cfg.get("os"),
            "env_count": cfg.get("env_count"), "layers": len(man.layers),
            "rootfs_diff_ids": cfg.get("rootfs_diff_ids"),
            "compressed_size": sum(d.size for d in man.layers),
        })
        scans: list[LayerScan] = []
        for i, d in enumerate(man.layers):
            lrow: dict[str, Any] = {
                "reference": str(ref), "platform": plat, "index": i, "digest": d.digest,
                "media_type": d.media_type, "compressed_size": d.size, "status": "ok",
            }
            res.layers.append(lrow)
            if not scan:
                lrow["status"] = "not_scanned"
                continue
            try:
                if d.media_type not in LAYER_TYPES:
                    raise UnsupportedLayerType(f"layer media type {d.media_type!r} is not a known layer type")
                with client.open_blob(ref, d.digest) as stream:
                    s = scan_layer(stream, max_uncompressed=max_layer_bytes, expected_digest=d.digest)
            except RateLimited:
                raise
            except (LayerError, MldockError, OSError) as exc:
                if isinstance(exc, DigestMismatch):
                    client.evict_blob(d.digest)  # a corrupt cache entry must not stick
                code = exc.code if isinstance(exc, LayerError) else type(exc).__name__
                errors.add(f"{item} layer {i} {d.digest}", code, str(exc))
                lrow["status"] = code
                if row["status"] == "ok":
                    row["status"] = code
                continue
            c = s.counts()
            lrow.update({
                "compression": s.compression, "uncompressed_size": s.uncompressed_size,
                "entries": len(s.entries), "files": c["file"], "dirs": c["dir"],
                "symlinks": c["symlink"], "hardlinks": c["hardlink"], "devices": c["device"],
                "whiteouts": len(s.whiteouts), "opaque_dirs": len(s.opaque_dirs),
                "file_bytes": s.file_bytes, "max_depth": s.max_depth, "unsafe_names": s.unsafe_names,
            })
            scans.append(s)
        if scan and scans:
            final = merge_layers(scans)
            all_entries = [e for s in scans for e in s.entries]
            ok = len(scans) == len(man.layers)
            row.update({
                "uncompressed_size": sum(s.uncompressed_size for s in scans) if ok else None,
                "files": len(all_entries),
                "final_files": len(final),
                "final_size": sum(e.size for e in final.values() if e.kind == "file"),
                "max_depth": max((e.depth for e in final.values()), default=0),
            })
            ref_s = str(ref)
            with_markers = all_entries + [e for s in scans for e in marker_entries(s)]
            res.file_types += _type_rows("paper", "layers", ref_s, plat, paper_type_counts(with_markers, ft))
            res.file_types += _type_rows("paper", "final", ref_s, plat, paper_type_counts(final.values(), ft))
            res.file_types += _type_rows("corrected", "layers", ref_s, plat, corrected_type_counts(all_entries, ft))
            res.file_types += _type_rows("corrected", "final", ref_s, plat, corrected_type_counts(final.values(), ft))
            if listings is not None:
                write_listing(listings / f"{man.digest.split(':')[-1]}.csv.gz", scans, final, ft)
        res.images.append(row)
    return res


LISTING_COLUMNS = ["layer", "path", "kind", "size", "mode", "depth", "link", "real_extension",
                   "paper_extension", "class_paper", "class_corrected"]


def write_listing(target: Path, scans: list[LayerScan], final: Mapping[str, Any], ft: FileTypes) -> None:
    """Per-file listing of an image (layer index, or ``final`` after whiteouts), gzip CSV.

    ``class_paper`` is ``file_categories2`` of the study's extension key (before the
    per-repository singleton rule); ``class_corrected`` the corrected class.
    """

    def rows(layer: str, entries: Iterable[Any]) -> Iterable[list[Any]]:
        for e in entries:
            yield [layer, e.path, e.kind, e.size, oct(e.mode), e.depth, e.link,
                   real_extension(e.name), paper_extension(e.name)[0],
                   ft.paper_file_label(e.name), ft.corrected_label(e.name, e.mode)]

    with atomic_path(target, "wb") as raw, gzip.open(raw, "wt", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(LISTING_COLUMNS)
        for i, s in enumerate(scans):
            w.writerows(rows(str(i), s.entries))
        w.writerows(rows("final", final.values()))


IMAGE_COLUMNS = [
    "reference", "repo", "registry", "repository", "tag", "index_digest", "digest", "platform",
    "media_type", "config_digest", "config_size", "architecture", "os", "env_count", "layers",
    "rootfs_diff_ids", "compressed_size", "uncompressed_size", "files", "final_files",
    "final_size", "max_depth", "status",
]
LAYER_COLUMNS = [
    "reference", "platform", "index", "digest", "media_type", "compressed_size", "compression",
    "uncompressed_size", "entries", "files", "dirs", "symlinks", "hardlinks", "devices",
    "whiteouts", "opaque_dirs", "file_bytes", "max_depth", "unsafe_names", "status",
]


def run_live(
    p: Paths,
    references: list[tuple[str, str]],
    client: RegistryClient,
    *,
    platform: str = "linux/amd64",
    max_layer_bytes: int = DEFAULT_MAX_UNCOMPRESSED,
    progress: bool = False,
    scan: bool = True,
    listings: Path | None = None,
) -> dict[str, int]:
    """Analyse ``[(reference, repo)]`` and write images, layers, image_file_types."""
    from tqdm import tqdm

    ft = load_file_types(p.taxonomy / "file_types.yaml")
    errors = ErrorLog(STAGE)
    total = ImageResult()
    stopped: RateLimited | None = None
    for ref, repo in tqdm(references, desc="images", unit="image", disable=not progress):
        try:
            r = analyse_image(client, ref, ft, errors, platform=platform,
                              max_layer_bytes=max_layer_bytes, repo=repo, scan=scan,
                              listings=listings)
        except RateLimited as exc:  # stop; what is done is written; a rerun resumes from the cache
            errors.add(ref, exc)
            stopped = exc
            break
        except Exception as exc:  # one bad image never stops the stage
            log.exception("unexpected error on %s", ref)
            errors.add(ref, exc)
            continue
        total.images += r.images
        total.layers += r.layers
        total.file_types += r.file_types
    images = pd.DataFrame(total.images).reindex(columns=IMAGE_COLUMNS)
    images = images.drop_duplicates(subset=["reference", "platform"], keep="first")
    layers = pd.DataFrame(total.layers).reindex(columns=LAYER_COLUMNS)
    layers = layers.drop_duplicates(subset=["reference", "platform", "index"], keep="first")
    ftypes = pd.DataFrame(total.file_types).reindex(
        columns=["mode", "view", "reference", "platform", "file_type", "files", "bytes",
                 "perc_number", "perc_size"])
    ftypes = ftypes.drop_duplicates(subset=["mode", "view", "reference", "platform", "file_type"])
    write_table(images, "images", p)
    write_table(layers, "layers", p)
    write_table(ftypes, "image_file_types", p)
    if images["repo"].fillna("").astype(str).ne("").any():
        try:
            cats, sources = repo_category_maps(p)
        except StageInputMissing:
            cats, sources = {}, {}
        if cats:
            write_table(live_table2(images, layers, cats, sources), "images_table2_live", p)
    errors.write(p)
    log.info("images: %d references in, %d image rows, %d layers, %d errors",
             len(references), len(images), len(layers), len(errors))
    if stopped is not None:
        raise stopped
    return {"references": len(references), "images": len(images), "layers": len(layers),
            "errors": len(errors)}


def live_table2(
    images_df: pd.DataFrame, layers_df: pd.DataFrame, categories: Mapping[str, str],
    sources: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """Table 2 from live data: per repository, means over its images (distinct layer digests
    over all of them, deepest entry of any); per category, medians over repositories."""
    sources = sources or {}
    im = images_df[images_df["repo"].fillna("").astype(str) != ""]
    rows = []
    for repo, g in im.groupby("repo"):
        refs = set(g["reference"])
        digests = layers_df[layers_df["reference"].isin(refs)]["digest"]
        rows.append({
            "mode": "live", "repo": repo,
            "config_rows": int(g["config_size"].notna().sum()),
            "conf_size": _mean(g["config_size"]), "env": _mean(g["env_count"]),
            "rootfs": _mean(g["rootfs_diff_ids"]), "layers": int(digests.nunique()) or None,
            "layers_size": _mean(g["compressed_size"]),
            "architectures": json.dumps(sorted({str(a) for a in g["architecture"].dropna()})),
            "oses": json.dumps(sorted({str(a) for a in g["os"].dropna()})),
            "files": _mean(g["files"]),
            "max_level": float(g["max_depth"].max()) if g["max_depth"].notna().any() else None,
        })
    stats = pd.DataFrame(rows)
    if stats.empty:
        return pd.DataFrame(columns=[c.name for c in IMAGES_TABLE2_LIVE.columns])
    t2 = table2(stats, categories, sources, mode="live")  # conf_size: median bytes / 1024
    cats = stats.assign(category=stats["repo"].map(lambda r: categories.get(r, "")))
    t2["files"] = t2["category"].map(lambda c: _median(cats[cats["category"] == c]["files"]))
    t2["max_level"] = t2["category"].map(lambda c: _median(cats[cats["category"] == c]["max_level"]))
    return t2


def _mean(s: pd.Series) -> float | None:  # type: ignore[type-arg]
    v = pd.to_numeric(s, errors="coerce").dropna()
    return float(v.mean()) if len(v) else None


def references_from_repos(p: Paths) -> list[tuple[str, str]]:
    """(image:tag, repo) pairs from ``repos.csv`` ``images`` (first repository per image)."""
    df = read_table("repos", p)
    out: list[tuple[str, str]] = []
    seen: set[str] = set()
    for repo, imgs in zip(df["repo"], df["images"], strict=False):
        if not isinstance(imgs, str) or not imgs.strip():
            continue
        try:
            lst = json.loads(imgs)
        except ValueError:
            continue
        for img in lst:
            if img and img not in seen:
                seen.add(img)
                out.append((str(img), str(repo)))
    return out

"""The live path (``mldock images --image REF`` or ``--from-repos``).

Manifests, configs and layers through the registry HTTP API
(:mod:`pipeline.images.registry`), layers scanned as streams (:mod:`pipeline.images.layers`)
and their files classified (:mod:`pipeline.images.file_types`); writes ``images``,
``layers`` and ``image_file_types``, and ``images_table2_live`` when the references carry
their repositories.  One bad image never stops the stage: problems become error rows and a
``status`` value; a rate limit stops it after writing what is done (a rerun resumes from the
blob cache).
"""

from __future__ import annotations

import contextlib
import csv
import gzip
import json
import logging
from collections.abc import Generator, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import pandas as pd

from ..config import Paths
from ..core.imageref import ImageRef
from ..errors import MldockError, RateLimited, RegistryError, StageInputMissing
from ..executor import Scheduler
from ..outputs import writes_set
from ..progress import Progress, no_progress, track
from ..schemas import IMAGES_TABLE2_LIVE
from ..tables import ErrorLog, atomic_path, read_table, write_table
from .fetch import DEFAULT_THREADS, LayerJob, ScanFailure, scan_blob, scan_layers
from .file_types import (
    FileTypes,
    corrected_type_counts,
    load_file_types,
    paper_extension,
    paper_type_counts,
    real_extension,
)
from .layers import (
    DEFAULT_MAX_UNCOMPRESSED,
    Entry,
    LayerError,
    LayerScan,
    UnsupportedLayerType,
    marker_entries,
    merge_layers,
)
from .manifests import CONFIG_TYPES, LAYER_TYPES, Descriptor, Manifest, parse_reference
from .registry import RegistryClient
from .table2 import mean_or_none, median_or_none, repo_category_maps, table2

log = logging.getLogger(__name__)

STAGE = "images"


@dataclass
class ImageResult:
    images: list[dict[str, Any]] = field(default_factory=list)
    layers: list[dict[str, Any]] = field(default_factory=list)
    file_types: list[dict[str, Any]] = field(default_factory=list)


class _Source(Protocol):
    """Where :func:`analyse_image` gets manifests, configs and layer scans: a
    :class:`RegistryClient`, or the :class:`_Replay` of what the executor fetched."""

    def resolve(self, ref: ImageRef, platform: str = ...) -> list[tuple[Manifest, Descriptor | None, str]]: ...

    def get_blob_bytes(self, ref: ImageRef, digest: str) -> bytes: ...


@dataclass(frozen=True)
class _Job:
    """One reference being analysed: where to fetch, how to scan, where problems go."""

    client: _Source
    ref: ImageRef
    ft: FileTypes
    errors: ErrorLog
    max_layer_bytes: int
    scan: bool
    listings: Path | None


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
    client: _Source,
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
    job = _Job(client, ref, ft, errors, max_layer_bytes, scan, listings)
    for man, desc, index_digest in resolved:
        res.images.append(_analyse_manifest(job, man, desc, index_digest, repo, res))
    return res


def _analyse_manifest(job: _Job, man: Manifest, desc: Descriptor | None, index_digest: str,
                      repo: str, res: ImageResult) -> dict[str, Any]:
    """The ``images`` row of one platform's manifest; its layer and file-type rows go to ``res``."""
    ref = job.ref
    row: dict[str, Any] = {
        "reference": str(ref), "repo": repo, "registry": ref.registry,
        "repository": ref.repository, "tag": ref.tag, "index_digest": index_digest or None,
        "digest": man.digest, "media_type": man.media_type, "status": "ok",
    }
    assert man.config is not None
    cfg = _fetch_config(job, man, row)
    plat = _platform(desc, cfg)
    row.update({
        "platform": plat, "config_digest": man.config.digest, "config_size": man.config.size,
        "architecture": cfg.get("architecture"), "os": cfg.get("os"),
        "env_count": cfg.get("env_count"), "layers": len(man.layers),
        "rootfs_diff_ids": cfg.get("rootfs_diff_ids"),
        "compressed_size": sum(d.size for d in man.layers),
    })
    scans: list[LayerScan] = []
    for i, d in enumerate(man.layers):
        s = _scan_one_layer(job, man, i, d, plat, row, res)
        if s is not None:
            scans.append(s)
    if job.scan and scans:
        _summarise_scans(job, man, scans, plat, row, res)
    return row


def _fetch_config(job: _Job, man: Manifest, row: dict[str, Any]) -> dict[str, Any]:
    """The config blob's summary, or ``{}`` with an error row and ``row['status']`` set."""
    assert man.config is not None
    try:
        if man.config.media_type not in CONFIG_TYPES:
            raise RegistryError(f"config media type {man.config.media_type!r} is not an image config")
        return _config_summary(job.client.get_blob_bytes(job.ref, man.config.digest))
    except RateLimited:
        raise
    except (MldockError, ValueError) as exc:
        job.errors.add(f"{job.ref}@{man.digest}", exc)
        row["status"] = type(exc).__name__
        return {}


def _platform(desc: Descriptor | None, cfg: dict[str, Any]) -> str:
    """The index entry's platform, else ``os/architecture[/variant]`` of the config."""
    if desc is not None and desc.platform:
        return desc.platform
    plat = f"{cfg.get('os') or 'unknown'}/{cfg.get('architecture') or 'unknown'}"
    if cfg.get("variant"):
        plat += f"/{cfg['variant']}"
    return plat


def _scan_one_layer(job: _Job, man: Manifest, i: int, d: Descriptor, plat: str,
                    row: dict[str, Any], res: ImageResult) -> LayerScan | None:
    """Stream and scan layer ``i``; its ``layers`` row goes to ``res``; None when not scanned."""
    lrow: dict[str, Any] = {
        "reference": str(job.ref), "platform": plat, "index": i, "digest": d.digest,
        "media_type": d.media_type, "compressed_size": d.size, "status": "ok",
    }
    res.layers.append(lrow)
    if not job.scan:
        lrow["status"] = "not_scanned"
        return None
    try:
        if d.media_type not in LAYER_TYPES:
            raise UnsupportedLayerType(f"layer media type {d.media_type!r} is not a known layer type")
        s = _scan(job, d.digest)
    except RateLimited:
        raise
    except (LayerError, MldockError, OSError) as exc:
        code = exc.code if isinstance(exc, LayerError) else type(exc).__name__
        job.errors.add(f"{job.ref}@{man.digest} layer {i} {d.digest}", code, str(exc))
        lrow["status"] = code
        if row["status"] == "ok":
            row["status"] = code
        return None
    c = s.counts()
    lrow.update({
        "compression": s.compression, "uncompressed_size": s.uncompressed_size,
        "entries": len(s.entries), "files": c["file"], "dirs": c["dir"],
        "symlinks": c["symlink"], "hardlinks": c["hardlink"], "devices": c["device"],
        "whiteouts": len(s.whiteouts), "opaque_dirs": len(s.opaque_dirs),
        "file_bytes": s.file_bytes, "max_depth": s.max_depth, "unsafe_names": s.unsafe_names,
    })
    return s


def _scan(job: _Job, digest: str) -> LayerScan:
    if isinstance(job.client, _Replay):
        return job.client.scan(job.ref, digest)
    assert isinstance(job.client, RegistryClient)
    return scan_blob(job.client, job.ref, digest, job.max_layer_bytes)


def _summarise_scans(job: _Job, man: Manifest, scans: list[LayerScan], plat: str,
                     row: dict[str, Any], res: ImageResult) -> None:
    """Sizes and depth of the image's final file system; its file types in both modes."""
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
    res.file_types += _file_type_rows(str(job.ref), plat, scans, all_entries, final, job.ft)
    if job.listings is not None:
        write_listing(job.listings / f"{man.digest.split(':')[-1]}.csv.gz", scans, final, job.ft)


def _file_type_rows(ref: str, plat: str, scans: list[LayerScan], all_entries: list[Entry],
                    final: Mapping[str, Entry], ft: FileTypes) -> list[dict[str, Any]]:
    """``image_file_types`` rows: paper and corrected mode, every layer and the final view."""
    with_markers = all_entries + [e for s in scans for e in marker_entries(s)]
    return (_type_rows("paper", "layers", ref, plat, paper_type_counts(with_markers, ft))
            + _type_rows("paper", "final", ref, plat, paper_type_counts(final.values(), ft))
            + _type_rows("corrected", "layers", ref, plat, corrected_type_counts(all_entries, ft))
            + _type_rows("corrected", "final", ref, plat, corrected_type_counts(final.values(), ft)))


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
FILE_TYPE_COLUMNS = ["mode", "view", "reference", "platform", "file_type", "files", "bytes",
                     "perc_number", "perc_size"]


def run_live(
    p: Paths,
    references: list[tuple[str, str]],
    client: RegistryClient,
    *,
    platform: str = "linux/amd64",
    max_layer_bytes: int = DEFAULT_MAX_UNCOMPRESSED,
    progress: Progress = no_progress,
    scan: bool = True,
    listings: Path | None = None,
    sched: Scheduler | None = None,
    threads: int = DEFAULT_THREADS,
) -> dict[str, int]:
    """Analyse ``[(reference, repo)]`` and write images, layers, image_file_types (one set);
    a rate limit stops the run once what is done is written (a rerun resumes from the cache).

    Manifests and configs are fetched here, one reference after the other; the layers are
    downloaded and scanned through :mod:`pipeline.executor` (``sched``; this process by
    default) in ``threads`` threads per worker (:mod:`pipeline.images.fetch`); the rows are
    then put together in reference order, so the outputs do not depend on ``sched``."""
    opts = _Options(platform, max_layer_bytes, scan, listings, sched, threads)
    counts, stopped = _run_live(p, references, client, opts, progress)
    if stopped is not None:
        raise stopped
    return counts


@dataclass(frozen=True)
class _Options:
    platform: str
    max_layer_bytes: int
    scan: bool
    listings: Path | None
    sched: Scheduler | None
    threads: int


class _Replay:
    """What the first pass fetched (values or the exceptions raised), and the layer scans,
    replayed to :func:`analyse_image` in reference order."""

    def __init__(self) -> None:
        self.resolved: dict[str, Any] = {}
        self.blobs: dict[str, Any] = {}
        self.scans: dict[tuple[str, str], LayerScan | ScanFailure] = {}

    @staticmethod
    def _give(value: Any) -> Any:
        if isinstance(value, BaseException):
            raise value
        return value

    def resolve(self, ref: ImageRef, platform: str = "linux/amd64") -> list[tuple[Manifest, Descriptor | None, str]]:
        return self._give(self.resolved[str(ref)])  # type: ignore[no-any-return]

    def get_blob_bytes(self, ref: ImageRef, digest: str) -> bytes:
        return self._give(self.blobs[digest])  # type: ignore[no-any-return]

    def scan(self, ref: ImageRef, digest: str) -> LayerScan:
        got = self.scans[(ref.registry, digest)]
        if isinstance(got, ScanFailure):
            raise got.exception()
        return got


def _prefetch(client: RegistryClient, references: list[tuple[str, str]], opts: _Options,
              replay: _Replay, progress: Progress) -> list[list[LayerJob]]:
    """First pass: every reference's manifests and configs into ``replay``; returns the
    layers each reference needs scanned.  Stops after a rate limit (the replay raises it)."""
    needs: list[list[LayerJob]] = []
    for reference, _ in track(references, progress, "images", len(references), "image"):
        jobs: list[LayerJob] = []
        needs.append(jobs)
        try:
            ref = parse_reference(reference)
        except ValueError:
            continue  # the replay raises it again
        try:
            replay.resolved[str(ref)] = resolved = client.resolve(ref, opts.platform)
        except Exception as exc:
            replay.resolved[str(ref)] = exc
            if isinstance(exc, RateLimited):
                break
            continue
        if _prefetch_configs(client, ref, resolved, opts, replay, jobs):
            break
    return needs


def _prefetch_configs(client: RegistryClient, ref: ImageRef, resolved: list[tuple[Manifest, Any, str]],
                      opts: _Options, replay: _Replay, jobs: list[LayerJob]) -> bool:
    """The configs of ``resolved`` and the layer jobs; True after a rate limit."""
    for man, _, _ in resolved:
        assert man.config is not None
        digest = man.config.digest
        if man.config.media_type in CONFIG_TYPES and digest not in replay.blobs:
            try:
                replay.blobs[digest] = client.get_blob_bytes(ref, digest)
            except Exception as exc:
                replay.blobs[digest] = exc
        if isinstance(replay.blobs.get(digest), RateLimited):
            return True
        if opts.scan:
            jobs += [LayerJob(str(ref), d.digest) for d in man.layers if d.media_type in LAYER_TYPES]
    return False


@writes_set("images")
def _run_live(p: Paths, references: list[tuple[str, str]], client: RegistryClient,
              opts: _Options, progress: Progress) -> tuple[dict[str, int], RateLimited | None]:
    ft = load_file_types(p.taxonomy / "file_types.yaml")
    errors = ErrorLog(STAGE)
    total = ImageResult()
    stopped: RateLimited | None = None
    replay = _Replay()
    needs = _prefetch(client, references, opts, replay, progress)
    scanned = _scanned(client, needs, replay, opts, progress)
    for (ref, repo), _ in zip(references, scanned, strict=False):
        try:
            r = analyse_image(replay, ref, ft, errors, platform=opts.platform,
                              max_layer_bytes=opts.max_layer_bytes, repo=repo, scan=opts.scan,
                              listings=opts.listings)
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
    scanned.close()
    images, layers = _write_live(p, total)
    errors.write(p)
    log.info("images: %d references in, %d image rows, %d layers, %d errors",
             len(references), len(images), len(layers), len(errors))
    return {"references": len(references), "images": len(images), "layers": len(layers),
            "errors": len(errors)}, stopped


def _scanned(client: RegistryClient, needs: list[list[LayerJob]], replay: _Replay,
             opts: _Options, progress: Progress) -> Generator[None, None, None]:
    """Yields once per prefetched reference, when the scans it needs are in ``replay``;
    a scan is dropped after the last reference that needs it (memory stays bounded)."""
    jobs: dict[tuple[str, str], LayerJob] = {}
    last: dict[tuple[str, str], int] = {}
    for i, need in enumerate(needs):
        for j in need:
            jobs.setdefault(j.key, j)
            last[j.key] = i
    order = list(jobs)
    results = iter(()) if not jobs else scan_layers(
        client, list(jobs.values()), opts.max_layer_bytes, sched=opts.sched,
        threads=opts.threads, progress=progress)
    got = 0
    with contextlib.closing(results):  # type: ignore[type-var]
        for i, need in enumerate(needs):
            for j in need:
                while j.key not in replay.scans:
                    replay.scans[order[got]] = next(results)
                    got += 1
            yield None
            for j in need:
                if last.get(j.key) == i:
                    replay.scans.pop(j.key, None)
                    last.pop(j.key)


def _write_live(p: Paths, total: ImageResult) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Write images, layers, image_file_types (and images_table2_live); return the first two."""
    images = pd.DataFrame(total.images).reindex(columns=IMAGE_COLUMNS)
    images = images.drop_duplicates(subset=["reference", "platform"], keep="first")
    layers = pd.DataFrame(total.layers).reindex(columns=LAYER_COLUMNS)
    layers = layers.drop_duplicates(subset=["reference", "platform", "index"], keep="first")
    ftypes = pd.DataFrame(total.file_types).reindex(columns=FILE_TYPE_COLUMNS)
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
    return images, layers


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
            "conf_size": mean_or_none(g["config_size"]), "env": mean_or_none(g["env_count"]),
            "rootfs": mean_or_none(g["rootfs_diff_ids"]), "layers": int(digests.nunique()) or None,
            "layers_size": mean_or_none(g["compressed_size"]),
            "architectures": json.dumps(sorted({str(a) for a in g["architecture"].dropna()})),
            "oses": json.dumps(sorted({str(a) for a in g["os"].dropna()})),
            "files": mean_or_none(g["files"]),
            "max_level": float(g["max_depth"].max()) if g["max_depth"].notna().any() else None,
        })
    stats = pd.DataFrame(rows)
    if stats.empty:
        return pd.DataFrame(columns=[c.name for c in IMAGES_TABLE2_LIVE.columns])
    t2 = table2(stats, categories, sources, mode="live")  # conf_size: median bytes / 1024
    cats = stats.assign(category=stats["repo"].map(lambda r: categories.get(r, "")))
    t2["files"] = t2["category"].map(lambda c: median_or_none(cats[cats["category"] == c]["files"]))
    t2["max_level"] = t2["category"].map(lambda c: median_or_none(cats[cats["category"] == c]["max_level"]))
    return t2


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

"""``mldock parse --from-tar ARCHIVE`` / ``--from-list FILE``: parse a corpus that is not a
replication package, without ingest.

A corpus is a tar archive (plain, gzip, bzip2 or xz; the per-release corpus of the
package, ``raw-data/Dockerfiles/samples/dockerfiles.tar.gz``, is the first) or a text file
listing one path per line (relative paths are read from the list's folder; ``#`` starts a
comment).  Every file is parsed as a Dockerfile, except ``*compose*.y[a]ml`` files, parsed
as compose files.  Its key: ``repo`` = the folder holding the file (without the archive's
common top folder), ``path`` = the file name; e.g. ``dockerfiles/BVLC/caffe/Dockerfile_rc``
is repo ``BVLC/caffe``, path ``Dockerfile_rc``; a listed path's repo is its folder as
written in the list.

A compressed archive is decompressed once into ``data/cache/corpus/<hash>.tar`` (isal
when installed), so that every task carries an archive member -- the tar's path, an
offset and a size -- and reads it with one seek, on any worker that sees the project's
``data/`` folder.  The tables (``dockerfiles``, ``instructions``, ``base_images``,
``run_commands``, ``compose_services``, ``instruction_shares``, ``run_category_shares``,
``parse_errors``) are written to ``--out`` (default ``data/corpus/<name>/``), the row
tables in the order of the work items -- (repo, path, mode) -- and the share tables by
(mode, repo, key), so they are byte-identical whatever the scheduler or partition size.
"""

from __future__ import annotations

import bz2
import gzip
import hashlib
import json
import logging
import lzma
import os
import shutil
import tarfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pandas as pd

from . import parse, parse_shards
from .config import Paths
from .core.modes import MODE_NAMES
from .executor import DEFAULT_PARTITION, Scheduler
from .outputs import writes_set
from .progress import Progress, no_progress
from .schemas import errors_table
from .tables import ErrorLog, atomic_path, write_table

log = logging.getLogger(__name__)

OUT_TABLES = parse.OUTPUT_TABLES[:-1]  # orchestration signals need files.csv's kinds


def _kind(name: str) -> str:
    low = name.lower()
    return "compose" if "compose" in low and low.endswith((".yml", ".yaml")) else "dockerfile"


def _keys(names: list[str], strip_top: bool = True) -> list[tuple[str, str]]:
    """(repo, path) of each name: its folder (without the common top folder when
    ``strip_top``), its file name."""
    parts = [n.strip("/").split("/") for n in names]
    top = parts[0][0] if strip_top and parts and all(len(p) > 1 and p[0] == parts[0][0]
                                                     for p in parts) else None
    out = []
    for p in parts:
        folder = p[1:-1] if top is not None else p[:-1]
        out.append(("/".join(folder), p[-1]))
    return out


def _opener(magic: bytes) -> Any:
    """The ``open`` of the compression ``magic`` starts (gzip through isal's igzip when
    installed), or None for a plain tar."""
    if magic[:2] == b"\x1f\x8b":
        try:
            from isal import igzip

            return igzip.open
        except ImportError:  # pragma: no cover - isal is a dependency
            return gzip.open
    if magic[:3] == b"BZh":
        return bz2.open
    if magic == b"\xfd7zXZ\x00":
        return lzma.open
    return None


def _cache_key(path: Path) -> str:
    """A name for what the cache keeps of ``path``: changes when the file is replaced."""
    st = path.stat()
    return hashlib.sha256(f"{path.resolve()}|{st.st_size}|{st.st_mtime_ns}".encode()).hexdigest()[:16]


def uncompressed(archive: Path, cache: Path) -> Path:
    """A seekable plain tar of ``archive``: itself, or its decompressed copy in ``cache``."""
    with open(archive, "rb") as f:
        opener = _opener(f.read(6))
    if opener is None:
        return archive
    target = cache / "corpus" / f"{_cache_key(archive)}.tar"
    if not target.exists():
        with opener(archive, "rb") as src, atomic_path(target, "wb") as dst:
            shutil.copyfileobj(src, dst, 1 << 20)
    return target


def members(plain: Path, cache: Path) -> list[tuple[str, int, int]]:
    """(name, data offset, size) of every regular file of the plain tar ``plain``, in
    archive order.  Walking a tar's headers is the one serial step of a corpus run (2 s
    for the 31,594 files of the per-release corpus), so the list is kept in
    ``cache/corpus/<hash>.members.json`` and read back (milliseconds) on the next run."""
    index = cache / "corpus" / f"{_cache_key(plain)}.members.json"
    if index.exists():
        return [(n, o, z) for n, o, z in json.loads(index.read_text(encoding="utf-8"))]
    with tarfile.open(plain) as tf:
        found = [(m.name, m.offset_data, m.size) for m in tf if m.isfile()]
    with atomic_path(index, "w", encoding="utf-8") as fh:
        json.dump(found, fh)
    return found


def tar_items(archive: Path, modes: Iterable[str], cache: Path) -> list[parse.WorkItem]:
    """One work item per regular file of ``archive`` and mode (members, not contents)."""
    plain = uncompressed(archive, cache)
    found = members(plain, cache)
    keys = _keys([name for name, _, _ in found])
    return sorted(parse.WorkItem(repo, path, "", _kind(path), mode, str(plain), offset, size)
                  for mode in modes
                  for (repo, path), (_, offset, size) in zip(keys, found, strict=True))


def list_items(listing: Path, modes: Iterable[str]) -> list[parse.WorkItem]:
    """One work item per path listed in ``listing`` and mode."""
    names = [line.split("#", 1)[0].strip()
             for line in listing.read_text(encoding="utf-8").splitlines()]
    names = [n for n in names if n]
    paths = [Path(n) if os.path.isabs(n) else listing.parent / n for n in names]
    keys = _keys(names, strip_top=False)
    return sorted(parse.WorkItem(repo, path, "", _kind(path), mode, str(src))
                  for mode in modes for (repo, path), src in zip(keys, paths, strict=True))


@writes_set(parse.STAGE)
def run(p: Paths, out: Path, *, archive: Path | None = None, listing: Path | None = None,
        modes: Iterable[str] = ("corrected",), sched: Scheduler | None = None,
        partition_size: int = DEFAULT_PARTITION, progress: Progress = no_progress) -> dict[str, int]:
    """Parse a corpus (``archive`` or ``listing``) into tables under ``out``."""
    modes = tuple(m for m in MODE_NAMES if m in set(modes))
    if archive is not None:
        items = tar_items(archive, modes, p.data / "cache")
    elif listing is not None:
        items = list_items(listing, modes)
    else:
        raise ValueError("give archive or listing")
    errors = ErrorLog(parse.STAGE)
    merged, shares = parse_shards.run_sharded(p, out, items, errors, sched, partition_size, progress)
    for name, frame in shares.items():
        write_table(frame, name, p, path=out / f"{name}.csv")
    table = errors_table(parse.STAGE)
    write_table(pd.DataFrame(errors.rows, columns=table.column_names), table, p,
                path=out / "parse_errors.csv")
    counts = {"files": merged.read, "errors": len(errors),
              **{n: merged.rows[n] for n in parse_shards.ROW_TABLES}, **{n: len(f) for n, f in shares.items()}}
    log.info("parse: %s -> %s: %s", archive or listing, out,
             ", ".join(f"{k}={v}" for k, v in counts.items()))
    return counts

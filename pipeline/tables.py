"""Reading and writing declared tables: schema checks, atomic writes, provenance.

``write_table`` validates a frame against :mod:`pipeline.schemas`, writes it to a
temporary file in the target directory and renames it into place, so an interrupted run
never leaves a half-written table; inside a stage's output set (:mod:`pipeline.outputs`)
the file goes to the set's staging folder and lands with the others.  Next to each table it writes ``<name>.csv.meta.json``
with the provenance (command, code version, taxonomy hash, source, date, row count).
"""

from __future__ import annotations

import contextlib
import errno
import functools
import hashlib
import json
import logging
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from . import __version__, outputs
from .config import Paths
from .errors import DiskFull, SchemaError, SourceInvalid, StageInputMissing
from .schemas import TABLES, Table, errors_table

log = logging.getLogger(__name__)

_PANDAS_DTYPES = {
    "str": "string",
    "int": "Int64",
    "float": "Float64",
    "bool": "boolean",
    "date": "string",
    "json": "string",
}


@contextlib.contextmanager
def atomic_path(target: Path, mode: str = "w", **kw: Any) -> Iterator[Any]:
    """Open a temporary file beside ``target``; rename it over ``target`` on success.

    Inside an open :func:`pipeline.outputs.output_set`, the file is written to its staged
    mirror instead, renamed into place when the set commits.  A full disk raises
    :class:`DiskFull` naming ``target``."""
    dest = outputs.staged(target)
    final = dest or target
    final.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=final.parent)
    os.close(fd)
    try:
        with open(tmp, mode, **kw) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, final)
    except BaseException as exc:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
            raise DiskFull(str(target)) from exc
        raise


def atomic_write_text(target: Path, text: str) -> None:
    with atomic_path(target, "w", encoding="utf-8", newline="") as fh:
        fh.write(text)


def atomic_write_bytes(target: Path, data: bytes) -> None:
    with atomic_path(target, "wb") as fh:
        fh.write(data)


def conform(df: pd.DataFrame, table: Table) -> pd.DataFrame:
    """Return ``df`` with exactly the schema's columns, in order, with its dtypes.

    Raises :class:`SchemaError` on missing or unexpected columns, nulls in non-nullable
    columns, values that cannot be converted, or duplicate keys.
    """
    names = table.column_names
    missing = [c for c in names if c not in df.columns]
    extra = [c for c in df.columns if c not in names]
    if missing or extra:
        raise SchemaError(table.name, f"missing columns {missing}, unexpected columns {extra}")
    out = df.loc[:, names].copy()
    for col in table.columns:
        s = out[col.name]
        try:
            if col.dtype == "json":
                s = s.map(lambda v: v if (v is None or isinstance(v, str) or _isna(v)) else json.dumps(v))
            if col.dtype == "bool" and s.dtype == object:
                s = s.map(to_bool)
            if col.dtype == "int" and s.dtype == object:
                s = pd.to_numeric(s, errors="raise")
            out[col.name] = s.astype(_PANDAS_DTYPES[col.dtype])
        except (ValueError, TypeError) as exc:
            raise SchemaError(table.name, f"column {col.name!r} is not {col.dtype}: {exc}") from exc
        if not col.nullable and out[col.name].isna().any():
            n = int(out[col.name].isna().sum())
            raise SchemaError(table.name, f"column {col.name!r} has {n} empty values")
    if table.key:
        dup = out.duplicated(subset=list(table.key), keep=False)
        if dup.any():
            example = out.loc[dup, list(table.key)].head(3).to_dict("records")
            raise SchemaError(table.name, f"duplicate keys {table.key}: {example}")
    return out


def _isna(v: Any) -> bool:
    try:
        return bool(pd.isna(v))
    except (TypeError, ValueError):
        return False


def to_bool(v: Any) -> Any:
    """``True``/``False`` from the spellings CSVs and spreadsheets use; NA stays NA."""
    if v is None or _isna(v):
        return pd.NA
    if isinstance(v, bool):
        return v
    s = str(v).strip().lower()
    if s in ("true", "1", "1.0", "yes", "t"):
        return True
    if s in ("false", "0", "0.0", "no", "f"):
        return False
    raise ValueError(f"not a boolean: {v!r}")


@functools.cache
def code_version(root: Path) -> str:
    """``<package version>+<git short sha>[-dirty]`` when in a git checkout.

    Cached: the code does not change while a stage runs, and every table write asks.
    """
    try:
        sha = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "--short", "HEAD"],
            capture_output=True, text=True, timeout=5, check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--", "pipeline", "taxonomy"],
            capture_output=True, text=True, timeout=5, check=True,
        ).stdout.strip()
        return f"{__version__}+{sha}{'-dirty' if dirty else ''}"
    except (OSError, subprocess.SubprocessError):
        return __version__


def taxonomy_hash(root: Path) -> str:
    """SHA-256 over the taxonomy YAML files (names and bytes), first 16 hex digits."""
    h = hashlib.sha256()
    tax = root / "taxonomy"
    if tax.is_dir():
        for f in sorted(tax.glob("*.yaml")):
            h.update(f.name.encode())
            h.update(f.read_bytes())
    return h.hexdigest()[:16]


def source_info(p: Paths) -> dict[str, Any]:
    record = outputs.resolve(p.source_record)  # ingest writes it in the same set
    if record.exists():
        try:
            info = json.loads(record.read_text(encoding="utf-8"))
            return {k: info.get(k) for k in ("kind", "source", "package_dir", "date")}
        except (OSError, ValueError):
            pass
    return {}


def provenance(p: Paths, table: Table, rows: int, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "table": table.name,
        "stage": table.stage,
        "rows": rows,
        "command": " ".join(["mldock", *sys.argv[1:]]) if sys.argv else "mldock",
        "code_version": code_version(p.root),
        "taxonomy_hash": taxonomy_hash(p.root),
        "source": source_info(p),
        "written_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    if extra:
        meta.update(extra)
    return meta


def write_table(
    df: pd.DataFrame,
    name: str | Table,
    p: Paths,
    extra_meta: dict[str, Any] | None = None,
    path: Path | None = None,
) -> Path:
    """Validate ``df`` against the declared table and write it atomically (CSV + sidecar)."""
    table = name if isinstance(name, Table) else TABLES[name]
    out = conform(df, table)
    target = path or p.table(table.location, table.name)
    with atomic_path(target, "w", encoding="utf-8", newline="") as fh:
        out.to_csv(fh, index=False)
    meta = provenance(p, table, len(out), extra_meta)
    atomic_write_text(target.with_name(target.name + ".meta.json"), json.dumps(meta, indent=2) + "\n")
    log.info("wrote %s (%d rows)", target, len(out))
    return target


def read_table(name: str | Table, p: Paths, path: Path | None = None) -> pd.DataFrame:
    """Read a declared table with its dtypes; a missing file names the stage to run."""
    table = name if isinstance(name, Table) else TABLES[name]
    target = outputs.resolve(path or p.table(table.location, table.name))
    if not target.exists():
        raise StageInputMissing(str(target), f"mldock {table.stage}")
    dtypes = {c.name: _PANDAS_DTYPES[c.dtype] for c in table.columns}
    df = pd.read_csv(target, dtype=dtypes, keep_default_na=False, na_values=[""])
    return df


def read_package_csv(path: Path) -> pd.DataFrame:
    """Read a package CSV: UTF-8 with or without BOM; all-empty rows and columns dropped."""
    try:
        df = pd.read_csv(path, encoding="utf-8-sig", dtype=str, keep_default_na=False, na_values=[""])
    except (UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise SourceInvalid(str(path), f"unreadable CSV ({exc.__class__.__name__}: {exc})") from exc
    df = df.dropna(how="all")
    df = df.loc[:, ~(df.columns.str.startswith("Unnamed:") & df.isna().all())]
    return df.reset_index(drop=True)


UNLABELLED = "Unlabelled"
"""The category value of a repository without a label (manual or predicted)."""


def repo_categories(repos: pd.DataFrame, projects: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per studied repository: ``repo, category, category_source``.

    ``projects.category`` (manual where the study labelled, predicted elsewhere) wins; without
    it the interim label is used and unlabelled repositories get ``Unlabelled``.
    """
    if projects is not None and len(projects):
        out = projects.loc[:, ["repo", "category", "category_source"]].copy()
    else:
        out = repos.loc[:, ["repo", "category", "label_source"]].rename(
            columns={"label_source": "category_source"}
        )
    out["category"] = out["category"].fillna("").astype(str).replace("", UNLABELLED)
    out["category_source"] = out["category_source"].fillna("").astype(str)
    return out.reset_index(drop=True)


class ErrorLog:
    """Collects per-item problems of one stage; written to ``interim/<stage>_errors.csv``."""

    def __init__(self, stage: str) -> None:
        self.stage = stage
        self.rows: list[dict[str, str]] = []

    def add(self, item: str, error: BaseException | str, message: str | None = None) -> None:
        etype = type(error).__name__ if isinstance(error, BaseException) else str(error)
        msg = message if message is not None else str(error)
        self.rows.append({"stage": self.stage, "item": item, "error_type": etype, "message": msg})
        log.warning("%s: %s: %s", item, etype, msg)

    def __len__(self) -> int:
        return len(self.rows)

    def extend(self, rows: Iterable[dict[str, str]]) -> None:
        self.rows.extend(rows)

    def write(self, p: Paths) -> Path:
        table = errors_table(self.stage)
        df = pd.DataFrame(self.rows, columns=table.column_names)
        return write_table(df, table, p)

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
import io
import json
import logging
import os
import re
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Iterator, Sequence
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


def fingerprint_unchanged(table: Path, fp: str, outputs: Iterable[Path]) -> bool:
    """True when every output exists and ``table``'s sidecar records ``fp`` as its
    ``inputs_fingerprint`` (the stage ran last on the same inputs: nothing to do)."""
    meta = table.with_name(table.name + ".meta.json")
    if not meta.exists() or not all(o.exists() for o in outputs):
        return False
    try:
        return bool(json.loads(meta.read_text(encoding="utf-8")).get("inputs_fingerprint") == fp)
    except (OSError, ValueError):
        return False


def save_figure(fig: Any, name: str, out_dir: Path) -> list[Path]:
    """Write a matplotlib figure as ``<name>.png`` (150 dpi) and ``<name>.pdf`` under
    ``out_dir``, atomically.  The PDF carries no creation date, so the same data give the
    same bytes on every run."""
    paths = []
    for ext in ("png", "pdf"):
        target = out_dir / f"{name}.{ext}"
        meta = {"CreationDate": None} if ext == "pdf" else None
        with atomic_path(target, "wb") as fh:
            fig.savefig(fh, dpi=150, bbox_inches="tight", format=ext, metadata=meta)
        paths.append(target)
    return paths


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
    return write_sidecar(p, table, len(out), target, extra_meta)


def write_sidecar(p: Paths, table: Table, rows: int, target: Path,
                  extra_meta: dict[str, Any] | None = None) -> Path:
    """The ``.meta.json`` sidecar of ``target``, a table of ``rows`` rows written already."""
    meta = provenance(p, table, rows, extra_meta)
    atomic_write_text(target.with_name(target.name + ".meta.json"), json.dumps(meta, indent=2) + "\n")
    log.info("wrote %s (%d rows)", target, rows)
    return target


def read_table(name: str | Table, p: Paths, path: Path | None = None) -> pd.DataFrame:
    """Read a declared table with its dtypes; a missing file names the stage to run."""
    table = name if isinstance(name, Table) else TABLES[name]
    target = outputs.resolve(path or p.table(table.location, table.name))
    if not target.exists():
        raise StageInputMissing(str(target), f"mldock {table.stage}")
    dtypes = {c.name: _PANDAS_DTYPES[c.dtype] for c in table.columns}
    df = pd.read_csv(target, dtype=dtypes, keep_default_na=False, na_values=[""])
    for col, value in _ADDED_COLUMNS.get(table.name, {}).items():
        if col not in df.columns:  # a table written before the column existed
            df[col] = value
    return df


#: columns added to a table after it was first written, with the value older copies mean:
#: ``files.name_escaped`` (ingest's escaped names) is False in a files.csv of an older
#: ingest or collect
_ADDED_COLUMNS: dict[str, dict[str, Any]] = {"files": {"name_escaped": False}}


#: the largest package table (CSV or xlsx) ingest reads; the real package's largest is ~4 MB
MAX_TABLE_BYTES = 256 * 1024 * 1024


class UnsafeFile(OSError):
    """A path that is not a regular file inside the package (link out, FIFO, device, too large)."""


_KINDS = ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISSOCK, "a socket"),
          (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"))


def _kind(mode: int) -> str:
    return next((name for test, name in _KINDS if test(mode)), "not a regular file")


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def regular_file(path: Path, root: Path | None = None) -> Path:
    """The regular file ``path`` names, checked without opening it; else :class:`UnsafeFile`.

    A symbolic link is followed only when its target (resolved) lies inside ``root``;
    FIFOs, sockets, devices and folders are refused (opening a FIFO would block).
    """
    st = os.lstat(path)
    real = os.path.realpath(path)
    base = os.path.realpath(root) if root is not None else None
    if stat.S_ISLNK(st.st_mode):
        link = escape_name(os.readlink(path))[0]
        if base is not None and not _inside(real, base):
            raise UnsafeFile(f"symbolic link to {link}, outside the package; not followed")
        try:
            st = os.stat(real)
        except OSError as exc:
            raise UnsafeFile(f"symbolic link to {link}, which does not resolve ({exc.strerror})") from exc
        if not stat.S_ISREG(st.st_mode):
            raise UnsafeFile(f"symbolic link to {link}, {_kind(st.st_mode)}; not read")
    elif base is not None and not _inside(real, base):
        raise UnsafeFile(f"resolves to {escape_name(real)[0]}, outside the package; not read")
    if not stat.S_ISREG(st.st_mode):
        raise UnsafeFile(f"{_kind(st.st_mode)}, not a regular file; not read")
    return Path(real)


def read_regular(path: Path, limit: int, root: Path | None = None) -> bytes:
    """The bytes of a regular file (see :func:`regular_file`), at most ``limit`` of them.

    Opened with ``O_NOFOLLOW | O_NONBLOCK`` and checked again with ``fstat``, so a file
    swapped for a FIFO or a link in between neither blocks nor escapes.
    """
    real = regular_file(path, root)
    fd = os.open(real, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    with os.fdopen(fd, "rb") as fh:
        st = os.fstat(fh.fileno())
        if not stat.S_ISREG(st.st_mode):
            raise UnsafeFile(f"{_kind(st.st_mode)}, not a regular file; not read")
        if st.st_size > limit:
            raise UnsafeFile(f"file too large ({st.st_size} bytes > {limit}); not read")
        data = fh.read(limit + 1)
    if len(data) > limit:
        raise UnsafeFile(f"file too large (more than {limit} bytes); not read")
    return data


_ESCAPE = re.compile(r"\\(\\|x[0-9a-f]{2})")


def escape_name(name: str) -> tuple[str, bool]:
    """``(text, escaped)``: a file name as UTF-8 text for a CSV.

    A name that is not valid UTF-8 (``os`` gives it with surrogate escapes) becomes
    backslash-x text (``Dockerfile.\\xff``, a literal backslash doubled) and ``escaped``
    is True; :func:`unescape_name` turns it back into the name on disk.
    """
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        raw = name.encode("utf-8", "surrogateescape").replace(b"\\", b"\\\\")
        return raw.decode("utf-8", "backslashreplace"), True
    return name, False


def unescape_name(text: str) -> str:
    """The on-disk name (surrogate escapes) of a name :func:`escape_name` escaped."""
    out = bytearray()
    pos = 0
    for m in _ESCAPE.finditer(text):
        out += text[pos:m.start()].encode("utf-8")
        g = m.group(1)
        out += b"\\" if g == "\\" else bytes([int(g[1:], 16)])
        pos = m.end()
    out += text[pos:].encode("utf-8")
    return out.decode("utf-8", "surrogateescape")


def raw_copy(p: Paths, raw_path: str, name_escaped: bool = False) -> Path:
    """The copy under ``data/`` a ``files`` row names (its ``raw_path``, unescaped if flagged)."""
    return p.data / (unescape_name(raw_path) if name_escaped else raw_path)


def one_line(exc: BaseException) -> str:
    """``Type: message`` of an exception on one line (parsers put newlines in theirs)."""
    return f"{exc.__class__.__name__}: {' '.join(str(exc).split())}"


def read_package_csv(path: Path, columns: Sequence[str] = (), rows: bool = False,
                     root: Path | None = None, label: str | None = None,
                     limit: int = MAX_TABLE_BYTES) -> pd.DataFrame:
    """Read a package CSV: UTF-8 with or without BOM; all-empty rows and columns dropped.

    Read as a regular file only (:func:`read_regular`); ``columns`` must all be in the
    header and, with ``rows``, at least one data row must remain: else
    :class:`SourceInvalid` naming the file (as ``label``, default its path).
    """
    label = label or str(path)
    try:
        data = read_regular(path, limit, root)
    except OSError as exc:
        raise SourceInvalid(label, f"cannot read the CSV ({exc.strerror or exc})") from exc
    try:
        df = pd.read_csv(io.BytesIO(data), encoding="utf-8-sig", dtype=str, keep_default_na=False,
                         na_values=[""])
    except (UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise SourceInvalid(label, f"unreadable CSV ({one_line(exc)})") from exc
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise SourceInvalid(label, f"no column {', '.join(map(repr, missing))} in the header "
                                       f"(expected {', '.join(columns)})")
    df = df.dropna(how="all")
    df = df.loc[:, ~(df.columns.str.startswith("Unnamed:") & df.isna().all())]
    if rows and df.empty:
        raise SourceInvalid(label, "has a header but no rows")
    return df.reset_index(drop=True)


UNLABELLED = "Unlabelled"
"""The category value of a repository without a label (manual or predicted)."""

HUMAN_SOURCES = ("manual", "reviewed")
"""``category_source`` values of a label a person gave (the study's, or a reviewed one)."""


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
        msg = escape_name(message if message is not None else str(error))[0]
        item = escape_name(item)[0]
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

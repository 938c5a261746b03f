"""Ingest, checks: the package validated before anything is written; zips and downloads bounded.

* :func:`read_inputs` checks the layout of :data:`pipeline.schemas.inputs.PACKAGE_INPUTS`
  (every file a regular file, every folder a folder, inside the package), then reads the
  RQ1 CSVs and the spreadsheet with their declared columns; any problem is one
  :class:`~pipeline.errors.SourceInvalid` line naming the file.
* :class:`ZipLimits`, :func:`check_members`, :func:`extract_members`: a zip's members are
  checked against a total unpacked size and a compression ratio before a byte is
  extracted, and extraction counts what it writes.
* :func:`check_download`: a download must start like a zip (``PK\\x03\\x04``) and have the
  announced size before it is kept.
"""

from __future__ import annotations

import io
import os
import stat
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import pandas as pd

from .errors import SourceInvalid
from .schemas.inputs import FINAL, MANUAL, PACKAGE_INPUTS, XLSX, Input
from .tables import MAX_TABLE_BYTES, one_line, read_package_csv, read_regular, regular_file

#: defaults, which admit the real package (tests/test_ingest_hostile.py::
#: test_default_zip_limits_admit_the_real_package); override with the environment or the
#: ``mldock ingest`` options
ZIP_MAX_BYTES = 1 << 30
ZIP_MAX_RATIO = 100.0
#: members smaller than this are not ratio-checked (a small file of blanks compresses well)
RATIO_MIN_BYTES = 1 << 20
ENV_MAX_BYTES = "MLDOCK_ZIP_MAX_BYTES"
ENV_MAX_RATIO = "MLDOCK_ZIP_MAX_RATIO"
ZIP_MAGIC = b"PK\x03\x04"


@dataclass(frozen=True)
class ZipLimits:
    max_bytes: int = ZIP_MAX_BYTES
    max_ratio: float = ZIP_MAX_RATIO

    @classmethod
    def from_env(cls, max_bytes: int | None = None, max_ratio: float | None = None) -> ZipLimits:
        """Explicit values win, then ``$MLDOCK_ZIP_MAX_BYTES`` / ``$MLDOCK_ZIP_MAX_RATIO``."""
        b = max_bytes if max_bytes is not None else int(_env(ENV_MAX_BYTES, ZIP_MAX_BYTES))
        r = max_ratio if max_ratio is not None else _env(ENV_MAX_RATIO, ZIP_MAX_RATIO)
        return cls(b, r)


def _env(name: str, default: float) -> float:
    value = os.environ.get(name) or str(default)
    try:
        return float(value)
    except ValueError as exc:
        raise SourceInvalid(f"${name}", f"not a number: {value!r}",
                            hint=f"set ${name} to a number or unset it") from exc


@dataclass
class PackageInputs:
    """The package's RQ1 tables, read and checked."""

    manual: pd.DataFrame
    final: pd.DataFrame
    sheets: dict[str, pd.DataFrame]


# --------------------------------------------------------------------------------------
# the package
# --------------------------------------------------------------------------------------


def _layout_problem(pkg: Path, entry: Input) -> str | None:
    path = pkg / entry.path
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return f"missing {entry.path}"
    except OSError as exc:
        return f"cannot read {entry.path} ({exc.strerror})"
    if entry.kind == "folder":
        if stat.S_ISLNK(st.st_mode) or not stat.S_ISDIR(st.st_mode):
            return f"{entry.path} is not a folder"
        return None
    try:
        regular_file(path, pkg)
    except OSError as exc:
        return f"{entry.path}: {exc}"
    return None


def check_layout(pkg: Path, where: str) -> None:
    """Every declared entry present with its kind; all problems on one line."""
    problems = [p for e in PACKAGE_INPUTS if (p := _layout_problem(pkg, e))]
    if problems:
        raise SourceInvalid(where, f"not a complete replication package, {'; '.join(problems)}")


def read_csv_input(pkg: Path, entry: Input, where: str) -> pd.DataFrame:
    """A declared package CSV, its columns and rows checked; rows without a key dropped."""
    df = read_package_csv(pkg / entry.path, entry.columns, rows=entry.rows, root=pkg,
                          label=f"{where}/{entry.path}")
    key = entry.columns[0]
    df = df.dropna(subset=[key]).reset_index(drop=True)
    if entry.rows and df.empty:
        raise SourceInvalid(f"{where}/{entry.path}", f"no row has a {key!r} value")
    return df


def read_sheets(xlsx: Path, sheets: dict[str, tuple[str, ...]], label: str,
                root: Path | None = None) -> dict[str, pd.DataFrame]:
    """The named sheets of a spreadsheet (text cells, all-empty rows dropped), columns checked."""
    try:
        data = read_regular(xlsx, MAX_TABLE_BYTES, root)
    except OSError as exc:
        raise SourceInvalid(label, f"cannot read the spreadsheet ({exc.strerror or exc})") from exc
    try:
        raw = pd.read_excel(io.BytesIO(data), sheet_name=list(sheets), dtype=str, engine="openpyxl")
    except ValueError as exc:
        raise SourceInvalid(label, f"spreadsheet lacks an expected sheet ({one_line(exc)})") from exc
    except Exception as exc:  # openpyxl: BadZipFile, KeyError, XML ParseError, ...
        raise SourceInvalid(label, f"unreadable spreadsheet ({one_line(exc)})") from exc
    for name, columns in sheets.items():
        missing = [c for c in columns if c not in raw[name].columns]
        if missing:
            raise SourceInvalid(label, f"sheet {name} has no column {', '.join(map(repr, missing))}")
    return {k: v.dropna(how="all").reset_index(drop=True) for k, v in raw.items()}


def read_inputs(pkg: Path, where: str) -> PackageInputs:
    """Check the package's layout, then read and check its RQ1 CSVs and spreadsheet."""
    check_layout(pkg, where)
    manual = read_csv_input(pkg, MANUAL, where)
    final = read_csv_input(pkg, FINAL, where)
    sheets = read_sheets(pkg / XLSX.path, XLSX.sheets, f"{where}/{XLSX.path}", pkg)
    return PackageInputs(manual, final, sheets)


# --------------------------------------------------------------------------------------
# zips and downloads
# --------------------------------------------------------------------------------------


def check_members(infos: list[zipfile.ZipInfo], limits: ZipLimits, label: str) -> None:
    """Safe names, total unpacked size and compression ratio, before extracting anything."""
    for info in infos:
        parts = PurePosixPath(info.filename).parts
        if info.filename.startswith("/") or ".." in parts:
            raise SourceInvalid(label, f"unsafe path in zip: {info.filename!r}")
        if info.file_size >= RATIO_MIN_BYTES:
            ratio = info.file_size / max(info.compress_size, 1)
            if ratio > limits.max_ratio:
                raise SourceInvalid(label, f"member {info.filename} unpacks {ratio:.0f} times its "
                                           f"compressed size (limit {limits.max_ratio:g})",
                                    hint=f"raise --max-ratio or ${ENV_MAX_RATIO} if the zip is trusted")
    total = sum(i.file_size for i in infos)
    if total > limits.max_bytes:
        raise SourceInvalid(label, f"zip unpacks to {total} bytes (limit {limits.max_bytes})",
                            hint=f"raise --max-unpacked or ${ENV_MAX_BYTES} if the zip is trusted")


def extract_members(zf: zipfile.ZipFile, dest: Path, label: str) -> None:
    """Extract every member under ``dest``, never more bytes than a member declares."""
    try:
        for info in zf.infolist():
            out = dest / info.filename
            if info.is_dir():
                out.mkdir(parents=True, exist_ok=True)
                continue
            out.parent.mkdir(parents=True, exist_ok=True)
            left = info.file_size
            with zf.open(info) as src, open(out, "wb") as dst:
                while chunk := src.read(1 << 20):
                    left -= len(chunk)
                    if left < 0:
                        raise zipfile.BadZipFile(f"member {info.filename} is larger than it declares")
                    dst.write(chunk)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ValueError) as exc:
        raise SourceInvalid(label, f"corrupt zip ({one_line(exc)})") from exc
    except NotImplementedError as exc:  # unsupported compression method
        raise SourceInvalid(label, f"unsupported zip ({one_line(exc)})") from exc


def check_download(path: Path, label: str, limits: ZipLimits, expected: int | None = None) -> None:
    """A downloaded file is kept only if it starts like a zip and has the announced size."""
    size = path.stat().st_size
    with open(path, "rb") as fh:
        head = fh.read(16)
    if not head.startswith(ZIP_MAGIC):
        raise SourceInvalid(label, f"the download is not a zip file (it starts with {head!r})",
                            hint="check the URL")
    if expected is not None and size != expected:
        raise SourceInvalid(label, f"the download is truncated ({size} of {expected} bytes)",
                            hint="run the command again to download it again")
    if size > limits.max_bytes:
        raise SourceInvalid(label, f"the download is larger than {limits.max_bytes} bytes",
                            hint=f"raise --max-unpacked or ${ENV_MAX_BYTES} if the URL is trusted")

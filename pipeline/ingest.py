"""Ingest the EASE 2022 replication package into normalised interim tables.

``run(source, paths)`` locates the package (a ``Datasets/`` folder, a folder containing
it, a ``.zip`` of the GitHub repository, or an ``https://`` URL of such a zip), reads it
as published -- BOMs, trailing empty rows, the 405/406 split, misspelt labels, the
funnel spreadsheet -- and writes ``data/interim/{repos,funnel,files,purpose_text}.csv``,
the package's RQ4 image CSVs as ``data/interim/package_*.csv`` (:mod:`pipeline.ingest_images`)
and copies of every Docker-related file under ``data/raw/files/<owner>/<repo>/``.

Everything is read and validated before anything is written, so a malformed source
leaves no partial outputs.
"""

from __future__ import annotations

import contextlib
import errno
import glob
import hashlib
import json
import logging
import os
import shutil
import tempfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any

import pandas as pd

from . import ingest_images, ingest_sheets
from .config import Paths, default_replication_candidates
from .core.cells import image_list
from .core.dockerfile import MAX_BYTES as MAX_FILE_BYTES
from .core.sniff import classify_file
from .errors import DiskFull, SourceInvalid, SourceNotFound
from .ingest_checks import (
    ENV_MAX_BYTES,
    PackageInputs,
    ZipLimits,
    check_download,
    check_members,
    extract_members,
    read_inputs,
)
from .outputs import OutputSet, output_set
from .progress import Progress, no_progress, track
from .schemas import FILES, inputs
from .tables import (
    ErrorLog,
    UnsafeFile,
    atomic_write_text,
    escape_name,
    read_regular,
    to_bool,
    write_table,
)
from .taxonomy import load_categories, normalise_keyword

log = logging.getLogger(__name__)

XLSX = inputs.XLSX.path
MANUAL = inputs.MANUAL.path
FINAL = inputs.FINAL.path
LOGS = inputs.LOGS.path

#: funnel sheets in order, with what each step keeps
FUNNEL_SHEETS: tuple[tuple[str, str], ...] = (
    ("all-search", "unique repositories returned by the keyword search"),
    ("initial", "with at least one file named like a Dockerfile"),
    ("100commits", "with at least 100 commits"),
    ("1release", "and at least one release"),
    ("notarchived", "and not archived"),
    ("images", "manually labelled repositories (Docker Hub image search)"),
    ("filtered", "with a matched Docker Hub image"),
    ("labeling2", "after removing repositories dropped during labelling (manual-labeling.csv)"),
    ("filtered2", "the same, as used by the RQ3/RQ4 scripts (final-dataset.csv)"),
)

# --------------------------------------------------------------------------------------
# locating the package
# --------------------------------------------------------------------------------------


@dataclass
class Source:
    """A resolved replication package, its RQ1 tables read and checked."""

    package_dir: Path
    kind: str  # "directory", "zip", "url"
    source: str
    inputs: PackageInputs


def _find_datasets(folder: Path) -> Path | None:
    """The Datasets folder at/inside ``folder`` (itself, ./Datasets, or */Datasets)."""
    if (folder / "RQ1").is_dir():
        return folder
    if (folder / "Datasets" / "RQ1").is_dir():
        return folder / "Datasets"
    subs = [d for d in folder.iterdir() if d.is_dir() and (d / "Datasets" / "RQ1").is_dir()]
    if len(subs) == 1:
        return subs[0] / "Datasets"
    return None


def _fetch(url: str, tmp: str, name: str, limits: ZipLimits, progress: Progress) -> int | None:
    """Stream ``url`` into ``tmp`` (at most ``limits.max_bytes``); the announced size."""
    import requests

    with requests.get(url, stream=True, timeout=60) as resp:
        resp.raise_for_status()
        total = int(resp.headers.get("content-length") or 0) or None
        bar = progress(name, total, "B")
        got = 0
        try:
            with open(tmp, "wb") as fh:
                for chunk in resp.iter_content(chunk_size=1 << 16):
                    got += len(chunk)
                    if got > limits.max_bytes:
                        raise SourceInvalid(url, f"the download is larger than {limits.max_bytes} bytes",
                                            hint=f"raise --max-unpacked or ${ENV_MAX_BYTES} if the URL is trusted")
                    fh.write(chunk)
                    bar.update(len(chunk))
        finally:
            bar.close()
    return total


def download(url: str, dest_dir: Path, progress: Progress = no_progress,
             limits: ZipLimits | None = None) -> Path:
    """Stream ``url`` into ``dest_dir`` and keep it (atomically) only if it is a zip."""
    import requests

    limits = limits or ZipLimits.from_env()
    name = PurePosixPath(url.split("?")[0]).name or "package.zip"
    if not name.endswith(".zip"):
        name += ".zip"
    dest = dest_dir / name
    for stale in dest_dir.glob(f".{glob.escape(name)}.*.part"):  # of a killed download
        log.info("removing %s, left by an interrupted download", stale)
        with contextlib.suppress(FileNotFoundError):
            stale.unlink()
    if dest.exists():
        try:
            check_download(dest, str(dest), limits)
            log.info("using the earlier download %s", dest)
            return dest
        except SourceInvalid as exc:
            log.warning("discarding the earlier download: %s", exc)
            dest.unlink()
    dest_dir.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=dest_dir, prefix=f".{name}.", suffix=".part")
    os.close(fd)
    try:
        total = _fetch(url, tmp, name, limits, progress)
        check_download(Path(tmp), url, limits, total)
        os.replace(tmp, dest)
    except requests.RequestException as exc:
        raise SourceInvalid(url, f"download failed ({exc.__class__.__name__}: {exc})",
                            hint="check the URL and the network, or download the zip and pass "
                                 "its path to --from") from exc
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
    return dest


STAMP = ".mldock-zip"


def _stamp(zpath: Path) -> str:
    h = hashlib.sha256()
    with open(zpath, "rb") as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
    return f"sha256:{h.hexdigest()}\n"


def _earlier_extraction(target: Path, stamp: str) -> Path | None:
    """The Datasets folder of an earlier extraction of the same zip (same bytes), if any."""
    with contextlib.suppress(OSError):
        if (target / STAMP).read_text() == stamp:
            return _find_datasets(target)
    return None


def extract_zip(zpath: Path, dest_root: Path, limits: ZipLimits | None = None) -> tuple[Path, PackageInputs]:
    """Extract a package zip under ``dest_root/<zip stem>/`` (once per zip content).

    Members are checked (:func:`check_members`) before extraction; the extraction goes to a
    temporary folder, is checked as a package (:func:`read_inputs`) and only then renamed
    into place, so a bad zip leaves nothing behind.  Returns Datasets/ and its tables.
    """
    limits = limits or ZipLimits.from_env()
    target = dest_root / zpath.stem
    stamp = _stamp(zpath)
    if (found := _earlier_extraction(target, stamp)) is not None:
        return found, read_inputs(found, str(found))
    try:
        zf = zipfile.ZipFile(zpath)
    except (zipfile.BadZipFile, OSError) as exc:
        raise SourceInvalid(str(zpath), f"not a readable zip file ({exc})") from exc
    with zf:
        if not any("/Datasets/RQ1/" in f"/{n}" for n in zf.namelist()):
            raise SourceInvalid(str(zpath), "zip has no Datasets/RQ1/ folder")
        check_members(zf.infolist(), limits, str(zpath))
        dest_root.mkdir(parents=True, exist_ok=True)
        for stale in dest_root.glob(f".{zpath.stem}.*"):
            if stale.is_dir():
                shutil.rmtree(stale, ignore_errors=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{zpath.stem}.", dir=dest_root))
        try:
            extract_members(zf, tmp, str(zpath))
            found = _find_datasets(tmp)
            if found is None:
                raise SourceInvalid(str(zpath), "zip has no Datasets/RQ1/ folder")
            inputs = read_inputs(found, f"{zpath}:{found.relative_to(tmp).as_posix()}")
            (tmp / STAMP).write_text(stamp)
            if target.exists():
                shutil.rmtree(target)
            os.replace(tmp, target)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    return target / found.relative_to(tmp), inputs


def resolve_source(source: str | None, p: Paths, progress: Progress = no_progress,
                   limits: ZipLimits | None = None) -> Source:
    """Turn ``--from`` (or the defaults) into a checked :class:`Source`, its tables read."""
    if not source:
        tried = default_replication_candidates(p)
        for cand in tried:
            if cand.exists():
                return resolve_source(str(cand), p, progress, limits)
        raise SourceNotFound([str(t) for t in tried])
    if source.startswith(("https://", "http://")):
        zpath = download(source, p.external, progress, limits)
        try:
            pkg, inputs = extract_zip(zpath, p.external, limits)
        except SourceInvalid:
            zpath.unlink()  # not a usable package: never "the earlier download"
            raise
        return Source(pkg.resolve(), "url", source, inputs)
    path = Path(source).expanduser()
    if not path.exists():
        raise SourceNotFound([str(path)], f"{path} does not exist")
    if path.is_file():
        if not zipfile.is_zipfile(path):
            raise SourceInvalid(source, "file is not a zip archive")
        pkg, inputs = extract_zip(path, p.external, limits)
        return Source(pkg.resolve(), "zip", str(path.resolve()), inputs)
    found = _find_datasets(path)
    if found is None:
        raise SourceInvalid(source, "no RQ1/ folder here nor in a Datasets/ folder below")
    found = found.resolve()
    return Source(found, "directory", str(path.resolve()), read_inputs(found, str(found)))


# --------------------------------------------------------------------------------------
# reading the package, quirks included
# --------------------------------------------------------------------------------------


def load_label_mapping(path: Path) -> dict[str, str]:
    """raw label (normalised) -> category, from ``taxonomy/categories.yaml`` (every spelling)."""
    return dict(load_categories(path).lookup)


def map_label(raw: Any, mapping: dict[str, str]) -> str | None:
    """Canonical category for a raw label, ``None`` for blank, KeyError for unknown."""
    if raw is None or pd.isna(raw) or not str(raw).strip():
        return None
    return mapping[normalise_keyword(raw)]


def _num(v: Any) -> int | None:
    if v is None or pd.isna(v) or str(v).strip() == "":
        return None
    return int(float(v))


def _flag(v: Any) -> bool | None:
    """A boolean cell of the package; unknown spellings count as missing."""
    try:
        flag = to_bool(v)
    except ValueError:
        return None
    return None if flag is pd.NA else bool(flag)


def build_repos(manual: pd.DataFrame, final: pd.DataFrame, filtered: pd.DataFrame,
                mapping: dict[str, str]) -> pd.DataFrame:
    """One row per studied repository (manual-labeling's 406), metadata from final-dataset
    (405) and, for the one repository only in manual-labeling, from the ``filtered`` sheet."""
    meta = pd.concat([final, filtered[~filtered["Repos"].isin(final["Repos"])]], ignore_index=True)
    meta = meta.drop_duplicates(subset=["Repos"]).set_index("Repos")
    final_set = set(final["Repos"])
    rows = []
    unknown: list[str] = []
    for _, m in manual.iterrows():
        repo = str(m["repos"]).strip()
        if repo not in meta.index:
            raise SourceInvalid(MANUAL, f"repository {repo} has no metadata in final-dataset or filtered")
        md = meta.loc[repo]
        raw = m.get("manual_topic")
        try:
            category = map_label(raw, mapping)
        except KeyError:
            unknown.append(f"{repo}: {raw!r}")
            category = None
        images = image_list(md.get("latest_image")) or image_list(m.get("latest_image"))
        rows.append({
            "repo": repo,
            "in_final_dataset": repo in final_set,
            "search_topic": md.get("topic"),
            "commits": _num(md.get("commits")),
            "contributors": _num(md.get("contributors")),
            "issues": _num(md.get("issues")),
            "pulls": _num(md.get("pulls")),
            "releases": _num(md.get("releases")),
            "size_kb": _num(md.get("repo_size")),
            "stars": _num(md.get("stars")),
            "forks": _num(md.get("forks")),
            "open_issues": _num(md.get("open_issues")),
            "archived": _flag(md.get("archived")),
            "created_at": md.get("created_at"),
            "updated_at": md.get("updated_at"),
            "language": md.get("language"),
            "homepage": md.get("homepage"),
            "description": md.get("description"),
            "topics": "[]",
            "default_branch": None,
            "head_sha": None,
            "docker_files_count": _num(md.get("docker_files_count")),
            "total_dockerfiles": _num(m.get("total_dockerfiles")),
            "raw_label": None if pd.isna(raw) else str(raw),
            "category": category,
            "label_source": "manual" if category else None,
            "images": json.dumps(images),
            "inspect_ok": _flag(md.get("sort_inspect")),
            "source": "ease2022",
        })
    if unknown:
        raise SourceInvalid(MANUAL, f"labels not in taxonomy/categories.yaml: {'; '.join(unknown[:5])}")
    return pd.DataFrame(rows)


def build_funnel(sheets: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """The funnel: sheet counts, with the inclusion criteria recomputed from ``initial``."""
    rows: list[dict[str, Any]] = []

    def add(step: str, desc: str, count: int, source: str) -> None:
        prev = rows[-1]["count"] if rows else None
        # the 405 set is a sibling of the 406 set, not a further step
        if step == "filtered2":
            prev = rows[-2]["count"]
        rows.append({"order": len(rows) + 1, "step": step, "description": desc, "count": count,
                     "removed": None if prev is None else prev - count,
                     "source": source})

    init = sheets["initial"]
    num = {c: pd.to_numeric(init[c], errors="coerce") for c in ("commits", "releases", "forks", "stars")}
    not_archived = init["archived"].map(lambda v: _flag(v) is False)
    for sheet, desc in FUNNEL_SHEETS:
        if sheet == "100commits":
            keep = num["commits"] >= 100
            add("commits>=100", desc, int(keep.sum()), "recomputed from sheet initial")
            _check(sheet, int(keep.sum()), len(sheets[sheet]))
        elif sheet == "1release":
            keep = (num["commits"] >= 100) & (num["releases"] >= 1)
            add("releases>=1", desc, int(keep.sum()), "recomputed from sheet initial")
            _check(sheet, int(keep.sum()), len(sheets[sheet]))
            keep = keep & (num["forks"] >= 1) & (num["stars"] >= 1)
            add("forks>=1,stars>=1", "and at least one fork and one star", int(keep.sum()),
                "recomputed from sheet initial")
        elif sheet == "notarchived":
            keep = ((num["commits"] >= 100) & (num["releases"] >= 1) & (num["forks"] >= 1)
                    & (num["stars"] >= 1) & not_archived)
            add("not_archived", desc, int(keep.sum()), "recomputed from sheet initial")
            _check(sheet, int(keep.sum()), len(sheets[sheet]))
        else:
            add(sheet, desc, len(sheets[sheet]), f"rows of sheet {sheet}")
    return pd.DataFrame(rows)


def _check(sheet: str, ours: int, theirs: int) -> None:
    if ours != theirs:
        log.warning("funnel: recomputed %d repositories for sheet %s, which has %d", ours, sheet, theirs)


def build_purpose_text(manual: pd.DataFrame) -> pd.DataFrame:
    cols = {"What": "what", "When": "when", "MLcomponent": "mlcomponent", "Why": "why",
            "Maincomponent": "maincomponent", "purpose from documentation": "purpose_from_documentation",
            "Note": "note"}
    out = pd.DataFrame({"repo": manual["repos"].str.strip()})
    for src, dst in cols.items():
        out[dst] = manual[src].fillna("").astype(str).str.strip() if src in manual else ""
    return out


# --------------------------------------------------------------------------------------
# files: copied as found, kind by content (pipeline.core.sniff)
# --------------------------------------------------------------------------------------


@dataclass
class FoundFile:
    repo: str  # as on disk (surrogate escapes for bytes that are not UTF-8)
    path: str
    src: Path


def _dirs(folder: Path, repo: str) -> Iterator[tuple[str, Path] | FoundFile]:
    """The sub-folders of ``folder``; a symbolic link among them as a :class:`FoundFile`
    (recorded as an error, never walked into)."""
    for name in sorted(os.listdir(folder)):
        d = folder / name
        if d.is_symlink():
            yield FoundFile(repo or name, "", d)
        elif d.is_dir():
            yield name, d


def iter_log_files(pkg: Path) -> Iterator[FoundFile]:
    """Every entry under ``logs/<owner>/<repo>/latest/`` but folders, in a stable order.

    Links, FIFOs, sockets and devices are yielded too (:func:`build_files` records them as
    errors); a symbolic link to a folder is yielded (with path ``""`` at the owner and
    repository levels), never walked into.
    """
    for owner in _dirs(pkg / LOGS, ""):
        if isinstance(owner, FoundFile):
            yield owner
            continue
        for repo in _dirs(owner[1], owner[0]):
            if isinstance(repo, FoundFile):
                yield FoundFile(f"{owner[0]}/{repo.src.name}", "", repo.src)
                continue
            latest = repo[1] / "latest"
            if latest.is_symlink():
                yield FoundFile(f"{owner[0]}/{repo[0]}", "", latest)
            elif latest.is_dir():
                yield from _walk(latest, f"{owner[0]}/{repo[0]}")


def _walk(latest: Path, repo: str) -> Iterator[FoundFile]:
    for dirpath, dirnames, filenames in os.walk(latest):
        dirnames.sort()
        links = [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]
        dirnames[:] = [d for d in dirnames if d not in links]
        for fn in sorted(filenames + links):
            full = Path(dirpath) / fn
            yield FoundFile(repo, full.relative_to(latest).as_posix().lstrip("/"), full)


@dataclass
class FilesResult:
    table: pd.DataFrame
    #: (the bytes read and checked, raw_path on disk): the copy is these bytes, never a
    #: second read of a file that may have changed since (files.sha256 is theirs)
    copies: list[tuple[bytes, str]] = field(default_factory=list)


def _file_row(f: FoundFile, data: bytes, studied: set[str]) -> dict[str, Any]:
    repo, repo_esc = escape_name(f.repo)
    path, path_esc = escape_name(f.path)
    nm, kind, reason = classify_file(PurePosixPath(path).name, data)
    return {"repo": repo, "path": path, "raw_path": f"raw/files/{repo}/{path}", "size": len(data),
            "sha256": hashlib.sha256(data).hexdigest(), "name_match": nm, "kind": kind,
            "reason": reason, "in_study": f.repo in studied, "name_escaped": repo_esc or path_esc}


def build_files(pkg: Path, studied: set[str], errors: ErrorLog,
                progress: Progress = no_progress) -> FilesResult:
    """One row per regular file of the logs (read bounded); anything else is an error row."""
    rows = []
    copies: list[tuple[bytes, str]] = []
    found = list(iter_log_files(pkg))
    for f in track(found, progress, "ingest files", len(found), "file"):
        try:
            if not f.path:  # a linked owner, repository or latest/ folder
                raise UnsafeFile(f"symbolic link to {escape_name(os.readlink(f.src))[0]}, "
                                 "a linked folder; not followed")
            data = read_regular(f.src, MAX_FILE_BYTES, pkg)
        except OSError as exc:
            errors.add(str(f.src), exc, str(exc.strerror or exc))
            continue
        rows.append(_file_row(f, data, studied))
        copies.append((data, f"raw/files/{f.repo}/{f.path}"))
    return FilesResult(pd.DataFrame(rows, columns=list(FILES.column_names)), copies)


def _copy_raw_files(copies: list[tuple[bytes, str]], p: Paths, out: OutputSet) -> None:
    """Write the bytes read into a staged tree that replaces ``data/raw/files`` whole when
    the set commits."""
    tmp = out.stage_dir(p.raw_files)
    for data, raw_path in copies:
        dst = tmp / Path(raw_path).relative_to("raw/files")
        dst.parent.mkdir(parents=True, exist_ok=True)
        try:
            dst.write_bytes(data)
        except OSError as exc:
            if exc.errno == errno.ENOSPC:
                raise DiskFull(str(p.data / raw_path)) from exc
            raise


# --------------------------------------------------------------------------------------
# the stage
# --------------------------------------------------------------------------------------


@dataclass
class IngestResult:
    source: Source
    repos: pd.DataFrame
    funnel: pd.DataFrame
    files: pd.DataFrame
    purpose_text: pd.DataFrame
    errors: int

    def summary(self) -> str:
        labelled = int((self.repos["label_source"] == "manual").sum())
        kinds = self.files["kind"].value_counts().to_dict()
        kinds_s = ", ".join(f"{k} {v}" for k, v in sorted(kinds.items()))
        return (f"ingested {len(self.repos)} repositories ({labelled} labelled, "
                f"{len(self.repos) - labelled} unlabelled); {len(self.files)} files ({kinds_s}); "
                f"funnel {' -> '.join(str(c) for c in self.funnel['count'])}; {self.errors} errors")


def run(source: str | None, p: Paths, progress: Progress = no_progress,
        limits: ZipLimits | None = None) -> IngestResult:
    """Read and check the package at ``source``, then write the interim tables under ``p``."""
    src = resolve_source(source, p, progress, limits)
    pkg = src.package_dir
    log.info("reading the replication package at %s", pkg)
    cats = load_categories(p.taxonomy / "categories.yaml")
    manual, final, sheets = src.inputs.manual, src.inputs.final, src.inputs.sheets
    repos = build_repos(manual, final, sheets["filtered"], dict(cats.lookup))
    funnel = build_funnel(sheets)
    purpose_text = build_purpose_text(manual)
    errors = ErrorLog("ingest")
    files = build_files(pkg, set(repos["repo"]), errors, progress)
    rq4 = ingest_images.image_tables(pkg, final, cats)
    rq3 = ingest_sheets.sheet_tables(sheets, pkg / XLSX)

    # everything read: now write
    record = {"kind": src.kind, "source": src.source, "package_dir": str(pkg),
              "date": datetime.now(UTC).isoformat(timespec="seconds")}
    with output_set(p, "ingest") as out:  # one set: source.json lands last
        atomic_write_text(p.source_record, json.dumps(record, indent=2) + "\n")
        _copy_raw_files(files.copies, p, out)
        write_table(repos, "repos", p)
        write_table(funnel, "funnel", p)
        write_table(purpose_text, "purpose_text", p)
        write_table(files.table, "files", p)
        for name, df in {**rq4, **rq3}.items():
            write_table(df, name, p)
        errors.write(p)
    res = IngestResult(src, repos, funnel, files.table, purpose_text, len(errors))
    log.info(res.summary())
    return res

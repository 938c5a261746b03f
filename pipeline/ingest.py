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
from .core.sniff import classify_file
from .errors import DiskFull, SourceInvalid, SourceNotFound
from .outputs import OutputSet, output_set
from .progress import Progress, no_progress, track
from .tables import ErrorLog, atomic_write_text, read_package_csv, to_bool, write_table
from .taxonomy import load_categories, normalise_keyword

log = logging.getLogger(__name__)

XLSX = "RQ1/ML_Docker_repositories.xlsx"
MANUAL = "RQ1/manual-labeling.csv"
FINAL = "RQ1/final-dataset.csv"
LOGS = "raw-data/Dockerfiles/logs"
REQUIRED = (MANUAL, FINAL, XLSX, LOGS)

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
    """A resolved replication package."""

    package_dir: Path
    kind: str  # "directory", "zip", "url"
    source: str


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


def _check_package(pkg: Path, source: str) -> None:
    missing = [r for r in REQUIRED if not (pkg / r).exists()]
    if missing:
        raise SourceInvalid(source, f"not a complete replication package, missing {', '.join(missing)}")


def download(url: str, dest_dir: Path, progress: Progress = no_progress) -> Path:
    """Stream ``url`` into ``dest_dir`` (atomically) and return the file path."""
    import requests

    name = PurePosixPath(url.split("?")[0]).name or "package.zip"
    if not name.endswith(".zip"):
        name += ".zip"
    dest = dest_dir / name
    if dest.exists():
        log.info("using the earlier download %s", dest)
        return dest
    dest_dir.mkdir(parents=True, exist_ok=True)
    try:
        with requests.get(url, stream=True, timeout=60) as resp:
            resp.raise_for_status()
            total = int(resp.headers.get("content-length") or 0) or None
            fd, tmp = tempfile.mkstemp(dir=dest_dir, prefix=f".{name}.", suffix=".part")
            bar = progress(name, total, "B")
            try:
                with os.fdopen(fd, "wb") as fh:
                    for chunk in resp.iter_content(chunk_size=1 << 16):
                        fh.write(chunk)
                        bar.update(len(chunk))
                os.replace(tmp, dest)
            except BaseException:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(tmp)
                raise
            finally:
                bar.close()
    except requests.RequestException as exc:
        raise SourceInvalid(url, f"download failed ({exc.__class__.__name__}: {exc})") from exc
    return dest


def extract_zip(zpath: Path, dest_root: Path) -> Path:
    """Extract a package zip under ``dest_root/<zip stem>/`` (once) and return Datasets/."""
    target = dest_root / zpath.stem
    if target.is_dir() and (found := _find_datasets(target)) is not None:
        return found
    try:
        zf = zipfile.ZipFile(zpath)
    except (zipfile.BadZipFile, OSError) as exc:
        raise SourceInvalid(str(zpath), f"not a readable zip file ({exc})") from exc
    with zf:
        names = zf.namelist()
        if not any("/Datasets/RQ1/" in f"/{n}" for n in names):
            raise SourceInvalid(str(zpath), "zip has no Datasets/RQ1/ folder")
        dest_root.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{zpath.stem}.", dir=dest_root))
        try:
            for info in zf.infolist():
                parts = PurePosixPath(info.filename).parts
                if info.filename.startswith("/") or ".." in parts:
                    raise SourceInvalid(str(zpath), f"unsafe path in zip: {info.filename!r}")
                zf.extract(info, tmp)
            if target.exists():
                shutil.rmtree(target)
            os.replace(tmp, target)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    found = _find_datasets(target)
    if found is None:
        raise SourceInvalid(str(zpath), "zip has no Datasets/RQ1/ folder")
    return found


def resolve_source(source: str | None, p: Paths, progress: Progress = no_progress) -> Source:
    """Turn ``--from`` (or the defaults) into a checked :class:`Source`."""
    if not source:
        tried = default_replication_candidates(p)
        for cand in tried:
            if cand.exists():
                return resolve_source(str(cand), p, progress)
        raise SourceNotFound([str(t) for t in tried])
    if source.startswith(("https://", "http://")):
        zpath = download(source, p.external, progress)
        pkg = extract_zip(zpath, p.external)
        _check_package(pkg, source)
        return Source(pkg.resolve(), "url", source)
    path = Path(source).expanduser()
    if not path.exists():
        raise SourceNotFound([str(path)], f"{path} does not exist")
    if path.is_file():
        if not zipfile.is_zipfile(path):
            raise SourceInvalid(source, "file is not a zip archive")
        pkg = extract_zip(path, p.external)
        _check_package(pkg, source)
        return Source(pkg.resolve(), "zip", str(path.resolve()))
    found = _find_datasets(path)
    if found is None:
        raise SourceInvalid(source, "no RQ1/ folder here nor in a Datasets/ folder below")
    _check_package(found, source)
    return Source(found.resolve(), "directory", str(path.resolve()))


# --------------------------------------------------------------------------------------
# reading the package, quirks included
# --------------------------------------------------------------------------------------


def read_sheets(xlsx: Path, sheets: list[str]) -> dict[str, pd.DataFrame]:
    try:
        raw = pd.read_excel(xlsx, sheet_name=sheets, dtype=str, engine="openpyxl")
    except ValueError as exc:
        raise SourceInvalid(str(xlsx), f"spreadsheet lacks an expected sheet ({exc})") from exc
    except (OSError, zipfile.BadZipFile, KeyError) as exc:
        raise SourceInvalid(str(xlsx), f"unreadable spreadsheet ({exc})") from exc
    return {k: v.dropna(how="all").reset_index(drop=True) for k, v in raw.items()}


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
    repo: str
    path: str
    src: Path


def iter_log_files(pkg: Path) -> Iterator[FoundFile]:
    """Every file under ``logs/<owner>/<repo>/latest/``, in a stable order."""
    base = pkg / LOGS
    for owner in sorted(os.listdir(base)):
        odir = base / owner
        if not odir.is_dir():
            continue
        for name in sorted(os.listdir(odir)):
            latest = odir / name / "latest"
            if not latest.is_dir():
                continue
            for dirpath, dirnames, filenames in os.walk(latest):
                dirnames.sort()
                for fn in sorted(filenames):
                    full = Path(dirpath) / fn
                    rel = full.relative_to(latest).as_posix().lstrip("/")
                    yield FoundFile(f"{owner}/{name}", rel, full)


@dataclass
class FilesResult:
    table: pd.DataFrame
    copies: list[tuple[Path, str]] = field(default_factory=list)  # (source, raw_path)


def build_files(pkg: Path, studied: set[str], errors: ErrorLog,
                progress: Progress = no_progress) -> FilesResult:
    rows = []
    copies: list[tuple[Path, str]] = []
    found = list(iter_log_files(pkg))
    for f in track(found, progress, "ingest files", len(found), "file"):
        try:
            data = f.src.read_bytes()
        except OSError as exc:
            errors.add(str(f.src), exc, f"cannot read {f.src}: {exc}")
            continue
        nm, kind, reason = classify_file(PurePosixPath(f.path).name, data)
        raw_path = f"raw/files/{f.repo}/{f.path}"
        rows.append({
            "repo": f.repo, "path": f.path, "raw_path": raw_path, "size": len(data),
            "sha256": hashlib.sha256(data).hexdigest(), "name_match": nm, "kind": kind,
            "reason": reason, "in_study": f.repo in studied,
        })
        copies.append((f.src, raw_path))
    return FilesResult(pd.DataFrame(rows), copies)


def _copy_raw_files(copies: list[tuple[Path, str]], p: Paths, out: OutputSet) -> None:
    """Copy into a staged tree that replaces ``data/raw/files`` whole when the set commits."""
    tmp = out.stage_dir(p.raw_files)
    for src, raw_path in copies:
        dst = tmp / Path(raw_path).relative_to("raw/files")
        dst.parent.mkdir(parents=True, exist_ok=True)
        try:
            shutil.copyfile(src, dst)
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


def run(source: str | None, p: Paths, progress: Progress = no_progress) -> IngestResult:
    """Read the package at ``source`` and write the interim tables under ``p``."""
    src = resolve_source(source, p, progress)
    pkg = src.package_dir
    log.info("reading the replication package at %s", pkg)
    cats = load_categories(p.taxonomy / "categories.yaml")
    mapping = dict(cats.lookup)
    manual = read_package_csv(pkg / MANUAL)
    final = read_package_csv(pkg / FINAL)
    for df, col, name in ((manual, "repos", MANUAL), (final, "Repos", FINAL)):
        if col not in df.columns:
            raise SourceInvalid(str(pkg / name), f"no {col!r} column")
        df.dropna(subset=[col], inplace=True)
    sheets = read_sheets(pkg / XLSX, [s for s, _ in FUNNEL_SHEETS] + list(ingest_sheets.SHEETS))
    repos = build_repos(manual, final, sheets["filtered"], mapping)
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

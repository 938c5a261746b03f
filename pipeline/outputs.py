"""A stage's outputs as one set: staged, then committed by a journal, or not at all.

While :func:`output_set` is open, every write through :func:`pipeline.tables.atomic_path`
to a path under the project root goes to its mirror under
``data/.staging/<stage>/files/`` instead (caches and downloads, ``data/cache`` and
``data/external``, are written in place: a killed download resumes from them).  The set
is handed to worker processes and notebook kernels through ``$MLDOCK_STAGING``.

Commit: the staged paths are listed in ``journal.json`` (written to a temporary file,
fsynced and renamed: it exists complete or not at all), then each is renamed over its
target: replaced folders first, then files, then ``.meta.json`` sidecars, ``source.json``
last.  At the next start of any stage, a complete journal is rolled forward (a rename
already done is skipped), a staging folder without one is discarded, and the temporary
files a killed run left (``.<name>.XXXXXXXX.tmp``, ``data/raw/.files.*``) are removed.
An error before the journal leaves every previous output as it was.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import json
import logging
import os
import re
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Concatenate, ParamSpec, TypeVar

from .config import Paths
from .errors import DiskFull

log = logging.getLogger(__name__)

STAGING_ENV = "MLDOCK_STAGING"
#: folders under the root whose files are written in place, never staged
IN_PLACE = (("data", "cache"), ("data", "external"), ("data", ".staging"))
_STALE_FILE = re.compile(r"^\..+\.[a-z0-9_]{8}\.tmp$")  # tempfile.mkstemp in atomic_path
_STALE_RAW = re.compile(r"^\.files\.([a-z0-9_]{8}|old)$")  # old ingest/collect raw swaps


def _open() -> tuple[Path, Path] | None:
    env = os.environ.get(STAGING_ENV)
    if not env:
        return None
    root, files = json.loads(env)
    return Path(root), Path(files)


def staged(target: Path) -> Path | None:
    """Where ``target`` is written while a set is open (its mirror in the staging folder);
    None without an open set or for a path the set does not hold."""
    cur = _open()
    if cur is None:
        return None
    root, files = cur
    try:
        rel = Path(os.path.abspath(target)).relative_to(root)
    except ValueError:
        return None
    if rel.parts[:2] in IN_PLACE or not rel.parts:
        return None
    return files / rel


def resolve(path: Path) -> Path:
    """The file to read for ``path``: its staged copy when this set wrote one."""
    s = staged(path)
    return s if s is not None and s.exists() else path


class OutputSet:
    """The staging folder of one stage's run; see the module docstring."""

    def __init__(self, p: Paths, stage: str) -> None:
        self.root = p.root
        self.dir = p.data / ".staging" / stage
        self.files = self.dir / "files"
        self.journal = self.dir / "journal.json"
        self.dirs: list[str] = []  # folders replaced whole (relative to the root)

    def stage_dir(self, target: Path) -> Path:
        """A fresh staged folder that replaces ``target`` whole on commit."""
        rel = Path(os.path.abspath(target)).relative_to(self.root)
        out = self.files / rel
        if out.exists():
            shutil.rmtree(out)
        out.mkdir(parents=True)
        self.dirs.append(rel.as_posix())
        return out

    def entries(self) -> list[str]:
        """Everything staged, in commit order (relative to the root)."""
        files: list[str] = []
        for dirpath, dirnames, names in os.walk(self.files):
            rel_dir = Path(dirpath).relative_to(self.files)
            dirnames[:] = [d for d in dirnames if (rel_dir / d).as_posix() not in self.dirs]
            files.extend((rel_dir / n).as_posix() for n in names)
        rank = {"meta": 1, "source": 2}

        def order(rel: str) -> tuple[int, str]:
            kind = ("source" if rel == "data/interim/source.json"
                    else "meta" if rel.endswith(".meta.json") else "")
            return rank.get(kind, 0), rel
        return sorted(self.dirs) + sorted(files, key=order)

    def commit(self) -> int:
        """Journal, then rename everything into place; returns the number of entries."""
        entries = self.entries()
        _fsync_tree(self.files)
        tmp = self.journal.with_suffix(".json.tmp")
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump({"dirs": sorted(self.dirs), "entries": entries}, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.journal)
        _fsync_dir(self.dir)
        roll_forward(self.root, self.dir)
        return len(entries)

    def target_of(self, path: str | None) -> str:
        """The target a staged path stands for (for messages)."""
        if not path:
            return str(self.dir)
        with contextlib.suppress(ValueError):
            return str(self.root / Path(path).relative_to(self.files))
        return path

    def discard(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)
        with contextlib.suppress(OSError):
            self.dir.parent.rmdir()


def roll_forward(root: Path, staging: Path) -> None:
    """Apply the complete journal in ``staging`` (idempotent), then drop the folder."""
    info = json.loads((staging / "journal.json").read_text(encoding="utf-8"))
    dirs = set(info["dirs"])
    for i, rel in enumerate(info["entries"]):
        src, dst = staging / "files" / rel, root / rel
        if not src.exists():
            continue  # renamed by an earlier attempt
        dst.parent.mkdir(parents=True, exist_ok=True)
        if rel in dirs:
            if dst.exists():
                trash = staging / "trash" / str(i)
                trash.parent.mkdir(parents=True, exist_ok=True)
                os.replace(dst, trash)
            os.replace(src, dst)
        else:
            _move_file(src, dst)
    for d in {(root / rel).parent for rel in info["entries"]}:
        _fsync_dir(d)
    shutil.rmtree(staging)
    with contextlib.suppress(OSError):
        staging.parent.rmdir()  # data/.staging, when no other stage has one


def _move_file(src: Path, dst: Path) -> None:
    try:
        os.replace(src, dst)
    except OSError as exc:
        if exc.errno != errno.EXDEV:  # reports/ on another filesystem than data/
            raise
        tmp = dst.with_name(f".{dst.name}.staged000.tmp")
        try:
            shutil.copyfile(src, tmp)
        except OSError as exc2:
            tmp.unlink(missing_ok=True)
            if exc2.errno == errno.ENOSPC:  # part of the set is replaced: the journal stays
                raise DiskFull(str(dst), committing=True) from exc2
            raise
        os.replace(tmp, dst)
        src.unlink()


def _fsync_dir(d: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(d, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _fsync_tree(top: Path) -> None:
    for dirpath, _dirs, _names in os.walk(top):
        _fsync_dir(Path(dirpath))


def recover(p: Paths, stage: str) -> None:
    """Roll forward every complete journal; discard ``stage``'s unfinished staging; remove
    the temporary files a killed run left."""
    base = p.data / ".staging"
    if base.is_dir():
        for d in sorted(base.iterdir()):
            if (d / "journal.json").exists():
                log.info("completing the interrupted commit of %s", d.name)
                roll_forward(p.root, d)
            elif d.name == stage:
                shutil.rmtree(d)
        with contextlib.suppress(OSError):
            base.rmdir()
    for top in (p.data, p.reports):
        for dirpath, dirnames, names in os.walk(top):
            here = Path(dirpath)
            if here == p.data:
                dirnames[:] = [d for d in dirnames if d != ".staging"]
            for n in names:
                if _STALE_FILE.match(n):
                    (here / n).unlink(missing_ok=True)
            if here == p.raw:
                for stale in [d for d in dirnames if _STALE_RAW.match(d)]:
                    shutil.rmtree(here / stale, ignore_errors=True)
                    dirnames.remove(stale)


_current: list[OutputSet] = []


@contextlib.contextmanager
def output_set(p: Paths, stage: str) -> Iterator[OutputSet]:
    """Stage every output of the block; commit them together when it ends without error."""
    if _current:  # already inside a set (one command running two stages): join it
        yield _current[-1]
        return
    recover(p, stage)
    s = OutputSet(p, stage)
    s.discard()
    s.files.mkdir(parents=True)
    os.environ[STAGING_ENV] = json.dumps([str(p.root), str(s.files)])
    _current.append(s)
    journalled = False
    try:
        yield s
        _close()
        journalled = True
        n = s.commit()
        log.debug("%s: committed %d outputs", stage, n)
    except BaseException as exc:
        _close()
        if not (journalled and s.journal.exists()):
            s.discard()
        if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
            raise DiskFull(s.target_of(exc.filename), committing=journalled and s.journal.exists()) from exc
        raise


def scratch_dir(name: str, p: Paths, stage: str) -> Path:
    """A fresh folder for a run's intermediate files (shards): inside the open set's
    staging folder, so never committed and removed with it (a killed run's at the next
    start); outside a set, under ``data/.staging/<stage>/scratch`` all the same."""
    base = _current[-1].dir if _current else p.data / ".staging" / stage
    out = base / "scratch" / name
    out.mkdir(parents=True, exist_ok=False)
    return out


def _close() -> None:
    os.environ.pop(STAGING_ENV, None)
    _current.clear()


P = ParamSpec("P")
R = TypeVar("R")


def writes_set(stage: str) -> Callable[[Callable[Concatenate[Paths, P], R]],
                                       Callable[Concatenate[Paths, P], R]]:
    """Decorate a stage's ``run(p, ...)``: everything it writes is one set."""
    def wrap(fn: Callable[Concatenate[Paths, P], R]) -> Callable[Concatenate[Paths, P], R]:
        @functools.wraps(fn)
        def run(p: Paths, /, *args: P.args, **kw: P.kwargs) -> R:
            with output_set(p, stage):
                return fn(p, *args, **kw)
        return run
    return wrap

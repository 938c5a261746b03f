"""kill -9 at an early, a middle and a late point of every stage, then a rerun: the same
bytes as an uninterrupted run (run-dependent provenance masked) and nothing left over.

One uninterrupted run of every stage (module fixture) gives each stage's outputs.  A test
copies that root, deletes the stage's outputs, starts the stage and SIGKILLs its process
group at a point read from the file system, three times (each run starting from what the
kill before left), then runs it to the end and compares.  The points: *early*, a
quarter of the stage's uninterrupted time; *middle*, half of its outputs staged in
``data/.staging/<stage>/``; *late*, the commit journal written (the renames may be done
before the kill lands: then the rerun replaces a complete set).
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from .conftest import REPO_ROOT, make_project

pytestmark = pytest.mark.slow

STAGES: dict[str, list[str]] = {
    "ingest": ["ingest", "--from", "{package}"],
    "parse": ["parse", "--mode", "both"],
    "classify": ["classify"],
    "images": ["images", "--replication"],
    "evolution": ["evolution"],
    "orchestration": ["orchestration"],
    "smells": ["smells"],
    "report": ["report"],
    "publish": ["publish"],
}
POINTS = ("early", "middle", "late")
CACHES = ("hadolint", "evolution")
_RUN_DEPENDENT = re.compile(rb'"(written_at|date|at|created)": "[^"]*"')


def _cmd(root: Path, stage: str, package: Path) -> list[str]:
    args = [a.format(package=package) for a in STAGES[stage]]
    return [sys.executable, "-m", "pipeline.cli", "--root", str(root), "-q", *args]


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in ("MLDOCK_HOME", "MLDOCK_STAGING")}


def _files(root: Path) -> dict[str, Path]:
    """Every file the stages write (data/ and reports/), by path relative to the root."""
    out: dict[str, Path] = {}
    for top in ("data", "reports"):
        for f in (root / top).rglob("*"):
            if f.is_file():
                out[f.relative_to(root).as_posix()] = f
    return out


def _masked(f: Path, *roots: Path) -> bytes:
    """The bytes of ``f`` with the roots (in commands, notebook outputs) and the times masked."""
    data = f.read_bytes()
    for root in roots:
        data = data.replace(str(root).encode(), b"ROOT")
    return _RUN_DEPENDENT.sub(rb'"\1": X', data)


@dataclass
class Reference:
    root: Path
    outputs: dict[str, list[str]]  # stage -> files it writes
    seconds: dict[str, float]


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory, shared_package: Path) -> Reference:
    root = make_project(tmp_path_factory.mktemp("kill") / "ref").root
    for cache in CACHES:  # content-addressed; the checkout's spares the reference a cold hadolint run
        if (REPO_ROOT / "data" / "cache" / cache).is_dir():
            shutil.copytree(REPO_ROOT / "data" / "cache" / cache, root / "data" / "cache" / cache)
    outputs: dict[str, list[str]] = {}
    seconds: dict[str, float] = {}
    before = {k: f.read_bytes() for k, f in _files(root).items()}  # the seeded caches
    for stage in STAGES:
        t0 = time.monotonic()
        r = subprocess.run(_cmd(root, stage, shared_package), cwd=REPO_ROOT, env=_env(),
                           capture_output=True, text=True)
        seconds[stage] = time.monotonic() - t0
        assert r.returncode == 0, r.stderr
        now = {k: f.read_bytes() for k, f in _files(root).items()}
        outputs[stage] = sorted(k for k, v in now.items() if before.get(k) != v)
        before = now
    return Reference(root, outputs, seconds)


def _staged_count(staging: Path) -> int:
    return sum(len(names) for _d, _s, names in os.walk(staging / "files"))


def _kill_at(proc: subprocess.Popen[bytes], point: str, staging: Path, half: int,
             seconds: float) -> bool:
    """SIGKILL the stage's process group at ``point``; True when it was still running."""
    deadline = time.monotonic() + 600
    t_early = time.monotonic() + seconds / 4
    t_count = 0.0  # counting thousands of staged files (ingest) every 2 ms would slow it
    while proc.poll() is None and time.monotonic() < deadline:
        now = time.monotonic()
        counted = point == "middle" and now >= t_count
        if counted:
            t_count = now + 0.02
        if ((point == "early" and now >= t_early)
                or (counted and _staged_count(staging) >= half)
                or (point == "late" and (staging / "journal.json").exists())):
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            return True
        time.sleep(0.002)
    proc.wait()
    return False


@pytest.mark.parametrize("stage", list(STAGES))
def test_kills_then_a_rerun_give_the_same_bytes(reference: Reference, shared_package: Path,
                                                tmp_path: Path, stage: str) -> None:
    """Killed at the early, then the middle, then the late point (each run starting from
    what the kill before left), then run to the end."""
    ref = reference
    root = tmp_path / "root"
    shutil.copytree(ref.root, root, symlinks=True)
    for rel in ref.outputs[stage]:
        (root / rel).unlink()
    staging = root / "data" / ".staging" / stage
    landed = []
    for point in POINTS:
        proc = subprocess.Popen(_cmd(root, stage, shared_package), cwd=REPO_ROOT, env=_env(),
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                start_new_session=True)
        killed = _kill_at(proc, point, staging, max(1, len(ref.outputs[stage]) // 2),
                          ref.seconds[stage])
        landed.append(f"{point}={'killed' if killed else 'finished'}")
        if point != "late":  # before the journal: nothing of the new set is in place
            assert killed and proc.returncode == -signal.SIGKILL
            assert [k for k in ref.outputs[stage] if (root / k).exists()] == []
    print(f"{stage}: {', '.join(landed)}")
    r = subprocess.run(_cmd(root, stage, shared_package), cwd=REPO_ROOT, env=_env(),
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    got, want = _files(root), _files(ref.root)
    assert sorted(got) == sorted(want)  # nothing missing, nothing left over
    changed = [k for k in ref.outputs[stage]
               if _masked(got[k], root, ref.root) != _masked(want[k], ref.root)]
    assert changed == []
    assert not (root / "data" / ".staging").exists()

"""Outputs as a set (pipeline.outputs): staging, the commit journal, recovery, a full disk,
the temporary files a killed run leaves, and bounded ARG/ENV substitution through parse."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest

from pipeline import outputs, parse
from pipeline.config import Paths
from pipeline.images.registry import RegistryClient
from pipeline.schemas import errors_table
from pipeline.tables import atomic_write_text, read_table, write_table
from tests.conftest import REPO_ROOT, make_project

MLDOCK = str(Path(sys.executable).with_name("mldock"))


def _frame() -> pd.DataFrame:
    return pd.DataFrame([{"step": "a", "description": "d", "count": 3, "removed": None,
                          "order": 1, "source": "s"}])


def test_a_set_lands_whole_source_json_last_and_an_error_keeps_the_old_set(tmp_path: Path) -> None:
    p = make_project(tmp_path / "r")
    write_table(_frame(), "funnel", p)
    before = p.table("interim", "funnel").read_bytes()
    with pytest.raises(RuntimeError), outputs.output_set(p, "ingest"):
        write_table(_frame().assign(count=4), "funnel", p)
        raise RuntimeError("stop")
    assert p.table("interim", "funnel").read_bytes() == before
    assert not (p.data / ".staging").exists()

    with outputs.output_set(p, "ingest") as s:
        outputs_before = s.entries()
        atomic_write_text(p.source_record, '{"kind": "old"}\n')
        write_table(_frame().assign(count=5), "funnel", p)
        atomic_write_text(p.source_record, '{"kind": "new"}\n')
        assert read_table("funnel", p)["count"].tolist() == [5]  # reads its own staged write
        assert p.table("interim", "funnel").read_bytes() == before  # not yet in place
        order = s.entries()
    assert outputs_before == []
    assert order == ["data/interim/funnel.csv", "data/interim/funnel.csv.meta.json",
                     "data/interim/source.json"]
    assert read_table("funnel", p)["count"].tolist() == [5]
    assert p.source_record.read_text() == '{"kind": "new"}\n'
    assert not (p.data / ".staging").exists()


def test_a_complete_journal_rolls_forward_an_incomplete_staging_is_discarded(tmp_path: Path) -> None:
    p = make_project(tmp_path / "r")
    s = outputs.OutputSet(p, "parse")
    for rel, text in (("data/processed/a.csv", "A"), ("data/processed/a.csv.meta.json", "M"),
                      ("reports/b.md", "B")):
        (s.files / rel).parent.mkdir(parents=True, exist_ok=True)
        (s.files / rel).write_text(text)
    entries = s.entries()
    assert entries == ["data/processed/a.csv", "reports/b.md", "data/processed/a.csv.meta.json"]
    s.journal.write_text(json.dumps({"dirs": [], "entries": entries}))
    # a kill after the first rename
    (p.processed).mkdir(parents=True)
    (s.files / entries[0]).rename(p.root / entries[0])
    stale = outputs.OutputSet(p, "report")
    (stale.files / "reports").mkdir(parents=True)
    (stale.files / "reports" / "half.md").write_text("half")
    outputs.recover(p, "report")
    assert [(p.root / e).read_text() for e in entries] == ["A", "B", "M"]
    assert not (p.data / ".staging").exists()


def test_stale_temporary_files_are_removed_when_a_stage_starts(tmp_path: Path) -> None:
    """kill -9 early in report left ``.figure5a_….pdf.*.tmp``; ingest left ``.files.*``."""
    p = make_project(tmp_path / "r")
    fig = p.reports / "figures" / ".figure5a_file_types_by_num.pdf.k2j4x_9q.tmp"
    tab = p.interim / ".repos.csv.abcdefgh.tmp"
    raw = p.raw / ".files.zz12ab_c"
    kept = [p.reports / "figures" / "figure5a_file_types_by_num.pdf", p.interim / ".gitkeep",
            p.raw / "files" / "o" / "r" / "Dockerfile"]
    for f in (fig, tab, raw / "o" / "Dockerfile", *kept):
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_text("x")
    with outputs.output_set(p, "report"):
        pass
    assert not fig.exists() and not tab.exists() and not raw.exists()
    assert all(f.read_text() == "x" for f in kept)


def test_partial_registry_downloads_are_removed_on_start(tmp_path: Path) -> None:
    """kill -9 during an image download left a ``.tmp-*`` in the registry cache."""
    blobs = tmp_path / "cache" / "blobs" / "sha256"
    blobs.mkdir(parents=True)
    (blobs / ".tmp-3kd9_x1").write_bytes(b"half a layer")
    (blobs / ".e3b0c442.q1w2e3r4.tmp").write_bytes(b"half a manifest")
    good = blobs / ("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    good.write_bytes(b"")
    RegistryClient(cache_dir=tmp_path / "cache")
    assert sorted(f.name for f in blobs.iterdir()) == [good.name]


# ------------------------------------------------------------------ bounded substitution

BOMB = ("FROM python:3.11\nENV A=x\n" + "ENV A=$A$A$A$A\n" * 40 + "RUN echo $A\n").encode()


def _bomb_root(tmp_path: Path, shared_package: Path) -> tuple[Path, bytes]:
    """A project with two files: the substitution bomb and a real Dockerfile of the package."""
    p = make_project(tmp_path / "bomb")
    real = shared_package / "raw-data/Dockerfiles/logs/1adrianb/face-alignment/latest/Dockerfile"
    data = real.read_bytes()
    rows = []
    for repo, body in (("bomb/bomb", BOMB), ("real/real", data)):
        f = p.raw_files / repo / "Dockerfile"
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_bytes(body)
        rows.append({"repo": repo, "path": "Dockerfile", "raw_path": f"raw/files/{repo}/Dockerfile",
                     "size": len(body), "sha256": "0" * 64, "name_match": "dockerfile",
                     "kind": "dockerfile", "reason": "", "in_study": True, "name_escaped": False})
    write_table(pd.DataFrame(rows), "files", p)
    return p.root, data


def test_runaway_substitution_is_one_error_row_and_bounded_memory(
        tmp_path: Path, shared_package: Path) -> None:
    root, real = _bomb_root(tmp_path, shared_package)
    inner = textwrap.dedent(f"""
        from pipeline import parse
        from pipeline.config import Paths
        from pathlib import Path
        parse.run(Paths(Path({str(root)!r})), ("corrected",), workers=1)
    """)
    # Linux keeps a process's peak RSS across fork and exec: parse runs as the child of a
    # small Python, whose RUSAGE_CHILDREN is then parse's own peak, not pytest's
    code = ("import resource, subprocess, sys; subprocess.run([sys.executable, '-c', "
            f"{inner!r}], check=True); "
            "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=REPO_ROOT, check=True)
    maxrss_kb = int(out.stdout.split()[-1])
    print(f"parse (bomb + one real file) peak memory: {maxrss_kb} KB")
    assert maxrss_kb < 400 * 1024, maxrss_kb  # without the bound: 3.3 GB (issue 12)
    p = make_project(root)
    errors = read_table(errors_table("parse"), p)
    assert errors.to_dict("records") == [{
        "stage": "parse", "item": "bomb/bomb/Dockerfile", "error_type": "ParseWarning",
        "message": "[corrected] " + "; ".join(
            f"line {n}: ENV expansion exceeds 1048576 characters; value left unexpanded"
            for n in range(12, 43))}]
    ins = read_table("instructions", p)
    bomb = ins[ins["repo"] == "bomb/bomb"]
    assert len(bomb) == 43 and bomb["instruction"].tolist().count("ENV") == 41
    # the real file's rows are those it gets alone
    alone = parse.dockerfile_rows(parse.FileJob("real/real", "Dockerfile", "0" * 64, "dockerfile", real),
                                  "corrected", parse.load_taxonomies(p.taxonomy))
    assert len(ins[ins["repo"] == "real/real"]) == len(alone["instructions"])


# ------------------------------------------------------------------ a real full disk

def _unshare_ok() -> bool:
    if not shutil.which("unshare"):
        return False
    r = subprocess.run(["unshare", "-rm", "sh", "-c", "mount -t tmpfs -o size=64k none /mnt"],
                       capture_output=True)
    return r.returncode == 0


needs_unshare = pytest.mark.skipif(not _unshare_ok(), reason=(
    "unshare -rm (a user+mount namespace to mount a small tmpfs) is not available here"))


def _full_disk_run(p_root: Path, args: list[str], slack_kb: int, tmp_path: Path
                   ) -> tuple[subprocess.CompletedProcess[str], Path]:
    """Run ``mldock args`` with ``data/`` on a tmpfs holding the current data plus
    ``slack_kb``; returns the result and a copy of data/ as the stage left it."""
    data = p_root / "data"
    used = int(subprocess.run(["du", "-sk", str(data)], capture_output=True, text=True,
                              check=True).stdout.split()[0])
    keep, after = tmp_path / "before", tmp_path / "after"
    shutil.copytree(data, keep, symlinks=True)
    script = (f"mount -t tmpfs -o size={used + slack_kb}k none {data} && cp -a {keep}/. {data}/ "
              f"&& {{ {MLDOCK} -q --root {p_root} {' '.join(args)}; rc=$?; "
              f"cp -a {data}/. {after}/; exit $rc; }}")
    after.mkdir()
    r = subprocess.run(["unshare", "-rm", "sh", "-c", script], capture_output=True, text=True)
    return r, keep


def _same_tree(a: Path, b: Path) -> list[str]:
    fa = {f.relative_to(a).as_posix(): f for f in a.rglob("*") if f.is_file()}
    fb = {f.relative_to(b).as_posix(): f for f in b.rglob("*") if f.is_file()}
    return sorted(set(fa) ^ set(fb)) + sorted(k for k in fa.keys() & fb.keys()
                                                 if fa[k].read_bytes() != fb[k].read_bytes())


@pytest.mark.slow
@needs_unshare
def test_a_full_disk_in_parse_is_one_line_and_keeps_the_previous_tables(
        tmp_path: Path, ingested: Paths) -> None:
    root = tmp_path / "root"
    p = make_project(root)
    shutil.copytree(ingested.data, p.data, symlinks=True)
    parse.run(p, parse.MODES)  # the previous good run
    r, before = _full_disk_run(root, ["parse", "--force"], 2048, tmp_path)
    assert r.returncode == 1, r.stderr
    lines = [ln for ln in r.stderr.splitlines() if ln.startswith("mldock")]
    assert len(lines) == 1 and lines[0].startswith(
        f"mldock: error: no space left on device while writing {p.processed}/"), lines
    assert lines[0].endswith("; free some space and rerun (the previous outputs are unchanged)")
    assert _same_tree(before, tmp_path / "after") == []


@pytest.mark.slow
@needs_unshare
def test_a_full_disk_in_ingest_keeps_source_json_and_the_previous_set(
        tmp_path: Path, ingested: Paths, shared_package: Path) -> None:
    root = tmp_path / "root"
    p = make_project(root)
    shutil.copytree(ingested.data, p.data, symlinks=True)
    r, before = _full_disk_run(root, ["ingest", "--from", str(shared_package)], 4096, tmp_path)
    assert r.returncode == 1, r.stderr
    lines = [ln for ln in r.stderr.splitlines() if ln.startswith("mldock")]
    assert len(lines) == 1 and lines[0].startswith(
        f"mldock: error: no space left on device while writing {p.data}/"), lines
    assert _same_tree(before, tmp_path / "after") == []


_COMMIT_ON_A_FULL_DISK = """
import sys
from pathlib import Path
from pipeline import outputs
from pipeline.config import Paths
from pipeline.errors import DiskFull
from pipeline.tables import atomic_write_text
p = Paths(Path(sys.argv[1]))
if sys.argv[2] == "run":
    try:
        with outputs.output_set(p, "report"):
            atomic_write_text(p.interim / "a.txt", "new\\n")
            atomic_write_text(p.reports / "big.md", "x" * 200_000)
    except DiskFull as exc:
        print(exc)
else:
    outputs.recover(p, "report")
print((p.interim / "a.txt").read_text().strip(), (p.reports / "big.md").stat().st_size
      if (p.reports / "big.md").exists() else 0)
"""


@needs_unshare
def test_a_full_disk_during_the_commit_says_the_next_run_completes_it(tmp_path: Path) -> None:
    """reports/ on another (full) filesystem: the commit's copy fails after data/ changed."""
    p = make_project(tmp_path / "r")
    p.interim.mkdir(parents=True)
    p.reports.mkdir()
    (p.interim / "a.txt").write_text("old\n")
    py = f"{sys.executable} -c '{_COMMIT_ON_A_FULL_DISK}' {p.root}"
    script = (f"mount -t tmpfs -o size=64k none {p.reports} && {py} run && "
              f"mount -o remount,size=1m none {p.reports} && {py} recover")
    r = subprocess.run(["unshare", "-rm", "sh", "-c", script], capture_output=True, text=True,
                       cwd=REPO_ROOT)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == [
        f"no space left on device while writing {p.reports / 'big.md'}; free some space and rerun "
        "(the commit completes at the next run)",
        "new 0",  # part of the set is in place ...
        "new 200000"]  # ... and the next start completes it

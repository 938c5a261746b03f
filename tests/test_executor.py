"""The executor seam: same bytes whatever the scheduler and partition size; retries and
poisoned items; the --scheduler values; parse --from-tar / --from-list on real files."""

from __future__ import annotations

import dataclasses
import io
import os
import sys
import tarfile
import time
from pathlib import Path

import pytest

from pipeline import executor, parse, parse_corpus
from pipeline.cli import main
from pipeline.errors import SchedulerError
from pipeline.executor import Scheduler, map_partitions
from tests.conftest import make_project

ARCHIVE = Path("raw-data/Dockerfiles/samples/dockerfiles.tar.gz")
SAMPLE = 2000


def _sample_tar(shared: Path, target: Path, n: int = SAMPLE, step: int = 15) -> None:
    """Every ``step``-th Dockerfile of the per-release corpus, ``n`` of them, as a .tar.gz."""
    with tarfile.open(shared / ARCHIVE) as src, tarfile.open(target, "w:gz") as dst:
        for i, m in enumerate(m for m in src if m.isfile()):
            if i % step == 0 and len(dst.getmembers()) < n:
                f = src.extractfile(m)
                assert f is not None
                dst.addfile(m, io.BytesIO(f.read()))


def _tables(folder: Path) -> dict[str, bytes]:
    return {f.name: f.read_bytes() for f in sorted(folder.glob("*.csv"))}


@pytest.mark.slow
def test_parse_is_byte_identical_whatever_the_scheduler_and_partition_size(
        tmp_path: Path, shared_package: Path) -> None:
    p = make_project(tmp_path / "root")
    archive = tmp_path / "sample.tar.gz"
    _sample_tar(shared_package, archive)
    runs = {"pool": (Scheduler("pool", 2), 1000), "inline-500": (Scheduler("pool", 1), 500),
            "local2-2000": (executor.scheduler("local:2"), 2000),
            "local2-500": (executor.scheduler("local:2"), 500)}
    out = {}
    for name, (sched, size) in runs.items():
        counts = parse_corpus.run(p, tmp_path / name, archive=archive, sched=sched,
                                  partition_size=size)
        assert counts["files"] == SAMPLE
        out[name] = _tables(tmp_path / name)
    first = out["pool"]
    assert set(first) == {f"{t}.csv" for t in parse_corpus.OUT_TABLES} | {"parse_errors.csv"}
    for name, tables in out.items():
        assert tables == first, name
    rows = first["dockerfiles.csv"].decode().splitlines()
    assert len(rows) == SAMPLE + 1
    assert rows[1].startswith("corrected,BVLC/caffe,Dockerfile_1.0,")


def test_from_list_cli_reads_real_files_and_names_a_missing_one(
        tmp_path: Path, shared_package: Path, caplog: pytest.LogCaptureFixture) -> None:
    make_project(tmp_path)
    with tarfile.open(shared_package / ARCHIVE) as src:
        for m in src:
            if m.isfile() and m.name.startswith("dockerfiles/BVLC/caffe/"):
                src.extract(m, tmp_path / "files", filter="data")
    top = tmp_path / "files" / "dockerfiles"
    found = sorted(top.rglob("Dockerfile*"))
    listing = top / "list.txt"
    listing.write_text("# the corpus\n" + "".join(f"{f.relative_to(top)}\n" for f in found)
                       + "BVLC/caffe/missing  # not there\n")
    rc = main(["-q", "--root", str(tmp_path), "parse", "--from-list", str(listing),
               "--out", str(tmp_path / "out"), "--force"])
    assert rc == 0
    assert ("--force has no effect with --from-tar/--from-list: a corpus is always parsed "
            "in full") in caplog.messages
    dockerfiles = (tmp_path / "out" / "dockerfiles.csv").read_text().splitlines()
    assert len(dockerfiles) == len(found) + 1
    assert all(r.split(",")[1] == "BVLC/caffe" for r in dockerfiles[1:])
    errors = (tmp_path / "out" / "parse_errors.csv").read_text().splitlines()
    assert len(errors) == 2 and "missing" in errors[1] and "FileNotFoundError" in errors[1]


def _half(items: list[int]) -> list[int]:
    if 13 in items:
        os._exit(3)  # a poisoned item kills its worker process
    return [i // 2 for i in items]


def test_a_worker_killing_item_becomes_one_poisoned_result_in_order() -> None:
    got = list(map_partitions(_half, list(range(40)), sched=Scheduler("pool", 2),
                              partition_size=7, retries=1,
                              poisoned=lambda item, exc: -item))
    assert got == [i // 2 if i != 13 else -13 for i in range(40)]


def _bad_and_killer(items: list[int]) -> list[int]:
    """Item 3 always raises; item 13 stops its worker 0.4 s in; the items of 0-6 alone
    take 0.15 s each, so the pool breaks while they run."""
    if 3 in items:
        raise ValueError("bad item")
    if 13 in items:
        time.sleep(0.4)
        os._exit(3)
    if len(items) == 1 and items[0] < 7:
        time.sleep(0.15)
    return [i * 10 for i in items]


def test_items_run_alone_survive_another_partition_that_kills_the_pool() -> None:
    got = list(map_partitions(_bad_and_killer, list(range(14)), sched=Scheduler("pool", 2),
                              partition_size=7, retries=0,
                              poisoned=lambda item, exc: executor.failure_code(exc)))
    assert got == [*(0, 10, 20, "ValueError", 40, 50, 60), *(i * 10 for i in range(7, 13)),
                   "WorkerFailed"]


_FLAKY = Path(os.environ.get("TMPDIR", "/tmp")) / f"mldock-flaky-{os.getpid()}"


def _flaky(items: list[int]) -> list[int]:
    """Fails the first time it sees item 0 (a marker file remembers), then works."""
    if 0 in items and not _FLAKY.exists():
        _FLAKY.touch()
        raise OSError("transient")
    return [i + 1 for i in items]


def test_a_failed_partition_is_retried() -> None:
    _FLAKY.unlink(missing_ok=True)
    try:
        got = list(map_partitions(_flaky, list(range(10)), sched=Scheduler("pool", 2),
                                  partition_size=3))
    finally:
        _FLAKY.unlink(missing_ok=True)
    assert got == list(range(1, 11))


def test_scheduler_values(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.delenv(executor.SCHEDULER_ENV, raising=False)
    assert executor.scheduler(None, 3) == Scheduler("pool", 3)
    assert executor.scheduler("local:4") == Scheduler("local", 4)
    assert executor.scheduler("tcp://h:8786").address == "tcp://h:8786"
    monkeypatch.setenv(executor.SCHEDULER_ENV, "local")
    assert executor.scheduler(None, 2) == Scheduler("local", 2)
    caplog.set_level("WARNING", "pipeline.executor")
    executor.scheduler("tcp://h:8786", 2)
    assert not caplog.messages
    executor.scheduler("tcp://h:8786", 4, workers_given=True)
    assert caplog.messages == ["--jobs is ignored with --scheduler tcp://h:8786: the cluster's "
                               "workers do the work"]
    with pytest.raises(SchedulerError, match="local:N"):
        executor.scheduler("local:x")


@pytest.mark.parametrize("stage", ["parse", "smells", "images --image alpine:3.19"])
def test_without_dask_a_scheduler_gives_the_install_line(
        stage: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    make_project(tmp_path)
    monkeypatch.setitem(sys.modules, "distributed", None)  # `import distributed` fails
    monkeypatch.setitem(sys.modules, "dask", None)
    rc = main(["-q", "--root", str(tmp_path), *stage.split(), "--scheduler", "local:2"])
    assert rc == 1
    assert capsys.readouterr().err == f"mldock: error: {executor.INSTALL_DASK}\n"
    with pytest.raises(SchedulerError, match="pip install 'mldock\\[dask\\]'"):
        executor.scheduler("tcp://h:8786")
    assert executor.scheduler("pool", 2) == Scheduler("pool", 2)


def test_shards_of_a_killed_run_never_reach_a_rerun(tmp_path: Path, shared_package: Path) -> None:
    p = make_project(tmp_path / "root")
    archive = tmp_path / "sample.tar.gz"
    _sample_tar(shared_package, archive, n=300, step=101)
    clean = parse_corpus.run(p, tmp_path / "clean", archive=archive, partition_size=40)
    assert not (p.data / ".staging").exists()  # shards go with the staging folder
    # what a run killed after its workers wrote shards leaves behind: a staging folder
    # without a journal, shards and a half-written table
    left = p.data / ".staging" / "parse" / "scratch" / "shards-killed"
    left.mkdir(parents=True)
    (left / "x.dockerfiles.csv").write_text("corrected,evil/repo,Dockerfile,0,0,0,0,ok,\n")
    (p.data / ".staging" / "parse" / "files").mkdir()
    again = parse_corpus.run(p, tmp_path / "again", archive=archive, partition_size=70,
                             sched=Scheduler("pool", 2))
    assert again == clean and clean["files"] == 300
    assert _tables(tmp_path / "again") == _tables(tmp_path / "clean")
    assert not left.exists()
    assert b"evil/repo" not in (tmp_path / "again" / "dockerfiles.csv").read_bytes()


def test_a_poisoned_item_is_merged_inline_in_item_order(tmp_path: Path, shared_package: Path) -> None:
    import pandas as pd

    from pipeline import parse, parse_shards
    from pipeline.tables import ErrorLog, write_table

    p = make_project(tmp_path / "root")
    archive = tmp_path / "sample.tar.gz"
    _sample_tar(shared_package, archive, n=6, step=997)
    items = parse_corpus.tar_items(archive, ("corrected",), p.data / "cache")
    tax = parse.load_taxonomies(p.taxonomy)
    run_ids = set(tax.run.ids)
    results = [parse.parse_item(i, tax) for i in items]
    boom = RuntimeError("worker died")
    folder = tmp_path / "shards"
    folder.mkdir()
    summaries = [*parse_shards.write_shards(str(folder), results[:3], run_ids),
                 parse_shards.poisoned(run_ids, items[3], boom),
                 *parse_shards.write_shards(str(folder), results[4:], run_ids)]
    out = tmp_path / "out"
    merged = parse_shards.merge(p, out, summaries, ErrorLog("parse"))
    expected = [*results[:3], parse.poisoned(items[3], boom), *results[4:]]
    rows, _ = parse.collect_rows(expected, ErrorLog("parse"))
    for name in parse_shards.ROW_TABLES:  # what write_table makes of the whole table
        frame = pd.DataFrame(rows[name], columns=parse_shards.SCHEMAS[name].column_names)
        ref = write_table(frame, name, p, path=tmp_path / "ref" / f"{name}.csv")
        assert (out / f"{name}.csv").read_bytes() == ref.read_bytes(), name
    assert merged.rows["dockerfiles"] == 6 and merged.read == 6
    assert (out / "dockerfiles.csv").read_text().splitlines()[4].split(",")[7] == "error"
    assert not list(folder.iterdir())  # merged shards are removed


@dataclasses.dataclass(frozen=True, order=True)
class _KillingItem(parse.WorkItem):
    """A work item whose read stops the worker process (as a segfault or the OOM killer)."""

    def read(self) -> bytes:
        os._exit(3)


@pytest.mark.slow
def test_a_poisoned_file_gives_the_same_bytes_on_the_pool_and_on_dask(
        tmp_path: Path, shared_package: Path) -> None:
    from pipeline import parse_shards
    from pipeline.tables import ErrorLog

    p = make_project(tmp_path / "root")
    archive = tmp_path / "sample.tar.gz"
    _sample_tar(shared_package, archive, n=5, step=997)
    items = parse_corpus.tar_items(archive, ("corrected",), p.data / "cache")
    bad = _KillingItem(*dataclasses.astuple(items[2]))
    items = [*items[:2], bad, *items[3:]]
    out: dict[str, dict[str, bytes]] = {}
    for name, sched in {"pool": Scheduler("pool", 2), "local1": executor.scheduler("local:1")}.items():
        errors = ErrorLog("parse")
        parse_shards.run_sharded(p, tmp_path / name, items, errors, sched, partition_size=2)
        out[name] = {**_tables(tmp_path / name), "errors": repr(errors.rows).encode()}
    assert out["pool"] == out["local1"]
    row = out["pool"]["dockerfiles.csv"].decode().splitlines()[3]
    assert row.endswith(f",error,{bad.repo}/{bad.path}: the file stopped its worker (WorkerFailed)")
    assert b"the file stopped its worker (WorkerFailed)" in out["pool"]["errors"]


def _profiling(dask_worker: object) -> bool:
    import dask

    return bool(dask.config.get("distributed.worker.profile.enabled"))


def test_the_local_cluster_runs_its_workers_without_the_profiler() -> None:
    cluster = executor._local_cluster(1)
    try:
        from distributed import Client

        with Client(cluster) as client:
            assert list(client.run(_profiling).values()) == [False]
    finally:
        cluster.close()


def _plus_one(items: list[int]) -> list[int]:
    return [i + 1 for i in items]


def test_a_local_cluster_keeps_a_worker_that_is_away_when_dask_would_give_it_up(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Dask's LocalCluster closes a worker's nanny when the worker is away (restarting after
    a file killed it) ``lost-worker-timeout`` after an earlier loss; then no worker is left
    and the stage waited for ever.  With a timeout of 0 that is certain; mldock's cluster
    keeps its nanny, and the next partition runs on the restarted worker."""
    import dask
    import distributed  # noqa: F401  (its defaults loaded before the config is set)

    monkeypatch.setattr(executor, "NO_WORKER_GRACE", 30.0)
    monkeypatch.setattr(executor, "_POLL", 0.5)
    with dask.config.set({"distributed.deploy.lost-worker-timeout": "0s"}):
        backend = executor._Dask(Scheduler("local", 1), retries=0)
        try:
            pid = next(iter(backend.client.run(os.getpid).values()))
            os.kill(pid, 9)
            assert backend.submit(_plus_one, [1, 2]).result() == [2, 3]
            assert next(iter(backend.client.run(os.getpid).values())) != pid
        finally:
            backend.close()
        assert dask.config.get("distributed.deploy.lost-worker-timeout") == "0s"


def test_a_local_cluster_without_workers_stops_the_stage_instead_of_waiting(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(executor, "NO_WORKER_GRACE", 1.0)
    monkeypatch.setattr(executor, "_POLL", 0.25)
    real = executor._local_cluster

    def workerless(workers: int) -> object:
        cluster = real(workers)
        cluster.scale(0)
        return cluster

    monkeypatch.setattr(executor, "_local_cluster", workerless)
    got = map_partitions(_plus_one, list(range(4)), sched=Scheduler("local", 1),
                         partition_size=2, poisoned=lambda item, exc: -1)
    with pytest.raises(SchedulerError, match=r"^the Dask LocalCluster has had no worker for "
                       r"\d+ s \(its worker processes could not be restarted\); rerun"):
        list(got)

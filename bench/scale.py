"""Benchmark: the parse work through the executor seam -- process pool vs Dask LocalCluster,
and a synthetic corpus of up to a million files.

1. The 31,594 per-release Dockerfiles (``raw-data/Dockerfiles/samples/dockerfiles.tar.gz``)
   parsed into tables as ``mldock parse --from-tar`` does (:func:`pipeline.parse_corpus.run`:
   tasks = archive members, workers write shards, the client merges them; the archive is
   decompressed into the cache and its members listed once, before the timed runs, and
   mldock's modules are imported before each run's clock starts) on: the process pool with 1
   and 2 workers, and a LocalCluster with 1 and 2 workers (start-up included).  Each run is a
   child process; its wall time, CPU time (all its processes; the honest figure on a
   shared machine) and peak RSS (the client's own + the largest worker's) are printed, with the scaling efficiency t1 / (2 * t2) of each scheduler.  Targets:
   LocalCluster(2) within 1.2x the pool(2), efficiency >= 0.8.
2. A synthetic corpus of N files (default 100,000 and 1,000,000; ``MLDOCK_BENCH_SCALE_N``
   ``=100000,300000`` changes them): item ``i`` is real file ``i mod 31,594`` with two cheap
   deterministic mutations (a ``LABEL`` line naming ``i`` and, for odd ``i``, its first
   ``FROM`` tag changed), so every content is new to the parse cache.  The tasks carry only
   ``i``; each worker reads the archive once.  Parsed on a 2-worker LocalCluster; prints
   files per second and peak RSS; target: peak RSS of the largest N <= 1.2x the smallest.
   The same corpus is also written as tables through shards (:mod:`pipeline.parse_shards`;
   ``MLDOCK_BENCH_WRITTEN_N``, default ``30000,100000``: the tables take ~6 KiB a file).

Rows are counted, not kept: the bench measures the parallel parse, not the table writer.
``python -m bench scale`` runs it; ``python -m bench.scale --one SPEC`` runs one child.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import resource
import subprocess
import sys
import tarfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
ARCHIVE_REL = Path("raw-data/Dockerfiles/samples/dockerfiles.tar.gz")
LOCAL_TARGET = 1.2
EFFICIENCY_TARGET = 0.8
MEM_TARGET = 1.2


def archive_path() -> Path:
    env = os.environ.get("MLDOCK_REPLICATION")
    return (Path(env) if env else ROOT.parent / "shared" / "ease2022") / ARCHIVE_REL


_REAL: list[bytes] = []


def synthetic_partition(archive: str, taxonomy: str, items: list[int]) -> list[int]:
    """Parse the synthetic files ``items``; one row count per item."""
    return [sum(len(v) for v in r.values()) for r in _synthetic_results(archive, taxonomy, items)]


def synthetic_shards(archive: str, taxonomy: str, folder: str, items: list[int]) -> list[Any]:
    """Parse the synthetic files ``items`` into shards (:mod:`pipeline.parse_shards`)."""
    from pipeline import parse, parse_shards

    results = _synthetic_results(archive, taxonomy, items)
    return parse_shards.write_shards(folder, results, set(parse._taxonomies(taxonomy).run.ids))


def _synthetic_results(archive: str, taxonomy: str, items: list[int]) -> list[dict[str, Any]]:
    from pipeline import parse

    if not _REAL:
        with tarfile.open(archive) as tf:
            for m in tf:
                f = tf.extractfile(m) if m.isfile() else None
                if f is not None:
                    _REAL.append(f.read())
    tax = parse._taxonomies(taxonomy)
    out = []
    for i in items:
        data = _REAL[i % len(_REAL)] + f"\nLABEL org.mldock.synthetic={i}\n".encode()
        if i % 2:
            data = data.replace(b":latest", b":synthetic", 1)
        out.append(parse.dockerfile_rows(parse.FileJob("synthetic", f"{i:09d}", "", "dockerfile", data),
                                         "corrected", tax))
    return out


def one(spec: dict[str, Any]) -> dict[str, Any]:
    """One measured run (in this process): see the module docstring."""
    from pipeline import executor, parse_corpus  # noqa: F401  (imported before the clock starts)

    sched = executor.scheduler(spec["scheduler"], spec["workers"])
    tax = str(ROOT / "taxonomy")
    t0 = time.perf_counter()
    if spec["kind"] == "corpus":
        rows, files = _corpus(sched)
    elif spec["kind"] == "synthetic":
        fn = functools.partial(synthetic_partition, str(archive_path()), tax)
        files = spec["n"]
        rows = sum(executor.map_partitions(fn, range(files), sched=sched, partition_size=2000))
    else:  # synthetic, written: shards merged into the tables (pipeline.parse_shards)
        rows, files = _sharded(spec, sched, tax)
    wall = time.perf_counter() - t0
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime
    return {"wall": wall, "cpu": cpu, "files": files, "rows": rows,
            "rss_mb": (own.ru_maxrss + kids.ru_maxrss) / 1024}


def _corpus(sched: Any) -> tuple[int, int]:
    """The per-release corpus as ``mldock parse --from-tar`` parses it (tables through
    shards, in a scratch folder); returns (rows, files)."""
    import tempfile

    from pipeline import parse_corpus, parse_shards
    from pipeline.config import Paths

    logging.getLogger("pipeline.tables").setLevel(logging.ERROR)
    with tempfile.TemporaryDirectory(prefix="mldock-bench-corpus-") as tmp:
        counts = parse_corpus.run(Paths(ROOT), Path(tmp), archive=archive_path(), sched=sched)
    return sum(counts[n] for n in parse_shards.ROW_TABLES), counts["files"]


def _sharded(spec: dict[str, Any], sched: Any, tax: str) -> tuple[int, int]:
    """The synthetic corpus written as tables through shards; returns (rows, files)."""
    import tempfile

    from pipeline import executor, parse_shards
    from pipeline.config import Paths
    from pipeline.tables import ErrorLog

    logging.getLogger("pipeline.tables").setLevel(logging.ERROR)  # the error rows are counted
    with tempfile.TemporaryDirectory(prefix="mldock-bench-shards-") as tmp:
        folder = Path(tmp) / "shards"
        folder.mkdir()
        fn = functools.partial(synthetic_shards, str(archive_path()), tax, str(folder))
        results = executor.map_partitions(fn, range(spec["n"]), sched=sched, partition_size=1000)
        merged = parse_shards.merge(Paths(ROOT), Path(tmp), results, ErrorLog("parse"))
        size = sum(f.stat().st_size for f in Path(tmp).glob("*.csv"))
        print(f"tables: {size / 2**20:.0f} MiB", file=sys.stderr)
    return sum(merged.rows.values()), merged.read


def _child(spec: dict[str, Any]) -> dict[str, Any]:
    out = subprocess.run([sys.executable, "-m", "bench.scale", "--one", json.dumps(spec)],
                         cwd=ROOT, capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"bench child {spec} failed: {out.stderr[-2000:]}")
    res: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return res


def main() -> int:
    from pipeline import parse_corpus

    ok = True
    cache = ROOT / "data" / "cache"  # decompressed and its members listed once, untimed
    parse_corpus.members(parse_corpus.uncompressed(archive_path(), cache), cache)
    runs = {}
    print(f"{'run':<22}{'files':>10}{'wall s':>9}{'cpu s':>8}{'files/s':>10}{'peak RSS MiB':>14}")
    for name, sched, w in (("pool 1", "pool", 1), ("pool 2", "pool", 2),
                           ("LocalCluster 1", "local:1", 1), ("LocalCluster 2", "local:2", 2)):
        r = runs[name] = _child({"kind": "corpus", "scheduler": sched, "workers": w})
        print(f"{name:<22}{r['files']:>10}{r['wall']:>9.2f}{r['cpu']:>8.1f}{r['files'] / r['wall']:>10.0f}"
              f"{r['rss_mb']:>14.0f}")
    assert len({r["rows"] for r in runs.values()}) == 1, "the schedulers disagree on the rows"
    local_ratio = runs["LocalCluster 2"]["wall"] / runs["pool 2"]["wall"]
    eff_pool = runs["pool 1"]["wall"] / (2 * runs["pool 2"]["wall"])
    eff_local = runs["LocalCluster 1"]["wall"] / (2 * runs["LocalCluster 2"]["wall"])
    print(f"LocalCluster(2) / pool(2): {local_ratio:.2f} (target <= {LOCAL_TARGET})")
    print(f"scaling efficiency: pool {eff_pool:.2f}, LocalCluster {eff_local:.2f} "
          f"(target >= {EFFICIENCY_TARGET})")
    ok &= local_ratio <= LOCAL_TARGET and min(eff_pool, eff_local) >= EFFICIENCY_TARGET
    sizes = [int(n) for n in os.environ.get("MLDOCK_BENCH_SCALE_N", "100000,1000000").split(",")]
    synth = {}
    for n in sizes:
        r = synth[n] = _child({"kind": "synthetic", "scheduler": "local:2", "workers": 2, "n": n})
        print(f"{'synthetic ' + format(n, ','):<22}{n:>10}{r['wall']:>9.1f}{r['cpu']:>8.1f}"
              f"{n / r['wall']:>10.0f}{r['rss_mb']:>14.0f}")
    written = [int(n) for n in os.environ.get("MLDOCK_BENCH_WRITTEN_N", "30000,100000").split(",")]
    for n in written:  # the tables are written (~6 KiB a file): sizes of their own
        r = synth[-n] = _child({"kind": "written", "scheduler": "local:2", "workers": 2, "n": n})
        print(f"{'written ' + format(n, ','):<22}{n:>10}{r['wall']:>9.1f}{r['cpu']:>8.1f}"
              f"{n / r['wall']:>10.0f}{r['rss_mb']:>14.0f}")
    mem = max(synth[max(sizes)]["rss_mb"] / synth[min(sizes)]["rss_mb"],
              synth[-max(written)]["rss_mb"] / synth[-min(written)]["rss_mb"])
    print(f"peak RSS {max(sizes):,} / {min(sizes):,} files: {mem:.2f} (target <= {MEM_TARGET})")
    ok &= mem <= MEM_TARGET
    print("scale bench:", "OK" if ok else "BELOW TARGET")
    return 0 if ok else 1


if __name__ == "__main__":  # pragma: no cover
    if sys.argv[1:2] == ["--one"]:
        # run through the importable module: a function of ``__main__`` is pickled by
        # value, with a fresh copy of its globals (the cached real files) in every task
        from bench import scale

        print(json.dumps(scale.one(json.loads(sys.argv[2]))))
        sys.exit(0)
    sys.exit(main())

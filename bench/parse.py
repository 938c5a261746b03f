"""Benchmark: the parse stage core vs a bare dockerfile-parse loop, same files, same run.

Reads the 31,594 per-release Dockerfiles of ``raw-data/Dockerfiles/samples/dockerfiles.tar.gz``
straight from the archive (tarfile, into memory, not timed), then times in separate child
processes (so each peak RSS is its own):

- ``baseline``: ``DockerfileParser(fileobj=...).structure`` for every file, one process;
- ``ours``: :func:`pipeline.parse.dockerfile_rows` (decode, parse, stages, base images and
  types, RUN commands and categories, table rows) for every file, on 2 worker processes
  (fork; each worker takes every other file), corrected mode, then both modes, then
  corrected mode with the per-process content cache cleared before every file (the cost
  when no two files are identical).

Prints wall time, peak memory and the ratios ours / baseline.  Targets: corrected mode with
the content cache <= 1.0x the baseline's wall time, without it <= 1.5x; memory <= 2.0x.

Memory: the baseline's peak RSS against ours = the parent's peak RSS + each worker's private
memory (``Private_Clean + Private_Dirty`` of ``/proc/self/smaps_rollup`` when it finishes).
Summing the workers' RSS instead would count the archive and the imported modules, which the
forked workers share copy-on-write with the parent, three times; that sum is printed too.
The parent imports the pipeline before forking so the workers share the code as well.
``python -m bench parse`` runs it; ``python -m bench.parse --one <name>`` runs one child.
"""

from __future__ import annotations

import io
import json
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
TARGETS = {"ours": 1.0, "ours-nocache": 1.5}
MEM_TARGET = 2.0
WORKERS = 2

class _Archive:
    """The files as one bytes blob + offsets: forked workers then share the pages (a list of
    bytes objects would be copied page by page as the workers touch their refcounts)."""

    def __init__(self) -> None:
        self.blob = bytearray()
        self.offsets: Any = [0]
        self.names: list[str] = []

    def __len__(self) -> int:
        return len(self.names)

    def file(self, i: int) -> bytes:
        return bytes(self.blob[self.offsets[i]:self.offsets[i + 1]])

    def fill(self, path: Path) -> None:
        """Read every regular file of the tar archive at ``path`` into the blob."""
        import array

        blob = bytearray()
        offs = array.array("q", [0])
        with tarfile.open(path) as tf:
            for m in tf:
                f = tf.extractfile(m) if m.isfile() else None
                if f is not None:
                    blob += f.read()
                    offs.append(len(blob))
                    self.names.append(m.name)
        self.blob, self.offsets = blob, offs


_DATA = _Archive()


def archive_path() -> Path:
    env = os.environ.get("MLDOCK_REPLICATION")
    base = Path(env) if env else ROOT.parent / "shared" / "ease2022"
    return base / ARCHIVE_REL


def _maxrss_mb(who: int) -> float:
    return resource.getrusage(who).ru_maxrss / 1024  # Linux: KiB


def run_baseline() -> dict[str, Any]:
    from dockerfile_parse import DockerfileParser

    t0 = time.perf_counter()
    n = 0
    for i in range(len(_DATA)):
        data = _DATA.file(i)
        n += len(DockerfileParser(fileobj=io.BytesIO(data)).structure)
    return {"wall": time.perf_counter() - t0, "instructions": n}


def _private_mb() -> float:
    """This process's private (unshared) memory in MB; 0 where smaps_rollup is missing."""
    try:
        text = Path("/proc/self/smaps_rollup").read_text()
    except OSError:
        return 0.0
    kb = sum(int(line.split()[1]) for line in text.splitlines()
             if line.startswith(("Private_Clean:", "Private_Dirty:")))
    return kb / 1024


def _worker(args: tuple[int, tuple[str, ...], bool]) -> tuple[int, int, int, float, float]:
    from pipeline import parse

    start, modes, nocache = args
    tax = parse.load_taxonomies(ROOT / "taxonomy")
    n_ins = n_cmd = n_err = 0
    for i in range(start, len(_DATA), WORKERS):
        name, data = _DATA.names[i], _DATA.file(i)
        job = parse.FileJob("bench/samples", name, "", "dockerfile", data)
        for mode in modes:
            if nocache:
                parse._CACHE.clear()
            out = parse.dockerfile_rows(job, mode, tax)
            n_ins += len(out["instructions"])
            n_cmd += len(out["run_commands"])
            n_err += out["dockerfiles"][0]["parse_status"] == "error"
    return n_ins, n_cmd, n_err, _maxrss_mb(resource.RUSAGE_SELF), _private_mb()


def run_ours(modes: tuple[str, ...], nocache: bool) -> dict[str, Any]:
    import gc
    import multiprocessing as mp

    import bashlex  # type: ignore[import-untyped]  # noqa: F401 -- loaded before the fork, shared

    from pipeline import parse

    parse.load_taxonomies(ROOT / "taxonomy")  # imports done before the fork: shared pages
    gc.freeze()  # the workers' garbage collector then leaves the shared objects' pages alone
    ctx = mp.get_context("fork")  # workers share the loaded archive copy-on-write
    t0 = time.perf_counter()
    with ctx.Pool(WORKERS) as pool:
        res = pool.map(_worker, [(w, modes, nocache) for w in range(WORKERS)])
    wall = time.perf_counter() - t0
    return {"wall": wall, "instructions": sum(r[0] for r in res),
            "run_commands": sum(r[1] for r in res), "errors": sum(r[2] for r in res),
            "worker_rss_mb": [round(r[3], 1) for r in res],
            "worker_private_mb": [round(r[4], 1) for r in res]}


def one(name: str) -> dict[str, Any]:
    t0 = time.perf_counter()
    _DATA.fill(archive_path())
    read = time.perf_counter() - t0
    if name == "baseline":
        out = run_baseline()
    elif name == "ours":
        out = run_ours(("corrected",), nocache=False)
    elif name == "ours-both":
        out = run_ours(("corrected", "paper"), nocache=False)
    elif name == "ours-nocache":
        out = run_ours(("corrected",), nocache=True)
    else:
        raise SystemExit(f"unknown benchmark part {name!r}")
    out["files"] = len(_DATA)
    out["read_s"] = read
    out["parent_rss_mb"] = _maxrss_mb(resource.RUSAGE_SELF)
    # RUSAGE_CHILDREN: the largest terminated worker (its RSS counts shared pages)
    child = _maxrss_mb(resource.RUSAGE_CHILDREN)
    out["rss_sum_mb"] = out["parent_rss_mb"] + (WORKERS * child if name != "baseline" else 0)
    out["peak_mb"] = out["parent_rss_mb"] + sum(out.get("worker_private_mb", []))
    return out


def main() -> int:
    path = archive_path()
    if not path.exists():
        print(f"bench parse: archive not found at {path}; set MLDOCK_REPLICATION", file=sys.stderr)
        return 2
    results: dict[str, dict[str, Any]] = {}
    for name in ("baseline", "ours", "ours-both", "ours-nocache"):
        proc = subprocess.run([sys.executable, "-m", "bench.parse", "--one", name], cwd=ROOT,
                              capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            print(f"bench parse: {name} failed:\n{proc.stderr}", file=sys.stderr)
            return 1
        results[name] = json.loads(proc.stdout.strip().splitlines()[-1])
    return report(results, path)


def report(results: dict[str, dict[str, Any]], path: Path) -> int:
    base = results["baseline"]
    print(f"files: {base['files']} from {path.name} (read+decompress {base['read_s']:.2f}s, not timed)")
    print(f"{'part':<14}{'wall s':>9}{'peak MB':>9}{'RSS-sum MB':>12}{'wall ratio':>12}{'mem ratio':>11}")
    for name, r in results.items():
        print(f"{name:<14}{r['wall']:>9.2f}{r['peak_mb']:>9.1f}{r['rss_sum_mb']:>12.1f}"
              f"{r['wall'] / base['wall']:>12.2f}{r['peak_mb'] / base['peak_mb']:>11.2f}")
    ours = results["ours"]
    print(f"ours: {ours['instructions']} instructions, {ours['run_commands']} RUN commands, "
          f"{ours['errors']} files rejected; baseline: {base['instructions']} structure entries")
    ok = True
    for name, target in TARGETS.items():
        wall = results[name]["wall"] / base["wall"]
        mem = results[name]["peak_mb"] / base["peak_mb"]
        good = wall <= target and mem <= MEM_TARGET
        ok = ok and good
        print(f"{name}: wall ratio {wall:.2f} (target <= {target}), memory ratio {mem:.2f} "
              f"(target <= {MEM_TARGET}), {WORKERS} workers: {'OK' if good else 'ABOVE TARGET'}")
    return 0 if ok else 1


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--one":
        print(json.dumps(one(sys.argv[2])))
        sys.exit(0)
    sys.exit(main())

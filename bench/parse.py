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

Prints wall time, peak RSS and the ratios ours / baseline.  Target: wall ratio <= 2.0.
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
TARGET = 2.0
WORKERS = 2

_DATA: list[tuple[str, bytes]] = []


def archive_path() -> Path:
    env = os.environ.get("MLDOCK_REPLICATION")
    base = Path(env) if env else ROOT.parent / "shared" / "ease2022"
    return base / ARCHIVE_REL


def load(path: Path) -> list[tuple[str, bytes]]:
    out = []
    with tarfile.open(path) as tf:
        for m in tf:
            if m.isfile():
                f = tf.extractfile(m)
                if f is not None:
                    out.append((m.name, f.read()))
    return out


def _maxrss_mb(who: int) -> float:
    return resource.getrusage(who).ru_maxrss / 1024  # Linux: KiB


def run_baseline() -> dict[str, Any]:
    from dockerfile_parse import DockerfileParser

    t0 = time.perf_counter()
    n = 0
    for _, data in _DATA:
        n += len(DockerfileParser(fileobj=io.BytesIO(data)).structure)
    return {"wall": time.perf_counter() - t0, "instructions": n}


def _worker(args: tuple[int, tuple[str, ...], bool]) -> tuple[int, int, int, float]:
    from pipeline import parse

    start, modes, nocache = args
    tax = parse.load_taxonomies(ROOT / "taxonomy")
    n_ins = n_cmd = n_err = 0
    for i in range(start, len(_DATA), WORKERS):
        name, data = _DATA[i]
        job = parse.FileJob("bench/samples", name, "", "dockerfile", data)
        for mode in modes:
            if nocache:
                parse._CACHE.clear()
            out = parse.dockerfile_rows(job, mode, tax)
            n_ins += len(out["instructions"])
            n_cmd += len(out["run_commands"])
            n_err += out["dockerfiles"][0]["parse_status"] == "error"
    return n_ins, n_cmd, n_err, _maxrss_mb(resource.RUSAGE_SELF)


def run_ours(modes: tuple[str, ...], nocache: bool) -> dict[str, Any]:
    import multiprocessing as mp

    ctx = mp.get_context("fork")  # workers share the loaded archive copy-on-write
    t0 = time.perf_counter()
    with ctx.Pool(WORKERS) as pool:
        res = pool.map(_worker, [(w, modes, nocache) for w in range(WORKERS)])
    wall = time.perf_counter() - t0
    return {"wall": wall, "instructions": sum(r[0] for r in res),
            "run_commands": sum(r[1] for r in res), "errors": sum(r[2] for r in res),
            "worker_rss_mb": [round(r[3], 1) for r in res]}


def one(name: str) -> dict[str, Any]:
    t0 = time.perf_counter()
    _DATA.extend(load(archive_path()))
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
    # RUSAGE_CHILDREN: the largest terminated worker; peak ~ parent + workers x that
    child = _maxrss_mb(resource.RUSAGE_CHILDREN)
    out["peak_rss_mb"] = out["parent_rss_mb"] + (WORKERS * child if name != "baseline" else 0)
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
    base = results["baseline"]
    print(f"files: {base['files']} from {path.name} (read+decompress {base['read_s']:.2f}s, not timed)")
    print(f"{'part':<14}{'wall s':>9}{'peak RSS MB':>13}{'wall ratio':>12}{'mem ratio':>11}")
    for name, r in results.items():
        print(f"{name:<14}{r['wall']:>9.2f}{r['peak_rss_mb']:>13.1f}"
              f"{r['wall'] / base['wall']:>12.2f}{r['peak_rss_mb'] / base['peak_rss_mb']:>11.2f}")
    ours = results["ours"]
    print(f"ours: {ours['instructions']} instructions, {ours['run_commands']} RUN commands, "
          f"{ours['errors']} files rejected; baseline: {base['instructions']} structure entries")
    ratio = ours["wall"] / base["wall"]
    verdict = "OK" if ratio <= TARGET else "ABOVE TARGET"
    print(f"parse wall-time ratio (corrected, {WORKERS} workers) = {ratio:.2f} "
          f"(target <= {TARGET}): {verdict}")
    return 0 if ratio <= TARGET else 1


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--one":
        print(json.dumps(one(sys.argv[2])))
        sys.exit(0)
    sys.exit(main())

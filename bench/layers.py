"""Layer-scan benchmark: our stream scan vs ``gzip -dc file | tar -t`` on the same layer.

Synthesises a ~200 MB gzip layer (a tar of a few thousand files whose content is
random-ish text, so gzip cannot collapse it) in a temporary directory, then in the same run:

* times ``gzip -dc layer | tar -t > /dev/null`` (best of N);
* times :func:`pipeline.images.layers.scan_file` in a subprocess (best of N) and records its peak
  RSS with ``os.wait4``, next to the RSS of a subprocess that only imports the module.

Prints the speed ratio (baseline time / our time; target >= 2.0, with isal) and the peak RSS growth
(target: flat, far below the layer size).  ``MLDOCK_BENCH_LAYER_MB`` changes the size.
"""

from __future__ import annotations

import base64
import io
import os
import random
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

TARGET_RATIO = 2.0
REPEATS = 3
ROOT = Path(__file__).resolve().parents[1]


def synthesize(path: Path, target_bytes: int, seed: int = 5) -> tuple[int, int]:
    """Write a gzip tar layer of about ``target_bytes`` compressed; returns (files, raw bytes)."""
    import gzip

    rnd = random.Random(seed)
    words = [base64.b32encode(rnd.randbytes(rnd.randint(2, 8))).decode().lower().rstrip("=")
             for _ in range(4000)]
    n_files = 0
    raw = 0
    with gzip.open(path, "wb", compresslevel=1) as gz, tarfile.open(fileobj=gz, mode="w|") as tar:
        d = 0
        while path.stat().st_size < target_bytes:
            if n_files % 200 == 0:
                d += 1
            size = rnd.choice((512, 4096, 32768, 131072, 524288))
            # text of random words plus some random bytes: compresses to roughly 60-70%
            chunk = " ".join(rnd.choices(words, k=size // 6)).encode()[: size // 2]
            data = chunk + rnd.randbytes(size - len(chunk))
            name = f"usr/share/pkg{d}/sub{n_files % 7}/file{n_files}.{rnd.choice(('py', 'so.1', 'txt', 'json'))}"
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            ti.mtime = 1_600_000_000
            tar.addfile(ti, io.BytesIO(data))
            n_files += 1
            raw += len(data)
            if n_files % 64 == 0:
                gz.flush()
    return n_files, raw


def _run_child(code: str) -> tuple[float, int, str]:
    """Run ``python -c code``; returns (wall seconds, peak RSS KiB, stdout)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, cwd=ROOT)
    assert proc.stdout is not None
    out = proc.stdout.read().decode()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"benchmark child failed ({proc.returncode}): {code}")
    return wall, int(usage.ru_maxrss), out


def main() -> int:
    size_mb = int(os.environ.get("MLDOCK_BENCH_LAYER_MB", "200"))
    with tempfile.TemporaryDirectory(prefix="mldock-bench-") as tmp:
        layer = Path(tmp) / "layer.tar.gz"
        t0 = time.perf_counter()
        n_files, raw = synthesize(layer, size_mb << 20)
        comp = layer.stat().st_size
        print(f"layer: {comp / 2**20:.0f} MiB gzip, {raw / 2**20:.0f} MiB of file data, "
              f"{n_files} files (built in {time.perf_counter() - t0:.1f}s)")

        base_times = []
        for _ in range(REPEATS):
            t = time.perf_counter()
            subprocess.run(f"gzip -dc '{layer}' | tar -t > /dev/null", shell=True, check=True)
            base_times.append(time.perf_counter() - t)

        code = (
            "import time; t=time.perf_counter(); from pipeline.images.layers import scan_file; "
            f"s=scan_file({str(layer)!r}); "
            "print(time.perf_counter()-t, len(s.entries), s.uncompressed_size)"
        )
        ours, rss = [], []
        for _ in range(REPEATS):
            _, peak, out = _run_child(code)
            secs, entries, unc = out.split()
            ours.append(float(secs))
            rss.append(peak)
        assert int(entries) == n_files, (entries, n_files)
        _, idle, _ = _run_child("import pipeline.images.layers")

    best_base, best_ours = min(base_times), min(ours)
    ratio = best_base / best_ours
    growth = max(rss) - idle
    print(f"gzip -dc | tar -t : {best_base:.2f}s  ({raw / 2**20 / best_base:.0f} MiB/s)")
    print(f"mldock scan_file  : {best_ours:.2f}s  ({raw / 2**20 / best_ours:.0f} MiB/s)")
    print(f"speed ratio       : {ratio:.2f} of gzip|tar (target >= {TARGET_RATIO})")
    print(f"peak RSS          : {max(rss) / 1024:.0f} MiB (interpreter + import alone "
          f"{idle / 1024:.0f} MiB; growth {growth / 1024:.0f} MiB for a "
          f"{comp / 2**20:.0f} MiB layer)")
    ok = ratio >= TARGET_RATIO and growth * 1024 < comp / 4
    print("layers bench:", "OK" if ok else "BELOW TARGET")
    return 0 if ok else 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

"""`make bench`: run every benchmark module in bench/ (each exposes ``main()``).

Each benchmark measures our code next to a baseline in the same run and prints the ratio,
so figures compare across machines.  ``python -m bench parse`` runs one.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
import time
from pathlib import Path


def main(argv: list[str]) -> int:
    here = Path(__file__).parent
    names = sorted(m.name for m in pkgutil.iter_modules([str(here)]) if not m.name.startswith("_"))
    wanted = argv or names
    unknown = [n for n in wanted if n not in names]
    if unknown:
        print(f"unknown benchmark(s) {unknown}; available: {names}", file=sys.stderr)
        return 2
    failed = 0
    for name in wanted:
        print(f"== bench {name}", flush=True)
        t0 = time.perf_counter()
        mod = importlib.import_module(f"bench.{name}")
        rc = mod.main() or 0
        failed += rc != 0
        print(f"== bench {name} done in {time.perf_counter() - t0:.1f}s (exit {rc})", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

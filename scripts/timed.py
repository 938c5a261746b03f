"""Time the stages of ``make reproduce`` (standard library only; the Makefile's $(MLDOCK)).

    timed.py --log FILE CMD [ARG...]   run CMD, print "STAGE: 12.3 s", add a row to FILE
    timed.py --log FILE --reset        start a new run: FILE with its header only
    timed.py --log FILE --summary      print the time per stage of the run in FILE

The stage is named by CMD's arguments up to the first option after them (leading flags
skipped): ``mldock -q classify evaluate --nested`` is "classify evaluate". FILE is a CSV
(stage, seconds, exit); a stage Make found up to date does not run and has no row.
"""

from __future__ import annotations

import csv
import subprocess
import sys
import time
from pathlib import Path

HEADER = ["stage", "seconds", "exit"]


def stage_name(cmd: list[str]) -> str:
    words: list[str] = []
    for arg in cmd[1:]:
        if arg.startswith("-"):
            if words:
                break
            continue  # a leading flag such as -q
        words.append(arg)
    return " ".join(words) or Path(cmd[0]).name


def reset(log: Path) -> None:
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text(",".join(HEADER) + "\n", encoding="utf-8")


def record(log: Path, stage: str, seconds: float, code: int) -> None:
    if not log.exists():
        reset(log)
    with open(log, "a", encoding="utf-8", newline="") as fh:
        csv.writer(fh, lineterminator="\n").writerow([stage, f"{seconds:.1f}", code])


def summary(log: Path) -> str:
    rows = list(csv.DictReader(open(log, encoding="utf-8"))) if log.exists() else []
    if not rows:
        return "time per stage: every stage was up to date"
    width = max(len(r["stage"]) for r in rows) + 2
    total = sum(float(r["seconds"]) for r in rows)
    lines = [f"time per stage ({log}; stages not listed were up to date):"]
    lines += [f"  {r['stage']:<{width}}{float(r['seconds']):7.1f} s"
              + ("" if r["exit"] == "0" else f"  (failed, exit {r['exit']})") for r in rows]
    lines.append(f"  {'total':<{width}}{total:7.1f} s")
    return "\n".join(lines)


def run(log: Path, cmd: list[str]) -> int:
    stage = stage_name(cmd)
    t0 = time.perf_counter()
    try:
        code = subprocess.call(cmd)
    except KeyboardInterrupt:
        code = 130
    seconds = time.perf_counter() - t0
    record(log, stage, seconds, code)
    print(f"{stage}: {seconds:.1f} s", file=sys.stderr, flush=True)
    return code


def main(argv: list[str]) -> int:
    if len(argv) < 3 or argv[0] != "--log":
        print(__doc__, file=sys.stderr)
        return 2
    log, rest = Path(argv[1]), argv[2:]
    if rest == ["--reset"]:
        reset(log)
        return 0
    if rest == ["--summary"]:
        print(summary(log))
        return 0
    return run(log, rest)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

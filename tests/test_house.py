"""House rules a maintainer can check at a glance (issue 11).

- no module under ``pipeline/`` is over 600 lines, and no function (methods and nested
  functions included) under ``pipeline/``, ``scripts/`` or ``bench/`` is over 80 lines;
  each test prints the five largest so the next split has a target;
- the ``mldock`` logging handler follows ``sys.stderr`` and no test leaves one behind.
"""

from __future__ import annotations

import ast
import logging
import re
import sys
from pathlib import Path

import pytest

from pipeline.cli import StderrHandler, setup_logging

ROOT = Path(__file__).resolve().parents[1]
MAX_MODULE_LINES = 600
MAX_FUNCTION_LINES = 80


def python_files(*dirs: str) -> list[Path]:
    return [f for d in dirs for f in sorted((ROOT / d).rglob("*.py"))]


def module_lengths() -> list[tuple[int, str]]:
    return sorted(((len(f.read_text(encoding="utf-8").splitlines()), str(f.relative_to(ROOT)))
                   for f in python_files("pipeline")), reverse=True)


def function_lengths(*dirs: str) -> list[tuple[int, str]]:
    """(lines from ``def`` to the last line of the body, ``file:line name``), longest first."""
    out = []
    for f in python_files(*dirs):
        for node in ast.walk(ast.parse(f.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                n = (node.end_lineno or node.lineno) - node.lineno + 1
                out.append((n, f"{f.relative_to(ROOT)}:{node.lineno} {node.name}"))
    return sorted(out, reverse=True)


def _largest(rows: list[tuple[int, str]], what: str) -> str:
    return f"largest {what}:\n" + "\n".join(f"  {n:5d}  {name}" for n, name in rows[:5])


def test_no_module_over_600_lines() -> None:
    rows = module_lengths()
    print(_largest(rows, "modules"))
    over = [(n, name) for n, name in rows if n > MAX_MODULE_LINES]
    assert not over, f"modules over {MAX_MODULE_LINES} lines: {over}\n{_largest(rows, 'modules')}"


def test_no_function_over_80_lines() -> None:
    rows = function_lengths("pipeline", "scripts", "bench")
    print(_largest(rows, "functions"))
    over = [(n, name) for n, name in rows if n > MAX_FUNCTION_LINES]
    assert not over, f"functions over {MAX_FUNCTION_LINES} lines: {over}\n{_largest(rows, 'functions')}"


def test_the_counters_see_what_they_count(tmp_path: Path) -> None:
    """The counting itself: every module and every def (nested, methods) is seen."""
    assert {name for _, name in module_lengths()} >= {"pipeline/cli/__init__.py", "pipeline/config.py"}
    names = {name.split(" ")[1] for _, name in function_lengths("pipeline", "scripts", "bench")}
    assert {"setup_logging", "__init__", "tqdm_bar", "main"} <= names  # tqdm_bar is nested in bars
    n, where = next(r for r in function_lengths("pipeline") if r[1].endswith(" setup_logging"))
    src = (ROOT / where.split(":")[0]).read_text(encoding="utf-8").splitlines()
    start = int(where.split(":")[1].split(" ")[0]) - 1
    assert src[start].startswith("def setup_logging") and not src[start + n].startswith(" ")


# -- logging ---------------------------------------------------------------------------


def test_the_cli_handler_writes_to_the_stderr_of_the_moment(monkeypatch: pytest.MonkeyPatch) -> None:
    import io

    setup_logging(0)
    (handler,) = logging.getLogger("pipeline").handlers
    assert isinstance(handler, StderrHandler)
    first, second = io.StringIO(), io.StringIO()
    monkeypatch.setattr(sys, "stderr", first)
    logging.getLogger("pipeline.x").info("one")
    first.close()  # what a capture does to its stream when a test ends
    monkeypatch.setattr(sys, "stderr", second)
    logging.getLogger("pipeline.x").info("two")
    assert second.getvalue() == "INFO pipeline.x: two\n"


INNER = '''
import logging
from pipeline.cli import main

def test_a_cli_run(capsys):
    assert main(["-q", "publish", "--help"]) == 0
    assert logging.getLogger("pipeline").handlers

def test_b_after_it():
    assert logging.getLogger("pipeline").handlers == []
    assert logging.getLogger("pipeline").level == logging.NOTSET
'''


def test_no_test_leaves_a_logging_handler_behind(pytester: pytest.Pytester) -> None:
    """With the project's conftest, the second test sees the logger as it was; without it,
    the first test's handler is still there (so the check can fail)."""
    log = logging.getLogger("pipeline")
    assert log.handlers == [] and log.level == logging.NOTSET  # the autouse fixture at work
    pytester.makepyfile(test_inner=INNER)
    bare = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-q")
    bare.assert_outcomes(passed=1, failed=1)
    log.handlers[:], log.level = [], logging.NOTSET
    pytester.makeconftest((ROOT / "tests" / "conftest.py").read_text(encoding="utf-8"))
    fixed = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-q")
    fixed.assert_outcomes(passed=2)


# -- the stage timer of make reproduce -------------------------------------------------


def test_the_stage_timer_records_and_summarises(tmp_path: Path) -> None:
    import subprocess

    timed = [sys.executable, str(ROOT / "scripts" / "timed.py"), "--log", str(tmp_path / "t.csv")]
    script = tmp_path / "stage.py"
    script.write_text("import sys, time\ntime.sleep(0.2)\nsys.exit(int(sys.argv[-1]))\n")
    assert subprocess.run([*timed, "--reset"]).returncode == 0
    ok = subprocess.run([*timed, sys.executable, script, "classify", "evaluate", "--code", "0"],
                        capture_output=True, text=True)
    bad = subprocess.run([*timed, sys.executable, script, "report", "3"], capture_output=True, text=True)
    assert (ok.returncode, bad.returncode) == (0, 3)
    assert re.fullmatch(rf"{re.escape(str(script))} classify evaluate: \d+\.\d s\n", ok.stderr)
    rows = (tmp_path / "t.csv").read_text().splitlines()
    assert rows[0] == "stage,seconds,exit" and [r.split(",")[2] for r in rows[1:]] == ["0", "3"]
    assert all(0.2 <= float(r.split(",")[1]) < 5 for r in rows[1:])
    summary = subprocess.run([*timed, "--summary"], capture_output=True, text=True).stdout
    assert summary.splitlines()[0].startswith("time per stage (")
    assert summary.splitlines()[2].endswith("(failed, exit 3)")
    assert summary.splitlines()[3].lstrip().startswith("total")
    assert subprocess.run([*timed, "--reset"]).returncode == 0
    assert subprocess.run([*timed, "--summary"], capture_output=True, text=True).stdout == (
        "time per stage: every stage was up to date\n")


def test_stage_names_are_the_words_before_the_first_option() -> None:
    import importlib.util

    spec = importlib.util.spec_from_file_location("timed", ROOT / "scripts" / "timed.py")
    assert spec and spec.loader
    timed = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(timed)
    assert timed.stage_name([".venv/bin/mldock", "classify", "evaluate", "--nested"]) == "classify evaluate"
    assert timed.stage_name([".venv/bin/mldock", "ingest", "--from", "x.zip"]) == "ingest"
    assert timed.stage_name([".venv/bin/mldock", "collect", "extract"]) == "collect extract"
    assert timed.stage_name([".venv/bin/mldock", "-q", "parse", "--mode", "both"]) == "parse"
    assert timed.stage_name([".venv/bin/mldock"]) == "mldock"

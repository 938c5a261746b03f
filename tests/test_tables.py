"""Schema checks, atomic writes and provenance of pipeline.tables."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from pipeline import schemas
from pipeline.errors import SchemaError, StageInputMissing
from pipeline.tables import ErrorLog, atomic_path, conform, read_table, write_table

from .conftest import make_project

T = schemas.Table(
    name="demo",
    location="interim",
    stage="demo",
    description="a test table",
    key=("k",),
    columns=(
        schemas.C("k", "str", "key", False),
        schemas.C("n", "int", "a count"),
        schemas.C("ok", "bool", "a flag"),
        schemas.C("tags", "json", "a list"),
    ),
)


def test_conform_orders_and_types() -> None:
    df = pd.DataFrame({"tags": [["a"], None], "ok": ["True", "false"], "n": [1.0, None], "k": ["x", "y"]})
    out = conform(df, T)
    assert list(out.columns) == ["k", "n", "ok", "tags"]
    assert out["n"].tolist()[0] == 1 and pd.isna(out["n"].tolist()[1])
    assert out["ok"].tolist() == [True, False]
    assert out["tags"].tolist()[0] == '["a"]'


@pytest.mark.parametrize(
    ("df", "problem"),
    [
        (pd.DataFrame({"k": ["x"], "n": [1], "ok": [True]}), "missing columns ['tags']"),
        (pd.DataFrame({"k": ["x"], "n": [1], "ok": [True], "tags": [None], "z": [1]}), "unexpected columns ['z']"),
        (pd.DataFrame({"k": [None], "n": [1], "ok": [True], "tags": [None]}), "'k' has 1 empty values"),
        (pd.DataFrame({"k": ["x", "x"], "n": [1, 2], "ok": [True, True], "tags": [None, None]}), "duplicate keys"),
        (pd.DataFrame({"k": ["x"], "n": ["many"], "ok": [True], "tags": [None]}), "'n' is not int"),
        (pd.DataFrame({"k": ["x"], "n": [1], "ok": ["maybe"], "tags": [None]}), "'ok' is not bool"),
    ],
)
def test_conform_rejects(df: pd.DataFrame, problem: str) -> None:
    with pytest.raises(SchemaError, match=problem.replace("[", r"\[").replace("]", r"\]")):
        conform(df, T)


def test_write_read_roundtrip_and_sidecar(tmp_path: Path) -> None:
    p = make_project(tmp_path / "p")
    df = pd.DataFrame({"k": ["a", "b"], "n": [1, None], "ok": [True, None], "tags": ['["x"]', None]})
    target = write_table(df, T, p)
    assert target == p.interim / "demo.csv"
    back = read_table(T, p)
    assert back["k"].tolist() == ["a", "b"]
    assert back["n"].isna().tolist() == [False, True]
    meta = json.loads((p.interim / "demo.csv.meta.json").read_text())
    assert meta["rows"] == 2 and meta["table"] == "demo" and meta["stage"] == "demo"


def test_failed_write_leaves_previous_file(tmp_path: Path) -> None:
    p = make_project(tmp_path / "p")
    good = pd.DataFrame({"k": ["a"], "n": [1], "ok": [True], "tags": [None]})
    write_table(good, T, p)
    before = (p.interim / "demo.csv").read_bytes()
    with pytest.raises(SchemaError):
        write_table(good.assign(k=[None]), T, p)
    assert (p.interim / "demo.csv").read_bytes() == before
    assert [f.name for f in p.interim.iterdir() if f.name.startswith(".")] == []


def test_atomic_path_interrupted(tmp_path: Path) -> None:
    target = tmp_path / "out.txt"
    target.write_text("old")
    with pytest.raises(KeyboardInterrupt), atomic_path(target) as fh:
        fh.write("half")
        raise KeyboardInterrupt
    assert target.read_text() == "old"
    assert sorted(f.name for f in tmp_path.iterdir()) == ["out.txt"]


def test_read_missing_names_stage(tmp_path: Path) -> None:
    p = make_project(tmp_path / "p")
    with pytest.raises(StageInputMissing, match="run `mldock ingest` first"):
        read_table("repos", p)


def test_error_log_written(tmp_path: Path) -> None:
    p = make_project(tmp_path / "p")
    errs = ErrorLog("demo")
    errs.add("a/b/Dockerfile", ValueError("bad byte"))
    errs.add("c", "timeout", "took too long")
    errs.write(p)
    df = pd.read_csv(p.interim / "demo_errors.csv")
    assert df.to_dict("records") == [
        {"stage": "demo", "item": "a/b/Dockerfile", "error_type": "ValueError", "message": "bad byte"},
        {"stage": "demo", "item": "c", "error_type": "timeout", "message": "took too long"},
    ]


def test_every_declared_column_is_described() -> None:
    for table in schemas.TABLES.values():
        assert table.description.strip(), table.name
        for col in table.columns:
            assert col.description.strip(), f"{table.name}.{col.name}"

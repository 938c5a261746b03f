"""Taxonomy files of the classify stage and the generic rules loader."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from pipeline.classify.coding import split_tokens
from pipeline.classify.taxonomy import (
    CATEGORY_FIELDS,
    load_categories,
    load_coding,
    load_purposes,
    load_taxonomy,
)
from pipeline.config import CATEGORIES
from pipeline.errors import TaxonomyError
from pipeline.taxonomy import load_yaml_rules

ROOT = Path(__file__).resolve().parents[1]
TAX = ROOT / "taxonomy"
TARGETS = ROOT.parent / "shared" / "docs" / "paper_targets.json"


def _write(tmp_path: Path, text: str, name: str = "rules.yaml") -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


# ---- the shipped files ----------------------------------------------------------------


def test_categories_are_the_six() -> None:
    cats = load_categories(TAX / "project_categories.yaml")
    assert [c.name for c in cats] == list(CATEGORIES)
    assert all(set(c.rules) <= set(CATEGORY_FIELDS) for c in cats)
    mlops = cats[1]
    assert mlops.id == "mlops" and "serving" in mlops.rules["description"]


def test_purposes_match_figure_2() -> None:
    purposes = load_purposes(TAX / "purposes.yaml")
    majors = [p for p in purposes if p.parent is None]
    subs = [p for p in purposes if p.parent is not None]
    assert len(majors) == 21 and len(subs) == 12
    # compare with the paper's published taxonomy (read, never returned as a result)
    target = json.loads(TARGETS.read_text(encoding="utf-8"))["rq2_purpose_taxonomy"]["value"]
    assert [p.name for p in majors] == target["major_categories"]
    names = {p.id: p.name for p in purposes}
    for major, children in target["subcategories"].items():
        got = [s.name for s in subs if names[s.parent or ""] == major]
        assert got == children


def test_coding_covers_every_token_of_the_study(shared_package: Path) -> None:
    tax = load_taxonomy(TAX)
    m = pd.read_csv(shared_package / "RQ1" / "manual-labeling.csv", encoding="utf-8-sig")
    m = m.dropna(subset=["repos"])
    what = {t for v in m["What"] for t in split_tokens(v)}
    assert len(what) == 488  # the study's distinct What tokens (study.md section 3.4)
    assert what - set(tax.coding) == set()
    for col in ("purpose from documentation", "MLcomponent"):
        toks = {t for v in m[col] for t in split_tokens(v)}
        assert toks - set(tax.coding) == set(), col
    # a few codings spelled out
    assert tax.coding["jupyter"] == ("interactive_development",)
    assert tax.coding["model training"] == ("model_training",)
    assert set(tax.coding["build and test"]) == {"build_packaging", "software_testing"}
    assert tax.coding["production"] == ("none",)
    ids = {p.id for p in tax.purposes} | {"none"}
    assert {i for v in tax.coding.values() for i in v} <= ids


# ---- the loader rejects bad files -----------------------------------------------------


GOOD = """
entries:
  - id: a
    description: first
    rules:
      description: [alpha, beta]
  - id: b
    description: second
    rules:
      description: [gamma]
      paths: [beta]
"""


def test_generic_loader_accepts_and_normalises(tmp_path: Path) -> None:
    entries = load_yaml_rules(_write(tmp_path, GOOD.replace("gamma", "  Gamma  Ray")))
    assert [e["id"] for e in entries] == ["a", "b"]
    assert entries[1]["rules"] == {"description": ["gamma ray"], "paths": ["beta"]}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (GOOD.replace("[gamma]", "[alpha]"), "duplicate keyword 'alpha' in field 'description' (entries 'a' and 'b')"),
        (GOOD.replace("[alpha, beta]", "[alpha, Alpha]"), "duplicate keyword 'alpha'"),
        (GOOD.replace("      description: [gamma]\n      paths: [beta]\n", "      description: []\n"),
         "entry 'b': empty rules for field 'description'"),
        (GOOD.replace("    rules:\n      description: [alpha, beta]\n", "    rules: {}\n"), "entry 'a' has empty rules"),
        (GOOD.replace("id: b", "id: a"), "duplicate id 'a'"),
        (GOOD.replace("paths:", "colour:"), "unknown rule field 'colour'"),
        (GOOD.replace("    description: first\n", ""), "entry 'a' lacks description"),
        ("entries: [", "invalid YAML"),
        ("just: text", "expected a mapping with an 'entries' list"),
    ],
)
def test_generic_loader_rejects(tmp_path: Path, text: str, message: str) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(TaxonomyError) as err:
        load_yaml_rules(path, fields=("description", "paths"))
    assert message in str(err.value)
    assert str(path) in str(err.value)


def test_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(TaxonomyError, match="nope.yaml: file not found"):
        load_yaml_rules(tmp_path / "nope.yaml")


def test_categories_reject_unknown_category(tmp_path: Path) -> None:
    text = (TAX / "project_categories.yaml").read_text(encoding="utf-8")
    bad = _write(tmp_path, text.replace("name: Model\n", "name: Models\n"))
    with pytest.raises(TaxonomyError, match="unknown category 'Models'"):
        load_categories(bad)


def test_purposes_reject_unknown_parent_and_instruction(tmp_path: Path) -> None:
    text = (TAX / "purposes.yaml").read_text(encoding="utf-8")
    bad = _write(tmp_path, text.replace("parent: data_management", "parent: data_mgmt", 1))
    with pytest.raises(TaxonomyError, match="unknown parent id 'data_mgmt'"):
        load_purposes(bad)
    bad = _write(tmp_path, text.replace("instruction: [USER]", "instruction: [USERS]"))
    with pytest.raises(TaxonomyError, match=r"unknown Dockerfile instruction \['USERS'\]"):
        load_purposes(bad)


@pytest.mark.parametrize(
    ("codes", "message"),
    [
        ("  hostin: [web ui]\n", "unknown purpose id 'hostin'"),
        ("  hosting: [web ui, Web  UI]\n", "duplicate token 'web ui' under 'hosting'"),
        ("  hosting: []\n", "empty token list for 'hosting'"),
        ("  hosting: [web ui]\n  none: [web ui]\n", "token 'web ui' is coded both 'none' and ['hosting']"),
    ],
)
def test_coding_rejects(tmp_path: Path, codes: str, message: str) -> None:
    path = _write(tmp_path, "columns: [What]\ncodes:\n" + codes)
    with pytest.raises(TaxonomyError) as err:
        load_coding(path, ["hosting", "software_testing"])
    assert message in str(err.value)


def test_coding_rejects_unknown_column(tmp_path: Path) -> None:
    path = _write(tmp_path, "columns: [Whatever]\ncodes:\n  hosting: [web ui]\n")
    with pytest.raises(TaxonomyError, match="unknown columns \\['Whatever'\\]"):
        load_coding(path, ["hosting"])

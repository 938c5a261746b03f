"""core/categories.py and taxonomy/categories.yaml: the one category vocabulary."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.config import CATEGORIES
from pipeline.core.categories import Categories, CategoriesInvalid
from pipeline.errors import TaxonomyError
from pipeline.report import figures
from pipeline.taxonomy import load_categories

CATS = load_categories()


def test_ids_in_table1_order_and_config_reexport() -> None:
    assert CATS.ids == ("Application System", "MLOps/AIOps", "Toolkit", "DL Framework", "Model",
                        "Documentation")
    assert CATEGORIES == CATS.ids


@pytest.mark.parametrize(("raw", "cid"), [
    ("DL framwork", "DL Framework"), ("DL Framwork", "DL Framework"), ("AutoML", "Toolkit"),
    ("automl", "Toolkit"), ("machine learning", "Toolkit"), ("application ", "Application System"),
    ("application/autopilot", "Application System"), ("MLOps/ AIOps", "MLOps/AIOps"),
    ("mlops", "MLOps/AIOps"), ("Tutorials/  Documentation", "Documentation"),
    ("Documentations", "Documentation"), ("model", "Model"),
])
def test_aliases(raw: str, cid: str) -> None:
    assert CATS.canonical(raw) == cid


def test_unknown_raw_label() -> None:
    with pytest.raises(KeyError, match="Robots"):
        CATS.canonical("Robots")
    with pytest.raises(KeyError):
        CATS.canonical("remove/ tool")


def test_display_colour_order() -> None:
    assert CATS.display("MLOps/AIOps") == "MLOps/ AIOps" and CATS.paper("MLOps/AIOps") == "MLOps/ AIOps"
    assert CATS.display("Unlabelled") == "Unlabelled"
    assert [CATS.colour(c) for c in CATS.ids] == ["#4C72B0", "#DD8452", "#55A868", "#C44E52",
                                                  "#8172B3", "#937860"]
    assert CATS.colour("Unlabelled") is None and figures.colour("Unlabelled") == "#cccccc"
    assert CATS.ordered(["Unlabelled", "Model", "All", "Toolkit"]) == ["Toolkit", "Model", "All", "Unlabelled"]


def _entry(cid: str, **kw: object) -> dict[str, object]:
    return {"id": cid, "paper": cid, "display": cid, "colour": "#000000", "aliases": [], **kw}


def test_invalid_entries() -> None:
    with pytest.raises(CategoriesInvalid, match="names both 'A' and 'B'"):
        Categories.from_entries([_entry("A", aliases=["x"]), _entry("B", aliases=["X "])])
    with pytest.raises(CategoriesInvalid, match="duplicate id 'A'"):
        Categories.from_entries([_entry("A"), _entry("A")])
    with pytest.raises(CategoriesInvalid, match="lacks colour"):
        Categories.from_entries([{"id": "A", "paper": "A", "display": "A", "aliases": []}])
    with pytest.raises(CategoriesInvalid, match="empty or non-text display"):
        Categories.from_entries([_entry("A", display=" ")])
    with pytest.raises(CategoriesInvalid, match="no categories"):
        Categories.from_entries([])


def test_loader_names_the_file(tmp_path: Path) -> None:
    f = tmp_path / "categories.yaml"
    f.write_text("entries:\n  - {id: A, paper: A, display: A, colour: '#000', aliases: [a, A]}\n")
    assert load_categories(f).ids == ("A",)
    f2 = tmp_path / "bad.yaml"
    f2.write_text("entries:\n  - {id: A}\n")
    with pytest.raises(TaxonomyError, match="bad.yaml"):
        load_categories(f2)

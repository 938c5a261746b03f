"""``mldock report --compare``: two runs' Table 1, Figure 3 and Figure 4 numbers side by side.

Typically the study's snapshot (``mldock ingest``) against GitHub today (``mldock collect
--from-package``): each root's interim/processed tables are read as the report reads them,
and every number is put in two columns (``this``, ``other``) with their difference.
Written to ``reports/compare/<name>.csv`` and one ``reports/compare/compare.md``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ..config import Paths
from ..tables import atomic_write_text
from .artefacts import base_image_frame, instruction_frame, run_category_frame, table1_frame
from .frames import median_shares
from .inputs import SKIPPED, Inputs, load_inputs

MODE = "corrected"
log = logging.getLogger(__name__)


def _table1(inp: Inputs) -> pd.DataFrame:
    return table1_frame(inp, MODE)


def _fig3a(inp: Inputs) -> pd.DataFrame:
    return median_shares(instruction_frame(inp, MODE), inp.categories(), "instruction")


def _fig3b(inp: Inputs) -> pd.DataFrame:
    return median_shares(run_category_frame(inp, MODE), inp.categories(), "run_category")


def _fig4(kind: str) -> Callable[[Inputs], pd.DataFrame]:
    def frame(inp: Inputs) -> pd.DataFrame:
        return base_image_frame(inp, MODE, kind, top=None)
    return frame


PARTS: dict[str, tuple[Callable[[Inputs], pd.DataFrame], tuple[str, ...]]] = {
    "table1": (_table1, ("category",)),
    "figure3a_instructions": (_fig3a, ("category", "instruction")),
    "figure3b_run_commands": (_fig3b, ("category", "run_category")),
    "figure4a_base_images": (_fig4("keyword"), ("category", "key")),
    "figure4b_base_image_types": (_fig4("type"), ("category", "key")),
}
"""Compared artefact -> (frame of one run, key columns)."""


def side_by_side(this: pd.DataFrame, other: pd.DataFrame, keys: tuple[str, ...]) -> pd.DataFrame:
    """Numeric columns of two frames, joined on ``keys``: ``<col>_this``, ``<col>_other``,
    ``<col>_diff`` (other - this); a key only one run has shows empty cells for the other."""
    keys_l = [k for k in keys if k in this.columns and k in other.columns]
    nums = [c for c in this.columns if c not in keys_l and c in other.columns
            and pd.api.types.is_numeric_dtype(this[c]) and pd.api.types.is_numeric_dtype(other[c])]
    m = this[keys_l + nums].merge(other[keys_l + nums], on=keys_l, how="outer", suffixes=("_this", "_other"))
    out = m[keys_l].copy()
    for c in nums:
        out[f"{c}_this"], out[f"{c}_other"] = m[f"{c}_this"], m[f"{c}_other"]
        out[f"{c}_diff"] = (m[f"{c}_other"] - m[f"{c}_this"]).round(3)
    return out.sort_values(keys_l, kind="stable").reset_index(drop=True)


@dataclass(frozen=True)
class _OtherRun(Paths):
    """Another root's tables read with this root's taxonomy (the same rules on both runs)."""

    rules: Path = Path()

    @property
    def taxonomy(self) -> Path:
        return self.rules


def compare(p: Paths, other_root: Path) -> dict[str, pd.DataFrame]:
    """The compared frames of ``p`` (this run) and ``other_root``; written under reports/compare/.
    An artefact whose input table either root lacks is skipped with one line (log and
    compare.md), the others compared."""
    a, b = load_inputs(p), load_inputs(_OtherRun(other_root, p.taxonomy))
    out: dict[str, pd.DataFrame] = {}
    md = [f"# {p.root} vs {other_root} ({MODE} mode)", ""]
    folder = p.reports / "compare"
    for name, (frame, keys) in PARTS.items():
        try:
            df = side_by_side(frame(a), frame(b), keys)
        except SKIPPED as exc:  # a table one of the roots lacks: skip this artefact only
            log.warning("compare: %s skipped: %s", name, exc)
            md += [f"## {name}", "", f"skipped: {exc}", ""]
            continue
        out[name] = df
        atomic_write_text(folder / f"{name}.csv", df.to_csv(index=False, lineterminator="\n"))
        md += [f"## {name}", "", df.to_markdown(index=False), ""]
    atomic_write_text(folder / "compare.md", "\n".join(md))
    return out

"""The study's coded purposes: its comma-separated free text coded to purpose ids by
``taxonomy/purpose_coding.yaml`` (the targets of the purpose model)."""

from __future__ import annotations

from typing import Any

import pandas as pd

from ..taxonomy import normalise_keyword
from .evidence import _s
from .taxonomy import NONE, Taxonomy


def split_tokens(text: Any) -> list[str]:
    """The study's comma-separated free text as normalised tokens (empty ones dropped)."""
    return [t for t in (normalise_keyword(x) for x in _s(text).split(",")) if t]


def code_purposes(row: dict[str, Any], tax: Taxonomy) -> dict[str, list[str]]:
    """Purpose id -> the study's tokens that support it, for one purpose_text row.

    A subcategory also adds its major.  Tokens missing from the coding table are
    reported by :func:`uncoded_tokens`, not guessed.
    """
    out: dict[str, list[str]] = {}
    for col in tax.coded_columns:
        for tok in split_tokens(row.get(col)):
            for pid in tax.coding.get(tok, ()):
                if pid == NONE:
                    continue
                out.setdefault(pid, []).append(f'{col}:"{tok}"')
                parent = tax.purpose(pid).parent
                if parent:
                    out.setdefault(parent, []).append(f'{col}:"{tok}"')
    return out


def uncoded_tokens(purpose_text: pd.DataFrame, tax: Taxonomy) -> list[tuple[str, str]]:
    """(column, token) pairs in the coded columns that the coding table does not list."""
    missing: list[tuple[str, str]] = []
    for col in tax.coded_columns:
        if col not in purpose_text.columns:
            continue
        for v in purpose_text[col]:
            for tok in split_tokens(v):
                if tok not in tax.coding and (col, tok) not in missing:
                    missing.append((col, tok))
    return missing

"""Cell formats of the replication package's CSVs (pure)."""

from __future__ import annotations

import ast
from typing import Any


def _blank(v: Any) -> bool:
    """None, NaN, pandas' NA (recognised without importing pandas) or blank text."""
    if v is None or (isinstance(v, float) and v != v) or type(v).__name__ == "NAType":
        return True
    return not str(v).strip()


def image_list(v: Any) -> list[str]:
    """The package's image cells (``"['a:latest', 'b:1']"`` or ``a, b``) as a list."""
    if _blank(v):
        return []
    try:
        val = ast.literal_eval(str(v))
    except (ValueError, SyntaxError):
        parts = (s.strip(" '\"") for s in str(v).strip().strip("[]").split(","))
        return [s for s in parts if s]
    return [str(x) for x in val] if isinstance(val, list | tuple | set) else [str(val)]


def image_name(ref: str) -> str:
    """An image reference's name as the study keyed it: the text before the first ``:``."""
    return str(ref).split(":")[0].strip()

"""``targets/sections.yaml``: what the reproduction report compares, per target section.

The shape of the paper's targets file lives there, not in code: each section's paper
artefact, input tables, column names, tolerance, whether it is adopted (an input of our
method), the funnel step names, the positional keys of ``rq3_dockerfiles``, the static
reasons, the data defects and the pin (path and sha256) of the targets file itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import TaxonomyError
from ..taxonomy import read_yaml

SECTIONS_YAML = "sections.yaml"
CHECKOUT_TARGETS = Path(__file__).resolve().parents[2] / "targets"
BOUND_KINDS = ("more_than", "less_than")
"""How a bound claim of the paper may be checked (``bounds`` values)."""


@dataclass(frozen=True)
class Sections:
    """The parsed ``targets/sections.yaml``."""

    path: Path
    doc: dict[str, Any]

    @property
    def sections(self) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = self.doc["sections"]
        return out

    def section(self, name: str) -> dict[str, Any]:
        return self.sections.get(name, {})

    def targets_file(self) -> tuple[str, str]:
        """``(path relative to the shared folder, sha256)`` of the pinned targets file."""
        pin = self.doc["targets_file"]
        return str(pin["path"]), str(pin["sha256"])

    def tolerance(self, section: str, path: tuple[str, ...]) -> float:
        """The absolute tolerance of a numeric leaf at ``path`` in ``section`` (0: exact)."""
        tol = self.section(section).get("tolerance", 0.0)
        if not isinstance(tol, dict):
            return float(tol)
        for key in path[1:]:
            if key in tol and key != "default":
                return float(tol[key])
        return float(tol.get("default", 0.0))

    def adopted(self) -> dict[str, str]:
        """Section -> reason, for the sections that are inputs of our method."""
        return {k: str(v["adopted"]) for k, v in self.sections.items() if "adopted" in v}

    def reason(self, key: str) -> str:
        return str(self.doc["reasons"][key])

    def static_reasons(self) -> dict[str, str]:
        """Target-id prefix -> reason, for targets never computed."""
        return {k: self.reason(v) for k, v in self.doc.get("static_reasons", {}).items()}

    def data_defects(self) -> dict[str, str]:
        """Target id -> reason, where the paper contradicts the study's own data."""
        return {str(k): str(v) for k, v in self.doc.get("data_defects", {}).items()}

    def bounds(self) -> dict[str, str]:
        """Target id -> ``more_than``/``less_than``, for the paper's bound claims."""
        return {str(k): str(v) for k, v in self.doc.get("bounds", {}).items()}

    def artefacts(self) -> list[tuple[str, tuple[str, ...]]]:
        """Paper artefact -> its sections, in the report's order."""
        return [(a, tuple(s for s, v in self.sections.items() if v.get("artefact") == a))
                for a in self.doc["artefacts"]]


def load_sections(targets_dir: Path | None = None) -> Sections:
    """``targets/sections.yaml`` of ``targets_dir`` (default: the checkout's)."""
    d = targets_dir if targets_dir is not None and (targets_dir / SECTIONS_YAML).exists() \
        else CHECKOUT_TARGETS
    path = d / SECTIONS_YAML
    doc = read_yaml(path)
    if not isinstance(doc, dict) or not isinstance(doc.get("sections"), dict):
        raise TaxonomyError(str(path), "no `sections` mapping")
    missing = {"targets_file", "artefacts", "reasons"} - set(doc)
    if missing:
        raise TaxonomyError(str(path), f"missing keys {sorted(missing)}")
    bad = {k: v for k, v in (doc.get("bounds") or {}).items() if v not in BOUND_KINDS}
    if bad:
        raise TaxonomyError(str(path), f"bounds {bad}: each value must be one of "
                            f"{', '.join(BOUND_KINDS)}")
    return Sections(path, doc)

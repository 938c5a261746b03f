"""The six project categories: one vocabulary for labels, tables and figures.

Pure: :meth:`Categories.from_entries` builds the vocabulary from the entries of
``taxonomy/categories.yaml`` (loaded by :func:`pipeline.taxonomy.load_categories`).  Every
spelling -- the id, the paper's, the display label and the aliases -- is matched after
lower-casing and collapsing whitespace, so ``"DL framwork"``, ``"MLOps/ AIOps"`` and
``"application "`` all find their category.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

_FIELDS = ("id", "paper", "display", "colour", "aliases")


class CategoriesInvalid(ValueError):
    """The category entries are malformed (the loader adds the file name)."""


def normalise(label: str) -> str:
    """Spellings compare case-insensitively with whitespace collapsed."""
    return " ".join(str(label).split()).lower()


@dataclass(frozen=True)
class Category:
    id: str
    paper: str
    display: str
    colour: str
    aliases: tuple[str, ...]


@dataclass(frozen=True)
class Categories:
    """The categories in Table 1 order, with a lookup from any spelling to the id."""

    entries: tuple[Category, ...]
    lookup: Mapping[str, str]

    @classmethod
    def from_entries(cls, entries: Iterable[Mapping[str, Any]]) -> Categories:
        cats: list[Category] = []
        lookup: dict[str, str] = {}
        for i, e in enumerate(entries):
            cat = _category(e, i)
            if any(c.id == cat.id for c in cats):
                raise CategoriesInvalid(f"duplicate id {cat.id!r}")
            for spelling in (cat.id, cat.paper, cat.display, *cat.aliases):
                key = normalise(spelling)
                other = lookup.setdefault(key, cat.id)
                if other != cat.id:
                    raise CategoriesInvalid(f"spelling {spelling!r} names both {other!r} and {cat.id!r}")
            cats.append(cat)
        if not cats:
            raise CategoriesInvalid("no categories")
        return cls(tuple(cats), lookup)

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(c.id for c in self.entries)

    def __contains__(self, cid: object) -> bool:
        return cid in self.ids

    def get(self, cid: str) -> Category:
        for c in self.entries:
            if c.id == cid:
                return c
        raise KeyError(f"unknown category id {cid!r}")

    def canonical(self, raw: str) -> str:
        """The id for any known spelling of a category; KeyError for an unknown one."""
        try:
            return self.lookup[normalise(raw)]
        except KeyError:
            raise KeyError(f"unknown category {raw!r}") from None

    def display(self, cid: str) -> str:
        """The label to print; an id that is not a category (``Unlabelled``) as it is."""
        return self.get(cid).display if cid in self.ids else cid

    def paper(self, cid: str) -> str:
        return self.get(cid).paper

    def colour(self, cid: str, default: str | None = None) -> str | None:
        """The figure colour of a category; ``default`` for anything else."""
        return self.get(cid).colour if cid in self.ids else default

    def ordered(self, present: Iterable[str]) -> list[str]:
        """``present`` in Table 1 order, other values after them, sorted."""
        seen = set(present)
        order = [c for c in self.ids if c in seen]
        return order + sorted(seen - set(order))


def _category(e: Mapping[str, Any], i: int) -> Category:
    if not isinstance(e, Mapping):
        raise CategoriesInvalid(f"entry #{i + 1} is not a mapping")
    missing = [f for f in _FIELDS if f not in e]
    if missing:
        raise CategoriesInvalid(f"entry {e.get('id', f'#{i + 1}')!r} lacks {', '.join(missing)}")
    texts = {f: e[f] for f in _FIELDS if f != "aliases"}
    bad = [f for f, v in texts.items() if not isinstance(v, str) or not v.strip()]
    if bad:
        raise CategoriesInvalid(f"entry {e.get('id')!r}: empty or non-text {', '.join(bad)}")
    aliases = e["aliases"] or []
    if not isinstance(aliases, list) or not all(isinstance(a, str) and a.strip() for a in aliases):
        raise CategoriesInvalid(f"entry {e['id']!r}: aliases must be a list of non-empty texts")
    return Category(id=texts["id"], paper=texts["paper"], display=texts["display"],
                    colour=texts["colour"], aliases=tuple(aliases))

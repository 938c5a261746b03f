"""File-type classes of the files in an image, both ways (RQ4, Figure 5).

* :func:`paper_extension` / :func:`real_extension` give the study's buggy extension key and
  the real one (original-rules.md 2.10);
* :class:`FileTypes` classifies a file with the study's ``file_categories2`` rules
  (``paper``) or exact extension lookups (``corrected``), both read from
  ``taxonomy/file_types.yaml`` by :func:`load_file_types`;
* :func:`paper_type_counts` / :func:`corrected_type_counts` count an image's entries
  (:class:`pipeline.images.layers.Entry`) per class.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import TaxonomyError
from ..taxonomy import read_yaml
from .layers import Entry


def path_suffixes(name: str) -> list[str]:
    """``pathlib.PurePath(name).suffixes`` (Python 3.11 semantics) for a bare name."""
    if name.endswith("."):
        return []
    name = name.lstrip(".")
    return ["." + s for s in name.split(".")[1:]]


def paper_extension(name: str) -> tuple[str, str]:
    """The study's (extension, save_extension) for a file name (original-rules.md 2.10).

    ``extension`` is ``suffixes[0]`` followed by ``.1``, ``.2``... for each further suffix
    (the index, not the suffix text): ``a.tar.gz`` -> ``.tar.1``; ``save_extension`` is
    ``suffixes[0]`` or ``none``.
    """
    sfx = path_suffixes(name)
    if not sfx:
        return "none", "none"
    ext = sfx[0] + "".join(f".{i}" for i in range(1, len(sfx)))
    return ext, sfx[0]


_COMPOUND = {"tar"}


def real_extension(name: str) -> str:
    """The real extension, lower-cased: trailing numeric parts (versions) are dropped and
    ``.tar.<x>`` is kept whole.  ``libfoo.so.6`` -> ``.so``, ``a.tar.gz`` -> ``.tar.gz``,
    ``.bashrc`` -> ``""``, ``python3.11`` -> ``""``.
    """
    parts = name.lstrip(".").split(".")
    if len(parts) < 2:
        return ""
    sfx = parts[1:]
    while sfx and (sfx[-1].isdigit() or not sfx[-1]):
        sfx.pop()
    if not sfx:
        return ""
    last = sfx[-1].lower()
    if len(sfx) >= 2 and sfx[-2].lower() in _COMPOUND:
        return f".{sfx[-2].lower()}.{last}"
    return f".{last}"


def check_extension(file_name: str, extension: str) -> str:
    """The study's key for ``file_categories2`` (original-rules.md 2.11 step 1)."""
    if extension == "none":
        return file_name
    ext = extension.replace("..", ".")
    parts = [p for p in ext.split(".") if p]
    if parts and all(p.isdigit() for p in parts):
        return file_name
    return ext


@dataclass(frozen=True)
class PaperRule:
    id: str
    label: str
    equals: tuple[str, ...] = ()
    contains: tuple[str, ...] = ()
    endswith: tuple[str, ...] = ()


@dataclass(frozen=True)
class SubstringRule:
    id: str
    label: str
    substrings: tuple[str, ...]


@dataclass(frozen=True)
class FileTypes:
    """The two classifiers of ``taxonomy/file_types.yaml``."""

    pre_rules: tuple[PaperRule, ...]
    substrings: tuple[SubstringRule, ...]
    by_extension: dict[str, str]
    by_name: dict[str, str]
    executable_label: str
    no_extension_label: str
    source: str = ""

    # ---- paper: file_categories2 / file_categories_dir
    def paper_label(self, key: str) -> str:
        """``file_categories2(key)``: pre-rules first, then the last matching substring entry."""
        for r in self.pre_rules:
            if key in r.equals or any(c in key for c in r.contains) or any(
                key.endswith(e) for e in r.endswith
            ):
                return r.label
        label = key
        low = key.lower()
        for s in self.substrings:
            for v in s.substrings:
                if v.lower() in low:
                    label = s.label
                    break
        return label

    def paper_file_label(self, name: str) -> str:
        ext, _ = paper_extension(name)
        return self.paper_label(check_extension(name, ext))

    # ---- corrected
    def corrected_label(self, name: str, mode: int = 0) -> str:
        ext = real_extension(name)
        if ext:
            hit = self.by_extension.get(ext)
            if hit is None and ext.startswith(".tar."):
                hit = self.by_extension.get(".tar." + ext.rsplit(".", 1)[-1])
            return hit if hit is not None else ext
        hit = self.by_name.get(name)
        if hit is not None:
            return hit
        if mode & 0o111:
            return self.executable_label
        return self.no_extension_label


def load_file_types(path: str | Path) -> FileTypes:
    """Load and validate ``taxonomy/file_types.yaml``."""
    path = Path(path)
    v = _Validator(str(path))
    paper, corr = v.sections(read_yaml(path))
    pre = [v.pre_rule(r) for r in paper.get("pre_rules") or []]
    subs = [v.substring_rule(r) for r in paper.get("substrings") or []]
    by_ext, by_name = v.classes(corr.get("classes") or [])
    if not pre or not subs or not by_ext:
        raise TaxonomyError(v.src, "paper.pre_rules, paper.substrings and corrected.classes must not be empty")
    return FileTypes(
        tuple(pre), tuple(subs), by_ext, by_name,
        str(corr.get("executable_label") or "Executable"),
        str(corr.get("no_extension_label") or "no extension"),
        v.src,
    )


class _Validator:
    """The checks of :func:`load_file_types`; every problem is a :class:`TaxonomyError`."""

    def __init__(self, src: str) -> None:
        self.src = src
        self.ids: dict[str, set[str]] = {"paper": set(), "classes": set()}

    def fail(self, message: str) -> TaxonomyError:
        return TaxonomyError(self.src, message)

    def sections(self, data: Any) -> tuple[dict[str, Any], dict[str, Any]]:
        """The ``paper`` and ``corrected`` mappings, with no unknown keys at any level."""
        if not isinstance(data, dict) or set(data) - {"version", "paper", "corrected"}:
            raise self.fail("top level must have only version, paper and corrected")
        paper = data.get("paper") or {}
        corr = data.get("corrected") or {}
        if set(paper) - {"pre_rules", "substrings"}:
            raise self.fail(f"unknown keys in paper: {sorted(set(paper) - {'pre_rules', 'substrings'})}")
        allowed_corr = {"classes", "executable_label", "no_extension_label"}
        if set(corr) - allowed_corr:
            raise self.fail(f"unknown keys in corrected: {sorted(set(corr) - allowed_corr)}")
        return paper, corr

    def new_id(self, i: Any, where: str) -> str:
        ns = self.ids["classes" if where == "classes" else "paper"]
        if not isinstance(i, str) or not i:
            raise self.fail(f"{where}: entry without an id")
        if i in ns:
            raise self.fail(f"{where}: duplicate id {i!r}")
        ns.add(i)
        return i

    def strs(self, v: Any, where: str) -> tuple[str, ...]:
        if v is None:
            return ()
        if not isinstance(v, list) or not all(isinstance(x, str) and x for x in v):
            raise self.fail(f"{where}: must be a list of non-empty strings")
        if len(set(v)) != len(v):
            dup = sorted({x for x in v if v.count(x) > 1})
            raise self.fail(f"{where}: duplicate keywords {dup}")
        return tuple(v)

    def keys(self, r: dict[str, Any], where: str, allowed: set[str]) -> None:
        extra = set(r) - allowed
        if extra:
            raise self.fail(f"{where}: unknown keys {sorted(extra)}")

    def pre_rule(self, r: dict[str, Any]) -> PaperRule:
        self.keys(r, "pre_rules", {"id", "label", "equals", "contains", "endswith"})
        rid = self.new_id(r.get("id"), "pre_rules")
        rule = PaperRule(
            rid, str(r.get("label") or ""), self.strs(r.get("equals"), rid),
            self.strs(r.get("contains"), rid), self.strs(r.get("endswith"), rid),
        )
        if not rule.label or not (rule.equals or rule.contains or rule.endswith):
            raise self.fail(f"pre rule {rid!r}: empty label or rules")
        return rule

    def substring_rule(self, r: dict[str, Any]) -> SubstringRule:
        self.keys(r, "substrings", {"id", "label", "substrings"})
        rid = self.new_id(r.get("id"), "substrings")
        s = self.strs(r.get("substrings"), rid)
        if not s or not r.get("label"):
            raise self.fail(f"substring rule {rid!r}: empty label or rules")
        return SubstringRule(rid, str(r["label"]), s)

    def classes(self, classes: list[dict[str, Any]]) -> tuple[dict[str, str], dict[str, str]]:
        """(extension -> label, file name -> label) of the corrected classes."""
        by_ext: dict[str, str] = {}
        by_name: dict[str, str] = {}
        for c in classes:
            self.keys(c, "classes", {"id", "label", "description", "extensions", "names"})
            cid = self.new_id(c.get("id"), "classes")
            exts = self.strs(c.get("extensions"), cid)
            names = self.strs(c.get("names"), cid)
            if not c.get("label") or not str(c.get("description") or "").strip():
                raise self.fail(f"class {cid!r}: needs a label and a description")
            if not exts and not names:
                raise self.fail(f"class {cid!r}: empty rules")
            for e in exts:
                if not e.startswith(".") or e != e.lower():
                    raise self.fail(f"class {cid!r}: extension {e!r} must be lower case and start with '.'")
                if e in by_ext:
                    raise self.fail(f"class {cid!r}: extension {e!r} already in class {by_ext[e]!r}")
                by_ext[e] = str(c["label"])
            for n in names:
                if n in by_name:
                    raise self.fail(f"class {cid!r}: name {n!r} already in class {by_name[n]!r}")
                by_name[n] = str(c["label"])
        return by_ext, by_name


def paper_type_counts(entries: Iterable[Entry], ft: FileTypes) -> dict[str, tuple[int, int]]:
    """The study's per-image file types: every non-directory entry of every layer, keyed by
    ``file_categories2(check_extension(...))``; a label holding a single file is replaced
    by ``file_categories_dir(full path)`` (original-rules.md 2.11 step 3)."""
    per: dict[str, list[tuple[str, int]]] = {}
    for e in entries:
        if e.kind == "dir":
            continue
        per.setdefault(ft.paper_file_label(e.name), []).append(("/" + e.path, e.size))
    out: dict[str, list[int]] = {}
    for label, items in per.items():
        if len(items) == 1:
            label = ft.paper_label(items[0][0])
        acc = out.setdefault(label, [0, 0])
        for _, size in items:
            acc[0] += 1
            acc[1] += size
    return {k: (v[0], v[1]) for k, v in out.items()}


def corrected_type_counts(entries: Iterable[Entry], ft: FileTypes) -> dict[str, tuple[int, int]]:
    """Regular files and hard links by corrected class (hard links count 0 bytes)."""
    out: dict[str, list[int]] = {}
    for e in entries:
        if e.kind not in ("file", "hardlink"):
            continue
        acc = out.setdefault(ft.corrected_label(e.name, e.mode), [0, 0])
        acc[0] += 1
        acc[1] += e.size
    return {k: (v[0], v[1]) for k, v in out.items()}

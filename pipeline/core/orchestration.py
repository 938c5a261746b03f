"""Orchestration and GPU signals of one file, and versions read from base images (pure).

The rules are data (``taxonomy/orchestration.yaml``, loaded by
:func:`pipeline.taxonomy.load_orchestration` into :class:`OrchestrationRules`); this module
only applies them: :meth:`OrchestrationRules.file_signals` to a file's path and bytes,
:meth:`OrchestrationRules.image_signals` and :meth:`OrchestrationRules.versions` to a base
image's ``repository:tag``.  No file reading, no pandas.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from .compose import ComposeError, load_yaml

GROUPS = ("orchestration", "gpu", "version")
FIELDS = ("file_names", "path_patterns", "yaml_keys", "compose_keys", "image_patterns",
          "text_patterns", "tag_patterns")
CASE_SENSITIVE = ("yaml_keys", "compose_keys", "text_patterns")
_YAML_SUFFIXES = (".yaml", ".yml")
_MAX_TEXT = 1024 * 1024


class OrchestrationInvalid(ValueError):
    """A rule the core cannot use (bad group, bad regex, a version rule without a group)."""


@dataclass(frozen=True)
class Signal:
    signal: str  # the entry id
    group: str  # orchestration | gpu
    detail: str  # what fired: the rule and the matched text


@dataclass(frozen=True)
class _Entry:
    id: str
    group: str
    file_names: frozenset[str]
    path_patterns: tuple[re.Pattern[str], ...]
    yaml_keys: tuple[str, ...]
    compose_keys: tuple[tuple[tuple[str, ...], str | None], ...]
    image_patterns: tuple[re.Pattern[str], ...]
    text_patterns: tuple[re.Pattern[str], ...]
    tag_patterns: tuple[re.Pattern[str], ...]


def _compile(eid: str, patterns: list[str], group1: bool = False) -> tuple[re.Pattern[str], ...]:
    out = []
    for rx in patterns:
        try:
            pat = re.compile(rx)
        except re.error as exc:
            raise OrchestrationInvalid(f"{eid}: bad regex {rx!r}: {exc}") from exc
        if group1 and pat.groups < 1:
            raise OrchestrationInvalid(f"{eid}: version pattern {rx!r} needs a capture group")
        out.append(pat)
    return tuple(out)


def _compose_key(spec: str) -> tuple[tuple[str, ...], str | None]:
    path, _, value = spec.partition("=")
    return tuple(path.split(".")), (value or None)


@dataclass(frozen=True)
class OrchestrationRules:
    entries: tuple[_Entry, ...]

    @classmethod
    def from_entries(cls, entries: list[dict[str, Any]]) -> OrchestrationRules:
        """``entries`` as :func:`pipeline.taxonomy.load_yaml_rules` returns them."""
        out = []
        for e in entries:
            eid, group = str(e["id"]), str(e.get("group") or "")
            if group not in GROUPS:
                raise OrchestrationInvalid(f"{eid}: group {group!r} is not one of {GROUPS}")
            r = e.get("rules") or {}
            if group == "version" and set(r) != {"tag_patterns"}:
                raise OrchestrationInvalid(f"{eid}: a version entry has only tag_patterns")
            out.append(_Entry(
                eid, group, frozenset(s.lower() for s in r.get("file_names", [])),
                _compile(eid, r.get("path_patterns", [])), tuple(r.get("yaml_keys", [])),
                tuple(_compose_key(s) for s in r.get("compose_keys", [])),
                _compile(eid, r.get("image_patterns", [])), _compile(eid, r.get("text_patterns", [])),
                _compile(eid, r.get("tag_patterns", []), group1=group == "version"),
            ))
        return cls(tuple(out))

    @property
    def signal_ids(self) -> tuple[str, ...]:
        return tuple(e.id for e in self.entries if e.group != "version")

    def group(self, signal: str) -> str:
        return next(e.group for e in self.entries if e.id == signal)

    # -- collect: which paths to list ---------------------------------------------------

    def wanted(self, path: str) -> str | None:
        """The entry id that makes collect list ``path`` (by name), or None."""
        low = path.lower()
        base = low.rsplit("/", 1)[-1]
        for e in self.entries:
            if base in e.file_names or any(p.search(low) for p in e.path_patterns):
                return e.id
        return None

    # -- one file ------------------------------------------------------------------------

    def file_signals(self, path: str, data: bytes, kind: str) -> list[Signal]:
        """Signals of one file; ``kind`` is files.kind (dockerfile, compose, not_dockerfile).

        A file that cannot be read as YAML simply yields no YAML signals (never an error:
        most candidates are not YAML)."""
        base = path.rsplit("/", 1)[-1].lower()
        out: list[Signal] = []
        for e in self.entries:
            if base in e.file_names:
                out.append(Signal(e.id, e.group, f"file name {base}"))
        text = data[:_MAX_TEXT].decode("utf-8", errors="replace")
        docs = _yaml_docs(data) if kind == "compose" or base.endswith(_YAML_SUFFIXES) else []
        for e in self.entries:
            if e.yaml_keys and any(isinstance(d, dict) and all(k in d for k in e.yaml_keys)
                                   for d in docs):
                kinds = sorted({str(d.get("kind")) for d in docs
                                if isinstance(d, dict) and all(k in d for k in e.yaml_keys)})
                out.append(Signal(e.id, e.group, "kind " + ",".join(kinds)))
            if e.compose_keys and kind == "compose":
                for doc in docs[:1]:
                    hit = _compose_hit(doc, e.compose_keys)
                    if hit:
                        out.append(Signal(e.id, e.group, hit))
            for pat in e.text_patterns:
                m = pat.search(text)
                if m:
                    out.append(Signal(e.id, e.group, " ".join(m.group(0).split())[:80]))
                    break
        return out

    # -- base images ---------------------------------------------------------------------

    def image_signals(self, repository: str, tag: str) -> list[Signal]:
        """Signals of one base image (``repository`` without tag, lower case)."""
        ref = f"{repository.lower()}:{tag.lower()}"
        out = []
        for e in self.entries:
            if e.group == "version":
                continue
            if any(p.search(repository.lower()) for p in e.image_patterns) \
                    or any(p.search(ref) for p in e.tag_patterns):
                out.append(Signal(e.id, e.group, ref))
        return out

    def versions(self, repository: str, tag: str) -> dict[str, str]:
        """``{version id: value}`` read from a base image; ``os_version`` as ``name:release``."""
        ref = f"{repository.lower()}:{tag.lower()}"
        out: dict[str, str] = {}
        for e in self.entries:
            if e.group != "version":
                continue
            for p in e.tag_patterns:
                m = p.search(ref)
                if m:
                    out[e.id] = _name_colon(m.group(1))
                    break
        return out


def repository(registry: str, namespace: str, name: str) -> str:
    """A base image's repository as the rules read it: ``ubuntu``, ``nvidia/cuda``,
    ``nvcr.io/nvidia/pytorch`` (Docker Hub's ``library/`` and host left out)."""
    if registry in ("", "docker.io"):
        return name if namespace in ("", "library") else f"{namespace}/{name}"
    return "/".join(x for x in (registry, namespace, name) if x)


def _name_colon(v: str) -> str:
    """``ubuntu18.04`` -> ``ubuntu:18.04``, ``ubuntu14_04`` / ``ubuntu16-04`` -> ``ubuntu:14.04`` /
    ``ubuntu:16.04``; other values unchanged."""
    m = re.fullmatch(r"([a-z]+)(\d+)(?:[._-](\d+))?", v)
    if not m:
        return v
    return f"{m.group(1)}:{m.group(2)}" + (f".{m.group(3)}" if m.group(3) else "")


def _yaml_docs(data: bytes) -> list[Any]:
    """Every document of a YAML stream, with compose's size and alias guards; [] if unreadable."""
    text = data.decode("utf-8", errors="replace")
    if len(data) > _MAX_TEXT:
        return []
    try:
        docs = []
        for chunk in re.split(r"(?m)^---[^\n]*$", text):
            if chunk.strip():
                docs.append(load_yaml(chunk))
        return docs
    except (ComposeError, ValueError):
        return []


def _walk(node: Any, path: tuple[str, ...]) -> list[Any]:
    if not path:
        return [node]
    head, rest = path[0], path[1:]
    if head == "*":
        items = node if isinstance(node, list) else []
        return [v for item in items for v in _walk(item, rest)]
    if isinstance(node, dict) and head in node:
        return _walk(node[head], rest)
    return []


def _compose_hit(doc: Any, keys: tuple[tuple[tuple[str, ...], str | None], ...]) -> str:
    """The first ``service: key=value`` that matches, or ''."""
    services = doc.get("services") if isinstance(doc, dict) else None
    if not isinstance(services, dict):
        return ""
    for name, svc in services.items():
        for path, value in keys:
            found = _walk(svc, path)
            if any(value is None or str(v).lower() == value for v in found):
                return f"{name}: {'.'.join(path)}" + (f"={value}" if value else "")
    return ""

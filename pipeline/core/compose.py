"""The one compose-file reader: guarded YAML loading and the services it declares.

Pure: :func:`read_compose` takes the file's bytes (or text) and returns a
:class:`ComposeFile`; it never touches the file system.  Three guards run on hostile input,
each with a fixed message (tests pin them):

* size: more than :data:`MAX_BYTES` bytes -> ``file too large (N bytes > MAX)``;
* depth: a cheap scan of the text (:func:`nesting_depth`: block indentation, ``- ``
  entries and flow ``[``/``{``) **before** PyYAML sees it -> ``YAML nested deeper than 64
  levels``, whatever limit the installed PyYAML has of its own;
* alias bombs: the node count with aliases expanded -> ``YAML expands to more than N
  nodes (alias bomb?)``.

Layouts: compose v2/v3 (a ``services:`` mapping) and v1 (services at the top level,
recognised as mappings with an ``image`` or ``build`` key).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

import yaml

MAX_BYTES = 1024 * 1024
MAX_DEPTH = 64
MAX_NODES = 200_000


class ComposeError(ValueError):
    """A compose file cannot be read safely; ``reason`` is a short code, ``detail`` the cause.

    ``reason`` is one of ``too_large``, ``binary``, ``too_deep``, ``invalid_yaml``,
    ``alias_bomb``, ``not_mapping``, ``no_services``, ``services_not_mapping``.
    """

    def __init__(self, reason: str, message: str, detail: str = "") -> None:
        super().__init__(message)
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class Service:
    """One service of a compose file; list fields hold scalars (other items JSON-encoded)."""

    name: str
    image: str
    build_context: str
    ports: tuple[Any, ...]
    networks: tuple[Any, ...]
    volumes: tuple[Any, ...]
    environment_count: int
    depends_on: tuple[Any, ...]


@dataclass(frozen=True)
class ComposeFile:
    """A read compose file.

    ``layout``: ``v2`` (a ``services`` mapping, v2/v3 files), ``v1`` (no usable ``services``
    mapping, service entries at the top level) or ``none`` (neither).  ``services_key``:
    ``mapping``, ``missing`` (absent or null) or ``other`` (a list, a string, ...).
    ``version`` is the ``version`` value as text, None when absent or null.
    """

    version: str | None
    layout: str
    services_key: str
    services: tuple[Service, ...]
    sections: tuple[str, ...]


# --------------------------------------------------------------------------------------
# the depth scan (runs before PyYAML)
# --------------------------------------------------------------------------------------

_BLOCK_SCALAR = re.compile(r"(?:^|[\s:])[|>][-+0-9]*\s*(?:#.*)?$")
_ENTRY = re.compile(r"(?:-(?:\s+|$))+")


def _flow_delta(s: str, depth: int, stop: int) -> tuple[int, int]:
    """(final flow depth, deepest flow depth) after scanning ``s`` from flow ``depth``.

    A bracket or quote counts where a value starts (line start, after ``:``, ``-``, ``,``
    or another bracket, a tag ``!x`` or an anchor ``&x`` in between); inside quotes and
    after a `` #`` comment nothing counts.
    """
    deepest = depth
    quote = ""
    last = ""  # the last non-blank character outside quotes, tags and anchors
    prev = " "  # the previous character
    escaped = prop = False
    for ch in s:
        was, prev = prev, ch
        if prop:  # a tag or anchor word: skipped, it does not end the value start
            prop = ch not in " \t"
            continue
        if quote:
            if escaped:
                escaped = False
            elif ch == "\\" and quote == '"':
                escaped = True
            elif ch == quote:
                quote, last = "", ch
            continue
        if ch in " \t":
            continue
        if ch == "#" and was in " \t":
            break
        starts_value = last in ("", ":", "-", ",", "[", "{")
        if ch in "!&" and starts_value:
            prop = True
            continue
        if ch in "'\"" and starts_value:
            quote = ch
        elif ch in "[{" and (depth or starts_value):
            depth += 1
            deepest = max(deepest, depth)
            if deepest > stop:
                break
        elif ch in "]}" and depth:
            depth -= 1
        last = ch
    return depth, deepest


_KEY = re.compile(r"""[^\s#'"][^#]*?:(\s|$)|['"].*['"]\s*:(\s|$)""")


def _line_weight(body: str) -> tuple[int, bool]:
    """(levels a block line opens, whether it is a ``- `` entry)."""
    m = _ENTRY.match(body)
    entries = m.group(0).count("-") if m else 0
    rest = body[m.end():] if m else body
    return (max(1, entries + (1 if _KEY.match(rest) else 0)) if entries else 1), bool(entries)


def nesting_depth(text: str, stop: int = MAX_DEPTH) -> int:
    """An estimate of the YAML nesting depth of ``text``, without parsing it.

    Block lines: a stack of indentation levels, each weighing its ``- `` entries (plus one
    when the entry holds a mapping); a compact sequence (``key:`` then ``- x`` at the same
    indentation) counts as a level of its own.  Flow brackets add to the line's depth.
    Block scalars (``|``/``>``), comments and quoted text are skipped.  Stops early once
    past ``stop``.
    """
    stack: list[tuple[int, int, bool]] = []  # (indent, weight, is_entry)
    level = flow = deepest = 0
    scalar_indent = -1
    for line in text.splitlines():
        body = line.lstrip(" ")
        ind = len(line) - len(body)
        if not body.strip() or (not flow and body.startswith("#")):
            continue
        if scalar_indent >= 0:
            if ind > scalar_indent:
                continue
            scalar_indent = -1
        if not flow:
            weight, entry = _line_weight(body)
            while stack and (stack[-1][0] > ind
                             or (stack[-1][0] == ind and not (entry and not stack[-1][2]))):
                level -= stack.pop()[1]
            stack.append((ind, weight, entry))
            level += weight
        flow, line_deepest = _flow_delta(body, flow, stop)
        deepest = max(deepest, level + line_deepest)
        if deepest > stop:
            return deepest
        if not flow and _BLOCK_SCALAR.search(body):
            scalar_indent = ind
    return deepest


# --------------------------------------------------------------------------------------
# guarded loading
# --------------------------------------------------------------------------------------


def _expanded_size(doc: Any) -> int:
    """Node count with aliases expanded (memoised on identity); rejects alias bombs."""
    memo: dict[int, int] = {}

    def size(v: Any) -> int:
        if not isinstance(v, dict | list):
            return 1
        k = id(v)
        if k in memo:
            return memo[k]
        memo[k] = 1  # cycles (recursive anchors) count once
        children = v.values() if isinstance(v, dict) else v
        n = 1 + sum(size(c) for c in children)
        if n > MAX_NODES:
            raise ComposeError("alias_bomb", f"YAML expands to more than {MAX_NODES} nodes (alias bomb?)")
        memo[k] = n
        return n

    try:
        return size(doc)
    except RecursionError as exc:
        raise ComposeError("too_deep", f"YAML nested deeper than {MAX_DEPTH} levels") from exc


def _event_depth(text: str, loader: Any) -> None:
    """Second guard, on PyYAML's event stream (no tree is built): the scan above is an
    estimate, this is exact for what the scan lets through."""
    depth = 0
    for ev in yaml.parse(text, Loader=loader):
        if isinstance(ev, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                raise ComposeError("too_deep", f"YAML nested deeper than {MAX_DEPTH} levels")
        elif isinstance(ev, yaml.CollectionEndEvent):
            depth -= 1


def load_yaml(data: bytes | str) -> Any:
    """``yaml.safe_load`` behind the size, depth and alias-bomb guards."""
    size = len(data.encode("utf-8", errors="replace")) if isinstance(data, str) else len(data)
    if size > MAX_BYTES:
        raise ComposeError("too_large", f"file too large ({size} bytes > {MAX_BYTES})")
    if isinstance(data, bytes):
        if b"\x00" in data[:8192]:
            raise ComposeError("binary", "binary file (NUL bytes)")
        text = data.decode("utf-8", errors="replace")
    else:
        text = data
    if nesting_depth(text) > MAX_DEPTH:
        raise ComposeError("too_deep", f"YAML nested deeper than {MAX_DEPTH} levels")
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        _event_depth(text, loader)
        doc = yaml.load(text, Loader=loader)  # noqa: S506 -- a safe loader
    except (yaml.YAMLError, RecursionError) as exc:
        detail = str(exc) or exc.__class__.__name__
        raise ComposeError("invalid_yaml", f"invalid YAML: {' '.join(detail.split())}",
                           detail.splitlines()[0]) from exc
    _expanded_size(doc)
    return doc


# --------------------------------------------------------------------------------------
# services
# --------------------------------------------------------------------------------------


def v1_services(doc: dict[Any, Any]) -> dict[Any, Any]:
    """Compose v1 (no ``services`` key): the top-level entries with an ``image`` or ``build``."""
    return {k: v for k, v in doc.items() if isinstance(v, dict) and ("image" in v or "build" in v)}


def _as_list(v: Any) -> tuple[Any, ...]:
    if v is None:
        return ()
    if isinstance(v, dict):
        return tuple(v)
    if isinstance(v, list):
        return tuple(x if isinstance(x, str | int | float) else json.dumps(x, default=str) for x in v)
    return (v,)


def service(name: Any, svc: Any) -> Service:
    """One :class:`Service` from its name and mapping (anything else reads as empty)."""
    svc = svc if isinstance(svc, dict) else {}
    build = svc.get("build")
    context = build.get("context", "") if isinstance(build, dict) else (build or "")
    env = svc.get("environment")
    return Service(
        name=str(name), image=str(svc.get("image") or ""), build_context=str(context),
        ports=_as_list(svc.get("ports")), networks=_as_list(svc.get("networks")),
        volumes=_as_list(svc.get("volumes")),
        environment_count=len(env) if isinstance(env, dict | list) else 0,
        depends_on=_as_list(svc.get("depends_on")),
    )


def compose_from_doc(doc: Any) -> ComposeFile:
    """A :class:`ComposeFile` from an already loaded YAML document."""
    if not isinstance(doc, dict):
        raise ComposeError("not_mapping", "not a YAML mapping")
    raw = doc.get("services")
    version = doc.get("version")
    if isinstance(raw, dict):
        key, layout, entries = "mapping", "v2", raw
    else:
        key = "missing" if raw is None else "other"
        entries = v1_services(doc)
        layout = "v1" if entries else "none"
    return ComposeFile(
        version=None if version is None else str(version), layout=layout, services_key=key,
        services=tuple(service(n, s) for n, s in entries.items()),
        sections=tuple(str(k) for k in doc),
    )


def read_compose(data: bytes | str) -> ComposeFile:
    """Read a compose file's bytes or text; :class:`ComposeError` when it cannot be."""
    return compose_from_doc(load_yaml(data))

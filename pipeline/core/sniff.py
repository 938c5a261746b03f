"""File kind by content: Dockerfile, compose file, or neither.

Pure: :func:`classify_file` takes a file's basename and bytes and returns
``(name_match, kind, reason)``.  ``name_match`` is how the study's scripts would have
collected the file from its name (:func:`name_match`); ``kind`` is decided by content:

* ``dockerfile``: the first instruction after blank lines, comments, parser directives and
  ARGs is a well-formed ``FROM`` (:func:`first_instruction`), and the text has no Jinja
  control lines;
* ``compose``: a YAML mapping with a ``services`` mapping or v1-style service entries, read
  by :func:`pipeline.core.compose.read_compose` (its size, depth and alias guards included);
* ``not_dockerfile`` otherwise, with the reason.
"""

from __future__ import annotations

import re

from .compose import ComposeError, read_compose
from .dockerfile import logical_lines, physical_lines

MAX_CONTENT_SNIFF = 1_000_000  # bytes of a file examined to decide its kind

_JINJA = re.compile(r"^\s*\{%", re.M)


def name_match(name: str) -> str:
    """How the study's scripts would have collected a file, from its basename."""
    low = name.lower()
    if "dockerfile" in low:
        return "dockerfile"
    if "docker-compose" in low or low in ("compose.yml", "compose.yaml"):
        return "compose"
    return "other"


def first_instruction(text: str) -> tuple[str | None, int]:
    """First instruction keyword after blank lines, comments, parser directives and ARGs,
    as :func:`pipeline.core.dockerfile.logical_lines` reads the text.

    Returns ``(KEYWORD, line number)``; ``(None, n)`` when line ``n`` is not an
    instruction (its first word is not a keyword-like word); ``(None, 0)`` when there is none.
    """
    for raw in logical_lines(text)[0]:
        if not raw.keyword.isascii() or not raw.keyword.isalpha():
            return None, raw.line
        if raw.keyword != "ARG":
            return raw.keyword, raw.line
    return None, 0


def _valid_from(line: str) -> bool:
    """``FROM [--flag=x ...] image [AS name]`` (rejects e.g. Python's ``from x import y``)."""
    line = re.sub(r"\s#.*$", "", line)  # a trailing comment is a common slip, not a sign
    tokens = [t for t in line.split()[1:] if not t.startswith("--")]
    return len(tokens) == 1 or (len(tokens) == 3 and tokens[1].lower() == "as")


def compose_like(text: str, size: int) -> tuple[bool, str]:
    """Whether ``text`` (of a file of ``size`` bytes) is a compose file, and why."""
    if size > MAX_CONTENT_SNIFF:
        return False, f"too large to be checked ({size} bytes)"
    try:
        cf = read_compose(text)
    except ComposeError as exc:
        if exc.reason == "not_mapping":
            return False, "YAML is not a mapping"
        if exc.reason == "invalid_yaml":
            return False, f"invalid YAML ({exc.detail})"
        return False, str(exc)
    if cf.layout == "v2":
        version = "unset" if cf.version is None else cf.version
        return True, f"compose file with {len(cf.services)} services (version {version})"
    if cf.layout == "v1":
        return True, f"compose v1 file with {len(cf.services)} services"
    return False, "YAML mapping without services"


def _decoded_head(data: bytes) -> str:
    text = data[:MAX_CONTENT_SNIFF].decode("utf-8", errors="replace")
    return text[1:] if text.startswith("\ufeff") else text


def classify_file(name: str, data: bytes) -> tuple[str, str, str]:
    """``(name_match, kind, reason)`` for a file named ``name`` (a basename) with ``data``."""
    nm = name_match(name)
    if not data.strip():
        return nm, "not_dockerfile", "empty file"
    if b"\x00" in data[:MAX_CONTENT_SNIFF]:
        return nm, "not_dockerfile", "binary content (NUL bytes)"
    text = _decoded_head(data)
    word, line = first_instruction(text)
    if word == "FROM":
        if _JINJA.search(text):
            return nm, "not_dockerfile", "template: has Jinja control lines ({% ... %})"
        if not _valid_from(physical_lines(text)[line - 1]):
            return nm, "not_dockerfile", f"line {line} starts with FROM but is not 'FROM image [AS name]'"
        return nm, "dockerfile", f"FROM at line {line} after comments/ARGs"
    if nm == "compose" or name.lower().endswith((".yml", ".yaml")):
        ok, why = compose_like(text, len(data))
        if ok:
            return nm, "compose", why
        if nm == "compose":
            return nm, "not_dockerfile", f"named like a compose file but {why}"
    if word is None and line:
        return nm, "not_dockerfile", f"line {line} is not a Dockerfile instruction"
    if word is None:
        return nm, "not_dockerfile", "no instruction (only comments or ARGs)"
    return nm, "not_dockerfile", f"first instruction is {word} at line {line}, not FROM"

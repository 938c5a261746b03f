"""Paper mode: the original study's Dockerfile reader, reproduced exactly (pure).

dockerfile-parse's ``structure`` as the study used it (``docs/original-rules.md`` §2.4-2.6):
the regex ``^\\s*(\\S+)\\s+(.*)$`` with continuations, COMMENT dropped, every other
"instruction" counted, and command keywords counted as exact whitespace tokens of every
instruction value.  Do not "fix" anything here: the study's tables depend on each quirk.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from . import imageref
from .dockerfile import BaseImage, Command, Instruction, ParsedDockerfile

_ESCAPE_RE = re.compile(r"^\s*#\s*escape\s*=\s*(\\|`)\s*$", re.I)
_SYNTAX_RE = re.compile(r"^\s*#\s*(syntax|check)\s*=.*$", re.I)

# ---------------------------------------------------------------------------------------
# paper mode: the study's parser and token counting
# ---------------------------------------------------------------------------------------

_INSN_RE = re.compile(r"^\s*(\S+)\s+(.*)$")
_COMMENT_RE = re.compile(r"^\s*#")


def paper_structure(text: str) -> list[tuple[int, str, str]]:
    """dockerfile-parse's ``structure`` as the study used it: (0-based line, INSTR, value).

    COMMENT entries are dropped; everything else the regex matches is an "instruction",
    whatever the file is.
    """
    out: list[tuple[int, str, str]] = []
    cont_char = "\\"
    contre = re.compile(r"^.*\\\s*$")
    directive_possible = True
    in_cont = False
    cur: list[Any] | None = None
    for lineno, line in enumerate(_keep_ends(text)):
        if directive_possible:
            m = _ESCAPE_RE.match(line)
            if m:
                cont_char = m.group(1)
                contre = re.compile(r"^.*" + re.escape(cont_char) + r"\s*$")
            elif not _SYNTAX_RE.match(line):
                directive_possible = False
        if _COMMENT_RE.match(line):
            continue
        if not in_cont:
            m = _INSN_RE.match(line)
            if not m:
                continue
            cur = [lineno, m.group(1).upper(), _rstrip_eol(m.group(2), cont_char)]
        elif cur is not None:
            if cur[2]:
                cur[2] += _rstrip_eol(line, cont_char)
            else:
                cur[2] = _rstrip_eol(line.lstrip(), cont_char)
        in_cont = bool(contre.match(line))
        if not in_cont and cur is not None:
            out.append((cur[0], cur[1], cur[2]))
            cur = None
    return out


def _keep_ends(text: str) -> list[str]:
    parts = text.split("\n")
    lines = [p + "\n" for p in parts[:-1]]
    if parts[-1]:
        lines.append(parts[-1])
    return lines


def _rstrip_eol(text: str, cont_char: str = "\\") -> str:
    text = text.rstrip()
    if text.endswith(cont_char):
        return text[:-1]
    return text


def parse_paper(text: str, keywords: Mapping[str, str] | None = None) -> ParsedDockerfile:
    """Paper mode: the study's instructions; ``keywords`` (token -> category) gives commands."""
    pd_ = ParsedDockerfile(mode="paper")
    stage = -1
    for lineno, instr, value in paper_structure(text):
        if instr == "FROM":
            stage += 1
            pd_.base_images.append(_paper_base_image(stage, lineno + 1, value))
        pd_.instructions.append(Instruction(stage, lineno + 1, instr, value, value))
        if keywords:
            for tok in value.split():
                if tok in keywords:
                    pd_.commands.append(Command(stage, lineno + 1, tok, "", "paper_token"))
    return pd_


def _paper_base_image(stage: int, line: int, value: str) -> BaseImage:
    """The study kept raw FROM values; we still split them for the table."""
    ref = imageref.parse(value.split()[0] if value.split() else "")
    m = re.search(r"\s+as\s+(\S+)\s*$", value, re.I)
    return BaseImage(
        stage=stage, line=line, raw=value, image=value, registry=ref.registry,
        namespace=ref.namespace, name=ref.name, tag=ref.tag, digest=ref.digest,
        alias=m.group(1) if m else "", platform="", is_stage_reference=False,
        is_variable="$" in value, official=ref.official,
    )



"""The one trusted Dockerfile parser (pure: no I/O, no pandas), in two modes.

``corrected``
    BuildKit's reading (``docs.docker.com/reference/dockerfile``, the parser of
    ``moby/buildkit``): parser directives ``# escape=`` / ``# syntax=`` / ``# check=`` only
    before the first other line; the escape character; continuations (an escaped escape
    character ends no line) with comment and empty lines inside dropped; heredocs on RUN,
    COPY and ADD (and ONBUILD of those; never in exec form), several per line, their words
    read as shell words; JSON (exec) form, where an array with a non-string element is an
    error; builder flags; ENV/ARG/LABEL key-value pairs; stages and aliases; ARG/ENV
    substitution bounded at :data:`MAX_EXPANSION` characters per value and
    :data:`MAX_EXPANSION_TOTAL` per file.  One bad instruction is one entry of ``errors``
    (status ``partial``); the rest of the file is still read.
``paper``
    The original study's rules (``docs/original-rules.md`` §2.4-2.6): dockerfile-parse's
    ``structure`` regex ``^\\s*(\\S+)\\s+(.*)$`` with continuations, COMMENT dropped, every
    other "instruction" counted, and command keywords counted as exact whitespace tokens of
    every instruction value.

``parse_dockerfile(text, mode)`` returns a :class:`ParsedDockerfile`; the commands of each
RUN come from :mod:`pipeline.core.runcmds`, image references from
:mod:`pipeline.core.imageref`, the categories from :mod:`pipeline.core.taxonomy`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache

from . import imageref
from .modes import MODE_NAMES
from .runcmds import run_commands
from .shell import (
    MAX_EXPANSION,
    ExpansionTooLarge,
    heredoc_name,
    heredoc_word,
    raw_words,
    shell_value,
    split_flags,
    substitute,
)

MODES = MODE_NAMES

#: Files larger than this are rejected (a Dockerfile is a few kB; the largest in the
#: package is well under 100 kB).
MAX_BYTES = 2 * 1024 * 1024
#: Characters all ARG/ENV substitutions of one file may produce.
MAX_EXPANSION_TOTAL = 4 * MAX_EXPANSION
VALID_INSTRUCTIONS = frozenset({"FROM", "RUN", "CMD", "LABEL", "MAINTAINER", "EXPOSE", "ENV",
                                "ADD", "COPY", "ENTRYPOINT", "VOLUME", "USER", "WORKDIR", "ARG",
                                "ONBUILD", "STOPSIGNAL", "HEALTHCHECK", "SHELL"})
#: The 12 instructions plotted in Figure 3a (study.md §4.2).
PLOTTED_INSTRUCTIONS = ("ADD", "ARG", "CMD", "COPY", "ENTRYPOINT", "ENV", "EXPOSE", "FROM",
                        "RUN", "USER", "VOLUME", "WORKDIR")
#: Above this share of unknown instructions a file is "not a Dockerfile" (corrected mode).
MAX_INVALID_SHARE = 0.2
HEREDOC_INSTRUCTIONS = frozenset({"RUN", "COPY", "ADD"})
#: JSON or shell form (BuildKit ``parseMaybeJSON``): one shell string otherwise.
MAYBE_JSON = frozenset({"RUN", "CMD", "ENTRYPOINT", "SHELL"})
#: JSON or whitespace-separated words (``parseMaybeJSONToList``).
MAYBE_JSON_LIST = frozenset({"COPY", "ADD", "VOLUME"})
#: Whitespace-separated words (``parseStringsWhitespaceDelimited``).
WORD_LIST = frozenset({"FROM", "EXPOSE"})
#: Instructions whose value Docker expands with ARG/ENV variables.
EXPANDED_INSTRUCTIONS = frozenset({"ADD", "COPY", "ENV", "EXPOSE", "FROM", "LABEL",
                                   "STOPSIGNAL", "USER", "VOLUME", "WORKDIR", "ARG"})
NOT_STRINGS = "when using JSON array syntax, arrays must be comprised of strings only"

_DIRECTIVE_RE = re.compile(r"^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$")
_DIRECTIVES = frozenset({"escape", "syntax", "check"})


# The result types are plain slotted dataclasses (frozen ones cost ~5x more to build, and a
# file has dozens of instructions); callers treat them as read-only.


class DockerfileError(ValueError):
    """The bytes cannot be read as a Dockerfile at all (binary, too large, ...)."""


@dataclass(slots=True)
class Heredoc:
    name: str  # the terminator word after quote removal
    body: str  # the lines between, each with its "\n"; leading tabs stripped when chomp
    expand: bool  # False when the word was quoted in any way
    chomp: bool  # <<- : leading tabs stripped from body lines and the terminator
    fd: int = 0  # 3<<EOF -> 3

    @property
    def text(self) -> str:
        """The body without its final newline."""
        return self.body[:-1] if self.body.endswith("\n") else self.body


@dataclass(slots=True)
class Instruction:
    stage: int  # 0-based; -1 for instructions before the first FROM
    line: int  # 1-based physical line where the instruction starts
    instruction: str  # upper case
    value: str  # as written (continuations joined), heredoc bodies appended
    expanded: str  # value after ARG/ENV substitution (== value where Docker does not expand)
    exec_form: bool = False
    heredocs: tuple[Heredoc, ...] = ()
    end_line: int = 0  # last physical line (heredoc terminators included); 0 in paper mode
    flags: tuple[str, ...] = ()  # --mount=..., --from=..., --platform=... (quotes removed)
    #: BuildKit's arguments: the exec-form list; the shell-form string (RUN, CMD, ...);
    #: whitespace-separated words (FROM, COPY, ...); HEALTHCHECK: type then its command.
    args: tuple[str, ...] = ()
    pairs: tuple[tuple[str, str | None], ...] = ()  # ENV/ARG/LABEL (key, raw value or None)
    error: str = ""  # why BuildKit would reject this instruction


@dataclass(slots=True)
class BaseImage:
    stage: int
    line: int
    raw: str  # the whole FROM value, e.g. "--platform=$P python:3.8 AS build"
    image: str  # image reference after ARG substitution (no flags, no alias)
    registry: str
    namespace: str
    name: str
    tag: str
    digest: str
    alias: str
    platform: str
    is_stage_reference: bool
    is_variable: bool
    official: bool


@dataclass(slots=True)
class Command:
    stage: int
    line: int
    command: str
    first_arg: str
    method: str  # bashlex | split | exec | paper_token


@dataclass
class ParsedDockerfile:
    mode: str
    instructions: list[Instruction] = field(default_factory=list)
    base_images: list[BaseImage] = field(default_factory=list)
    commands: list[Command] = field(default_factory=list)
    status: str = "ok"  # ok | partial | error
    errors: list[str] = field(default_factory=list)

    @property
    def n_stages(self) -> int:
        return len(self.base_images)

    @property
    def message(self) -> str:
        return "; ".join(self.errors)


# ---------------------------------------------------------------------------------------
# bytes -> text
# ---------------------------------------------------------------------------------------


def decode(data: bytes) -> tuple[str, list[str]]:
    """Decode file bytes; returns (text, problems). Raises DockerfileError on binary/huge input."""
    if len(data) > MAX_BYTES:
        raise DockerfileError(f"file too large ({len(data)} bytes > {MAX_BYTES}); not a Dockerfile")
    if b"\x00" in data[:8192]:
        raise DockerfileError("binary file (NUL bytes); not a Dockerfile")
    problems: list[str] = []
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        text = data.decode("utf-8", errors="replace")
        problems.append(f"invalid UTF-8 at byte {exc.start}; undecodable bytes replaced")
    return text, problems


# ---------------------------------------------------------------------------------------
# corrected mode: logical lines (one pass), then instructions
# ---------------------------------------------------------------------------------------


class _NotStrings(ValueError):
    """A JSON array with a non-string element (BuildKit rejects the instruction)."""


@dataclass
class _Raw:
    line: int  # 1-based first physical line
    keyword: str  # upper case
    rest: str  # after the keyword, continuations joined
    end: int = 0
    heredocs: list[Heredoc] = field(default_factory=list)
    script: str | None = None  # heredoc instructions: the arguments without heredoc words


def _directives(lines: list[str], problems: list[str]) -> tuple[int, str]:
    """Read the parser directives at the top; returns (first other line, escape char)."""
    esc, seen, i = "\\", set(), 0
    while i < len(lines):
        m = _DIRECTIVE_RE.match(lines[i].lstrip())
        if m is None or m.group(1).lower() not in _DIRECTIVES:
            break
        key, val = m.group(1).lower(), m.group(2)
        if key in seen:
            problems.append(f"line {i + 1}: only one {key} parser directive can be used")
        elif key == "escape":
            if val in ("\\", "`"):
                esc = val
            else:
                problems.append(f"line {i + 1}: invalid escape token {val!r} does not match ` or \\")
        seen.add(key)
        i += 1
    return i, esc


def _continues(line: str, esc: str) -> str | None:
    """The line without its continuation escape, or None when it ends the instruction.

    BuildKit's ``([^E])E[ \\t]*$``: an escaped escape character (``\\\\``) ends the line.
    """
    r = line.rstrip(" \t")
    if len(r) >= 2 and r[-1] == esc and r[-2] != esc:
        return r[:-1]
    return None


def physical_lines(text: str) -> list[str]:
    """The lines the parser numbers: split on LF (CRLF counts as one), nothing else."""
    if "\r" in text:
        text = text.replace("\r\n", "\n")
    return text.split("\n")


def logical_lines(text: str) -> tuple[list[_Raw], list[str], str]:
    """Split text into instructions the way BuildKit does: (instructions, problems, escape)."""
    lines = physical_lines(text)
    n = len(lines)
    problems: list[str] = []
    i, esc = _directives(lines, problems)
    out: list[_Raw] = []
    while i < n:
        line = lines[i]
        i += 1
        if not line:
            continue
        if line[0].isspace():
            line = line.lstrip()
            if not line:
                continue
        if line[0] == "#":
            continue
        start = i
        r = line.rstrip(" \t") if line[-1] in " \t" else line
        if r[-1] == esc and len(r) >= 2 and r[-2] != esc:  # inlined _continues
            parts = [r[:-1]]
            while i < n:
                nxt = lines[i]
                i += 1
                s = nxt.lstrip()
                if not s or s[0] == "#":  # comment and empty lines inside a continuation
                    continue
                more = _continues(nxt, esc)
                if more is None:
                    parts.append(nxt)
                    break
                parts.append(more)
            line = "".join(parts)
        bits = line.split(None, 1)
        raw = _Raw(start, bits[0].upper(), bits[1].strip() if len(bits) > 1 else "")
        if "<<" in raw.rest and (raw.keyword in HEREDOC_INSTRUCTIONS or raw.keyword == "ONBUILD"):
            i = _read_heredocs(raw, lines, i, problems)
        raw.end = i
        out.append(raw)
    return out, problems, esc


def _heredoc_specs(words: list[str]) -> tuple[list[tuple[int, bool, str, bool]], list[str]]:
    """Heredocs opened by ``words`` (fd, chomp, name, expand) and the other words."""
    specs: list[tuple[int, bool, str, bool]] = []
    kept: list[str] = []
    k = 0
    while k < len(words):
        hw = heredoc_word(words[k])
        k += 1
        if hw is None:
            kept.append(words[k - 1])
            continue
        fd, chomp, rest = hw
        if not rest and k < len(words):  # "<< -EOF": the next word is the delimiter
            rest = words[k]
            k += 1
        name, expand = heredoc_name(rest) if rest else ("", True)
        if name:
            specs.append((fd, chomp, name, expand))
        else:
            kept.append(words[k - 1])
    return specs, kept


def _read_heredocs(raw: _Raw, lines: list[str], i: int, problems: list[str]) -> int:
    """Consume the bodies of the heredocs ``raw`` opens, in order; returns the next line."""
    args = raw.rest
    if raw.keyword == "ONBUILD":
        sub = args.split(None, 1)
        if len(sub) < 2 or sub[0].upper() not in HEREDOC_INSTRUCTIONS:
            return i
        args = sub[1]
    args = split_flags(args)[1]
    try:
        if _json_list(args) is not None:
            return i  # exec form never has heredocs
    except _NotStrings:
        return i
    specs, kept = _heredoc_specs(raw_words(args))
    if not specs:
        return i
    raw.script = " ".join(kept)
    for fd, chomp, name, expand in specs:
        body: list[str] = []
        closed = False
        while i < len(lines):
            bl = lines[i]
            i += 1
            if chomp:
                bl = bl.lstrip("\t")
            if bl == name:
                closed = True
                break
            body.append(bl)
        if not closed:
            problems.append(f"line {raw.line}: unterminated heredoc <<{name}")
            while body and not body[-1]:
                body.pop()
        raw.heredocs.append(Heredoc(name, "".join(b + "\n" for b in body), expand, chomp, fd))
    return i


def _json_list(s: str) -> list[str] | None:
    """The exec-form list, None for shell form; raises _NotStrings (BuildKit's error)."""
    s = s.lstrip()
    if not s.startswith("["):
        return None
    try:
        v = json.loads(s)
    except ValueError:
        return None
    if not isinstance(v, list):
        return None
    if not all(isinstance(x, str) for x in v):
        raise _NotStrings(NOT_STRINGS)
    return v


def _name_val(args: str, key: str, esc: str) -> tuple[tuple[tuple[str, str | None], ...], str]:
    """ENV/LABEL pairs (BuildKit ``parseNameVal``): (pairs, error)."""
    words = raw_words(args, esc)
    if not words:
        return (), f"{key} requires at least one argument"
    if "=" not in words[0]:  # legacy form: KEY name value
        parts = args.split(None, 1)
        if len(parts) < 2:
            return (), f"{key} must have two arguments"
        return ((parts[0], parts[1]),), ""
    pairs: list[tuple[str, str | None]] = []
    for w in words:
        k, sep, v = w.partition("=")
        if not sep:
            return (), f"Syntax error - can't find = in {w!r}. Must be of the form: name=value"
        pairs.append((k, v))
    return tuple(pairs), ""


def _name_or_name_val(args: str, esc: str) -> tuple[tuple[tuple[str, str | None], ...], str]:
    """ARG pairs (``parseNameOrNameVal``): ``name`` or ``name=value`` words."""
    pairs: list[tuple[str, str | None]] = []
    for w in raw_words(args, esc):
        k, sep, v = w.partition("=")
        if not k:
            return (), "ARG names can not be blank"
        pairs.append((k, v if sep else None))
    if not pairs:
        return (), "ARG requires at least one argument"
    return tuple(pairs), ""


def split_arguments(keyword: str, args: str, esc: str = "\\") -> tuple[
        tuple[str, ...], tuple[tuple[str, str | None], ...], list[str] | None, str]:
    """BuildKit's split of one instruction's arguments (flags removed).

    Returns (args, pairs, exec-form list or None, error).
    """
    try:
        if keyword in MAYBE_JSON or keyword in MAYBE_JSON_LIST:
            argv = _json_list(args)
            if argv is not None:
                return tuple(argv), (), argv, ""
            if keyword in MAYBE_JSON:
                return ((args,) if args else ()), (), None, ""
            return tuple(args.split()), (), None, ""
        if keyword == "HEALTHCHECK":
            typ, _, cmd = args.partition(" ")
            cmd = cmd.strip()
            argv = _json_list(cmd)
            if argv is not None:
                return (typ, *argv), (), argv, ""
            return ((typ, cmd) if cmd else ((typ,) if typ else ())), (), None, ""
    except _NotStrings:
        return (), (), None, NOT_STRINGS
    if keyword in WORD_LIST:
        return tuple(args.split()), (), None, ""
    if keyword in ("ENV", "LABEL"):
        pairs, err = _name_val(args, keyword, esc)
        return (), pairs, None, err
    if keyword == "ARG":
        pairs, err = _name_or_name_val(args, esc)
        return (), pairs, None, err
    return ((args,) if args else ()), (), None, ""


class _Scope:
    """Variables while reading one file: global ARGs, the stage's ARG/ENV, a size budget."""

    def __init__(self, esc: str) -> None:
        self.esc = esc
        self.global_args: dict[str, str] = {}
        self.env: dict[str, str] = {}
        self.stage = -1
        self.aliases: dict[str, int] = {}
        self.budget = MAX_EXPANSION_TOTAL

    def limit(self) -> int:
        if self.budget <= 0:
            raise ExpansionTooLarge(f"expansions exceed {MAX_EXPANSION_TOTAL} characters in total")
        return min(MAX_EXPANSION, self.budget)

    def sub(self, value: str, env: dict[str, str]) -> tuple[str, bool]:
        if "$" not in value:
            return value, False
        out = substitute(value, env, self.limit())
        self.budget -= len(out[0])
        return out

    def word(self, raw: str, env: dict[str, str]) -> str:
        out = shell_value(raw, env, self.esc, self.limit())
        self.budget -= len(out)
        return out


def _from(sc: _Scope, raw: _Raw, flags: tuple[str, ...], words: tuple[str, ...]) -> BaseImage:
    sc.stage += 1
    sc.env = {}
    platform = next((f.split("=", 1)[1] for f in flags if f.startswith("--platform=")), "")
    alias = words[-1] if len(words) >= 3 and words[-2].lower() == "as" else ""
    image_raw = words[0] if words else ""
    image, unresolved = sc.sub(image_raw, sc.global_args)
    if not image.strip() or image.startswith(":"):  # ARG with an empty default
        image, unresolved = image_raw, True
    is_stage = image.lower() in sc.aliases
    ref = imageref.parse("" if is_stage or unresolved else image)
    if alias:
        sc.aliases[alias.lower()] = sc.stage
    return BaseImage(
        stage=sc.stage, line=raw.line, raw=raw.rest, image=image, registry=ref.registry,
        namespace=ref.namespace, name=image if is_stage or unresolved else ref.name,
        tag=ref.tag, digest=ref.digest, alias=alias, platform=platform,
        is_stage_reference=is_stage, is_variable=unresolved, official=ref.official)


def _assign(sc: _Scope, pairs: tuple[tuple[str, str | None], ...]) -> None:
    """ARG/ENV: values read against the variables before the instruction, then set."""
    before = sc.global_args if sc.stage < 0 else sc.env
    scope = before
    new: list[tuple[str, str]] = []
    for k, v in pairs:
        if v is None:
            if sc.stage >= 0 and k in sc.global_args and k not in sc.env:
                new.append((k, sc.global_args[k]))
            continue
        new.append((k, sc.word(v, before)))
    for k, v in new:
        scope[k] = v


_Static = tuple[tuple[str, ...], str, tuple[str, ...], tuple[tuple[str, str | None], ...],
                list[str] | None, str, tuple[tuple[str, str, str], ...]]


@lru_cache(maxsize=8192)
def _static(kw: str, value: str, esc: str) -> _Static:
    """What depends on the instruction text alone (identical lines recur across files):
    (flags, arguments text, args, pairs, exec-form list, error, RUN commands)."""
    flags, rest = split_flags(value) if value.startswith("--") else ((), value)
    args, pairs, argv, error = split_arguments(kw, rest, esc)
    if kw == "FROM" and (len(args) not in (1, 3) or (len(args) == 3 and args[1].lower() != "as")):
        error = "FROM requires either one or three arguments"
    found = tuple(run_commands(rest, (), argv)) if kw == "RUN" and not error else ()
    return flags, rest, args, pairs, argv, error, found


def _evaluate(pd_: ParsedDockerfile, sc: _Scope, raw: _Raw) -> None:
    """One logical instruction -> Instruction (+ base image, RUN commands) or an error."""
    kw, value = raw.keyword, raw.rest
    flags, rest, args, pairs, argv, error, found = _static(kw, value, sc.esc)
    if raw.heredocs:
        argv = None
        if kw == "RUN" and not error:
            script = raw.script if raw.script is not None else rest
            found = tuple(run_commands(script, tuple(h.text for h in raw.heredocs), None))
    try:
        if kw == "FROM":
            pd_.base_images.append(_from(sc, raw, flags, args))
            expanded = sc.sub(value, sc.global_args)[0]
        elif kw == "ARG" or kw == "ENV":
            env = sc.env if sc.stage >= 0 else {**sc.global_args, **sc.env}
            expanded = sc.sub(value, env)[0]
            if not error:
                _assign(sc, pairs)
        elif kw in EXPANDED_INSTRUCTIONS:
            expanded = sc.sub(value, sc.env)[0]
        else:
            expanded = value
    except ExpansionTooLarge as exc:
        error, expanded = f"{exc}; value left unexpanded", value
    if raw.heredocs:
        value = expanded = value + "\n" + "\n".join(h.text for h in raw.heredocs)
    pd_.instructions.append(Instruction(sc.stage, raw.line, kw, value, expanded, argv is not None,
                                        tuple(raw.heredocs), raw.end, flags, args, pairs, error))
    if error:
        pd_.errors.append(f"line {raw.line}: {kw} {error}" if not error.startswith(kw)
                          else f"line {raw.line}: {error}")
    elif found:
        _run(pd_, sc, raw.line, found)


def _run(pd_: ParsedDockerfile, sc: _Scope, line: int,
         found: tuple[tuple[str, str, str], ...]) -> None:
    stage, out = sc.stage, pd_.commands
    for cmd, arg, method in found:
        if "$" in cmd:  # the stage's ARG/ENV values reach the shell as environment variables
            try:
                exp, unresolved = sc.sub(cmd, sc.env)
            except ExpansionTooLarge:
                exp, unresolved = cmd, True
            words = exp.split()
            if not unresolved and words:
                cmd, arg = words[0], (words[1] if len(words) > 1 else arg)
        out.append(Command(stage, line, cmd, arg, method))


def parse_corrected(text: str) -> ParsedDockerfile:
    """Corrected mode: BuildKit's semantics."""
    pd_ = ParsedDockerfile(mode="corrected")
    logical, problems, esc = logical_lines(text)
    invalid = [lg for lg in logical if lg.keyword not in VALID_INSTRUCTIONS]
    if invalid:
        first = invalid[0]
        if len(invalid) > MAX_INVALID_SHARE * len(logical):
            raise DockerfileError(
                f"not a Dockerfile: {len(invalid)} of {len(logical)} instructions are unknown "
                f"(first: {first.keyword[:40]!r} at line {first.line})")
        problems.append(f"{len(invalid)} unknown instruction(s) skipped (first: "
                        f"{first.keyword[:40]!r} at line {first.line})")
        logical = [lg for lg in logical if lg.keyword in VALID_INSTRUCTIONS]
    if not any(lg.keyword == "FROM" for lg in logical):
        raise DockerfileError("not a Dockerfile: no FROM instruction")
    pd_.errors.extend(problems)
    sc = _Scope(esc)
    for raw in logical:
        _evaluate(pd_, sc, raw)
    if pd_.errors:
        pd_.status = "partial"
    return pd_


def parse_dockerfile(text: str, mode: str = "corrected",
                     keywords: Mapping[str, str] | None = None) -> ParsedDockerfile:
    """Parse Dockerfile text in ``corrected`` or ``paper`` mode (``keywords`` for paper tokens)."""
    if mode == "paper":
        from .paper import parse_paper

        return parse_paper(text, keywords)
    if mode == "corrected":
        return parse_corrected(text)
    raise ValueError(f"unknown mode {mode!r}; use one of {MODES}")

"""Pure Dockerfile parsing core: no I/O, no pandas.

Two modes:

``corrected``
    A BuildKit-like reading: parser directives (``# escape=``), line continuations, comment
    lines inside continuations dropped, heredocs (``RUN <<EOF`` ... ``EOF``, quoted and
    ``<<-`` delimiters), JSON (exec) form, stages and aliases, ARG/ENV substitution, base
    image references split into registry/namespace/name/tag/digest, and the commands of
    each RUN found with bashlex (falling back to splitting on ``&&``, ``||``, ``;``, ``|``).

``paper``
    The original study's rules (``docs/original-rules.md`` §2.4-2.6): dockerfile-parse's
    ``structure`` regex ``^\\s*(\\S+)\\s+(.*)$`` with continuations, COMMENT dropped, every
    other "instruction" counted, and command keywords counted as exact whitespace tokens of
    every instruction value.

``parse_dockerfile(text, mode)`` returns a :class:`ParsedDockerfile`; the RUN-command and
base-image categories are assigned by the taxonomy (:class:`RunTaxonomy`,
:class:`BaseImageTypes`, built from ``taxonomy/*.yaml`` entries).
"""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

MODES = ("corrected", "paper")

#: Files larger than this are rejected (a Dockerfile is a few kB; the largest in the
#: package is well under 100 kB).
MAX_BYTES = 2 * 1024 * 1024
#: Longer shell scripts skip bashlex (pure Python, slow on huge inputs) and are split.
MAX_BASHLEX_CHARS = 20_000

SHELLS = frozenset({"sh", "bash", "/bin/sh", "/bin/bash", "/usr/bin/bash", "/usr/bin/sh",
                    "dash", "/bin/dash", "zsh", "/bin/zsh", "ash", "/bin/ash"})
WRAPPERS = frozenset({"sudo", "env", "nohup", "time", "exec", "command", "nice", "gosu",
                      "su-exec", "stdbuf"})
_USER_WRAPPERS = frozenset({"gosu", "su-exec"})  # first argument is a user, then the command
VALID_INSTRUCTIONS = frozenset({"FROM", "RUN", "CMD", "LABEL", "MAINTAINER", "EXPOSE", "ENV",
                                "ADD", "COPY", "ENTRYPOINT", "VOLUME", "USER", "WORKDIR", "ARG",
                                "ONBUILD", "STOPSIGNAL", "HEALTHCHECK", "SHELL"})
#: The 12 instructions plotted in Figure 3a (study.md §4.2).
PLOTTED_INSTRUCTIONS = ("ADD", "ARG", "CMD", "COPY", "ENTRYPOINT", "ENV", "EXPOSE", "FROM",
                        "RUN", "USER", "VOLUME", "WORKDIR")
#: Above this share of unknown instructions a file is "not a Dockerfile" (corrected mode).
MAX_INVALID_SHARE = 0.2
HEREDOC_INSTRUCTIONS = frozenset({"RUN", "COPY", "ADD"})
EXEC_FORM_INSTRUCTIONS = frozenset({"RUN", "CMD", "ENTRYPOINT", "SHELL", "COPY", "ADD",
                                    "VOLUME", "HEALTHCHECK"})
#: Instructions whose value Docker expands with ARG/ENV variables.
EXPANDED_INSTRUCTIONS = frozenset({"ADD", "COPY", "ENV", "EXPOSE", "FROM", "LABEL",
                                   "STOPSIGNAL", "USER", "VOLUME", "WORKDIR", "ARG"})

_ESCAPE_RE = re.compile(r"^\s*#\s*escape\s*=\s*(\\|`)\s*$", re.I)
_SYNTAX_RE = re.compile(r"^\s*#\s*(syntax|check)\s*=.*$", re.I)
_HEREDOC_RE = re.compile(r"(?<![<\d])<<(-?)\s*(\"|')?([A-Za-z_][A-Za-z0-9_.-]*)(?(2)\2)")
_VAR_RE = re.compile(r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-+])([^}]*))?\}|([A-Za-z_][A-Za-z0-9_]*))")
_SPLIT_RE = re.compile(r"&&|\|\||;|\||\n")


class DockerfileError(ValueError):
    """The bytes cannot be read as a Dockerfile at all (binary, too large, ...)."""


@dataclass(frozen=True)
class Instruction:
    stage: int  # 0-based; -1 for instructions before the first FROM
    line: int  # 1-based physical line where the instruction starts
    instruction: str  # upper case
    value: str  # as written (continuations joined), heredoc bodies appended
    expanded: str  # value after ARG/ENV substitution (== value where Docker does not expand)
    exec_form: bool = False
    heredocs: tuple[str, ...] = ()


@dataclass(frozen=True)
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


@dataclass(frozen=True)
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


def parse_paper(text: str, keywords: dict[str, str] | None = None) -> ParsedDockerfile:
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
    ref = parse_reference(value.split()[0] if value.split() else "")
    m = re.search(r"\s+as\s+(\S+)\s*$", value, re.I)
    return BaseImage(
        stage=stage, line=line, raw=value, image=value, registry=ref["registry"],
        namespace=ref["namespace"], name=ref["name"], tag=ref["tag"], digest=ref["digest"],
        alias=m.group(1) if m else "", platform="", is_stage_reference=False,
        is_variable="$" in value, official=ref["official"],
    )


# ---------------------------------------------------------------------------------------
# corrected mode
# ---------------------------------------------------------------------------------------


@dataclass
class _Logical:
    line: int  # 1-based
    instruction: str
    value: str
    heredocs: list[str] = field(default_factory=list)


def logical_lines(text: str) -> tuple[list[_Logical], list[str]]:
    """Split text into instructions the way BuildKit does; returns (instructions, problems)."""
    lines = text.split("\n")
    lines = [ln[:-1] if ln.endswith("\r") else ln for ln in lines]
    problems: list[str] = []
    escape = "\\"
    directive_possible = True
    out: list[_Logical] = []
    i = 0
    n = len(lines)
    while i < n:
        line = lines[i]
        if directive_possible:
            m = _ESCAPE_RE.match(line)
            if m:
                escape = m.group(1)
                i += 1
                continue
            if _SYNTAX_RE.match(line):
                i += 1
                continue
            directive_possible = False
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            i += 1
            continue
        start = i
        parts: list[str] = []
        cur = line.lstrip()
        while True:
            r = cur.rstrip()
            if r.endswith(escape):
                parts.append(r[: -len(escape)])
                i += 1
                # skip comment lines and empty lines inside the continuation
                while i < n and (not lines[i].strip() or lines[i].lstrip().startswith("#")):
                    i += 1
                if i >= n:
                    break
                cur = lines[i]
                continue
            parts.append(cur)
            i += 1
            break
        joined = "".join(parts).strip()
        bits = joined.split(None, 1)
        instr = bits[0].upper()
        value = bits[1].strip() if len(bits) > 1 else ""
        lg = _Logical(start + 1, instr, value)
        if instr in HEREDOC_INSTRUCTIONS or (instr == "ONBUILD" and value[:3].upper() in ("RUN", "COP", "ADD")):
            for hm in _HEREDOC_RE.finditer(value):
                strip_tabs, word = hm.group(1) == "-", hm.group(3)
                body: list[str] = []
                closed = False
                while i < n:
                    bl = lines[i]
                    i += 1
                    cmp = bl.lstrip("\t") if strip_tabs else bl
                    if cmp == word:
                        closed = True
                        break
                    body.append(cmp)
                if not closed:
                    problems.append(f"line {start + 1}: unterminated heredoc <<{word}")
                    while body and not body[-1]:
                        body.pop()
                lg.heredocs.append("\n".join(body))
        out.append(lg)
    return out, problems


def _exec_form(value: str) -> list[str] | None:
    if not value.startswith("["):
        return None
    try:
        v = json.loads(value)
    except ValueError:
        return None
    if isinstance(v, list) and all(isinstance(x, str) for x in v):
        return v
    return None


def expand(value: str, env: dict[str, str]) -> tuple[str, bool]:
    """Substitute $VAR / ${VAR} / ${VAR:-d} / ${VAR:+x}; returns (text, has_unresolved)."""
    unresolved = False

    def sub(m: re.Match[str]) -> str:
        nonlocal unresolved
        name = m.group(1) or m.group(4)
        op, word = m.group(2), m.group(3)
        val = env.get(name)
        if op in (":-", "-"):
            if val is None or (op == ":-" and val == ""):
                return word or ""
            return val
        if op in (":+", "+"):
            if val is None or (op == ":+" and val == ""):
                return ""
            return word or ""
        if val is None:
            unresolved = True
            return m.group(0)
        return val

    if "$" not in value:
        return value, False
    out = _VAR_RE.sub(sub, value)
    return out, unresolved


@lru_cache(maxsize=16384)
def _kv_pairs(value: str) -> tuple[tuple[str, str | None], ...]:
    """ARG/ENV values: ``a=1 b="x y"``, ``ARG name``, legacy ``ENV key value``."""
    if any(c in value for c in "\"'\\"):
        try:
            toks = shlex.split(value, posix=True)
        except ValueError:
            toks = value.split()
    else:
        toks = value.split()
    if not toks:
        return ()
    if "=" not in toks[0]:
        if len(toks) == 1:
            return ((toks[0], None),)
        return ((toks[0], value.split(None, 1)[1].strip()),)  # legacy ENV form
    out: list[tuple[str, str | None]] = []
    for t in toks:
        k, sep, v = t.partition("=")
        out.append((k, v if sep else None))
    return tuple(out)


def parse_reference(ref: str) -> dict[str, Any]:
    """Split an image reference into registry, namespace, name, tag, digest, official."""
    out: dict[str, Any] = {"registry": "", "namespace": "", "name": "", "tag": "", "digest": "",
                           "official": False}
    if not ref:
        return out
    s = ref
    if "@" in s:
        s, out["digest"] = s.split("@", 1)
    last = s.rsplit("/", 1)[-1]
    if ":" in last:
        s, out["tag"] = s.rsplit(":", 1)
    comps = s.split("/")
    if len(comps) > 1 and ("." in comps[0] or ":" in comps[0] or comps[0] == "localhost"):
        out["registry"] = comps[0]
        comps = comps[1:]
    else:
        out["registry"] = "docker.io"
    if out["registry"] in ("docker.io", "index.docker.io", "registry-1.docker.io"):
        out["registry"] = "docker.io"
        if len(comps) == 1:
            comps = ["library", *comps]
    out["name"] = comps[-1]
    out["namespace"] = "/".join(comps[:-1])
    out["official"] = out["registry"] == "docker.io" and out["namespace"] == "library"
    if out["name"] == "scratch" and out["namespace"] == "library":
        out["registry"], out["namespace"], out["official"] = "", "", False
    return out


def _from_value(value: str) -> tuple[str, str, str]:
    """Split a FROM value into (platform, image, alias)."""
    toks = value.split()
    platform = ""
    while toks and toks[0].startswith("--"):
        flag = toks.pop(0)
        if flag.startswith("--platform="):
            platform = flag.split("=", 1)[1]
    alias = ""
    if len(toks) >= 3 and toks[-2].lower() == "as":
        alias = toks[-1]
        toks = toks[:-2]
    return platform, (toks[0] if toks else ""), alias


def parse_corrected(text: str) -> ParsedDockerfile:
    """Corrected mode: real Dockerfile semantics."""
    pd_ = ParsedDockerfile(mode="corrected")
    logical, problems = logical_lines(text)
    invalid = [lg for lg in logical if lg.instruction not in VALID_INSTRUCTIONS]
    if invalid:
        first = invalid[0]
        if len(invalid) > MAX_INVALID_SHARE * len(logical):
            raise DockerfileError(
                f"not a Dockerfile: {len(invalid)} of {len(logical)} instructions are unknown "
                f"(first: {first.instruction[:40]!r} at line {first.line})")
        problems.append(f"{len(invalid)} unknown instruction(s) skipped (first: "
                        f"{first.instruction[:40]!r} at line {first.line})")
        logical = [lg for lg in logical if lg.instruction in VALID_INSTRUCTIONS]
    if not any(lg.instruction == "FROM" for lg in logical):
        raise DockerfileError("not a Dockerfile: no FROM instruction")
    pd_.errors.extend(problems)
    global_args: dict[str, str] = {}
    env: dict[str, str] = {}
    stage = -1
    aliases: dict[str, int] = {}
    for lg in logical:
        instr, value = lg.instruction, lg.value
        exec_argv = _exec_form(value) if instr in EXEC_FORM_INSTRUCTIONS else None
        if instr == "FROM":
            stage += 1
            env = {}
            platform, image_raw, alias = _from_value(value)
            image, unresolved = expand(image_raw, global_args)
            if not image.strip() or image.startswith(":"):  # ARG with an empty default
                image, unresolved = image_raw, True
            is_stage = image.lower() in aliases
            ref = parse_reference("" if is_stage or unresolved else image)
            if unresolved:
                ref["name"] = image
            pd_.base_images.append(BaseImage(
                stage=stage, line=lg.line, raw=value, image=image,
                registry=ref["registry"], namespace=ref["namespace"], name=ref["name"] if not is_stage else image,
                tag=ref["tag"], digest=ref["digest"], alias=alias, platform=platform,
                is_stage_reference=is_stage, is_variable=unresolved, official=bool(ref["official"]),
            ))
            if alias:
                aliases[alias.lower()] = stage
            expanded = expand(value, global_args)[0]
        elif instr in ("ARG", "ENV"):
            scope = global_args if stage < 0 else env
            expanded = expand(value, {**global_args, **env} if stage < 0 else env)[0]
            for k, v in _kv_pairs(value):
                if v is None:
                    if stage >= 0 and k in global_args and k not in env:
                        env[k] = global_args[k]
                    continue
                scope[k] = expand(v, global_args if stage < 0 else env)[0]
        elif instr in EXPANDED_INSTRUCTIONS:
            expanded = expand(value, env)[0]
        else:
            expanded = value
        full_value = value if not lg.heredocs else value + "\n" + "\n".join(lg.heredocs)
        pd_.instructions.append(Instruction(stage, lg.line, instr, full_value, expanded if not lg.heredocs else full_value,
                                            exec_form=exec_argv is not None,
                                            heredocs=tuple(lg.heredocs)))
        if instr == "RUN":
            for cmd, arg, method in run_commands(value, tuple(lg.heredocs), exec_argv):
                if "$" in cmd:  # ARG/ENV values reach the shell as environment variables
                    exp, unresolved = expand(cmd, {**env, **{k: v for k, v in global_args.items() if k in env}})
                    words = exp.split()
                    if not unresolved and words:
                        cmd, arg = words[0], (words[1] if len(words) > 1 else arg)
                pd_.commands.append(Command(stage, lg.line, cmd, arg, method))
    if problems:
        pd_.status = "partial"
    return pd_


def run_commands(value: str, heredocs: tuple[str, ...] = (),
                 exec_argv: list[str] | None = None) -> list[tuple[str, str, str]]:
    """The simple commands of one RUN instruction: (command, first_arg, method)."""
    if exec_argv is not None:
        if len(exec_argv) >= 3 and exec_argv[0] in SHELLS and exec_argv[1] == "-c":
            return list(shell_commands(exec_argv[2]))
        argv = _unwrap(exec_argv)
        return [(argv[0], argv[1] if len(argv) > 1 else "", "exec")] if argv else []
    # drop RUN flags (--mount=..., --network=..., --security=...)
    toks = value.split(None)
    while toks and toks[0].startswith("--"):
        value = value.split(None, 1)[1] if len(value.split(None, 1)) > 1 else ""
        toks = toks[1:]
    if heredocs:
        line = _HEREDOC_RE.sub("", value).strip()
        if not line or line.split()[0] in SHELLS:
            out: list[tuple[str, str, str]] = []
            for body in heredocs:
                out.extend(shell_commands(body))
            return out
        return list(shell_commands(line))
    return list(shell_commands(value))


@lru_cache(maxsize=65536)
def shell_commands(script: str) -> tuple[tuple[str, str, str], ...]:
    """Commands of a shell script via bashlex; fallback to splitting on && || ; |."""
    if not script.strip():
        return ()
    if len(script) > MAX_BASHLEX_CHARS:
        return tuple(_split_fallback(script))
    import bashlex  # type: ignore[import-untyped]  # 0.14 s to import: only when parsing

    try:
        trees = bashlex.parse(script)
        found: list[tuple[int, list[str]]] = []
        for t in trees:
            _walk(t, found)
        found.sort(key=lambda x: x[0])
        out = []
        for _, words in found:
            argv = _unwrap(words)
            if argv:
                out.append((argv[0], argv[1] if len(argv) > 1 else "", "bashlex"))
        return tuple(out)
    except Exception:  # bashlex raises many types (ParsingError, NotImplementedError, ...)
        return tuple(_split_fallback(script))


def _walk(node: Any, found: list[tuple[int, list[str]]]) -> None:
    kind = getattr(node, "kind", None)
    if kind == "command":
        words = [p.word for p in node.parts if getattr(p, "kind", None) == "word"]
        if words:
            found.append((node.pos[0], words))
    for attr in ("parts", "list"):
        for child in getattr(node, attr, None) or ():
            _walk(child, found)
    for attr in ("command", "output"):
        child = getattr(node, attr, None)
        if child is not None and hasattr(child, "kind"):
            _walk(child, found)


_ARITH_RE = re.compile(r"\$\(\((?:[^()]|\([^()]*\))*\)\)")


def _split_fallback(script: str) -> list[tuple[str, str, str]]:
    out = []
    for seg in _SPLIT_RE.split(_ARITH_RE.sub("0", script)):
        seg = seg.strip().lstrip("({!").strip()
        if not seg:
            continue
        try:
            toks = shlex.split(seg, posix=True)
        except ValueError:
            toks = seg.split()
        while toks and (toks[0] in _SHELL_KEYWORDS or toks[0].endswith(")")):
            toks.pop(0)
        if toks and toks[0] == "case":  # case WORD in PATTERN) cmd ...
            pat = next((i for i, t in enumerate(toks) if i > 2 and t.endswith(")")), None)
            toks = toks[pat + 1:] if pat is not None else []
        if toks and toks[0] in ("for", "select", "function", "[[", "]]"):
            continue
        argv = _unwrap(toks)
        if argv:
            out.append((argv[0], argv[1] if len(argv) > 1 else "", "split"))
    return out


_SHELL_KEYWORDS = frozenset({"if", "then", "elif", "else", "fi", "while", "until", "do", "done",
                             "esac", "!", "{", "}", "(", ")", ";;", "in"})
_ASSIGN_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")


def _unwrap(words: list[str]) -> list[str]:
    """Drop leading VAR=value assignments and wrappers like sudo/env/nohup."""
    w = list(words)
    while w:
        if _ASSIGN_RE.match(w[0]):
            w.pop(0)
            continue
        if w[0] in WRAPPERS and len(w) > 1:
            head = w.pop(0)
            while w and (w[0].startswith("-") or _ASSIGN_RE.match(w[0])):
                flag = w.pop(0)
                if head == "sudo" and flag in ("-u", "-g", "-C", "-D") and w:
                    w.pop(0)
            if head in _USER_WRAPPERS and w:
                w.pop(0)
            continue
        break
    return w


def parse_dockerfile(text: str, mode: str = "corrected",
                     keywords: dict[str, str] | None = None) -> ParsedDockerfile:
    """Parse Dockerfile text in ``corrected`` or ``paper`` mode (``keywords`` for paper tokens)."""
    if mode == "paper":
        return parse_paper(text, keywords)
    if mode == "corrected":
        return parse_corrected(text)
    raise ValueError(f"unknown mode {mode!r}; use one of {MODES}")


# ---------------------------------------------------------------------------------------
# taxonomies (validated dicts from taxonomy/*.yaml; pure, no I/O)
# ---------------------------------------------------------------------------------------

RUN_CATEGORY_IDS = ("Dependencies", "Filesystem", "Build/Execute", "Environment", "Permissions")
BASE_TYPE_IDS = ("variable", "ml_platform", "interactive_computing", "database", "monitoring",
                 "data_processing", "compute_distributed", "network_communication",
                 "web_computing", "static_binary", "platform_runtime", "language_runtime",
                 "operating_system")
UNKNOWN = "unknown"
_VERSION_SUFFIX_RE = re.compile(r"^(python|pip|pypy|ruby|perl|node|gcc|g\+\+|clang|java)(\d+)?[.\d-]*$")


class TaxonomyInvalid(ValueError):
    """Raised by the validators; the stage turns it into errors.TaxonomyError with the path."""


def _ids(entries: list[dict[str, Any]], known: tuple[str, ...], what: str) -> None:
    ids = [e.get("id") for e in entries]
    unknown = [i for i in ids if i not in known]
    if unknown:
        raise TaxonomyInvalid(f"unknown {what} id(s) {unknown}; expected {list(known)}")
    missing = [k for k in known if k not in ids]
    if missing:
        raise TaxonomyInvalid(f"{what} id(s) missing: {missing}")


@dataclass(frozen=True)
class RunTaxonomy:
    """Command -> category maps for both modes."""

    paper: dict[str, str]
    corrected: dict[str, str]
    patterns: tuple[tuple[re.Pattern[str], str], ...] = ()

    @classmethod
    def from_entries(cls, entries: list[dict[str, Any]]) -> RunTaxonomy:
        """``entries`` as returned by :func:`pipeline.taxonomy.load_yaml_rules`."""
        _ids(entries, RUN_CATEGORY_IDS, "category")
        paper: dict[str, str] = {}
        corrected: dict[str, str] = {}
        for e in entries:
            rules = e.get("rules") or {}
            for key, target in (("paper_keywords", paper), ("commands", corrected)):
                kws = rules.get(key)
                if not kws:
                    raise TaxonomyInvalid(f"{e['id']}: empty rules {key!r}")
                for kw in kws:
                    target[str(kw)] = e["id"]
        patterns = []
        for e in entries:
            for rx in (e.get("rules") or {}).get("patterns") or []:
                try:
                    patterns.append((re.compile(str(rx)), e["id"]))
                except re.error as exc:
                    raise TaxonomyInvalid(f"{e['id']}: bad pattern {rx!r}: {exc}") from exc
        return cls(paper, corrected, tuple(patterns))

    def category(self, command: str) -> str:
        """Corrected-mode category of an executable (basename, version suffix dropped)."""
        if command in self.corrected:
            return self.corrected[command]
        base = command.rsplit("/", 1)[-1] if "/" in command and not command.startswith("./") else command
        if base in self.corrected:
            return self.corrected[base]
        m = _VERSION_SUFFIX_RE.match(base)
        if m:
            for cand in (m.group(1) + (m.group(2) or ""), m.group(1)):
                if cand in self.corrected:
                    return self.corrected[cand]
        for rx, cid in self.patterns:
            if rx.search(command):
                return cid
        return UNKNOWN


@dataclass(frozen=True)
class BaseImageTypes:
    """Base-image name -> type (13 types of the study, or 'unknown')."""

    labels: dict[str, str]  # id -> label
    paper_labels: dict[str, str]
    names: dict[str, str]  # exact lower-case name -> id
    keywords: tuple[tuple[str, str], ...]  # (substring, id) in priority order
    variable_id: str | None

    @classmethod
    def from_entries(cls, entries: list[dict[str, Any]]) -> BaseImageTypes:
        """``entries`` as returned by :func:`pipeline.taxonomy.load_yaml_rules`."""
        _ids(entries, BASE_TYPE_IDS, "type")
        labels: dict[str, str] = {}
        paper_labels: dict[str, str] = {}
        names: dict[str, str] = {}
        keywords: list[tuple[str, str]] = []
        variable_id = None
        for e in entries:
            tid = e["id"]
            for key in ("label", "paper_label"):
                if not str(e.get(key) or "").strip():
                    raise TaxonomyInvalid(f"{tid}: empty {key}")
            labels[tid] = str(e["label"])
            paper_labels[tid] = str(e["paper_label"])
            rules = e.get("rules") or {}
            if rules.get("variable_markers"):
                variable_id = tid
            for n in rules.get("names") or []:
                names[str(n).lower()] = tid
            for kw in rules.get("keywords") or []:
                keywords.append((str(kw).lower(), tid))
        return cls(labels, paper_labels, names, tuple(keywords), variable_id)

    def label(self, tid: str, paper: bool = False) -> str:
        if tid == UNKNOWN:
            return UNKNOWN
        return (self.paper_labels if paper else self.labels)[tid]

    def classify(self, name: str, is_variable: bool = False, tag: str = "") -> tuple[str, str]:
        """Return (type id or 'unknown', how) for a repository name such as ``nvidia/cuda``."""
        key = name.strip().lower()
        if key in self.names:
            return self.names[key], "name"
        nodigit = re.sub(r"\d", "", key)
        if nodigit in self.names:
            return self.names[nodigit], "name"
        if self.variable_id and (is_variable or "$" in key or "{{" in key):
            return self.variable_id, "variable"
        for hay, how in ((key, "keyword"), (tag.lower(), "tag keyword")):
            if not hay:
                continue
            for kw, tid in self.keywords:
                if kw in hay:
                    return tid, how
        return UNKNOWN, "none"

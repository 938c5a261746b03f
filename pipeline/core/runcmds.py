"""The simple commands of a RUN instruction (pure): bashlex, with a bashlex-equivalent fast
path for simple scripts and a split fallback when bashlex fails.

:func:`shell_commands` gives (command, first_arg, method) per simple command of a script.
bashlex is pure Python and the slow part of parsing, so (1) it is imported on first use,
(2) results are cached per script text (identical RUN lines recur across files), and (3) a
script made only of plain words separated by ``&&``, ``||``, ``;``, ``|`` and newlines is split
directly: for such scripts bashlex's commands are exactly the words between the operators
(checked against bashlex on every RUN script of the study's per-release Dockerfiles), so the
method stays ``bashlex``.
"""

from __future__ import annotations

import re
import shlex
from functools import lru_cache
from typing import Any

#: Longer shell scripts skip bashlex (pure Python, slow on huge inputs) and are split.
MAX_BASHLEX_CHARS = 20_000

SHELLS = frozenset({"sh", "bash", "/bin/sh", "/bin/bash", "/usr/bin/bash", "/usr/bin/sh",
                    "dash", "/bin/dash", "zsh", "/bin/zsh", "ash", "/bin/ash"})
WRAPPERS = frozenset({"sudo", "env", "nohup", "time", "exec", "command", "nice", "gosu",
                      "su-exec", "stdbuf"})
_USER_WRAPPERS = frozenset({"gosu", "su-exec"})  # first argument is a user, then the command
_SPLIT_RE = re.compile(r"&&|\|\||;|\||\n")
_SIMPLE_RE = re.compile(r"[A-Za-z0-9_\-./=:,+@%^*?\[\]$ \t\n&|;]*")
_SIMPLE_SEP_RE = re.compile(r"(&&|\|\||;|\||\n)")
_RESERVED = frozenset({"if", "then", "elif", "else", "fi", "while", "until", "do", "done",
                       "for", "in", "case", "esac", "select", "function", "time", "coproc",
                       "[[", "]]", "!", "{", "}"})


def run_commands(script: str, bodies: tuple[str, ...] = (),
                 exec_argv: list[str] | None = None) -> list[tuple[str, str, str]]:
    """The simple commands of one RUN: (command, first_arg, method).

    ``script`` is the shell form without flags and heredoc words; ``bodies`` the heredoc
    bodies: they are the script when the line is empty or names a shell (``RUN <<EOF``,
    ``RUN bash <<EOF``), data otherwise (``RUN python3 <<PY``).
    """
    if exec_argv is not None:
        if len(exec_argv) >= 3 and exec_argv[0] in SHELLS and exec_argv[1] == "-c":
            return list(shell_commands(exec_argv[2]))
        argv = _unwrap(exec_argv)
        return [(argv[0], argv[1] if len(argv) > 1 else "", "exec")] if argv else []
    if bodies:
        line = script.strip()
        if not line or line.split()[0] in SHELLS:
            out: list[tuple[str, str, str]] = []
            for body in bodies:
                out.extend(shell_commands(body))
            return out
        return list(shell_commands(line))
    return list(shell_commands(script))


def simple_commands(script: str) -> list[tuple[str, str, str]] | None:
    """bashlex's answer for a script of plain words and ``&& || ; |`` / newlines, else None."""
    if _SIMPLE_RE.fullmatch(script) is None:
        return None
    parts = _SIMPLE_SEP_RE.split(script)
    out: list[tuple[str, str, str]] = []
    for k in range(0, len(parts), 2):
        words = parts[k].split()
        if not words:
            before = parts[k - 1] if k else "\n"
            after = parts[k + 1] if k + 1 < len(parts) else "\n"
            if before not in ("\n", ";") or after != "\n":
                return None
            continue
        if words[0] in _RESERVED or "&" in parts[k] or "|" in parts[k]:
            return None
        argv = _unwrap(words)
        if argv:
            out.append((argv[0], argv[1] if len(argv) > 1 else "", "bashlex"))
    return out


@lru_cache(maxsize=65536)
def shell_commands(script: str) -> tuple[tuple[str, str, str], ...]:
    """Commands of a shell script via bashlex; fallback to splitting on && || ; |."""
    if not script.strip():
        return ()
    if len(script) > MAX_BASHLEX_CHARS:
        return tuple(_split_fallback(script))
    simple = simple_commands(script)
    if simple is not None:
        return tuple(simple)
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



"""Shell-word helpers of the Dockerfile parser (pure): BuildKit's word splitting, builder
flags, heredoc words, quote removal with bounded ARG/ENV expansion.

* :func:`raw_words` splits like BuildKit's ``parseWords``: on unquoted whitespace, quotes
  and escapes kept in the words.
* :func:`split_flags` takes the leading ``--flag=value`` words off an instruction's
  arguments (BuildKit's ``extractBuilderFlags``: quotes removed, ``--`` ends the flags).
* :func:`heredoc_word` reads a ``[n]<<[-]WORD`` word: the name is the shell word after
  quote removal; any quoting means the body is not expanded.
* :func:`substitute` replaces ``$VAR``, ``${VAR}``, ``${VAR:-w}``, ``${VAR-w}``,
  ``${VAR:+w}``, ``${VAR+w}`` (unknown variables stay as written) and :func:`shell_value`
  also removes quotes; both stop with :class:`ExpansionTooLarge` past ``limit`` characters.
"""

from __future__ import annotations

import re

#: Largest value one substitution may produce (characters).
MAX_EXPANSION = 1024 * 1024

#: $NAME, ${NAME}, ${NAME:-word}, ${NAME:+word} (also without ``:``); the word may hold
#: simple variables itself (``${A:+-$A}``, ``${A:-${B}}``), expanded when it is used
_VAR_RE = re.compile(r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-+])((?:[^}$]|\$[A-Za-z_][A-Za-z0-9_]*"
                     r"|\$\{[A-Za-z_][A-Za-z0-9_]*\})*))?\}|([A-Za-z_][A-Za-z0-9_]*))")
_HEREDOC_WORD_RE = re.compile(r"^(\d*)<<(-?)([^<]*)$")


class ExpansionTooLarge(ValueError):
    """A substitution would exceed the size limit (``ENV A=$A$A$A$A`` repeated)."""


def raw_words(s: str, esc: str = "\\") -> list[str]:
    """Words split on unquoted whitespace, quotes and escapes kept (BuildKit ``parseWords``)."""
    if "'" not in s and '"' not in s and esc not in s:
        return s.split()
    words: list[str] = []
    word: list[str] = []
    blank_ok = False
    quote = ""
    i, n = 0, len(s)
    while i < n:
        c = s[i]
        if quote:
            if c == quote:
                quote = ""
            elif c == esc and quote != "'" and i + 1 < n:
                word.append(c)
                i += 1
                c = s[i]
            word.append(c)
        elif c.isspace():
            if word or blank_ok:
                words.append("".join(word))
            word, blank_ok = [], False
        else:
            if c in "'\"":
                quote, blank_ok = c, True
            elif c == esc:
                if i + 1 == n:
                    break
                word.append(c)
                i += 1
                c = s[i]
            word.append(c)
        i += 1
    if word or blank_ok:
        words.append("".join(word))
    return words


def split_flags(args: str) -> tuple[tuple[str, ...], str]:
    """(flags, rest): leading ``--name[=value]`` words, quotes removed; ``--`` ends them."""
    if not args.startswith("--"):
        return (), args
    flags: list[str] = []
    pos, n = 0, len(args)
    while pos < n:
        while pos < n and args[pos].isspace():
            pos += 1
        if not args.startswith("--", pos):
            break
        word: list[str] = []
        quote = ""
        while pos < n and (quote or not args[pos].isspace()):
            c = args[pos]
            if quote and c == quote:
                quote = ""
            elif not quote and c in "'\"":
                quote = c
            else:
                if c == "\\" and pos + 1 < n:
                    pos += 1
                    c = args[pos]
                word.append(c)
            pos += 1
        text = "".join(word)
        if text == "--":
            break
        flags.append(text)
    return tuple(flags), args[pos:].strip()


def unquote(word: str, esc: str = "\\") -> str:
    """Shell quote removal without expansion (``eo'f'`` -> ``eof``, ``eo\\'f`` -> ``eo'f``)."""
    return shell_value(word, {}, esc, expand=False)


def heredoc_word(word: str) -> tuple[int, bool, str] | None:
    """``[n]<<[-]WORD`` -> (fd, chomp, raw WORD); None when ``word`` opens no heredoc.

    An empty WORD (``<<`` or ``<<-`` followed by a space) is returned as ``""``: the caller
    takes the next word, as a shell does (``<< -EOF`` ends at ``-EOF``).
    """
    m = _HEREDOC_WORD_RE.match(word)
    if m is None:
        return None
    fd, chomp, rest = m.groups()
    return int(fd or 0), chomp == "-", rest


def heredoc_name(rest: str) -> tuple[str, bool]:
    """(name, expand) of a heredoc word: quote removal; any quoting means no expansion."""
    if "'" in rest or '"' in rest or "\\" in rest:
        return unquote(rest), False
    return rest, True


def substitute(value: str, env: dict[str, str], limit: int = MAX_EXPANSION) -> tuple[str, bool]:
    """Replace variables in ``value``; returns (text, has_unresolved)."""
    if "$" not in value:
        return value, False
    unresolved = False
    size = len(value)

    def sub(m: re.Match[str]) -> str:
        nonlocal unresolved, size
        name = m.group(1) or m.group(4)
        op, word = m.group(2), m.group(3) or ""
        val = env.get(name)
        if op in (":-", "-"):
            use_word = val is None or (op == ":-" and val == "")
            out = "" if use_word or val is None else val
        elif op in (":+", "+"):
            use_word = not (val is None or (op == ":+" and val == ""))
            out = ""
        elif val is None:
            unresolved = True
            return m.group(0)
        else:
            use_word, out = False, val
        if op and use_word and word:
            out, inner = substitute(word, env, limit) if "$" in word else (word, False)
            unresolved = unresolved or inner
        size += len(out)
        if size > limit:
            raise ExpansionTooLarge(f"expansion exceeds {limit} characters")
        return out

    out = _VAR_RE.sub(sub, value)
    # unsupported forms (``${A#x}``, ``${A:?e}``, deeper nesting) stay as written: never a
    # wrong value, always marked unresolved
    return out, unresolved or "${" in out


def shell_value(raw: str, env: dict[str, str], esc: str = "\\",
                limit: int = MAX_EXPANSION, expand: bool = True) -> str:
    """A word's value as BuildKit gives it: quotes removed, variables substituted outside
    single quotes (unknown variables stay as written); ``expand=False``: quote removal only."""
    if "'" not in raw and '"' not in raw and esc not in raw:
        return substitute(raw, env, limit)[0] if expand else raw
    parts: list[str] = []
    quote = ""
    chunk: list[str] = []  # text subject to substitution
    i, n = 0, len(raw)

    def flush() -> None:
        if chunk:
            text = "".join(chunk)
            parts.append(substitute(text, env, limit)[0] if expand else text)
            chunk.clear()

    while i < n:
        c = raw[i]
        if quote == "'":
            if c == "'":
                quote = ""
            else:
                parts.append(c)
        elif c == esc and i + 1 < n and (quote != '"' or raw[i + 1] in ('"', "$", esc)):
            flush()
            i += 1
            parts.append(raw[i])
        elif c == '"':
            quote = "" if quote else '"'
        elif c == "'" and not quote:
            flush()
            quote = "'"
        else:
            chunk.append(c)
        i += 1
    flush()
    out = "".join(parts)
    if len(out) > limit:
        raise ExpansionTooLarge(f"expansion exceeds {limit} characters")
    return out

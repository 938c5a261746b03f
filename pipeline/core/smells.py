"""mldock's own Dockerfile smell checks (pure: rules from YAML entries, facts from parse).

The rules are data (``taxonomy/smells.yaml``): each entry names one of the :data:`CHECKS`
and its parameters; :func:`rules_from_entries` validates them and :func:`evaluate` applies
them to one file's facts (:class:`FileFacts`: its instructions and FROM lines, as parse's
corrected-mode tables hold them).  No files, no pandas.
"""

from __future__ import annotations

import functools
import json
import re
import shlex
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from .dockerfile import ParsedDockerfile
from .taxonomy import TaxonomyInvalid

LEVELS = ("error", "warning", "info", "style")
"""hadolint's severities, most severe first; our rules use the same."""

CHECKS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "base_image": ((), ("tags", "no_digest")),
    "instruction": (("instructions", "matches"), ("lacks",)),
    "command": (("matches",), ("lacks",)),
    "unpinned": (("matches", "pinned"), ("value_flags",)),
    "name": (("instructions", "names"), ()),
    "final_user": (("root",), ()),
}
"""check -> (required parameters, optional parameters)."""

_ID_RE = re.compile(r"^MLD\d{3}$")
_PATTERNS = ("matches", "lacks", "pinned", "names")
_LISTS = ("tags", "instructions", "value_flags", "root")


@dataclass(frozen=True)
class Rule:
    id: str
    description: str
    level: str
    check: str
    hadolint: tuple[str, ...] = ()
    params: dict[str, Any] = field(default_factory=dict)

    def pattern(self, name: str) -> re.Pattern[str] | None:
        p = self.params.get(name)
        return p if isinstance(p, re.Pattern) else None

    def items(self, name: str) -> tuple[str, ...]:
        return tuple(self.params.get(name) or ())


@dataclass(frozen=True)
class Instruction:
    """One instruction as parse's ``instructions`` table has it (corrected mode)."""

    seq: int
    stage: int
    line: int
    instruction: str
    text: str  # ``expanded`` (else ``value``), heredoc bodies included
    exec_form: bool = False


@dataclass(frozen=True)
class BaseImage:
    """One FROM as parse's ``base_images`` table has it."""

    stage: int
    line: int
    image: str
    tag: str
    digest: str
    is_stage_reference: bool
    is_variable: bool


@dataclass(frozen=True)
class FileFacts:
    instructions: tuple[Instruction, ...]
    base_images: tuple[BaseImage, ...]


@dataclass(frozen=True, order=True)
class Finding:
    line: int
    rule: str


# --------------------------------------------------------------------------------------
# the rules file
# --------------------------------------------------------------------------------------


def rules_from_entries(entries: Any) -> tuple[Rule, ...]:
    """Validate the ``entries`` of smells.yaml; raises :class:`TaxonomyInvalid`."""
    if not isinstance(entries, list) or not entries:
        raise TaxonomyInvalid("expected a non-empty 'entries' list")
    out: list[Rule] = []
    for i, e in enumerate(entries):
        out.append(_rule(e, i))
    ids = [r.id for r in out]
    dup = sorted({x for x in ids if ids.count(x) > 1})
    if dup:
        raise TaxonomyInvalid(f"duplicate smell id(s) {dup}")
    return tuple(out)


def _rule(e: Any, i: int) -> Rule:
    if not isinstance(e, dict):
        raise TaxonomyInvalid(f"entry #{i + 1} is not a mapping")
    rid = str(e.get("id") or "")
    if not _ID_RE.match(rid):
        raise TaxonomyInvalid(f"entry #{i + 1}: id {rid!r} is not MLDnnn")
    unknown = set(e) - {"id", "description", "level", "hadolint", "rules"}
    if unknown:
        raise TaxonomyInvalid(f"{rid}: unknown key(s) {sorted(unknown)}")
    if not str(e.get("description") or "").strip():
        raise TaxonomyInvalid(f"{rid}: empty description")
    if e.get("level") not in LEVELS:
        raise TaxonomyInvalid(f"{rid}: level {e.get('level')!r} is not one of {LEVELS}")
    rules = e.get("rules")
    if not isinstance(rules, dict) or rules.get("check") not in CHECKS:
        raise TaxonomyInvalid(f"{rid}: rules.check must be one of {sorted(CHECKS)}")
    check = str(rules["check"])
    required, optional = CHECKS[check]
    params = {k: v for k, v in rules.items() if k != "check"}
    missing = [k for k in required if k not in params]
    extra = sorted(set(params) - set(required) - set(optional))
    if missing or extra:
        raise TaxonomyInvalid(f"{rid}: check {check} lacks {missing} or has unknown {extra}")
    if check == "base_image" and not (params.get("tags") or params.get("no_digest")):
        raise TaxonomyInvalid(f"{rid}: base_image needs tags or no_digest: true")
    return Rule(rid, str(e["description"]).strip(), str(e["level"]), check,
                tuple(str(h) for h in e.get("hadolint") or ()), _params(rid, params))


def _params(rid: str, params: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in params.items():
        if k in _PATTERNS:
            if not isinstance(v, str) or not v:
                raise TaxonomyInvalid(f"{rid}: {k} must be a non-empty pattern")
            try:
                out[k] = re.compile(v)
            except re.error as exc:
                raise TaxonomyInvalid(f"{rid}: {k} is not a valid pattern ({exc})") from exc
        elif k in _LISTS:
            if not isinstance(v, list) or not v:
                raise TaxonomyInvalid(f"{rid}: {k} must be a non-empty list")
            out[k] = tuple(str(x) for x in v)
        else:
            out[k] = bool(v)
    if "instructions" in out:
        out["instructions"] = tuple(x.upper() for x in out["instructions"])
    return out


# --------------------------------------------------------------------------------------
# evaluation
# --------------------------------------------------------------------------------------

_TOKENS = re.compile(r"""'[^']*'?|"(?:\\.|[^"\\])*"?|\\.|&&|\|\||[;|\n]|[^'"\\&|;\n]+|.""", re.S)
_SEPARATORS = frozenset(("&&", "||", ";", "|", "\n"))


@functools.lru_cache(maxsize=4096)
def simple_commands(text: str) -> tuple[str, ...]:
    """``text`` split into simple commands on ``&& || ; |`` and newlines outside quotes
    (line continuations are already joined by parse; a backslash escapes)."""
    out: list[str] = []
    cur: list[str] = []
    for tok in _TOKENS.findall(text):
        if tok in _SEPARATORS:
            out.append("".join(cur))
            cur = []
        else:
            cur.append(tok)
    out.append("".join(cur))
    return tuple(c for c in (s.strip() for s in out) if c)


def _words(s: str) -> list[str]:
    try:
        return shlex.split(s, comments=False, posix=True)
    except ValueError:
        return s.split()


def unpinned_packages(command: str, rule: Rule) -> list[str]:
    """The package arguments of ``command`` (after the rule's match) that are not pinned."""
    m = rule.pattern("matches")
    pinned = rule.pattern("pinned")
    assert m is not None and pinned is not None
    hit = m.search(command)
    if hit is None:
        return []
    flags = set(rule.items("value_flags"))
    out: list[str] = []
    skip = False
    for w in _words(command[hit.end():]):
        if skip:
            skip = False
        elif w.startswith("-"):
            skip = w in flags  # "--flag=value" carries its value
        elif not pinned.search(w):
            out.append(w)
    return out


def declared_names(ins: Instruction) -> list[str]:
    """Variable names an ARG or ENV declares (``K=v`` pairs, or ENV's legacy ``K v``)."""
    words = _words(ins.text.split("\n", 1)[0])
    if not words:
        return []
    if ins.instruction == "ENV" and "=" not in words[0]:
        return [words[0]]
    return [w.split("=", 1)[0] for w in words if not w.startswith("--")]


def instruction_text(text: str, exec_form: bool) -> str:
    """The text the checks read: an exec-form ``["a", "b"]`` becomes ``a b``."""
    if exec_form:
        try:
            words = json.loads(text.split("\n", 1)[0])
        except ValueError:
            return text
        if isinstance(words, list):
            return " ".join(str(w) for w in words)
    return text


def facts_of(parsed: ParsedDockerfile) -> FileFacts:
    """The facts of one parsed Dockerfile: what parse's corrected-mode ``instructions`` and
    ``base_images`` rows hold of it (an empty ``expanded`` falls back to ``value``)."""
    ins = tuple(Instruction(i, x.stage, x.line, x.instruction,
                            instruction_text(x.expanded or x.value or "", x.exec_form), x.exec_form)
                for i, x in enumerate(parsed.instructions))
    bis = tuple(BaseImage(b.stage, b.line, b.image or "", b.tag or "", b.digest or "",
                          b.is_stage_reference, b.is_variable) for b in parsed.base_images)
    return FileFacts(ins, bis)


def evaluate(rules: Sequence[Rule], facts: FileFacts) -> list[Finding]:
    """Every finding of ``rules`` in one file, sorted by line and rule id."""
    out: list[Finding] = []
    for rule in rules:
        out.extend(Finding(line, rule.id) for line in _CHECKERS[rule.check](rule, facts))
    return sorted(out)


def _base_image(rule: Rule, facts: FileFacts) -> Iterable[int]:
    tags = rule.items("tags")
    for b in facts.base_images:
        if b.is_stage_reference or b.is_variable or b.image.strip().lower() in ("", "scratch"):
            continue
        if (tags and b.tag in tags and not b.digest) or (rule.params.get("no_digest")
                                                         and not b.digest):
            yield b.line


def _instruction(rule: Rule, facts: FileFacts) -> Iterable[int]:
    m, lacks = rule.pattern("matches"), rule.pattern("lacks")
    assert m is not None
    kinds = rule.items("instructions")
    for ins in facts.instructions:
        if ins.instruction in kinds and m.search(ins.text) and not (lacks and lacks.search(ins.text)):
            yield ins.line


def _command(rule: Rule, facts: FileFacts) -> Iterable[int]:
    m, lacks = rule.pattern("matches"), rule.pattern("lacks")
    assert m is not None
    for ins in _runs(facts):
        if any(m.search(c) and not (lacks and lacks.search(c)) for c in simple_commands(ins.text)):
            yield ins.line


def _unpinned(rule: Rule, facts: FileFacts) -> Iterable[int]:
    for ins in _runs(facts):
        if any(unpinned_packages(c, rule) for c in simple_commands(ins.text)):
            yield ins.line


def _name(rule: Rule, facts: FileFacts) -> Iterable[int]:
    names = rule.pattern("names")
    assert names is not None
    kinds = rule.items("instructions")
    for ins in facts.instructions:
        if ins.instruction in kinds and any(names.search(n) for n in declared_names(ins)):
            yield ins.line


def _final_user(rule: Rule, facts: FileFacts) -> Iterable[int]:
    if not facts.base_images:
        return
    last = max(b.stage for b in facts.base_images)
    users = [i for i in facts.instructions if i.stage == last and i.instruction == "USER"]
    if not users:
        yield next(b.line for b in facts.base_images if b.stage == last)
        return
    who = users[-1].text.split()
    if who and who[0] in rule.items("root"):
        yield users[-1].line


def _runs(facts: FileFacts) -> Iterable[Instruction]:
    return (i for i in facts.instructions if i.instruction == "RUN")


_CHECKERS = {"base_image": _base_image, "instruction": _instruction, "command": _command,
             "unpinned": _unpinned, "name": _name, "final_user": _final_user}

"""The per-release corpus: tag dates, member names, and what changes between releases (pure).

The replication package's ``samples/dockerfiles.tar.gz`` holds
``dockerfiles/<owner>/<repo>/<file name>_<tag>``; each project's release tags and their
dates are lines ``b'refs/tags/<tag> <git date>\\n'`` (Python bytes reprs) in
``logs/<owner>/<repo>/gh_tags.txt`` and ``samples/logs/tags_<repo>_<n>.txt``.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone

_TAG_LINE = re.compile(r"^b'refs/tags/(\S+) (.+?)(?:\\n)?'$")
_GIT_DATE = re.compile(r"^[A-Z][a-z]{2} ([A-Z][a-z]{2}) (\d{1,2}) (\d\d):(\d\d):(\d\d) (\d{4}) ([+-])(\d\d)(\d\d)$")
_MONTHS = {m: i for i, m in enumerate(("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug",
                                       "Sep", "Oct", "Nov", "Dec"), start=1)}


def git_date(text: str) -> str:
    """git's default date (``Wed Oct 9 22:55:53 2013 -0700``) as ISO 8601 UTC; ValueError
    if it is not one."""
    m = _GIT_DATE.match(text)
    if not m or m.group(1) not in _MONTHS:
        raise ValueError(f"not a git date: {text!r}")
    mon, day, hh, mm, ss, year, sign, oh, om = m.groups()
    offset = timedelta(hours=int(oh), minutes=int(om)) * (1 if sign == "+" else -1)
    when = datetime(int(year), _MONTHS[mon], int(day), int(hh), int(mm), int(ss),
                    tzinfo=timezone(offset))
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class TagLineError(ValueError):
    """A tag line that is not ``b'refs/tags/<tag> <git date>\\n'``."""


def parse_tag_line(line: str) -> tuple[str, str]:
    """``(tag, ISO 8601 UTC date)`` of one tag line; raises :class:`TagLineError`."""
    m = _TAG_LINE.match(line.strip())
    if not m:
        raise TagLineError(f"not a tag line: {line.strip()[:80]!r}")
    try:
        return m.group(1), git_date(m.group(2))
    except ValueError as exc:
        raise TagLineError(f"tag {m.group(1)}: bad date {m.group(2)!r}") from exc


def parse_tags(text: str) -> tuple[dict[str, str], list[str]]:
    """``({tag: date}, problems)`` of a tags file; blank lines are skipped."""
    tags: dict[str, str] = {}
    problems: list[str] = []
    for line in text.splitlines():
        if not line.strip():
            continue
        try:
            tag, date = parse_tag_line(line)
        except TagLineError as exc:
            problems.append(str(exc))
            continue
        tags.setdefault(tag, date)
    return tags, problems


@dataclass(frozen=True)
class Member:
    repo: str  # owner/repo as in the archive
    path: str  # the file name without its tag suffix
    tag: str


def split_member(name: str, tags: Collection[str]) -> Member | None:
    """Split ``dockerfiles/<owner>/<repo>/<file>_<tag>`` by the longest known tag; None if
    the name has another shape or ends in no known tag."""
    parts = name.split("/")
    if len(parts) != 4 or parts[0] != "dockerfiles" or not parts[3]:
        return None
    base = parts[3]
    cut = base.find("_", 1)
    while cut != -1:  # the first '_' whose rest is a tag gives the longest tag
        if base[cut + 1:] in tags:
            return Member(f"{parts[1]}/{parts[2]}", base[:cut], base[cut + 1:])
        cut = base.find("_", cut + 1)
    return None


def image_label(repository: str, tag: str, digest: str = "") -> str:
    """``repository:tag`` as written (``latest`` when untagged and undigested)."""
    if digest and not tag:
        return f"{repository}@{digest[:19]}"
    return f"{repository}:{tag or 'latest'}"


def pinned(tag: str, digest: str) -> bool:
    """A base image is pinned when it has a digest, or a tag other than ``latest``."""
    return bool(digest) or (bool(tag) and tag.lower() != "latest")

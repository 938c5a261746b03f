"""The two methods of mldock, as policy objects: every study quirk in one place.

``PAPER`` reproduces the study's published rules, defects included; ``CORRECTED`` is the
default reading.  Stages call a policy instead of testing a mode string, so a quirk is
found, read and changed here.  Each method cites its section of
``shared/docs/original-rules.md`` (OR) or ``shared/docs/study.md`` (S).

Pure: no I/O, no pandas.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from .taxonomy import UNKNOWN


class RunCategories(Protocol):
    @property
    def paper(self) -> Mapping[str, str]: ...

    def category(self, command: str) -> str: ...


ORCHESTRATION = "orchestration"
"""``files.name_match`` of a file collected for the orchestration signals only."""


@dataclass(frozen=True)
class Policy:
    """One method.  ``name`` is the value of the ``mode`` column in every table."""

    name: str
    description: str

    @property
    def is_paper(self) -> bool:
        return self.name == "paper"

    # -- RQ3: which files, how commands are categorised ------------------------------

    def parse_as(self, basename: str, kind: str, name_match: str = "") -> str | None:
        """How a file is parsed (``dockerfile`` / ``compose``) or None when skipped.

        paper (OR §2.3, §4.3 #11): ``'dockerfile' in name.lower()`` whatever the content,
        compose by ``'docker-compose' in name.lower()``; corrected: the kind found by
        content at ingest.  A file collected only for the orchestration and GPU signals
        (``name_match`` ``orchestration``: a Helm ``values.yaml``, a Kubernetes manifest)
        is never parsed as a Docker file in either mode: only parse's orchestration pass
        reads it.
        """
        if name_match == ORCHESTRATION:
            return None
        if not self.is_paper:
            return kind if kind in ("dockerfile", "compose") else None
        low = basename.lower()
        if "dockerfile" in low:
            return "dockerfile"
        return "compose" if "docker-compose" in low else None

    @property
    def compose_needs_services_key(self) -> bool:
        """paper (OR §2.9): files without a ``services`` key are skipped; corrected reads
        compose v1 (services at the top level) too."""
        return self.is_paper

    def command_category(self, command: str, run: RunCategories) -> str:
        """paper (OR §2.5, §4.3 #12): the verbatim keyword table, exact tokens;
        corrected: the command word's category (basename, version suffix dropped)."""
        if self.is_paper:
            return run.paper.get(command, UNKNOWN)
        return run.category(command)

    def token_keywords(self, run: RunCategories) -> Mapping[str, str] | None:
        """paper (OR §2.5, §4.3 #12): every whitespace token of every instruction value is
        looked up in the keyword table; corrected finds the commands of RUN only (None)."""
        return run.paper if self.is_paper else None

    @property
    def types_raw_from_text(self) -> bool:
        """paper (OR §2.7): the base-image type is looked up from the raw FROM text before
        its first ``:``; corrected types the resolved image name (ARG/ENV substituted,
        tag and digest split off, stage references typed as their stage)."""
        return self.is_paper

    @property
    def base_type_labels_of_paper(self) -> bool:
        """paper (OR §2.7): base-image types carry the study's spellings."""
        return self.is_paper

    @property
    def figure4a_substring_rule(self) -> bool:
        """paper (S §4.4-4.5, OR §2.7): Figures 4a/4b come from the study's own FROM
        extraction (xlsx sheet baseimages), a bar counting the repositories whose FROM text
        contains the keyword, case-insensitive (pipeline/report/fig4.py); corrected uses
        our parsed FROM rows and exact image names."""
        return self.is_paper

    # -- population --------------------------------------------------------------------

    @property
    def final_dataset_only(self) -> bool:
        """paper (S §2.4): RQ3/RQ4 statistics cover the 405 repositories of
        ``final-dataset.csv``; corrected covers all 406 studied ones."""
        return self.is_paper

    @property
    def counts_files_as_the_package(self) -> bool:
        """paper (S §2.5, OR §2.3): the number of Dockerfiles is the package's own
        per-repository ``total_dockerfiles`` (files named like a Dockerfile); corrected
        counts the files recognised as Dockerfiles by content."""
        return self.is_paper

    @property
    def uses_published_aggregates(self) -> bool:
        """paper (S §5): Figure 5 values are the package's own Top-10 aggregates, redrawn,
        so there is no value of ours to compare; corrected recomputes them."""
        return self.is_paper

    # -- RQ4: images -------------------------------------------------------------------

    def repos_of_image(self, repos: Sequence[str]) -> list[str]:
        """paper (OR §2.8, §2.13): an image counts for the first repository listing it;
        corrected: for every repository that lists it."""
        return list(repos[:1]) if self.is_paper else list(repos)

    @property
    def keeps_duplicate_crawls(self) -> bool:
        """paper (OR §4.3 #16): duplicate image:tag rows and crawls are all summed;
        corrected keeps the first crawl of each image:tag."""
        return self.is_paper

    def per_repo(self, values: Sequence[float]) -> float | None:
        """paper (OR §4.3 #16): config size and env are summed over a repository's
        images; corrected: their mean."""
        if not values:
            return None
        return float(sum(values)) if self.is_paper else statistics.fmean(values)

    def rootfs(self, diff_ids: str) -> int:
        """paper (OR §4.3 #16, the RootFS off-by-one): ``len(diff_ids.split('/'))``;
        corrected: the number of non-empty diff ids."""
        parts = diff_ids.split("/")
        return len(parts) if self.is_paper else len([x for x in parts if x.strip()])

    def config_size(self, size_bytes: float) -> float:
        """Table 2 config size.  paper (OR §2.13, §4.3 #15): the study's ``convert_size``,
        which divides by 1024^floor(log1024 x) and drops the unit; corrected: KiB."""
        if not self.is_paper:
            return round(size_bytes / 1024, 2)
        return convert_size(size_bytes)


def convert_size(size_bytes: float) -> float:
    """The study's ``convert_size``: divide by 1024^floor(log1024 x), round 2, drop the unit."""
    if size_bytes <= 0:
        return 0.0
    i = int(math.floor(math.log(size_bytes, 1024)))
    return round(size_bytes / math.pow(1024, i), 2)


PAPER = Policy("paper", "the study's published rules, quirks included")
CORRECTED = Policy("corrected", "real Dockerfile semantics and the study's defects fixed")
#: in the order tables are written
POLICIES: tuple[Policy, ...] = (CORRECTED, PAPER)
#: in the order the report shows them: the paper's method beside ours
SHOWN: tuple[Policy, ...] = (PAPER, CORRECTED)
BY_NAME: dict[str, Policy] = {p.name: p for p in POLICIES}
MODE_NAMES: tuple[str, ...] = tuple(p.name for p in POLICIES)


def policy(name: str) -> Policy:
    """The policy called ``name``; a clear error otherwise."""
    try:
        return BY_NAME[name]
    except KeyError:
        raise ValueError(f"unknown mode {name!r}; use one of {list(BY_NAME)}") from None

"""One image-reference type for the Dockerfile parser and the registry client (pure).

:func:`parse` splits ``[registry/][namespace/]name[:tag][@digest]`` leniently (it never
raises; Docker Hub names get ``docker.io`` and ``library/``; ``scratch`` has no registry),
which is what the parse tables record.  :func:`parse_strict` is what the registry client
needs: it validates host, repository, tag and digest (raising :class:`InvalidReference`)
and defaults the tag to ``latest`` when there is no digest.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

DOCKER_HUB = "docker.io"
DOCKER_HUB_API_HOST = "registry-1.docker.io"
_HUB_ALIASES = frozenset({DOCKER_HUB, "index.docker.io", DOCKER_HUB_API_HOST})

DIGEST_RE = re.compile(r"^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$")
_HOST_RE = re.compile(r"^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9-]+)*|\[[0-9a-fA-F:]+\])(?::\d+)?$")
_TAG_RE = re.compile(r"^[\w][\w.-]{0,127}$")
_REPO_RE = re.compile(r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$")


class InvalidReference(ValueError):
    """:func:`parse_strict` cannot accept the reference."""


@dataclass(frozen=True)
class ImageRef:
    registry: str  # "docker.io" for Docker Hub, "" for scratch / nothing
    namespace: str  # "library" for official Hub images; may contain "/"
    name: str
    tag: str = ""
    digest: str = ""

    @property
    def repository(self) -> str:
        """The repository path of the registry API, e.g. ``library/ubuntu``."""
        return f"{self.namespace}/{self.name}" if self.namespace else self.name

    @property
    def official(self) -> bool:
        return self.registry == DOCKER_HUB and self.namespace == "library"

    @property
    def api_host(self) -> str:
        """The host serving the registry API: ``registry-1.docker.io`` for Docker Hub."""
        return DOCKER_HUB_API_HOST if self.registry == DOCKER_HUB else self.registry

    @property
    def reference(self) -> str:
        """What to put in ``/v2/<name>/manifests/<reference>``: the digest if any."""
        return self.digest or self.tag or "latest"

    def __str__(self) -> str:
        s = f"{self.registry}/{self.repository}" if self.registry else self.repository
        if self.tag:
            s += f":{self.tag}"
        if self.digest:
            s += f"@{self.digest}"
        return s


def _split(ref: str) -> tuple[str, list[str], str, str]:
    """(registry or "", path components, tag, digest) without validation."""
    s, digest = ref, ""
    if "@" in s:
        s, digest = s.split("@", 1)
    tag = ""
    if ":" in s.rsplit("/", 1)[-1]:
        s, tag = s.rsplit(":", 1)
    comps = s.split("/")
    registry = ""
    if len(comps) > 1 and ("." in comps[0] or ":" in comps[0] or comps[0] == "localhost"):
        registry, comps = comps[0], comps[1:]
    return registry, comps, tag, digest


def parse(ref: str) -> ImageRef:
    """Lenient split (never raises): ``ubuntu`` -> docker.io / library / ubuntu, no tag."""
    if not ref:
        return ImageRef("", "", "")
    registry, comps, tag, digest = _split(ref)
    if not registry or registry in _HUB_ALIASES:
        registry = DOCKER_HUB
        if len(comps) == 1:
            comps = ["library", *comps]
    namespace, name = "/".join(comps[:-1]), comps[-1]
    if name == "scratch" and namespace == "library":
        registry, namespace = "", ""
    return ImageRef(registry, namespace, name, tag, digest)


def parse_strict(ref: str) -> ImageRef:
    """Validated reference with Docker Hub defaults and tag ``latest`` when there is no digest.

    ``ubuntu`` -> ``docker.io/library/ubuntu:latest``; ``localhost:5000/a/b@sha256:..`` keeps
    the port and uses the digest.  Raises :class:`InvalidReference`.
    """
    s = ref.strip()
    if not s:
        raise InvalidReference("empty image reference; give e.g. ubuntu:22.04")
    registry, comps, tag, digest = _split(s)
    if "@" in s and not DIGEST_RE.match(digest):
        raise InvalidReference(f"image reference {ref!r}: invalid digest {digest!r}")
    if registry and not _HOST_RE.match(registry):
        raise InvalidReference(f"image reference {ref!r}: invalid registry host {registry!r}")
    if tag and not _TAG_RE.match(tag):
        raise InvalidReference(f"image reference {ref!r}: invalid tag {tag!r}")
    if not registry or registry in _HUB_ALIASES:
        registry = DOCKER_HUB
        if len(comps) == 1:
            comps = ["library", *comps]
    path = "/".join(comps)
    if not _REPO_RE.match(path):
        raise InvalidReference(
            f"image reference {ref!r}: invalid repository {path!r} (lower case, digits, . _ - /)")
    if not tag and not digest:
        tag = "latest"
    return ImageRef(registry, "/".join(comps[:-1]), comps[-1], tag, digest)

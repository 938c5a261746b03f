"""Registry media types, image references, manifests and descriptors (distribution spec v2).

* :func:`parse_reference` resolves an image reference (:class:`pipeline.core.imageref.ImageRef`)
  with Docker Hub's defaults (``docker.io``, ``library/``, ``latest``); a digest wins over a tag.
* :class:`Manifest` parses every manifest media type (Docker v2, OCI manifest, Docker
  manifest list, OCI index); :func:`platform_matches` selects platforms from an index.

No I/O: :mod:`pipeline.images.registry` fetches what these types describe.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from ..core import imageref
from ..core.imageref import ImageRef
from ..errors import RegistryError

MT_DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
MT_DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
MT_OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MT_OCI_INDEX = "application/vnd.oci.image.index.v1+json"
MANIFEST_TYPES = (MT_DOCKER_MANIFEST, MT_OCI_MANIFEST)
INDEX_TYPES = (MT_DOCKER_LIST, MT_OCI_INDEX)
ACCEPT = ", ".join((MT_OCI_INDEX, MT_DOCKER_LIST, MT_OCI_MANIFEST, MT_DOCKER_MANIFEST))

LAYER_TYPES = {
    "application/vnd.docker.image.rootfs.diff.tar.gzip": "gzip",
    "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip": "gzip",
    "application/vnd.oci.image.layer.v1.tar": "none",
    "application/vnd.oci.image.layer.v1.tar+gzip": "gzip",
    "application/vnd.oci.image.layer.v1.tar+zstd": "zstd",
    "application/vnd.oci.image.layer.nondistributable.v1.tar": "none",
    "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip": "gzip",
    "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd": "zstd",
}
CONFIG_TYPES = (
    "application/vnd.docker.container.image.v1+json",
    "application/vnd.oci.image.config.v1+json",
)


class UnsupportedMediaType(RegistryError):
    """A manifest or blob has a media type the client does not know."""


class BlobDigestMismatch(RegistryError):
    """The bytes received do not hash to the digest asked for."""


# --------------------------------------------------------------------------------------
# references (the one type is pipeline.core.imageref.ImageRef)
# --------------------------------------------------------------------------------------


def parse_reference(ref: str) -> ImageRef:
    """:func:`pipeline.core.imageref.parse_strict`, its errors as :class:`RegistryError`.

    ``ubuntu`` -> ``docker.io/library/ubuntu:latest``; ``localhost:5000/a/b@sha256:..`` keeps
    the port and uses the digest.
    """
    try:
        return imageref.parse_strict(ref)
    except imageref.InvalidReference as exc:
        raise RegistryError(str(exc)) from exc


def sha256_digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class Descriptor:
    media_type: str
    digest: str
    size: int
    platform: str = ""
    urls: tuple[str, ...] = ()

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Descriptor:
        p = d.get("platform") or {}
        plat = ""
        if p:
            plat = f"{p.get('os', '')}/{p.get('architecture', '')}"
            if p.get("variant"):
                plat += f"/{p['variant']}"
        return cls(
            str(d.get("mediaType", "")), str(d["digest"]), int(d.get("size", 0)), plat,
            tuple(d.get("urls") or ()),
        )


@dataclass(frozen=True)
class Manifest:
    media_type: str
    digest: str
    raw: bytes
    config: Descriptor | None = None
    layers: tuple[Descriptor, ...] = ()
    manifests: tuple[Descriptor, ...] = ()

    @property
    def is_index(self) -> bool:
        return self.media_type in INDEX_TYPES

    @classmethod
    def parse(cls, raw: bytes, digest: str, content_type: str = "") -> Manifest:
        try:
            doc = json.loads(raw)
        except ValueError as exc:
            raise RegistryError(f"manifest {digest} is not JSON: {exc}") from exc
        if not isinstance(doc, dict):
            raise RegistryError(f"manifest {digest} is not a JSON object")
        mt = str(doc.get("mediaType") or "")
        if not mt:
            if "manifests" in doc:
                mt = MT_OCI_INDEX
            elif "layers" in doc and "config" in doc:
                mt = MT_OCI_MANIFEST
            else:
                mt = content_type.split(";")[0].strip()
        if mt in INDEX_TYPES:
            mans = tuple(Descriptor.from_json(d) for d in doc.get("manifests") or ())
            return cls(mt, digest, raw, manifests=mans)
        if mt in MANIFEST_TYPES:
            if doc.get("schemaVersion") != 2:
                raise UnsupportedMediaType(f"manifest {digest}: schemaVersion {doc.get('schemaVersion')}")
            cfg = Descriptor.from_json(doc["config"])
            layers = tuple(Descriptor.from_json(d) for d in doc.get("layers") or ())
            return cls(mt, digest, raw, config=cfg, layers=layers)
        raise UnsupportedMediaType(f"manifest {digest}: unsupported media type {mt!r}")


def platform_matches(have: str, want: str) -> bool:
    """``linux/arm64`` matches ``linux/arm64/v8``; ``want`` ``all`` matches everything."""
    if want == "all":
        return True
    h, w = have.split("/"), want.split("/")
    return h[: len(w)] == w

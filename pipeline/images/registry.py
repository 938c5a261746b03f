"""A small client for the container-registry HTTP API (distribution spec v2), no Docker daemon.

:class:`RegistryClient` fetches manifests of every media type (:mod:`.manifests`), selects
platforms, fetches config blobs and streams layer blobs.  It follows the
``WWW-Authenticate`` challenge (anonymous bearer token, or basic auth from
``MLDOCK_REGISTRY_USER`` / ``MLDOCK_REGISTRY_PASSWORD``), retries 429, 5xx and connection
resets with backoff, reads the rate-limit headers and waits when the registry asks, and
keeps a content-addressed cache: a blob is never fetched twice and every digest is verified
before it enters the cache.

Credentials and tokens live only in memory; they are never logged or written.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import re
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests

from ..core.imageref import DIGEST_RE, DOCKER_HUB, ImageRef
from ..errors import RateLimited, RegistryError
from ..tables import atomic_write_bytes
from .fetch import RegistryLimit, wait_paused
from .manifests import (
    ACCEPT,
    INDEX_TYPES,
    MANIFEST_TYPES,
    BlobDigestMismatch,
    Descriptor,
    Manifest,
    UnsupportedMediaType,
    platform_matches,
    sha256_digest,
)

log = logging.getLogger(__name__)

USER_ENV = "MLDOCK_REGISTRY_USER"
PASSWORD_ENV = "MLDOCK_REGISTRY_PASSWORD"


# --------------------------------------------------------------------------------------
# authentication
# --------------------------------------------------------------------------------------


def parse_challenge(header: str) -> tuple[str, dict[str, str]]:
    """``Bearer realm="x",service="y",scope="z"`` -> ("bearer", {...})."""
    scheme, _, params = header.strip().partition(" ")
    out: dict[str, str] = {}
    for m in re.finditer(r'(\w+)\s*=\s*(?:"([^"]*)"|([^,\s]*))', params):
        out[m.group(1).lower()] = m.group(2) if m.group(2) is not None else m.group(3)
    return scheme.lower(), out


@dataclass
class _Auth:
    basic: tuple[str, str] | None = None
    # (registry host, scope or "*" for basic) -> Authorization header value
    tokens: dict[tuple[str, str], str] = field(default_factory=dict)

    def __repr__(self) -> str:  # never show secrets
        return f"_Auth(basic={'set' if self.basic else 'none'}, tokens={len(self.tokens)})"


# --------------------------------------------------------------------------------------
# the client
# --------------------------------------------------------------------------------------


class RegistryClient:
    """Fetch manifests and blobs from OCI/Docker registries over HTTP(S).

    ``endpoint`` overrides the URL for every registry (tests, mirrors); otherwise Docker Hub
    maps to ``registry-1.docker.io`` and other hosts use HTTPS (HTTP for loopback hosts).
    ``cache_dir`` holds ``blobs/<alg>/<hex>`` (content-addressed, verified) and
    ``manifests/`` by digest.
    """

    def __init__(
        self,
        *,
        endpoint: str | None = None,
        cache_dir: str | Path | None = None,
        session: requests.Session | None = None,
        max_retries: int = 4,
        backoff: float = 0.5,
        max_wait: float = 60.0,
        timeout: float = 60.0,
        username: str | None = None,
        password: str | None = None,
        sleep: Callable[[float], None] = time.sleep,
        limit: RegistryLimit | None = None,
        clean: bool = True,
    ) -> None:
        self.limit = limit
        self.endpoint = endpoint.rstrip("/") if endpoint else None
        self.cache_dir = Path(cache_dir) if cache_dir else None
        if self.cache_dir and clean:  # a worker's copy never cleans: others are downloading
            remove_partial_downloads(self.cache_dir)
        self.session = session or requests.Session()
        self.max_retries = max_retries
        self.backoff = backoff
        self.max_wait = max_wait
        self.timeout = timeout
        self.sleep = sleep
        user = username if username is not None else os.environ.get(USER_ENV)
        pw = password if password is not None else os.environ.get(PASSWORD_ENV)
        self._auth = _Auth(basic=(user, pw) if user and pw else None)
        self.rate_limit_remaining: int | None = None
        self.rate_limit_reset: float | None = None
        self.stats: dict[str, int] = {"requests": 0, "blob_gets": 0, "cache_hits": 0, "retries": 0}

    def __reduce__(self) -> tuple[Any, tuple[dict[str, Any]]]:
        """Pickled as its settings (for the executor's workers): no session, no tokens, no
        credentials (a worker reads them from its own environment), ``time.sleep``."""
        spec = {"endpoint": self.endpoint, "cache_dir": self.cache_dir,
                "max_retries": self.max_retries, "backoff": self.backoff,
                "max_wait": self.max_wait, "timeout": self.timeout, "limit": self.limit}
        return (_client_from_spec, (spec,))

    # ---------------------------------------------------------------- HTTP plumbing
    def base_url(self, ref: ImageRef) -> str:
        if self.endpoint:
            return self.endpoint
        if ref.registry == DOCKER_HUB:
            return f"https://{ref.api_host}"
        host = ref.registry.split(":")[0]
        scheme = "http" if host in ("localhost", "127.0.0.1", "::1") else "https"
        return f"{scheme}://{ref.registry}"

    def _read_rate_limit(self, resp: requests.Response, ref: ImageRef) -> None:
        v = resp.headers.get("RateLimit-Remaining") or resp.headers.get("X-RateLimit-Remaining")
        if v:
            with contextlib.suppress(ValueError):
                self.rate_limit_remaining = int(v.split(";")[0].strip())
        wait = _reset_in(resp)
        self.rate_limit_reset = None if wait is None else time.time() + wait
        if self.limit is not None and self.rate_limit_remaining == 0 and self.rate_limit_reset:
            self.limit.pause(ref.registry, self.rate_limit_reset)  # every worker waits

    def _respect_rate_limit(self, ref: ImageRef) -> None:
        """Before a request: with no requests left (here, or heard by another worker
        through the shared :class:`RegistryLimit`), wait for the reset or stop."""
        shared = wait_paused(self.limit, ref.registry, self.max_wait, self.sleep)
        if shared:
            raise _rate_limited(ref, time.time() + shared)
        if self.rate_limit_remaining != 0 or self.rate_limit_reset is None:
            return
        wait = max(0.0, self.rate_limit_reset - time.time())
        if wait > self.max_wait:
            raise _rate_limited(ref, self.rate_limit_reset)
        self._wait(wait, "rate limit exhausted")
        self.rate_limit_remaining = None

    def _retry_after(self, resp: requests.Response, attempt: int) -> float:
        ra = resp.headers.get("Retry-After")
        if ra:
            with contextlib.suppress(ValueError):
                return float(ra)
        wait = _reset_in(resp)
        return wait if wait is not None else self.backoff * (2**attempt)

    def _request(
        self, method: str, url: str, ref: ImageRef, *, headers: dict[str, str] | None = None,
        stream: bool = False, scope_action: str = "pull",
    ) -> requests.Response:
        """One logical request: auth challenge, retries with backoff, rate limits."""
        hdrs = dict(headers or {})
        scope = f"repository:{ref.repository}:{scope_action}"
        challenged = False
        attempt = 0
        while True:
            self._respect_rate_limit(ref)
            auth_hdr = self._auth_header(url, scope)
            if auth_hdr:
                hdrs["Authorization"] = auth_hdr
            self.stats["requests"] += 1
            try:
                resp = self.session.request(
                    method, url, headers=hdrs, stream=stream, timeout=self.timeout,
                    allow_redirects=True,
                )
            except (requests.ConnectionError, requests.Timeout) as exc:
                if attempt >= self.max_retries:
                    raise RegistryError(
                        f"{method} {url}: {type(exc).__name__} after {attempt + 1} attempts; "
                        "check the registry URL and network, then rerun"
                    ) from exc
                self._wait(self.backoff * (2**attempt), "connection error")
                attempt += 1
                continue
            self._read_rate_limit(resp, ref)
            if resp.status_code == 401 and not challenged:
                challenged = True
                chal = resp.headers.get("WWW-Authenticate", "")
                resp.close()
                if not chal:
                    raise RegistryError(f"{method} {url}: 401 without a WWW-Authenticate challenge")
                self._answer_challenge(chal, scope, url)
                continue
            if resp.status_code == 429 or resp.status_code >= 500:
                wait = self._retry_after(resp, attempt)
                code = resp.status_code
                resp.close()
                if code == 429 and self.limit is not None:  # the others wait too
                    self.limit.pause(ref.registry, time.time() + wait)
                if attempt >= self.max_retries or wait > self.max_wait:
                    if code == 429:
                        raise _rate_limited(ref, time.time() + wait)
                    raise RegistryError(
                        f"{method} {url}: HTTP {code} after {attempt + 1} attempts; rerun later"
                    )
                self._wait(wait, f"HTTP {code}")
                attempt += 1
                continue
            return resp

    def _wait(self, seconds: float, why: str) -> None:
        self.stats["retries"] += 1
        log.info("registry: %s; retrying in %.1fs", why, seconds)
        self.sleep(seconds)

    def _auth_header(self, url: str, scope: str) -> str | None:
        host = urlsplit(url).netloc
        return self._auth.tokens.get((host, scope)) or self._auth.tokens.get((host, "*"))

    def _answer_challenge(self, header: str, scope: str, url: str) -> None:
        host = urlsplit(url).netloc
        scheme, params = parse_challenge(header)
        if scheme == "basic":
            if not self._auth.basic:
                raise RegistryError(
                    f"registry asks for basic auth; set {USER_ENV} and {PASSWORD_ENV}"
                )
            import base64

            cred = base64.b64encode(":".join(self._auth.basic).encode()).decode()
            self._auth.tokens[(host, "*")] = f"Basic {cred}"
            return
        if scheme != "bearer" or "realm" not in params:
            raise RegistryError(f"unsupported auth challenge scheme {scheme!r}")
        realm = params["realm"]
        q: dict[str, str] = {}
        if params.get("service"):
            q["service"] = params["service"]
        q["scope"] = params.get("scope") or scope
        auth = self._auth.basic
        try:
            r = self.session.get(realm, params=q, auth=auth, timeout=self.timeout)
        except requests.RequestException as exc:
            raise RegistryError(f"token server {realm}: {type(exc).__name__}") from exc
        self.stats["requests"] += 1
        if r.status_code != 200:
            raise RegistryError(
                f"token server {realm} answered HTTP {r.status_code}; check "
                f"{USER_ENV}/{PASSWORD_ENV} or the image name"
            )
        try:
            body = r.json()
        except ValueError as exc:
            raise RegistryError(f"token server {realm} did not return JSON") from exc
        tok = body.get("token") or body.get("access_token")
        if not tok:
            raise RegistryError(f"token server {realm} returned no token")
        self._auth.tokens[(host, scope)] = f"Bearer {tok}"

    # ---------------------------------------------------------------- cache
    def _cache_path(self, kind: str, digest: str) -> Path | None:
        if not self.cache_dir:
            return None
        alg, _, hexd = digest.partition(":")
        if not hexd or "/" in hexd or ".." in hexd:
            return None
        return self.cache_dir / kind / alg / hexd

    def _cache_get(self, kind: str, digest: str) -> bytes | None:
        p = self._cache_path(kind, digest)
        if p and p.exists():
            data = p.read_bytes()
            if _digest_of(data, digest) == digest:
                self.stats["cache_hits"] += 1
                return data
            log.warning("cache entry %s is corrupt; fetching again", p)
            p.unlink()
        return None

    def _cache_put(self, kind: str, digest: str, data: bytes) -> None:
        p = self._cache_path(kind, digest)
        if p:
            atomic_write_bytes(p, data)

    # ---------------------------------------------------------------- manifests
    def head_manifest(self, ref: ImageRef) -> tuple[str, str, int]:
        """(digest, media type, size) of a manifest without downloading it."""
        url = f"{self.base_url(ref)}/v2/{ref.repository}/manifests/{ref.reference}"
        r = self._request("HEAD", url, ref, headers={"Accept": ACCEPT})
        r.close()
        if r.status_code == 404:
            raise RegistryError(f"{ref}: manifest not found (404); check the name and tag")
        if r.status_code != 200:
            raise RegistryError(f"{ref}: HEAD manifest answered HTTP {r.status_code}")
        return (
            r.headers.get("Docker-Content-Digest", ""),
            r.headers.get("Content-Type", "").split(";")[0],
            int(r.headers.get("Content-Length") or 0),
        )

    def get_manifest(self, ref: ImageRef, reference: str | None = None) -> Manifest:
        """Fetch and parse a manifest (any of the four media types); verify its digest.

        A tag is first resolved with HEAD; a manifest already in the cache is not pulled.
        """
        want = reference or ref.reference
        digest = want if ":" in want and DIGEST_RE.match(want) else ""
        if not digest and self.cache_dir:
            with contextlib.suppress(RegistryError):
                digest = self.head_manifest(ref)[0]
        if digest:
            cached = self._cache_get("manifests", digest)
            if cached is not None:
                return Manifest.parse(cached, digest)
        url = f"{self.base_url(ref)}/v2/{ref.repository}/manifests/{digest or want}"
        r = self._request("GET", url, ref, headers={"Accept": ACCEPT})
        if r.status_code == 404:
            raise RegistryError(f"{ref}: manifest {want} not found (404); check the name and tag")
        if r.status_code != 200:
            raise RegistryError(f"{ref}: GET manifest answered HTTP {r.status_code}")
        raw = r.content
        got = sha256_digest(raw)
        expected = digest or r.headers.get("Docker-Content-Digest", "")
        if expected and expected.startswith("sha256:") and got != expected:
            raise BlobDigestMismatch(f"{ref}: manifest bytes hash to {got}, expected {expected}")
        man = Manifest.parse(raw, got, r.headers.get("Content-Type", ""))
        self._cache_put("manifests", got, raw)
        return man

    def resolve(self, ref: ImageRef, platform: str = "linux/amd64") -> list[tuple[Manifest, Descriptor | None, str]]:
        """Image manifests for ``platform`` (or ``all``): [(manifest, index descriptor, index digest)]."""
        top = self.get_manifest(ref)
        if not top.is_index:
            return [(top, None, "")]
        chosen = [d for d in top.manifests if platform_matches(d.platform, platform)]
        if platform == "all":
            chosen = [d for d in chosen if d.platform != "unknown/unknown"]
        if not chosen:
            have = ", ".join(d.platform for d in top.manifests) or "none"
            raise RegistryError(f"{ref}: no manifest for platform {platform} (has: {have}); use --platform")
        if platform != "all":
            chosen = chosen[:1]
        out: list[tuple[Manifest, Descriptor | None, str]] = []
        for d in chosen:
            if d.media_type and d.media_type not in MANIFEST_TYPES + INDEX_TYPES:
                raise UnsupportedMediaType(f"{ref}: index entry {d.digest} has media type {d.media_type!r}")
            m = self.get_manifest(ref, d.digest)
            out.append((m, d, top.digest))
        return out

    # ---------------------------------------------------------------- blobs
    def get_blob_bytes(self, ref: ImageRef, digest: str) -> bytes:
        """A small blob (config) in memory, verified and cached."""
        cached = self._cache_get("blobs", digest)
        if cached is not None:
            return cached
        url = f"{self.base_url(ref)}/v2/{ref.repository}/blobs/{digest}"
        r = self._request("GET", url, ref)
        self.stats["blob_gets"] += 1
        if r.status_code != 200:
            raise RegistryError(f"{ref}: blob {digest} answered HTTP {r.status_code}")
        data = r.content
        got = _digest_of(data, digest)
        if got != digest:
            raise BlobDigestMismatch(f"{ref}: blob bytes hash to {got}, expected {digest}")
        self._cache_put("blobs", digest, data)
        return data

    def evict_blob(self, digest: str) -> None:
        """Drop a cached blob (e.g. one that failed verification)."""
        p = self._cache_path("blobs", digest)
        if p is not None:
            with contextlib.suppress(FileNotFoundError):
                p.unlink()

    @contextlib.contextmanager
    def open_blob(self, ref: ImageRef, digest: str) -> Iterator[Any]:
        """A readable stream of a (large) blob.

        From the cache when present; otherwise streamed from the registry while being
        written to a temporary cache file, which is renamed into the cache only when the
        caller consumed it all and the digest matched (the caller checks the digest: the
        layer scanner hashes what it reads).
        """
        p = self._cache_path("blobs", digest)
        if p and p.exists():
            self.stats["cache_hits"] += 1
            with open(p, "rb") as fh:
                yield fh
            return
        url = f"{self.base_url(ref)}/v2/{ref.repository}/blobs/{digest}"
        r = self._request("GET", url, ref, stream=True)
        self.stats["blob_gets"] += 1
        if r.status_code != 200:
            r.close()
            raise RegistryError(f"{ref}: blob {digest} answered HTTP {r.status_code}")
        tee = _TeeToCache(r, p, digest)
        try:
            yield tee
            tee.commit()
        finally:
            tee.close()


def _client_from_spec(spec: dict[str, Any]) -> RegistryClient:
    """A worker's client: it leaves the shared cache's partial downloads alone (only the
    stage's own process removes a killed run's leftovers, at its start)."""
    return RegistryClient(**spec, clean=False)


def remove_partial_downloads(cache_dir: Path) -> int:
    """Remove the temporary files (``.tmp-*``, ``.<name>.*.tmp``) a killed download left in
    the cache; returns how many."""
    n = 0
    for f in [*cache_dir.rglob(".tmp-*"), *cache_dir.rglob(".*.tmp")]:
        with contextlib.suppress(FileNotFoundError):
            f.unlink()
            n += 1
    if n:
        log.info("removed %d partial downloads from %s", n, cache_dir)
    return n


def _reset_in(resp: requests.Response) -> float | None:
    """Seconds until the rate-limit window resets (``RateLimit-Reset``: epoch seconds, or
    seconds from now), ``None`` without a readable header."""
    reset = resp.headers.get("RateLimit-Reset") or resp.headers.get("X-RateLimit-Reset")
    if reset:
        with contextlib.suppress(ValueError):
            r = float(reset.split(";")[0])
            return max(0.0, r - time.time()) if r > 1e9 else r
    return None


def _rate_limited(ref: ImageRef, reset_at: float) -> RateLimited:
    return RateLimited(f"registry {ref.registry}", time.strftime("%H:%M UTC", time.gmtime(reset_at)))


def _digest_of(data: bytes, like: str) -> str:
    alg = like.split(":", 1)[0] if ":" in like else "sha256"
    try:
        return f"{alg}:{hashlib.new(alg, data).hexdigest()}"
    except ValueError:
        return sha256_digest(data)


class _TeeToCache:
    """A ``read(n)`` view of an HTTP body that copies it to a temp file and hashes it."""

    def __init__(self, resp: requests.Response, target: Path | None, digest: str) -> None:
        self.resp = resp
        self.raw = resp.raw
        self.raw.decode_content = False
        self.target = target
        self.digest = digest
        alg = digest.split(":", 1)[0]
        try:
            self.h = hashlib.new(alg)
        except ValueError:
            self.h = hashlib.sha256()
        self.alg = alg
        self.fh: Any = None
        self.tmp: str | None = None
        self.eof = False
        if target is not None:
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, self.tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
            self.fh = os.fdopen(fd, "wb")

    def read(self, n: int = -1) -> bytes:
        try:
            data: bytes = self.raw.read(n if n and n > 0 else 1 << 20)
        except Exception as exc:  # urllib3 protocol errors: connection reset mid-body
            raise RegistryError(f"blob {self.digest}: connection broken while reading: {exc}") from exc
        if data:
            self.h.update(data)
            if self.fh:
                self.fh.write(data)
        else:
            self.eof = True
        return data

    def commit(self) -> None:
        while not self.eof:
            self.read(1 << 20)
        got = f"{self.alg}:{self.h.hexdigest()}"
        if self.fh and self.tmp and self.target and got == self.digest:
            self.fh.close()
            self.fh = None
            os.replace(self.tmp, self.target)
            self.tmp = None

    def close(self) -> None:
        if self.fh:
            self.fh.close()
            self.fh = None
        if self.tmp:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.tmp)
            self.tmp = None
        self.resp.close()

"""A JSON HTTP client (Docker Hub) and the parts it shares with the GitHub client.

Every successful response is cached on disk by request (method, URL with sorted query,
body), without any request header (:class:`Store`), so a rerun replays what it already has
and requests nothing twice.  GitHub goes through PyGithub (:mod:`.client`), which uses the
same store and the same :class:`Waiter`.

Waiting is done through an injectable ``sleep``/``clock`` pair so tests can check that the
wait for a rate-limit reset is computed from the ``x-ratelimit-reset`` header without
actually sleeping.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import requests

from ..errors import AuthFailed, NetworkError, RateLimited
from ..tables import atomic_write_text

log = logging.getLogger(__name__)

_LINK_RE = re.compile(r'<([^>]+)>;\s*rel="(\w+)"')
CACHEABLE = (200, 204, 404, 409, 451)  # 204/404/409/451: empty, missing, empty repo, blocked
LIMIT_RETRIES = 30  # consecutive rate-limit answers to one request before giving up


def parse_link(header: str | None) -> dict[str, str]:
    """``Link`` header -> {rel: url}."""
    return {rel: url for url, rel in _LINK_RE.findall(header or "")}


def _shown(url: str) -> str:
    """A URL as it may appear in messages: without its query."""
    return url.split("?", 1)[0]


def last_page(header: str | None) -> int | None:
    """The ``page`` number of the ``last`` link, or None when there is no ``last`` link."""
    url = parse_link(header).get("last")
    if not url:
        return None
    q = dict(parse_qsl(urlsplit(url).query))
    try:
        return int(q["page"])
    except (KeyError, ValueError):
        return None


def canonical_url(url: str, params: dict[str, Any] | None = None) -> str:
    """URL with the query merged with ``params`` and sorted (a stable cache key)."""
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    for k, v in (params or {}).items():
        query[k] = str(v)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(sorted(query.items())), ""))


@dataclass
class Response:
    """A JSON response: status, the headers we keep, and the decoded body."""

    status: int
    headers: dict[str, str]
    data: Any
    cached: bool = False

    @property
    def link(self) -> str | None:
        return self.headers.get("link")


HEADERS = {"Accept": "application/json", "User-Agent": "mldock"}
KEPT_HEADERS = ("link", "x-ratelimit-remaining", "x-ratelimit-reset", "x-ratelimit-limit", "etag")


@dataclass
class Stats:
    """Request counts per step: network requests and cache hits."""

    requests: Counter[str] = field(default_factory=Counter)
    cache_hits: Counter[str] = field(default_factory=Counter)
    retries: Counter[str] = field(default_factory=Counter)
    waited: float = 0.0
    waits: list[float] = field(default_factory=list)


@dataclass
class Waiter:
    """Every wait of a collection: through the injectable ``sleep``/``clock``, counted in ``stats``."""

    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.time
    max_wait: float = 3700.0
    stats: Stats = field(default_factory=Stats)
    service: str = "GitHub"
    step: str = "other"

    def wait(self, seconds: float, why: str) -> None:
        seconds = max(0.0, seconds)
        until = datetime.fromtimestamp(self.clock() + seconds, UTC).strftime("%H:%M:%S UTC")
        if seconds > self.max_wait:
            raise RateLimited(self.service, until)
        if seconds >= 1:
            log.warning("%s: %s; waiting %.0f s (until %s)", self.service, why, seconds, until)
        self.stats.waited += seconds
        self.stats.waits.append(seconds)
        self.sleep(seconds)


class Store:
    """Immutable answers on disk, one atomic JSON file per request key."""

    def __init__(self, root: Path) -> None:
        self.root = root

    @staticmethod
    def key(method: str, url: str, body: str | None) -> str:
        return hashlib.sha256(f"{method}\n{url}\n{body or ''}".encode()).hexdigest()

    def file(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.json"

    def get(self, key: str) -> Response | None:
        f = self.file(key)
        if not f.exists():
            return None
        try:
            rec = json.loads(f.read_text(encoding="utf-8"))
            return Response(rec["status"], rec["headers"], rec["data"], cached=True)
        except (OSError, ValueError, KeyError):
            log.warning("ignoring unreadable cache entry %s", f)
            return None

    def put(self, key: str, method: str, url: str, body: str | None, resp: Response) -> None:
        rec = {"method": method, "url": url, "body": body, "status": resp.status, "headers": resp.headers,
               "data": resp.data, "fetched_at": datetime.now(UTC).isoformat(timespec="seconds")}
        atomic_write_text(self.file(key), json.dumps(rec, sort_keys=True))

    def forget(self, key: str) -> None:
        self.file(key).unlink(missing_ok=True)


class HttpClient:
    """A small JSON client (Docker Hub) with the on-disk :class:`Store` and rate-limit handling."""

    def __init__(
        self,
        base_url: str,
        cache_dir: Path,
        waiter: Waiter,
        *,
        service: str = "Docker Hub",
        backoff: float = 1.0,
        retries: int = 6,
        secondary_wait: float = 60.0,
        timeout: float = 30.0,
        session: requests.Session | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.store = Store(cache_dir)
        self.waiter = Waiter(waiter.sleep, waiter.clock, waiter.max_wait, waiter.stats, service)
        self.service = service
        self.clock = waiter.clock
        self.backoff = backoff
        self.retries = retries
        self.secondary_wait = secondary_wait
        self.timeout = timeout
        self.session = session or requests.Session()
        self.stats = waiter.stats
        self._pending_wait: float | None = None

    @property
    def step(self) -> str:
        return self.waiter.step

    @step.setter
    def step(self, value: str) -> None:
        self.waiter.step = value

    @property
    def cache_dir(self) -> Path:
        return self.store.root

    @cache_dir.setter
    def cache_dir(self, value: Path) -> None:
        self.store.root = value

    # -- requests ---------------------------------------------------------------------
    def url(self, path: str) -> str:
        return path if path.startswith(("http://", "https://")) else f"{self.base_url}/{path.lstrip('/')}"

    def get(self, path: str, params: dict[str, Any] | None = None) -> Response:
        return self.request("GET", self.url(path), params=params)

    def request(self, method: str, url: str, params: dict[str, Any] | None = None,
                body: str | None = None) -> Response:
        """One logical request: from the cache, or fetched (with retries) and cached."""
        full = canonical_url(url, params)
        key = self.store.key(method, full, body)
        hit = self.store.get(key)
        if hit is not None:
            self.stats.cache_hits[self.step] += 1
            return hit
        resp = self._fetch(method, full, body)
        if resp.status in CACHEABLE:
            self.store.put(key, method, full, body, resp)
        return resp

    def _fetch(self, method: str, url: str, body: str | None) -> Response:
        """Send one request until it gets a final answer; every wait goes through ``sleep``."""
        attempt = 0  # transient failures (5xx, resets, bad JSON), bounded by ``retries``
        limited = 0  # rate-limit answers, bounded by ``LIMIT_RETRIES``
        shown = _shown(url)
        while True:
            if self._pending_wait is not None:  # the previous answer used up the quota
                wait, self._pending_wait = self._pending_wait, None
                self.waiter.wait(wait, "primary rate limit used up")
            self.stats.requests[self.step] += 1
            problem: str
            try:
                r = self.session.request(
                    method, url, data=body, headers=HEADERS, timeout=self.timeout
                )
                status = r.status_code
                if status in (403, 429):
                    limit = self._limit_wait(r, limited)
                    if limit is not None:
                        limited += 1
                        if limited > LIMIT_RETRIES:
                            raise NetworkError(f"{self.service}: still rate limited on {shown}; rerun later")
                        self.stats.retries[self.step] += 1
                        self.waiter.wait(*limit)
                        continue
                if status >= 500:
                    problem = f"HTTP {status}"
                elif status in CACHEABLE or 200 <= status < 300:
                    try:
                        data = r.json() if r.content else None
                    except ValueError:
                        problem = "truncated or invalid JSON"
                    else:
                        headers = {k: r.headers[k] for k in KEPT_HEADERS if k in r.headers}
                        if r.headers.get("x-ratelimit-remaining") == "0":
                            self._pending_wait = reset_wait(r.headers, self.clock)
                        return Response(status, headers, data)
                elif status == 401:
                    raise AuthFailed(self.service)
                else:
                    raise NetworkError(f"{self.service}: HTTP {status} for {shown}; check the URL and token")
            except (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError) as exc:
                problem = type(exc).__name__
            attempt += 1
            if attempt > self.retries:
                raise NetworkError(f"{self.service}: {problem} for {shown} after {attempt} attempts; rerun to resume")
            self.stats.retries[self.step] += 1
            self.waiter.wait(self.backoff * 2 ** (attempt - 1), f"{problem} on {shown}, retrying")

    def _limit_wait(self, r: requests.Response, limited: int) -> tuple[float, str] | None:
        """(seconds, why) when a 403/429 is a rate limit; None when it is a real refusal."""
        return limit_wait(r.status_code, r.headers, r.content, _shown(r.url or ""), self.clock,
                          self.secondary_wait, limited)


def limit_wait(status: int, headers: Any, body: bytes, shown: str, clock: Callable[[], float],
               secondary_wait: float, limited: int) -> tuple[float, str] | None:
    """(seconds, why) when a 403/429 answer is a rate limit; None when it is a real refusal.

    ``Retry-After`` is waited as given; a used-up quota (``x-ratelimit-remaining: 0``) until
    ``x-ratelimit-reset`` + 1 s by ``clock``; a 429 or a rate-limit message without either
    ``secondary_wait``, doubled for each earlier rate-limit answer (``limited``).
    """
    retry_after = headers.get("retry-after")
    if retry_after is not None:
        try:
            return float(retry_after), f"secondary rate limit on {shown}"
        except ValueError:
            return secondary_wait, f"secondary rate limit on {shown}"
    if headers.get("x-ratelimit-remaining") == "0":
        wait = reset_wait(headers, clock)
        return (wait if wait is not None else secondary_wait), "primary rate limit reached"
    if status == 429 or b"rate limit" in (body or b"").lower():
        # secondary limit without Retry-After: GitHub asks for at least a minute, growing
        return secondary_wait * 2**limited, f"secondary rate limit on {shown}"
    return None


def reset_wait(headers: Any, clock: Callable[[], float]) -> float | None:
    """Seconds until ``x-ratelimit-reset`` (by ``clock``) plus 1 s; None without the header."""
    try:
        return float(headers.get("x-ratelimit-reset")) - clock() + 1.0
    except (TypeError, ValueError):
        return None


def dockerhub_client(base_url: str, cache_root: Path, waiter: Waiter, **kw: Any) -> HttpClient:
    """A client for Docker Hub (never given the GitHub token), caching under ``cache_root/dockerhub``."""
    return HttpClient(base_url, cache_root / "dockerhub", waiter, service="Docker Hub", **kw)

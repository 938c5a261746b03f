"""The one place that builds the PyGithub client: cache, injectable waits, no throttle on hits.

:func:`github_client` returns a :class:`GitHub`: a ``github.Github`` whose requester's
connection session is replaced by a :class:`CachingSession` (the connection keeps
PyGithub's own ``HTTPAdapter``, so its :class:`MldockRetry` still applies).  PyGithub offers
no session parameter (PyGithub#2865): the connection is reached through the requester's
private ``__createConnection``; ``tests/test_collect.py`` fails loudly if that name changes
(PyGithub's minor version is pinned in ``pyproject.toml``).

- Cache: every answer worth keeping (``jsonhttp.CACHEABLE``) is stored atomically by request
  (method, URL with sorted query, body), with no request header; a rerun replays it.
- Waits: rate limits (primary with its reset, ``Retry-After``, a 429 without it), backoffs
  and GraphQL ``RATE_LIMITED`` answers all wait through the injected ``sleep``/``clock``.
- PyGithub's own throttle is off (``seconds_between_requests=None``): it also delays cache
  hits; the session spaces only real requests (``min_interval``).
- The token goes to PyGithub's ``Auth.Token`` only: never into a key, a file or a message.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests
from github import Auth, BadCredentialsException, Github, GithubException, GithubRetry
from github.GithubObject import GithubObject
from github.PaginatedList import PaginatedList
from github.Repository import Repository
from urllib3 import Retry
from urllib3.util.retry import RequestHistory

from ..errors import AuthFailed, NetworkError
from .jsonhttp import (
    CACHEABLE,
    KEPT_HEADERS,
    LIMIT_RETRIES,
    Response,
    Store,
    Waiter,
    canonical_url,
    limit_wait,
    reset_wait,
)

log = logging.getLogger(__name__)

GRAPHQL_UNAVAILABLE = (401, 404, 501)


def _no_default_port(url: str) -> str:
    """PyGithub writes the port into every URL (``https://api.github.com:443/...``): drop a default one."""
    p = urlsplit(url)
    if (p.scheme, p.port) in (("https", 443), ("http", 80)):
        p = p._replace(netloc=p.hostname or "")
    return urlunsplit(p)


class MldockRetry(GithubRetry):
    """PyGithub's retry with every wait through mldock's :class:`Waiter`; also retries a 429.

    ``Retry-After`` is waited as given; a quota used up (``x-ratelimit-remaining: 0``) until
    its ``x-ratelimit-reset`` (by the injected clock) plus 1 s; a 429 or a rate-limit message
    without either waits ``secondary_wait``, doubled on each further answer.  Rate-limit
    answers are counted apart (``limited``, at most ``LIMIT_RETRIES``): they never use up
    the ``total``/``status`` retries of transient failures, whose waits are ``backoff_factor``,
    then doubled (``failed``: transient failures so far).
    """

    def __init__(self, waiter: Waiter | None = None, secondary_wait: float = 60.0,
                 limited: int = 0, failed: int = 0, **kw: Any) -> None:
        kw.setdefault("status_forcelist", [*(s for s in range(500, 600) if s != 501), 429])  # 501: no GraphQL
        kw.setdefault("raise_on_status", False)
        super().__init__(secondary_rate_wait=secondary_wait, **kw)
        self.waiter = waiter or Waiter()
        self.limited, self.failed = limited, failed
        self.limit_wait: tuple[float, str] | None = None

    def new(self, **kw: Any) -> MldockRetry:
        kw.update(waiter=self.waiter, secondary_wait=self.secondary_rate_wait, limited=self.limited,
                  failed=self.failed)
        kw.pop("secondary_rate_wait", None)
        kw.pop("max_rate_limit_wait", None)
        return Retry.new(self, **kw)  # type: ignore[return-value]

    def increment(self, method: str | None = None, url: str | None = None, response: Any = None,
                  error: Exception | None = None, _pool: Any = None, _stacktrace: Any = None) -> MldockRetry:
        wait = None
        if response is not None and response.status in (403, 429):
            body = b"" if response.status == 429 or "retry-after" in response.headers else self.get_content(response, url or "")
            wait = limit_wait(response.status, response.headers, body, (url or "").split("?", 1)[0],
                              self.waiter.clock, self.secondary_rate_wait, self.limited)
            if wait is None and response.status == 403:  # a refusal (forbidden, SAML, ...), not a limit
                raise NetworkError(refused(_no_default_port(url or ""), body))
        if wait is not None:  # a rate limit: counted apart, the transient-failure budget stays
            if self.limited + 1 > LIMIT_RETRIES:
                raise NetworkError(f"GitHub: still rate limited on {url}; rerun later")
            retry = self.new(history=(*self.history, RequestHistory(method, url, error, response.status, None)))
            retry.limited = self.limited + 1
        else:
            retry = Retry.increment(self, method, url, response, error, _pool, _stacktrace)  # type: ignore[assignment]
            retry.failed = self.failed + 1
        retry.limit_wait = wait
        return retry

    def get_backoff_time(self) -> float:
        """The wait before the next try of a transient failure: ``backoff_factor``, then doubled."""
        if self.failed == 0:
            return 0.0
        return float(min(self.backoff_max, self.backoff_factor * 2 ** (self.failed - 1)))

    def sleep(self, response: Any = None) -> None:
        self.waiter.stats.retries[self.waiter.step] += 1
        self.waiter.stats.requests[self.waiter.step] += 1
        if self.limit_wait is not None:
            self.waiter.wait(*self.limit_wait)
        else:
            self.waiter.wait(self.get_backoff_time(), "transient error, retrying")


def refused(url: str, body: Any) -> str:
    """The one line for a 403/422 that is no rate limit: GitHub's own message, what to check."""
    data = body
    if isinstance(body, bytes | str):
        try:
            data = json.loads(body or b"{}")
        except ValueError:
            data = {"message": body.decode(errors="replace") if isinstance(body, bytes) else body}
    message = data.get("message") if isinstance(data, dict) else data
    where = f" {url.split('?', 1)[0]}" if url else ""
    return f"GitHub refused{where}: {message or 'no message'}; check the token's access"


def is_graphql(method: str, url: str) -> bool:
    return method == "POST" and url.split("?", 1)[0].endswith("/graphql")


def graphql_transient(method: str, url: str, status: int, data: Any) -> str | None:
    """What is wrong with a GraphQL 200 that is a failure (never cached): rate limited, or no
    data at all (its first error message); None for an answer to keep."""
    if not is_graphql(method, url) or status != 200:
        return None
    d = data if isinstance(data, dict) else {}
    errs = [e for e in d.get("errors") or [] if isinstance(e, dict)]
    if any(e.get("type") == "RATE_LIMITED" for e in errs):
        return "RATE_LIMITED answer"
    if d.get("data") is None:
        return f"GraphQL errors: {errs[0].get('message') if errs else 'no data'}"
    return None


class CachingSession(requests.Session):
    """A session that replays stored answers and sends (and spaces) only the rest."""

    def __init__(self, store: Store, waiter: Waiter, retries: int, backoff: float,
                 min_interval: float = 0.0) -> None:
        super().__init__()
        self.store, self.waiter = store, waiter
        self.retries, self.backoff, self.min_interval = retries, backoff, min_interval
        self._pending: float | None = None
        self._last: float | None = None

    def send(self, request: requests.PreparedRequest, **kw: Any) -> requests.Response:  # type: ignore[override]
        body = request.body.decode() if isinstance(request.body, bytes) else request.body
        method, url = request.method or "GET", canonical_url(_no_default_port(request.url or ""))
        key = self.store.key(method, url, body)
        hit = self.store.get(key)
        if hit is not None:
            self.waiter.stats.cache_hits[self.waiter.step] += 1
            return self._response(hit, request)
        for attempt in range(1, self.retries + 2):
            r = self._send_real(request, **kw)
            problem = self._transient(method, url, r)
            if problem is None:
                break
            if attempt > self.retries:
                raise NetworkError(f"GitHub: {problem} for {url.split('?', 1)[0]}; rerun to resume")
            self.waiter.stats.retries[self.waiter.step] += 1
            if r.headers.get("x-ratelimit-remaining") == "0":
                self._pending = None
                self.waiter.wait(reset_wait(r.headers, self.waiter.clock) or 0.0, "rate limited (GraphQL)")
            else:
                self.waiter.wait(self.backoff * 2 ** (attempt - 1), f"{problem}, retrying")
        if r.status_code in CACHEABLE and not (r.status_code == 404 and is_graphql(method, url)):
            # a GraphQL 404 (REST fallback for this run) is asked again by the next run
            data = json.loads(r.content) if r.content else None
            headers = {k: r.headers[k] for k in KEPT_HEADERS if k in r.headers}
            self.store.put(key, method, url, body, Response(r.status_code, headers, data))
        return r

    def _send_real(self, request: requests.PreparedRequest, **kw: Any) -> requests.Response:
        if self._pending is not None:  # the previous answer used up the quota
            wait, self._pending = self._pending, None
            self.waiter.wait(wait, "primary rate limit used up")
        clock = self.waiter.clock
        if self.min_interval and self._last is not None:
            self.waiter.sleep(max(0.0, self._last + self.min_interval - clock()))
        self.waiter.stats.requests[self.waiter.step] += 1
        r = super().send(request, **kw)
        self._last = clock()
        if r.headers.get("x-ratelimit-remaining") == "0" and r.status_code < 400:
            self._pending = reset_wait(r.headers, clock)
        return r

    @staticmethod
    def _transient(method: str, url: str, r: requests.Response) -> str | None:
        if not (r.status_code in CACHEABLE and r.content):
            return None
        try:
            data = json.loads(r.content)
        except ValueError:
            return "truncated or invalid JSON"
        return graphql_transient(method, url, r.status_code, data)

    @staticmethod
    def _response(hit: Response, request: requests.PreparedRequest) -> requests.Response:
        r = requests.Response()
        r.status_code, r.url, r.request, r.reason = hit.status, request.url or "", request, "cached"
        r.headers.update({**hit.headers, "content-type": "application/json; charset=utf-8"})
        r._content = b"" if hit.data is None else json.dumps(hit.data).encode()
        r.encoding = "utf-8"
        return r


def connection(g: Github) -> Any:
    """The requester's connection object (PyGithub private API; pinned minor version)."""
    return g.requester._Requester__createConnection()  # type: ignore[attr-defined]


def paged_count(listing: PaginatedList[Any]) -> int:
    """A PyGithub listing's length in one request (``per_page=1``, the ``last`` page); 0 when
    the repository is missing (404) or empty (409)."""
    try:
        with errors():
            return int(listing.totalCount)
    except Refused as exc:
        if exc.status in (404, 409):
            return 0
        raise


def raw(obj: GithubObject) -> dict[str, Any]:
    """The JSON an object was built from, without PyGithub completing it by a request."""
    return dict(obj._rawData)


class GitHub:
    """PyGithub behind mldock's cache and waits; answers as :class:`Response` where useful."""

    def __init__(self, g: Github, session: CachingSession, authenticated: bool) -> None:
        self.g, self.session, self.authenticated = g, session, authenticated
        self.stats = session.waiter.stats
        self.graphql_down = False

    @property
    def step(self) -> str:
        return self.session.waiter.step

    @step.setter
    def step(self, value: str) -> None:
        self.session.waiter.step = value

    @property
    def cache_dir(self) -> Path:
        return self.session.store.root

    @cache_dir.setter
    def cache_dir(self, value: Path) -> None:
        self.session.store.root = value

    def repo(self, full_name: str) -> Repository:
        return self.g.get_repo(full_name)  # lazy: no request

    def get(self, path: str, params: dict[str, Any] | None = None) -> Response:
        """A REST GET through PyGithub's requester (auth, retry, session); never raises on 4xx."""
        with errors():
            status, headers, text = self.g.requester.requestJson("GET", f"/{path.lstrip('/')}", parameters=params)
        return self._answer("GET", path, status, headers, text)

    def graphql(self, query: str) -> Response:
        with errors():
            status, headers, text = self.g.requester.requestJson(
                "POST", self.g.requester.graphql_url, input={"query": query})
        return self._answer("POST", "graphql", status, headers, text)

    def forget(self, path: str, params: dict[str, Any] | None = None) -> None:
        url = canonical_url(f"{self.g.requester.base_url}/{path.lstrip('/')}", params)
        self.session.store.forget(self.session.store.key("GET", url, None))

    @staticmethod
    def _answer(method: str, path: str, status: int, headers: dict[str, Any], text: str) -> Response:
        if status == 401 and path != "graphql":
            raise AuthFailed("GitHub")
        if status >= 500 and not (path == "graphql" and status in GRAPHQL_UNAVAILABLE):
            raise NetworkError(f"GitHub: HTTP {status} for {path}; rerun to resume")
        data = json.loads(text) if text else None
        return Response(status, {k: str(v) for k, v in headers.items() if k in KEPT_HEADERS}, data)


class Refused(Exception):
    """GitHub answered a 4xx for one item (404 missing, 409 empty repository, ...)."""

    def __init__(self, status: int) -> None:
        super().__init__(f"HTTP {status}")
        self.status = status


@contextmanager
def errors() -> Iterator[None]:
    """PyGithub's and requests' exceptions as mldock's: a bad token stops the run, a 4xx is
    :class:`Refused` (about one item), the rest is a :class:`NetworkError` (rerun to resume)."""
    try:
        yield
    except BadCredentialsException as exc:
        raise AuthFailed("GitHub") from exc
    except GithubException as exc:
        if exc.status in (403, 422):
            raise NetworkError(refused("", exc.data)) from exc
        if exc.status >= 500:
            raise NetworkError(f"GitHub: HTTP {exc.status}: {exc.data}; rerun to resume") from exc
        raise Refused(exc.status) from exc
    except (requests.RequestException, OSError) as exc:
        raise NetworkError(f"GitHub: {type(exc).__name__}; rerun to resume") from exc


def github_client(base_url: str, cache_dir: Path, token: str | None, *, waiter: Waiter,
                  retries: int = 6, backoff: float = 1.0, secondary_wait: float = 60.0,
                  min_interval: float = 0.0, timeout: int = 30) -> GitHub:
    """The GitHub client of a collection: PyGithub, cached under ``cache_dir``."""
    if token is None:
        log.warning("GITHUB_TOKEN is not set: working anonymously (60 requests/hour, no GraphQL)")
    retry = MldockRetry(waiter, secondary_wait, total=retries, connect=retries, read=retries,
                        status=retries, other=retries, backoff_factor=backoff)
    g = Github(auth=Auth.Token(token) if token else None, base_url=base_url.rstrip("/"), per_page=100,
               retry=retry, seconds_between_requests=None, seconds_between_writes=None, timeout=timeout,
               lazy=True)
    cnx = connection(g)
    session = CachingSession(Store(cache_dir), waiter, retries, backoff, min_interval)
    session.auth = cnx.session.auth
    for prefix in ("http://", "https://"):
        session.mount(prefix, cnx.adapter)
    cnx.session = session
    return GitHub(g, session, token is not None)

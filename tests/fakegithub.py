"""A fake GitHub API and Docker Hub, as a real HTTP server on loopback (standard library).

It serves the JSON shapes GitHub serves (see ``../shared/github-api-samples``): repository
search with ``total_count``/``incomplete_results``/``items`` and ``Link`` pagination,
commits/contributors/releases listings (``per_page=1`` + ``last`` link = the count), git
trees and blobs, a GraphQL endpoint answering ``repository(owner:, name:)`` aliases, and
Docker Hub's search, repository and Dockerfile endpoints.  The GitHub API lives under
``/api`` and Docker Hub under ``/hub`` so a test can tell which one a request went to.

The data are a few dozen repositories of our own making (:func:`make_repos`) whose Docker
files are real files from the replication package.  The keyword ``deep-learning`` reports
``PHANTOM`` hits per real repository, so its ``total_count`` exceeds 1,000 and the client
must slice by creation date, and (9 repositories created the same day) by stars.

Faults are injected per request: ``server.faults`` is a list of ``(path substring, fault)``
consumed by the first matching request: ``ratelimit`` (403, remaining 0, reset),
``secondary`` (403 + Retry-After), ``502``, ``reset`` (TCP reset, no response),
``truncated`` (200 with half the JSON body), ``429`` (no Retry-After), ``corrupt`` (a blob
whose bytes do not match its SHA), ``gql_ratelimited`` (GraphQL's 200 with a RATE_LIMITED
error), ``401``, ``501`` (no GraphQL here), ``exhausted`` (a normal answer with ``x-ratelimit-remaining: 0``).
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import shlex
import socket
import struct
import threading
from dataclasses import dataclass, field
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

LOGS = Path(__file__).resolve().parents[2] / "shared" / "ease2022" / "raw-data" / "Dockerfiles" / "logs"
PHANTOM = {"deep-learning": 120}

REAL_FILES = {
    "tkdnn": "ceccocats/tkDNN/latest/docker/Dockerfile",
    "clair": "HKU-BAL/Clair/latest/Dockerfile",
    "bert": "petuum/adaptdl/latest/examples/BERT/Dockerfile",
    "pymc": "pymc-devs/pymc/latest/scripts/Dockerfile",
    "gpu": "hughperkins/tf-coriander/latest/tensorflow/tools/ci_build/Dockerfile.gpu",
    "oneapi": "oneapi-src/oneAPI-spec/latest/docker/Dockerfile",
    "compose": "ageitgey/face_recognition/latest/docker-compose.yml",
    "js": "arangoml/arangopipe/latest/arangopipe/arangopipe_frontend/app/public/ace/mode/dockerfile.js",
}


def real(key: str) -> bytes:
    return (LOGS / REAL_FILES[key]).read_bytes()


def git_sha(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


@dataclass
class HubImage:
    name: str  # namespace/name
    description: str = ""
    dockerfile: str | None = None


@dataclass
class FakeRepo:
    full_name: str
    created: date
    stars: int = 10
    forks: int = 5
    topics: list[str] = field(default_factory=list)
    description: str = ""
    readme: str = ""
    commits: int = 150
    contributors: int = 4
    releases: int = 2
    archived: bool = False
    fork: bool = False
    language: str = "Python"
    files: dict[str, bytes] = field(default_factory=dict)
    images: list[HubImage] = field(default_factory=list)

    @property
    def head_sha(self) -> str:
        return hashlib.sha1(f"head:{self.full_name}".encode()).hexdigest()

    @property
    def tree_sha(self) -> str:
        return self.head_sha  # the tree is requested by commit SHA, as GitHub allows

    def text(self) -> str:
        return " ".join([self.full_name.split("/")[1], self.description, " ".join(self.topics), self.readme]).lower()


def make_repos() -> list[FakeRepo]:
    """The fake world: 40 repositories (one a fork), deterministic."""
    R: list[FakeRepo] = []
    dockerfile = {"Dockerfile": real("tkdnn")}
    # 9 deep-learning repositories created the same day: forces a split by stars
    for i, stars in enumerate((5, 10, 20, 40, 80, 160, 320, 640, 1280)):
        R.append(FakeRepo(f"sameday/dl{i}", date(2019, 6, 1), stars=stars, topics=["deep-learning"],
                          files={"docker/Dockerfile": real("clair")},
                          images=[HubImage(f"sameday/dl{i}", f"Built from https://github.com/sameday/dl{i}")]))
    # 11 more deep-learning repositories spread over the years
    for i in range(11):
        R.append(FakeRepo(f"spread/net{i}", date(2010 + i, 3, 1 + i), stars=3 + i, topics=["deep-learning", "pytorch"],
                          commits=90 + i * 5, releases=i % 3, files=dict(dockerfile),
                          images=[HubImage(f"spread/net{i}", f"see https://github.com/spread/net{i} for sources")]))
    # machine-learning repositories: criteria and file variety
    ml = [
        FakeRepo("acme/mlkit", date(2016, 1, 10), stars=500, topics=["machine-learning", "deep-learning"],
                 files={"Dockerfile": real("bert"), "docker-compose.yml": real("compose"),
                        "web/ace/mode-dockerfile.js": real("js"), "docs/logo.png": b"\x89PNG...",
                        "README.md": b"# mlkit\n\n    docker run --gpus all -p 80:80 mlkitorg/kit-serve:1.2\n"},
                 images=[HubImage("acme/mlkit", "ML kit.\n\nSource: https://github.com/acme/mlkit"),
                         HubImage("mlkitorg/kit-serve", "Serving image of https://github.com/acme/mlkit")]),
        FakeRepo("acme/gpu-tools", date(2017, 5, 5), stars=50, topics=["machine-learning"],
                 files={"tools/ci/Dockerfile.gpu": real("gpu"), "Dockerfile": real("pymc")},
                 images=[HubImage("someone/gpu-tools", "no link here", dockerfile=real("pymc").decode())]),
        FakeRepo("acme/nameonly", date(2017, 6, 6), stars=30, topics=["machine-learning"],
                 files={"Dockerfile": real("oneapi")},
                 images=[HubImage("acme/nameonly", "an image, no link")]),
        FakeRepo("acme/nodocker", date(2018, 1, 1), topics=["machine-learning"], files={"README.md": b"hi"}),
        FakeRepo("acme/jsonly", date(2018, 2, 2), topics=["machine-learning"],
                 files={"mode-dockerfile.js": real("js")}),
        FakeRepo("acme/fewcommits", date(2018, 3, 3), topics=["machine-learning"], commits=40, files=dict(dockerfile)),
        FakeRepo("acme/norelease", date(2018, 4, 4), topics=["machine-learning"], releases=0, files=dict(dockerfile)),
        FakeRepo("acme/archived", date(2018, 5, 5), topics=["machine-learning"], archived=True, files=dict(dockerfile)),
        FakeRepo("acme/nostar", date(2018, 6, 6), topics=["machine-learning"], stars=0, files=dict(dockerfile)),
        FakeRepo("acme/readme-ml", date(2019, 1, 1), readme="We do machine-learning in Docker",
                 files={"Dockerfile": real("oneapi")},
                 images=[HubImage("acme/readme-ml", "https://github.com/acme/readme-ml")]),
        FakeRepo("acme/fork-of-mlkit", date(2019, 2, 2), topics=["machine-learning"], fork=True, files=dict(dockerfile)),
        FakeRepo("other/ml-serving", date(2020, 7, 7), stars=70, topics=["machine-learning", "mlops"],
                 files={"deploy/Dockerfile": real("tkdnn"), "deploy/compose.yaml": real("compose")},
                 images=[HubImage("other/ml-serving", "Docs: https://GitHub.com/other/ml-serving/wiki"),
                         HubImage("other/ml-serving-old", "https://github.com/other/ml-serving-old")]),
    ]
    R.extend(ml)
    # unrelated repositories that must never be found
    for i in range(8):
        R.append(FakeRepo(f"misc/web{i}", date(2015, 1, 1 + i), topics=["javascript"], description="a web app"))
    return R


def parse_query(q: str) -> tuple[list[tuple[str, str]], str | None]:
    """A search query as (qualifiers mldock uses, keyword or None); parsed once per request."""
    terms: list[str] = []
    quals: list[tuple[str, str]] = []
    for tok in shlex.split(q):
        key, sep, val = tok.partition(":")
        if not sep or key not in ("in", "fork", "stars", "forks", "created", "topic"):
            terms.append(tok.lower())
        else:
            quals.append((key, val))
    return quals, (" ".join(terms) if terms else None)


def _matches(repo: FakeRepo, quals: list[tuple[str, str]], kw: str | None) -> bool:
    ok = True
    for key, val in quals:
        if key == "fork" and val == "false" and repo.fork:
            ok = False
        elif key == "topic" and val not in repo.topics:
            ok = False
        elif key in ("stars", "forks"):
            n = repo.stars if key == "stars" else repo.forks
            if val.startswith(">="):
                ok = ok and n >= int(val[2:])
            elif ".." in val:
                lo, hi = val.split("..")
                ok = ok and int(lo) <= n <= int(hi)
        elif key == "created":
            lo, hi = val.split("..")
            ok = ok and date.fromisoformat(lo) <= repo.created <= date.fromisoformat(hi)
        if not ok:
            return False
    return not (kw and kw not in repo.text())


def _search_match(repo: FakeRepo, q: str) -> tuple[bool, str | None]:
    """(matches, keyword) for a search query, with the qualifiers mldock uses."""
    quals, kw = parse_query(q)
    return _matches(repo, quals, kw), kw


def search_item(r: FakeRepo, base: str) -> dict[str, Any]:
    owner, name = r.full_name.split("/")
    created = f"{r.created.isoformat()}T10:00:00Z"
    return {
        "id": int(r.head_sha[:7], 16), "node_id": "R_" + r.head_sha[:8], "name": name, "full_name": r.full_name,
        "private": False, "owner": {"login": owner, "type": "Organization"},
        "html_url": f"https://github.com/{r.full_name}", "description": r.description, "fork": r.fork,
        "url": f"{base}/repos/{r.full_name}", "created_at": created,
        "updated_at": "2021-10-01T00:00:00Z", "pushed_at": "2021-09-30T00:00:00Z", "homepage": None,
        "size": 1000 + len(name), "stargazers_count": r.stars, "watchers_count": r.stars, "language": r.language,
        "forks_count": r.forks, "archived": r.archived, "disabled": False, "open_issues_count": 3,
        "topics": r.topics, "visibility": "public", "forks": r.forks, "open_issues": 3, "watchers": r.stars,
        "default_branch": "main", "score": 1.0,
    }


class FakeServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, repos: list[FakeRepo] | None = None, clock: float = 1_700_000_000.0) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.repos = {r.full_name.lower(): r for r in (repos if repos is not None else make_repos())}
        self.clock = clock  # the x-ratelimit-reset header is computed from this
        self.faults: list[tuple[str, str]] = []
        self.log: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        self.hook: Any = None  # callable(index, method, path) before answering; 'drop' = no answer
        self.thread: threading.Thread | None = None
        self.quota: int | None = None  # a tight primary limit: after this many answers, one 403 with a reset
        self.used = 0
        self.hub_index: tuple[int, dict[str, HubImage]] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    @property
    def api(self) -> str:
        return self.url + "/api"

    @property
    def hub(self) -> str:
        return self.url + "/hub"

    def start(self) -> FakeServer:
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)
        self.thread.start()
        return self

    def stop(self) -> None:
        self.shutdown()
        self.server_close()
        if self.thread is not None:
            self.thread.join(5)


class Handler(BaseHTTPRequestHandler):
    server: FakeServer
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    wbufsize = 1 << 16  # one write per response (flushed by the base class)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - silence
        pass

    # -- plumbing ---------------------------------------------------------------------
    def do_GET(self) -> None:
        self._handle("GET", None)

    def do_POST(self) -> None:
        n = int(self.headers.get("Content-Length") or 0)
        self._handle("POST", self.rfile.read(n))

    def _handle(self, method: str, body: bytes | None) -> None:
        srv = self.server
        parts = urlsplit(self.path)
        key = f"{method} {parts.path}?{parts.query}" + (f" {hashlib.sha1(body).hexdigest()}" if body else "")
        with srv.lock:
            index = len(srv.log)
            entry = {"key": key, "status": 0, "auth": self.headers.get("Authorization")}
            srv.log.append(entry)
            fault = None
            for i, (sub, f) in enumerate(srv.faults):
                if sub in self.path:
                    fault = f
                    del srv.faults[i]
                    break
            if fault is None and srv.quota is not None and parts.path.startswith("/api/"):
                srv.used += 1
                if srv.used > srv.quota:  # the window is used up: refuse once, then a new window
                    fault, srv.used = "ratelimit", 0
        if srv.hook and srv.hook(index, method, self.path) == "drop":
            self.close_connection = True
            return
        if fault == "reset":
            entry["status"] = -1
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.close_connection = True
            self.connection.close()
            return
        if fault == "ratelimit":
            entry["status"] = 403
            return self._send(403, {"message": "API rate limit exceeded"},
                              {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(srv.clock) + 120)})
        if fault == "secondary":
            entry["status"] = 403
            return self._send(403, {"message": "You have exceeded a secondary rate limit"}, {"retry-after": "7"})
        if fault == "403":  # a refusal, not a rate limit
            entry["status"] = 403
            return self._send(403, {"message": "Resource protected by organization SAML enforcement."})
        if fault == "401":
            entry["status"] = 401
            return self._send(401, {"message": "Bad credentials"})
        if fault == "gql_ratelimited":  # GraphQL reports its limit in a 200 body
            entry["status"] = -3
            return self._send(200, {"data": None, "errors": [{"type": "RATE_LIMITED", "message": "API rate limit exceeded"}]},
                              {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(srv.clock) + 300)})
        if fault == "gql_error":  # a GraphQL answer with errors and no data at all
            entry["status"] = -4
            return self._send(200, {"data": None, "errors": [{"message": "Parse error on \"}\" (RCURLY)"}]})
        if fault == "404":
            entry["status"] = 404
            return self._send(404, {"message": "Not Found"})
        if fault == "429":
            entry["status"] = 429
            return self._send(429, {"message": "You have exceeded a secondary rate limit."})
        if fault in ("502", "501"):
            entry["status"] = int(fault)
            return self._send(int(fault), {"message": "Server Error" if fault == "502" else "Not Implemented"})
        try:
            status, data, headers = self._route(method, parts.path, dict(parse_qsl(parts.query)), body)
        except Exception as exc:  # a bug in the fake: make it visible
            status, data, headers = 500, {"message": repr(exc)}, {}
        if fault == "corrupt" and isinstance(data, dict) and "content" in data:
            data = {**data, "content": base64.b64encode(b"FROM corrupted\n").decode()}
        entry["status"] = status if fault != "truncated" else -2
        if fault == "exhausted":  # a good answer that uses up the quota
            headers = {**headers, "x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(srv.clock) + 50)}
        self._send(status, data, headers, truncate=fault == "truncated")

    def _send(self, status: int, data: Any, headers: dict[str, str] | None = None, truncate: bool = False) -> None:
        raw = json.dumps(data).encode()
        if truncate:
            raw = raw[: len(raw) // 2]
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(raw)))
        self.send_header("x-ratelimit-limit", "5000")
        left = 4999 if self.server.quota is None else max(1, self.server.quota - self.server.used)
        hdrs = {"x-ratelimit-remaining": str(left), "x-ratelimit-reset": str(int(self.server.clock) + 3600)}
        hdrs.update(headers or {})
        for k, v in hdrs.items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(raw)

    def _link(self, path: str, q: dict[str, str], page: int, last: int) -> dict[str, str]:
        if last <= 1:
            return {}
        base = self.server.url + path

        def u(p: int) -> str:
            return base + "?" + urlencode({**q, "page": p})

        links = []
        if page < last:
            links += [f'<{u(page + 1)}>; rel="next"', f'<{u(last)}>; rel="last"']
        if page > 1:
            links += [f'<{u(page - 1)}>; rel="prev"', f'<{u(1)}>; rel="first"']
        return {"link": ", ".join(links)}

    # -- routes -----------------------------------------------------------------------
    def _route(self, method: str, path: str, q: dict[str, str], body: bytes | None) -> tuple[int, Any, dict[str, str]]:
        srv = self.server
        if path.startswith("/hub/"):
            return self._hub(path[len("/hub"):], q)
        if not path.startswith("/api/"):
            return 404, {"message": "Not Found"}, {}
        p = path[len("/api"):]
        if p == "/graphql" and method == "POST":
            if not self.headers.get("Authorization"):
                return 401, {"message": "This endpoint requires you to be authenticated."}, {}
            return 200, self._graphql(json.loads(body or b"{}")["query"]), {}
        if p == "/search/repositories":
            return self._search(path, q)
        m = re.fullmatch(r"/repos/([^/]+)/([^/]+)(/.*)?", p)
        if not m:
            return 404, {"message": "Not Found"}, {}
        repo = srv.repos.get(f"{m.group(1)}/{m.group(2)}".lower())
        rest = m.group(3) or ""
        if repo is None:
            return 404, {"message": "Not Found"}, {}
        page = int(q.get("page", 1))
        per = int(q.get("per_page", 30))
        if rest == "":
            return 200, search_item(repo, srv.api), {}
        if rest in ("/commits", "/contributors", "/releases"):
            n = {"/commits": repo.commits, "/contributors": repo.contributors, "/releases": repo.releases}[rest]
            last = max(1, -(-n // per))
            idx = range((page - 1) * per, min(n, page * per))
            if rest == "/commits":
                items: list[Any] = [{"sha": repo.head_sha if i == 0 else hashlib.sha1(f"{repo.full_name}{i}".encode()).hexdigest(),
                                     "commit": {"message": f"commit {i}"}} for i in idx]
            elif rest == "/contributors":
                items = [{"login": f"user{i}", "contributions": 10 - i % 10, "type": "User"} for i in idx]
            else:
                items = [{"id": i, "tag_name": f"v{i}", "name": f"release {i}"} for i in idx]
            return 200, items, self._link(path, q, page, last)
        m2 = re.fullmatch(r"/git/trees/([0-9a-f]+)", rest)
        if m2:
            if m2.group(1) != repo.tree_sha:
                return 404, {"message": "Not Found"}, {}
            tree = [{"path": pth, "mode": "100644", "type": "blob", "sha": git_sha(d), "size": len(d),
                     "url": f"{srv.api}/repos/{repo.full_name}/git/blobs/{git_sha(d)}"} for pth, d in sorted(repo.files.items())]
            dirs = sorted({str(Path(pth).parent) for pth in repo.files if "/" in pth})
            tree += [{"path": d, "mode": "040000", "type": "tree", "sha": hashlib.sha1(d.encode()).hexdigest()} for d in dirs]
            return 200, {"sha": repo.tree_sha, "url": "", "tree": tree, "truncated": False}, {}
        m3 = re.fullmatch(r"/git/blobs/([0-9a-f]+)", rest)
        if m3:
            for d in repo.files.values():
                if git_sha(d) == m3.group(1):
                    return 200, {"sha": m3.group(1), "size": len(d), "encoding": "base64",
                                 "content": base64.encodebytes(d).decode()}, {}
            return 404, {"message": "Not Found"}, {}
        return 404, {"message": "Not Found"}, {}

    def _search(self, path: str, q: dict[str, str]) -> tuple[int, Any, dict[str, str]]:
        srv = self.server
        query = q.get("q", "")
        quals, kw = parse_query(query)
        hits = [r for r in srv.repos.values() if _matches(r, quals, kw)]
        hits.sort(key=lambda r: (-r.stars, r.full_name))
        per = min(100, int(q.get("per_page", 30)))
        page = int(q.get("page", 1))
        total = len(hits) * PHANTOM.get(kw or "", 1)
        items = [search_item(r, srv.api) for r in hits[(page - 1) * per : page * per]]
        last = max(1, -(-len(hits) // per))
        return 200, {"total_count": total, "incomplete_results": False, "items": items}, self._link(path, q, page, last)

    def _graphql(self, query: str) -> dict[str, Any]:
        data: dict[str, Any] = {}
        errors = []
        for alias, owner, name in re.findall(r'(\w+): repository\(owner: "([^"]+)", name: "([^"]+)"\)', query):
            r = self.server.repos.get(f"{owner}/{name}".lower())
            if r is None:
                data[alias] = None
                errors.append({"type": "NOT_FOUND", "path": [alias],
                               "message": f"Could not resolve to a Repository with the name '{owner}/{name}'."})
                continue
            data[alias] = {
                "nameWithOwner": r.full_name,
                "defaultBranchRef": {"name": "main", "target": {"oid": r.head_sha, "history": {"totalCount": r.commits}}},
                "releases": {"totalCount": r.releases}, "issues": {"totalCount": 7}, "pullRequests": {"totalCount": 5},
                "openIssues": {"totalCount": 2}, "openPulls": {"totalCount": 1},
                "stargazerCount": r.stars, "forkCount": r.forks, "isArchived": r.archived, "isFork": r.fork,
                "diskUsage": 1000 + len(r.full_name.split("/")[1]), "primaryLanguage": {"name": r.language},
                "repositoryTopics": {"nodes": [{"topic": {"name": t}} for t in r.topics]},
                "description": r.description, "homepageUrl": None,
                "createdAt": f"{r.created.isoformat()}T10:00:00Z", "pushedAt": "2021-09-30T00:00:00Z",
            }
        out: dict[str, Any] = {"data": data}
        if errors:
            out["errors"] = errors
        return out

    def _hub(self, p: str, q: dict[str, str]) -> tuple[int, Any, dict[str, str]]:
        srv = self.server
        if srv.hub_index is None or srv.hub_index[0] != len(srv.repos):  # built once per world
            srv.hub_index = (len(srv.repos), {im.name.lower(): im for r in srv.repos.values() for im in r.images})
        images = srv.hub_index[1]
        if p == "/v2/search/repositories/":
            needle = q.get("query", "").lower()
            res = [{"repo_name": im.name, "short_description": im.description[:100], "star_count": 1,
                    "pull_count": 10, "repo_owner": "", "is_automated": False, "is_official": False}
                   for n, im in sorted(images.items()) if needle in n.split("/")[1]]
            return 200, {"count": len(res), "next": None, "previous": None, "results": res}, {}
        m = re.fullmatch(r"/v2/repositories/([^/]+)/", p)
        if m:  # a namespace's repositories
            ns = m.group(1).lower()
            res = [{"name": n.split("/")[1], "namespace": n.split("/")[0], "description": im.description[:100]}
                   for n, im in sorted(images.items()) if n.split("/")[0] == ns]
            return 200, {"count": len(res), "next": None, "previous": None, "results": res}, {}
        m = re.fullmatch(r"/v2/repositories/([^/]+)/([^/]+)/(dockerfile/)?", p)
        if m:
            im = images.get(f"{m.group(1)}/{m.group(2)}".lower())
            if im is None:
                return 404, {"message": "object not found"}, {}
            if m.group(3):
                if im.dockerfile is None:
                    return 404, {"message": "object not found"}, {}
                return 200, {"contents": im.dockerfile}, {}
            return 200, {"user": m.group(1), "name": m.group(2), "namespace": m.group(1),
                         "description": im.description.split("\n")[0], "full_description": im.description,
                         "star_count": 1, "pull_count": 10, "last_updated": "2021-09-30T00:00:00Z"}, {}
        return 404, {"message": "Not Found"}, {}


__all__ = ["FakeRepo", "FakeServer", "HubImage", "make_repos"]

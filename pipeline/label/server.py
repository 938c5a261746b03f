"""The labelling page's HTTP server: standard library, loopback only, one rater per run.

A local tool needs no login, but a page on another site could still reach it through the
browser: the server answers only requests whose ``Host`` is ``127.0.0.1:<port>`` or
``localhost:<port>`` (DNS rebinding), and a write (``POST /api/label``) must carry the
session's random token in the ``X-Mldock-Token`` header (which a cross-site form cannot set)
and, when the browser sends one, an ``Origin`` of this server.  Anything else gets 403.
"""

from __future__ import annotations

import hmac
import json
import logging
import secrets
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from .page import render_page
from .store import LabelStore

log = logging.getLogger(__name__)

MAX_BODY = 64 * 1024
MAX_NOTE = 2000


class Session:
    """What one run serves: the queue, the rater's store, the token; writes one at a time."""

    def __init__(self, cards: list[dict[str, Any]], categories: tuple[str, ...],
                 store: LabelStore) -> None:
        self.cards = cards
        self.by_repo = {c["repo"]: c for c in cards}
        self.categories = categories
        self.store = store
        self.token = secrets.token_urlsafe(32)
        self.lock = threading.Lock()
        self.port = 0

    def allowed_hosts(self) -> set[str]:
        return {f"127.0.0.1:{self.port}", f"localhost:{self.port}"}

    def page(self, nonce: str) -> str:
        with self.lock:
            labels = {r: {"category": v["category"], "note": v["note"]}
                      for r, v in self.store.rows.items()}
        return render_page(self.cards, labels, self.categories, self.store.rater, self.token, nonce)

    def save(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        repo, category, note = body.get("repo"), body.get("category"), body.get("note", "")
        if not isinstance(repo, str) or repo not in self.by_repo:
            return 400, {"error": "unknown repository"}
        if category not in self.categories:
            return 400, {"error": f"category must be one of {list(self.categories)}"}
        if not isinstance(note, str) or len(note) > MAX_NOTE:
            return 400, {"error": f"note must be text of at most {MAX_NOTE} characters"}
        with self.lock:
            self.store.save(repo, category, note.replace("\r", " ").replace("\n", " ").strip(),
                            self.by_repo[repo]["suggestion_text"])
            done = sum(1 for c in self.cards if c["repo"] in self.store.rows)
        return 200, {"saved": repo, "done": done, "to_do": len(self.cards) - done}


def handler_for(session: Session) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "mldock-label"
        sys_version = ""

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (stdlib's name)
            log.debug("%s " + format, self.address_string(), *args)

        def _send(self, status: int, body: bytes, ctype: str, extra: dict[str, str] | None = None) -> None:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.send_header("X-Content-Type-Options", "nosniff")
            self.send_header("Referrer-Policy", "no-referrer")
            self.send_header("X-Frame-Options", "DENY")
            for k, v in (extra or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(body)

        def _json(self, status: int, data: dict[str, Any]) -> None:
            self._send(status, json.dumps(data).encode(), "application/json")

        def _host_ok(self) -> bool:
            if self.headers.get("Host", "") in session.allowed_hosts():
                return True
            self._json(HTTPStatus.FORBIDDEN, {"error": "this server answers only 127.0.0.1/localhost"})
            return False

        def do_GET(self) -> None:  # noqa: N802 (stdlib's name)
            if not self._host_ok():
                return
            if self.path != "/":
                self._json(HTTPStatus.NOT_FOUND, {"error": "not found"})
                return
            nonce = secrets.token_urlsafe(16)
            csp = (f"default-src 'none'; script-src 'nonce-{nonce}'; style-src 'nonce-{nonce}'; "
                   "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
            self._send(HTTPStatus.OK, session.page(nonce).encode(), "text/html; charset=utf-8",
                       {"Content-Security-Policy": csp})

        def do_POST(self) -> None:  # noqa: N802 (stdlib's name)
            if not self._host_ok():
                return
            if self.path != "/api/label":
                self._json(HTTPStatus.NOT_FOUND, {"error": "not found"})
                return
            origin = self.headers.get("Origin")
            token = self.headers.get("X-Mldock-Token", "")
            if (origin is not None and origin.removeprefix("http://") not in session.allowed_hosts()) \
                    or not hmac.compare_digest(token.encode(), session.token.encode()):
                self._json(HTTPStatus.FORBIDDEN, {"error": "missing or wrong session token"})
                return
            try:
                length = int(self.headers.get("Content-Length", "0"))
            except ValueError:
                length = -1
            if not 0 < length <= MAX_BODY or not self.headers.get("Content-Type", "").startswith(
                    "application/json"):
                self._json(HTTPStatus.BAD_REQUEST, {"error": "send a JSON body of at most 64 KiB"})
                return
            try:
                body = json.loads(self.rfile.read(length))
            except ValueError:
                body = None
            if not isinstance(body, dict):
                self._json(HTTPStatus.BAD_REQUEST, {"error": "the body is not a JSON object"})
                return
            status, answer = session.save(body)
            self._json(status, answer)

    return Handler


def serve(session: Session, port: int, ready: Any = None) -> None:
    """Serve on 127.0.0.1:``port`` (0: a free one) until interrupted; ``ready(url)`` once bound."""
    httpd = ThreadingHTTPServer(("127.0.0.1", port), handler_for(session))
    httpd.daemon_threads = True
    session.port = httpd.server_address[1]
    if ready is not None:
        ready(f"http://127.0.0.1:{session.port}/")
    try:
        httpd.serve_forever()
    finally:
        httpd.server_close()

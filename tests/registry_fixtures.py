"""A real registry on loopback for the images-stage tests, plus helpers to push images.

``registry`` starts Debian's ``docker-registry`` (distribution 2.x) on 127.0.0.1 with a
free port, a minimal config (no auth) and storage in a temp dir; it FAILS when the binary
is missing (CI installs it).  ``AuthProxy`` is a small loopback HTTP server in front of it
that demands a bearer token from its own token endpoint and can inject faults (429, 503,
tampered blob bytes); it only ever talks to 127.0.0.1.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import http.server
import io
import json
import os
import shutil
import socket
import subprocess
import tarfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

REGISTRY_BIN = "/usr/bin/docker-registry"

MT_DOCKER = "application/vnd.docker.distribution.manifest.v2+json"
MT_DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
MT_OCI = "application/vnd.oci.image.manifest.v1+json"
MT_OCI_INDEX = "application/vnd.oci.image.index.v1+json"
MT_DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
MT_OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
MT_DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"
MT_FOREIGN = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"
MT_OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
MT_OCI_ZSTD = "application/vnd.oci.image.layer.v1.tar+zstd"
MT_OCI_TAR = "application/vnd.oci.image.layer.v1.tar"


def basic_auth(user_password: str) -> str:
    """The ``Authorization`` value for ``"user:password"``."""
    return "Basic " + base64.b64encode(user_password.encode()).decode()


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def digest_of(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


@dataclass
class Registry:
    url: str
    root: Path
    proc: subprocess.Popen[bytes]


def start_registry(tmp: Path) -> Registry:
    binary = shutil.which("docker-registry") or REGISTRY_BIN
    assert os.path.exists(binary), (
        "docker-registry is not installed: `apt-get install docker-registry` (.ci/run does)"
    )
    port = free_port()
    storage = tmp / "storage"
    storage.mkdir(parents=True, exist_ok=True)
    cfg = tmp / "config.yml"
    cfg.write_text(
        "version: 0.1\n"
        "log:\n  level: error\n  accesslog:\n    disabled: true\n"
        f"storage:\n  filesystem:\n    rootdirectory: {storage}\n  delete:\n    enabled: true\n"
        f"http:\n  addr: 127.0.0.1:{port}\n  secret: mldock-test-secret\n"
        # foreign layers (used to push the package's sample manifests without their layer
        # blobs) must point at an allowed URL; nothing ever fetches it
        "validation:\n  manifests:\n    urls:\n      allow:\n        - '^http://127\\.0\\.0\\.1:9/'\n",
        encoding="utf-8",
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("REGISTRY_")}
    proc = subprocess.Popen(
        [binary, "serve", str(cfg)], stdout=subprocess.DEVNULL,
        stderr=open(tmp / "registry.log", "wb"), env=env,  # noqa: SIM115
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 20
    while True:
        try:
            if requests.get(f"{url}/v2/", timeout=1).status_code == 200:
                break
        except requests.ConnectionError:
            pass
        if proc.poll() is not None or time.time() > deadline:
            proc.kill()
            log = (tmp / "registry.log").read_text(errors="replace")[-2000:]
            raise AssertionError(f"docker-registry did not start on {url}: {log}")
        time.sleep(0.05)
    return Registry(url, tmp, proc)


@pytest.fixture(scope="session")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    reg = start_registry(tmp_path_factory.mktemp("registry"))
    yield reg
    reg.proc.terminate()
    try:
        reg.proc.wait(5)
    except subprocess.TimeoutExpired:
        reg.proc.kill()


# --------------------------------------------------------------------------------------
# building and pushing images
# --------------------------------------------------------------------------------------


@dataclass
class E:
    """A tar entry to put in a test layer."""

    name: str
    kind: str = "file"  # file, dir, symlink, hardlink, device, fifo
    data: bytes = b""
    link: str = ""
    mode: int = 0o644


def make_tar(entries: list[E]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT,
                      encoding="utf-8", errors="surrogateescape") as t:
        for e in entries:
            ti = tarfile.TarInfo(e.name)
            ti.mode = e.mode
            ti.mtime = 1_600_000_000
            if e.kind == "file":
                ti.size = len(e.data)
                t.addfile(ti, io.BytesIO(e.data))
                continue
            ti.type = {
                "dir": tarfile.DIRTYPE, "symlink": tarfile.SYMTYPE, "hardlink": tarfile.LNKTYPE,
                "device": tarfile.CHRTYPE, "fifo": tarfile.FIFOTYPE,
            }[e.kind]
            ti.linkname = e.link
            if e.kind == "dir":
                ti.mode = 0o755
            t.addfile(ti)
    return buf.getvalue()


def gz(data: bytes) -> bytes:
    return gzip.compress(data, mtime=0)


def push_blob(base: str, repo: str, data: bytes) -> str:
    d = digest_of(data)
    r = requests.post(f"{base}/v2/{repo}/blobs/uploads/", timeout=10)
    assert r.status_code == 202, r.text
    loc = r.headers["Location"]
    if loc.startswith("/"):
        loc = base + loc
    sep = "&" if "?" in loc else "?"
    r = requests.put(f"{loc}{sep}digest={d}", data=data,
                     headers={"Content-Type": "application/octet-stream"}, timeout=30)
    assert r.status_code == 201, r.text
    return d


def push_manifest(base: str, repo: str, ref: str, raw: bytes, media_type: str) -> str:
    r = requests.put(f"{base}/v2/{repo}/manifests/{ref}", data=raw,
                     headers={"Content-Type": media_type}, timeout=10)
    assert r.status_code == 201, r.text
    return digest_of(raw)


def image_config(arch: str = "amd64", os_: str = "linux", env: list[str] | None = None,
                 diff_ids: list[str] | None = None, variant: str = "") -> bytes:
    doc: dict[str, Any] = {
        "architecture": arch, "os": os_,
        "config": {"Env": env if env is not None else ["PATH=/usr/bin:/bin"]},
        "rootfs": {"type": "layers", "diff_ids": diff_ids or []},
    }
    if variant:
        doc["variant"] = variant
    return json.dumps(doc, sort_keys=True).encode()


def push_image(
    base: str, repo: str, tag: str | None, layers: list[bytes], *,
    oci: bool = False, layer_types: list[str] | None = None, arch: str = "amd64",
    os_: str = "linux", env: list[str] | None = None, variant: str = "",
    uncompressed: list[bytes] | None = None,
) -> tuple[str, int]:
    """Push blobs, config and manifest; returns (manifest digest, manifest size)."""
    diff_ids = [digest_of(u) for u in uncompressed] if uncompressed else []
    cfg = image_config(arch, os_, env, diff_ids, variant)
    cfg_d = push_blob(base, repo, cfg)
    ltype = MT_OCI_LAYER if oci else MT_DOCKER_LAYER
    descs = []
    for i, blob in enumerate(layers):
        d = push_blob(base, repo, blob)
        mt = layer_types[i] if layer_types else ltype
        descs.append({"mediaType": mt, "size": len(blob), "digest": d})
    man = {
        "schemaVersion": 2,
        "mediaType": MT_OCI if oci else MT_DOCKER,
        "config": {"mediaType": MT_OCI_CONFIG if oci else MT_DOCKER_CONFIG, "size": len(cfg), "digest": cfg_d},
        "layers": descs,
    }
    raw = json.dumps(man, indent=2).encode()
    d = push_manifest(base, repo, tag or digest_of(raw), raw, MT_OCI if oci else MT_DOCKER)
    return d, len(raw)


def push_index(base: str, repo: str, tag: str, entries: list[tuple[str, int, str, str]], *,
               oci: bool = True) -> str:
    """entries: (digest, size, "os/arch[/variant]", manifest media type)."""
    mans = []
    for d, size, plat, mt in entries:
        parts = plat.split("/")
        p: dict[str, str] = {"os": parts[0], "architecture": parts[1]}
        if len(parts) > 2:
            p["variant"] = parts[2]
        mans.append({"mediaType": mt, "size": size, "digest": d, "platform": p})
    doc = {"schemaVersion": 2, "mediaType": MT_OCI_INDEX if oci else MT_DOCKER_LIST, "manifests": mans}
    raw = json.dumps(doc).encode()
    return push_manifest(base, repo, tag, raw, MT_OCI_INDEX if oci else MT_DOCKER_LIST)


# --------------------------------------------------------------------------------------
# token-auth proxy with fault injection
# --------------------------------------------------------------------------------------


class AuthProxy:
    """Loopback proxy to ``upstream`` requiring ``Bearer <token>``; serves ``/token``.

    ``faults`` is a list of (path substring, action) consumed in order, actions:
    ``"429"`` (with Retry-After: 0), ``"503"``, ``"tamper"`` / ``"tamper-last"`` (flip the
    first / last byte of the body),
    ``"reset"`` (close the connection without an answer).
    """

    TOKEN = "tkn-3f9a-secret-value"

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.faults: list[tuple[str, str]] = []
        self.extra_headers: dict[str, str] = {}  # added to every proxied answer
        self.require_basic: str | None = None  # "user:password" the token endpoint demands
        self.basic_registry: str | None = None  # "user:password": the registry itself asks Basic
        self.log: list[tuple[str, str, str]] = []  # (method, path, auth header kind)
        self.token_requests: list[str] = []
        proxy = self

        class H(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a: Any) -> None:
                pass

            def _fault(self) -> str:
                for i, (sub, act) in enumerate(proxy.faults):
                    if sub in self.path:
                        del proxy.faults[i]
                        return act
                return ""

            def _send(self, code: int, body: bytes, headers: dict[str, str]) -> None:
                self.send_response(code)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            def handle_any(self) -> None:
                if self.path.startswith("/token"):
                    if proxy.require_basic is not None:
                        if self.headers.get("Authorization", "") != basic_auth(proxy.require_basic):
                            self._send(401, b"bad credentials", {})
                            return
                    proxy.token_requests.append(self.path)
                    self._send(200, json.dumps({"token": proxy.TOKEN}).encode(),
                               {"Content-Type": "application/json"})
                    return
                auth = self.headers.get("Authorization", "")
                proxy.log.append((self.command, self.path, auth.split(" ")[0]))
                if proxy.basic_registry is not None:
                    if auth != basic_auth(proxy.basic_registry):
                        self._send(401, b"{}", {"WWW-Authenticate": 'Basic realm="test"'})
                        return
                elif auth != f"Bearer {proxy.TOKEN}":
                    port = self.server.server_address[1]
                    name = self.path[len("/v2/"):].split("/manifests/")[0].split("/blobs/")[0]
                    chal = (f'Bearer realm="http://127.0.0.1:{port}/token",'
                            f'service="test-registry",scope="repository:{name}:pull"')
                    self._send(401, b'{"errors":[{"code":"UNAUTHORIZED"}]}',
                               {"WWW-Authenticate": chal, "Content-Type": "application/json"})
                    return
                act = self._fault()
                if act == "429":
                    self._send(429, b"slow down", {"Retry-After": "0", "RateLimit-Remaining": "0;w=60"})
                    return
                if act == "503":
                    self._send(503, b"unavailable", {})
                    return
                if act == "reset":
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                hdrs = {k: v for k, v in self.headers.items() if k.lower() in ("accept",)}
                r = requests.request(self.command, proxy.upstream + self.path, headers=hdrs, timeout=30)
                body = r.content
                if act == "tamper" and body:
                    body = bytes([body[0] ^ 0xFF]) + body[1:]
                if act == "tamper-last" and body:
                    body = body[:-1] + bytes([body[-1] ^ 0xFF])
                out = {k: v for k, v in r.headers.items()
                       if k.lower() in ("content-type", "docker-content-digest")}
                out["RateLimit-Remaining"] = "99;w=21600"
                out.update(proxy.extra_headers)
                if self.command == "HEAD":
                    out["Content-Length"] = r.headers.get("Content-Length", "0")
                    self.send_response(r.status_code)
                    for k, v in out.items():
                        self.send_header(k, v)
                    self.end_headers()
                    return
                self._send(r.status_code, body, out)

            do_GET = handle_any
            do_HEAD = handle_any

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture()
def auth_proxy(registry: Registry) -> Iterator[AuthProxy]:
    p = AuthProxy(registry.url)
    yield p
    p.close()

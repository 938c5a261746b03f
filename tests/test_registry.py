"""Registry client against a real distribution registry on loopback (tests/registry_fixtures.py)."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from pipeline.errors import RateLimited, RegistryError
from pipeline.images.manifests import (
    ACCEPT,
    BlobDigestMismatch,
    Manifest,
    UnsupportedMediaType,
    parse_reference,
)
from pipeline.images.registry import RegistryClient, parse_challenge
from tests import registry_fixtures as rf
from tests.registry_fixtures import (
    MT_DOCKER,
    MT_FOREIGN,
    MT_OCI,
    AuthProxy,
    E,
    Registry,
    gz,
    make_tar,
    push_blob,
    push_image,
    push_index,
    push_manifest,
)

registry = rf.registry  # fixtures
auth_proxy = rf.auth_proxy

SAMPLES = Path("raw-data") / "DockerImage" / "sample-images"


# ------------------------------------------------------------------ references (pure)
@pytest.mark.parametrize(
    "ref, registry_, repo, tag, digest",
    [
        ("ubuntu", "docker.io", "library/ubuntu", "latest", ""),
        ("ubuntu:22.04", "docker.io", "library/ubuntu", "22.04", ""),
        ("jolibrain/deepdetect_cpu", "docker.io", "jolibrain/deepdetect_cpu", "latest", ""),
        ("docker.io/nvidia/digits:6.0", "docker.io", "nvidia/digits", "6.0", ""),
        ("index.docker.io/library/python:3.11-slim", "docker.io", "library/python", "3.11-slim", ""),
        ("localhost:5000/a/b", "localhost:5000", "a/b", "latest", ""),
        ("127.0.0.1:5000/x:1", "127.0.0.1:5000", "x", "1", ""),
        ("ghcr.io/org/img:v1@sha256:" + "a" * 64, "ghcr.io", "org/img", "v1", "sha256:" + "a" * 64),
        ("ubuntu@sha256:" + "b" * 64, "docker.io", "library/ubuntu", "", "sha256:" + "b" * 64),
    ],
)
def test_parse_reference(ref: str, registry_: str, repo: str, tag: str, digest: str) -> None:
    r = parse_reference(ref)
    assert (r.registry, r.repository, r.tag, r.digest) == (registry_, repo, tag, digest)
    assert r.reference == (digest or tag)


@pytest.mark.parametrize("bad", ["", "UPPER/case", "a:b:c/d", "ubuntu@sha256", "x:" + "t" * 200])
def test_parse_reference_rejects(bad: str) -> None:
    with pytest.raises(RegistryError):
        parse_reference(bad)


def test_parse_challenge() -> None:
    scheme, p = parse_challenge('Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/ubuntu:pull"')
    assert scheme == "bearer"
    assert p == {"realm": "https://auth.docker.io/token", "service": "registry.docker.io",
                 "scope": "repository:library/ubuntu:pull"}


def test_accept_header_lists_all_four_types() -> None:
    assert sorted(ACCEPT.split(", ")) == [
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.docker.distribution.manifest.v2+json",
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.oci.image.manifest.v1+json",
    ]


# ------------------------------------------------------------------ real registry
def _layer(n: int) -> bytes:
    return gz(make_tar([E(f"l{n}/f.txt", data=b"x" * n)]))


def test_multi_platform_index_selects_platform(registry: Registry, tmp_path: Path) -> None:
    base = registry.url
    a, asz = push_image(base, "multi/app", None, [_layer(1)], arch="amd64", oci=True)
    b, bsz = push_image(base, "multi/app", None, [_layer(2), _layer(3)], arch="arm64", variant="v8", oci=True)
    idx = push_index(base, "multi/app", "v1", [(a, asz, "linux/amd64", MT_OCI), (b, bsz, "linux/arm64/v8", MT_OCI)])
    c = RegistryClient(endpoint=base, cache_dir=tmp_path)
    ref = parse_reference("127.0.0.1:1/multi/app:v1")
    [(m, d, top)] = c.resolve(ref)  # default linux/amd64
    assert (m.digest, d.platform if d else None, top) == (a, "linux/amd64", idx)
    assert m.media_type == MT_OCI and len(m.layers) == 1
    [(m2, d2, _)] = c.resolve(ref, "linux/arm64")
    assert (m2.digest, d2.platform if d2 else None, len(m2.layers)) == (b, "linux/arm64/v8", 2)
    both = c.resolve(ref, "all")
    assert [x[0].digest for x in both] == [a, b]
    with pytest.raises(RegistryError, match="no manifest for platform windows/amd64"):
        c.resolve(ref, "windows/amd64")


def test_docker_manifest_list_and_digest_reference(registry: Registry) -> None:
    base = registry.url
    a, asz = push_image(base, "dlist/app", None, [_layer(4)], arch="amd64")
    b, bsz = push_image(base, "dlist/app", None, [_layer(5)], arch="arm", variant="v7")
    idx = push_index(base, "dlist/app", "latest",
                     [(a, asz, "linux/amd64", MT_DOCKER), (b, bsz, "linux/arm/v7", MT_DOCKER)], oci=False)
    c = RegistryClient(endpoint=base)
    [(m, d, top)] = c.resolve(parse_reference("x.io/dlist/app"), "linux/arm")
    assert (m.digest, m.media_type, top) == (b, MT_DOCKER, idx)
    # a digest reference wins over the tag
    [(m3, d3, top3)] = c.resolve(parse_reference(f"x.io/dlist/app:nonexistent@{a}"))
    assert (m3.digest, d3, top3) == (a, None, "")


def test_cache_never_fetches_a_blob_twice(registry: Registry, tmp_path: Path) -> None:
    base = registry.url
    push_image(base, "cache/app", "t", [_layer(6)])
    c = RegistryClient(endpoint=base, cache_dir=tmp_path)
    ref = parse_reference("x.io/cache/app:t")
    [(m, _, _)] = c.resolve(ref)
    assert m.config is not None
    cfg = c.get_blob_bytes(ref, m.config.digest)
    with c.open_blob(ref, m.layers[0].digest) as fh:
        data = fh.read(1 << 20)
        while fh.read(1 << 20):
            pass
    assert c.stats["blob_gets"] == 2
    c2 = RegistryClient(endpoint=base, cache_dir=tmp_path)
    [(m2, _, _)] = c2.resolve(ref)
    assert c2.get_blob_bytes(ref, m.config.digest) == cfg
    with c2.open_blob(ref, m.layers[0].digest) as fh:
        assert fh.read(1 << 20) == data
    assert c2.stats["blob_gets"] == 0
    assert c2.stats["cache_hits"] == 3  # manifest (after a HEAD), config, layer
    # a corrupted cache entry is detected and fetched again
    p = tmp_path / "blobs" / "sha256" / m.config.digest.split(":")[1]
    p.write_bytes(b"garbage")
    assert c2.get_blob_bytes(ref, m.config.digest) == cfg
    assert c2.stats["blob_gets"] == 1


def test_bearer_challenge_is_followed_and_token_not_leaked(
    auth_proxy: AuthProxy, registry: Registry, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    push_image(registry.url, "auth/app", "1", [_layer(7)])
    caplog.set_level(logging.DEBUG)
    c = RegistryClient(endpoint=auth_proxy.url, cache_dir=tmp_path / "cache")
    ref = parse_reference("x.io/auth/app:1")
    [(m, _, _)] = c.resolve(ref)
    assert m.config is not None
    c.get_blob_bytes(ref, m.config.digest)
    assert len(auth_proxy.token_requests) == 1
    assert "scope=repository%3Aauth%2Fapp%3Apull" in auth_proxy.token_requests[0]
    assert "service=test-registry" in auth_proxy.token_requests[0]
    kinds = [k for (_, _, k) in auth_proxy.log]
    assert kinds[0] == "" and all(k == "Bearer" for k in kinds[1:])
    assert AuthProxy.TOKEN not in caplog.text
    cached = [f for f in (tmp_path / "cache").rglob("*") if f.is_file()]
    assert sorted(f.parent.parent.name for f in cached) == ["blobs", "manifests"]
    for f in cached:
        assert AuthProxy.TOKEN.encode() not in f.read_bytes()
    assert AuthProxy.TOKEN not in repr(c._auth)


def test_retries_429_and_503_then_succeeds(auth_proxy: AuthProxy, registry: Registry) -> None:
    push_image(registry.url, "retry/app", "1", [_layer(8)])
    waits: list[float] = []
    c = RegistryClient(endpoint=auth_proxy.url, sleep=waits.append, backoff=0.25)
    auth_proxy.faults = [("/manifests/", "429"), ("/manifests/", "503")]
    [(m, _, _)] = c.resolve(parse_reference("x.io/retry/app:1"))
    assert m.media_type == MT_DOCKER
    assert waits == [0.0, 0.5]  # Retry-After: 0, then backoff * 2**1
    assert c.stats["retries"] == 2
    assert c.rate_limit_remaining == 99


def test_rate_limit_exhausted_raises_actionable_error(auth_proxy: AuthProxy, registry: Registry) -> None:
    push_image(registry.url, "rl/app", "1", [_layer(9)])
    c = RegistryClient(endpoint=auth_proxy.url, sleep=lambda s: None, max_retries=2)
    auth_proxy.faults = [("/manifests/", "429")] * 3
    with pytest.raises(RateLimited, match="rate limit reached; resets at .*; rerun to resume"):
        c.resolve(parse_reference("x.io/rl/app:1"))
    assert c.rate_limit_remaining == 0


def test_connection_reset_is_retried(auth_proxy: AuthProxy, registry: Registry) -> None:
    push_image(registry.url, "reset/app", "1", [_layer(10)])
    waits: list[float] = []
    c = RegistryClient(endpoint=auth_proxy.url, sleep=waits.append, backoff=0.1)
    auth_proxy.faults = [("/manifests/", "reset")]
    [(m, _, _)] = c.resolve(parse_reference("x.io/reset/app:1"))
    assert m.media_type == MT_DOCKER and waits == [0.1]


def test_tampered_config_blob_is_rejected(auth_proxy: AuthProxy, registry: Registry, tmp_path: Path) -> None:
    push_image(registry.url, "tamper/app", "1", [_layer(11)])
    c = RegistryClient(endpoint=auth_proxy.url, cache_dir=tmp_path)
    ref = parse_reference("x.io/tamper/app:1")
    [(m, _, _)] = c.resolve(ref)
    assert m.config is not None
    auth_proxy.faults = [("/blobs/", "tamper")]
    with pytest.raises(BlobDigestMismatch, match="blob bytes hash to sha256:"):
        c.get_blob_bytes(ref, m.config.digest)
    assert not (tmp_path / "blobs").exists() or not any((tmp_path / "blobs").rglob("*" + m.config.digest[7:]))


def test_unknown_manifest_media_type(registry: Registry) -> None:
    # the registry stores an OCI artifact whose config is not an image config; the index
    # entry below points at it with an unknown media type
    base = registry.url
    a, asz = push_image(base, "odd/app", None, [_layer(12)], oci=True)
    idx = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
           "manifests": [{"mediaType": "application/vnd.example.thing+json", "size": asz, "digest": a,
                          "platform": {"os": "linux", "architecture": "amd64"}}]}
    push_manifest(base, "odd/app", "1", json.dumps(idx).encode(), "application/vnd.oci.image.index.v1+json")
    c = RegistryClient(endpoint=base)
    with pytest.raises(UnsupportedMediaType, match="application/vnd.example.thing"):
        c.resolve(parse_reference("x.io/odd/app:1"))


def test_manifest_not_found_message(registry: Registry) -> None:
    c = RegistryClient(endpoint=registry.url)
    with pytest.raises(RegistryError, match="not found .404.; check the name and tag"):
        c.resolve(parse_reference("x.io/no/such:1"))


# ------------------------------------------------------------------ the 14 real sample images
SAMPLE_EXPECTED = [
    # (image, config size, arch, os, env, diff_ids, layers, summed layer sizes)
    ("asciidoctor/docker-asciidoctor", 7497, "amd64", "linux", 12, 8, 8, 342713370),
    ("deepspeed/deepspeed", 19884, "amd64", "linux", 22, 33, 33, 5208299128),
    ("intel/intel-optimized-tensorflow", 3966, "amd64", "linux", 5, 7, 7, 326956078),
    ("jolibrain/deepdetect_cpu", 7619, "amd64", "linux", 1, 18, 18, 887954704),
    ("jolibrain/deepdetect_gpu", 14500, "amd64", "linux", 8, 25, 25, 3313397785),
    ("jolibrain/deepdetect_gpu_tensorrt", 38006, "amd64", "linux", 38, 59, 59, 4134681501),
    ("jolibrain/deepdetect_gpu_torch", 14498, "amd64", "linux", 8, 25, 25, 4515328118),
    ("nvidia/digits", 13691, "amd64", "linux", 12, 17, 17, 1165954602),
    ("openmined/tenseal", 8915, "amd64", "linux", 9, 8, 8, 2232051147),
    ("openvino/cvat_server", 10160, "amd64", "linux", 12, 17, 17, 2956524610),
    ("openvino/cvat_ui", 9600, "amd64", "linux", 4, 9, 9, 15844720),
    ("openvino/model_server", 8332, "amd64", "linux", 6, 8, 8, 119120933),
    ("openvino/ubuntu18_runtime", 15902, "amd64", "linux", 4, 18, 18, 466304787),
    ("openvino/workbench", 37503, "amd64", "linux", 24, 39, 39, 1982612553),
]


def push_sample(base: str, samples: Path, image: str) -> str:
    """Push a sample image's real config blob and its manifest with the layers made foreign
    (the package has no layer blobs; foreign layers need not exist in the registry).
    Returns the manifest digest."""
    d = samples / image / "latest"
    man = json.loads((d / "manifest.json").read_text())
    cfg = (d / man["config"]["digest"].split(":")[1]).read_bytes()
    assert push_blob(base, image, cfg) == man["config"]["digest"]
    for layer in man["layers"]:
        layer["mediaType"] = MT_FOREIGN
        layer["urls"] = ["http://127.0.0.1:9/never-fetched"]
    raw = json.dumps(man, indent=3).encode()
    return push_manifest(base, image, "latest", raw, MT_DOCKER)


def test_fourteen_real_sample_images(registry: Registry, tmp_path: Path, shared_package: Path) -> None:
    from pipeline.images.file_types import load_file_types
    from pipeline.images.live import analyse_image
    from pipeline.tables import ErrorLog

    samples = shared_package / SAMPLES
    assert sorted(str(p.parent.relative_to(samples)) for p in samples.glob("*/*/latest")) == [
        s[0] for s in SAMPLE_EXPECTED
    ]
    ft = load_file_types(Path(__file__).resolve().parents[1] / "taxonomy" / "file_types.yaml")
    c = RegistryClient(endpoint=registry.url, cache_dir=tmp_path)
    errors = ErrorLog("images")
    for image, cfg_size, arch, os_, env, diff_ids, n_layers, total in SAMPLE_EXPECTED:
        digest = push_sample(registry.url, samples, image)
        res = analyse_image(c, f"x.io/{image}", ft, errors, scan=False)
        [row] = res.images
        got = (row["config_size"], row["architecture"], row["os"], row["env_count"],
               row["rootfs_diff_ids"], row["layers"], row["compressed_size"])
        assert got == (cfg_size, arch, os_, env, diff_ids, n_layers, total), image
        assert row["digest"] == digest and row["platform"] == "linux/amd64" and row["status"] == "ok"
        assert [r["status"] for r in res.layers] == ["not_scanned"] * n_layers
    assert len(errors) == 0


def test_exhausted_rate_limit_waits_for_the_reset(auth_proxy: AuthProxy, registry: Registry) -> None:
    push_image(registry.url, "rl2/app", "1", [_layer(13)])
    waits: list[float] = []
    c = RegistryClient(endpoint=auth_proxy.url, sleep=waits.append)
    auth_proxy.extra_headers = {"RateLimit-Remaining": "0;w=60", "RateLimit-Reset": "5"}
    ref = parse_reference("x.io/rl2/app:1")
    c.head_manifest(ref)
    assert (c.rate_limit_remaining, waits) == (0, [])
    auth_proxy.extra_headers = {}
    c.head_manifest(ref)  # waits for the reset before sending
    assert len(waits) == 1 and 4.0 < waits[0] <= 5.0
    # a reset beyond max_wait stops with an actionable error and sends nothing
    auth_proxy.extra_headers = {"RateLimit-Remaining": "0", "RateLimit-Reset": "3600"}
    c.head_manifest(ref)
    n = len(auth_proxy.log)
    with pytest.raises(RateLimited, match="rerun to resume"):
        c.head_manifest(ref)
    assert len(auth_proxy.log) == n


def _refused_then_resolved_with_env_credentials(
    auth_proxy: AuthProxy, monkeypatch: pytest.MonkeyPatch, image: str, user_password: str,
    refusal: str,
) -> tuple[RegistryClient, Manifest]:
    """Resolve ``image`` without credentials (must fail with ``refusal``), then with
    ``user_password`` in MLDOCK_REGISTRY_USER / MLDOCK_REGISTRY_PASSWORD."""
    ref = parse_reference(image)
    with pytest.raises(RegistryError, match=refusal):
        RegistryClient(endpoint=auth_proxy.url).resolve(ref)
    user, password = user_password.split(":")
    monkeypatch.setenv("MLDOCK_REGISTRY_USER", user)
    monkeypatch.setenv("MLDOCK_REGISTRY_PASSWORD", password)
    c = RegistryClient(endpoint=auth_proxy.url)
    [(m, _, _)] = c.resolve(ref)
    return c, m


def test_basic_credentials_from_the_environment_reach_the_token_server(
    auth_proxy: AuthProxy, registry: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    push_image(registry.url, "basic/app", "1", [_layer(14)])
    auth_proxy.require_basic = "alice:s3cret"
    c, m = _refused_then_resolved_with_env_credentials(
        auth_proxy, monkeypatch, "x.io/basic/app:1", "alice:s3cret",
        "token server .* answered HTTP 401; check MLDOCK_REGISTRY_USER")
    assert m.media_type == MT_DOCKER and len(auth_proxy.token_requests) == 1
    assert "s3cret" not in repr(c._auth)


def test_basic_challenge_from_the_registry(auth_proxy: AuthProxy, registry: Registry,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    push_image(registry.url, "basic2/app", "1", [_layer(15)])
    auth_proxy.basic_registry = "bob:pw"
    _, m = _refused_then_resolved_with_env_credentials(
        auth_proxy, monkeypatch, "x.io/basic2/app:1", "bob:pw",
        "asks for basic auth; set MLDOCK_REGISTRY_USER")
    assert m.media_type == MT_DOCKER and auth_proxy.token_requests == []
    # first client: one 401; second: 401, then the manifest GET with Basic credentials
    assert [k for (_, _, k) in auth_proxy.log] == ["", "", "Basic"]

"""core/compose.py: the one compose reader (v1, v2, guards), on real and hostile files."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from pipeline.core import compose
from pipeline.core.compose import ComposeError, read_compose


def _logs(shared_package: Path, repo: str, path: str) -> bytes:
    return (shared_package / "raw-data" / "Dockerfiles" / "logs" / repo / "latest" / path).read_bytes()


def test_v2_layout_from_the_package(shared_package: Path) -> None:
    cf = read_compose(_logs(shared_package, "Alluxio/alluxio", "integration/metrics/docker-compose-master.yaml"))
    assert (cf.layout, cf.services_key, cf.version) == ("v2", "mapping", "2")
    assert [s.name for s in cf.services] == ["jaeger-all-in-one", "otel-collector", "otel-agent", "prometheus"]
    agent = cf.services[2]
    assert agent.image == "otel/opentelemetry-collector-dev:b24db545eb56e2ee7dcf6a8f3740ce49bb80608b"
    assert agent.ports == ("1777:1777", "4317:4317", "8887:8888", "9411", "13133", "14250", "14268",
                           "55678", "55679:55679")
    assert agent.volumes == ("./otel-agent-config.yaml:/etc/otel-agent-config.yaml",)
    assert agent.depends_on == ("otel-collector",)
    assert (agent.build_context, agent.environment_count, agent.networks) == ("", 0, ())


def test_v3_build_context_and_sections(shared_package: Path) -> None:
    cf = read_compose(_logs(shared_package, "4paradigm/OpenMLDB",
                            "demo/predict-taxi-trip-duration-nb/docker-compose.test.yml"))
    assert cf.sections == ("version", "services")
    (sut,) = cf.services
    assert (sut.name, sut.build_context, sut.volumes, cf.version) == (
        "sut", ".", ("./test:/work/taxi-trip/test",), "3.9")


def test_no_version_key(shared_package: Path) -> None:
    cf = read_compose(_logs(shared_package, "neuralet/smart-social-distancing", "docker-compose-amd64.yml"))
    assert (cf.version, cf.sections, cf.services[0].build_context) == (None, ("services",), ".")


def test_v1_layout() -> None:
    cf = read_compose(b"web:\n  build: ./app\n  ports: [80]\n  environment: {A: 1, B: 2}\n"
                      b"db:\n  image: postgres:13\n  links: [web]\nnot_a_service: 3\n")
    assert (cf.layout, cf.services_key, cf.version) == ("v1", "missing", None)
    assert [(s.name, s.image, s.build_context, s.ports, s.environment_count) for s in cf.services] == [
        ("web", "", "./app", (80,), 2), ("db", "postgres:13", "", (), 0)]
    assert cf.sections == ("web", "db", "not_a_service")


def test_services_that_are_not_a_mapping_and_no_services() -> None:
    other = read_compose(b"services:\n  - a\n  - b\n")
    assert (other.layout, other.services_key, other.services) == ("none", "other", ())
    none = read_compose(b"version: '3'\nnetworks: {}\n")
    assert (none.layout, none.services_key) == ("none", "missing")
    with pytest.raises(ComposeError, match="^not a YAML mapping$") as exc:
        read_compose(b"- just\n- a list\n")
    assert exc.value.reason == "not_mapping"


def test_depth_guard_runs_before_pyyaml(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_yaml(*a: object, **k: object) -> None:
        raise AssertionError("PyYAML called on a file the depth scan rejects")

    monkeypatch.setattr(yaml, "load", no_yaml)
    for deep in (b"services: " + b"[" * 5000 + b"]" * 5000 + b"\n",
                 b"a: " + b"{x: " * 70 + b"1" + b"}" * 70 + b"\n",
                 "".join("  " * i + f"k{i}:\n" for i in range(70)).encode(),
                 # a tag or an anchor before each bracket (the scan must still count it)
                 b"a: " + b"!!seq [" * 3000 + b"]" * 3000 + b"\n",
                 b"a: " + b"".join(b"&a%d [" % i for i in range(3000)) + b"]" * 3000 + b"\n"):
        with pytest.raises(ComposeError) as exc:
            read_compose(deep)
        assert str(exc.value) == "YAML nested deeper than 64 levels"
        assert exc.value.reason == "too_deep"


def test_depth_scan_counts_levels_and_skips_scalars_and_quotes() -> None:
    assert compose.nesting_depth("a: [1, [2, {b: [3]}]]") == 5
    assert compose.nesting_depth("a:\n- b:\n  - c:\n    - d: 1\n") == 7  # compact sequences
    assert compose.nesting_depth("x: 'a [[[[ b'\ny: \"{{{{\"\nz: foo[bar  # [[[[\n") == 1
    assert compose.nesting_depth("cmd: |\n  [[[[[[\n      {{{{{{\nnext: 1\n") == 1
    assert compose.nesting_depth("a: 1\n") == 1


def test_depth_scan_never_underestimates_the_packages_yaml(shared_package: Path) -> None:
    """On every YAML file of the package PyYAML reads, the scan is PyYAML's depth or one more."""
    diffs = []
    for f in sorted((shared_package / "raw-data" / "Dockerfiles" / "logs").rglob("*.y*ml")):
        text = f.read_bytes().decode("utf-8", errors="replace")
        depth = level = 0
        try:
            for ev in yaml.parse(text, Loader=yaml.SafeLoader):
                if isinstance(ev, yaml.CollectionStartEvent):
                    level += 1
                    depth = max(depth, level)
                elif isinstance(ev, yaml.CollectionEndEvent):
                    level -= 1
        except yaml.YAMLError:
            continue
        diffs.append(compose.nesting_depth(text) - depth)
    assert len(diffs) == 210
    assert min(diffs) == 0 and max(diffs) == 1


def test_alias_bomb() -> None:
    lines = ['a: &a ["x","x","x","x","x","x","x","x","x","x"]']
    for i in range(6):
        prev, cur = chr(97 + i), chr(98 + i)
        lines.append(f"{cur}: &{cur} [" + ",".join([f"*{prev}"] * 10) + "]")
    with pytest.raises(ComposeError) as exc:
        read_compose("\n".join(lines) + "\n")
    assert str(exc.value) == "YAML expands to more than 200000 nodes (alias bomb?)"
    assert exc.value.reason == "alias_bomb"


def test_size_binary_and_invalid_yaml() -> None:
    with pytest.raises(ComposeError, match=r"^file too large \(1048577 bytes > 1048576\)$"):
        read_compose(b"#" * (1024 * 1024 + 1))
    with pytest.raises(ComposeError, match=r"^binary file \(NUL bytes\)$"):
        read_compose(b"services:\x00\n")
    with pytest.raises(ComposeError) as exc:
        read_compose(b"a: [unclosed\n")
    assert exc.value.reason == "invalid_yaml"
    assert str(exc.value).startswith("invalid YAML: while parsing a flow sequence")
    assert exc.value.detail == "while parsing a flow sequence"

"""core/sniff.py: file kinds of real files of the package, exact kinds and reasons."""

from __future__ import annotations

from pathlib import Path, PurePosixPath

import pytest

from pipeline.core import sniff

CASES = [
    ("1adrianb/face-alignment", "Dockerfile", "dockerfile", "dockerfile",
     "FROM at line 2 after comments/ARGs"),
    ("Alluxio/alluxio", "integration/metrics/docker-compose-master.yaml", "compose", "compose",
     "compose file with 4 services (version 2)"),
    ("neuralet/smart-social-distancing", "docker-compose-amd64.yml", "compose", "compose",
     "compose file with 1 services (version unset)"),
    ("alibaba/MNN", "3rd_party/flatbuffers/tests/docker/TODO.Dockerfile.testing.python.cpython_with_conda",
     "dockerfile", "not_dockerfile", "empty file"),
    ("IntelAI/models", "tools/docker/partials/centos/libgl.partial.Dockerfile", "dockerfile",
     "not_dockerfile", "first instruction is RUN at line 1, not FROM"),
    ("clara-parabricks/AtacWorks", "Dockerfile.md", "dockerfile", "not_dockerfile",
     "first instruction is ALL at line 3, not FROM"),
    ("JdeRobot/RoboticsAcademy", "exercises/static/exercises/assets/ace-builds/src/mode-dockerfile.js",
     "dockerfile", "not_dockerfile", "line 1 is not a Dockerfile instruction"),
    ("polyaxon/polyaxon", "core/polyaxon/polypod/init/dockerfile.py", "dockerfile", "not_dockerfile",
     "line 17 starts with FROM but is not 'FROM image [AS name]'"),
    ("microsoft/tensorflow-directml", "tensorflow/tools/dockerfiles/partials/ubuntu/version.partial.Dockerfile",
     "dockerfile", "not_dockerfile", "no instruction (only comments or ARGs)"),
    ("RedisAI/RedisAI", "opt/build/docker/dockerfile-gpu-test.tmpl", "dockerfile", "not_dockerfile",
     "template: has Jinja control lines ({% ... %})"),
    ("tensorflow/serving", "tensorflow_serving/tools/docker/tests/dockerfile_devel_gpu_test.sh",
     "dockerfile", "not_dockerfile", "first instruction is DECLARE at line 28, not FROM"),
]


@pytest.mark.parametrize(("repo", "path", "name_match", "kind", "reason"), CASES)
def test_real_files(shared_package: Path, repo: str, path: str, name_match: str, kind: str,
                    reason: str) -> None:
    data = (shared_package / "raw-data" / "Dockerfiles" / "logs" / repo / "latest" / path).read_bytes()
    assert sniff.classify_file(PurePosixPath(path).name, data) == (name_match, kind, reason)


def test_name_match() -> None:
    assert [sniff.name_match(n) for n in ("Dockerfile.gpu", "mode-dockerfile.js", "compose.yaml",
                                          "docker-compose.test.yml", "Compose.yml", "values.yaml")] == [
        "dockerfile", "dockerfile", "compose", "compose", "compose", "other"]


def test_first_instruction() -> None:
    assert sniff.first_instruction("# syntax=docker/dockerfile:1\nARG V=1\nFROM python:${V}\n") == ("FROM", 3)
    assert sniff.first_instruction("# escape=`\nARG A=`\n  b\nfrom x\n") == ("FROM", 4)
    assert sniff.first_instruction("ARG A=\\\n  1\nRUN x\n") == ("RUN", 3)
    assert sniff.first_instruction("<html>\n") == (None, 1)
    assert sniff.first_instruction("# only\n\nARG X\n") == (None, 0)


def test_compose_guards_reach_the_reason() -> None:
    deep = b"services: " + b"[" * 200 + b"]" * 200 + b"\n"
    assert sniff.classify_file("docker-compose.yml", deep) == (
        "compose", "not_dockerfile", "named like a compose file but YAML nested deeper than 64 levels")
    assert sniff.classify_file("values.yaml", b"a: 1\n") == (
        "other", "not_dockerfile", "line 1 is not a Dockerfile instruction")  # a mapping without services
    big = b"services: {}\n" + b"#" * sniff.MAX_CONTENT_SNIFF
    assert sniff.classify_file("docker-compose.yml", big)[2] == (
        f"named like a compose file but too large to be checked ({len(big)} bytes)")


@pytest.mark.parametrize("data", [b"# a\x0cb\nFROM ubuntu\n", b"# a\rb\nFROM ubuntu:1 AS x\n"])
def test_from_line_is_numbered_as_the_parser_numbers_it(data: bytes) -> None:
    """A form feed or a lone CR in a comment is not a line break for the parser, so the
    FROM found at its line 2 is the one validated (str.splitlines would pick the comment)."""
    assert sniff.classify_file("Dockerfile", data) == (
        "dockerfile", "dockerfile", "FROM at line 2 after comments/ARGs")

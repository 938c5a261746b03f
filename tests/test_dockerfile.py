"""The pure Dockerfile core: fixtures for each syntax, real Dockerfiles from the package."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.core import dockerfile as d
from pipeline.core import imageref, paper, runcmds
from pipeline.parse import FileJob, Taxonomies, dockerfile_rows, load_taxonomies
from tests.conftest import FIXTURES, REPO_ROOT

DF = FIXTURES / "dockerfiles"
LOGS = Path("raw-data/Dockerfiles/logs")


@pytest.fixture(scope="module")
def tax() -> Taxonomies:
    return load_taxonomies(REPO_ROOT / "taxonomy")


def rows(data: bytes, mode: str, tax: Taxonomies) -> dict:
    return dockerfile_rows(FileJob("o/r", "Dockerfile", "sha", "dockerfile", data), mode, tax)


def ins(out: dict) -> list[tuple]:
    return [(i["stage"], i["line"], i["instruction"]) for i in out["instructions"]]


def cmds(out: dict) -> list[tuple]:
    return [(c["command"], c["first_arg"], c["category"], c["method"]) for c in out["run_commands"]]


BASE_KEYS = ("stage", "image", "registry", "namespace", "name", "tag", "digest", "alias",
             "platform", "is_stage_reference", "is_variable", "official", "base_type", "type_rule")


def bases(out: dict) -> list[tuple]:
    return [tuple(b[k] for k in BASE_KEYS) for b in out["base_images"]]


def test_multistage_arg_before_from_aliases_and_substitution(tax: Taxonomies) -> None:
    out = rows((DF / "multistage.Dockerfile").read_bytes(), "corrected", tax)
    assert ins(out) == [(-1, 2, "ARG"), (-1, 3, "ARG"), (0, 4, "FROM"), (0, 5, "ARG"), (0, 6, "ENV"),
                        (0, 7, "WORKDIR"), (0, 8, "RUN"), (1, 9, "FROM"), (1, 10, "RUN"),
                        (2, 11, "FROM"), (2, 12, "COPY"), (3, 13, "FROM"), (3, 14, "CMD")]
    workdir = out["instructions"][5]
    assert (workdir["value"], workdir["expanded"]) == ("$APP/src", "/srv/app/src")
    assert bases(out) == [
        (0, "python:3.10-slim", "docker.io", "library", "python", "3.10-slim", "", "builder",
         "$BUILDPLATFORM", False, False, True, "language_runtime", "name"),
        (1, "builder", "", "", "builder", "", "", "tester", "", True, False, False,
         "language_runtime", "stage"),
        (2, "nvcr.io/nvidia/cuda:11.3.1-cudnn8-runtime-ubuntu20.04@sha256:0123abcd", "nvcr.io",
         "nvidia", "cuda", "11.3.1-cudnn8-runtime-ubuntu20.04", "sha256:0123abcd", "", "", False,
         False, False, "platform_runtime", "name"),
        (3, "${MISSING_IMAGE}", "", "", "${MISSING_IMAGE}", "", "", "", "", False, True, False,
         "variable", "variable"),
    ]
    assert out["dockerfiles"][0]["n_stages"] == 4
    assert cmds(out) == [("pip", "install", "Dependencies", "bashlex"),
                         ("python", "-m", "Build/Execute", "bashlex")]


def test_escape_directive_backtick_continuations(tax: Taxonomies) -> None:
    out = rows((DF / "escape.Dockerfile").read_bytes(), "corrected", tax)
    assert ins(out) == [(0, 2, "FROM"), (0, 3, "RUN"), (0, 6, "WORKDIR")]
    assert out["instructions"][1]["value"] == (
        "powershell -Command     Invoke-WebRequest https://example.com/x.zip -OutFile x.zip ;"
        "     Expand-Archive x.zip")
    assert out["instructions"][2]["value"] == "C:\\app"
    assert bases(out)[0][2:6] == ("mcr.microsoft.com", "windows", "servercore", "ltsc2019")
    assert cmds(out) == [("powershell", "-Command", "unknown", "bashlex"),
                         ("Expand-Archive", "x.zip", "unknown", "bashlex")]


def test_heredocs_plain_quoted_and_dash(tax: Taxonomies) -> None:
    out = rows((DF / "heredoc.Dockerfile").read_bytes(), "corrected", tax)
    assert ins(out) == [(0, 1, "FROM"), (0, 2, "RUN"), (0, 6, "RUN"), (0, 10, "COPY"),
                        (0, 13, "RUN"), (0, 17, "ENTRYPOINT")]
    assert [i["heredoc"] for i in out["instructions"]] == [False, True, True, True, True, False]
    assert out["instructions"][2]["value"] == (
        '<<-"SCRIPT" bash\nset -e\nmkdir -p /opt/x && chmod 755 /opt/x')
    assert out["instructions"][3]["value"] == "<<'CONF' /etc/app.conf\nkey = value"
    # body lines never become instructions; a python heredoc is data, not shell
    assert cmds(out) == [("apt-get", "update", "Dependencies", "bashlex"),
                         ("apt-get", "install", "Dependencies", "bashlex"),
                         ("set", "-e", "Environment", "bashlex"),
                         ("mkdir", "-p", "Filesystem", "bashlex"),
                         ("chmod", "755", "Permissions", "bashlex"),
                         ("python3", "", "Build/Execute", "bashlex")]
    assert out["dockerfiles"][0]["parse_status"] == "ok"


def test_heredoc_is_what_breaks_dockerfile_parse(tax: Taxonomies) -> None:
    """The known trap: dockerfile-parse turns heredoc bodies into instructions; paper mode
    reproduces that, corrected mode does not."""
    data = (DF / "heredoc.Dockerfile").read_bytes()
    paper = [i["instruction"] for i in rows(data, "paper", tax)["instructions"]]
    assert paper == ["FROM", "RUN", "APT-GET", "APT-GET", "EOF", "RUN", "SET", "MKDIR", "SCRIPT",
                     "COPY", "KEY", "CONF", "RUN", "IMPORT", "PRINT(OS.GETCWD())", "PY", "ENTRYPOINT"]
    assert "APT-GET" not in [i["instruction"] for i in rows(data, "corrected", tax)["instructions"]]


def test_json_exec_form(tax: Taxonomies) -> None:
    out = rows((DF / "jsonform.Dockerfile").read_bytes(), "corrected", tax)
    assert [i["exec_form"] for i in out["instructions"]] == [False, True, True, True, True, False, True]
    assert cmds(out) == [("apk", "add", "Dependencies", "exec"),
                         ("adduser", "-D", "Permissions", "bashlex"),
                         ("chown", "app", "Permissions", "bashlex")]


def test_comments_inside_continuations_wrappers_and_bashlex_fallback(tax: Taxonomies) -> None:
    out = rows((DF / "continuation_comments.Dockerfile").read_bytes(), "corrected", tax)
    assert ins(out) == [(0, 1, "FROM"), (0, 2, "RUN"), (0, 8, "RUN"), (0, 9, "RUN")]
    assert out["instructions"][1]["value"] == (
        "apt-get update     && apt-get install -y gcc     && rm -rf /var/lib/apt/lists/*")
    assert cmds(out) == [
        ("apt-get", "update", "Dependencies", "bashlex"),
        ("apt-get", "install", "Dependencies", "bashlex"),
        ("rm", "-rf", "Filesystem", "bashlex"),
        ("apt-get", "upgrade", "Dependencies", "bashlex"),  # sudo -E env VAR=x dropped
        ("/usr/bin/python3.8", "setup.py", "Build/Execute", "bashlex"),
        ("echo", "four", "Filesystem", "split"),  # bashlex fails on $((..)), case, [[ ]]
        ("ls", "/tmp", "Filesystem", "split"),
    ]


def test_windows_line_endings(tax: Taxonomies) -> None:
    data = (DF / "crlf.Dockerfile").read_bytes()
    assert b"\r\n" in data
    out = rows(data, "corrected", tax)
    assert [(i["instruction"], i["value"]) for i in out["instructions"]] == [
        ("FROM", "python:3.9"), ("RUN", "pip install numpy     && echo done"), ("CMD", '["python"]')]
    assert cmds(out) == [("pip", "install", "Dependencies", "bashlex"),
                         ("echo", "done", "Filesystem", "bashlex")]


def test_invalid_utf8_is_partial_not_fatal(tax: Taxonomies) -> None:
    out = rows((DF / "latin1.Dockerfile").read_bytes(), "corrected", tax)
    f = out["dockerfiles"][0]
    assert (f["parse_status"], f["error"]) == (
        "partial", "invalid UTF-8 at byte 32; undecodable bytes replaced")
    assert ins(out) == [(0, 1, "FROM"), (0, 2, "LABEL"), (0, 3, "RUN")]


def test_unterminated_heredoc_is_partial(tax: Taxonomies) -> None:
    out = rows((DF / "unterminated_heredoc.Dockerfile").read_bytes(), "corrected", tax)
    f = out["dockerfiles"][0]
    assert (f["parse_status"], f["error"]) == ("partial", "line 3: unterminated heredoc <<EOF")
    assert out["instructions"][2]["value"] == "<<EOF\necho never closed"
    assert out["errors"][0]["item"] == "o/r/Dockerfile"


@pytest.mark.parametrize(("data", "message"), [
    (b"\x7fELF\x00\x00\x01binary", "binary file (NUL bytes); not a Dockerfile"),
    (b"FROM x\n" + b"#" * (10 * 1024 * 1024), f"file too large ({10 * 1024 * 1024 + 7} bytes > "
                                                f"{d.MAX_BYTES}); not a Dockerfile"),
    (b"import os\nfrom a import b\nx = 1\ny = 2\n", "not a Dockerfile: 3 of 4 instructions are "
                                                     "unknown (first: 'IMPORT' at line 1)"),
])
def test_hostile_dockerfiles_give_an_error_row(tax: Taxonomies, data: bytes, message: str) -> None:
    out = rows(data, "corrected", tax)
    f = out["dockerfiles"][0]
    assert (f["parse_status"], f["error"]) == ("error", f"o/r/Dockerfile: {message}")
    assert out["instructions"] == [] and out["errors"][0]["error_type"] == "DockerfileError"


def test_parse_reference() -> None:
    r = imageref.parse("localhost:5000/team/img:1.0")
    assert (r.registry, r.namespace, r.name, r.tag, r.digest, r.official) == (
        "localhost:5000", "team", "img", "1.0", "", False)
    assert (r.repository, r.api_host) == ("team/img", "localhost:5000")
    r = imageref.parse("docker.io/python")
    assert (r.registry, r.namespace, r.name, r.tag, r.digest, r.official) == (
        "docker.io", "library", "python", "", "", True)
    assert (r.repository, r.api_host, r.reference) == ("library/python", "registry-1.docker.io", "latest")
    assert imageref.parse("pytorch/pytorch:1.10.0-cuda11.3-cudnn8-runtime").namespace == "pytorch"
    assert imageref.parse("scratch") == imageref.ImageRef("", "", "scratch")


def test_paper_structure_follows_dockerfile_parse() -> None:
    """Paper mode keeps the study's quirks: any line the regex matches is an instruction,
    a lone token too when a newline follows it (the newline satisfies ``\\s+``)."""
    text = "module.exports = {\n  foo: 1\n}\n# COMMENT\nFROM x AS y\nEND"
    assert paper.paper_structure(text) == [(0, "MODULE.EXPORTS", "= {"), (1, "FOO:", "1"), (2, "}", ""),
                                       (4, "FROM", "x AS y")]


def test_real_dockerfile_kubeflow_admission_webhook(shared_package: Path, tax: Taxonomies) -> None:
    f = shared_package / LOGS / "kubeflow/kubeflow/latest/components/admission-webhook/Dockerfile"
    out = rows(f.read_bytes(), "corrected", tax)
    assert ins(out) == [(-1, 2, "ARG"), (0, 3, "FROM"), (0, 6, "WORKDIR"), (0, 7, "COPY"),
                        (0, 8, "COPY"), (0, 10, "ENV"), (0, 13, "RUN"), (1, 20, "FROM"),
                        (1, 21, "WORKDIR"), (1, 22, "COPY"), (1, 23, "ENTRYPOINT")]
    assert [b[:8] + b[12:] for b in bases(out)] == [
        (0, "golang:1.17", "docker.io", "library", "golang", "1.17", "", "builder",
         "language_runtime", "name"),
        (1, "gcr.io/distroless/static-debian10:fd0d99e8c54d7d7b2f3dd29f5093d030d192cbbc", "gcr.io",
         "distroless", "static-debian10", "fd0d99e8c54d7d7b2f3dd29f5093d030d192cbbc", "", "",
         "static_binary", "name"),
    ]
    assert cmds(out) == [("[", "$(uname -m)", "Filesystem", "bashlex"),
                         ("uname", "-m", "Build/Execute", "bashlex"),
                         ("go", "build", "Build/Execute", "bashlex"),
                         ("go", "build", "Build/Execute", "bashlex")]
    paper = rows(f.read_bytes(), "paper", tax)
    assert cmds(paper) == [("go", "", "Build/Execute", "paper_token")] * 2
    assert paper["base_images"][0]["raw"] == "golang:${GOLANG_VERSION} as builder"


def test_real_dockerfile_keras_comment_in_continuation(shared_package: Path, tax: Taxonomies) -> None:
    f = shared_package / LOGS / "keras-team/keras/latest/.devcontainer/Dockerfile"
    out = rows(f.read_bytes(), "corrected", tax)
    assert [c[0] for c in cmds(out)] == [
        "groupadd", "useradd", "apt-get", "apt-get", "echo", "chmod", "apt", "apt", "curl", "gpg",
        "mv", "echo", "tee", "apt", "apt"]
    paper = rows(f.read_bytes(), "paper", tax)
    # the study's tokens: package names count, chmod is found, gpg is not a keyword
    assert [c[0] for c in cmds(paper)] == [
        "groupadd", "useradd", "apt-get", "apt-get", "install", "bash", "echo", "chmod", "apt",
        "apt", "install", "curl", "curl", "mv", "echo", "apt", "apt", "install"]


def test_taxonomy_rejects_unknown_ids_and_duplicates(tmp_path: Path) -> None:
    from pipeline.errors import TaxonomyError

    src = (REPO_ROOT / "taxonomy" / "run_commands.yaml").read_text()
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "base_image_types.yaml").write_text(
        (REPO_ROOT / "taxonomy" / "base_image_types.yaml").read_text())
    (bad / "run_commands.yaml").write_text(src.replace("- id: Permissions", "- id: Perms"))
    assert load_taxonomies(bad).run.ids == (
        "Dependencies", "Filesystem", "Build/Execute", "Environment", "Perms")  # ids come from YAML
    (bad / "run_commands.yaml").write_text(src.replace("- id: Permissions", "- id: unknown"))
    with pytest.raises(TaxonomyError, match="category id 'unknown' is reserved"):
        load_taxonomies(bad)
    (bad / "run_commands.yaml").write_text(src.replace("[chmod, chown, useradd", "[chmod, rm, useradd"))
    with pytest.raises(TaxonomyError, match="duplicate keyword 'rm'"):
        load_taxonomies(bad)


def test_huge_run_skips_bashlex_and_stays_fast() -> None:
    script = " && ".join(["apt-get install -y pkg"] * 5000)  # ~120 kB
    got = runcmds.shell_commands(script)
    assert len(got) == 5000 and got[0] == ("apt-get", "install", "split")

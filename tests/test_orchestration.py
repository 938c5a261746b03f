"""Orchestration and GPU signals: the rules (taxonomy/orchestration.yaml) on a fixture of
Kubernetes, Helm, kustomize, compose and script files, and on the replication package."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from pipeline import orchestration, parse
from pipeline.collect.files import FileRecord, kind_of, name_match
from pipeline.config import Paths
from pipeline.core.orchestration import OrchestrationRules, repository
from pipeline.core.sniff import classify_file
from pipeline.tables import read_table, repo_categories
from pipeline.taxonomy import load_orchestration
from tests.conftest import FIXTURES, REPO_ROOT

FIX = FIXTURES / "orchestration"


@pytest.fixture(scope="module")
def rules() -> OrchestrationRules:
    return load_orchestration(REPO_ROOT / "taxonomy")


def _fixture_files() -> list[tuple[str, str, str, bytes]]:
    return [("example/serve", str(f.relative_to(FIX)), "compose" if "compose" in f.name else "not_dockerfile",
             f.read_bytes()) for f in sorted(FIX.rglob("*")) if f.is_file()]


def test_fixture_signals_exact(rules: OrchestrationRules) -> None:
    got = {path: [(s.signal, s.group, s.detail) for s in rules.file_signals(path, data, kind)]
           for _, path, kind, data in _fixture_files()}
    assert got == {
        "charts/serve/Chart.yaml": [("helm_chart", "orchestration", "file name chart.yaml")],
        "docker-compose.gpu.yml": [
            ("compose_gpu_reservation", "gpu",
             "train: deploy.resources.reservations.devices.*.capabilities.*=gpu"),
            ("compose_runtime_nvidia", "gpu", "legacy: runtime=nvidia")],
        "k8s-deployment.yaml": [("kubernetes_manifest", "orchestration", "kind Deployment,Service")],
        "kustomization.yaml": [("kustomize", "orchestration", "file name kustomization.yaml"),
                               ("kubernetes_manifest", "orchestration", "kind Kustomization")],
        "run_docker.sh": [("gpus_flag", "gpu", "docker run --rm -it --gpus")],
    }


def test_collect_lists_the_taxonomy_names(rules: OrchestrationRules) -> None:
    paths = ["charts/serve/Chart.yaml", "deploy/k8s/app.yaml", "k8s-deployment.yaml",
             "overlays/prod/kustomization.yaml", "scripts/run_docker.sh", "docker/Dockerfile.gpu",
             "docker-compose.yml", "src/model.py", "config.yaml", "README.md"]
    assert [name_match(p, rules.wanted) for p in paths] == [
        "orchestration", "orchestration", "orchestration", "orchestration", "orchestration",
        "dockerfile", "compose", None, None, None]
    assert name_match("charts/serve/Chart.yaml") is None  # without the taxonomy: the study's rule


def test_base_image_versions(rules: OrchestrationRules) -> None:
    cases = [("docker.io", "nvidia", "cuda", "10.0-cudnn7-devel-ubuntu18.04"),
             ("docker.io", "library", "ubuntu", "16.04"),
             ("docker.io", "pytorch", "pytorch", "1.9.0-cuda11.1-cudnn8-runtime"),
             ("docker.io", "tensorflow", "tensorflow", "latest-gpu-py3"),
             ("docker.io", "tensorflow", "tensorflow", "2.3.0"),
             ("nvcr.io", "nvidia", "pytorch", "21.02-py3"),
             ("gcr.io", "clang-docker-builder", "clang-ubuntu14_04", "latest"),
             ("launcher.gcr.io", "google", "rbe-ubuntu16-04", "r327695")]
    got = []
    for reg, ns, name, tag in cases:
        repo = repository(reg, ns, name)
        got.append((repo, [s.signal for s in rules.image_signals(repo, tag)], rules.versions(repo, tag)))
    assert got == [
        ("nvidia/cuda", ["cuda_base_image"],
         {"cuda_version": "10.0", "cudnn_version": "7", "os_version": "ubuntu:18.04"}),
        ("ubuntu", [], {"os_version": "ubuntu:16.04"}),
        ("pytorch/pytorch", ["cuda_base_image"], {"cuda_version": "11.1", "cudnn_version": "8"}),
        ("tensorflow/tensorflow", ["cuda_base_image"], {}),
        ("tensorflow/tensorflow", [], {}),
        ("nvcr.io/nvidia/pytorch", ["cuda_base_image"], {}),
        ("gcr.io/clang-docker-builder/clang-ubuntu14_04", [], {"os_version": "ubuntu:14.04"}),
        ("launcher.gcr.io/google/rbe-ubuntu16-04", [], {"os_version": "ubuntu:16.04"}),
    ]


def test_fixture_repository_shares(rules: OrchestrationRules) -> None:
    """The Kubernetes part end to end on the fixture: one repository with every signal of its
    files, one without any."""
    sig = parse.orchestration_rows(_fixture_files(), pd.DataFrame(), rules)
    repos = pd.DataFrame({"repo": ["example/serve", "example/empty"], "category": ["Model", "Model"]})
    flags = orchestration.repos_frame(repos, sig)
    assert flags.to_dict("records") == [
        {"repo": "example/empty", "category": "Model", "gpu": False, "orchestration": False,
         "signals": "[]", "cuda_versions": "[]"},
        {"repo": "example/serve", "category": "Model", "gpu": True, "orchestration": True,
         "signals": json.dumps(["compose_gpu_reservation", "compose_runtime_nvidia", "gpus_flag",
                                "helm_chart", "kubernetes_manifest", "kustomize"]),
         "cuda_versions": "[]"}]
    groups = {s: rules.group(s) for s in rules.signal_ids}
    shares = orchestration.shares_frame(flags, rules.signal_ids, groups).set_index(["category", "signal"])
    assert shares.loc[("Model", "any_orchestration"), "share"] == 0.5
    assert shares.loc[("All", "cuda_base_image"), "n_with"] == 0
    assert shares.loc[("All", "helm_chart"), ["n_repos", "n_with"]].tolist() == [2, 1]


def test_package_file_signals_exact(ingested: Paths, rules: OrchestrationRules) -> None:
    """Every file the package holds (Docker files only), without base images."""
    files = read_table("files", ingested)
    data = [(r.repo, r.path, r.kind, (ingested.data / r.raw_path).read_bytes())
            for r in files.itertuples(index=False)]
    sig = parse.orchestration_rows(data, pd.DataFrame(), rules)
    per = sig.groupby("signal").agg(rows=("repo", "size"), repos=("repo", "nunique"))
    assert per.to_dict("index") == {
        "compose_gpu_reservation": {"rows": 3, "repos": 2},
        "compose_runtime_nvidia": {"rows": 9, "repos": 6},
        "gpus_flag": {"rows": 64, "repos": 34},
        "kubernetes_manifest": {"rows": 1, "repos": 1}}
    k8s = sig[sig["signal"] == "kubernetes_manifest"].iloc[0]
    assert (k8s["repo"], k8s["path"], k8s["detail"]) == \
        ("kubedl-io/kubedl", "config/samples/model/dockerfile_configmap.yaml", "kind ConfigMap")
    flags = orchestration.repos_frame(repo_categories(read_table("repos", ingested)), sig)
    assert (int(flags["gpu"].sum()), int(flags["orchestration"].sum())) == (38, 1)


def test_base_image_signals_of_a_real_dockerfile(shared_package: Path, rules: OrchestrationRules) -> None:
    path = shared_package / "raw-data/Dockerfiles/logs/1adrianb/face-alignment/latest/Dockerfile"
    job = parse.FileJob("1adrianb/face-alignment", "Dockerfile", "x", "dockerfile", path.read_bytes())
    tax = parse.load_taxonomies(REPO_ROOT / "taxonomy")
    bases = pd.DataFrame(parse.dockerfile_rows(job, "corrected", tax)["base_images"])
    sig = parse.orchestration_rows([], bases, rules)
    assert sig[["line", "signal", "detail", "cuda_version", "cudnn_version"]].values.tolist() == [
        [2, "cuda_base_image", "nvidia/cuda:10.1-cudnn7-devel-ubuntu18.04", "10.1", "7"]]


VALUES = b"server:\n  image: myorg/server:1.0\nworker:\n  image: myorg/w:1\n"


def test_orchestration_files_are_never_parsed_as_docker_files(rules: OrchestrationRules) -> None:
    # a Helm values file looks like compose v1 by content ...
    assert classify_file("values.yaml", VALUES)[1] == "compose"
    # ... but collect lists it for the orchestration signals only, so it is not_dockerfile
    for path in ("charts/serve/values.yaml", "deploy/values.yaml"):
        nm = name_match(path, rules.wanted)
        assert nm == "orchestration"
        assert kind_of(FileRecord("o/r", path, "0" * 40, len(VALUES), nm, VALUES)) == (
            "not_dockerfile", "collected for the orchestration signals (taxonomy/orchestration.yaml)")
    assert kind_of(FileRecord("o/r", "docker-compose.yml", "0" * 40, len(VALUES), "compose", VALUES))[0] == "compose"
    # and a files.csv of an older collect (kind compose) is still not parsed, in either mode
    files = pd.DataFrame({"repo": ["o/r", "o/r"], "path": ["charts/serve/values.yaml", "docker-compose.yml"],
                          "kind": ["compose", "compose"], "name_match": ["orchestration", "compose"]})
    for mode in ("paper", "corrected"):
        assert parse.select_files(files, mode)["path"].tolist() == ["docker-compose.yml"]

"""Docker Hub images named in a repository's own files: pure extraction, on real files."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from pipeline.core.hubrefs import (
    badge_images,
    command_images,
    compose_images,
    evidence_kind,
    hub_image,
    images_in,
    workflow_images,
)

from .fakegithub import LOGS


def test_hub_image_keeps_only_project_images_on_docker_hub() -> None:
    assert [hub_image(r) for r in ("heartexlabs/label-studio:latest", "docker.io/ultralytics/yolov5:v6",
                                   "nginx:1.21", "library/python", "ghcr.io/o/x:1", "quay.io/o/x",
                                   "${REGISTRY}/app:${TAG}", "$IMAGE", "-it")] == [
        "heartexlabs/label-studio", "ultralytics/yolov5", None, None, None, None, None, None, None]


def test_compose_images_of_a_real_compose_file() -> None:
    text = (LOGS / "heartexlabs/label-studio/latest/docker-compose.yml").read_text()
    assert compose_images(text) == ["heartexlabs/label-studio"]  # nginx and postgres are official


def test_commands_workflows_and_badges() -> None:
    script = ("docker build -t myorg/app:$(VERSION) .\ndocker build --tag=myorg/app-gpu -f Dockerfile.gpu .\n"
              "docker push myorg/app\ndocker tag local myorg/app-cpu\n"
              "docker run --rm -it -v $(pwd):/w -p 8888:8888 --gpus all myorg/notebook:1.0 jupyter\n"
              "docker pull python:3.9\n")
    assert command_images(script) == ["myorg/app-gpu", "myorg/app", "myorg/app-cpu", "myorg/notebook"]
    wf = ("jobs:\n  b:\n    steps:\n      - uses: docker/build-push-action@v2\n        with:\n"
          "          push: true\n          tags: |\n            acme/tool:latest\n            acme/tool:${{ github.sha }}\n"
          "      - uses: docker/build-push-action@v2\n        with:\n          tags: acme/tool-gpu:latest,ghcr.io/acme/x\n")
    assert workflow_images(wf) == ["acme/tool", "acme/tool-gpu"]
    assert workflow_images("tags: acme/tool") == []  # not a build-push-action workflow
    readme = ("[![Docker Pulls](https://img.shields.io/docker/pulls/ageitgey/face_recognition)]"
              "(https://hub.docker.com/r/animcogn/face_recognition)\n")
    assert badge_images(readme) == ["ageitgey/face_recognition", "animcogn/face_recognition"]
    assert [evidence_kind(p) for p in ("README.md", "docs/README.md", ".github/workflows/ci.yml", "Makefile",
                                       "scripts/push.sh", "deploy/docker-compose.prod.yml", "Dockerfile")] == [
        "readme", None, "workflow", "script", "script", "compose", None]
    assert images_in("README.md", "docker run -d acme/serve") == {"acme/serve": "readme"}


def test_recall_of_the_package_compose_files(shared_package: Path) -> None:
    """How many of the study's hand-made matches the package's own compose files name.

    The package keeps Dockerfiles and compose files only (no README, script or workflow), so
    this is a floor for file evidence; an extracted image the study did not match is no false
    match: collect records it as confirmed only with a link back or an equal Dockerfile.
    """
    d = pd.read_csv(shared_package / "RQ1" / "final-dataset.csv", encoding="utf-8-sig").dropna(subset=["Repos"])
    matched = recovered = named = 0
    for repo, images in zip(d["Repos"], d["docker_images"], strict=True):
        want = {hub_image(i) for i in str(images).split(";")} - {None} if isinstance(images, str) else set()
        got: set[str] = set()
        base = LOGS / repo / "latest"
        for f in (p for p in base.rglob("*") if p.is_file()) if base.exists() else ():
            got |= set(images_in(str(f.relative_to(base)), f.read_text(errors="replace")))
        matched += bool(want)
        recovered += bool(want & got)
        named += bool(got)
    assert (matched, recovered, named) == (362, 27, 54)

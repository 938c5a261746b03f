"""The calibrated, selective category model; reviewed labels; the leak fence."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pipeline.classify.calibrate import (
    coverage_accuracy,
    fit_temperature,
    review_threshold,
    softmax,
)
from pipeline.classify.evaluate import category_scores, cv_categories
from pipeline.classify.labels import read_reviewed
from pipeline.classify.run import load_inputs
from pipeline.classify.run import run as run_classify
from pipeline.config import Paths
from pipeline.tables import ErrorLog, read_table
from tests.conftest import make_project

ROOT = Path(__file__).resolve().parents[1]
#: image-level package files whose image names lead to categories: classify never reads them
IMAGE_FILES = ("Docker_images_total_1.csv", "Docker_images_layers_2.csv", "Docker_images_layers_22.csv")


def test_review_threshold_and_coverage() -> None:
    conf = [0.95, 0.9, 0.85, 0.8, 0.7, 0.6]
    ok = [True, True, True, False, True, False]
    # top 3: 1.0; top 4: 0.75; top 5: 0.8; all: 0.667
    assert review_threshold(conf, ok, 0.8, 1) == 0.7
    assert review_threshold(conf, ok, 0.9, 1) == 0.85
    assert review_threshold(conf, ok, 0.9, 4) == 1.0  # 4 accepted never reach 0.9
    assert review_threshold([0.9, 0.9, 0.8], [True, False, True], 0.6, 1) == 0.8  # ties go together
    assert coverage_accuracy(conf, ok, (0.5, 1.0)) == {0.5: 1.0, 1.0: 4 / 6}


def test_temperature_recovers_the_scale_of_the_logits() -> None:
    """Labels drawn from softmax(Z / 2): the fitted temperature is near 2."""
    rng = np.random.default_rng(0)
    Z = rng.normal(0, 3, size=(4000, 4))
    P = softmax(Z, 2.0)
    y = np.array([rng.choice(4, p=p) for p in P])
    assert fit_temperature(Z, y) == pytest.approx(2.0, abs=0.1)
    assert softmax(np.array([[0.0, np.log(3.0)]]))[0, 1] == pytest.approx(0.75)


def test_projects_are_calibrated_and_selective(classified: Paths) -> None:
    proj = read_table("projects", classified).set_index("repo")
    meta = json.loads((classified.processed / "projects.csv.meta.json").read_text())
    assert meta["review_threshold"] == 0.831
    pred = proj[proj["category_source"] == "predicted"]
    assert int(pred["needs_review"].sum()) == 65
    assert (pred["needs_review"] == (pred["confidence"] < meta["review_threshold"])).all()
    assert not proj.loc[proj["category_source"] == "manual", "needs_review"].any()
    top = proj["top2"].map(json.loads)
    assert all(t[0][0] == c and t[0][1] == v and t[0][1] >= t[1][1]
               for t, c, v in zip(top, proj["predicted_category"], proj["confidence"], strict=True))
    assert top["deepset-ai/FARM"] == [["Application System", 0.2626], ["DL Framework", 0.2486]]
    assert proj.loc["kubeflow/kubeflow", "confidence"] == 0.5136
    # the labelled rows' confidences are out-of-fold answers, but the temperature was fitted
    # to those same answers: this is in-sample; test_calibration_out_of_sample is not
    lab = proj[proj["category_source"] == "manual"]
    acc = float((lab["predicted_category"] == lab["category"]).mean())
    assert acc == pytest.approx(211 / 326)
    assert abs(float(lab["confidence"].mean()) - acc) < 0.03
    assert proj["reviewed_by"].isna().all()


@pytest.mark.slow
def test_calibration_out_of_sample(classified: Paths) -> None:
    """Calibration measured where nothing was fitted: the temperature is fitted inside each
    outer training fold, and confidence and accuracy are taken on its test fold."""
    inp = load_inputs(classified)
    y = inp.labels
    rules = pd.Series({r: inp.cat_rules[r].category for r in y.index})
    m = cv_categories(inp.X.loc[y.index], y, rules, repeats=1, methods=("model",))["model"]
    conf = [round(c, 4) for c in m.selective["mean_confidence"]]
    assert conf == [0.5954, 0.6147, 0.6362, 0.6287, 0.6301]
    assert [round(a, 4) for a in m.accuracy] == [0.6364, 0.6615, 0.6769, 0.6154, 0.6462]
    acc = float((np.array(m.y_true) == np.array(m.y_pred)).mean())
    assert acc == pytest.approx(211 / 326)
    # on unseen repositories the mean confidence is within 0.03 of the accuracy, per fold too
    # within 0.05 (slightly under-confident: the temperature is fitted on 4/5 of the data)
    assert abs(float(np.mean(m.selective["mean_confidence"])) - acc) < 0.03
    assert all(abs(c - a) < 0.05 for c, a in zip(m.selective["mean_confidence"], m.accuracy, strict=True))


def _labels_csv(path: Path, rows: list[tuple[str, str, str, str]]) -> None:
    """A labels file as ``mldock label`` writes it: (repo, category, rater, timestamp)."""
    df = pd.DataFrame([{"repo": r, "category": c, "note": "", "rater": who, "timestamp": ts,
                        "suggestion": ""} for r, c, who, ts in rows])
    path.parent.mkdir(parents=True, exist_ok=True)
    df.to_csv(path, index=False)


def _reviewed_project(classified: Paths, root: Path) -> Paths:
    p = make_project(root)
    shutil.copytree(classified.data, p.data, symlinks=True)
    ts = "2026-12-01T10:00:00Z"
    _labels_csv(p.data / "labels" / "alice.csv", [
        ("kubeflow/kubeflow", "Toolkit", "alice", ts),             # majority Toolkit (alice, bob)
        ("deepset-ai/FARM", "DL Framework", "alice", ts),          # tie: alice vs bob
        ("esmBot/esmBot", "Model", "alice", ts),                   # relabelled later ...
        ("esmBot/esmBot", "Application System", "alice", "2026-12-01T11:00:00Z"),  # ... to this
        ("nobody/nothing", "Model", "alice", ts),                  # not a studied repository
    ])
    _labels_csv(p.data / "labels" / "bob.csv", [
        ("kubeflow/kubeflow", "Toolkit", "bob", ts),
        ("deepset-ai/FARM", "Toolkit", "bob", ts),
        ("orchest/orchest", "Robotics", "bob", ts),                # not a category
    ])
    _labels_csv(p.data / "labels" / "carol.csv", [("kubeflow/kubeflow", "MLOps/AIOps", "carol", ts)])
    return p


def test_reviewed_labels_are_read_by_majority(classified: Paths, tmp_path: Path) -> None:
    p = _reviewed_project(classified, tmp_path / "reviewed")
    errors = ErrorLog("classify")
    known = set(read_table("repos", p)["repo"])
    rev = read_reviewed(p, known, errors)
    assert rev.category == {"esmBot/esmBot": "Application System", "kubeflow/kubeflow": "Toolkit"}
    assert rev.raters == {"esmBot/esmBot": "alice", "kubeflow/kubeflow": "alice; bob"}
    assert rev.ties == {"deepset-ai/FARM": ["DL Framework", "Toolkit"]}
    assert [(r["item"], r["error_type"]) for r in errors.rows] == [
        ("nobody/nothing", "UnknownRepository"), ("orchest/orchest", "UnknownCategory"),
        ("deepset-ai/FARM", "LabelTie")]
    inp = load_inputs(p)
    assert len(inp.labels) == 327  # the study's 326 and esmBot, reviewed
    assert inp.labels["kubeflow/kubeflow"] == "Toolkit"
    assert inp.label_source().value_counts().to_dict() == {"study": 325, "reviewed": 2}


@pytest.mark.slow
def test_reviewed_labels_flow_into_projects_and_scores(classified: Paths, tmp_path: Path) -> None:
    p = _reviewed_project(classified, tmp_path / "reviewed")
    counts = run_classify(p)
    assert (counts["manual"], counts["reviewed"], counts["predicted"]) == (327, 2, 79)
    proj = read_table("projects", p).set_index("repo")
    k = proj.loc["kubeflow/kubeflow"]
    assert (k["category"], k["category_source"], k["reviewed_by"]) == ("Toolkit", "reviewed", "alice; bob")
    assert proj.loc["esmBot/esmBot", "category_source"] == "reviewed"
    assert not proj.loc["esmBot/esmBot", "needs_review"]
    assert proj.loc["deepset-ai/FARM", "category_source"] == "predicted"  # the tie leaves it
    errors = pd.read_csv(p.interim / "classify_errors.csv")
    assert errors["error_type"].tolist() == ["UnknownRepository", "UnknownCategory", "LabelTie"]
    inp = load_inputs(p)
    y = inp.labels
    rules = pd.Series({r: inp.cat_rules[r].category for r in y.index})
    cat = cv_categories(inp.X.loc[y.index], y, rules, repeats=1, methods=("model",))
    rows = pd.DataFrame(category_scores(cat, inp.label_source())).query("metric == 'labels_pooled'")
    assert dict(zip(rows["label"], rows["value"], strict=True)) == {"study": 325, "reviewed": 2}


@pytest.mark.slow
def test_classify_never_opens_image_level_files(classified: Paths, tmp_path: Path,
                                                shared_package: Path) -> None:
    """Leak fence: ``mldock classify``, run in a fresh process that records every file it
    opens (``sys.addaudithook``), opens nothing in the replication package, and none of
    the image-level files whose image names lead to categories."""
    p = make_project(tmp_path / "fence")
    shutil.copytree(classified.data, p.data, symlinks=True)
    log = tmp_path / "opened.txt"
    code = (
        "import sys\n"
        f"out = open({str(log)!r}, 'w')\n"
        "def hook(event, args):\n"
        "    if event == 'open' and isinstance(args[0], str):\n"
        "        out.write(args[0] + '\\n')\n"
        "sys.addaudithook(hook)\n"
        "from pipeline.cli import main\n"
        f"rc = main(['-q', '--root', {str(p.root)!r}, 'classify'])\n"
        "out.close()\n"
        "sys.exit(rc)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    opened = log.read_text().splitlines()
    assert any(o.endswith("repos.csv") for o in opened)  # the hook saw the stage's reads
    package = str(shared_package.resolve())
    assert [o for o in opened if Path(o).name in IMAGE_FILES or o.startswith(package)] == []
    # nor the package's image-level tables ingest wrote (they reach categories by image name)
    data = str(p.data)
    image_tables = [o for o in opened if o.startswith(data) and o.endswith(".csv")
                    and Path(o).name.startswith(("package_", "image"))]
    assert image_tables == []

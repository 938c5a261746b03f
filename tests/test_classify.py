"""The classify stage: evidence, keyword rules, coded purposes, models, outputs, CLI."""

from __future__ import annotations

import shutil
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pipeline import classify as C
from pipeline.cli import main
from pipeline.config import CATEGORIES, Paths
from pipeline.tables import ErrorLog, read_table, write_table
from tests.conftest import make_project

ROOT = Path(__file__).resolve().parents[1]
LOGS = Path("raw-data/Dockerfiles/logs")


@pytest.fixture(scope="module")
def tax() -> C.Taxonomy:
    return C.load_taxonomy(ROOT / "taxonomy")


# ---- evidence from real files ---------------------------------------------------------


def test_dockerfile_evidence_on_a_real_dockerfile(shared_package: Path) -> None:
    text = (shared_package / LOGS / "1adrianb/face-alignment/latest/Dockerfile").read_text()
    instr, commands, images = C.dockerfile_evidence(text)
    assert instr == Counter({"RUN": 8, "WORKDIR": 2, "FROM": 1, "ENV": 1})
    assert images == ["nvidia/cuda:10.1-cudnn7-devel-ubuntu18.04"]
    assert commands[-1] == "python setup.py install"
    assert commands[1].startswith("curl -o ~/miniconda.sh -O") and "chmod +x ~/miniconda.sh" in commands[1]


def test_compose_evidence_on_a_real_compose_file(shared_package: Path) -> None:
    text = (shared_package / LOGS / "heartexlabs/label-studio/latest/docker-compose.mysql.yml").read_text()
    assert C.compose_evidence(text) == ["services", "app", "db", "mysql:8", "volumes"]


def test_compose_evidence_rejects_non_mapping() -> None:
    with pytest.raises(ValueError, match="not a YAML mapping"):
        C.compose_evidence("- a\n- b\n")


def test_bad_file_is_recorded_and_the_rest_goes_on(tmp_path: Path, shared_package: Path) -> None:
    data = tmp_path / "data"
    (data / "raw").mkdir(parents=True)
    (data / "raw" / "bad.yml").write_text("services: [unclosed\n")
    shutil.copy(shared_package / LOGS / "1adrianb/face-alignment/latest/Dockerfile", data / "raw" / "Dockerfile")
    repos = pd.DataFrame([{"repo": "o/r", "topics": "[]", "search_topic": "keras", "description": "d",
                           "homepage": None, "language": "Python"}])
    files = pd.DataFrame([
        {"repo": "o/r", "path": "docker-compose.yml", "raw_path": "raw/bad.yml", "kind": "compose"},
        {"repo": "o/r", "path": "missing/Dockerfile", "raw_path": "raw/nope", "kind": "dockerfile"},
        {"repo": "o/r", "path": "Dockerfile", "raw_path": "raw/Dockerfile", "kind": "dockerfile"},
    ])
    errors = ErrorLog("classify")
    ev = C.build_evidence(repos, files, data, errors)["o/r"]
    assert [r["item"] for r in errors.rows] == [str(data / "raw/bad.yml"), str(data / "raw/nope")]
    assert [r["error_type"] for r in errors.rows] == ["ParserError", "FileNotFoundError"]
    assert errors.rows[0]["message"] == (
        f"cannot read compose file of o/r ({data / 'raw/bad.yml'}): while parsing a flow sequence")
    assert ev.paths == ["docker-compose.yml", "missing/Dockerfile", "Dockerfile"]
    assert ev.base_images == ["nvidia/cuda:10.1-cudnn7-devel-ubuntu18.04"]
    assert ev.topics == ["keras"]


def test_notes_features_exact() -> None:
    notes = {"what": "API, data storage (images, audio)", "when": "Development/ distribution, Testing,",
             "maincomponent": "gpu, cpu", "note": "Working dockerfile"}
    assert C.notes_features(notes, C.PURPOSE_NOTE_COLUMNS) == (
        "development distribution testing gpu cpu",
        "when_development_distribution when_testing maincomponent_gpu maincomponent_cpu")
    words, toks = C.notes_features(notes, C.NOTE_COLUMNS)
    assert words == "api data storage images audio development distribution testing gpu cpu working dockerfile"
    assert toks.split() == ["what_api", "what_data_storage_images", "what_audio", "when_development_distribution",
                            "when_testing", "maincomponent_gpu", "maincomponent_cpu", "note_working_dockerfile"]
    assert C.notes_features({}, C.NOTE_COLUMNS) == ("", "")


def test_build_evidence_reads_the_study_notes(tmp_path: Path) -> None:
    repos = pd.DataFrame([{"repo": r, "topics": "[]", "search_topic": "", "description": "",
                           "homepage": "", "language": ""} for r in ("o/a", "o/b")])
    files = pd.DataFrame(columns=["repo", "path", "raw_path", "kind"])
    pt = pd.DataFrame([{"repo": "o/a", "what": "jupyter", "when": "", "mlcomponent": "Data",
                        "why": "", "maincomponent": "", "purpose_from_documentation": "", "note": ""},
                       {"repo": "x/unknown", "what": "api", "when": "", "mlcomponent": "", "why": "",
                        "maincomponent": "", "purpose_from_documentation": "", "note": ""}])
    ev = C.build_evidence(repos, files, tmp_path, ErrorLog("t"), purpose_text=pt)
    assert ev["o/a"].notes == {"what": "jupyter", "mlcomponent": "Data"}
    assert ev["o/b"].notes == {}


def test_purpose_features_never_read_the_coded_columns(tax: C.Taxonomy) -> None:
    """The purpose model's note features ignore the columns its labels are coded from, and
    a taxonomy that would code one of its note columns is refused."""
    assert not set(C.PURPOSE_NOTE_COLUMNS) & set(tax.coded_columns)
    a = C.Evidence(repo="o/a", notes={"what": "jupyter, testing", "mlcomponent": "Model", "when": "Testing"})
    b = C.Evidence(repo="o/a", notes={"when": "Testing"})
    Xa, Xb = C.feature_frame([a], tax), C.feature_frame([b], tax)
    for col in ("pnotes_text", "pnotes_tok", "docker_text", "meta_text"):
        assert Xa.at["o/a", col] == Xb.at["o/a", col]
    assert Xa.at["o/a", "pnotes_tok"] == "when_testing"
    assert Xa.at["o/a", "notes_tok"] == "what_jupyter what_testing when_testing mlcomponent_model"
    leaky = C.Taxonomy(tax.categories, tax.purposes, tax.coding, (*tax.coded_columns, "when"))
    with pytest.raises(C.TaxonomyError, match="must not read them"):
        C.feature_frame([a], leaky)


def test_tree_probabilities_for_single_class_labels() -> None:
    """A label never (or always) seen in a training fold gets probability 0 (or 1)."""
    X = pd.DataFrame({"rule_purpose_a": [0.0, 1.0, 0.0, 1.0], "num_x": [1.0, 2.0, 3.0, 4.0],
                      "docker_text": ["a", "b", "c", "d"]})
    Y = np.array([[0, 1, 0], [0, 1, 1], [0, 1, 0], [0, 1, 1]])
    model = C._trees_pipeline(X).fit(X, Y)
    P = C._proba(model, X)
    assert P.shape == (4, 3)
    assert (P[:, 0] == 0).all() and (P[:, 1] == 1).all()
    assert ((P[:, 2] > 0) & (P[:, 2] < 1)).all()


# ---- keyword rules --------------------------------------------------------------------


def test_category_rules_on_fixtures(tax: C.Taxonomy) -> None:
    serving = C.Evidence(repo="acme/model-serving",
                         description="A flexible, high-performance serving system for ML models")
    d = C.category_by_rules(serving, tax.categories)
    assert d.category == "MLOps/AIOps"
    assert d.fired == ('name~"serving" -> MLOps/AIOps; description~"serving" -> MLOps/AIOps; '
                       'name~"model" -> Model; description~"models" -> Model')
    course = C.Evidence(repo="uni/ml-course", description="Course material and tutorials")
    d = C.category_by_rules(course, tax.categories)
    assert d.category == "Documentation"
    assert d.votes == {"Application System": 0, "MLOps/AIOps": 0, "Toolkit": 0, "DL Framework": 0,
                       "Model": 0, "Documentation": 3}
    assert C.category_by_rules(C.Evidence(repo="x/y", description="zzz"), tax.categories).category is None


def test_generic_words_cast_no_category_vote(tax: C.Taxonomy) -> None:
    """"learning", a github.io homepage and a Dockerfile.gpu say nothing about the category
    (they fired for 163, 42 and 51 of the 406 repositories before they were removed)."""
    ev = C.Evidence(repo="o/deep-learning-lab", description="A machine learning library for learning to rank",
                    homepage="https://o.github.io/lab", paths=["docker/Dockerfile.gpu"])
    dec = C.category_by_rules(ev, tax.categories)
    assert dec.votes == {"Application System": 0, "MLOps/AIOps": 0, "Toolkit": 2, "DL Framework": 1,
                         "Model": 0, "Documentation": 0}
    assert dec.category == "Toolkit"
    assert dec.fired == ('name~"learn" -> Toolkit; description~"library" -> Toolkit; '
                         'name~"deep" -> DL Framework')


def test_purpose_rules_on_fixtures(tax: C.Taxonomy) -> None:
    ev = C.Evidence(
        repo="catboost/catboost",
        paths=["e2e_tests/e2eTest.Dockerfile", "Docker/Dockerfile-inference"],
        instructions=Counter({"FROM": 2, "EXPOSE": 1}),
        commands=["jupyter notebook --ip 0.0.0.0", "pytest -x tests"],
        base_images=["nginx:1.21"],
    )
    hits = C.purposes_by_rules(ev, tax.purposes)
    assert hits == {
        "hosting": ["instruction~\"EXPOSE\"", "base_image~\"nginx\" (nginx:1.21)"],
        "interactive_development": ["command~\"jupyter\"", "command~\"notebook\""],
        "software_testing": [
            'path~"test" (e2e_tests/e2etest.dockerfile)', 'path~"tests" (e2e_tests/e2etest.dockerfile)',
            'path~"e2e" (e2e_tests/e2etest.dockerfile)', 'path~"e2e_tests" (e2e_tests/e2etest.dockerfile)',
            'command~"pytest"',
        ],
        "prediction_inference": ['path~"inference" (docker/dockerfile-inference)',
                                 'path~"infer" (docker/dockerfile-inference)'],
    }


def test_word_start_matching() -> None:
    ev = C.Evidence(repo="a/b", description="Recommendation engine; attest")
    assert C.keyword_hits("description", ["recommend", "test", "engine"], ev) == [
        'description~"recommend"', 'description~"engine"']


def test_code_purposes(tax: C.Taxonomy) -> None:
    row = {"what": "Build, Jupyter,  model training, production", "mlcomponent": "data", "when": "testing"}
    assert C.code_purposes(row, tax) == {
        "build_packaging": ['what:"build"'],
        "interactive_development": ['what:"jupyter"'],
        "model_training": ['what:"model training"'],
        "model_management": ['what:"model training"'],
        "data_management": ['mlcomponent:"data"'],
    }
    pt = pd.DataFrame([{"repo": "a/b", "what": "build, frobnicate", "mlcomponent": pd.NA,
                        "purpose_from_documentation": ""}])
    assert C.uncoded_tokens(pt, tax) == [("what", "frobnicate")]


# ---- the stage on the replication package --------------------------------------------


@pytest.fixture(scope="module")
def classified(ingested: Paths, tmp_path_factory: pytest.TempPathFactory) -> Paths:
    """A project root with the ingested interim tables, after `mldock classify`."""
    p = make_project(tmp_path_factory.mktemp("classified"))
    p.data.mkdir()
    (p.data / "raw").symlink_to(ingested.data / "raw", target_is_directory=True)
    shutil.copytree(ingested.interim, p.interim)
    assert main(["-q", "--root", str(p.root), "classify"]) == 0
    return p


def test_projects_table(classified: Paths) -> None:
    repos = read_table("repos", classified)
    proj = read_table("projects", classified).set_index("repo")
    assert len(proj) == 406
    assert (proj["category_source"] == "manual").sum() == 326
    assert (proj["category_source"] == "predicted").sum() == 80
    lab = repos[repos["label_source"] == "manual"].set_index("repo")["category"]
    assert (proj.loc[lab.index, "category"] == lab).all()
    pred = proj[proj["category_source"] == "predicted"]
    assert (pred["category"] == pred["predicted_category"]).all()
    assert set(proj["category"]) <= set(CATEGORIES)
    assert proj["confidence"].between(1 / 6, 1).all()
    assert set(proj["prediction_kind"]) == {"out-of-fold", "trained on all labelled"}
    row = proj.loc["kubeflow/kubeflow"]
    assert row["category"] == "MLOps/AIOps" and row["category_source"] == "manual"
    # out-of-fold answers for labelled repos are honest: far from perfect
    acc = float((proj.loc[lab.index, "predicted_category"] == lab).mean())
    assert 0.5 < acc < 0.8


def test_purposes_table(classified: Paths, tax: C.Taxonomy) -> None:
    pur = read_table("purposes", classified)
    pt = read_table("purpose_text", classified).set_index("repo")
    coded = pur[pur["source"] == "coded"]
    assert coded["repo"].nunique() == 247
    assert set(pur["source"]) == {"coded", "predicted", "rules"}
    assert set(pur["purpose"]) <= {p.id for p in tax.purposes}
    assert (pur.loc[pur["level"] == "sub", "parent"].notna()).all()
    assert (pur["evidence"].str.len() > 0).all()
    # a coded repository carries exactly the ids its tokens code to
    repo = "catboost/catboost"
    expected = set(C.code_purposes(pt.loc[repo].to_dict(), tax))
    assert set(coded.loc[coded["repo"] == repo, "purpose"]) == expected
    assert "software_testing" in expected
    # predicted rows only for repos without coded labels
    assert not set(pur.loc[pur["source"] == "predicted", "repo"]) & set(coded["repo"])
    errors = pd.read_csv(classified.interim / "classify_errors.csv")
    assert len(errors) == 0


def test_evaluate_cli_writes_reports(classified: Paths) -> None:
    assert main(["-q", "--root", str(classified.root), "classify", "evaluate", "--repeats", "1"]) == 0
    table = pd.read_csv(classified.reports / "classification.csv")
    md = (classified.reports / "classification.md").read_text()
    acc = table.query("task == 'category' and method == 'model' and metric == 'accuracy_mean'")["value"].item()
    maj = table.query("task == 'category' and method == 'majority' and metric == 'accuracy_mean'")["value"].item()
    assert maj == pytest.approx(136 / 326, abs=0.01)  # Application System share of the labelled
    assert acc > maj + 0.1
    cm = table.query("task == 'category' and method == 'model' and metric == 'confusion_pooled'")
    assert cm["value"].sum() == 326  # one repeat: every labelled repository once
    micro = table.query("task == 'purpose' and method == 'model' and metric == 'micro_f1_mean'")["value"].item()
    rules = table.query("task == 'purpose' and method == 'rules' and metric == 'micro_f1_mean'")["value"].item()
    assert micro > rules
    assert f"| {acc:.3f} ±" in md
    assert "### Confusion matrix" in md and "Documentation" in md


# ---- leakage -------------------------------------------------------------------------


def test_features_do_not_depend_on_labels(classified: Paths) -> None:
    """Blanking every label leaves the feature frame unchanged."""
    inp = C.load_inputs(classified)
    repos = inp.repos.copy()
    repos[["category", "raw_label", "label_source"]] = pd.NA
    ev = C.build_evidence(repos, read_table("files", classified), classified.data, ErrorLog("t"),
                          C.read_parse_tables(classified), purpose_text=read_table("purpose_text", classified))
    X = C.feature_frame([ev[r] for r in repos["repo"]], inp.tax)
    assert (X["notes_text"] != "").sum() == 246
    pd.testing.assert_frame_equal(X, inp.X)


def test_shuffled_labels_give_chance_accuracy(classified: Paths) -> None:
    inp = C.load_inputs(classified)
    y = inp.labels
    X = inp.X.loc[y.index]
    rules = pd.Series({r: inp.cat_rules[r].category for r in y.index})
    rng = np.random.default_rng(7)
    shuffled = pd.Series(rng.permutation(y.to_numpy()), index=y.index)
    res = C.cv_categories(X, shuffled, rules, repeats=1, methods=("model", "majority"))
    chance = float(((y.value_counts() / len(y)) ** 2).sum())  # 0.275: random agreement
    assert chance == pytest.approx(0.275, abs=0.001)
    assert res["model"].mean("accuracy") < 0.36  # chance level, below the majority share
    real = C.cv_categories(X, y, rules, repeats=1, methods=("model",))
    assert real["model"].mean("accuracy") > 0.55


def test_nested_selection_with_one_candidate_is_the_model(classified: Paths) -> None:
    """Nested CV that can only pick the shipped feature set reproduces the model's answers;
    with several candidates it records one pick per outer fold."""
    inp = C.load_inputs(classified)
    y = inp.labels
    X = inp.X.loc[y.index]
    rules = pd.Series({r: inp.cat_rules[r].category for r in y.index})
    one = C.cv_categories(X, y, rules, repeats=1, methods=("model",), nested={"model": C.CATEGORY_BLOCKS})
    assert one["nested"].y_pred == one["model"].y_pred
    assert one["nested"].chosen == ["model"] * 5
    assert one["model"].chosen == []
    two = C.cv_categories(X, y, rules, repeats=1, methods=(), nested={
        "model": C.CATEGORY_BLOCKS, "v1": ("meta_word", "meta_char", "rules_category")})
    assert len(two["nested"].chosen) == 5 and set(two["nested"].chosen) <= {"model", "v1"}
    assert len(two["nested"].y_true) == len(y)


def test_parse_base_images_add_resolved_refs_and_types() -> None:
    ev = {"o/r": C.Evidence(repo="o/r", base_images=["${BASE}"])}
    table = pd.DataFrame([
        {"mode": "corrected", "repo": "o/r", "raw": "${BASE} AS build", "image": "python:3.9",
         "base_type_label": "Language Runtime"},
        {"mode": "paper", "repo": "o/r", "raw": "${BASE}", "image": "${BASE}", "base_type_label": "Variable"},
        {"mode": "corrected", "repo": "o/r", "raw": "ubuntu:20.04", "image": "ubuntu:20.04",
         "base_type_label": ""},
        {"mode": "corrected", "repo": "x/unknown", "raw": "a", "image": "b", "base_type_label": "OS"},
    ])
    assert C.add_parse_evidence(ev, table) == 2
    assert ev["o/r"].base_images == ["${BASE}", "python:3.9", "type:Language Runtime"]
    assert C.add_parse_evidence(ev, table.drop(columns=["raw"])) == 0


def test_parse_base_images_read_back_from_the_parse_table(tmp_path: Path) -> None:
    """The declared base_images table, written and read back (empty cells come back as NA)."""
    p = make_project(tmp_path / "proj")
    assert C.read_parse_tables(p) == {}
    common = {"path": "Dockerfile", "line": 1, "registry": "", "namespace": "", "name": "", "tag": "",
              "digest": "", "alias": "", "platform": "", "is_stage_reference": False,
              "is_variable": False, "official": False, "base_type": "x", "type_rule": "name"}
    write_table(pd.DataFrame([
        {**common, "mode": "corrected", "repo": "o/r", "stage": 0, "raw": "${BASE} AS build",
         "image": "python:3.9", "base_type_label": "Language Runtime"},
        {**common, "mode": "corrected", "repo": "o/r", "stage": 1, "raw": "ubuntu:20.04", "image": "",
         "base_type_label": "OS"},
        {**common, "mode": "paper", "repo": "o/r", "stage": 0, "raw": "${BASE}", "image": "${BASE}",
         "base_type_label": "Variable"},
    ]), "base_images", p)
    tables = C.read_parse_tables(p)
    assert list(tables) == ["base_images"]
    ev = {"o/r": C.Evidence(repo="o/r", base_images=["${BASE}", "ubuntu:20.04"])}
    assert C.add_parse_evidence(ev, tables["base_images"]) == 3
    assert ev["o/r"].base_images == ["${BASE}", "ubuntu:20.04", "python:3.9", "type:Language Runtime", "type:OS"]


def test_without_labels_the_rules_decide(ingested: Paths, tmp_path: Path) -> None:
    """A project with no study labels (e.g. freshly collected) still gets categories and
    purposes, from the keyword rules, and evaluate says what is missing."""
    p = make_project(tmp_path / "nolabels")
    p.data.mkdir()
    (p.data / "raw").symlink_to(ingested.data / "raw", target_is_directory=True)
    shutil.copytree(ingested.interim, p.interim)
    repos = read_table("repos", p)
    repos[["category", "raw_label", "label_source"]] = pd.NA
    write_table(repos, "repos", p)
    (p.interim / "purpose_text.csv").unlink()
    counts = C.classify(p)
    assert counts["manual"] == 0 and counts["predicted"] == 406 and counts["coded"] == 0
    proj = read_table("projects", p).set_index("repo")
    assert set(proj["prediction_kind"]) == {"keyword rules (too few labels to train)"}
    assert proj["confidence"].isna().all()
    assert (proj["category"].fillna("") == proj["rules_category"].fillna("")).all()
    assert proj.loc["kubeflow/kubeflow", "category"] == "MLOps/AIOps"
    pur = read_table("purposes", p)
    assert set(pur["source"]) == {"rules"}
    assert main(["-q", "--root", str(p.root), "classify", "evaluate"]) == 1

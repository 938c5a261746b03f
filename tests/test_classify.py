"""The classify stage: evidence, keyword rules, coded purposes, models, outputs, CLI."""

from __future__ import annotations

import shutil
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pipeline.classify.coding import code_purposes, uncoded_tokens
from pipeline.classify.evaluate import cv_categories
from pipeline.classify.evidence import (
    COMPOSE_KEYS,
    NOTE_COLUMNS,
    PARSE_TABLES,
    Evidence,
    build_evidence,
    read_parse_tables,
)
from pipeline.classify.features import PURPOSE_NOTE_COLUMNS, feature_frame, notes_features
from pipeline.classify.models import (
    CATEGORY_BLOCKS,
    CATEGORY_VARIANTS,
    PURPOSE_VARIANTS,
    Blocks,
    PurposeModel,
    _proba,
    _trees_pipeline,
    category_classifier,
    fitting,
    make_category_model,
    purpose_predictions,
)
from pipeline.classify.rules import category_by_rules, keyword_hits, purposes_by_rules
from pipeline.classify.run import label_matrix, load_inputs
from pipeline.classify.run import run as run_classify
from pipeline.classify.taxonomy import Taxonomy, load_purposes, load_taxonomy
from pipeline.cli import main
from pipeline.config import CATEGORIES, Paths
from pipeline.errors import StageInputMissing, TaxonomyError
from pipeline.tables import ErrorLog, read_table, write_table
from tests.conftest import make_project

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def tax() -> Taxonomy:
    return load_taxonomy(ROOT / "taxonomy")


# ---- evidence from parse's tables ------------------------------------------------------

LIBERTEM = "LiberTEM/LiberTEM"


def test_evidence_from_parse_tables_of_a_real_repository(classified: Paths) -> None:
    """LiberTEM's packaging/docker/Dockerfile (3 stages) and docker-compose.yml (7 services),
    as parse's corrected-mode rows give them; values read off the two files."""
    repos = read_table("repos", classified)
    ev = build_evidence(repos[repos["repo"] == LIBERTEM], read_table("files", classified),
                          read_parse_tables(classified), ErrorLog("t"))[LIBERTEM]
    assert ev.paths == ["packaging/docker/Dockerfile", "packaging/docker/docker-compose.yml"]
    assert ev.instructions == Counter({"RUN": 7, "COPY": 4, "FROM": 3, "EXPOSE": 3, "ARG": 1, "ENV": 1, "CMD": 1})
    assert len(ev.commands) == 8  # 7 RUN + 1 CMD, in file order; continuations joined
    assert ev.commands[0] == "apt-get update && apt-get install -y     python3-venv     python3-pip     git     libfftw3-dev"
    assert ev.commands[5] == ('if [ -z "$dev" ] ; then echo Skipping test requirements ; else '
                              "/venv/bin/pip install --no-cache -r /test_requirements.txt && "
                              "/venv/bin/pip install ipyparallel ; fi")
    assert ev.commands[7] == '["/venv/bin/libertem-server", "--host", "0.0.0.0", "--insecure", "--port", "9000"]'
    # FROM python:3.9-slim AS builder0 / FROM builder0 as builder / FROM builder0: stage
    # references keep the alias and inherit the type
    assert ev.base_images == ["python:3.9-slim", "type:Language Runtime", "builder0", "type:Language Runtime",
                              "builder0", "type:Language Runtime"]
    # the top-level `volumes: ipyconfig` section is not in compose_services, so not evidence
    assert ev.compose == ["services", "scheduler", "libertem/libertem:triage", "ports",
                          "worker-1", "libertem/libertem:triage", "volumes",
                          "worker-2", "libertem/libertem:triage", "volumes",
                          "ipy-controller", "libertem/libertem-dev", "volumes",
                          "ipy-worker-1", "libertem/libertem-dev", "volumes",
                          "ipy-worker-2", "libertem/libertem-dev", "volumes",
                          "tests", "libertem/libertem-dev", "volumes"]


def _one_repo() -> pd.DataFrame:
    return pd.DataFrame([{"repo": "o/r", "topics": "[]", "search_topic": "keras", "description": "d",
                          "homepage": None, "language": "Python"}])


def test_evidence_uses_corrected_rows_only() -> None:
    """Paper-mode rows (the study's tokens) never reach the evidence; a v1 compose file
    (parse: version '1') has no ``services`` section; unknown repositories are skipped."""
    files = pd.DataFrame([{"repo": "o/r", "path": p} for p in ("Dockerfile", "docker-compose.yml")])
    ins = pd.DataFrame([
        {"mode": m, "repo": r, "instruction": i, "value": v} for m, r, i, v in [
            ("corrected", "o/r", "FROM", "${BASE}"), ("corrected", "o/r", "RUN", "pip install jupyter"),
            ("corrected", "o/r", "EXPOSE", "8888"), ("corrected", "o/r", "HEALTHCHECK", "CMD curl -f x"),
            ("paper", "o/r", "RUN", "pip"), ("paper", "o/r", "junk", "x"), ("corrected", "x/y", "RUN", "z")]])
    base = pd.DataFrame([
        {"mode": "corrected", "repo": "o/r", "image": "python:3.9", "base_type_label": "Language Runtime"},
        {"mode": "corrected", "repo": "o/r", "image": "", "base_type_label": ""},
        {"mode": "paper", "repo": "o/r", "image": "${BASE}", "base_type_label": "Variable"}])
    compose = pd.DataFrame([
        {"mode": "corrected", "repo": "o/r", "path": "docker-compose.yml", "compose_version": "1",
         "service": "web", "image": "nginx", "ports": '["80:80"]', "volumes": "[]", "networks": '["front"]'},
        {"mode": "corrected", "repo": "o/r", "path": "docker-compose.yml", "compose_version": "1",
         "service": "db", "image": "", "ports": "[]", "volumes": '["d:/d"]', "networks": "[]"},
        {"mode": "paper", "repo": "o/r", "path": "docker-compose.yml", "compose_version": "1",
         "service": "paper-only", "image": "", "ports": "[]", "volumes": "[]", "networks": "[]"}])
    tables = {"instructions": ins, "base_images": base, "compose_services": compose}
    ev = build_evidence(_one_repo(), files, tables, ErrorLog("t"))["o/r"]
    assert ev.instructions == Counter({"FROM": 1, "RUN": 1, "EXPOSE": 1, "HEALTHCHECK": 1})
    assert ev.commands == ["pip install jupyter", "CMD curl -f x"]
    assert ev.base_images == ["python:3.9", "type:Language Runtime"]
    assert ev.compose == ["web", "nginx", "ports", "networks", "db", "volumes"]
    assert ev.topics == ["keras"] and ev.paths == ["Dockerfile", "docker-compose.yml"]
    with pytest.raises(StageInputMissing, match="run `mldock parse` first"):
        build_evidence(_one_repo(), files, {"instructions": ins}, ErrorLog("t"))


def test_classify_reads_no_raw_file(classified: Paths) -> None:
    """The classified fixture ran parse, then removed data/raw/, then classified."""
    assert not (classified.data / "raw").exists()
    assert len(read_table("projects", classified)) == 406
    # a stage that tried to read a raw file would have logged an error row for it
    errors = classified.table("interim", "classify_errors")
    assert errors.read_text(encoding="utf-8").strip().splitlines()[1:] == []


def test_missing_parse_tables_say_run_parse(ingested: Paths, tmp_path: Path) -> None:
    p = make_project(tmp_path / "noparse")
    p.data.mkdir()
    shutil.copytree(ingested.interim, p.interim)
    with pytest.raises(StageInputMissing, match=r"processed/instructions.csv; run `mldock parse` first"):
        run_classify(p)
    assert main(["-q", "--root", str(p.root), "classify"]) == 1


def test_instruction_list_comes_from_the_taxonomy(tax: Taxonomy, tmp_path: Path) -> None:
    assert tax.instructions == ("ADD", "ARG", "CMD", "COPY", "ENTRYPOINT", "ENV", "EXPOSE", "FROM", "HEALTHCHECK",
                                "LABEL", "MAINTAINER", "ONBUILD", "RUN", "SHELL", "STOPSIGNAL", "USER", "VOLUME",
                                "WORKDIR")
    X = feature_frame([Evidence(repo="o/a", instructions=Counter({"RUN": 2}))], tax)
    assert [c for c in X.columns if c.startswith("num_instr_")] == [f"num_instr_{k.lower()}" for k in tax.instructions]
    assert X.at["o/a", "num_instr_run"] == pytest.approx(np.log1p(2))
    text = (ROOT / "taxonomy" / "purposes.yaml").read_text(encoding="utf-8")
    bad = tmp_path / "purposes.yaml"
    bad.write_text(text.replace("instructions: [ADD,", "instructions: [add, ADD,"), encoding="utf-8")
    with pytest.raises(TaxonomyError, match=r"not upper-case words \['add'\] or duplicated \[\]"):
        load_purposes(bad)
    bad.write_text(text.replace("instructions: [ADD,", "instrs: [ADD,"), encoding="utf-8")
    with pytest.raises(TaxonomyError, match="'instructions' must list Docker's instructions"):
        load_purposes(bad)


def test_notes_features_exact() -> None:
    notes = {"what": "API, data storage (images, audio)", "when": "Development/ distribution, Testing,",
             "maincomponent": "gpu, cpu", "note": "Working dockerfile"}
    assert notes_features(notes, PURPOSE_NOTE_COLUMNS) == (
        "development distribution testing gpu cpu",
        "when_development_distribution when_testing maincomponent_gpu maincomponent_cpu")
    words, toks = notes_features(notes, NOTE_COLUMNS)
    assert words == "api data storage images audio development distribution testing gpu cpu working dockerfile"
    assert toks.split() == ["what_api", "what_data_storage_images", "what_audio", "when_development_distribution",
                            "when_testing", "maincomponent_gpu", "maincomponent_cpu", "note_working_dockerfile"]
    assert notes_features({}, NOTE_COLUMNS) == ("", "")


def test_build_evidence_reads_the_study_notes() -> None:
    repos = pd.DataFrame([{"repo": r, "topics": "[]", "search_topic": "", "description": "",
                           "homepage": "", "language": ""} for r in ("o/a", "o/b")])
    files = pd.DataFrame(columns=["repo", "path"])
    empty = {t: pd.DataFrame(columns=["mode", "repo", "path", "instruction", "value", "image", "base_type_label",
                                      "compose_version", "service", *COMPOSE_KEYS]) for t in PARSE_TABLES}
    pt = pd.DataFrame([{"repo": "o/a", "what": "jupyter", "when": "", "mlcomponent": "Data",
                        "why": "", "maincomponent": "", "purpose_from_documentation": "", "note": ""},
                       {"repo": "x/unknown", "what": "api", "when": "", "mlcomponent": "", "why": "",
                        "maincomponent": "", "purpose_from_documentation": "", "note": ""}])
    ev = build_evidence(repos, files, empty, ErrorLog("t"), purpose_text=pt)
    assert ev["o/a"].notes == {"what": "jupyter", "mlcomponent": "Data"}
    assert ev["o/b"].notes == {}


def test_purpose_features_never_read_the_coded_columns(tax: Taxonomy) -> None:
    """The purpose model's note features ignore the columns its labels are coded from, and
    a taxonomy that would code one of its note columns is refused."""
    assert not set(PURPOSE_NOTE_COLUMNS) & set(tax.coded_columns)
    a = Evidence(repo="o/a", notes={"what": "jupyter, testing", "mlcomponent": "Model", "when": "Testing"})
    b = Evidence(repo="o/a", notes={"when": "Testing"})
    Xa, Xb = feature_frame([a], tax), feature_frame([b], tax)
    for col in ("pnotes_text", "pnotes_tok", "docker_text", "meta_text"):
        assert Xa.at["o/a", col] == Xb.at["o/a", col]
    assert Xa.at["o/a", "pnotes_tok"] == "when_testing"
    assert Xa.at["o/a", "notes_tok"] == "what_jupyter what_testing when_testing mlcomponent_model"
    leaky = Taxonomy(tax.categories, tax.purposes, tax.coding, (*tax.coded_columns, "when"), tax.instructions)
    with pytest.raises(TaxonomyError, match="must not read them"):
        feature_frame([a], leaky)


def test_tree_probabilities_for_single_class_labels() -> None:
    """A label never (or always) seen in a training fold gets probability 0 (or 1)."""
    X = pd.DataFrame({"rule_purpose_a": [0.0, 1.0, 0.0, 1.0], "num_x": [1.0, 2.0, 3.0, 4.0],
                      "docker_text": ["a", "b", "c", "d"]})
    Y = np.array([[0, 1, 0], [0, 1, 1], [0, 1, 0], [0, 1, 1]])
    model = _trees_pipeline(X).fit(X, Y)
    P = _proba(model, X)
    assert P.shape == (4, 3)
    assert (P[:, 0] == 0).all() and (P[:, 1] == 1).all()
    assert ((P[:, 2] > 0) & (P[:, 2] < 1)).all()


# ---- keyword rules --------------------------------------------------------------------


def test_category_rules_on_fixtures(tax: Taxonomy) -> None:
    serving = Evidence(repo="acme/model-serving",
                         description="A flexible, high-performance serving system for ML models")
    d = category_by_rules(serving, tax.categories)
    assert d.category == "MLOps/AIOps"
    assert d.fired == ('name~"serving" -> MLOps/AIOps; description~"serving" -> MLOps/AIOps; '
                       'name~"model" -> Model; description~"models" -> Model')
    course = Evidence(repo="uni/ml-course", description="Course material and tutorials")
    d = category_by_rules(course, tax.categories)
    assert d.category == "Documentation"
    assert d.votes == {"Application System": 0, "MLOps/AIOps": 0, "Toolkit": 0, "DL Framework": 0,
                       "Model": 0, "Documentation": 3}
    assert category_by_rules(Evidence(repo="x/y", description="zzz"), tax.categories).category is None


def test_generic_words_cast_no_category_vote(tax: Taxonomy) -> None:
    """"learning", a github.io homepage and a Dockerfile.gpu say nothing about the category
    (they fired for 163, 42 and 51 of the 406 repositories before they were removed)."""
    ev = Evidence(repo="o/deep-learning-lab", description="A machine learning library for learning to rank",
                    homepage="https://o.github.io/lab", paths=["docker/Dockerfile.gpu"])
    dec = category_by_rules(ev, tax.categories)
    assert dec.votes == {"Application System": 0, "MLOps/AIOps": 0, "Toolkit": 2, "DL Framework": 1,
                         "Model": 0, "Documentation": 0}
    assert dec.category == "Toolkit"
    assert dec.fired == ('name~"learn" -> Toolkit; description~"library" -> Toolkit; '
                         'name~"deep" -> DL Framework')


def test_purpose_rules_on_fixtures(tax: Taxonomy) -> None:
    ev = Evidence(
        repo="catboost/catboost",
        paths=["e2e_tests/e2eTest.Dockerfile", "Docker/Dockerfile-inference"],
        instructions=Counter({"FROM": 2, "EXPOSE": 1}),
        commands=["jupyter notebook --ip 0.0.0.0", "pytest -x tests"],
        base_images=["nginx:1.21"],
    )
    hits = purposes_by_rules(ev, tax.purposes)
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
    ev = Evidence(repo="a/b", description="Recommendation engine; attest")
    assert keyword_hits("description", ["recommend", "test", "engine"], ev) == [
        'description~"recommend"', 'description~"engine"']


def test_code_purposes(tax: Taxonomy) -> None:
    row = {"what": "Build, Jupyter,  model training, production", "mlcomponent": "data", "when": "testing"}
    assert code_purposes(row, tax) == {
        "build_packaging": ['what:"build"'],
        "interactive_development": ['what:"jupyter"'],
        "model_training": ['what:"model training"'],
        "model_management": ['what:"model training"'],
        "data_management": ['mlcomponent:"data"'],
    }
    pt = pd.DataFrame([{"repo": "a/b", "what": "build, frobnicate", "mlcomponent": pd.NA,
                        "purpose_from_documentation": ""}])
    assert uncoded_tokens(pt, tax) == [("what", "frobnicate")]


# ---- the stage on the replication package (fixture `classified` in conftest) --------


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


def test_purposes_table(classified: Paths, tax: Taxonomy) -> None:
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
    expected = set(code_purposes(pt.loc[repo].to_dict(), tax))
    assert set(coded.loc[coded["repo"] == repo, "purpose"]) == expected
    assert "software_testing" in expected
    # predicted rows only for repos without coded labels
    assert not set(pur.loc[pur["source"] == "predicted", "repo"]) & set(coded["repo"])
    errors = pd.read_csv(classified.interim / "classify_errors.csv")
    assert len(errors) == 0


@pytest.mark.slow
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
    # the label-consistency evidence is computed from the study's labels, beside the targets
    cons = table.query("task == 'consistency'").set_index("metric")["value"]
    assert (cons["pairs"], cons["same"]) == (20, 11)
    assert "of the 20 pairs of studied repositories" in md and "11 (55%) carry the same" in md
    assert "| accuracy | ≥ 0.70 |" in md and "| the study's labels | 326 |" in md


# ---- leakage -------------------------------------------------------------------------


def test_features_do_not_depend_on_labels(classified: Paths) -> None:
    """Blanking every label leaves the feature frame unchanged."""
    inp = load_inputs(classified)
    repos = inp.repos.copy()
    repos[["category", "raw_label", "label_source"]] = pd.NA
    ev = build_evidence(repos, read_table("files", classified), read_parse_tables(classified), ErrorLog("t"),
                          purpose_text=read_table("purpose_text", classified))
    X = feature_frame([ev[r] for r in repos["repo"]], inp.tax)
    assert (X["notes_text"] != "").sum() == 246
    pd.testing.assert_frame_equal(X, inp.X)


@pytest.mark.slow
def test_shuffled_labels_give_chance_accuracy(classified: Paths) -> None:
    inp = load_inputs(classified)
    y = inp.labels
    X = inp.X.loc[y.index]
    rules = pd.Series({r: inp.cat_rules[r].category for r in y.index})
    rng = np.random.default_rng(7)
    shuffled = pd.Series(rng.permutation(y.to_numpy()), index=y.index)
    res = cv_categories(X, shuffled, rules, repeats=1, methods=("model", "majority"))
    chance = float(((y.value_counts() / len(y)) ** 2).sum())  # 0.275: random agreement
    assert chance == pytest.approx(0.275, abs=0.001)
    assert res["model"].mean("accuracy") < 0.36  # chance level, below the majority share
    real = cv_categories(X, y, rules, repeats=1, methods=("model",))
    assert real["model"].mean("accuracy") > 0.55


@pytest.mark.slow
def test_nested_selection_with_one_candidate_is_the_model(classified: Paths) -> None:
    """Nested CV that can only pick one feature set reproduces that variant's answers;
    with several candidates it records one pick per outer fold."""
    inp = load_inputs(classified)
    y = inp.labels
    X = inp.X.loc[y.index]
    rules = pd.Series({r: inp.cat_rules[r].category for r in y.index})
    one = cv_categories(X, y, rules, repeats=1, methods=(), variants={"fixed": CATEGORY_BLOCKS},
                        nested={"model": CATEGORY_BLOCKS})
    assert one["nested"].y_pred == one["fixed"].y_pred
    assert one["nested"].chosen == ["model"] * 5
    assert one["fixed"].chosen == []
    two = cv_categories(X, y, rules, repeats=1, methods=(), nested={
        "model": CATEGORY_BLOCKS, "v1": ("meta_word", "meta_char", "rules_category")})
    assert len(two["nested"].chosen) == 5 and set(two["nested"].chosen) <= {"model", "v1"}
    assert len(two["nested"].y_true) == len(y)


@pytest.mark.slow
def test_shared_blocks_give_the_pipelines_answers(classified: Paths) -> None:
    """The CV's shortcuts change no number: a model fitted on :class:`Blocks` matrices
    gives exactly the probabilities of its sklearn pipeline, and the purpose candidates
    fitted together give exactly the answers of one :class:`PurposeModel` each."""
    from sklearn.model_selection import KFold, StratifiedKFold

    inp = load_inputs(classified)
    y = inp.labels
    X = inp.X.loc[y.index]
    tr, te = next(StratifiedKFold(5, shuffle=True, random_state=0).split(X, y))
    with fitting():
        for blocks in CATEGORY_VARIANTS.values():
            pipe = make_category_model(X.iloc[tr], blocks).fit(X.iloc[tr], y.iloc[tr])
            Ftr, Fte = Blocks(X.iloc[tr], X.iloc[te]).matrices(blocks)
            shared = category_classifier().fit(Ftr, y.iloc[tr])
            assert np.array_equal(pipe.predict_proba(X.iloc[te]), shared.predict_proba(Fte))
        coded = [r for r in inp.X.index if r in inp.coded]
        XC, Y = inp.X.loc[coded], label_matrix(coded, inp.coded, inp.tax.majors)
        tr, te = next(KFold(5, shuffle=True, random_state=0).split(XC))
        together = purpose_predictions(XC.iloc[tr], Y[tr], XC.iloc[te], dict(PURPOSE_VARIANTS))
        for name, (blocks, trees) in PURPOSE_VARIANTS.items():
            one = PurposeModel(blocks=blocks, trees=trees).fit(XC.iloc[tr], Y[tr])
            assert np.array_equal(one.predict(XC.iloc[te]), together[name]), name
    assert (one.C_, one.threshold_) == (0.1, 0.35)
    assert int(together["model"].sum()) == 306  # positive (repo, purpose) answers on the test fold


def test_without_labels_the_rules_decide(ingested: Paths, classified: Paths, tmp_path: Path) -> None:
    """A project with no study labels (e.g. freshly collected) still gets categories and
    purposes, from the keyword rules, and evaluate says what is missing."""
    p = make_project(tmp_path / "nolabels")
    p.data.mkdir()
    shutil.copytree(ingested.interim, p.interim)
    p.processed.mkdir()
    for name in PARSE_TABLES:
        shutil.copy(classified.table("processed", name), p.processed)
    repos = read_table("repos", p)
    repos[["category", "raw_label", "label_source"]] = pd.NA
    write_table(repos, "repos", p)
    (p.interim / "purpose_text.csv").unlink()
    counts = run_classify(p)
    assert counts["manual"] == 0 and counts["predicted"] == 406 and counts["coded"] == 0
    proj = read_table("projects", p).set_index("repo")
    assert set(proj["prediction_kind"]) == {"keyword rules (too few labels to train)"}
    assert proj["confidence"].isna().all()
    assert (proj["category"].fillna("") == proj["rules_category"].fillna("")).all()
    assert proj.loc["kubeflow/kubeflow", "category"] == "MLOps/AIOps"
    pur = read_table("purposes", p)
    assert set(pur["source"]) == {"rules"}
    assert main(["-q", "--root", str(p.root), "classify", "evaluate"]) == 1

"""The smells stage: our rules (taxonomy/smells.yaml, pure core), hadolint once per content
with its cache, the tables, and the Kruskal-Wallis test; real Dockerfiles of the package."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pipeline import executor, parse, smells
from pipeline.config import Paths
from pipeline.core import dockerfile as df_core
from pipeline.core import smells as core
from pipeline.errors import TaxonomyError, ToolMissing
from pipeline.executor import Scheduler
from pipeline.smells import frames as F
from pipeline.smells import hadolint as H
from pipeline.tables import read_table, save_figure
from pipeline.taxonomy import load_smell_rules

from .conftest import REPO_ROOT, make_project

TAX = REPO_ROOT / "taxonomy"
MORT = ("aldor007/mort", "Dockerfile.build")
FACE = ("1adrianb/face-alignment", "Dockerfile")
TEMPLATE = ("PaddlePaddle/Paddle", "tools/dockerfile/Dockerfile.ubuntu")  # `<install_gcc>` line
PICKED = (MORT, FACE, TEMPLATE)


def test_the_rules_file_loads_and_is_validated(tmp_path: Path) -> None:
    rules = load_smell_rules(TAX)
    assert [(r.id, r.check) for r in rules] == [
        ("MLD001", "base_image"), ("MLD002", "base_image"), ("MLD003", "command"),
        ("MLD004", "unpinned"), ("MLD005", "command"), ("MLD006", "instruction"),
        ("MLD007", "instruction"), ("MLD008", "name"), ("MLD009", "final_user")]
    assert rules[2].hadolint == ("DL3015",) and rules[2].level == "info"
    bad = {
        "check": ("rules: {check: regex, matches: x}", "rules.check must be one of"),
        "pattern": ("rules: {check: command, matches: '('}", "matches is not a valid pattern"),
        "param": ("rules: {check: command, matches: x, also: y}", "has unknown ['also']"),
        "missing": ("rules: {check: unpinned, matches: x}", "lacks ['pinned']"),
        "level": ("level: fatal\n    rules: {check: command, matches: x}", "level 'fatal'"),
    }
    for name, (body, message) in bad.items():
        d = tmp_path / name
        d.mkdir()
        level = "" if "level:" in body else "level: info\n    "
        (d / "smells.yaml").write_text(
            f"entries:\n  - id: MLD001\n    description: d\n    {level}{body}\n")
        with pytest.raises(TaxonomyError, match=message.replace("[", r"\[").replace("(", r"\(")):
            load_smell_rules(d)
    (tmp_path / "dup").mkdir()
    entry = "  - id: MLD001\n    description: d\n    level: info\n    rules: {check: command, matches: x}\n"
    (tmp_path / "dup" / "smells.yaml").write_text("entries:\n" + entry + entry)
    with pytest.raises(TaxonomyError, match="duplicate smell id"):
        load_smell_rules(tmp_path / "dup")


def test_simple_commands_and_unpinned_packages() -> None:
    assert core.simple_commands("apt-get update && apt-get install -y 'a && b' x | sh; e\nf || g") \
        == ("apt-get update", "apt-get install -y 'a && b' x", "sh", "e", "f", "g")
    pip = next(r for r in load_smell_rules(TAX) if r.id == "MLD004")
    assert core.unpinned_packages(
        "python -m pip install --no-cache-dir -r req.txt -i https://x torch==1.8 numpy "
        "'scipy>=1' ./local git+https://g/r $EXTRA pandas", pip) == ["numpy", "pandas"]


def _facts(text: str) -> core.FileFacts:
    """What parse's tables hold for a Dockerfile, built the way the stage builds them."""
    parsed = df_core.parse_dockerfile(text, "corrected")
    ins = pd.DataFrame([{"mode": "corrected", "repo": "r", "path": "p", "seq": i,
                         "stage": x.stage, "line": x.line, "instruction": x.instruction,
                         "value": x.value, "expanded": x.expanded, "exec_form": x.exec_form}
                        for i, x in enumerate(parsed.instructions)])
    bi = pd.DataFrame([{"mode": "corrected", "repo": "r", "path": "p", "stage": b.stage,
                        "line": b.line, "image": b.image, "tag": b.tag, "digest": b.digest,
                        "is_stage_reference": b.is_stage_reference, "is_variable": b.is_variable}
                       for b in parsed.base_images])
    return F.facts_by_file(ins, bi)[("r", "p")]


def test_our_rules_read_heredoc_bodies_and_the_final_stage() -> None:
    text = ("FROM python:3.11@sha256:" + "a" * 64 + " AS build\n"
            "RUN <<EOF\napt-get install -y gcc\npip install flask\nEOF\n"
            "FROM build\nUSER root\n"
            '["ignored"]\n')
    found = core.evaluate(load_smell_rules(TAX), _facts(text))
    assert [(f.line, f.rule) for f in found] == [
        (2, "MLD003"), (2, "MLD004"), (2, "MLD005"), (7, "MLD009")]


@pytest.fixture(scope="module")
def smelled(ingested: Paths, tmp_path_factory: pytest.TempPathFactory) -> Paths:
    """Three real Dockerfiles of the package through parse (corrected) and smells."""
    p = make_project(tmp_path_factory.mktemp("smells"))
    p.interim.mkdir(parents=True)
    shutil.copy(ingested.interim / "repos.csv", p.interim / "repos.csv")
    files = pd.read_csv(ingested.interim / "files.csv", keep_default_na=False)
    keep = files[[(r, q) in PICKED for r, q in zip(files["repo"], files["path"], strict=True)]]
    keep.to_csv(p.interim / "files.csv", index=False)
    for raw in keep["raw_path"]:
        (p.data / raw).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ingested.data / raw, p.data / raw)
    parse.run(p, ("corrected",), workers=1)
    return p


def test_one_real_dockerfile_from_both_sources(smelled: Paths) -> None:
    counts = smells.run(smelled, workers=1)
    assert counts == {"files": 3, "distinct": 3, "hadolint_calls": 1, "linted": 3,
                      "unparseable": 1, "failed": 0, "smells": 36, "release_contents": 0,
                      "release_linted": 0, "errors": 0}
    s = read_table("smells", smelled)
    mort = s[(s["repo"] == MORT[0]) & (s["path"] == MORT[1])]
    got = list(zip(mort["source"], mort["rule"], mort["line"], strict=True))
    assert got == [
        ("hadolint", "DL3064", 5), ("hadolint", "DL3003", 12), ("hadolint", "DL3008", 12),
        ("hadolint", "DL3015", 12), ("hadolint", "SC2086", 12), ("hadolint", "DL3008", 39),
        ("hadolint", "DL3028", 44), ("hadolint", "DL3020", 51), ("hadolint", "DL3003", 53),
        ("hadolint", "SC2164", 53), ("hadolint", "DL3003", 55), ("hadolint", "DL4006", 55),
        ("hadolint", "SC2164", 55),
        ("mldock", "MLD002", 3), ("mldock", "MLD009", 3), ("mldock", "MLD008", 5),
        ("mldock", "MLD003", 12), ("mldock", "MLD007", 55)]
    assert set(zip(mort["family"], mort["rule"].str[:2], strict=True)) == {
        ("DL", "DL"), ("SC", "SC"), ("MLD", "ML")}
    sf = read_table("smell_files", smelled).set_index(["repo", "path"])
    assert sf.loc[MORT, ["hadolint_status", "n_instructions", "dl", "sc", "mld"]].tolist() == [
        "ok", 15, 10, 3, 5]
    assert sf.loc[FACE, ["dl", "sc", "mld"]].tolist() == [4, 0, 3]


def test_an_unparseable_file_is_never_zero_smells(smelled: Paths) -> None:
    smells.run(smelled, workers=1)
    sf = read_table("smell_files", smelled).set_index(["repo", "path"])
    row = sf.loc[TEMPLATE]
    assert (row["hadolint_status"], row["hadolint_error"]) == ("unparseable", "line 40: unexpected '<'")
    assert pd.isna(row["dl"]) and pd.isna(row["sc"]) and row["mld"] == 11
    d = read_table("smell_densities", smelled).set_index(["repo", "family"])
    assert d.loc[("PaddlePaddle/Paddle", "DL"), ["files", "unparseable", "smells"]].tolist() == [0, 1, 0]
    assert pd.isna(d.loc[("PaddlePaddle/Paddle", "DL"), "per_file"])
    assert d.loc[("PaddlePaddle/Paddle", "MLD"), ["files", "smells", "per_file"]].tolist() == [1, 11, 11.0]


def test_a_rerun_uses_the_cache_and_gives_the_same_bytes(smelled: Paths) -> None:
    smells.run(smelled, workers=1, force=True)
    first = {t: smelled.table("processed", t).read_bytes() for t in smells.OUTPUT_TABLES}
    again = smells.run(smelled, workers=1, force=True)
    assert (again["hadolint_calls"], again["linted"], again["distinct"]) == (0, 0, 3)
    assert {t: smelled.table("processed", t).read_bytes() for t in smells.OUTPUT_TABLES} == first
    assert smells.run(smelled, workers=1) == {"files": 0, "skipped": 1}
    meta = (smelled.processed / "smells.csv.meta.json").read_text()
    assert '"hadolint_version": "2.15.1"' in meta


def test_a_batch_hadolint_cannot_read_is_retried_file_by_file(tmp_path: Path) -> None:
    exe = H.executable()
    good = REPO_ROOT / "Dockerfile"
    cache = H.Cache(tmp_path / "cache")
    out = H.lint([("a" * 64, good), ("b" * 64, tmp_path / "gone")], exe, TAX / "hadolint.yaml",
                 cache, batch=2, workers=1)
    assert out.calls == 3 and list(out.findings) == ["a" * 64]
    assert out.failed["b" * 64].startswith("hadolint failed: hadolint: ")
    assert cache.get("a" * 64) == out.findings["a" * 64] and cache.get("b" * 64) is None


def test_hadolint_missing_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(H.shutil, "which", lambda *a, **k: None)
    with pytest.raises(ToolMissing, match=r"hadolint: not found .*; install it with `make setup`"):
        H.executable()


def test_kruskal_wallis_statistic_and_effect_size() -> None:
    h, p, e = F.kruskal([np.array([1.0, 2.0, 3.0]), np.array([4.0, 5.0, 6.0])])
    # ranks 1..6: H = 12 / (6 * 7) * (6**2 / 3 + 15**2 / 3) - 3 * 7 = 27 / 7
    assert h == pytest.approx(27 / 7) and e == pytest.approx(27 / 7 / 5)
    assert p == pytest.approx(0.049535, abs=1e-6)
    dens = pd.DataFrame({"repo": list("abcdef"), "family": "DL", "per_instruction": None,
                         "category": ["Toolkit"] * 3 + ["Model"] * 3,
                         "per_file": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]})
    t = F.tests(dens).set_index(["family", "measure"])
    assert t.loc[("DL", "per_file"), ["n_repos", "n_categories", "df"]].tolist() == [6, 2, 1]
    assert t.loc[("DL", "per_file"), "h"] == pytest.approx(27 / 7)
    assert pd.isna(t.loc[("DL", "per_instruction"), "h"])
    assert t.loc[("DL", "per_file"), "p_holm"] == t.loc[("DL", "per_file"), "p_value"]  # one test
    assert pd.isna(t.loc[("DL", "per_instruction"), "p_holm"])


def test_holm_adjustment() -> None:
    # sorted 0.01, 0.03, 0.04: 3 * 0.01, max(that, 2 * 0.03), max(that, 1 * 0.04)
    assert F.holm([0.01, None, 0.04, 0.03]) == pytest.approx([0.03, None, 0.06, 0.06])
    assert F.holm([0.5, 0.6]) == [1.0, 1.0]


def test_hadolint_shares_are_over_the_files_hadolint_parsed() -> None:
    """One Toolkit Dockerfile parsed with DL3008, one hadolint could not parse: DL3008 is in
    every file hadolint read (100%), an MLD rule found in one of the two files is at 50%."""
    sf = pd.DataFrame({"repo": ["a/a", "a/a"], "path": ["x", "y"],
                       "hadolint_status": ["ok", "unparseable"]})
    smells_ = pd.DataFrame({"repo": ["a/a", "a/a"], "path": ["x", "y"],
                            "rule": ["DL3008", "MLD001"], "family": ["DL", "MLD"]})
    top = F.top_rules(smells_, sf, pd.DataFrame({"repo": ["a/a"], "category": ["Toolkit"]}))
    assert list(zip(top["rule"], top["files"], top["share"], strict=True)) == [
        ("DL3008", 1, 100.0), ("MLD001", 1, 50.0)]


def test_a_heredoc_hadolint_cannot_parse_is_unparseable_and_our_rules_still_read_it(
        tmp_path: Path) -> None:
    """BuildKit reads ``<<-`` (tabs stripped); hadolint 2.15.1 rejects it (DL1000). The
    package holds no heredoc Dockerfile, so this one is written here."""
    text = "FROM ubuntu:22.04\nRUN <<-EOT bash\n\tapt-get install -y gcc\n\tEOT\n"
    f = tmp_path / "Dockerfile"
    f.write_text(text)
    out = H.lint([("c" * 64, f)], H.executable(), TAX / "hadolint.yaml", H.Cache(tmp_path / "c"))
    assert H.unparseable(out.findings["c" * 64]) == "line 3: unexpected 'a'"
    assert list(H.iter_rows(out.findings["c" * 64])) == []
    found = core.evaluate(load_smell_rules(TAX), _facts(text))
    assert [(x.line, x.rule) for x in found] == [
        (1, "MLD002"), (1, "MLD009"), (2, "MLD003")]


def test_the_report_draws_the_smells_figures_with_the_same_bytes_twice(
        smelled: Paths, tmp_path: Path) -> None:
    from pipeline.report import artefacts as A
    from pipeline.report import figures as RF
    from pipeline.report.inputs import load_inputs
    from pipeline.report.smells_text import smells_sentences

    smells.run(smelled, workers=1)
    inp = load_inputs(smelled)
    for fn in (A.smells_top, A.smells_densities):
        spec = fn(inp).figure
        assert spec is not None
        a = save_figure(RF.draw(spec), fn.name, tmp_path / "a")
        b = save_figure(RF.draw(spec), fn.name, tmp_path / "b")
        assert [x.read_bytes() for x in a] == [y.read_bytes() for y in b]
    top = A.smells_top(inp).frame  # one Dockerfile per category here: ties by rule id
    assert list(zip(top["category"], top["rule"], top["share"], strict=True))[:3] == [
        ("MLOps/AIOps", "DL3003", 100.0), ("MLOps/AIOps", "DL3008", 100.0),
        ("MLOps/AIOps", "DL3015", 100.0)]
    assert smells_sentences(inp)[0].startswith(
        "hadolint could not parse 1 of the 3 Dockerfiles (1 repositories)")


def test_the_per_release_corpus_is_linted_release_by_release(
        tmp_path: Path, shared_package: Path) -> None:
    """ApolloAuto/apollo's copies of the real per-release archive, as evolution lists them:
    8 Dockerfiles in each of 9 releases, 8 distinct contents linted once."""
    from pipeline.evolution import build, corpus
    from pipeline.tables import ErrorLog, write_table
    from pipeline.taxonomy import load_orchestration, load_run_taxonomy

    p = make_project(tmp_path / "root")
    errors = ErrorLog("evolution")
    tags = corpus.read_tags(shared_package, errors)
    archive = corpus.archive_path(shared_package)
    index, contents = corpus.read_members(archive)
    versions = [v for v in corpus.versions_of(index.files, tags, archive, errors)
                if v.repo.lower() == "apolloauto/apollo"]
    rules = (load_run_taxonomy(TAX), load_orchestration(TAX), load_smell_rules(TAX))
    sums = {v.sha256: corpus.summarise(contents[v.sha256], *rules) for v in versions}
    frame = build.versions_frame(versions, sums, tags, {"apolloauto/apollo": "ApolloAuto/apollo"},
                                 {"ApolloAuto/apollo": "Toolkit"})
    write_table(frame, "dockerfile_versions", p, extra_meta={"archive": str(archive)})
    cache = H.Cache(tmp_path / "cache")
    rel, linted = smells.releases.lint_corpus(p, H.executable(), TAX / "hadolint.yaml", cache,
                                              ErrorLog("smells"), workers=1)
    assert (len(linted.findings), linted.linted, linted.calls) == (8, 8, 1)
    assert rel["tag"].tolist()[::4] == ["v1.0.0", "v3.0.0", "v6.0.0"]
    assert set(rel["n_dockerfiles"]) == {8} and set(rel["n_unparseable"]) == {0}
    assert set(rel["dl_per_dockerfile"]) == {4.875} and set(rel["sc_per_dockerfile"]) == {0.75}
    again, relinted = smells.releases.lint_corpus(p, H.executable(), TAX / "hadolint.yaml",
                                                  cache, ErrorLog("smells"), workers=1)
    assert (relinted.linted, relinted.calls) == (0, 0) and again.equals(rel)


@pytest.mark.slow
def test_smells_are_byte_identical_on_the_pool_and_on_dask(smelled: Paths, tmp_path: Path) -> None:
    """The three files, one per hadolint batch, with an empty cache each time (so hadolint
    really runs on the scheduler): the same tables and report on the pool and local:2."""
    shutil.copytree(smelled.root, tmp_path / "root", symlinks=True)
    p = Paths(tmp_path / "root")
    out = {}
    for name, sched in {"pool": Scheduler("pool", 2), "local2": executor.scheduler("local:2")}.items():
        shutil.rmtree(p.cache / "hadolint", ignore_errors=True)
        counts = smells.run(p, batch=1, force=True, sched=sched)
        assert (counts["hadolint_calls"], counts["linted"], counts["smells"]) == (3, 3, 36)
        out[name] = {f.name: f.read_bytes() for f in sorted(p.processed.glob("smell*.csv"))}
        out[name]["smells.md"] = (p.reports / "smells.md").read_bytes()
    assert set(out["pool"]) == {"smells.csv", "smell_files.csv", "smell_densities.csv",
                                "smell_tests.csv", "smell_top.csv", "smells.md"}
    assert out["pool"] == out["local2"]

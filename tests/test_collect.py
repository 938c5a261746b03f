"""Collect stage: criteria on the study's data; the whole collection against a fake GitHub."""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import pandas as pd
import pytest

from pipeline.collect import criteria as crit
from pipeline.collect.dockerhub import links_to, score_match
from pipeline.collect.files import name_match, safe_path
from pipeline.collect.jsonhttp import canonical_url, last_page
from pipeline.collect.run import Collector, Settings
from pipeline.collect.search import build_query
from pipeline.errors import CollectWouldOverwrite, TaxonomyError

from .conftest import REPO_ROOT, make_project
from .fakegithub import FakeServer, git_sha, make_repos, real

TOKEN = "not-a-real-token-" + "x1y2z3" * 4  # built, so it never looks like a real one
KEYWORDS = "machine-learning,deep-learning"
STUDIED = sorted(
    ["acme/gpu-tools", "acme/mlkit", "acme/readme-ml", "other/ml-serving"]
    + [f"sameday/dl{i}" for i in range(9)]
    + [f"spread/net{i}" for i in (2, 4, 5, 7, 8, 10)]
)
TABLES = ("repos.csv", "files.csv", "funnel.csv", "collect/candidates.csv", "collect/slices.csv",
          "collect/metadata.csv", "collect/files.csv", "collect/hub_matches.csv", "collect/keywords.csv")


# -- pure parts -----------------------------------------------------------------------


def test_criteria_on_the_initial_sheet(shared_package: Path) -> None:
    df = pd.read_excel(shared_package / "RQ1" / "ML_Docker_repositories.xlsx", sheet_name="initial")
    assert len(df) == 3075
    cfg = crit.load_config(REPO_ROOT / "taxonomy" / "inclusion_criteria.yaml")
    kept, rows = crit.apply_criteria(df, cfg.criteria)
    assert [(r["step"], r["count"], r["removed"]) for r in rows] == [
        ("commits", 1780, 1295), ("releases", 1002, 778), ("forks", 1002, 0),
        ("stars", 1002, 0), ("not_archived", 971, 31),
    ]
    assert len(kept) == 971


def test_keyword_sets() -> None:
    kws = crit.load_keywords(REPO_ROOT / "taxonomy" / "search_keywords.yaml")
    assert len(kws.sets["paper"]) == 14 and len(kws.sets["data"]) == 27
    assert kws.seeds == ("machine-learning", "deep-learning", "reinforcement-learning")
    union = kws.resolve(None)
    assert len(union) == 30 and union[:2] == ["machine-learning", "deep-learning"]
    assert kws.resolve("data,keras,mlops")[-1] == "machine-intelligence"
    assert kws.resolve("docker ml,paper")[0] == "docker ml"


@pytest.mark.parametrize(
    "text, problem",
    [
        ("seeds: {description: s, keywords: [a]}\nsets: {p: {description: d, keywords: [a, a]}}\ndefault: [p]\n",
         "duplicate keywords ['a']"),
        ("seeds: {description: s, keywords: [a]}\nsets: {p: {description: d, keywords: [a]}}\ndefault: [q]\n",
         "unknown: ['q']"),
        ("seeds: {description: s, keywords: []}\nsets: {p: {description: d, keywords: [a]}}\ndefault: [p]\n",
         "non-empty list"),
    ],
)
def test_keyword_file_validation(tmp_path: Path, text: str, problem: str) -> None:
    f = tmp_path / "k.yaml"
    f.write_text(text)
    with pytest.raises(TaxonomyError, match=problem.replace("[", r"\[").replace("]", r"\]")):
        crit.load_keywords(f)


def test_criteria_file_validation(tmp_path: Path) -> None:
    f = tmp_path / "c.yaml"
    f.write_text("criteria:\n  - {id: a, description: d, column: watchers, op: '>=', value: 1}\n")
    with pytest.raises(TaxonomyError, match="unknown column 'watchers'"):
        crit.load_config(f)
    f.write_text("criteria:\n  - {id: a, description: d, column: stars, op: '=>', value: 1}\n")
    with pytest.raises(TaxonomyError, match="unknown op '=>'"):
        crit.load_config(f)


def test_small_pure_helpers() -> None:
    assert last_page('<http://x/a?page=2&per_page=1>; rel="next", <http://x/a?per_page=1&page=321>; rel="last"') == 321
    assert last_page(None) is None
    assert canonical_url("http://h/p?b=2", {"a": 1}) == "http://h/p?a=1&b=2"
    from datetime import date
    assert build_query("docker ml", ["stars:>=1"], (date(2020, 1, 1), date(2020, 1, 31)), (5, 9)) == (
        '"docker ml" in:name,description,topics,readme fork:false created:2020-01-01..2020-01-31 stars:5..9')
    assert [name_match(p) for p in ("a/Dockerfile.gpu", "x/mode-dockerfile.js", "compose.yaml",
                                    "docker-compose.override.yml", "docker.cnf")] == [
        "dockerfile", "dockerfile", "compose", "compose", None]
    assert not safe_path("../etc/passwd") and not safe_path("/abs") and safe_path("a/b/Dockerfile")
    assert links_to("o/r", "see https://github.com/O/R.") and not links_to("o/r", "github.com/o/r-old")
    assert score_match("o/r", "o/r", "github.com/o/r", None, set()) == (1.0, ["name", "namespace", "link"], True)
    assert score_match("o/r", "x/r", "", None, set()) == (0.2, ["name"], False)


# -- against the fake GitHub ----------------------------------------------------------


def settings(srv: FakeServer, waits: list[float], token: str | None = TOKEN, **kw: object) -> Settings:
    return Settings(api_url=srv.api, hub_url=srv.hub, token=token, sleep=waits.append,
                    clock=lambda: srv.clock, backoff=0.0, min_interval=0.0, **kw)  # type: ignore[arg-type]


def run_all(root: Path, srv: FakeServer, waits: list[float], **kw: object) -> Collector:
    p = make_project(root)
    c = Collector(p, settings(srv, waits, **kw))
    c.run_search(KEYWORDS)
    c.run_filter()
    c.run_extract()
    return c


def tables(root: Path) -> dict[str, pd.DataFrame]:
    return {t: pd.read_csv(root / "data" / "interim" / t, keep_default_na=False) for t in TABLES}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    srv = FakeServer().start()
    try:
        root = tmp_path_factory.mktemp("collect") / "proj"
        waits: list[float] = []
        c = run_all(root, srv, waits)
        n_first = len(srv.log)
        yield {"srv": srv, "root": root, "c": c, "waits": waits, "n_first": n_first}
    finally:
        srv.stop()


def test_funnel_and_studied_repositories(world) -> None:  # type: ignore[no-untyped-def]
    root = world["root"]
    funnel = pd.read_csv(root / "data/interim/funnel.csv")
    assert list(zip(funnel["step"], funnel["count"], strict=True)) == [
        ("search", 30), ("metadata", 30), ("commits", 27), ("releases", 23), ("forks", 23),
        ("stars", 23), ("not_archived", 22), ("dockerfile", 20), ("images", 19)]
    assert funnel["removed"].fillna(-1).astype(int).tolist() == [-1, 0, 3, 4, 0, 0, 1, 2, 1]
    repos = pd.read_csv(root / "data/interim/repos.csv", keep_default_na=False)
    assert sorted(repos["repo"]) == STUDIED
    heads = {r.full_name: r.head_sha for r in make_repos()}
    assert all(repos["head_sha"] == repos["repo"].map(heads))
    assert set(repos["source"]) == {"github"} and set(repos["default_branch"]) == {"main"}
    assert set(repos["category"]) == {""} and set(repos["label_source"]) == {""}
    row = repos.set_index("repo").loc["acme/gpu-tools"]
    assert json.loads(row["images"]) == ["someone/gpu-tools:latest"]
    assert (row["commits"], row["releases"], row["contributors"], row["issues"]) == (150, 2, 4, 7)
    info = json.loads((root / "data/interim/source.json").read_text())
    assert info["kind"] == "github" and info["source"] == world["srv"].api and "package_dir" not in info


def test_search_slices_past_the_cap(world) -> None:  # type: ignore[no-untyped-def]
    sl = pd.read_csv(world["root"] / "data/interim/collect/slices.csv")
    dl = sl[sl["keyword"] == "deep-learning"]
    assert len(sl[sl["keyword"] == "machine-learning"]) == 1
    assert len(dl) == 16 and dl["total_count"].max() <= 1000 and dl["complete"].all()
    # the 9 repositories created on 2019-06-01 report 1,080 hits: split by stars
    stars = dl.dropna(subset=["stars_from"])
    assert stars[["stars_from", "stars_to", "items"]].astype(int).values.tolist() == [[1, 640, 8], [641, 1280, 1]]
    assert dl["items"].sum() == 21  # every deep-learning repository exactly once
    cand = pd.read_csv(world["root"] / "data/interim/collect/candidates.csv")
    assert len(cand) == 30 and cand["repo"].is_unique
    assert not cand["repo"].str.startswith("misc/").any() and "acme/fork-of-mlkit" not in set(cand["repo"])
    assert "acme/nostar" not in set(cand["repo"])  # the stars:>=1 qualifier
    topic = cand.set_index("repo")["search_topic"]
    assert topic["acme/readme-ml"] == "machine-learning" and topic["acme/mlkit"] == "machine-learning"
    assert json.loads(cand.set_index("repo").loc["acme/mlkit", "keywords"]) == KEYWORDS.split(",")
    kw = pd.read_csv(world["root"] / "data/interim/collect/keywords.csv")
    assert kw.set_index("keyword")["count"].to_dict() == {"machine-learning": 10, "deep-learning": 21,
                                                          "pytorch": 11, "mlops": 1}


def test_files_are_pinned_verified_and_classified(world) -> None:  # type: ignore[no-untyped-def]
    root = world["root"]
    files = pd.read_csv(root / "data/interim/files.csv", keep_default_na=False)
    assert len(files) == 25 and files["kind"].value_counts().to_dict() == {
        "dockerfile": 21, "not_dockerfile": 2, "compose": 2}
    mlkit = files[files["repo"] == "acme/mlkit"].set_index("path")
    assert mlkit["kind"].to_dict() == {"Dockerfile": "dockerfile", "docker-compose.yml": "compose",
                                       "web/ace/mode-dockerfile.js": "not_dockerfile"}
    assert (root / "data" / mlkit.loc["Dockerfile", "raw_path"]).read_bytes() == real("bert")
    assert set(files.loc[~files["in_study"], "repo"]) == {"acme/jsonly", "acme/nameonly"}
    hub = pd.read_csv(root / "data/interim/collect/hub_matches.csv", keep_default_na=False).set_index("image")
    assert hub.loc["someone/gpu-tools:latest", "evidence"] == "name,dockerfile"
    assert not hub.loc["acme/nameonly:latest", "confirmed"] and hub.loc["acme/nameonly:latest", "score"] == 0.4
    assert hub.loc["other/ml-serving-old:latest", "evidence"] == "namespace"
    # named only by the README's `docker run`, confirmed by its link back
    assert hub.loc["mlkitorg/kit-serve:latest"].to_dict() == {
        "repo": "acme/mlkit", "score": 0.8, "evidence": "link,readme", "confirmed": True}


def test_requests_per_candidate(world) -> None:  # type: ignore[no-untyped-def]
    req = pd.read_csv(world["root"] / "data/interim/collect/requests.csv").set_index("step")
    n_cand = 30
    per = (req.loc["metadata", "requests"] + req.loc["files:tree", "requests"]) / n_cand
    # 2 GraphQL queries; 22 trees; contributors of the 19 studied only (no criterion reads them)
    assert (req.loc["metadata", "requests"], req.loc["files:tree", "requests"]) == (2, 22)
    assert (req.loc["contributors", "requests"], req.loc["contributors", "items"]) == (19, len(STUDIED))
    assert per == pytest.approx(24 / 30)


def test_token_never_written_and_only_sent_to_github(world) -> None:  # type: ignore[no-untyped-def]
    secret = TOKEN.encode()
    written = [f for f in world["root"].rglob("*") if f.is_file()]
    assert len(written) > 100
    assert [f for f in written if secret in f.read_bytes()] == []
    log = world["srv"].log[: world["n_first"]]
    assert {e["auth"] for e in log if e["key"].split()[1].startswith("/api/")} == {f"token {TOKEN}"}  # PyGithub's Auth.Token
    assert {e["auth"] for e in log if e["key"].split()[1].startswith("/hub/")} == {None}


def test_rerun_requests_nothing_and_changes_nothing(world, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    srv, root = world["srv"], world["root"]
    before = tables(root)
    n = len(srv.log)
    c = Collector(make_project(root), settings(srv, []))
    c.run_search(KEYWORDS)
    c.run_filter()
    c.run_extract()
    assert len(srv.log) == n
    after = tables(root)
    for t in TABLES:
        pd.testing.assert_frame_equal(before[t], after[t], obj=t)


def test_faults_are_survived_with_nothing_lost(world, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:  # type: ignore[no-untyped-def]
    srv = FakeServer().start()
    try:
        srv.faults = [("/search/repositories", "ratelimit"), ("/graphql", "secondary"), ("/graphql", "gql_ratelimited"),
                      ("/contributors", "502"), ("/contributors", "exhausted"), ("/git/trees/", "reset"), ("/git/blobs/", "truncated"),
                      ("/hub/v2/search", "502"), ("/hub/v2/repositories/", "reset")]
        waits: list[float] = []
        with caplog.at_level(logging.WARNING, logger="pipeline"):
            c = run_all(tmp_path / "proj", srv, waits)
        assert srv.faults == []
        assert len(c.errors) == 0
        # primary limit: reset header = server clock + 120; waited reset - now + 1 s
        assert waits[0] == 121.0 and 7.0 in waits and 301.0 in waits
        assert 51.0 in waits  # the answer that used up the quota made the next request wait
        assert "primary rate limit reached; waiting 121 s" in caplog.text
        got = tables(tmp_path / "proj")
        want = tables(world["root"])
        for t in TABLES:
            pd.testing.assert_frame_equal(got[t], want[t], obj=t)
        assert sum(c.stats.retries.values()) == 8
    finally:
        srv.stop()


def test_rate_limit_beyond_max_wait_stops_with_rerun_message(tmp_path: Path) -> None:
    from pipeline.errors import RateLimited

    srv = FakeServer().start()
    try:
        srv.faults = [("/search/repositories", "ratelimit")]
        c = Collector(make_project(tmp_path / "p"), settings(srv, [], max_wait=60))
        with pytest.raises(RateLimited, match="rerun to resume"):
            c.run_search(KEYWORDS)
    finally:
        srv.stop()


def test_bad_credentials_stop_the_run(tmp_path: Path) -> None:
    from pipeline.errors import AuthFailed

    srv = FakeServer().start()
    try:
        srv.faults = [("/search/repositories", "401")]
        c = Collector(make_project(tmp_path / "p"), settings(srv, []))
        with pytest.raises(AuthFailed, match="check or unset GITHUB_TOKEN"):
            c.run_search(KEYWORDS)
    finally:
        srv.stop()


def test_anonymous_rest_metadata_equals_graphql(world, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:  # type: ignore[no-untyped-def]
    src = world["root"] / "data" / "interim" / "collect"
    p = make_project(tmp_path / "anon")
    shutil.copytree(src, p.interim / "collect")
    (p.interim / "collect" / "metadata.csv").unlink()
    n = len(world["srv"].log)
    with caplog.at_level(logging.WARNING, logger="pipeline"):
        c = Collector(p, settings(world["srv"], [], token=None))
        c.run_filter()
    assert "GITHUB_TOKEN is not set: working anonymously" in caplog.text
    new = world["srv"].log[n:]
    assert {e["auth"] for e in new} == {None} and not any("/graphql" in e["key"] for e in new)
    assert len(new) == 2 * 30  # commits and releases each (contributors: extract, studied only)
    got = pd.read_csv(p.interim / "collect/metadata.csv")
    want = pd.read_csv(src / "metadata.csv")
    cols = ["repo", "commits", "releases", "contributors", "stars", "forks", "archived", "head_sha",
            "default_branch", "included", "excluded_by"]
    pd.testing.assert_frame_equal(got[cols], want[cols])


def test_extract_refuses_to_overwrite_ingested_tables(world, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    p = make_project(tmp_path / "p")
    shutil.copytree(world["root"] / "data" / "interim" / "collect", p.interim / "collect")
    shutil.copytree(world["root"] / "data" / "cache", p.cache)
    p.source_record.write_text(json.dumps({"kind": "directory", "source": "/x", "package_dir": "/x"}))
    c = Collector(p, settings(world["srv"], []))
    with pytest.raises(CollectWouldOverwrite, match="--force"):
        c.run_extract()
    n = len(world["srv"].log)
    c.run_extract(force=True)
    assert len(world["srv"].log) == n  # everything from the cache
    assert json.loads(p.source_record.read_text())["kind"] == "github"
    assert sorted(pd.read_csv(p.interim / "repos.csv")["repo"]) == STUDIED


def test_bad_items_are_recorded_and_never_stop_the_run(tmp_path: Path) -> None:
    srv = FakeServer().start()
    try:
        waits: list[float] = []
        p = make_project(tmp_path / "p")
        c = Collector(p, settings(srv, waits, secondary_wait=5.0))
        c.run_search(KEYWORDS)
        del srv.repos["acme/archived"]  # deleted between search and metadata
        srv.faults = [("/repos/acme/mlkit/git/blobs/", "corrupt"), ("/graphql", "429")]
        c.run_filter()
        c.run_extract()
        assert waits == [5.0]
        errors = pd.read_csv(p.interim / "collect_errors.csv")
        assert errors["item"].tolist() == ["acme/archived", "acme/mlkit/Dockerfile"]
        assert errors["error_type"].tolist() == ["NotFound", "BadBlob"]
        assert "content does not match its SHA" in errors["message"][1]
        funnel = pd.read_csv(p.interim / "funnel.csv").set_index("step")
        assert (funnel.loc["metadata", "count"], funnel.loc["metadata", "removed"]) == (29, 1)
        files = pd.read_csv(p.interim / "files.csv")
        assert "Dockerfile" not in set(files.loc[files["repo"] == "acme/mlkit", "path"])
        # the corrupt blob was not cached: a rerun fetches it again and completes the repository
        n = len(srv.log)
        c2 = Collector(p, settings(srv, []))
        c2.run_extract()
        readme = srv.repos["acme/mlkit"].files["README.md"]
        assert [e["key"].split("?")[0] for e in srv.log[n:]] == [
            f"GET /api/repos/acme/mlkit/git/blobs/{git_sha(real('bert'))}",
            f"GET /api/repos/acme/mlkit/git/blobs/{git_sha(readme)}",  # image evidence: README
            "GET /hub/v2/search/repositories/",  # acme/mlkit: its search hit links back, no page read
            "GET /hub/v2/repositories/mlkitorg/kit-serve/",
            "GET /api/repos/acme/mlkit/contributors"]  # now studied: its contributors
        files = pd.read_csv(p.interim / "files.csv")
        assert "Dockerfile" in set(files.loc[files["repo"] == "acme/mlkit", "path"])
    finally:
        srv.stop()


def test_a_new_collection_date_never_replays_old_answers(world, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from datetime import date

    p = make_project(tmp_path / "p")
    shutil.copytree(world["root"] / "data" / "interim" / "collect", p.interim / "collect")
    shutil.copytree(world["root"] / "data" / "cache", p.cache)
    srv = world["srv"]
    c = Collector(p, settings(srv, []))
    n = len(srv.log)
    c.run_filter()
    assert len(srv.log) == n  # same collection: replayed
    c.state(until=date(2030, 1, 1))
    c.run_filter()
    assert len(srv.log) - n == 2  # a new collection asks again (2 GraphQL; contributors: extract)
    assert sorted(d.name for d in (p.cache / "github").iterdir()) == sorted(
        [json.loads((world["root"] / "data/interim/collect/run.json").read_text())["until"], "2030-01-01"])


# -- PyGithub behind the cache --------------------------------------------------------


def test_pygithub_private_connection_is_still_reachable(tmp_path: Path) -> None:
    """Fails loudly when PyGithub renames the requester's connection (the cache hangs on it)."""
    from github.Requester import Requester

    from pipeline.collect.client import MldockRetry, connection, github_client
    from pipeline.collect.jsonhttp import Waiter

    assert hasattr(Requester, "_Requester__createConnection"), (
        "PyGithub renamed Requester.__createConnection: pipeline/collect/client.py must follow")
    srv = FakeServer().start()
    try:
        gh = github_client(srv.api, tmp_path / "c", TOKEN, waiter=Waiter(sleep=lambda s: None))
        cnx = connection(gh.g)
        assert cnx.session is gh.session and connection(gh.g) is cnx  # one persistent connection
        assert isinstance(cnx.adapter.max_retries, MldockRetry)
        assert gh.session.get_adapter(srv.api) is cnx.adapter  # PyGithub's own adapter kept
        assert gh.repo("acme/mlkit").get_git_tree(make_repos()[20].head_sha, recursive=True).sha
        assert (gh.stats.requests["other"], gh.stats.cache_hits["other"]) == (1, 0)
        gh.repo("acme/mlkit").get_git_tree(make_repos()[20].head_sha, recursive=True)
        assert (gh.stats.requests["other"], gh.stats.cache_hits["other"]) == (1, 1) and len(srv.log) == 1
    finally:
        srv.stop()


def test_only_the_factory_imports_pygithub() -> None:
    pkg = REPO_ROOT / "pipeline" / "collect"
    users = sorted(f.name for f in pkg.glob("*.py")
                   if any(ln.startswith(("from github", "import github")) for ln in f.read_text().splitlines()))
    assert users == ["client.py"]


@pytest.mark.parametrize("fault, wait", [("429", 5.0), ("secondary", 7.0), ("ratelimit", 121.0)])
def test_rest_rate_limits_are_waited_through_the_clock(tmp_path: Path, fault: str, wait: float) -> None:
    srv = FakeServer().start()
    try:
        waits: list[float] = []
        srv.faults = [("/git/trees/", fault)]
        c = run_all(tmp_path / "p", srv, waits, secondary_wait=5.0)
        assert waits == [wait] and len(c.errors) == 0
        assert [e["status"] for e in srv.log if "/git/trees/" in e["key"]].count(200) == 22
    finally:
        srv.stop()


def test_graphql_unavailable_falls_back_to_rest_once(world, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:  # type: ignore[no-untyped-def]
    srv = FakeServer().start()
    try:
        p = make_project(tmp_path / "p")
        c = Collector(p, settings(srv, []))
        c.run_search(KEYWORDS)
        srv.faults = [("/graphql", "501")]
        with caplog.at_level(logging.WARNING, logger="pipeline"):
            c.run_filter()
        assert caplog.text.count("answers GraphQL with HTTP 501: counting with REST") == 1
        assert sum("/graphql" in e["key"] for e in srv.log) == 1
        got = pd.read_csv(p.interim / "collect/metadata.csv")
        want = pd.read_csv(world["root"] / "data/interim/collect/metadata.csv")
        cols = ["repo", "commits", "releases", "contributors", "head_sha", "included", "excluded_by"]
        pd.testing.assert_frame_equal(got[cols], want[cols])
    finally:
        srv.stop()


@pytest.mark.parametrize("mode", ["graphql", "anonymous", "rest"])
def test_from_package_collects_exactly_the_package_repositories(tmp_path: Path, mode: str) -> None:
    from pipeline.schemas.inputs import MANUAL

    pkg = tmp_path / "pkg"
    (pkg / "RQ1").mkdir(parents=True)
    names = ["acme/mlkit", "acme/fewcommits", "acme/nodocker", "gone/away"]
    pd.DataFrame([{c: (n if c == "repos" else "x") for c in MANUAL.columns} for n in names]).to_csv(
        pkg / MANUAL.path, index=False)
    srv = FakeServer().start()
    try:
        p = make_project(tmp_path / "p")
        c = Collector(p, settings(srv, [], token=None if mode == "anonymous" else TOKEN, graphql=mode == "graphql"))
        c.run_from_package(pkg)
        c.run_filter()
        c.run_extract()
        assert not any("/api/search/" in e["key"] for e in srv.log)
        assert any("/graphql" in e["key"] for e in srv.log) == (mode == "graphql")
        repos = pd.read_csv(p.interim / "repos.csv")
        # no criteria (fewcommits has 40 commits) and no Dockerfile or image required (nodocker)
        assert sorted(repos["repo"]) == ["acme/fewcommits", "acme/mlkit", "acme/nodocker"]
        assert pd.read_csv(p.interim / "collect_errors.csv")["item"].tolist() == ["gone/away"]
        assert repos.set_index("repo").loc["acme/fewcommits", "commits"] == 40
        # the repository's own metadata, though no search item carries it
        fake = {r.full_name: r for r in make_repos()}
        for _, row in repos.iterrows():
            r = fake[row["repo"]]
            desc = row["description"] if pd.notna(row["description"]) else ""
            assert (row["stars"], row["forks"], bool(row["archived"]), desc, row["default_branch"],
                    row["open_issues"]) == (r.stars, r.forks, r.archived, r.description, "main", 3), row["repo"]
            assert str(row["created_at"]).startswith(r.created.isoformat()), row["repo"]
    finally:
        srv.stop()


def test_a_search_after_from_package_equals_a_clean_run(world, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from pipeline.schemas.inputs import MANUAL

    pkg = tmp_path / "pkg"
    (pkg / "RQ1").mkdir(parents=True)
    pd.DataFrame([{c: ("acme/mlkit" if c == "repos" else "x") for c in MANUAL.columns}]).to_csv(
        pkg / MANUAL.path, index=False)
    p = make_project(tmp_path / "p")
    c = Collector(p, settings(world["srv"], []))
    c.run_from_package(pkg)
    assert "package" in json.loads((p.interim / "collect/run.json").read_text())
    c.run_search(KEYWORDS)
    c.run_filter()
    c.run_extract()
    assert "package" not in json.loads((p.interim / "collect/run.json").read_text())
    got, want = tables(tmp_path / "p"), tables(world["root"])
    for t in TABLES:
        pd.testing.assert_frame_equal(got[t], want[t], obj=t)
    assert int(pd.read_csv(p.interim / "collect/metadata.csv")["included"].sum()) == int(
        pd.read_csv(world["root"] / "data/interim/collect/metadata.csv")["included"].sum())


def test_a_permanent_502_stops_after_the_retries_with_doubling_waits(tmp_path: Path) -> None:
    from pipeline.collect.client import errors, github_client
    from pipeline.collect.jsonhttp import Waiter
    from pipeline.errors import NetworkError

    srv = FakeServer().start()
    try:
        waits: list[float] = []
        gh = github_client(srv.api, tmp_path / "c", TOKEN, retries=3, backoff=2.0,
                           waiter=Waiter(sleep=waits.append, clock=lambda: srv.clock))
        srv.faults = [("/git/trees/", "502")] * 10
        with pytest.raises(NetworkError, match="HTTP 502"), errors():
            gh.repo("acme/mlkit").get_git_tree(make_repos()[20].head_sha, recursive=True)
        assert [e["status"] for e in srv.log] == [502] * 4  # the first try and 3 retries
        assert waits == [2.0, 4.0, 8.0]
        # rate-limit answers are counted apart: they leave the 3 retries of transient failures
        srv.faults = [("/git/trees/", "secondary")] * 5 + [("/git/trees/", "502")] * 3
        waits.clear()
        gh.repo("acme/mlkit").get_git_tree(make_repos()[20].head_sha, recursive=True)
        assert waits == [7.0] * 5 + [2.0, 4.0, 8.0] and srv.log[-1]["status"] == 200
    finally:
        srv.stop()


def test_a_403_refusal_says_what_github_said_and_what_to_check(tmp_path: Path) -> None:
    srv = FakeServer().start()
    try:
        waits: list[float] = []
        p = make_project(tmp_path / "p")
        c = Collector(p, settings(srv, waits))
        c.run_search(KEYWORDS)
        c.run_filter()
        srv.faults = [("/repos/acme/mlkit/git/trees/", "403")]
        c.run_extract()
        assert waits == [] and [e["status"] for e in srv.log if "acme/mlkit/git/trees/" in e["key"]] == [403]
        errors = pd.read_csv(p.interim / "collect_errors.csv")
        assert errors["message"].tolist() == [
            f"acme/mlkit: cannot list files at {make_repos()[20].head_sha}: GitHub refused "
            f"/api/repos/acme/mlkit/git/trees/{make_repos()[20].tree_sha}: "
            "Resource protected by organization SAML enforcement.; check the token's access"]
    finally:
        srv.stop()


def test_from_package_resumes_its_pinned_collection_on_another_day(world, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from datetime import date

    from pipeline.schemas.inputs import MANUAL

    pkgs = [tmp_path / "pkg1", tmp_path / "pkg2"]
    for pkg in pkgs:
        (pkg / "RQ1").mkdir(parents=True)
        pd.DataFrame([{c: ("acme/mlkit" if c == "repos" else "x") for c in MANUAL.columns}]).to_csv(
            pkg / MANUAL.path, index=False)
    p = make_project(tmp_path / "p")
    run = p.interim / "collect/run.json"
    Collector(p, settings(world["srv"], [])).run_from_package(pkgs[0], until=date(2020, 5, 5))
    Collector(p, settings(world["srv"], [])).run_from_package(pkgs[0])  # a later day: resumes
    st = json.loads(run.read_text())
    assert (st["until"], st["package"]) == ("2020-05-05", str(pkgs[0]))
    Collector(p, settings(world["srv"], [])).run_from_package(pkgs[1])  # another package: a new one
    st = json.loads(run.read_text())
    assert (st["package"], st["until"] != "2020-05-05") == (str(pkgs[1]), True)


@pytest.mark.parametrize("args, problem", [
    (["search"], "--from-package runs all steps: drop it or the 'search' subcommand"),
    (["--keywords", "paper"], "--from-package takes the package's repositories (no search): drop --keywords"),
])
def test_from_package_refuses_options_it_would_ignore(tmp_path: Path, args: list[str], problem: str) -> None:
    from click.testing import CliRunner

    from pipeline.cli import group

    (tmp_path / "pkg").mkdir()
    r = CliRunner().invoke(group, ["--root", str(tmp_path / "p"), "collect", "--from-package", str(tmp_path / "pkg"), *args])
    assert r.exit_code == 2 and problem in r.output, r.output


def test_graphql_errors_are_named_and_a_graphql_404_is_not_cached(tmp_path: Path) -> None:
    srv = FakeServer().start()
    try:
        p = make_project(tmp_path / "p")
        c = Collector(p, settings(srv, []))
        c.run_search(KEYWORDS)
        srv.faults = [("/graphql", "gql_error")] * 7  # the first try and 6 retries
        c.run_filter()
        errors = pd.read_csv(p.interim / "collect_errors.csv")
        assert len(errors) == 25 and set(errors["message"]) == {
            'GitHub: GraphQL errors: Parse error on "}" (RCURLY) for http://127.0.0.1:'
            f'{srv.server_address[1]}/api/graphql; rerun to resume'}
        srv.faults = [("/graphql", "404")]
        (p.interim / "collect/metadata.csv").unlink()
        Collector(p, settings(srv, [])).run_filter()  # this run counts with REST ...
        n = sum("/graphql" in e["key"] for e in srv.log)
        Collector(p, settings(srv, [])).run_filter()  # ... the next asks GraphQL again
        assert sum("/graphql" in e["key"] for e in srv.log) == n + 1
    finally:
        srv.stop()


def test_file_named_images_are_capped_per_repository(tmp_path: Path) -> None:
    from pipeline.collect.dockerhub import MAX_NAMED, match_repo
    from pipeline.collect.jsonhttp import Waiter, dockerhub_client

    srv = FakeServer().start()
    try:
        hub = dockerhub_client(srv.hub, tmp_path / "c", Waiter(sleep=lambda s: None))
        named = {f"nobody/img{i:02d}": "compose" for i in range(MAX_NAMED + 5)}
        assert match_repo(hub, "nobody/unnamed-thing", set(), named=named) == []
        pages = [e["key"].split("?")[0] for e in srv.log if "/v2/repositories/nobody/img" in e["key"]]
        assert pages == [f"GET /hub/v2/repositories/nobody/img{i:02d}/" for i in range(MAX_NAMED)]
    finally:
        srv.stop()

"""The whole collection against the study's 3,075 candidates (tests/fakescale.py), with faults.

A stand-in GitHub and Docker Hub generated from the replication package at test time, a
tight primary limit and injected faults (secondary limits, 502s, TCP resets, truncated
JSON): collect must keep exactly the study's 971, no decoy, repeat no request, and stay
within 2.0 requests per candidate with a token.  The Docker Hub images it confirms are
scored against the images the study matched (``final-dataset.csv: docker_images``).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from pipeline.collect import criteria as crit
from pipeline.collect.run import OVERALL, Collector, Settings

from .conftest import REPO_ROOT, make_project
from .fakegithub import FakeServer
from .fakescale import XLSX, hub_name, make_scale_repos, study_matches
from .test_collect import TOKEN

pytestmark = pytest.mark.slow

FAULTS = [("/search/repositories", "secondary"), ("/search/repositories", "502"), ("/graphql", "reset"),
          ("/graphql", "truncated"), ("/git/trees/", "502"), ("/git/trees/", "truncated"),
          ("/git/blobs/", "reset"), ("/git/blobs/", "secondary"), ("/contributors", "truncated"),
          ("/commits", "502"), ("/releases", "reset"), ("/hub/v2/search", "502"), ("/hub/v2/repositories/", "reset")]
QUOTA = 1500  # GitHub answers before each primary-limit refusal (the tight limit)


def collect(root: Path, token: str | None) -> dict[str, Any]:
    srv = FakeServer(make_scale_repos()).start()
    try:
        srv.quota = QUOTA
        only = ("/commits", "/releases") if token else ("/graphql",)  # REST counts only without a token
        srv.faults = [f for f in FAULTS if f[0] not in only]
        waits: list[float] = []
        p = make_project(root)
        c = Collector(p, Settings(api_url=srv.api, hub_url=srv.hub, token=token, sleep=waits.append,
                                  clock=lambda: srv.clock, backoff=0.0, min_interval=0.0))
        words = crit.load_keywords(REPO_ROOT / "taxonomy" / "search_keywords.yaml").resolve(None)
        c.run_search(",".join(words), propose=False)
        c.run_filter()
        c.run_extract()
        print("\n".join(c.summary))
        return {"srv": srv, "faults": list(srv.faults), "waits": waits, "summary": c.summary, "root": root,
                "log": list(srv.log)}
    finally:
        srv.stop()


@pytest.fixture(scope="module")
def token_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return collect(tmp_path_factory.mktemp("scale") / "token", TOKEN)


def interim(run: dict[str, Any], name: str) -> pd.DataFrame:
    return pd.read_csv(run["root"] / "data" / "interim" / name, keep_default_na=False)


def per_step(run: dict[str, Any]) -> dict[str, int]:
    req = interim(run, "collect/requests.csv").set_index("step")
    return {s: int(r["requests"] - r["retries"] + r["cache_hits"]) for s, r in req.iterrows()}


def check_common(run: dict[str, Any]) -> None:
    assert run["faults"] == []  # every fault was met, and survived
    served = [e["key"] for e in run["log"] if e["status"] in (200, 404)]  # not the faults
    assert [k for k, n in Counter(served).items() if n > 1] == []  # nothing answered is asked again
    assert 121.0 in run["waits"] and 7.0 in run["waits"]  # primary limit to its reset; Retry-After
    md = interim(run, "collect/metadata.csv")
    kept = set(md.loc[md["included"].astype(str) == "True", "repo"])
    study = set(pd.read_excel(XLSX, sheet_name="notarchived")["Repos"].astype(str))
    assert len(md) == 3075 and kept == study and len(kept) == 971
    cand = set(interim(run, "collect/candidates.csv")["repo"])
    assert not {r for r in cand if r.startswith(("forker/", "webshop/"))}


def test_token_run_keeps_the_study_971_within_two_requests_per_candidate(token_run: dict[str, Any]) -> None:
    check_common(token_run)
    assert {s: per_step(token_run)[s] for s in OVERALL} == {
        "search": 233, "metadata": 123, "files:tree": 971, "files:blobs": 2567, "evidence": 0,
        "dockerhub": 1503, "contributors": 303}
    assert token_run["summary"][-1].endswith("5700 requests for 3075 candidates = 1.85 per candidate repository")


def test_image_recall_and_precision_on_the_study_matches(token_run: dict[str, Any]) -> None:
    hm = interim(token_run, "collect/hub_matches.csv")
    conf = hm[hm["confirmed"].astype(str) == "True"]
    got = {(r, i.rsplit(":", 1)[0]) for r, i in zip(conf["repo"], conf["image"], strict=True)}
    study = {(r, hub_name(i)) for r, i in study_matches().items()}
    hits = got & study
    assert (len(study), len(got), len(hits)) == (405, 303, 303)
    assert not {i for _, i in got if i.startswith("decoy-")}
    recall, precision = len(hits) / len(study), len(hits) / len(got)
    print(f"image matching on the package's matches: recall {recall:.3f}, precision {precision:.3f}")
    assert (round(recall, 3), precision) == (0.748, 1.0)


def test_anonymous_run_keeps_the_study_971(tmp_path: Path) -> None:
    run = collect(tmp_path / "anon", None)
    check_common(run)
    assert {e["auth"] for e in run["log"]} == {None}
    assert {s: per_step(run)[s] for s in OVERALL} == {
        "search": 233, "metadata": 6150, "files:tree": 971, "files:blobs": 2567, "evidence": 0,
        "dockerhub": 1503, "contributors": 303}  # metadata: commits and releases, one request each
    assert run["summary"][-1].endswith("11727 requests for 3075 candidates = 3.81 per candidate repository")

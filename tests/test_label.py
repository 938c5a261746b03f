"""mldock label: the queue on the real package, the server's guards, agreement by hand, and
the page in a real browser (Debian's chromium + chromium-driver through Selenium)."""

from __future__ import annotations

import http.client
import json
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from pipeline import parse
from pipeline.cli import main
from pipeline.config import Paths
from pipeline.label import agreement as agree
from pipeline.label import categories, run_agreement
from pipeline.label.cards import load_cards, order
from pipeline.label.page import embed_json
from pipeline.label.store import BadRater, labels_path
from pipeline.near_duplicates import load_settings, near_duplicate_pairs
from pipeline.schemas import LABELS
from pipeline.tables import read_table, write_table
from tests.conftest import REPO_ROOT, make_project

SIX = ("Application System", "MLOps/AIOps", "Toolkit", "DL Framework", "Model", "Documentation")
HOSTILE = '<img src=x onerror="document.title=\'pwned\'"><script>document.title="pwned"</script> & "q"'
JS_HOME = "javascript:document.title='pwned'"
SCREENSHOTS = REPO_ROOT / "reports" / "screenshots"


@pytest.fixture(scope="module")
def classified(ingested: Paths, tmp_path_factory: pytest.TempPathFactory) -> Paths:
    """The real package through ingest, parse (corrected) and classify; the first queued
    repository's topics and homepage replaced by hostile markup (its description is left:
    the near-duplicate queue reads it)."""
    p = make_project(tmp_path_factory.mktemp("label"))
    p.data.mkdir()
    (p.data / "raw").symlink_to(ingested.data / "raw", target_is_directory=True)
    shutil.copytree(ingested.interim, p.interim)
    parse.run(p, ("corrected",), workers=2)
    assert main(["-q", "--root", str(p.root), "classify"]) == 0
    first = load_cards(p)[0][0]["repo"]
    repos = read_table("repos", p)
    repos.loc[repos["repo"] == first, "topics"] = json.dumps([HOSTILE, "ok"])
    repos.loc[repos["repo"] == first, "homepage"] = JS_HOME
    write_table(repos, "repos", p)
    return p


def test_categories_are_table_1() -> None:
    assert categories(Paths(REPO_ROOT)) == SIX


def test_near_duplicates_on_the_package(ingested: Paths) -> None:
    pairs = near_duplicate_pairs(read_table("repos", ingested), load_settings(Paths(REPO_ROOT)))
    assert (len(pairs), int((~pairs["same"]).sum())) == (20, 9)
    got = {(a, b) for a, b, s in zip(pairs["repo_a"], pairs["repo_b"], pairs["same"], strict=True) if not s}
    assert ("TuringLang/Turing.jl", "probcomp/Gen.jl") in got
    assert ("dmlc/gluon-nlp", "dmlc/gluon-cv") in got


def _card(repo: str, conf: float | None, review: bool = False) -> dict:
    return {"repo": repo, "confidence": conf, "needs_review": review, "reason": ""}


def test_queue_order_with_and_without_needs_review() -> None:
    pairs = pd.DataFrame({"repo_a": ["d/1", "s/1"], "repo_b": ["d/2", "s/2"], "cosine": [0.9, 0.8],
                          "same": [False, True]})
    cards = [_card("a/x", 0.9), _card("b/x", 0.3), _card("d/2", 0.99), _card("d/1", 0.2),
             _card("s/1", 0.1), _card("r/1", 0.5, review=True), _card("r/2", None, review=True),
             _card("z/z", None)]
    got = [c["repo"] for c in order(cards, pairs)]
    assert got == ["r/1", "r/2", "d/1", "d/2", "s/1", "b/x", "a/x", "z/z"]
    for c in cards:
        c["needs_review"] = False
    assert [c["repo"] for c in order(cards, pairs)] == ["d/1", "d/2", "s/1", "b/x", "r/1", "a/x", "r/2", "z/z"]


def test_cards_from_the_real_tables(classified: Paths) -> None:
    cards, _ = load_cards(classified)
    by = {c["repo"]: c for c in cards}
    assert len(cards) == 406 and cards[0]["topics"] == [HOSTILE, "ok"]
    face = by["1adrianb/face-alignment"]
    assert face["docker"]["dockerfiles"][0]["bases"][0] == {
        "image": "nvidia/cuda:10.1-cudnn7-devel-ubuntu18.04", "type": "Platform Runtime"}
    assert face["docker"]["dockerfiles"][0]["run"]["Dependencies"] >= 2
    proj = read_table("projects", classified).set_index("repo")
    row = proj.loc["1adrianb/face-alignment"]
    # classify's top 2, as it writes them: [[category, probability], ...]
    assert face["suggestion_text"] == "; ".join(f"{c} {v:.2f}" for c, v in json.loads(row["top2"]))
    assert any(c["docker"]["compose"] for c in cards)


def test_top2_column_is_shown_when_present(classified: Paths, tmp_path: Path) -> None:
    p = make_project(tmp_path / "root")
    shutil.copytree(classified.interim, p.interim)
    shutil.copytree(classified.processed, p.processed)
    proj = pd.read_csv(p.table("processed", "projects"), keep_default_na=False, dtype=str)
    proj["needs_review"] = proj["repo"].eq("mindsdb/mindsdb").map({True: "True", False: "False"})
    proj["top2"] = json.dumps([{"category": "Toolkit", "probability": 0.41},
                               {"category": "Model", "probability": 0.3}])
    proj.to_csv(p.table("processed", "projects"), index=False)
    cards, _ = load_cards(p)
    assert cards[0]["repo"] == "mindsdb/mindsdb" and cards[0]["needs_review"]
    assert cards[0]["suggestion_text"] == "Toolkit 0.41; Model 0.30"


def test_json_in_the_page_cannot_close_its_script() -> None:
    text = embed_json({"d": HOSTILE + "</script>\u2028"})
    assert "<" not in text and ">" not in text and "&" not in text and "\u2028" not in text
    assert json.loads(text)["d"] == HOSTILE + "</script>\u2028"


def test_rater_id_must_be_a_file_name(tmp_path: Path) -> None:
    for bad in ("../x", "", ".hidden", "a/b", "x" * 65, "alice\n", "study", "Study"):
        with pytest.raises(BadRater):
            labels_path(Paths(tmp_path), bad)
    assert labels_path(Paths(tmp_path), "rater-1.b").name == "rater-1.b.csv"


def _labels(p: Paths, rater: str, cats: dict[str, str]) -> None:
    df = pd.DataFrame([{"repo": r, "category": c, "note": "", "rater": rater,
                        "timestamp": "2026-01-01T00:00:00Z", "suggestion": ""} for r, c in cats.items()])
    write_table(df, LABELS, p, path=labels_path(p, rater))


def test_alpha_and_kappa_by_hand() -> None:
    """Three raters on three units: (A,A,A), (B,B,B), (A,B,-).  Coincidences o_AA=o_BB=3,
    o_AB=o_BA=1; n=8, n_A=n_B=4: alpha = 1 - 7*2/(4*4*2) = 0.5625."""
    s = {"r1": pd.Series({"u1": "A", "u2": "B", "u3": "A"}), "r2": pd.Series({"u1": "A", "u2": "B", "u3": "B"}),
         "r3": pd.Series({"u1": "A", "u2": "B"})}
    assert agree.alpha(s, ("A", "B")) == (3, 0.5625, round(6 / 7, 4))  # 6 of 7 pairs agree
    # r1 v r2: po = 2/3, pe = (2/3*1/3 + 1/3*2/3) = 4/9: kappa = (2/3-4/9)/(5/9) = 0.4
    assert agree._kappa(s["r1"], s["r2"]) == (3, 0.4, round(2 / 3, 4))


def test_agreement_reports_bad_files_and_three_raters(ingested: Paths, tmp_path: Path) -> None:
    p = make_project(tmp_path / "root")
    shutil.copytree(ingested.interim, p.interim)
    study = read_table("repos", p).query("label_source == 'manual'").set_index("repo")["category"]
    some = list(study.index[:4])
    _labels(p, "r1", {r: study[r] for r in some})
    _labels(p, "r2", {r: study[r] for r in some})
    _labels(p, "r3", {**{r: study[r] for r in some[:3]}, some[3]: "Nonsense"})
    (labels_path(p, "broken")).write_text("what,ever\n1,2\n", encoding="utf-8")
    out = run_agreement(p)
    assert out["raters"] == 3 and out["errors"] == 2
    table = read_table("label_agreement", p)
    vs = table[table["rater_b"] == "study"]
    assert list(vs["n_repos"]) == [4, 4, 3] and list(vs["observed_agreement"]) == [1.0, 1.0, 1.0]
    a = table[table["measure"] == "krippendorff_alpha"].iloc[0]
    assert a["n_repos"] == 4 and a["observed_agreement"] == 1.0
    errs = pd.read_csv(p.table("interim", "label_errors"))
    assert sorted(errs["error_type"]) == ["SchemaError", "UnknownCategory"]
    assert "## r3 against the study's labels" in (p.reports / "labelling.md").read_text(encoding="utf-8")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def server(classified: Paths) -> Iterator[tuple[str, int]]:
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "pipeline.cli", "-q", "--root", str(classified.root),
                             "label", "--rater", "alice", "--port", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}/"
    try:
        for _ in range(300):
            try:
                urllib.request.urlopen(url, timeout=1).close()
                break
            except OSError:
                assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
                time.sleep(0.1)
        yield url, port
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _status(port: int, method: str, path: str, headers: dict[str, str], body: bytes = b"") -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    conn.request(method, path, body=body, headers=headers)
    status = conn.getresponse().status
    conn.close()
    return status


@pytest.fixture(scope="session")
def chrome() -> tuple[str, str]:
    """Debian's chromium and chromedriver, or a skip saying what to install (checked before
    the expensive fixtures)."""
    chromium, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if not (chromium and driver):
        pytest.skip("no browser: install Debian's chromium and chromium-driver "
                    "(scripts/ensure-system-deps chromium chromium-driver)")
    return chromium, driver


def _browser(chrome: tuple[str, str]):  # type: ignore[no-untyped-def]
    chromium, driver = chrome
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = chromium
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1200,1500"):
        opts.add_argument(arg)
    return webdriver.Chrome(service=Service(driver), options=opts)


@pytest.mark.slow
def test_the_page_in_a_browser(chrome: tuple[str, str], classified: Paths,
                               server: tuple[str, int]) -> None:
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    url, port = server
    cards, _ = load_cards(classified)
    first3 = [c["repo"] for c in cards[:3]]
    browser = _browser(chrome)
    try:
        wait = WebDriverWait(browser, 15)
        browser.get(url)

        def progress(text: str) -> None:
            wait.until(lambda b: text in b.find_element(By.ID, "progress").text)

        def keys(k: str) -> None:
            ActionChains(browser).send_keys(k).perform()

        progress("done 0 / to do 406")
        # hostile topics are text, not markup; a javascript: homepage is no link
        topics = browser.find_elements(By.CSS_SELECTOR, "#card .topics span")
        assert [t.text for t in topics] == [HOSTILE, "ok"]
        assert browser.find_elements(By.CSS_SELECTOR, "#card img, #card script, #card a") == []
        assert JS_HOME in browser.find_element(By.CSS_SELECTOR, "#card").text
        keys("1")
        progress("done 1 / to do 405")
        keys("/")
        keys("same text as its twin")
        ActionChains(browser).send_keys("\ue00c").perform()  # Escape leaves the note
        keys("2")
        progress("done 2 / to do 404")
        keys("n")  # to card 4, back to card 3
        progress("(card 4 of 406)")
        # a note on a card not yet labelled is refused, with a message, not dropped
        keys("/")
        keys("a note before a label")
        keys("\ue007")  # Enter
        status = browser.find_element(By.ID, "status")
        wait.until(lambda b: status.text.startswith("note not saved: this card has no label yet"))
        keys("p")  # moving would drop it: refused too
        assert "(card 4 of 406)" in browser.find_element(By.ID, "progress").text
        assert "done 2 / to do 404" in browser.find_element(By.ID, "progress").text
        keys("/")
        browser.find_element(By.ID, "note").clear()
        ActionChains(browser).send_keys("\ue00c").perform()
        keys("p")
        progress("(card 3 of 406)")
        keys("3")
        progress("done 3 / to do 403")
        # a note edited on a labelled card is saved with its label when moving away
        keys("p")
        progress("(card 3 of 406)")
        keys("/")
        keys("edited after a label")
        ActionChains(browser).send_keys("\ue00c").perform()
        keys("n")
        progress("(card 4 of 406)")
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        browser.execute_script("window.scrollTo(0, 0)")
        browser.save_screenshot(str(SCREENSHOTS / "label-page.png"))
        browser.refresh()
        progress("done 3 / to do 403 (card 4 of 406)")
        assert browser.find_element(By.CSS_SELECTOR, "#card h2").text == cards[3]["repo"]
        keys("p")
        progress("(card 3 of 406)")
        chosen = browser.find_element(By.CSS_SELECTOR, "#card .cats button.chosen").text
        assert chosen == f"3 {SIX[2]}"
        browser.execute_script("window.scrollTo(0, 0)")
        browser.save_screenshot(str(SCREENSHOTS / "label-page-reloaded.png"))
        assert browser.title == "mldock label \u2014 alice"
    finally:
        browser.quit()

    saved = read_table(LABELS, classified, path=labels_path(classified, "alice"))
    assert list(saved["repo"]) == sorted(first3)
    saved = saved.set_index("repo")
    assert [saved.loc[r, "category"] for r in first3] == list(SIX[:3])
    assert [saved["note"].fillna("").loc[r] for r in first3] == ["", "same text as its twin",
                                                                 "edited after a label"]
    assert list(saved.loc[first3, "suggestion"]) == [c["suggestion_text"] for c in cards[:3]]
    assert (saved["rater"] == "alice").all() and saved["timestamp"].str.match(r"\d{4}-\d\d-\d\dT").all()

    # writes without the session token, from another origin or for another host are refused
    body = json.dumps({"repo": first3[0], "category": SIX[5]}).encode()
    json_ct = {"Content-Type": "application/json", "Host": f"127.0.0.1:{port}"}
    assert _status(port, "POST", "/api/label", json_ct, body) == 403
    page = urllib.request.urlopen(url, timeout=5).read().decode()
    token = json.loads(page.split('id="data">', 1)[1].split("</script>", 1)[0])["token"]
    assert _status(port, "POST", "/api/label", {**json_ct, "X-Mldock-Token": token,
                                                "Origin": "http://evil.example"}, body) == 403
    assert _status(port, "GET", "/", {"Host": f"evil.example:{port}"}) == 403
    assert _status(port, "POST", "/api/label", {**json_ct, "Host": f"evil.example:{port}",
                                                "X-Mldock-Token": token}, body) == 403
    assert read_table(LABELS, classified, path=labels_path(classified, "alice")).set_index(
        "repo").loc[first3[0], "category"] == SIX[0]

    # a second rater agrees on two of three: po = 2/3; alice's marginals 1/3 on A,M,T, bob's
    # 1/3 on A,M,D: pe = 2 * (1/3 * 1/3) = 2/9; kappa = (2/3 - 2/9) / (1 - 2/9) = 4/7
    _labels(classified, "bob", dict(zip(first3, (SIX[0], SIX[1], SIX[3]), strict=True)))
    assert main(["-q", "--root", str(classified.root), "label", "agreement"]) == 0
    table = read_table("label_agreement", classified).set_index(["rater_a", "rater_b"])
    assert table.loc[("alice", "bob"), "value"] == round(4 / 7, 4)
    assert table.loc[("alice", "bob"), "n_repos"] == 3
    # against the study: only the repositories it labelled (the queue starts with predicted ones)
    study = read_table("repos", classified).set_index("repo")["category"].dropna()
    known = [(r, c) for r, c in zip(first3, SIX[:3], strict=True) if r in study.index]
    vs_study = table.loc[("alice", "study")]
    assert vs_study["n_repos"] == len(known)
    if known:
        assert vs_study["observed_agreement"] == pytest.approx(
            sum(study[r] == c for r, c in known) / len(known), abs=5e-5)
    report = (classified.reports / "labelling.md").read_text(encoding="utf-8")
    assert "| alice | bob | cohen_kappa | 3 | 0.571 | 0.667 |" in report

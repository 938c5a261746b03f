"""Orchestration of the collect steps: search, filter, extract (with step 7, normalise).

Each step reads the previous step's tables under ``data/interim/collect/`` and writes its
own there; HTTP responses are cached under ``data/cache/github/<until>`` and
``data/cache/dockerhub/<until>`` (one cache per collection, keyed by its pinned end date).  A rerun after a crash replays the cache and requests nothing it
already has.  Only step 7 (:func:`normalise`) writes the shared interim tables.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from ..config import Paths, dockerhub_url, github_api_url, github_token
from ..errors import CollectWouldOverwrite, NetworkError, StageInputMissing
from ..outputs import OutputSet, output_set
from ..progress import Bar, Progress, no_progress, track
from ..schemas import TABLES
from ..schemas.inputs import MANUAL
from ..tables import ErrorLog, atomic_write_text, read_package_csv, read_table, write_table
from ..taxonomy import load_orchestration
from . import criteria as crit
from . import dockerhub, files, metadata, search
from .client import GitHub, github_client
from .jsonhttp import HttpClient, Stats, Waiter, dockerhub_client

log = logging.getLogger(__name__)

ITEM_FIELDS = ("full_name", "stargazers_count", "forks_count", "forks", "archived", "size", "language",
               "topics", "description", "homepage", "created_at", "pushed_at", "default_branch",
               "open_issues_count")
"""Search-item fields kept in ``collect/items.json`` (REST-mode metadata needs them)."""


@dataclass
class Settings:
    api_url: str = field(default_factory=github_api_url)
    hub_url: str = field(default_factory=dockerhub_url)
    token: str | None = field(default_factory=github_token)
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.time
    backoff: float = 1.0
    retries: int = 6
    max_wait: float = 3700.0
    secondary_wait: float = 60.0
    graphql: bool = True
    batch: int = 25
    min_interval: float = 0.25
    criteria_file: Path | None = None
    keywords_file: Path | None = None


class Collector:
    """The collect stage over one project root."""

    def __init__(self, p: Paths, settings: Settings | None = None,
                 progress: Progress = no_progress) -> None:
        self.p = p
        self.s = settings or Settings()
        self.progress = progress
        self.dir = p.interim / "collect"
        self.stats = Stats()
        waiter = Waiter(self.s.sleep, self.s.clock, self.s.max_wait, self.stats)
        kw: dict[str, Any] = {"backoff": self.s.backoff, "retries": self.s.retries,
                              "secondary_wait": self.s.secondary_wait}
        self.gh: GitHub = github_client(self.s.api_url, p.cache / "github", self.s.token, waiter=waiter,
                                        min_interval=self.s.min_interval, **kw)
        self.hub: HttpClient = dockerhub_client(self.s.hub_url, p.cache, waiter, **kw)
        self.errors = ErrorLog("collect")
        self.summary: list[str] = []

    # -- helpers ----------------------------------------------------------------------
    def config(self) -> crit.CollectConfig:
        return crit.load_config(self.s.criteria_file or self.p.taxonomy / "inclusion_criteria.yaml")

    def keywords(self) -> crit.Keywords:
        return crit.load_keywords(self.s.keywords_file or self.p.taxonomy / "search_keywords.yaml")

    def path(self, name: str) -> Path:
        return self.dir / f"{name.removeprefix('collect_')}.csv"

    def write(self, df: pd.DataFrame, name: str) -> None:
        write_table(df, name, self.p, path=self.path(name), extra_meta={"api_url": self.s.api_url})

    def read(self, name: str, run: str) -> pd.DataFrame:
        f = self.path(name)
        if not f.exists():
            raise StageInputMissing(str(f), run)
        return read_table(name, self.p, path=f)

    def on_error(self, item: str, exc: BaseException | str, message: str) -> None:
        self.errors.add(item, exc, message)

    def bar(self, total: int, desc: str) -> Bar:
        return self.progress(desc, total, "repo")

    def state(self, until: date | None = None, package: Path | None = None) -> dict[str, Any]:
        """The pinned run state: the search end date stays fixed across resumes.

        ``until`` pins a new end date (a new collection; cached slices of other dates stay).
        """
        f = self.dir / "run.json"
        if f.exists() and until is None:
            st: dict[str, Any] = json.loads(f.read_text(encoding="utf-8"))
        else:
            st = {"until": (until or datetime.now(UTC).date()).isoformat(), "api_url": self.s.api_url,
                  "started": datetime.now(UTC).isoformat(timespec="seconds")}
            if package is not None:
                st["package"] = str(package)
            atomic_write_text(f, json.dumps(st, indent=2) + "\n")
        # one cache per collection: answers that change over time (counts, head SHAs) are
        # replayed within a collection, never into a later one
        self.gh.cache_dir = self.p.cache / "github" / st["until"]
        self.hub.cache_dir = self.p.cache / "dockerhub" / st["until"]
        return st

    @contextmanager
    def step(self, name: str, items: Callable[[], int], parts: tuple[str, ...] = ()) -> Iterator[None]:
        """Count this step's requests; record them in ``collect_requests`` at the end.

        ``parts``: sub-step names the library code switches ``client.step`` to.
        """
        self.gh.step = self.hub.step = name
        names = (name, *parts)
        before = {n: (self.stats.requests[n], self.stats.cache_hits[n], self.stats.retries[n]) for n in names}
        yield
        n_items = items()
        rows = [(n, self.stats.requests[n] - b[0], self.stats.cache_hits[n] - b[1],
                 self.stats.retries[n] - b[2], n_items) for n, b in before.items()]
        if parts:  # the step's own row is the sum of its parts
            tot = [sum(int(r[i]) for r in rows[1:]) for i in (1, 2, 3)]
            rows[0] = (name, tot[0], tot[1], tot[2], n_items)
        self.record_requests(rows)

    def record_requests(self, rows: list[tuple[str, int, int, int, int]]) -> None:
        f = self.path("collect_requests")
        old = read_table("collect_requests", self.p, path=f) if f.exists() else None
        new = pd.DataFrame(
            [{"step": s, "requests": r, "cache_hits": h, "retries": t, "items": n,
              "per_item": round((r - t + h) / n, 3) if n else 0.0} for s, r, h, t, n in rows]
        )
        if old is not None and len(old):
            old = old[~old["step"].isin(new["step"])]
            new = pd.concat([old, new], ignore_index=True)
        self.write(new, "collect_requests")
        for s, r, h, t, n in rows:
            per = f"{(r - t + h) / n:.2f}" if n else "-"
            line = f"{s}: {r} requests ({h} from cache, {t} retries) for {n} items = {per} per item"
            self.summary.append(line)

    def finish(self) -> None:
        """Write ``collect_errors.csv``: this collection's problems (cleared by ``search``)."""
        f = self.p.interim / "collect_errors.csv"
        if f.exists():
            old = pd.read_csv(f, dtype=str, keep_default_na=False).to_dict("records")
            rows = old + [r for r in self.errors.rows if r not in old]
            self.errors.rows[:] = rows
        if len(self.errors) or f.exists():
            self.errors.write(self.p)

    # -- steps 1-2 --------------------------------------------------------------------
    def run_search(self, keywords: str | None = None, propose: bool = True,
                   pages: int = 3, top: int = 30, until: date | None = None) -> pd.DataFrame:
        st = self.state(until)
        if st.get("package"):  # after a --from-package run: a new collection with the criteria
            st = self.state(until or datetime.now(UTC).date())
        until = date.fromisoformat(st["until"])
        (self.p.interim / "collect_errors.csv").unlink(missing_ok=True)  # a new collection
        kws = self.keywords()
        cfg = self.config()
        if propose:
            proposal: list[dict[str, Any]] = []
            with self.step("keywords", lambda: len(kws.seeds)):
                proposal = search.propose_keywords(self.gh, kws.seeds, pages=pages, top=top)
            paper, data = set(kws.sets.get("paper", ())), set(kws.sets.get("data", ()))
            kdf = pd.DataFrame(proposal, columns=["keyword", "count", "seeds", "proposed"])
            kdf["in_paper"] = kdf["keyword"].isin(paper)
            kdf["in_data"] = kdf["keyword"].isin(data)
            self.write(kdf, "collect_keywords")
            if keywords == "proposed":
                keywords = ",".join(kdf.loc[kdf["proposed"], "keyword"])
        elif keywords == "proposed":
            keywords = ",".join(self.read("collect_keywords", "mldock collect search").query("proposed")["keyword"])
        words = kws.resolve(keywords)
        result = search.SearchResult()
        with self.step("search", lambda: len(words)):
            for kw in track(words, self.progress, "search", len(words), "keyword"):
                search.search_keyword(self.gh, kw, cfg.search_qualifiers, until, result)
                self.write(pd.DataFrame(result.slices, columns=TABLES["collect_slices"].column_names),
                           "collect_slices")
        items = result.items
        cand = pd.DataFrame(
            [{"repo": n, "search_topic": result.found_by[n][0], "keywords": json.dumps(result.found_by[n]),
              "created_at": it.get("created_at"), "stars": it.get("stargazers_count"),
              "forks": it.get("forks_count", it.get("forks"))} for n, it in sorted(items.items())],
            columns=TABLES["collect_candidates"].column_names,
        )
        slim = {n: {k: it.get(k) for k in ITEM_FIELDS if k in it} for n, it in items.items()}
        atomic_write_text(self.dir / "items.json", json.dumps(slim, sort_keys=True))
        self.write(cand, "collect_candidates")
        self.summary.insert(0, f"search: {len(words)} keywords, {len(result.slices)} slices, "
                               f"{len(cand)} unique candidate repositories")
        self.finish()
        return cand

    def run_from_package(self, package: Path, until: date | None = None) -> pd.DataFrame:
        """Candidates = exactly the package's studied repositories (``manual-labeling.csv``):
        no search and no criteria, so the study's snapshot can be compared with GitHub today."""
        f = package / MANUAL.path
        manual = read_package_csv(f, MANUAL.columns, rows=True, root=package, label=str(f))
        manual = manual.dropna(subset=["repos"])
        run = self.dir / "run.json"
        pinned = json.loads(run.read_text(encoding="utf-8")).get("package") if run.exists() else None
        if until is None and pinned == str(package):  # a resume, on whatever day: same collection
            self.state()
        else:
            self.state(until or datetime.now(UTC).date(), package=package)
        (self.p.interim / "collect_errors.csv").unlink(missing_ok=True)
        names = list(dict.fromkeys(str(r).strip() for r in manual["repos"]))
        topic = dict(zip(manual["repos"].astype(str).str.strip(), manual["manual_topic"],
                         strict=True))
        cand = pd.DataFrame([{"repo": n, "search_topic": topic.get(n), "keywords": "[]", "created_at": None,
                              "stars": None, "forks": None} for n in sorted(names)],
                            columns=TABLES["collect_candidates"].column_names)
        atomic_write_text(self.dir / "items.json", "{}")
        self.write(cand, "collect_candidates")
        self.summary.insert(0, f"from package: {len(cand)} repositories of {f} (no search, no criteria)")
        self.finish()
        return cand

    def criteria(self) -> tuple[crit.Criterion, ...]:
        """The inclusion criteria; none when collecting the package's own repositories."""
        st = self.state()
        return () if st.get("package") else self.config().criteria

    # -- steps 3-4 --------------------------------------------------------------------
    def run_filter(self) -> pd.DataFrame:
        self.state()
        cand = self.read("collect_candidates", "mldock collect search")
        items_f = self.dir / "items.json"
        items: dict[str, Any] = json.loads(items_f.read_text(encoding="utf-8")) if items_f.exists() else {}
        criteria = self.criteria()
        use_graphql = self.s.graphql and self.gh.authenticated
        if self.s.graphql and not self.gh.authenticated:
            log.warning("no GITHUB_TOKEN: GraphQL needs one; counting with REST (2 requests per repository)")
        names = list(cand["repo"])
        # contributors (one request each) here only when a criterion reads them; else
        # extract counts them for the studied repositories alone
        needs = any(c.column == "contributors" for c in criteria)
        with self.step("metadata", lambda: len(names)):
            bar = self.bar(len(names), "metadata")
            rows = metadata.collect_metadata(
                self.gh, [(n, items.get(n, {})) for n in names], use_graphql=use_graphql,
                batch=self.s.batch, on_error=self.on_error, progress=bar.update,
                wants_contributors=lambda row: needs and crit.passes_without(row, criteria, "contributors"),
            )
            bar.close()
        topic = dict(zip(cand["repo"], cand["search_topic"], strict=True))
        cols = TABLES["collect_metadata"].column_names
        md = pd.DataFrame([{**r, "search_topic": topic[r["repo"]]} for r in rows])
        for c in cols:
            if c not in md.columns:
                md[c] = None
        kept, funnel_rows = crit.apply_criteria(md, criteria)
        md["included"] = md.index.isin(kept.index)
        md["excluded_by"] = crit.first_failed(md, criteria)
        self.write(md[cols], "collect_metadata")
        funnel: list[dict[str, Any]] = [
            {"step": "search", "description": "unique non-fork repositories found by the keyword search",
             "count": len(cand), "removed": None},
            {"step": "metadata", "description": "repositories whose metadata could be read",
             "count": len(md), "removed": len(cand) - len(md)},
            *funnel_rows,
        ]
        self.write_funnel(funnel, "collect_funnel_filter")
        self.summary.append("funnel: " + " -> ".join(f"{r['step']} {r['count']}" for r in funnel))
        self.finish()
        return md

    def write_funnel(self, rows: list[dict[str, Any]], name: str) -> pd.DataFrame:
        df = pd.DataFrame(rows)
        df.insert(0, "order", range(1, len(df) + 1))
        df["source"] = "github"
        write_table(df, "funnel", self.p, path=self.path(name))
        return df

    # -- steps 5-7 --------------------------------------------------------------------
    def run_extract(self, force: bool = False) -> None:
        self.check_overwrite(force)
        self.state()
        md = self.read("collect_metadata", "mldock collect filter")
        inc = md[md["included"] & md["head_sha"].notna()]
        pairs = list(zip(inc["repo"], inc["head_sha"], strict=True))
        with self.step("files", lambda: len(pairs), parts=("files:tree", "files:blobs")):
            bar = self.bar(len(pairs), "files")
            trees: dict[str, list[dict[str, Any]]] = {}
            recs = files.collect_files(self.gh, pairs, self.on_error, progress=bar.update,
                                       wanted=load_orchestration(self.p.taxonomy).wanted, evidence=trees)
            bar.close()
        rows = []
        sha_of = dict(pairs)
        for f in recs:
            kind, reason = files.kind_of(f)
            rows.append({"repo": f.repo, "path": f.path, "head_sha": sha_of[f.repo], "blob_sha": f.blob_sha,
                         "size": f.size, "sha256": hashlib.sha256(f.data).hexdigest(),
                         "name_match": f.name_match, "kind": kind, "reason": reason})
        fdf = pd.DataFrame(rows, columns=TABLES["collect_files"].column_names)
        self.write(fdf, "collect_files")
        dockerfiles: dict[str, set[str]] = {}
        for f, row in zip(recs, rows, strict=True):
            if row["kind"] == "dockerfile":
                text = f.data.decode("utf-8", errors="replace")
                dockerfiles.setdefault(f.repo, set()).add(dockerhub.dockerfile_digest(text))
        known: dict[str, dict[str, bytes]] = {}
        for f in recs:
            known.setdefault(f.repo, {})[f.blob_sha] = f.data
        named = self.image_evidence(sorted(dockerfiles), trees, known)
        with self.step("dockerhub", lambda: len(dockerfiles)):
            bar = self.bar(len(dockerfiles), "docker hub")
            matches = dockerhub.match_all(self.hub, dockerfiles, self.on_error, progress=bar.update, named=named)
            bar.close()
        mdf = pd.DataFrame(matches, columns=TABLES["collect_hub_matches"].column_names)
        mdf = mdf.drop_duplicates(subset=["repo", "image"])
        self.write(mdf, "collect_hub_matches")
        self.count_contributors(md, list(self.select(md, fdf, mdf)[2]["repo"]))
        self.normalise(md, fdf, mdf, {(f.repo, f.path): f.data for f in recs})
        req = read_table("collect_requests", self.p, path=self.path("collect_requests")).set_index("step")
        self.summary.extend(per_candidate(req))
        self.finish()

    def image_evidence(self, repos: list[str], trees: dict[str, list[dict[str, Any]]],
                       known: dict[str, dict[str, bytes]]) -> dict[str, dict[str, str]]:
        """Images each repository's own files name (README, compose, scripts, workflows);
        ``known``: the blobs the files step downloaded (no second request for them)."""
        named: dict[str, dict[str, str]] = {}
        with self.step("evidence", lambda: len(repos)):
            for repo in track(repos, self.progress, "evidence", len(repos), "repo"):
                try:
                    named[repo] = files.image_evidence(self.gh, repo, trees.get(repo, []), known.get(repo))
                except (NetworkError, files.BadBlob, ValueError) as exc:
                    self.on_error(repo, exc, f"{repo}: cannot read image evidence: {exc}")
        return named

    def check_overwrite(self, force: bool) -> None:
        if force:
            return
        rec = self.p.source_record
        if rec.exists():
            info = json.loads(rec.read_text(encoding="utf-8"))
            if info.get("kind") != "github":
                raise CollectWouldOverwrite(
                    f"{self.p.interim} holds tables written by ingest ({info.get('kind')}: {info.get('source')})"
                )
        elif self.p.table("interim", "repos").exists():
            raise CollectWouldOverwrite(f"{self.p.table('interim', 'repos')} exists with no source record")

    def count_contributors(self, md: pd.DataFrame, names: list[str]) -> None:
        """Fill ``md``'s unknown contributor counts of ``names`` (one request each)."""
        todo = [n for n in names if pd.isna(md.loc[md["repo"] == n, "contributors"]).all()]
        with self.step("contributors", lambda: len(todo)):
            for n in track(todo, self.progress, "contributors", len(todo), "repo"):
                try:
                    md.loc[md["repo"] == n, "contributors"] = metadata.contributors(self.gh, n)
                except NetworkError as exc:
                    self.on_error(n, exc, str(exc))

    # -- step 7 -----------------------------------------------------------------------
    def select(self, md: pd.DataFrame, fdf: pd.DataFrame, mdf: pd.DataFrame
               ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, dict[str, list[str]]]:
        """(included, with a Dockerfile, studied, confirmed images by repository)."""
        inc = md[md["included"]]
        has_df = set(fdf.loc[fdf["kind"] == "dockerfile", "repo"])
        conf = mdf[mdf["confirmed"].astype(bool)] if len(mdf) else mdf
        images = {r: sorted(g["image"]) for r, g in conf.groupby("repo")} if len(conf) else {}
        with_df = inc[inc["repo"].isin(has_df)]
        if self.state().get("package"):  # the package's repositories, whatever they hold today
            with_df = studied = inc
        else:
            studied = with_df[with_df["repo"].isin(set(images))] if self.config().require_image else with_df
        return inc, with_df, studied, images

    def normalise(self, md: pd.DataFrame, fdf: pd.DataFrame, mdf: pd.DataFrame,
                  blobs: dict[tuple[str, str], bytes]) -> None:
        cfg = self.config()
        inc, with_df, studied, images = self.select(md, fdf, mdf)
        repos = pd.DataFrame({
            "repo": studied["repo"], "in_final_dataset": True, "search_topic": studied["search_topic"],
            "commits": studied["commits"], "contributors": studied["contributors"],
            "issues": studied["issues"], "pulls": studied["pulls"], "releases": studied["releases"],
            "size_kb": studied["size_kb"], "stars": studied["stars"], "forks": studied["forks"],
            "open_issues": studied["open_issues"], "archived": studied["archived"],
            "created_at": studied["created_at"], "updated_at": studied["pushed_at"],
            "language": studied["language"], "homepage": studied["homepage"],
            "description": studied["description"], "topics": studied["topics"],
            "default_branch": studied["default_branch"], "head_sha": studied["head_sha"],
        })
        by_repo = fdf.groupby("repo")
        n_named = by_repo["name_match"].apply(lambda s: int((s == "dockerfile").sum())).to_dict() if len(fdf) else {}
        repos["docker_files_count"] = repos["repo"].map(n_named).fillna(0).astype(int)
        repos["total_dockerfiles"] = repos["docker_files_count"]
        repos["raw_label"] = None
        repos["category"] = None
        repos["label_source"] = None
        repos["images"] = repos["repo"].map(lambda r: json.dumps(images.get(r, [])))
        repos["inspect_ok"] = None
        repos["source"] = "github"
        in_study = set(repos["repo"])
        out_files = fdf[fdf["repo"].isin(set(inc["repo"]))].copy()
        out_files["raw_path"] = [f"raw/files/{r}/{p_}" for r, p_ in zip(out_files["repo"], out_files["path"], strict=True)]
        out_files["in_study"] = out_files["repo"].isin(in_study)
        out_files["name_escaped"] = False  # GitHub paths are text
        out_files = out_files[TABLES["files"].column_names]
        filt = pd.read_csv(self.path("collect_funnel_filter"), keep_default_na=False)
        funnel_rows = [
            {k: (None if v == "" else v) for k, v in r.items() if k in ("step", "description", "count", "removed")}
            for r in filt.to_dict("records")
        ]
        funnel_rows.append({"step": "dockerfile", "description": "included repositories with at least one Dockerfile (by content)",
                            "count": len(with_df), "removed": len(inc) - len(with_df)})
        if cfg.require_image:
            funnel_rows.append({"step": "images", "description": "repositories with a confirmed Docker Hub image",
                                "count": len(studied), "removed": len(with_df) - len(studied)})
        funnel = self.write_funnel(funnel_rows, "collect_funnel")
        # everything computed: now write the shared interim layout
        record = {"kind": "github", "source": self.s.api_url, "dockerhub": self.s.hub_url,
                  "date": datetime.now(UTC).isoformat(timespec="seconds")}
        with output_set(self.p, "collect") as out:  # one set, source.json last
            atomic_write_text(self.p.source_record, json.dumps(record, indent=2) + "\n")
            self.copy_raw(out_files, blobs, out)
            write_table(repos, "repos", self.p)
            write_table(funnel, "funnel", self.p)
            write_table(out_files, "files", self.p)
        self.summary.append(
            f"extract: {len(out_files)} files of {len(inc)} included repositories; "
            f"{len(with_df)} with a Dockerfile; {len(repos)} studied (confirmed image: {len(images)})"
        )

    def copy_raw(self, out_files: pd.DataFrame, blobs: dict[tuple[str, str], bytes],
                 out: OutputSet) -> None:
        """Write the copies into a staged tree that replaces ``data/raw/files`` on commit."""
        tmp = out.stage_dir(self.p.raw_files)
        for r, pth in zip(out_files["repo"], out_files["path"], strict=True):
            dst = tmp / r / pth
            dst.parent.mkdir(parents=True, exist_ok=True)
            dst.write_bytes(blobs[(r, pth)])


OVERALL = ("search", "metadata", "files:tree", "files:blobs", "evidence", "dockerhub", "contributors")


def per_candidate(req: pd.DataFrame) -> list[str]:
    """Summary lines: requests per candidate for metadata + file listing, and overall.

    A request counts once however it was served (network or cache), retries not included,
    so a resumed run reports the figure of an uninterrupted one.
    """
    if "metadata" not in req.index or not req.loc["metadata", "items"]:
        return []
    n = int(req.loc["metadata", "items"])

    def logical(steps: tuple[str, ...]) -> int:
        return sum(int(req.loc[s, "requests"] - req.loc[s, "retries"] + req.loc[s, "cache_hits"])
                   for s in steps if s in req.index)

    listing, overall = logical(("metadata", "files:tree")), logical(OVERALL)
    return [f"metadata + file listing: {listing} requests for {n} candidates = {listing / n:.2f} per candidate repository",
            f"overall ({' + '.join(OVERALL)}): {overall} requests for {n} candidates = "
            f"{overall / n:.2f} per candidate repository"]


"""Images stage: replication-package Table 2 and Figure 5 inputs; live mode end to end."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
import zstandard

from pipeline.config import Paths
from pipeline.core.modes import convert_size
from pipeline.images import live, package
from pipeline.images.registry import RegistryClient
from pipeline.images.table2 import size_text, table2
from pipeline.schemas import PACKAGE_TABLES
from pipeline.tables import read_table
from pipeline.taxonomy import load_categories
from tests import registry_fixtures as rf
from tests.conftest import make_project
from tests.registry_fixtures import (
    MT_OCI_TAR,
    MT_OCI_ZSTD,
    AuthProxy,
    E,
    Registry,
    gz,
    make_tar,
    push_image,
)
from tests.test_layers import _bomb, three_layers

registry = rf.registry  # fixtures
auth_proxy = rf.auth_proxy

TARGETS = Path(__file__).resolve().parents[2] / "shared" / "docs" / "paper_targets.json"


# ======================================================================================
# replication-package mode
# ======================================================================================


@pytest.fixture(scope="module")
def manifest_data(ingested: Paths) -> package.ManifestData:
    return package.load_manifest(ingested)


@pytest.fixture(scope="module")
def img2repos(ingested: Paths) -> dict[str, list[str]]:
    return package.image_repo_map(ingested)


def test_manifest_csvs_and_header_shift(manifest_data: package.ManifestData) -> None:
    assert len(manifest_data.config) == 512 and len(manifest_data.details) == 9315
    row = next(c for c in manifest_data.config if c["Image"] == "arunothia/cs-221")
    # the column named rootfs_layers_count holds the diff_ids, '/'-joined with a trailing '/'
    assert row["diff_ids"].startswith("sha256:") and row["diff_ids"].endswith("/")
    assert row["diff_ids"].count("sha256:") == 16


def test_image_to_repository_first_match(img2repos: dict[str, list[str]]) -> None:
    assert img2repos["arunothia/cs-221"] == ["keras-team/keras", "keras-team/autokeras"]
    assert img2repos["ultralytics/yolov5"] == ["ultralytics/yolov5"]
    assert img2repos["datmo/xgboost"] == ["dmlc/xgboost"]


# values checked by hand with grep/awk on the raw CSVs (see the report):
#   arunothia/cs-221: 2 identical config rows (Manifest_Config_info.csv and " 4.csv"),
#     config_size 14488, Env 16, 16 diff_ids; 32 layer rows = 2 x 16 digests, Σ 9,268,747,312
#   ultralytics/yolov5: 1 config row, 50741 bytes, Env 52, 65 diff_ids; 65 layer rows with
#     64 distinct digests (the empty layer appears twice), Σ 7,424,057,612
#   datmo/xgboost:cpu-python2.7: 8044 bytes, Env 4, 23 diff_ids; 23 layer rows, 18 distinct
PAPER_REPO_VALUES = {
    # repo: (config_rows, conf_size, env, layers, rootfs, layers_size)
    "keras-team/keras": (2, 28976.0, 32.0, 16, 34.0, 9268747312.0),
    "ultralytics/yolov5": (1, 50741.0, 52.0, 64, 66.0, 7424057612.0),
    "dmlc/xgboost": (1, 8044.0, 4.0, 18, 24.0, 448363251.0),
}
CORRECTED_REPO_VALUES = {
    "keras-team/keras": (1, 14488.0, 16.0, 16, 16.0, 4634373656.0),
    "keras-team/autokeras": (1, 14488.0, 16.0, 16, 16.0, 4634373656.0),
    "ultralytics/yolov5": (1, 50741.0, 52.0, 64, 65.0, 7424057612.0),
    "dmlc/xgboost": (1, 8044.0, 4.0, 18, 23.0, 448363251.0),
}
COLS = ["config_rows", "conf_size", "env", "layers", "rootfs", "layers_size"]


@pytest.mark.parametrize("mode, expected", [("paper", PAPER_REPO_VALUES), ("corrected", CORRECTED_REPO_VALUES)])
def test_repo_stats_hand_checked(manifest_data, img2repos, mode, expected) -> None:  # type: ignore[no-untyped-def]
    st = package.repo_stats(manifest_data, img2repos, mode).set_index("repo")
    for repo, vals in expected.items():
        assert tuple(st.loc[repo, COLS]) == vals, (mode, repo)
        assert json.loads(st.loc[repo, "architectures"]) == ["amd64"]
    if mode == "paper":
        assert "keras-team/autokeras" not in st.index  # dropped by the first-match rule
        assert len(st) == 369
    else:
        assert len(st) == 376


def test_convert_size_and_units() -> None:
    assert convert_size(11635) == 11.36
    assert convert_size(14068) == 13.74
    assert size_text(11635) == "11.36 KiB"
    assert size_text(2_208_312_661.5) == "2.06 GiB"


def _paper_row(targets: dict, paper_name: str) -> dict:  # type: ignore[type-arg]
    t = targets["rq4_table2"][paper_name]
    return {k: t[k]["data_value"] for k in ("conf_size", "env", "layers", "rootfs")} | {
        "layers_size": t["layers_size_not_printed"]["data_value"]}


def test_table2_from_explicit_mapping(shared_package: Path, ingested: Paths, manifest_data, img2repos) -> None:  # type: ignore[no-untyped-def]
    """The code path of Table 2 on an explicit repo -> category mapping.

    Our copy's labels are incomplete in every category, so the published values are only
    matched where the medians happen to coincide: Application System (115 of the 141
    config repositories labelled) gives exactly the published row.
    """
    targets = json.loads(TARGETS.read_text())
    repos = pd.read_csv(shared_package / "RQ1" / "final-dataset.csv", dtype=str, keep_default_na=False)
    repos = repos[repos.iloc[:, 0].str.strip() != ""]
    labels = dict(zip(repos.iloc[:, 0], repos["manual_topic"], strict=True))
    app = {r: "Application System" for r, lab in labels.items() if lab in ("application", "application/autopilot")}
    t2 = package.table2_from_mapping(ingested, app, "paper").set_index("category")
    row = t2.loc["Application System"]
    want = _paper_row(targets, "Application System")
    assert (row.conf_size, row.env, row.layers, row.rootfs, row.layers_size) == (
        want["conf_size"], want["env"], want["layers"], want["rootfs"], want["layers_size"])
    assert row.arch == "amd64, arm, arm64" and row.os == "linux"
    assert (row.n_repos, row.n_layer_repos) == (115, 127)
    # every repository in one category: the contributing repositories are the study's totals
    # (study.md 5.3: 341 with config data, 369 with manifest layer data)
    everything = {r: "All" for r in labels}
    allrow = table2(package.repo_stats(manifest_data, img2repos, "paper"), everything).iloc[0]
    assert (allrow.n_repos, allrow.n_layer_repos) == (341, 369)
    assert allrow.arch == "amd64, arm, arm64, s390x" and allrow.os == "linux, windows"


@pytest.fixture(scope="module")
def replicated(tmp_path_factory: pytest.TempPathFactory, ingested: Paths) -> Paths:
    p = make_project(tmp_path_factory.mktemp("images_repl"))
    p.interim.mkdir(parents=True)
    for f in ("repos.csv", "repos.csv.meta.json", "source.json",
              *(f"{t}.csv" for t in PACKAGE_TABLES)):
        shutil.copy(ingested.interim / f, p.interim / f)
    from pipeline.cli import main

    assert main(["--quiet", "--root", str(p.root), "images", "--replication"]) == 0
    return p


def test_replication_table2_with_our_labels(replicated: Paths) -> None:
    t2 = read_table("images_table2", replicated)
    assert len(t2) == 12
    paper = t2[t2["mode"] == "paper"].set_index("category")
    got = {c: (r.conf_size, r.arch, r.os, r.env, r.layers, r.rootfs, r.n_repos, r.n_manual)
           for c, r in paper.iterrows()}
    assert got == {
        "Application System": (11.36, "amd64, arm, arm64", "linux", 8.0, 17.0, 19.0, 115, 115),
        "MLOps/AIOps": (12.45, "amd64", "linux", 9.0, 13.5, 19.5, 62, 62),
        "Toolkit": (12.3, "amd64, s390x", "linux, windows", 8.0, 17.0, 20.5, 40, 40),
        "DL Framework": (12.37, "amd64", "linux, windows", 10.0, 15.0, 18.0, 44, 44),
        "Model": (12.02, "amd64", "linux", 8.5, 19.0, 20.0, 8, 8),
        "Documentation": (9.28, "amd64", "linux", 7.0, 13.0, 14.0, 3, 3),
    }
    corr = t2[t2["mode"] == "corrected"].set_index("category")
    assert corr.loc["Application System", "conf_size_text"] == "9.73 KiB"
    assert corr.loc["Application System", "rootfs"] == 15.0
    assert paper["files"].isna().all() and paper["max_level"].isna().all()
    stats = read_table("images_repo_stats", replicated)
    assert stats.groupby("mode").size().to_dict() == {"corrected": 376, "paper": 369}
    k = stats[(stats["mode"] == "paper") & (stats["repo"] == "keras-team/keras")].iloc[0]
    assert pd.isna(k.category) and k.conf_size == 28976.0  # keras: label blank in this copy


def test_replication_figure5_inputs(replicated: Paths) -> None:
    num = read_table("file_types_by_num", replicated)
    size = read_table("file_types_by_size", replicated)
    pn = num[num["mode"] == "paper"]
    assert len(pn) == 1963 - 0 and pn["repo"].isna().all()
    assert pn.groupby("category").size().to_dict() == {
        "Application System": 473, "DL Framework": 420, "Documentation": 70,
        "MLOps/AIOps": 549, "Model": 112, "Toolkit": 339}
    # the published means are the means of the box values
    means = pn.groupby(["category", "file_type"])["perc_number"].mean()
    assert round(means[("Toolkit", ".csl")], 4) == 39.4564
    assert round(means[("DL Framework", "Python")], 4) == 19.0329
    first = pn[(pn["category"] == "Model") & (pn["rank"] == 1)]["file_type"].unique().tolist()
    assert first == ["C/C++"]
    ps = size[size["mode"] == "paper"]
    assert len(ps) == 70
    a = ps[(ps["category"] == "Model") & (ps["file_type"] == ".a")].iloc[0]
    assert a.size_mb == 872.87
    cs = size[size["mode"] == "corrected"]
    assert cs.groupby("category").size().to_dict() == {c: 12 for c in load_categories().ids}
    top = cs[(cs["category"] == "DL Framework") & (cs["rank"] == 1)].iloc[0]
    assert (top.file_type, top.size_mb, top.perc_size, top.n_repos) == ("ELF/COFF", 11129.8012, 54.863375, 8)
    cn = num[num["mode"] == "corrected"]
    assert len(cn) == 327 and cn.groupby("category")["repo"].nunique().to_dict() == {
        "Application System": 73, "DL Framework": 37, "Documentation": 3, "MLOps/AIOps": 40,
        "Model": 7, "Toolkit": 39}


# ======================================================================================
# live mode through a real registry
# ======================================================================================


def _push_fixture_images(base: str) -> None:
    raws = [make_tar(ls) for ls in three_layers()]
    blobs = [gz(raws[0]), zstandard.ZstdCompressor().compress(raws[1]), raws[2]]
    push_image(base, "live/app", "1", blobs, oci=True, uncompressed=raws,
               layer_types=["application/vnd.oci.image.layer.v1.tar+gzip", MT_OCI_ZSTD, MT_OCI_TAR],
               env=["A=1", "B=2", "PATH=/bin"])
    ok = gz(make_tar([E("ok.txt", data=b"fine")]))
    truncated = gz(make_tar([E(f"f{i}", data=bytes(range(256)) * 40) for i in range(10)]))
    truncated = truncated[: len(truncated) // 2]
    push_image(base, "live/hostile", "1", [ok, _bomb(64 << 20), truncated, ok + b"x"],
               layer_types=[rf.MT_DOCKER_LAYER, rf.MT_DOCKER_LAYER, rf.MT_DOCKER_LAYER,
                            "application/vnd.example.unknown"])


def test_live_images_end_to_end(registry: Registry, tmp_path: Path) -> None:
    _push_fixture_images(registry.url)
    p = make_project(tmp_path / "proj")
    client = RegistryClient(endpoint=registry.url, cache_dir=tmp_path / "cache")
    counts = live.run_live(
        p, [("x.io/live/app:1", "owner/app"), ("x.io/live/hostile:1", ""), ("x.io/live/missing:1", "")],
        client, max_layer_bytes=16 << 20)
    assert counts == {"references": 3, "images": 2, "layers": 7, "errors": 4}
    im = read_table("images", p).set_index("reference")
    a = im.loc["x.io/live/app:1"]
    assert (a.repo, a.platform, a.media_type, a.architecture, a.env_count, a.layers, a.rootfs_diff_ids) == (
        "owner/app", "linux/amd64", "application/vnd.oci.image.manifest.v1+json", "amd64", 3, 3, 3)
    raws = [make_tar(ls) for ls in three_layers()]
    assert a.uncompressed_size == sum(len(r) for r in raws)
    assert (a.files, a.final_files, a.final_size, a.max_depth, a.status) == (23, 18, 204, 7, "ok")
    h = im.loc["x.io/live/hostile:1"]
    assert (h.status, h.layers, h.files) == ("layer_too_large", 4, 1)
    assert pd.isna(h.uncompressed_size)
    la = read_table("layers", p)
    st = la[la["reference"] == "x.io/live/hostile:1"].sort_values("index")
    assert st["status"].tolist() == ["ok", "layer_too_large", "layer_truncated", "unsupported_media_type"]
    app = la[la["reference"] == "x.io/live/app:1"].sort_values("index")
    assert app["compression"].tolist() == ["gzip", "zstd", "none"]
    assert app["whiteouts"].tolist() == [0, 2, 0] and app["opaque_dirs"].tolist() == [0, 1, 0]
    assert app["entries"].tolist() == [16, 5, 2] and app["symlinks"].tolist() == [1, 0, 0]
    assert app["unsafe_names"].tolist() == [0, 1, 0] and app["hardlinks"].tolist() == [1, 0, 0]
    ft = read_table("image_file_types", p)
    cf = ft[(ft["mode"] == "corrected") & (ft["view"] == "final") & (ft["reference"] == "x.io/live/app:1")]
    assert dict(zip(cf["file_type"], zip(cf["files"], cf["bytes"], strict=True), strict=True)) == {
        "no extension": (2, 12), "Executable": (1, 100), "ELF/COFF": (1, 50), "Python": (1, 20),
        "Data/ DB": (1, 3), "archive": (1, 8), "DOC": (1, 6), "Shell": (1, 4), "C/C++": (1, 1)}
    assert round(cf["perc_number"].sum(), 6) == 100.0
    # paper: every layer's non-directory entries incl. whiteout markers, the study's labels,
    # singleton labels replaced by file_categories_dir(path) (worked out by hand)
    pl = ft[(ft["mode"] == "paper") & (ft["view"] == "layers") & (ft["reference"] == "x.io/live/app:1")]
    assert dict(zip(pl["file_type"], zip(pl["files"], pl["bytes"], strict=True), strict=True)) == {
        "certif/ keys": (2, 22), "PEP": (2, 100), "lib": (1, 50), "Data/ DB": (5, 22),
        "Python": (1, 20), "Node/js": (1, 7), "Model/ Weight": (1, 30), "bin": (1, 0),
        ".sh": (1, 4), "/dev/null": (1, 0), "wh": (2, 0), "/a/b/c/d/e/f/g.h": (1, 1)}
    errs = pd.read_csv(p.interim / "images_errors.csv")
    assert sorted(errs["error_type"]) == ["RegistryError", "layer_too_large", "layer_truncated",
                                          "unsupported_media_type"]
    assert errs["message"].str.contains("not found").sum() == 1
    # a second run uses the cache only: no blob is fetched twice
    client2 = RegistryClient(endpoint=registry.url, cache_dir=tmp_path / "cache")
    live.run_live(p, [("x.io/live/app:1", "owner/app")], client2)
    assert client2.stats["blob_gets"] == 0


def test_digest_mismatch_is_an_error_row(auth_proxy: AuthProxy, registry: Registry, tmp_path: Path) -> None:
    from pipeline.images.file_types import load_file_types
    from pipeline.tables import ErrorLog

    # an uncompressed layer: flipping its last byte (tar padding) keeps it a valid tar
    layer = make_tar([E("a", data=b"1" * 100)])
    push_image(registry.url, "live/tampered", "1", [layer], oci=True, layer_types=[MT_OCI_TAR])
    c = RegistryClient(endpoint=auth_proxy.url, cache_dir=tmp_path)
    errors = ErrorLog("images")
    ft = load_file_types(Path(__file__).resolve().parents[1] / "taxonomy" / "file_types.yaml")
    auth_proxy.faults = [("/blobs/sha256:" + rf.digest_of(layer)[7:], "tamper-last")]
    res = live.analyse_image(c, "x.io/live/tampered:1", ft, errors)
    assert [r["status"] for r in res.layers] == ["digest_mismatch"]
    assert res.images[0]["status"] == "digest_mismatch"
    assert [r["error_type"] for r in errors.rows] == ["digest_mismatch"]
    cached = {f.name for f in (tmp_path / "blobs").rglob("*") if f.is_file()}
    assert rf.digest_of(layer)[7:] not in cached  # a bad blob never enters the cache
    assert len(cached) == 1  # the config


def test_cli_requires_a_source(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from pipeline.cli import main

    p = make_project(tmp_path / "p")
    assert main(["--root", str(p.root), "images"]) == 2
    assert "give --replication, --image REF or --from-repos" in capsys.readouterr().err


def test_cli_live_image_through_registry(registry: Registry, tmp_path: Path) -> None:
    from pipeline.cli import main

    push_image(registry.url, "cli/app", "2", [gz(make_tar([E("bin/tool", data=b"t" * 9, mode=0o755)]))])
    p = make_project(tmp_path / "p")
    rc = main(["--quiet", "--root", str(p.root), "images", "--image", "x.io/cli/app:2",
               "--registry-url", registry.url, "--cache-dir", str(tmp_path / "c"),
               "--listings", str(tmp_path / "lst")])
    assert rc == 0
    [listing] = list((tmp_path / "lst").glob("*.csv.gz"))
    got_rows = pd.read_csv(listing, dtype=str, keep_default_na=False).values.tolist()
    # class_paper is file_categories2 of the name key 'tool' (no rule matches: the key itself)
    assert got_rows == [
        ["0", "bin/tool", "file", "9", "0o755", "2", "", "", "none", "tool", "Executable"],
        ["final", "bin/tool", "file", "9", "0o755", "2", "", "", "none", "tool", "Executable"],
    ]
    row = read_table("images", p).iloc[0]
    assert (row.reference, row.files, row.final_size, row.max_depth, row.status) == (
        "x.io/cli/app:2", 1, 9, 2, "ok")
    ft = read_table("image_file_types", p)
    got = ft[(ft["mode"] == "corrected") & (ft["view"] == "final")][["file_type", "files"]].values.tolist()
    assert got == [["Executable", 1]]
    assert (tmp_path / "c" / "blobs" / "sha256").is_dir()


def test_rate_limit_stops_the_run_but_keeps_finished_images(
    auth_proxy: AuthProxy, registry: Registry, tmp_path: Path
) -> None:
    from pipeline.errors import RateLimited

    push_image(registry.url, "rl3/a", "1", [gz(make_tar([E("a", data=b"1")]))])
    push_image(registry.url, "rl3/b", "1", [gz(make_tar([E("b", data=b"2")]))])
    p = make_project(tmp_path / "p")
    c = RegistryClient(endpoint=auth_proxy.url, sleep=lambda s: None, max_retries=1)
    auth_proxy.faults = [("/rl3/b/", "429")] * 5
    with pytest.raises(RateLimited):
        live.run_live(p, [("x.io/rl3/a:1", ""), ("x.io/rl3/b:1", "")], c)
    assert read_table("images", p)["reference"].tolist() == ["x.io/rl3/a:1"]
    errs = pd.read_csv(p.interim / "images_errors.csv")
    assert errs[["item", "error_type"]].values.tolist() == [["x.io/rl3/b:1", "RateLimited"]]


class _Recorder:
    """A Progress that records each bar it opens and the steps it advanced."""

    def __init__(self) -> None:
        self.bars: list[list[object]] = []

    def __call__(self, desc: str, total: int | None = None, unit: str = "it") -> _Recorder:
        self.bars.append([desc, total, unit, 0, False])
        return self

    def update(self, n: int = 1) -> None:
        self.bars[-1][3] += n  # type: ignore[operator]

    def close(self) -> None:
        self.bars[-1][4] = True


def test_run_live_reports_progress_per_reference(registry: Registry, tmp_path: Path) -> None:
    push_image(registry.url, "prog/a", "1", [gz(make_tar([E("a", data=b"1")]))])
    rec = _Recorder()
    counts = live.run_live(make_project(tmp_path / "p"), [("x.io/prog/a:1", ""), ("x.io/prog/none:1", "")],
                           RegistryClient(endpoint=registry.url), progress=rec)
    assert (counts["images"], counts["errors"]) == (1, 1)
    assert rec.bars == [["images", 2, "image", 2, True], ["layers", 1, "layer", 1, True]]


def test_run_replication_reports_progress_per_mode(tmp_path: Path, ingested: Paths) -> None:
    p = make_project(tmp_path / "p")
    p.interim.mkdir(parents=True)
    for f in ("repos.csv", "source.json", *(f"{t}.csv" for t in PACKAGE_TABLES)):
        shutil.copy(ingested.interim / f, p.interim / f)
    rec = _Recorder()
    assert package.run_replication(p, rec) == {"repos": 369, "table2_rows": 12, "by_num": 2290,
                                               "by_size": 142}
    assert rec.bars == [["images", 2, "mode", 2, True]]


def test_live_table2_per_category(registry: Registry, tmp_path: Path) -> None:
    base = registry.url
    l1 = make_tar([E("a", data=b"1" * 10)])
    l2 = make_tar([E("x/y/z", data=b"2" * 5)])
    l3 = make_tar([E("k", data=b"3")])
    push_image(base, "t2/m1", "1", [gz(l1)], uncompressed=[l1], env=["A=1", "B=2"])
    push_image(base, "t2/m2", "1", [gz(l1), gz(l2)], uncompressed=[l1, l2], env=["A=1", "B=2", "C=3", "D=4"])
    push_image(base, "t2/t1", "1", [gz(l1), gz(l2), gz(l3)], uncompressed=[l1, l2, l3], arch="arm64")
    p = make_project(tmp_path / "p")
    p.interim.mkdir(parents=True)
    pd.DataFrame({"repo": ["o/r1", "o/r2", "o/r3", "o/r4"],
                  "category": ["Model", "Model", "Toolkit", ""],
                  "label_source": ["manual", "manual", "", ""]}).to_csv(p.interim / "repos.csv", index=False)
    c = RegistryClient(endpoint=base)
    live.run_live(p, [("x.io/t2/m1:1", "o/r1"), ("x.io/t2/m2:1", "o/r2"), ("x.io/t2/t1:1", "o/r3"),
                        ("x.io/t2/t1:1", "o/r4")], c)
    t2 = read_table("images_table2_live", p).set_index("category")
    m = t2.loc["Model"]
    assert (m.n_repos, m.n_manual, m.env, m.layers, m.rootfs, m.files, m.max_level, m.arch) == (
        2, 2, 3.0, 1.5, 1.5, 1.5, 2.0, "amd64")
    t = t2.loc["Toolkit"]
    assert (t.n_repos, t.n_manual, t.layers, t.rootfs, t.files, t.max_level, t.arch) == (
        1, 0, 3.0, 3.0, 3.0, 3.0, "arm64")
    assert list(t2.index) == ["Toolkit", "Model"] and set(t2["mode"]) == {"live"}


def test_corrupt_cached_layer_is_an_error_row_then_refetched(registry: Registry, tmp_path: Path) -> None:
    from pipeline.images.file_types import load_file_types
    from pipeline.tables import ErrorLog

    layer = gz(make_tar([E("f", data=b"z" * 50)]))
    push_image(registry.url, "live/cached", "1", [layer])
    ft = load_file_types(Path(__file__).resolve().parents[1] / "taxonomy" / "file_types.yaml")
    cache = tmp_path / "cache"
    cached = cache / "blobs" / "sha256" / rf.digest_of(layer)[7:]
    cached.parent.mkdir(parents=True)
    cached.write_bytes(gz(make_tar([E("f", data=b"y" * 50)])))  # wrong content under the name
    errors = ErrorLog("images")
    res = live.analyse_image(RegistryClient(endpoint=registry.url, cache_dir=cache),
                               "x.io/live/cached:1", ft, errors)
    assert [r["status"] for r in res.layers] == ["digest_mismatch"] and not cached.exists()
    res2 = live.analyse_image(RegistryClient(endpoint=registry.url, cache_dir=cache),
                                "x.io/live/cached:1", ft, errors)
    assert [r["status"] for r in res2.layers] == ["ok"] and cached.read_bytes() == layer
    assert len(errors) == 1

"""Ingest on hostile packages (issue 12): mutated copies of the real replication package.

Each test copies ``../shared/ease2022`` into ``tmp_path``, breaks one thing, runs the real
``mldock ingest`` in a child process and checks the exact message, the exit code, that the
unrelated rows are all there (compared with a clean run) and that no partial file is left.
"""

from __future__ import annotations

import csv
import hashlib
import http.server
import os
import resource
import shutil
import socket
import subprocess
import sys
import threading
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from xml.etree import ElementTree

import pandas as pd
import pytest

from pipeline import ingest
from pipeline.config import Paths
from pipeline.core.dockerfile import MAX_BYTES
from pipeline.errors import SourceInvalid
from pipeline.ingest_checks import (
    RATIO_MIN_BYTES,
    ZIP_MAGIC,
    ZipLimits,
    check_download,
    check_members,
)
from pipeline.schemas import FILES, errors_table
from pipeline.tables import ErrorLog, read_table

from .conftest import REPO_ROOT, make_project

LATEST = Path(ingest.LOGS) / "keras-team" / "keras" / "latest"
VICTIM = ("keras-team/keras", ".devcontainer/Dockerfile")  # the file a test replaces
HINT = ("; point --from at the package's Datasets/ folder, a folder containing it, "
        "or the EASE2022-main zip")


@dataclass
class Run:
    code: int
    out: str
    err: str
    maxrss_kb: int

    @property
    def lines(self) -> list[str]:
        return self.err.strip().splitlines()


def mldock(root: Path, *args: str, timeout: float = 300) -> Run:
    """The real CLI in a child process (a hang fails the test: ``timeout``).

    ``maxrss_kb`` is the peak resident memory of the largest child this test process has
    waited for so far (``RUSAGE_CHILDREN``): an upper bound for this run's.
    """
    proc = subprocess.run([sys.executable, "-m", "pipeline.cli", "--quiet", "--root", str(root), *args],
                          capture_output=True, timeout=timeout, cwd=REPO_ROOT, check=False)
    rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return Run(proc.returncode, proc.stdout.decode("utf-8"), proc.stderr.decode("utf-8"), rss)


def package(tmp_path: Path, shared: Path) -> Path:
    """A private copy of the replication package (regular files, no links)."""
    pkg = tmp_path / "Datasets"
    shutil.copytree(shared, pkg, copy_function=shutil.copyfile)
    for d, _, _ in os.walk(pkg):  # the shared copy is read-only; this one is ours to break
        os.chmod(d, 0o755)
    return pkg


def leftovers(root: Path) -> list[str]:
    """Temporary or partial files a run may have left under ``root/data``."""
    pats = ("*.tmp", "*.part", ".files.*", ".EASE2022-main.*", ".*.zip.*")
    return sorted(str(f) for pat in pats for f in (root / "data").rglob(pat))


def errors_rows(p: Paths) -> list[list[str]]:
    return read_table(errors_table("ingest"), p).astype(str).values.tolist()


def files_without(files: pd.DataFrame, *keys: tuple[str, str]) -> pd.DataFrame:
    drop = files[["repo", "path"]].apply(tuple, axis=1).isin(set(keys))
    return files[~drop].reset_index(drop=True)


# --------------------------------------------------------------------------------------
# 1. only regular files inside the package are read
# --------------------------------------------------------------------------------------


def _replace_victim(pkg: Path) -> Path:
    f = pkg / LATEST / ".devcontainer" / "Dockerfile"
    f.unlink()
    return f


def _one_bad_file(tmp_path: Path, pkg: Path, bad: Path, message: str, ingested: Paths) -> Run:
    """Run ingest; assert exit 0, one warning line, one error row, every other row kept."""
    p = make_project(tmp_path / "proj")
    run = mldock(p.root, "ingest", "--from", str(pkg))
    assert run.code == 0, run.err
    assert run.lines == [f"WARNING pipeline.tables: {bad}: UnsafeFile: {message}"]
    assert errors_rows(p) == [["ingest", str(bad), "UnsafeFile", message]]
    clean = read_table("files", ingested)
    pd.testing.assert_frame_equal(read_table("files", p), files_without(clean, VICTIM))
    assert len(read_table("repos", p)) == 406
    assert int((read_table("repos", p)["label_source"] == "manual").sum()) == 326
    assert not (p.raw_files / VICTIM[0] / VICTIM[1]).exists()
    assert leftovers(p.root) == []
    return run


@pytest.mark.slow
def test_fifo_named_dockerfile(tmp_path: Path, shared_package: Path, ingested: Paths) -> None:
    pkg = package(tmp_path, shared_package)
    bad = _replace_victim(pkg)
    os.mkfifo(bad)
    _one_bad_file(tmp_path, pkg, bad, "a FIFO, not a regular file; not read", ingested)


@pytest.mark.slow
def test_symlink_to_dev_zero(tmp_path: Path, shared_package: Path, ingested: Paths) -> None:
    pkg = package(tmp_path, shared_package)
    bad = _replace_victim(pkg)
    bad.symlink_to("/dev/zero")
    run = _one_bad_file(tmp_path, pkg, bad, "symbolic link to /dev/zero, outside the package; not followed",
                        ingested)
    assert run.maxrss_kb < 1024 * 1024  # was: read until MemoryError


@pytest.mark.slow
def test_symlink_out_of_the_package(tmp_path: Path, shared_package: Path, ingested: Paths) -> None:
    pkg = package(tmp_path, shared_package)
    secret = tmp_path / "secret" / "Dockerfile"
    secret.parent.mkdir()
    secret.write_bytes(b"FROM alpine\nRUN echo outside-secret\n")
    bad = _replace_victim(pkg)
    bad.symlink_to(secret)
    p = tmp_path / "proj"
    _one_bad_file(tmp_path, pkg, bad, f"symbolic link to {secret}, outside the package; not followed", ingested)
    copied = [f for f in (p / "data" / "raw").rglob("*") if f.is_file() and b"outside-secret" in f.read_bytes()]
    assert copied == []


@pytest.mark.slow
def test_symlinked_folder_out_of_the_package(tmp_path: Path, shared_package: Path, ingested: Paths) -> None:
    pkg = package(tmp_path, shared_package)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "Dockerfile").write_bytes(b"FROM alpine\n")
    folder = pkg / LATEST / ".devcontainer"
    shutil.rmtree(folder)
    folder.symlink_to(outside, target_is_directory=True)
    _one_bad_file(tmp_path, pkg, folder,
                  f"symbolic link to {outside}, outside the package; not followed", ingested)


@pytest.mark.slow
def test_symlink_inside_the_package_is_followed(tmp_path: Path, shared_package: Path, ingested: Paths) -> None:
    pkg = package(tmp_path, shared_package)
    bad = _replace_victim(pkg)
    target = pkg / ingest.LOGS / "esmBot" / "esmBot" / "latest" / "Dockerfile.api"
    bad.symlink_to(os.path.relpath(target, bad.parent))
    p = make_project(tmp_path / "proj")
    run = mldock(p.root, "ingest", "--from", str(pkg))
    assert (run.code, run.lines, errors_rows(p)) == (0, [], [])
    files = read_table("files", p)
    clean = read_table("files", ingested)
    pd.testing.assert_frame_equal(files_without(files, VICTIM), files_without(clean, VICTIM))
    row = files[(files["repo"] == VICTIM[0]) & (files["path"] == VICTIM[1])].iloc[0]
    esm = clean[(clean["repo"] == "esmBot/esmBot") & (clean["path"] == "Dockerfile.api")].iloc[0]
    assert (row["sha256"], row["size"], row["kind"]) == (esm["sha256"], esm["size"], esm["kind"])
    assert (p.data / row["raw_path"]).read_bytes() == target.read_bytes()
    assert not (p.data / row["raw_path"]).is_symlink()


@pytest.mark.slow
def test_socket_named_dockerfile(tmp_path: Path, shared_package: Path, ingested: Paths,
                                 monkeypatch: pytest.MonkeyPatch) -> None:
    pkg = package(tmp_path, shared_package)
    bad = _replace_victim(pkg)
    monkeypatch.chdir(bad.parent)  # a socket path is limited to 108 bytes: bind a relative one
    with socket.socket(socket.AF_UNIX) as s:
        s.bind(bad.name)
        _one_bad_file(tmp_path, pkg, bad, "a socket, not a regular file; not read", ingested)


@pytest.mark.slow
def test_device_named_dockerfile(tmp_path: Path, shared_package: Path, ingested: Paths) -> None:
    pkg = package(tmp_path, shared_package)
    bad = _replace_victim(pkg)
    try:
        os.mknod(bad, 0o600 | 0o020000, os.makedev(1, 5))  # a character device like /dev/zero
    except PermissionError:
        pytest.skip("creating a device node needs root")
    _one_bad_file(tmp_path, pkg, bad, "a character device, not a regular file; not read", ingested)


@pytest.mark.slow
def test_file_over_the_size_limit(tmp_path: Path, shared_package: Path, ingested: Paths) -> None:
    pkg = package(tmp_path, shared_package)
    bad = _replace_victim(pkg)
    bad.write_bytes(b"FROM alpine\n" + b"#" * MAX_BYTES)
    _one_bad_file(tmp_path, pkg, bad, f"file too large ({MAX_BYTES + 12} bytes > {MAX_BYTES}); not read",
                  ingested)


# --------------------------------------------------------------------------------------
# 2. names that are not UTF-8
# --------------------------------------------------------------------------------------


@pytest.mark.slow
def test_name_not_utf8_kept_escaped_and_parsed(tmp_path: Path, shared_package: Path, ingested: Paths) -> None:
    pkg = package(tmp_path, shared_package)
    src = pkg / LATEST / ".devcontainer" / "Dockerfile"
    raw_name = os.fsencode(src.parent) + b"/Dockerfile.\xff\xfe"
    with open(raw_name, "wb") as fh:
        fh.write(src.read_bytes())
    p = make_project(tmp_path / "proj")
    run = mldock(p.root, "ingest", "--from", str(pkg))
    assert (run.code, run.lines, errors_rows(p)) == (0, [], [])
    text = (p.interim / "files.csv").read_bytes().decode("utf-8")  # strict: valid UTF-8
    assert "Dockerfile.\\xff\\xfe" in text
    files = read_table("files", p)
    escaped = ".devcontainer/Dockerfile.\\xff\\xfe"
    new = files[files["name_escaped"]]
    assert new[["repo", "path", "raw_path"]].values.tolist() == [
        ["keras-team/keras", escaped, f"raw/files/keras-team/keras/{escaped}"]]
    pd.testing.assert_frame_equal(files_without(files, ("keras-team/keras", escaped)),
                                  read_table("files", ingested))
    copy = os.fsencode(p.raw_files) + b"/keras-team/keras/.devcontainer/Dockerfile.\xff\xfe"
    with open(copy, "rb") as fh:
        assert fh.read() == src.read_bytes()
    assert new.iloc[0]["kind"] == "dockerfile"

    parse = mldock(p.root, "parse", "--mode", "both")
    assert parse.code == 0
    assert not [line for line in parse.lines if "Dockerfile.\\x" in line or "Traceback" in line
                or "UnicodeEncodeError" in line]
    for name in ("dockerfiles", "instructions", "base_images", "run_commands"):
        df = read_table(name, p)
        df = df[df["repo"] == "keras-team/keras"]
        mine = df[df["path"] == escaped].drop(columns="path").reset_index(drop=True)
        twin = df[df["path"] == VICTIM[1]].drop(columns="path").reset_index(drop=True)
        assert len(mine) > 0, name
        pd.testing.assert_frame_equal(mine, twin)
    assert not read_table(errors_table("parse"), p)["item"].str.contains("keras-team/keras").any()


# --------------------------------------------------------------------------------------
# 3. the package is validated before anything is written
# --------------------------------------------------------------------------------------


@pytest.fixture()
def previous(tmp_path: Path, ingested: Paths) -> tuple[Paths, dict[str, bytes]]:
    """A project holding a good ingest's outputs, and their bytes."""
    p = make_project(tmp_path / "proj")
    shutil.copytree(ingested.data, p.data, symlinks=True)
    return p, snapshot(p)


def snapshot(p: Paths) -> dict[str, bytes]:
    return {str(f.relative_to(p.data)): f.read_bytes() for f in sorted(p.data.rglob("*")) if f.is_file()}


def _refused(prev: tuple[Paths, dict[str, bytes]], pkg: Path, message: str) -> None:
    p, before = prev
    run = mldock(p.root, "ingest", "--from", str(pkg))
    assert (run.code, run.lines) == (1, [f"mldock: error: {message}{HINT}"])
    assert snapshot(p) == before
    assert leftovers(p.root) == []


def test_logs_is_a_file(tmp_path: Path, shared_package: Path, previous: tuple[Paths, dict[str, bytes]]) -> None:
    pkg = package(tmp_path, shared_package)
    shutil.rmtree(pkg / ingest.LOGS)
    (pkg / ingest.LOGS).write_text("not a folder\n")
    _refused(previous, pkg, f"{pkg}: not a complete replication package, "
                            "raw-data/Dockerfiles/logs is not a folder")


def test_manual_labeling_without_rows(tmp_path: Path, shared_package: Path,
                                      previous: tuple[Paths, dict[str, bytes]]) -> None:
    pkg = package(tmp_path, shared_package)
    f = pkg / ingest.MANUAL
    header = f.read_bytes().splitlines(keepends=True)[0]
    f.write_bytes(header)
    _refused(previous, pkg, f"{f}: has a header but no rows")


def test_manual_topic_renamed(tmp_path: Path, shared_package: Path,
                              previous: tuple[Paths, dict[str, bytes]]) -> None:
    pkg = package(tmp_path, shared_package)
    f = pkg / ingest.MANUAL
    f.write_bytes(f.read_bytes().replace(b"repos,manual_topic,", b"repos,manual_topics,", 1))
    from pipeline.schemas.inputs import MANUAL

    _refused(previous, pkg, f"{f}: no column 'manual_topic' in the header (expected {', '.join(MANUAL.columns)})")


def test_csv_with_unclosed_quote(tmp_path: Path, shared_package: Path,
                                 previous: tuple[Paths, dict[str, bytes]]) -> None:
    pkg = package(tmp_path, shared_package)
    f = pkg / ingest.FINAL
    with open(f, encoding="utf-8-sig", newline="") as fh:
        records = sum(1 for _ in csv.reader(fh))  # the header is row 0: the new record's row
    f.write_bytes(f.read_bytes() + b'broken/repo,"an unclosed quote\nnext,line\n')
    _refused(previous, pkg, f"{f}: unreadable CSV (ParserError: Error tokenizing data. "
                            f"C error: EOF inside string starting at row {records})")


def test_xlsx_with_broken_xml(tmp_path: Path, shared_package: Path,
                              previous: tuple[Paths, dict[str, bytes]]) -> None:
    pkg = package(tmp_path, shared_package)
    f = pkg / ingest.XLSX
    good = zipfile.ZipFile(shared_package / ingest.XLSX)
    f.unlink()
    with good, zipfile.ZipFile(f, "w", zipfile.ZIP_DEFLATED) as out:
        for info in good.infolist():
            data = good.read(info)
            if info.filename == "xl/workbook.xml":
                data = data[: len(data) // 2]
                with pytest.raises(ElementTree.ParseError) as what:  # what the XML parser says
                    ElementTree.fromstring(data)
            out.writestr(info, data)
    _refused(previous, pkg, f"{f}: unreadable spreadsheet (ParseError: {what.value})")


# --------------------------------------------------------------------------------------
# 4. zips and downloads
# --------------------------------------------------------------------------------------


def make_zip(out: Path, pkg: Path, skip: str = "") -> Path:
    """``pkg`` zipped like GitHub's archive (stored: quick to build), ``skip`` left out."""
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_STORED) as zf:
        for f in sorted(pkg.rglob("*")):
            rel = f.relative_to(pkg).as_posix()
            if f.is_file() and rel != skip:
                zf.write(f, "EASE2022-main/Datasets/" + rel)
    return out


def _external(p: Paths) -> list[str]:
    return sorted(str(f.relative_to(p.external)) for f in p.external.glob("*")) if p.external.exists() else []


@pytest.mark.slow
def test_zip_lacking_a_csv_then_corrected(tmp_path: Path, shared_package: Path, ingested: Paths) -> None:
    p = make_project(tmp_path / "proj")
    z = make_zip(tmp_path / "EASE2022-main.zip", shared_package, skip=ingest.FINAL)
    run = mldock(p.root, "ingest", "--from", str(z))
    assert (run.code, run.lines) == (1, [
        f"mldock: error: {z}:EASE2022-main/Datasets: not a complete replication package, "
        f"missing {ingest.FINAL}{HINT}"])
    assert _external(p) == [] and leftovers(p.root) == []
    assert not p.interim.exists() or not any(p.interim.iterdir())
    make_zip(z, shared_package)  # the corrected zip, same name
    run = mldock(p.root, "ingest", "--from", str(z))
    assert run.code == 0, run.err
    assert _external(p) == ["EASE2022-main"] and leftovers(p.root) == []
    pd.testing.assert_frame_equal(read_table("files", p), read_table("files", ingested))
    pd.testing.assert_frame_equal(read_table("repos", p), read_table("repos", ingested))


def _rq1(tmp_path: Path, shared: Path) -> Path:
    """A folder with the package's two RQ1 CSVs only (enough to start an extraction)."""
    small = tmp_path / "small"
    for rel in (ingest.MANUAL, ingest.FINAL):
        (small / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shared / rel, small / rel)
    return small


def _corrupt(z: Path, member: str) -> None:
    """Flip one byte inside ``member``'s stored data (its CRC no longer matches)."""
    with zipfile.ZipFile(z) as zf:
        info = zf.getinfo(member)
    data = bytearray(z.read_bytes())
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    data[start + 10] ^= 0xFF
    z.write_bytes(bytes(data))


def test_zip_with_bad_crc(tmp_path: Path, shared_package: Path,
                          previous: tuple[Paths, dict[str, bytes]]) -> None:
    p, before = previous
    z = make_zip(tmp_path / "EASE2022-main.zip", _rq1(tmp_path, shared_package))
    member = f"EASE2022-main/Datasets/{ingest.MANUAL}"
    _corrupt(z, member)
    run = mldock(p.root, "ingest", "--from", str(z))
    assert (run.code, run.lines) == (1, [f"mldock: error: {z}: corrupt zip (BadZipFile: Bad CRC-32 for file "
                                         f"'{member}'){HINT}"])
    assert snapshot(p) == before and leftovers(p.root) == []
    assert not (p.external / "EASE2022-main").exists()


def test_zip_member_over_the_ratio_limit(tmp_path: Path, previous: tuple[Paths, dict[str, bytes]]) -> None:
    p, before = previous
    z = tmp_path / "EASE2022-main.zip"
    with zipfile.ZipFile(z, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("EASE2022-main/Datasets/RQ1/manual-labeling.csv", b"0" * (64 << 20))
    ratio = zipfile.ZipFile(z).infolist()[0]
    run = mldock(p.root, "ingest", "--from", str(z))
    times = ratio.file_size / ratio.compress_size
    assert (run.code, run.lines) == (1, [
        f"mldock: error: {z}: member EASE2022-main/Datasets/RQ1/manual-labeling.csv unpacks {times:.0f} "
        "times its compressed size (limit 100); raise --max-ratio or $MLDOCK_ZIP_MAX_RATIO if the zip "
        "is trusted"])
    assert snapshot(p) == before and leftovers(p.root) == [] and _external(p) == []


def test_zip_over_the_unpacked_size_limit(tmp_path: Path, shared_package: Path,
                                          previous: tuple[Paths, dict[str, bytes]]) -> None:
    p, before = previous
    z = make_zip(tmp_path / "EASE2022-main.zip", _rq1(tmp_path, shared_package))
    total = sum(i.file_size for i in zipfile.ZipFile(z).infolist())
    run = mldock(p.root, "ingest", "--from", str(z), "--max-unpacked", "1000000")
    assert (run.code, run.lines) == (1, [
        f"mldock: error: {z}: zip unpacks to {total} bytes (limit 1000000); raise --max-unpacked or "
        "$MLDOCK_ZIP_MAX_BYTES if the zip is trusted"])
    assert snapshot(p) == before and leftovers(p.root) == [] and _external(p) == []


@pytest.fixture()
def server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A loopback HTTP server for ``tmp_path/www``: (base URL, folder)."""
    www = tmp_path / "www"
    www.mkdir()

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *a, **kw):  # type: ignore[no-untyped-def]
            super().__init__(*a, directory=str(www), **kw)

        def log_message(self, *a):  # type: ignore[no-untyped-def]
            pass

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{srv.server_address[1]}", www
    finally:
        srv.shutdown()
        srv.server_close()


HTML = b"<!DOCTYPE html><html><body>Sign in to continue</body></html>\n"


def test_url_answering_html_is_not_kept(server: tuple[str, Path],
                                        previous: tuple[Paths, dict[str, bytes]]) -> None:
    p, before = previous
    base, www = server
    (www / "EASE2022-main.zip").write_bytes(HTML)
    url = f"{base}/EASE2022-main.zip"
    p.external.mkdir(parents=True, exist_ok=True)
    stale = p.external / ".EASE2022-main.zip.k1ll3d00.part"  # of a download killed earlier
    stale.write_bytes(b"PK\x03\x04 half a download")
    for _ in range(2):  # the second run downloads again: no "earlier download" kept
        run = mldock(p.root, "ingest", "--from", url)
        assert (run.code, run.lines) == (1, [
            f"mldock: error: {url}: the download is not a zip file (it starts with {HTML[:16]!r}); "
            "check the URL"])
        assert not stale.exists()
        assert snapshot(p) == before and leftovers(p.root) == [] and _external(p) == []


@pytest.mark.slow
def test_earlier_html_download_is_replaced(tmp_path: Path, shared_package: Path, server: tuple[str, Path],
                                           ingested: Paths) -> None:
    """An HTML page an older version kept as the download is discarded and fetched again."""
    base, www = server
    make_zip(www / "EASE2022-main.zip", shared_package)
    p = make_project(tmp_path / "proj")
    p.external.mkdir(parents=True)
    (p.external / "EASE2022-main.zip").write_bytes(HTML)
    run = mldock(p.root, "ingest", "--from", f"{base}/EASE2022-main.zip")
    assert run.code == 0, run.err
    assert run.lines == [
        f"WARNING pipeline.ingest: discarding the earlier download: {p.external / 'EASE2022-main.zip'}: "
        f"the download is not a zip file (it starts with {HTML[:16]!r}); check the URL"]
    assert (p.external / "EASE2022-main.zip").read_bytes() == (www / "EASE2022-main.zip").read_bytes()
    pd.testing.assert_frame_equal(read_table("files", p), read_table("files", ingested))
    assert leftovers(p.root) == []


def test_files_schema_declares_the_flag() -> None:
    col = next(c for c in FILES.columns if c.name == "name_escaped")
    assert (col.dtype, col.nullable) == ("bool", False)


def test_limits_in_the_environment_must_be_numbers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLDOCK_ZIP_MAX_BYTES", "1GB")
    with pytest.raises(SourceInvalid) as exc:
        ZipLimits.from_env()
    assert str(exc.value) == ("$MLDOCK_ZIP_MAX_BYTES: not a number: '1GB'; "
                              "set $MLDOCK_ZIP_MAX_BYTES to a number or unset it")


def test_truncated_download_says_to_download_again(tmp_path: Path) -> None:
    z = tmp_path / "EASE2022-main.zip"
    z.write_bytes(ZIP_MAGIC + b"\0" * 12)
    with pytest.raises(SourceInvalid) as exc:
        check_download(z, "http://x/EASE2022-main.zip", ZipLimits(), expected=100)
    assert str(exc.value) == ("http://x/EASE2022-main.zip: the download is truncated (16 of 100 bytes); "
                              "run the command again to download it again")


def test_raw_copy_is_the_bytes_read_not_a_second_read(tmp_path: Path, shared_package: Path) -> None:
    """A file changed between the read and the copy: the copy still matches files.sha256."""
    from pipeline.outputs import output_set

    pkg = tmp_path / "Datasets"
    src = pkg / LATEST / VICTIM[1]
    src.parent.mkdir(parents=True)
    shutil.copy(shared_package / LATEST / VICTIM[1], src)
    errors = ErrorLog("ingest")
    res = ingest.build_files(pkg, {VICTIM[0]}, errors)
    assert errors.rows == [] and res.table[["repo", "path"]].values.tolist() == [list(VICTIM)]
    first = (shared_package / LATEST / VICTIM[1]).read_bytes()
    src.write_bytes(b"FROM swapped:in\n")  # swapped after ingest read it
    p = make_project(tmp_path / "proj")
    with output_set(p, "ingest") as out:
        ingest._copy_raw_files(res.copies, p, out)
    copy = p.data / res.table.loc[0, "raw_path"]
    assert copy.read_bytes() == first
    assert hashlib.sha256(copy.read_bytes()).hexdigest() == res.table.loc[0, "sha256"]


def test_default_zip_limits_admit_the_real_package(tmp_path: Path, shared_package: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """The real package, deflated as a zip, passes the default size and ratio limits."""
    monkeypatch.delenv("MLDOCK_ZIP_MAX_BYTES", raising=False)
    monkeypatch.delenv("MLDOCK_ZIP_MAX_RATIO", raising=False)
    z = tmp_path / "EASE2022-main.zip"
    with zipfile.ZipFile(z, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for f in sorted(shared_package.rglob("*")):
            if f.is_file():
                zf.write(f, "EASE2022-main/Datasets/" + f.relative_to(shared_package).as_posix())
    infos = zipfile.ZipFile(z).infolist()
    limits = ZipLimits.from_env()
    assert limits == ZipLimits()
    check_members(infos, limits, str(z))  # raises SourceInvalid when a limit refuses it
    checked = [i for i in infos if i.file_size >= RATIO_MIN_BYTES]
    assert checked  # the ratio limit is exercised by real members
    assert max(i.file_size / i.compress_size for i in checked) < limits.max_ratio
    assert sum(i.file_size for i in infos) < limits.max_bytes

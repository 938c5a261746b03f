"""Stream scan of layer blobs, whiteouts, extensions and file-type classes (pure, no network)."""

from __future__ import annotations

import gzip
import io
import os
import tracemalloc
import zlib
from pathlib import Path

import pytest
import zstandard

from pipeline.errors import TaxonomyError
from pipeline.images.file_types import (
    check_extension,
    corrected_type_counts,
    load_file_types,
    paper_extension,
    paper_type_counts,
    real_extension,
)
from pipeline.images.layers import (
    DigestMismatch,
    LayerCorrupt,
    LayerTooLarge,
    LayerTruncated,
    merge_layers,
    scan_layer,
)
from tests.registry_fixtures import E, digest_of, gz, make_tar

TAXONOMY = Path(__file__).resolve().parents[1] / "taxonomy" / "file_types.yaml"
ODD = "app/weird\udcff\u540d.txt"  # an invalid UTF-8 byte (0xff) and a CJK character


def three_layers() -> list[list[E]]:
    l0 = [
        E("etc/", "dir"), E("usr/", "dir"), E("usr/bin/", "dir"), E("usr/lib/", "dir"),
        E("usr/lib/data/", "dir"), E("app/", "dir"), E("app/old/", "dir"),
        E("etc/passwd", data=b"0123456789"),
        E("usr/bin/python3.11", data=b"p" * 100, mode=0o755),
        E("usr/lib/libfoo.so.6", data=b"l" * 50),
        E("usr/lib/data/a.txt", data=b"aaaaa"),
        E("app/main.py", data=b"m" * 20),
        E("app/old/x.json", data=b"{}12345"),
        E("app/model.pt", data=b"w" * 30),
        E("usr/bin/python", "symlink", link="python3.11"),
        E("usr/bin/py3", "hardlink", link="usr/bin/python3.11"),
    ]
    l1 = [
        E("app/.wh.model.pt"),
        E("app/old/.wh..wh..opq"),
        E("app/old/new.csv", data=b"1,2"),
        E("usr/lib/.wh.data"),
        E("./a.tar.gz", data=b"t" * 8),
        E(ODD, data=b"odd!!!"),
        E("../../escape.sh", data=b"#!sh"),
        E("dev/null", "device"),
    ]
    l2 = [E("/etc/passwd", data=b"x" * 12), E("a/b/c/d/e/f/g.h", data=b"h")]
    return [l0, l1, l2]


def test_scan_counts_kinds_sizes_depths() -> None:
    scans = [scan_layer(io.BytesIO(gz(make_tar(ls)))) for ls in three_layers()]
    s0, s1, s2 = scans
    assert s0.counts() == {"file": 7, "dir": 7, "symlink": 1, "hardlink": 1, "device": 0}
    assert (len(s0.entries), s0.file_bytes, s0.max_depth) == (16, 222, 4)
    assert s0.whiteouts == [] and s0.opaque_dirs == []
    assert s1.counts() == {"file": 4, "dir": 0, "symlink": 0, "hardlink": 0, "device": 1}
    assert (s1.whiteouts, s1.opaque_dirs) == (["app/model.pt", "usr/lib/data"], ["app/old"])
    assert (s1.file_bytes, s1.max_depth, s1.unsafe_names) == (21, 3, 1)
    paths = {e.path for e in s1.entries}
    assert paths == {"app/old/new.csv", "a.tar.gz", "app/weird\\xff\u540d.txt", "escape.sh", "dev/null"}
    assert (len(s2.entries), s2.max_depth, s2.file_bytes) == (2, 7, 13)
    link = next(e for e in s0.entries if e.kind == "symlink")
    assert (link.path, link.link, link.size, link.depth) == ("usr/bin/python", "python3.11", 0, 3)
    assert all(s.compression == "gzip" for s in scans)
    raw = make_tar(three_layers()[0])
    assert s0.uncompressed_size == len(raw)


def test_whiteouts_and_opaque_dirs_give_the_final_file_system() -> None:
    scans = [scan_layer(io.BytesIO(gz(make_tar(ls)))) for ls in three_layers()]
    final = merge_layers(scans)
    assert sorted(final) == sorted([
        "etc", "usr", "usr/bin", "usr/lib", "app", "app/old",
        "etc/passwd", "usr/bin/python3.11", "usr/lib/libfoo.so.6", "app/main.py",
        "usr/bin/python", "usr/bin/py3",
        "app/old/new.csv", "a.tar.gz", "app/weird\\xff\u540d.txt", "escape.sh", "dev/null",
        "a/b/c/d/e/f/g.h",
    ])
    assert final["etc/passwd"].size == 12  # upper layer wins
    assert sum(e.size for e in final.values() if e.kind == "file") == 204
    assert max(e.depth for e in final.values()) == 7


def test_same_layer_entries_survive_their_own_opaque_marker() -> None:
    lower = scan_layer(io.BytesIO(make_tar([E("d/old", data=b"1")])))
    upper = scan_layer(io.BytesIO(make_tar([E("d/new", data=b"2"), E("d/.wh..wh..opq")])))
    assert sorted(merge_layers([lower, upper])) == ["d/new"]
    # a file replacing a directory hides the directory's lower children
    l2 = scan_layer(io.BytesIO(make_tar([E("x/", "dir"), E("x/y", data=b"1")])))
    l3 = scan_layer(io.BytesIO(make_tar([E("x", data=b"22")])))
    assert {p: e.kind for p, e in merge_layers([l2, l3]).items()} == {"x": "file"}


def test_compressions_zstd_and_plain_and_multimember_gzip() -> None:
    raw = make_tar(three_layers()[0])
    z = scan_layer(io.BytesIO(zstandard.ZstdCompressor().compress(raw)))
    p = scan_layer(io.BytesIO(raw))
    half = len(raw) // 2
    m = scan_layer(io.BytesIO(gz(raw[:half]) + gz(raw[half:]) + b"\0" * 512))
    for s in (z, p, m):
        assert (len(s.entries), s.file_bytes, s.uncompressed_size) == (16, 222, len(raw))
    assert (z.compression, p.compression, m.compression) == ("zstd", "none", "gzip")


def test_digest_verified() -> None:
    blob = gz(make_tar([E("a", data=b"1")]))
    s = scan_layer(io.BytesIO(blob), expected_digest=digest_of(blob))
    assert s.digest == digest_of(blob) and s.compressed_size == len(blob)
    with pytest.raises(DigestMismatch, match="expected sha256:0000"):
        scan_layer(io.BytesIO(blob), expected_digest="sha256:" + "0" * 64)


def _bomb(n_bytes: int) -> bytes:
    """gzip of a tar holding one file of ``n_bytes`` zeros, built in pieces."""
    import tarfile

    ti = tarfile.TarInfo("bomb.bin")
    ti.size = n_bytes
    z = zlib.compressobj(9, zlib.DEFLATED, 31)
    out = [z.compress(ti.tobuf(format=tarfile.GNU_FORMAT))]
    zero = bytes(1 << 20)
    for _ in range(n_bytes >> 20):
        out.append(z.compress(zero))
    out.append(z.compress(bytes(1024)))
    out.append(z.flush())
    return b"".join(out)


def test_gzip_bomb_stops_at_the_limit_without_memory_growth() -> None:
    bomb = _bomb(256 << 20)
    assert len(bomb) < 400_000
    tracemalloc.start()
    with pytest.raises(LayerTooLarge, match="exceeds the 8,388,608 byte limit"):
        scan_layer(io.BytesIO(bomb), max_uncompressed=8 << 20)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 8 << 20


def test_large_layer_scan_memory_is_flat() -> None:
    blob = _bomb(64 << 20)
    tracemalloc.start()
    s = scan_layer(io.BytesIO(blob))
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert s.file_bytes == 64 << 20 and s.uncompressed_size == (64 << 20) + 1536
    assert peak < 8 << 20


def test_truncated_and_corrupt_blobs() -> None:
    files = [E(f"f{i}", data=os.urandom(3000)) for i in range(20)]
    raw = make_tar(files)
    g = gz(raw)
    with pytest.raises(LayerTruncated):
        scan_layer(io.BytesIO(g[: len(g) // 2]))
    z = zstandard.ZstdCompressor().compress(raw)
    with pytest.raises((LayerTruncated, LayerCorrupt)):
        scan_layer(io.BytesIO(z[: len(z) // 2]))
    with pytest.raises(LayerTruncated):
        scan_layer(io.BytesIO(raw[: len(raw) // 2 + 100]))
    with pytest.raises(LayerCorrupt):
        scan_layer(io.BytesIO(b"\x1f\x8b" + os.urandom(1000)))
    with pytest.raises(LayerCorrupt):
        scan_layer(io.BytesIO(b"this is not a tar file at all" * 40))


# ------------------------------------------------------------------ extensions
@pytest.mark.parametrize(
    "name, paper, save, real",
    [
        ("a.tar.gz", ".tar.1", ".tar", ".tar.gz"),
        ("libfoo.so.6", ".so.1", ".so", ".so"),
        ("x.cpython-37m-x86_64-linux-gnu.so", ".cpython-37m-x86_64-linux-gnu.1",
         ".cpython-37m-x86_64-linux-gnu", ".so"),
        ("Homo_sapiens.GRCh38.SIFT.1.2.gz", ".GRCh38.1.2.3.4", ".GRCh38", ".gz"),
        ("README", "none", "none", ""),
        (".bashrc", "none", "none", ""),
        ("python3.11", ".11", ".11", ""),
        ("libc.so.6", ".so.1", ".so", ".so"),
        ("jquery.min.js", ".min.1", ".min", ".js"),
    ],
)
def test_extensions(name: str, paper: str, save: str, real: str) -> None:
    assert paper_extension(name) == (paper, save)
    assert real_extension(name) == real


def test_check_extension() -> None:
    assert check_extension("README", "none") == "README"
    assert check_extension("python3.11", ".11") == "python3.11"
    assert check_extension("libc.so.6", ".so.1") == ".so.1"
    assert check_extension("x..y", "..y") == ".y"


# ------------------------------------------------------------------ classes
@pytest.fixture(scope="module")
def ft():  # type: ignore[no-untyped-def]
    return load_file_types(TAXONOMY)


# the resolutions table of original-rules.md 2.11, produced by the original function
PAPER_TABLE = {
    ".py": "Python", ".pyc": "Python", ".pyx": "Python", ".ipynb": "Python",
    ".json": "Node/js", ".rst": "Rust", ".whl": "wh", ".model": ".mod", ".md5sums": "DOC",
    ".tar.1": "Data/ DB", ".xml": "Data/ DB", ".so": "ELF/COFF", ".so.1": "ELF/COFF",
    ".mo": "ELF/COFF", ".h": "C/C++", ".c": "C/C++", ".cc": "C/C++", ".hpp": "C/C++",
    ".o": "C/C++", ".a": ".a", ".sh": ".sh", ".cpython-37": "PEP", ".toml": "PEP",
    "site-packages": "PEP", ".pb": "Model/ Weight", ".h5": "Model/ Weight",
    ".pt": "Model/ Weight", ".onnx": "Model/ Weight", ".ckpt": "Model/ Weight",
    ".pkl": "Model/ Weight", ".npy": "Data/ DB", ".csv": "Data/ DB", ".txt": "Data/ DB",
    ".log": "Data/ DB", ".db": "Data/ DB", ".dat": "Data/ DB", ".info": "Data/ DB",
    ".yml": "YML", ".gz": "archive", ".zip": "archive", ".pem": "certif/ keys",
    ".crt": "certif/ keys", ".png": "image", ".jpg": "image", ".svg": "image", ".gif": "image",
    ".cmake": "Makefile", ".mk": "Makefile", ".conf": ".conf", ".cfg": ".cfg",
    ".list": ".list", ".1": ".1", ".d": ".d", ".pxd": ".pxd", "none": "none",
    ".service": ".service",
}


def test_paper_labels_match_the_original_function(ft) -> None:  # type: ignore[no-untyped-def]
    assert {k: ft.paper_label(k) for k in PAPER_TABLE} == PAPER_TABLE
    # the index bug produces the paper's odd labels, which stay unmatched
    assert ft.paper_file_label("x.pass.gz") == ".pass.1"
    assert ft.paper_file_label("a.SIFT.1.2") == ".SIFT.1.2"


def test_corrected_labels(ft) -> None:  # type: ignore[no-untyped-def]
    got = {n: ft.corrected_label(n, m) for n, m in [
        ("a.json", 0o644), ("README.rst", 0o644), ("pkg-1.0.whl", 0o644), ("m.model", 0o644),
        ("libfoo.so.6", 0o644), ("a.tar.gz", 0o644), ("python3.11", 0o755), ("passwd", 0o644),
        ("Makefile", 0o644), ("x.uasset", 0o644), ("foo.cpython-37m-x86_64-linux-gnu.so", 0o644),
    ]}
    assert got == {
        "a.json": "Data/ DB", "README.rst": "DOC", "pkg-1.0.whl": "archive", "m.model": ".model",
        "libfoo.so.6": "ELF/COFF", "a.tar.gz": "archive", "python3.11": "Executable",
        "passwd": "no extension", "Makefile": "Makefile", "x.uasset": ".uasset",
        "foo.cpython-37m-x86_64-linux-gnu.so": "ELF/COFF",
    }


def test_type_counts_paper_singletons_and_corrected_final(ft) -> None:  # type: ignore[no-untyped-def]
    scans = [scan_layer(io.BytesIO(gz(make_tar(ls)))) for ls in three_layers()]
    final = merge_layers(scans)
    assert corrected_type_counts(final.values(), ft) == {
        "no extension": (2, 12), "Executable": (1, 100), "ELF/COFF": (1, 50), "Python": (1, 20),
        "Data/ DB": (1, 3), "archive": (1, 8), "DOC": (1, 6), "Shell": (1, 4), "C/C++": (1, 1),
    }
    # paper: a label holding one file becomes file_categories_dir(path)
    from pipeline.images.layers import Entry

    entries = [Entry("opt/flink/flink.tgz", "file", 7, 0o644),
               Entry("a/x.py", "file", 1, 0o644), Entry("b/y.py", "file", 2, 0o644)]
    assert paper_type_counts(entries, ft) == {"/opt/flink/flink.tgz": (1, 7), "Python": (2, 3)}


@pytest.mark.parametrize(
    "yaml_text, problem",
    [
        ("version: 1\npaper: {}\ncorrected: {}\nextra: 1\n", "top level"),
        ("paper:\n  pre_rules: [{id: a, label: X}]\n", "empty label or rules"),
        ("paper:\n  pre_rules: [{id: a, label: X, equals: ['.x']}]\n  substrings: [{id: b, label: Y, substrings: ['.y', '.y']}]\n", "duplicate keywords"),
        ("paper:\n  pre_rules: [{id: a, label: X, equals: ['.x']}]\n  substrings: [{id: a, label: Y, substrings: ['.y']}]\n", "duplicate id"),
        ("paper:\n  pre_rules: [{id: a, label: X, equals: ['.x'], bogus: 1}]\n", "unknown keys"),
        ("paper:\n  pre_rules: [{id: a, label: X, equals: ['.x']}]\n  substrings: [{id: b, label: Y, substrings: ['.y']}]\ncorrected:\n  classes:\n    - {id: c, label: C, description: d, extensions: ['.c']}\n    - {id: d, label: D, description: d, extensions: ['.c']}\n", "already in class"),
        ("paper:\n  pre_rules: [{id: a, label: X, equals: ['.x']}]\n  substrings: [{id: b, label: Y, substrings: ['.y']}]\ncorrected:\n  classes:\n    - {id: c, label: C, description: d}\n", "empty rules"),
    ],
)
def test_taxonomy_loader_rejects(tmp_path: Path, yaml_text: str, problem: str) -> None:
    f = tmp_path / "file_types.yaml"
    f.write_text(yaml_text)
    with pytest.raises(TaxonomyError, match=problem):
        load_file_types(f)


def test_gzip_module_interop() -> None:
    # a layer compressed by the gzip module with a file name in the header still scans
    raw = make_tar([E("a/b", data=b"xyz")])
    buf = io.BytesIO()
    with gzip.GzipFile(filename="layer.tar", mode="wb", fileobj=buf) as g:
        g.write(raw)
    s = scan_layer(io.BytesIO(buf.getvalue()))
    assert [(e.path, e.size, e.depth) for e in s.entries] == [("a/b", 3, 2)]


def test_without_isal_gzip_layers_fall_back_to_zlib_with_the_same_listing(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """pipeline/images/layers.py imported where isal is not importable (a fresh copy of the
    module, so the rest of the session keeps its classes) inflates with zlib and lists the
    same entries, plain and multi-member gzip, as with isal."""
    import dataclasses
    import importlib.util
    import sys

    from pipeline.images import layers

    monkeypatch.setitem(sys.modules, "isal", None)  # `from isal import ...` fails
    monkeypatch.setitem(sys.modules, "isal.isal_zlib", None)
    name = "pipeline.images._layers_without_isal"
    spec = importlib.util.spec_from_file_location(name, layers.__file__)
    assert spec is not None and spec.loader is not None
    fallback = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, name, fallback)
    spec.loader.exec_module(fallback)
    assert fallback._zlib is zlib and layers._zlib is not zlib
    for raw in (make_tar(lay) for lay in three_layers()):
        half = len(raw) // 2
        for blob in (gz(raw), gz(raw[:half]) + gz(raw[half:]) + b"\0" * 512):
            with_isal = scan_layer(io.BytesIO(blob), expected_digest=digest_of(blob))
            with_zlib = fallback.scan_layer(io.BytesIO(blob), expected_digest=digest_of(blob))
            assert with_isal.compression == "gzip" and with_isal.entries
            listing = [dataclasses.astuple(e) for e in with_zlib.entries]  # its own Entry
            assert listing == [dataclasses.astuple(e) for e in with_isal.entries]
            assert (with_zlib.whiteouts, with_zlib.opaque_dirs, with_zlib.uncompressed_size) == (
                with_isal.whiteouts, with_isal.opaque_dirs, len(raw))

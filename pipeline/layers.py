"""Layer scan without extraction: stream a layer blob through ``tarfile``, classify files.

Pure core of the images stage (RQ4):

* :func:`scan_layer` reads a layer blob (gzip, zstd or plain tar, detected from the magic
  bytes) from any binary stream in one pass, never writing to disk, with a cap on the
  uncompressed size (gzip bombs), and returns one :class:`Entry` per tar member plus the
  whiteouts (``.wh.<name>``) and opaque-directory markers (``.wh..wh..opq``).
* :func:`merge_layers` applies the whiteouts across layers and returns the image's final
  file system.
* :func:`paper_extension` / :func:`real_extension` give the study's buggy extension key and
  the real one (original-rules.md 2.10); :class:`FileTypes` classifies a file with the
  study's ``file_categories2`` rules (``paper``) or exact extension lookups (``corrected``),
  both read from ``taxonomy/file_types.yaml``.
"""

from __future__ import annotations

import hashlib
import io
import posixpath
import tarfile
import zlib
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from .errors import TaxonomyError
from .taxonomy import read_yaml

try:  # zstd layers are optional (zstandard is a declared dependency, but be tolerant)
    import zstandard
except ImportError:  # pragma: no cover
    zstandard = None  # type: ignore[assignment]

GZIP_MAGIC = b"\x1f\x8b"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
WHITEOUT_PREFIX = ".wh."
OPAQUE_MARKER = ".wh..wh..opq"
CHUNK = 1 << 20
DEFAULT_MAX_UNCOMPRESSED = 8 << 30  # 8 GiB per layer


# --------------------------------------------------------------------------------------
# errors raised by the scan (callers turn them into error rows)
# --------------------------------------------------------------------------------------


class LayerError(Exception):
    """A layer could not be scanned completely; ``code`` is the error-row type."""

    code = "layer_error"


class LayerTooLarge(LayerError):
    code = "layer_too_large"


class LayerTruncated(LayerError):
    code = "layer_truncated"


class LayerCorrupt(LayerError):
    code = "layer_corrupt"


class DigestMismatch(LayerError):
    code = "digest_mismatch"


class UnsupportedLayerType(LayerError):
    """The manifest lists a layer whose media type is not a layer type we can scan."""

    code = "unsupported_media_type"


# --------------------------------------------------------------------------------------
# decompression with byte counting and a cap
# --------------------------------------------------------------------------------------


class HashingReader:
    """Wrap a binary stream; hash and count every byte read from it."""

    def __init__(self, raw: IO[bytes] | Any, algorithm: str = "sha256") -> None:
        self.raw = raw
        self.hash = hashlib.new(algorithm)
        self.algorithm = algorithm
        self.count = 0

    def read(self, n: int = -1) -> bytes:
        data: bytes = self.raw.read(n)
        if data:
            self.hash.update(data)
            self.count += len(data)
        return data

    def drain(self) -> None:
        while self.read(CHUNK):
            pass

    @property
    def digest(self) -> str:
        return f"{self.algorithm}:{self.hash.hexdigest()}"


class _Prepend:
    """``head`` followed by the rest of ``raw``."""

    def __init__(self, head: bytes, raw: Any) -> None:
        self.head = head
        self.raw = raw

    def read(self, n: int = -1) -> bytes:
        if self.head:
            out, self.head = self.head, b""
            return out
        data: bytes = self.raw.read(n)
        return data


class _DoneGzip:
    """Stands for a finished gzip member; ``unused_data`` is what followed it."""

    eof = True

    def __init__(self, unused: bytes = b"") -> None:
        self.unused_data = unused


class DecompressingReader:
    """A ``read(n)`` stream of the uncompressed tar bytes, capped at ``limit`` bytes.

    ``compression`` is detected from the first bytes: ``gzip`` (multi-member aware),
    ``zstd`` or ``none``.  Exceeding ``limit`` raises :class:`LayerTooLarge` as soon as the
    decompressor produces the byte past the cap, so a bomb never inflates in memory.
    """

    def __init__(self, raw: Any, limit: int = DEFAULT_MAX_UNCOMPRESSED) -> None:
        self.raw = raw
        self.limit = limit
        self.count = 0
        self._buf = bytearray()
        self._eof = False
        head = raw.read(4)
        self._pending = head
        self._zr: Any = None
        if head.startswith(GZIP_MAGIC):
            self.compression = "gzip"
            self._z: Any = zlib.decompressobj(wbits=47)
        elif head.startswith(ZSTD_MAGIC):
            if zstandard is None:  # pragma: no cover
                raise LayerCorrupt("zstd layer but the zstandard module is not installed")
            self.compression = "zstd"
            self._z = None
            src: Any = _Prepend(head, raw)
            self._zr = zstandard.ZstdDecompressor().stream_reader(
                src, read_size=CHUNK, read_across_frames=True
            )
            self._pending = b""
        else:
            self.compression = "none"
            self._z = None
        self._tail = b""

    def _feed(self, want: int) -> None:
        while len(self._buf) < want and not self._eof:
            if self._zr is not None:
                try:
                    out = self._zr.read(CHUNK)
                except zstandard.ZstdError as exc:
                    raise LayerCorrupt(f"zstd stream is corrupt: {exc}") from exc
                if not out:
                    self._finish()
                    break
                self._count(out)
                continue
            if self._pending:
                data, self._pending = self._pending, b""
            elif self._tail:
                data, self._tail = self._tail, b""
            else:
                data = self.raw.read(CHUNK)
            if not data:
                self._finish()
                break
            if self._z is None:
                out = data
            elif self.compression == "gzip":
                if self._z.eof:  # a further gzip member, or zero padding after the last one
                    data = self._z.unused_data + data
                    if not data.lstrip(b"\x00"):
                        self._z = _DoneGzip()
                        continue
                    self._z = zlib.decompressobj(wbits=47)
                try:
                    out = self._z.decompress(data, max(want - len(self._buf), CHUNK))
                except zlib.error as exc:
                    raise LayerCorrupt(f"gzip stream is corrupt: {exc}") from exc
                self._tail = self._z.unconsumed_tail
                if self._z.eof and self._z.unused_data:
                    self._pending = self._z.unused_data
                    self._z = _DoneGzip()
            self._count(out)

    def _count(self, out: bytes) -> None:
        self.count += len(out)
        if self.count > self.limit:
            raise LayerTooLarge(
                f"uncompressed layer exceeds the {self.limit:,} byte limit; "
                "raise --max-layer-bytes to scan it"
            )
        self._buf += out

    def _finish(self) -> None:
        self._eof = True
        if self.compression == "gzip" and not self._z.eof:
            raise LayerTruncated("gzip stream ends before its end marker (truncated blob)")

    def read(self, n: int = -1) -> bytes:
        if n is None or n < 0:
            while not self._eof:
                self._feed(len(self._buf) + CHUNK)
            out = bytes(self._buf)
            self._buf.clear()
            return out
        self._feed(n)
        out = bytes(self._buf[:n])
        del self._buf[:n]
        return out

    def drain(self) -> None:
        while not self._eof:
            self._buf.clear()
            self._feed(CHUNK)
        self._buf.clear()


# --------------------------------------------------------------------------------------
# entries and the scan
# --------------------------------------------------------------------------------------

KINDS = ("file", "dir", "symlink", "hardlink", "device")


@dataclass(frozen=True, slots=True)
class Entry:
    """One tar member.  ``path`` is normalised (no leading ``/`` or ``./``)."""

    path: str
    kind: str
    size: int
    mode: int
    link: str = ""

    @property
    def name(self) -> str:
        return self.path.rsplit("/", 1)[-1]

    @property
    def depth(self) -> int:
        """Number of path components (``a/b`` -> 2)."""
        return self.path.count("/") + 1


@dataclass
class LayerScan:
    entries: list[Entry] = field(default_factory=list)
    whiteouts: list[str] = field(default_factory=list)
    opaque_dirs: list[str] = field(default_factory=list)
    unsafe_names: int = 0
    compression: str = ""
    compressed_size: int = 0
    uncompressed_size: int = 0
    digest: str = ""

    def counts(self) -> dict[str, int]:
        c = Counter(e.kind for e in self.entries)
        return {k: c.get(k, 0) for k in KINDS}

    @property
    def file_bytes(self) -> int:
        return sum(e.size for e in self.entries if e.kind == "file")

    @property
    def max_depth(self) -> int:
        return max((e.depth for e in self.entries), default=0)


def display_name(name: str) -> str:
    """A printable form of a tar name (odd bytes shown as ``\\xNN``)."""
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def normalise_path(name: str) -> tuple[str, bool]:
    """Normalise a member name; returns (path, escaped) where ``escaped`` flags ``..`` escapes.

    ``./a/b/``, ``/a/b`` and ``a//b`` all become ``a/b``; ``a/../../etc`` is clamped to
    ``etc`` (the layer root is the top) and flagged.
    """
    s = display_name(name)
    s = s.lstrip("/")
    norm = posixpath.normpath("/" + s) if s else "/"
    escaped = False
    parts = [p for p in s.split("/") if p not in ("", ".")]
    depth = 0
    for p in parts:
        if p == "..":
            if depth == 0:
                escaped = True
            else:
                depth -= 1
        else:
            depth += 1
    return norm.lstrip("/"), escaped


def _kind(m: tarfile.TarInfo) -> str:
    if m.isreg():
        return "file"
    if m.isdir():
        return "dir"
    if m.issym():
        return "symlink"
    if m.islnk():
        return "hardlink"
    return "device"


def iter_members(reader: Any, bufsize: int = CHUNK) -> Iterator[tarfile.TarInfo]:
    """Tar members of an uncompressed tar stream, read once, data skipped without extraction."""
    try:
        with tarfile.open(fileobj=reader, mode="r|", bufsize=bufsize) as tar:
            yield from tar
    except LayerError:
        raise
    except (tarfile.ReadError, EOFError) as exc:
        msg = str(exc) or type(exc).__name__
        if "unexpected end" in msg.lower() or isinstance(exc, EOFError):
            raise LayerTruncated(f"tar stream ends early (truncated blob): {msg}") from exc
        raise LayerCorrupt(f"not a valid tar stream: {msg}") from exc
    except tarfile.TarError as exc:
        raise LayerCorrupt(f"not a valid tar stream: {exc}") from exc


def scan_layer(
    stream: Any,
    *,
    max_uncompressed: int = DEFAULT_MAX_UNCOMPRESSED,
    expected_digest: str | None = None,
) -> LayerScan:
    """Scan one layer blob from ``stream`` (anything with ``read(n)``).

    Raises a :class:`LayerError` subclass for bombs, truncated or corrupt blobs and digest
    mismatches.  The digest of the compressed bytes is verified when ``expected_digest``
    is given; the whole stream is consumed either way.
    """
    algo = expected_digest.split(":", 1)[0] if expected_digest else "sha256"
    raw = HashingReader(stream, algo)
    dec = DecompressingReader(raw, max_uncompressed)
    out = LayerScan(compression=dec.compression)
    try:
        _collect(dec, out)
    except LayerCorrupt as exc:
        if dec.compression == "zstd" and dec.count == 0:
            raise LayerTruncated(f"zstd stream yields no data (truncated blob): {exc}") from exc
        raise
    dec.drain()
    raw.drain()
    out.compressed_size = raw.count
    out.uncompressed_size = dec.count
    out.digest = raw.digest
    if expected_digest and raw.digest != expected_digest:
        raise DigestMismatch(f"blob digest is {raw.digest}, expected {expected_digest}")
    return out


def _collect(dec: Any, out: LayerScan) -> None:
    """Append every member of the tar stream ``dec`` to ``out``."""
    for m in iter_members(dec):
        path, escaped = normalise_path(m.name)
        if escaped:
            out.unsafe_names += 1
        base = path.rsplit("/", 1)[-1]
        if base.startswith(WHITEOUT_PREFIX):
            parent = path[: -len(base)].rstrip("/")
            if base == OPAQUE_MARKER:
                out.opaque_dirs.append(parent)
            else:
                target = base[len(WHITEOUT_PREFIX) :]
                out.whiteouts.append(f"{parent}/{target}" if parent else target)
            continue
        if not path:  # the root directory itself
            continue
        kind = _kind(m)
        size = m.size if kind == "file" else 0
        link = display_name(m.linkname) if kind in ("symlink", "hardlink") else ""
        out.entries.append(Entry(path, kind, size, m.mode, link))


def scan_file(path: str | Path, **kw: Any) -> LayerScan:
    with open(path, "rb") as fh:
        return scan_layer(io.BufferedReader(fh, CHUNK), **kw)  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------
# overlay semantics
# --------------------------------------------------------------------------------------


def _covered(path: str, removed: set[str]) -> bool:
    """True if ``path`` or one of its ancestors is in ``removed``."""
    p = path
    while True:
        if p in removed:
            return True
        i = p.rfind("/")
        if i < 0:
            return False
        p = p[:i]


def _under(path: str, dirs: set[str]) -> bool:
    """True if a strict ancestor of ``path`` is in ``dirs``."""
    p = path
    while True:
        i = p.rfind("/")
        if i < 0:
            return "" in dirs
        p = p[:i]
        if p in dirs:
            return True


def merge_layers(layers: Iterable[LayerScan]) -> dict[str, Entry]:
    """Apply the layers in order (base first) with OCI whiteout semantics.

    A whiteout ``d/.wh.x`` hides ``d/x`` and everything below it in lower layers; an
    opaque marker ``d/.wh..wh..opq`` hides every lower-layer child of ``d`` (``d`` itself
    stays).  Entries of the same layer are never hidden by that layer's markers.
    """
    state: dict[str, Entry] = {}
    for layer in layers:
        removed = set(layer.whiteouts)
        opaque = set(layer.opaque_dirs)
        if removed or opaque:
            state = {
                p: e
                for p, e in state.items()
                if not (_covered(p, removed) or (opaque and _under(p, opaque)))
            }
        for e in layer.entries:
            old = state.get(e.path)
            if old is not None and old.kind == "dir" and e.kind != "dir":
                # a non-directory replaces a directory: its lower children disappear
                prefix = e.path + "/"
                state = {p: x for p, x in state.items() if not p.startswith(prefix)}
            state[e.path] = e
    return state


# --------------------------------------------------------------------------------------
# extensions and file-type classes
# --------------------------------------------------------------------------------------


def path_suffixes(name: str) -> list[str]:
    """``pathlib.PurePath(name).suffixes`` (Python 3.11 semantics) for a bare name."""
    if name.endswith("."):
        return []
    name = name.lstrip(".")
    return ["." + s for s in name.split(".")[1:]]


def paper_extension(name: str) -> tuple[str, str]:
    """The study's (extension, save_extension) for a file name (original-rules.md 2.10).

    ``extension`` is ``suffixes[0]`` followed by ``.1``, ``.2``... for each further suffix
    (the index, not the suffix text): ``a.tar.gz`` -> ``.tar.1``; ``save_extension`` is
    ``suffixes[0]`` or ``none``.
    """
    sfx = path_suffixes(name)
    if not sfx:
        return "none", "none"
    ext = sfx[0] + "".join(f".{i}" for i in range(1, len(sfx)))
    return ext, sfx[0]


_COMPOUND = {"tar"}


def real_extension(name: str) -> str:
    """The real extension, lower-cased: trailing numeric parts (versions) are dropped and
    ``.tar.<x>`` is kept whole.  ``libfoo.so.6`` -> ``.so``, ``a.tar.gz`` -> ``.tar.gz``,
    ``.bashrc`` -> ``""``, ``python3.11`` -> ``""``.
    """
    parts = name.lstrip(".").split(".")
    if len(parts) < 2:
        return ""
    sfx = parts[1:]
    while sfx and (sfx[-1].isdigit() or not sfx[-1]):
        sfx.pop()
    if not sfx:
        return ""
    last = sfx[-1].lower()
    if len(sfx) >= 2 and sfx[-2].lower() in _COMPOUND:
        return f".{sfx[-2].lower()}.{last}"
    return f".{last}"


def check_extension(file_name: str, extension: str) -> str:
    """The study's key for ``file_categories2`` (original-rules.md 2.11 step 1)."""
    if extension == "none":
        return file_name
    ext = extension.replace("..", ".")
    parts = [p for p in ext.split(".") if p]
    if parts and all(p.isdigit() for p in parts):
        return file_name
    return ext


@dataclass(frozen=True)
class PaperRule:
    id: str
    label: str
    equals: tuple[str, ...] = ()
    contains: tuple[str, ...] = ()
    endswith: tuple[str, ...] = ()


@dataclass(frozen=True)
class SubstringRule:
    id: str
    label: str
    substrings: tuple[str, ...]


@dataclass(frozen=True)
class FileTypes:
    """The two classifiers of ``taxonomy/file_types.yaml``."""

    pre_rules: tuple[PaperRule, ...]
    substrings: tuple[SubstringRule, ...]
    by_extension: dict[str, str]
    by_name: dict[str, str]
    executable_label: str
    no_extension_label: str
    source: str = ""

    # ---- paper: file_categories2 / file_categories_dir
    def paper_label(self, key: str) -> str:
        """``file_categories2(key)``: pre-rules first, then the last matching substring entry."""
        for r in self.pre_rules:
            if key in r.equals or any(c in key for c in r.contains) or any(
                key.endswith(e) for e in r.endswith
            ):
                return r.label
        label = key
        low = key.lower()
        for s in self.substrings:
            for v in s.substrings:
                if v.lower() in low:
                    label = s.label
                    break
        return label

    def paper_file_label(self, name: str) -> str:
        ext, _ = paper_extension(name)
        return self.paper_label(check_extension(name, ext))

    # ---- corrected
    def corrected_label(self, name: str, mode: int = 0) -> str:
        ext = real_extension(name)
        if ext:
            hit = self.by_extension.get(ext)
            if hit is None and ext.startswith(".tar."):
                hit = self.by_extension.get(".tar." + ext.rsplit(".", 1)[-1])
            return hit if hit is not None else ext
        hit = self.by_name.get(name)
        if hit is not None:
            return hit
        if mode & 0o111:
            return self.executable_label
        return self.no_extension_label


def load_file_types(path: str | Path) -> FileTypes:
    """Load and validate ``taxonomy/file_types.yaml``."""
    path = Path(path)
    src = str(path)
    data = read_yaml(path)
    if not isinstance(data, dict) or set(data) - {"version", "paper", "corrected"}:
        raise TaxonomyError(src, "top level must have only version, paper and corrected")
    paper = data.get("paper") or {}
    corr = data.get("corrected") or {}
    if set(paper) - {"pre_rules", "substrings"}:
        raise TaxonomyError(src, f"unknown keys in paper: {sorted(set(paper) - {'pre_rules', 'substrings'})}")
    allowed_corr = {"classes", "executable_label", "no_extension_label"}
    if set(corr) - allowed_corr:
        raise TaxonomyError(src, f"unknown keys in corrected: {sorted(set(corr) - allowed_corr)}")
    ids: dict[str, set[str]] = {"paper": set(), "classes": set()}

    def new_id(i: Any, where: str) -> str:
        ns = ids["classes" if where == "classes" else "paper"]
        if not isinstance(i, str) or not i:
            raise TaxonomyError(src, f"{where}: entry without an id")
        if i in ns:
            raise TaxonomyError(src, f"{where}: duplicate id {i!r}")
        ns.add(i)
        return i

    def strs(v: Any, where: str) -> tuple[str, ...]:
        if v is None:
            return ()
        if not isinstance(v, list) or not all(isinstance(x, str) and x for x in v):
            raise TaxonomyError(src, f"{where}: must be a list of non-empty strings")
        if len(set(v)) != len(v):
            dup = sorted({x for x in v if v.count(x) > 1})
            raise TaxonomyError(src, f"{where}: duplicate keywords {dup}")
        return tuple(v)

    pre: list[PaperRule] = []
    for r in paper.get("pre_rules") or []:
        extra = set(r) - {"id", "label", "equals", "contains", "endswith"}
        if extra:
            raise TaxonomyError(src, f"pre_rules: unknown keys {sorted(extra)}")
        rid = new_id(r.get("id"), "pre_rules")
        rule = PaperRule(
            rid, str(r.get("label") or ""),
            strs(r.get("equals"), rid), strs(r.get("contains"), rid), strs(r.get("endswith"), rid),
        )
        if not rule.label or not (rule.equals or rule.contains or rule.endswith):
            raise TaxonomyError(src, f"pre rule {rid!r}: empty label or rules")
        pre.append(rule)
    subs: list[SubstringRule] = []
    for r in paper.get("substrings") or []:
        extra = set(r) - {"id", "label", "substrings"}
        if extra:
            raise TaxonomyError(src, f"substrings: unknown keys {sorted(extra)}")
        rid = new_id(r.get("id"), "substrings")
        s = strs(r.get("substrings"), rid)
        if not s or not r.get("label"):
            raise TaxonomyError(src, f"substring rule {rid!r}: empty label or rules")
        subs.append(SubstringRule(rid, str(r["label"]), s))
    by_ext: dict[str, str] = {}
    by_name: dict[str, str] = {}
    for c in corr.get("classes") or []:
        extra = set(c) - {"id", "label", "description", "extensions", "names"}
        if extra:
            raise TaxonomyError(src, f"classes: unknown keys {sorted(extra)}")
        cid = new_id(c.get("id"), "classes")
        exts = strs(c.get("extensions"), cid)
        names = strs(c.get("names"), cid)
        if not c.get("label") or not str(c.get("description") or "").strip():
            raise TaxonomyError(src, f"class {cid!r}: needs a label and a description")
        if not exts and not names:
            raise TaxonomyError(src, f"class {cid!r}: empty rules")
        for e in exts:
            if not e.startswith(".") or e != e.lower():
                raise TaxonomyError(src, f"class {cid!r}: extension {e!r} must be lower case and start with '.'")
            if e in by_ext:
                raise TaxonomyError(src, f"class {cid!r}: extension {e!r} already in class {by_ext[e]!r}")
            by_ext[e] = str(c["label"])
        for n in names:
            if n in by_name:
                raise TaxonomyError(src, f"class {cid!r}: name {n!r} already in class {by_name[n]!r}")
            by_name[n] = str(c["label"])
    if not pre or not subs or not by_ext:
        raise TaxonomyError(src, "paper.pre_rules, paper.substrings and corrected.classes must not be empty")
    return FileTypes(
        tuple(pre), tuple(subs), by_ext, by_name,
        str(corr.get("executable_label") or "Executable"),
        str(corr.get("no_extension_label") or "no extension"),
        src,
    )


# --------------------------------------------------------------------------------------
# per-image aggregation of file types
# --------------------------------------------------------------------------------------


def marker_entries(scan: LayerScan) -> list[Entry]:
    """The layer's whiteout and opaque markers as zero-size file entries.

    The study extracted layers and walked them, so its per-layer file counts include the
    ``.wh.*`` marker files; the paper view adds them back.
    """
    out = []
    for target in scan.whiteouts:
        parent, _, base = target.rpartition("/")
        path = f"{parent}/{WHITEOUT_PREFIX}{base}" if parent else f"{WHITEOUT_PREFIX}{base}"
        out.append(Entry(path, "file", 0, 0o644))
    for d in scan.opaque_dirs:
        path = f"{d}/{OPAQUE_MARKER}" if d else OPAQUE_MARKER
        out.append(Entry(path, "file", 0, 0o644))
    return out


def paper_type_counts(entries: Iterable[Entry], ft: FileTypes) -> dict[str, tuple[int, int]]:
    """The study's per-image file types: every non-directory entry of every layer, keyed by
    ``file_categories2(check_extension(...))``; a label holding a single file is replaced
    by ``file_categories_dir(full path)`` (original-rules.md 2.11 step 3)."""
    per: dict[str, list[tuple[str, int]]] = {}
    for e in entries:
        if e.kind == "dir":
            continue
        per.setdefault(ft.paper_file_label(e.name), []).append(("/" + e.path, e.size))
    out: dict[str, list[int]] = {}
    for label, items in per.items():
        if len(items) == 1:
            label = ft.paper_label(items[0][0])
        acc = out.setdefault(label, [0, 0])
        for _, size in items:
            acc[0] += 1
            acc[1] += size
    return {k: (v[0], v[1]) for k, v in out.items()}


def corrected_type_counts(entries: Iterable[Entry], ft: FileTypes) -> dict[str, tuple[int, int]]:
    """Regular files and hard links by corrected class (hard links count 0 bytes)."""
    out: dict[str, list[int]] = {}
    for e in entries:
        if e.kind not in ("file", "hardlink"):
            continue
        acc = out.setdefault(ft.corrected_label(e.name, e.mode), [0, 0])
        acc[0] += 1
        acc[1] += e.size
    return {k: (v[0], v[1]) for k, v in out.items()}

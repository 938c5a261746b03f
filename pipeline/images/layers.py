"""Layer scan without extraction: stream a layer blob through ``tarfile``.

The images stage's scan (RQ4); no network, no files written:

* :func:`scan_layer` reads a layer blob (gzip, zstd or plain tar, detected from the magic
  bytes) from any binary stream in one pass, never writing to disk, with a cap on the
  uncompressed size (gzip bombs), and returns one :class:`Entry` per tar member plus the
  whiteouts (``.wh.<name>``) and opaque-directory markers (``.wh..wh..opq``).
* ``tarfile`` reads the member headers from the decompressed stream and skips each
  member's data with a forward ``seek`` that drops decompressed chunks without copying;
  the blob is read and hashed ahead in a thread (:class:`~pipeline.images.blobio.ReadAhead`).
* :func:`merge_layers` applies the whiteouts across layers and returns the image's final
  file system; :func:`marker_entries` gives the markers back as files (the paper's view).

File-type classes of the entries are in :mod:`pipeline.images.file_types`.
"""

from __future__ import annotations

import io
import posixpath
import tarfile
import zlib
from collections import Counter, deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .blobio import CHUNK, ReadAhead

try:  # zstd layers are optional (zstandard is a declared dependency, but be tolerant)
    import zstandard
except ImportError:  # pragma: no cover
    zstandard = None  # type: ignore[assignment]

# gzip through Intel's ISA-L (python-isal, a dependency) where it is installed: the scan
# is bound by decompression, and igzip inflates about twice as fast as zlib
_zlib: Any
try:
    from isal import isal_zlib as _zlib
except ImportError:  # pragma: no cover
    _zlib = zlib
_ZLIB_ERRORS = (zlib.error, _zlib.error)

GZIP_MAGIC = b"\x1f\x8b"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
WHITEOUT_PREFIX = ".wh."
OPAQUE_MARKER = ".wh..wh..opq"
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

    ``compression`` is detected from the first bytes: ``gzip`` (multi-member aware; isal's
    inflate when installed, else zlib's),
    ``zstd`` or ``none``.  Exceeding ``limit`` raises :class:`LayerTooLarge` as soon as the
    decompressor produces the byte past the cap, so a bomb never inflates in memory.
    """

    def __init__(self, raw: Any, limit: int = DEFAULT_MAX_UNCOMPRESSED) -> None:
        self.raw = raw
        self.limit = limit
        self.count = 0
        self._chunks: deque[bytes] = deque()  # decompressed, not yet read
        self._off = 0  # bytes of the first chunk already read
        self._have = 0  # decompressed bytes not yet read
        self.pos = 0  # bytes read or skipped
        self._eof = False
        head = raw.read(4)
        self._pending = head
        self._zr: Any = None
        if head.startswith(GZIP_MAGIC):
            self.compression = "gzip"
            self._z: Any = _zlib.decompressobj(wbits=47)
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
        while self._have < want and not self._eof:
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
                    self._z = _zlib.decompressobj(wbits=47)
                try:
                    out = self._z.decompress(data, max(want - self._have, CHUNK))
                except _ZLIB_ERRORS as exc:
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
        if out:
            self._chunks.append(out)
            self._have += len(out)

    def _finish(self) -> None:
        self._eof = True
        if self.compression == "gzip" and not self._z.eof:
            raise LayerTruncated("gzip stream ends before its end marker (truncated blob)")

    def read(self, n: int = -1) -> bytes:
        """``n`` bytes (fewer only at the end); a whole decompressed chunk is handed on
        without a copy when it is what was asked for."""
        if n is None or n < 0:
            while not self._eof:
                self._feed(self._have + CHUNK)
            n = self._have
        if self._have < n:
            self._feed(n)
        parts: list[bytes] = []
        want = n
        while want > 0 and self._chunks:
            first = self._chunks[0]
            avail = len(first) - self._off
            if self._off == 0 and avail <= want:
                part = self._chunks.popleft()
            else:
                take = min(want, avail)
                part = first[self._off:self._off + take]
                self._off += take
                if self._off == len(first):
                    self._chunks.popleft()
                    self._off = 0
            parts.append(part)
            want -= len(part)
        out = parts[0] if len(parts) == 1 else b"".join(parts)
        self._have -= len(out)
        self.pos += len(out)
        return out

    def tell(self) -> int:
        return self.pos

    def seek(self, pos: int, whence: int = 0) -> int:
        """Forward only: skip to ``pos`` without copying (a tar member's data); stops at
        the end of the stream."""
        if whence != 0 or pos < self.pos:
            raise io.UnsupportedOperation("a layer stream seeks forward only")
        skip = pos - self.pos
        while skip > 0:
            if not self._chunks:
                self._feed(1)
                if not self._chunks:
                    break
            avail = len(self._chunks[0]) - self._off
            if avail <= skip:
                self._chunks.popleft()
                self._off = 0
                step = avail
            else:
                self._off += skip
                step = skip
            skip -= step
            self._have -= step
            self.pos += step
        return self.pos

    def drain(self) -> None:
        while not self._eof:
            self._chunks.clear()
            self._off = 0
            self._have = 0
            self._feed(CHUNK)
        self._chunks.clear()
        self._off = 0
        self._have = 0


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


def iter_members(reader: DecompressingReader) -> Iterator[tarfile.TarInfo]:
    """Tar members of an uncompressed tar stream, read once, data skipped without extraction.

    ``tarfile`` reads the headers straight from ``reader`` and skips each member's data
    with its forward ``seek`` (no copy; the stream mode ``r|`` would copy every byte twice
    through its own buffer), with the same member logic and errors as the stream mode."""
    try:
        with tarfile.TarFile(fileobj=reader, mode="r") as tar:  # type: ignore[arg-type]
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
    raw = ReadAhead(stream, algo)
    try:
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
    finally:
        raw.close()
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

"""Layer downloads and scans through the executor: same bytes on every scheduler; the
per-registry limit and the shared rate-limit pause (a real registry on loopback)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipeline.config import Paths
from pipeline.errors import RateLimited
from pipeline.executor import scheduler
from pipeline.images import fetch, live
from pipeline.images.registry import RegistryClient
from tests import registry_fixtures as rf
from tests.conftest import make_project
from tests.registry_fixtures import E, Registry, gz, make_tar, push_image
from tests.test_layers import three_layers

registry = rf.registry  # fixtures

OUTPUTS = ("processed/images.csv", "processed/layers.csv", "processed/image_file_types.csv",
           "interim/images_errors.csv")


def _push(base: str) -> list[tuple[str, str]]:
    layers = [make_tar(ls) for ls in three_layers()]
    push_image(base, "fx/app", "1", [gz(x) for x in layers], uncompressed=layers)
    shared = gz(make_tar([E("usr/lib/x.so", data=b"s" * 300)]))
    for i in range(4):
        own = gz(make_tar([E(f"srv/{i}/f{k}.py", data=bytes([65 + k]) * (k + i + 1))
                           for k in range(6)]))
        push_image(base, f"fx/m{i}", "1", [shared, own])
    truncated = gz(make_tar([E(f"f{i}", data=bytes(range(256)) * 40) for i in range(10)]))
    push_image(base, "fx/bad", "1", [shared, truncated[: len(truncated) // 2]])
    refs = [(f"x.io/fx/m{i}:1", f"o/m{i}") for i in range(4)]
    return [("x.io/fx/app:1", "o/app"), *refs, ("x.io/fx/bad:1", ""), ("x.io/fx/none:1", "")]


def _outputs(p: Paths) -> dict[str, bytes]:
    return {name: (p.data / name).read_bytes() for name in OUTPUTS}


def test_layer_scans_same_bytes_in_process_pool_and_dask(registry: Registry, tmp_path: Path,
                                                         caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("WARNING", logger="pipeline.executor")
    refs = _push(registry.url)
    runs = {}
    for name, spec, workers, threads in [("inline", None, 1, 1), ("pool", "pool", 2, 3),
                                         ("dask", "local:2", 2, 2)]:
        p = make_project(tmp_path / name)
        sched = scheduler(spec, workers) if spec else None
        limit = fetch.limit_for(sched, 3) if sched else None
        client = RegistryClient(endpoint=registry.url, cache_dir=tmp_path / name / "cache",
                                limit=limit)
        counts = live.run_live(p, refs, client, sched=sched, threads=threads)
        assert counts == {"references": 7, "images": 6, "layers": 13, "errors": 2}, name
        runs[name] = _outputs(p)
    assert runs["pool"] == runs["inline"]
    assert runs["dask"] == runs["inline"]
    # no partition failed and fell back to one item at a time (the download threads find
    # the Dask worker, so its semaphore binds)
    assert [r.getMessage() for r in caplog.records if r.name == "pipeline.executor"] == []
    errors = runs["inline"]["interim/images_errors.csv"].decode().splitlines()
    assert [line.split(",")[2] for line in errors[1:]] == ["layer_truncated", "RegistryError"]


def test_registry_limit_bounds_concurrent_leases() -> None:
    limit = fetch.RegistryLimit(2)
    busy, peak = [0], [0]
    lock = threading.Lock()

    def work() -> None:
        with limit.lease("reg.test"):
            with lock:
                busy[0] += 1
                peak[0] = max(peak[0], busy[0])
            time.sleep(0.02)
            with lock:
                busy[0] -= 1

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert peak[0] == 2
    assert fetch.limit_for(scheduler("pool", 2), 8) == fetch.RegistryLimit(4)
    assert fetch.limit_for(scheduler("local:3", 2), 8) == fetch.RegistryLimit(8, dask=True)


@pytest.fixture
def no_pauses() -> Iterator[None]:
    """The pauses are process-wide: none is left for the tests that follow."""
    yield
    with fetch._lock:
        fetch._paused.clear()


def test_a_pause_heard_by_one_client_stops_the_others(registry: Registry, no_pauses: None) -> None:
    limit = fetch.RegistryLimit(4)
    heard = RegistryClient(endpoint=registry.url, limit=limit)
    other = RegistryClient(endpoint=registry.url, limit=limit, max_wait=60)
    push_image(registry.url, "fx/paused", "1", [gz(make_tar([E("a", data=b"1")]))])
    ref = live.parse_reference("paused.test/fx/paused:1")
    heard.limit.pause(ref.registry, time.time() + 600)  # e.g. RateLimit-Reset 10 minutes away
    with pytest.raises(RateLimited):
        other.resolve(ref)
    assert other.stats["requests"] == 0
    waits: list[float] = []
    third = RegistryClient(endpoint=registry.url, limit=limit, sleep=waits.append)
    limit.pause("soon.test", time.time() + 5)
    third.resolve(live.parse_reference("soon.test/fx/paused:1"))
    assert len(waits) == 1 and 4 < waits[0] <= 5


def test_a_workers_copy_of_the_client_leaves_downloads_in_progress(tmp_path: Path) -> None:
    """Each partition unpickles the client: that copy must not remove the partial downloads
    other workers are writing into the shared cache (only the stage's own client does)."""
    import pickle

    cache = tmp_path / "cache"
    cache.mkdir()
    partial = cache / ".tmp-inflight"
    partial.write_bytes(b"half a layer")
    client = RegistryClient(cache_dir=cache)  # the stage's own client cleans at its start
    assert not partial.exists()
    partial.write_bytes(b"half a layer")
    copy = pickle.loads(pickle.dumps(client))
    assert copy.cache_dir == cache and partial.read_bytes() == b"half a layer"

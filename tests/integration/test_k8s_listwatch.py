"""List-then-watch through the real kubernetes client against the fake API server.

Resumes after disconnects without relisting, relists after 410 Gone, rides on
bookmarks, backs off on errors, waits for CRDs that are not installed, keeps
going when its handler fails, and stops promptly.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from agent.k8s.api import NODES, PODS, VPPNET_NETWORKS, KubeApi, Resource
from agent.k8s.config import K8sSettings
from agent.k8s.listwatch import ListWatch
from agent.worker import Backoff
from tests.integration.k8s_agents import FAST
from tests.k8sfake import NADS, FakeKubeApi, wait_until
from tests.k8sfake import NODES as FAKE_NODES
from tests.k8sfake import PODS as FAKE_PODS
from tests.k8sfake import objects as o

Obj = dict[str, Any]


class Recorder:
    """A handler that mirrors the objects it is given, and can be told to fail."""

    def __init__(self) -> None:
        self.objects: dict[str, Obj] = {}
        self.replaced = 0
        self.poison: set[str] = set()
        self._lock = threading.Lock()

    @staticmethod
    def _key(obj: Obj) -> str:
        meta = obj["metadata"]
        return f"{meta.get('namespace', '')}/{meta['name']}".lstrip("/")

    def replace(self, objects: list[Obj]) -> None:
        with self._lock:
            self.replaced += 1
            self.objects = {self._key(obj): obj for obj in objects}

    def upsert(self, obj: Obj) -> None:
        if self._key(obj) in self.poison:
            raise RuntimeError(f"cannot digest {self._key(obj)}")
        with self._lock:
            self.objects[self._key(obj)] = obj

    def delete(self, obj: Obj) -> None:
        with self._lock:
            self.objects.pop(self._key(obj), None)

    def names(self) -> set[str]:
        with self._lock:
            return set(self.objects)


class Running:
    def __init__(self, watch: ListWatch) -> None:
        self.watch = watch
        self.thread = threading.Thread(target=watch.run, daemon=True)
        self.thread.start()

    def stop(self) -> float:
        started = time.monotonic()
        self.watch.stop()
        while self.thread.is_alive() and time.monotonic() - started < 5:
            self.watch.stop()
            self.thread.join(0.05)
        return time.monotonic() - started


@pytest.fixture
def api() -> Iterator[FakeKubeApi]:
    with FakeKubeApi(NADS, bookmark_interval=0.2) as server:
        yield server


@contextlib.contextmanager
def watching(
    api: FakeKubeApi, resource: Resource, handler: Recorder, **kw: Any
) -> Iterator[Running]:
    settings = K8sSettings(node_name="a", **{**FAST, "page_size": 2, **kw.pop("settings", {})})
    running = Running(ListWatch(KubeApi(api.api_client()), resource, handler, settings, **kw))
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def nodes(api: FakeKubeApi) -> Iterator[tuple[Recorder, Running]]:
    for name in "abcde":
        api.create(FAKE_NODES, o.node(name))
    handler = Recorder()
    with watching(api, NODES, handler) as running:
        wait_until(running.watch.synced.is_set)
        yield handler, running


def test_lists_in_pages_then_follows_changes(
    api: FakeKubeApi, nodes: tuple[Recorder, Running]
) -> None:
    handler, running = nodes
    assert handler.names() == set("abcde")
    assert sum(1 for m, p in api.requests if m == "GET" and "continue=" in p) == 2  # 5 by 2
    api.create(FAKE_NODES, o.node("f"))
    api.patch(FAKE_NODES, "a", {"metadata": {"labels": {"x": "y"}}})
    api.delete(FAKE_NODES, "b")
    wait_until(lambda: handler.names() == set("acdef"))
    wait_until(lambda: handler.objects["a"]["metadata"].get("labels") == {"x": "y"})
    assert running.watch.lists == 1


def test_a_dropped_watch_resumes_where_it_was_without_listing(
    api: FakeKubeApi, nodes: tuple[Recorder, Running]
) -> None:
    handler, running = nodes
    wait_until(lambda: api.open_watches == 1)
    api.drop_watches()
    api.create(FAKE_NODES, o.node("f"))  # while no watch is open
    api.delete(FAKE_NODES, "c")
    wait_until(lambda: handler.names() == set("abdef"))
    assert running.watch.lists == 1 and handler.replaced == 1


def test_gone_means_list_again(api: FakeKubeApi, nodes: tuple[Recorder, Running]) -> None:
    handler, running = nodes
    wait_until(lambda: api.open_watches == 1)
    api.fail_next("GET", "watch=", code=503, times=1000)  # keep it away for a while
    api.drop_watches()
    api.create(FAKE_NODES, o.node("f"))
    api.delete(FAKE_NODES, "a")
    api.compact()  # the history the watch would need is gone
    api.clear_failures()
    wait_until(lambda: running.watch.lists == 2)
    wait_until(lambda: handler.names() == set("bcdef"))
    assert handler.replaced == 2


def test_bookmarks_keep_a_quiet_watch_resumable(api: FakeKubeApi) -> None:
    api.create(FAKE_PODS, o.pod("p", "a"), "default")
    handler = Recorder()
    with watching(api, PODS, handler, field_selector="spec.nodeName=a") as running:
        wait_until(running.watch.synced.is_set)
        before = int(running.watch.resource_version or 0)
        for i in range(5):  # other kinds move the cluster's resourceVersion on
            api.create(FAKE_NODES, o.node(f"n{i}"))
        wait_until(lambda: int(running.watch.resource_version or 0) > before + 4)
        api.compact()
        api.drop_watches()
        api.create(FAKE_PODS, o.pod("q", "a"), "default")
        wait_until(lambda: handler.names() == {"default/p", "default/q"})
        assert running.watch.lists == 1  # resumed from the bookmark: no 410, no relist


def test_field_selector_limits_the_watch_to_this_node(api: FakeKubeApi) -> None:
    api.create(FAKE_PODS, o.pod("mine", "a"), "default")
    api.create(FAKE_PODS, o.pod("theirs", "b"), "default")
    handler = Recorder()
    with watching(api, PODS, handler, field_selector="spec.nodeName=a") as running:
        wait_until(running.watch.synced.is_set)
        assert handler.names() == {"default/mine"}
        api.create(FAKE_PODS, o.pod("more", "b"), "default")
        api.create(FAKE_PODS, o.pod("also-mine", "a"), "default")
        wait_until(lambda: handler.names() == {"default/mine", "default/also-mine"})


def test_errors_back_off_and_recover(api: FakeKubeApi) -> None:
    api.create(FAKE_NODES, o.node("a"))
    api.fail_next("GET", "/api/v1/nodes", code=500, times=3)
    handler = Recorder()
    started = time.monotonic()
    with watching(api, NODES, handler) as running:
        wait_until(running.watch.synced.is_set)
        # three failures: at least the first three delays (0.05, 0.1, 0.2, each >= half)
        assert time.monotonic() - started >= 0.15
        assert handler.names() == {"a"}


def test_backoff_grows_with_jitter_up_to_its_ceiling() -> None:
    backoff = Backoff(1.0, 8.0)
    delays = [backoff.delay() for _ in range(6)]
    bounds = [1, 2, 4, 8, 8, 8]
    assert all(b / 2 <= d <= b for d, b in zip(delays, bounds, strict=True))
    assert len({round(d, 6) for d in delays}) > 1
    backoff.reset()
    assert backoff.delay() <= 1.0


def test_a_resource_that_is_not_served_is_waited_for(api: FakeKubeApi) -> None:
    networks = o.vppnet_networks_resource()
    handler = Recorder()
    with watching(api, VPPNET_NETWORKS, handler) as running:
        wait_until(running.watch.synced.is_set)  # synced: "there are none"
        assert not running.watch.served and handler.names() == set()
        api.install(networks)
        api.create(networks, o.network("blue", 56, ipv4="172.19.0.0/16"))
        wait_until(lambda: handler.names() == {"blue"})
        api.uninstall(networks)
        wait_until(lambda: handler.names() == set())


def test_a_failing_handler_does_not_end_the_watch(
    api: FakeKubeApi, nodes: tuple[Recorder, Running]
) -> None:
    handler, running = nodes
    handler.poison.add("bad")
    api.create(FAKE_NODES, o.node("bad"))
    api.create(FAKE_NODES, o.node("good"))
    wait_until(lambda: "good" in handler.names())
    assert "bad" not in handler.names() and running.watch.lists == 1


def test_stop_is_prompt_even_in_a_long_watch(api: FakeKubeApi) -> None:
    handler = Recorder()
    with watching(api, NODES, handler, settings={"watch_timeout_seconds": 600}) as running:
        wait_until(lambda: api.open_watches == 1)
        assert running.stop() < 1.0
        assert not running.thread.is_alive()

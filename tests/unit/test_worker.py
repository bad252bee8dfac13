"""The debounced worker, the settings, and Event naming."""

from __future__ import annotations

import threading
import time

import pydantic
import pytest

from agent.k8s import K8sSettings
from agent.k8s.convert.meta import ObjectMeta
from agent.k8s.events import event_name
from agent.worker import Backoff, DebouncedWorker


class Action:
    def __init__(self, results: list[bool] | None = None) -> None:
        self.calls: list[float] = []
        self.results = results or []
        self.lock = threading.Lock()

    def __call__(self) -> bool:
        with self.lock:
            self.calls.append(time.monotonic())
            return self.results.pop(0) if self.results else True


def worker(action: Action, debounce: float = 0.05, max_delay: float = 1.0) -> DebouncedWorker:
    w = DebouncedWorker(
        "test", action, debounce=debounce, max_delay=max_delay, backoff=Backoff(0.05, 0.1)
    )
    w.start()
    return w


def test_a_burst_of_triggers_runs_the_action_once() -> None:
    action = Action()
    w = worker(action)
    try:
        for _ in range(20):
            w.trigger()
            time.sleep(0.002)
        assert w.wait_idle(2)
        assert len(action.calls) == 1
        w.trigger()
        assert w.wait_idle(2) and len(action.calls) == 2
    finally:
        w.stop()


def test_a_steady_stream_still_runs_within_max_delay() -> None:
    action = Action()
    w = worker(action, debounce=0.05, max_delay=0.15)
    try:
        started = time.monotonic()
        while time.monotonic() - started < 0.5:
            w.trigger()
            time.sleep(0.01)
        assert len(action.calls) >= 2  # never quiet for 50 ms, yet it ran
    finally:
        w.stop()


def test_failures_are_retried_without_a_new_trigger() -> None:
    action = Action([False, False, True])
    w = worker(action)
    try:
        w.trigger()
        deadline = time.monotonic() + 3
        while len(action.calls) < 3 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert len(action.calls) == 3 and w.failures == 2
        assert w.wait_idle(2)
    finally:
        w.stop()


def test_an_exception_counts_as_a_failure_and_stop_ends_the_thread() -> None:
    calls = []

    def boom() -> bool:
        calls.append(1)
        raise RuntimeError("boom")

    w = DebouncedWorker("boom", boom, debounce=0, max_delay=0.1, backoff=Backoff(0.05, 0.05))
    w.start()
    w.trigger()
    time.sleep(0.2)
    w.stop()
    assert len(calls) >= 2 and w.failures == len(calls)
    w.trigger()  # ignored once stopped
    time.sleep(0.1)
    assert w.failures == len(calls)


def test_settings_refuse_unknown_keys_and_inconsistent_bounds() -> None:
    assert K8sSettings(node_name="a").calico_vpp_networks
    with pytest.raises(pydantic.ValidationError):
        K8sSettings(node_name="a", nodename="typo")  # type: ignore[call-arg]
    with pytest.raises(pydantic.ValidationError):
        K8sSettings(node_name="")
    with pytest.raises(pydantic.ValidationError):
        K8sSettings(node_name="a", backoff_initial_seconds=5, backoff_max_seconds=1)
    with pytest.raises(pydantic.ValidationError):
        K8sSettings(node_name="a", debounce_seconds=2, max_delay_seconds=1)


def test_event_names_are_the_same_on_every_agent_and_new_per_generation() -> None:
    def meta(generation: int, version: str) -> ObjectMeta:
        return ObjectMeta.of(
            {
                "metadata": {
                    "name": "blue",
                    "uid": "u",
                    "generation": generation,
                    "resourceVersion": version,
                }
            }
        )

    one = event_name(meta(1, "10"), "DuplicateVNI", "m")
    assert one == event_name(meta(1, "11"), "DuplicateVNI", "m")  # a status write is no news
    assert one != event_name(meta(2, "12"), "DuplicateVNI", "m")
    assert one != event_name(meta(1, "10"), "RangeOverlap", "m")
    assert one.startswith("blue.vppnet-") and len(one) < 253


def test_a_stopped_worker_starts_again_and_runs_what_was_asked_meanwhile() -> None:
    action = Action()
    w = worker(action)
    w.trigger()
    assert w.wait_idle(5) and len(action.calls) == 1
    w.stop()
    w.trigger()  # e.g. a model change while the BGP speaker is stopped
    assert len(action.calls) == 1
    w.start()
    try:
        assert w.wait_idle(5) and len(action.calls) == 2
    finally:
        w.stop()

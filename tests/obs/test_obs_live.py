"""The OBS link against a real OBS Studio 29 (obs-websocket 5.1) under Xvfb.

Async tests run through ``asyncio.run`` with an overall deadline, so the suite needs no
asyncio plugin and a hang fails instead of blocking CI.
"""

from __future__ import annotations

import asyncio
import logging
import statistics
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any, TypeVar

import pytest

from control.obs import (
    ConnectionLost,
    Event,
    EventStream,
    EventSubscription,
    ObsClient,
    ObsFatalError,
    ObsNotConnected,
    ObsRequestError,
    Request,
    RequestBatchExecutionType,
    RequestStatus,
)

if TYPE_CHECKING:
    from control.obs.launcher import ObsLauncher

T = TypeVar("T")


def run(coro: Coroutine[Any, Any, T], timeout: float = 30) -> T:
    async def bounded() -> T:
        async with asyncio.timeout(timeout):
            return await coro

    return asyncio.run(bounded())


async def other_scene(client: ObsClient, obs: ObsLauncher) -> str:
    current = (await client.call("GetCurrentProgramScene"))["currentProgramSceneName"]
    return next(s for s in obs.scenes if s != current)


async def settled_take(events: EventStream, target: str) -> Event:
    """The take reached program and its transition is over (a take sent before
    SceneTransitionEnded gets its transition cut short by OBS). obs-websocket 5.1 broadcasts
    events from a thread pool, so these two may arrive in either order."""
    changed: Event | None = None
    ended = False
    while changed is None or not ended:
        event = await events.get()
        if event.event_type == "SceneTransitionEnded":
            ended = True
        elif (event.event_type == "CurrentProgramSceneChanged"
              and event.data.get("sceneName") == target):
            changed = event
    return changed


async def eventually(predicate: Callable[[], bool], changed: asyncio.Event) -> None:
    while not predicate():
        await changed.wait()
        changed.clear()


def test_identify_and_get_version(obs: ObsLauncher, record_property: Any) -> None:
    async def main() -> list[float]:
        async with ObsClient(obs.url, obs.password) as client:
            await client.wait_connected(timeout=10)
            assert client.connected and client.sessions == 1
            assert client.hello is not None and client.hello.authentication_required
            version = await client.call("GetVersion")
            assert version["rpcVersion"] == 1
            assert version["obsWebSocketVersion"].startswith("5.")
            assert "SetCurrentProgramScene" in version["availableRequests"]
            loop = asyncio.get_running_loop()
            times = []
            for _ in range(200):
                t0 = loop.time()
                await client.call("GetVersion")
                times.append(loop.time() - t0)
            return times

    times = sorted(run(main()))
    median, p99 = statistics.median(times) * 1e3, times[int(len(times) * 0.99)] * 1e3
    record_property("getversion_rtt_ms", f"median {median:.2f}, p99 {p99:.2f}")
    print(f"GetVersion round trip: median {median:.2f} ms, p99 {p99:.2f} ms")
    assert median < 50  # loopback; a regression to polling or sleeps would show here


def test_wrong_password_is_fatal_and_not_retried(
    obs: ObsLauncher, caplog: pytest.LogCaptureFixture
) -> None:
    async def main(password: str | None) -> tuple[ObsFatalError, ObsClient]:
        client = ObsClient(obs.url, password)
        async with client:
            with pytest.raises(ObsFatalError) as info:
                await client.wait_connected(timeout=10)
            # Observe a quiet period: a retry storm would show up as more attempts.
            await asyncio.sleep(0.6)  # first retry would come after 0.25 s
            assert not client.running and not client.connected
            with pytest.raises(ObsFatalError):
                await client.call("GetVersion")
        return info.value, client

    caplog.set_level(logging.INFO, logger="control.obs")
    error, client = run(main("not-the-password"))
    assert error.code == 4009
    assert "wrong obs-websocket password" in str(error)
    assert client.connection_attempts == 1
    assert any("not retrying" in r.getMessage() for r in caplog.records)

    error, client = run(main(None))
    assert error.code == 4009 and "none is configured" in str(error)
    assert client.connection_attempts == 1


def test_set_program_scene_and_wait_for_the_event(obs: ObsLauncher) -> None:
    async def main() -> None:
        async with ObsClient(obs.url, obs.password) as client:
            await client.wait_connected(timeout=10)
            target = await other_scene(client, obs)
            with client.events() as events:
                assert await client.call("SetCurrentProgramScene", {"sceneName": target}) == {}
                event = await asyncio.wait_for(settled_take(events, target), timeout=5)
            assert event.event_intent == 4  # Scenes
            now = await client.call("GetCurrentProgramScene")
            assert now["currentProgramSceneName"] == target

    run(main())


def test_batch_serial_realtime_take(obs: ObsLauncher) -> None:
    async def main() -> None:
        async with ObsClient(obs.url, obs.password) as client:
            await client.wait_connected(timeout=10)
            target = await other_scene(client, obs)
            with client.events() as events:
                results = await client.batch(
                    [
                        Request("SetCurrentSceneTransition", {"transitionName": "Fade"}),
                        Request("SetCurrentSceneTransitionDuration", {"transitionDuration": 200}),
                        Request("SetCurrentProgramScene", {"sceneName": target}, "take"),
                    ],
                    execution_type=RequestBatchExecutionType.SerialRealtime,
                    halt_on_failure=True,
                )
                assert [r.request_type for r in results] == [
                    "SetCurrentSceneTransition",
                    "SetCurrentSceneTransitionDuration",
                    "SetCurrentProgramScene",
                ]
                assert all(r.ok for r in results), results
                assert results[2].request_id == "take"
                await asyncio.wait_for(settled_take(events, target), timeout=5)
            transition = await client.call("GetCurrentSceneTransition")
            assert transition["transitionName"] == "Fade"
            assert transition["transitionDuration"] == 200

            # haltOnFailure stops at the first failure; its result says why.
            results = await client.batch(
                [("SetCurrentProgramScene", {"sceneName": "No Such Scene"}), ("GetVersion", None)],
                halt_on_failure=True,
            )
            assert len(results) == 1 and results[0].status.code == RequestStatus.ResourceNotFound
            with pytest.raises(ObsRequestError):
                results[0].raise_for_status()

    run(main())


def test_reidentify_changes_event_subscriptions(obs: ObsLauncher) -> None:
    async def main() -> list[Event]:
        async with ObsClient(obs.url, obs.password) as client:
            await client.wait_connected(timeout=10)
            target = await other_scene(client, obs)
            await client.reidentify(EventSubscription.Scenes)
            seen: list[Event] = []
            stop_recording = client.add_event_listener(seen.append)
            with client.events() as events:
                await client.call("SetCurrentProgramScene", {"sceneName": target})
                await asyncio.wait_for(events.wait_for("CurrentProgramSceneChanged"), 5)
            stop_recording()
            await client.reidentify(EventSubscription.All)
            assert client.connected and client.sessions == 1
            return seen

    # SceneTransitionStarted (Transitions) came before the scene change with All; not now.
    seen = run(main())
    assert "CurrentProgramSceneChanged" in [e.event_type for e in seen]
    assert all(e.event_intent == EventSubscription.Scenes for e in seen), seen


def test_missing_scene_is_a_request_error_600(obs: ObsLauncher) -> None:
    async def main() -> ObsRequestError:
        async with ObsClient(obs.url, obs.password) as client:
            await client.wait_connected(timeout=10)
            with pytest.raises(ObsRequestError) as info:
                await client.call("SetCurrentProgramScene", {"sceneName": "No Such Scene"})
            assert client.connected  # a refused request does not hurt the session
            await client.call("GetVersion")
            return info.value

    error = run(main())
    assert error.code == 600 and error.status_name == "ResourceNotFound"
    assert error.request_type == "SetCurrentProgramScene"
    assert error.comment


def test_crash_and_restart(
    own_obs: ObsLauncher, caplog: pytest.LogCaptureFixture, record_property: Any
) -> None:
    """OBS starts after the client, is SIGKILLed with a request in flight, and restarts on
    the same port: the request fails at once, the client reconnects by itself, and the
    post-identify hook runs again."""
    obs = own_obs
    caplog.set_level(logging.INFO, logger="control.obs")

    async def main() -> tuple[float, float]:
        loop = asyncio.get_running_loop()
        changed = asyncio.Event()
        resyncs: list[str] = []

        async def resync() -> None:
            scene = await client.call("GetCurrentProgramScene")
            resyncs.append(scene["currentProgramSceneName"])
            changed.set()

        async with ObsClient(obs.url, obs.password, request_timeout=30) as client:
            client.on_identified(resync)
            # OBS is not running yet: the client keeps trying, quietly.
            with pytest.raises(TimeoutError):
                await client.wait_connected(timeout=0.6)
            with pytest.raises(ObsNotConnected):
                await client.call("GetVersion")
            await asyncio.to_thread(obs.start)
            await client.wait_connected(timeout=10)
            await asyncio.wait_for(eventually(lambda: len(resyncs) == 1, changed), 10)

            # A batch that OBS holds for 10 s; GetVersion's answer proves OBS has read it.
            in_flight = asyncio.create_task(client.batch(
                [Request("Sleep", {"sleepMillis": 10_000})], timeout=30))
            await client.call("GetVersion")
            assert not in_flight.done()

            t0 = loop.time()
            await asyncio.to_thread(obs.kill)
            with pytest.raises(ConnectionLost) as info:
                await in_flight
            failed_after = loop.time() - t0
            assert info.value.code == 1006
            assert not client.connected
            with pytest.raises(ObsNotConnected):
                await client.call("GetVersion")

            await asyncio.to_thread(obs.start)
            t1 = loop.time()  # OBS accepts Identify from here on
            await client.wait_connected(timeout=10)
            reconnected_after = loop.time() - t1
            await asyncio.wait_for(eventually(lambda: len(resyncs) == 2, changed), 10)
            assert client.sessions == 2
            assert (await client.call("GetVersion"))["rpcVersion"] == 1

            # Clean exit of OBS: a close that is not fatal. (OBS usually sends ExitStarted
            # first, but not always when SIGINTed soon after a restart: don't rely on it.)
            await asyncio.to_thread(obs.stop)

            async def disconnected() -> None:
                while client.connected:
                    await asyncio.sleep(0.01)

            await asyncio.wait_for(disconnected(), 10)
            assert client.running and client.fatal_error is None
        return failed_after, reconnected_after

    failed_after, reconnected_after = run(main(), timeout=60)
    record_property("crash_to_connection_lost_ms", round(failed_after * 1e3, 1))
    record_property("obs_ready_to_reconnected_ms", round(reconnected_after * 1e3, 1))
    print(f"SIGKILL -> ConnectionLost {failed_after * 1e3:.1f} ms; "
          f"OBS ready -> reconnected {reconnected_after * 1e3:.1f} ms")
    assert failed_after < 1.0, f"pending request failed only after {failed_after:.3f} s"
    assert reconnected_after < 3.0, "backoff is capped at 2 s"
    down_infos = [r for r in caplog.records
                  if r.levelno >= logging.INFO and "not reachable" in r.getMessage()]
    assert len(down_infos) <= 3, "retries while OBS is down must log at DEBUG"

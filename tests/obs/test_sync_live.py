"""ObsSync against a real OBS 29: desired outputs in, OBS showing them out.

Every wait is a condition with a deadline (``until``), checked on each OBS event and on a
short tick, never a sleep standing in for "long enough".
"""

from __future__ import annotations

import asyncio
import contextlib
import statistics
from collections.abc import AsyncIterator, Callable, Coroutine, Iterable
from pathlib import Path
from typing import Any, TypeVar

import pytest
from helpers import until

from control.obs.client import ObsClient
from control.obs.launcher import ObsLauncher
from control.obs.messages import Request
from control.obs.sync import ObsOutputError, ObsSync
from control.show.model import CUT
from control.show.outputs import Outputs

T = TypeVar("T")
ShowOutputs = Callable[[str], Outputs]


def run(coro: Coroutine[Any, Any, T], timeout: float = 30) -> T:
    async def bounded() -> T:
        async with asyncio.timeout(timeout):
            return await coro

    return asyncio.run(bounded())


@contextlib.asynccontextmanager
async def synced(obs: ObsLauncher, **kw: Any) -> AsyncIterator[tuple[ObsClient, ObsSync]]:
    async with ObsClient(obs.url, obs.password) as client:
        await client.wait_connected(timeout=10)
        sync = ObsSync(client, **kw)
        task = asyncio.create_task(sync.run())
        try:
            yield client, sync
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


def record_batches(client: ObsClient) -> list[list[str]]:
    """Request types of every batch the client sends from now on."""
    sent: list[list[str]] = []
    original = client.batch

    async def batch(requests: Iterable[Any], **kw: Any) -> Any:
        requests = list(requests)
        sent.append([r.request_type if isinstance(r, Request) else r[0] for r in requests])
        return await original(requests, **kw)

    client.batch = batch  # type: ignore[method-assign]
    return sent


def setters(batches: list[list[str]]) -> list[list[str]]:
    return [b for b in batches if any(t.startswith("Set") for t in b)]


async def obs_reports(read: Callable[[], Coroutine[Any, Any, object]], expected: object,
                      timeout: float = 5.0) -> None:
    """Wait until OBS itself answers ``expected``: some setters (the preview) are applied
    on OBS's UI thread after the request has been answered."""
    async with asyncio.timeout(timeout):
        while await read() != expected:
            await asyncio.sleep(0.01)


async def preview(client: ObsClient) -> str:
    return (await client.call("GetCurrentPreviewScene"))["currentPreviewSceneName"]


async def program(client: ObsClient) -> str:
    return (await client.call("GetCurrentProgramScene"))["currentProgramSceneName"]


async def enabled(client: ObsClient, scene: str, item: str) -> bool:
    item_id = (await client.call("GetSceneItemId", {"sceneName": scene, "sourceName": item}))
    answer = await client.call("GetSceneItemEnabled",
                               {"sceneName": scene, "sceneItemId": item_id["sceneItemId"]})
    return bool(answer["sceneItemEnabled"])


async def on_air(sync: ObsSync, outputs: Outputs, timeout: float = 5.0) -> None:
    sync.want(outputs)
    await until(lambda: sync.status().in_sync, timeout, f"OBS never showed {outputs}")


def test_want_switches_scene_and_items_once(obs: ObsLauncher, show_outputs: ShowOutputs) -> None:
    opening, countdown = show_outputs("opening"), show_outputs("countdown")
    assert opening.items == (("Studio Wide", "Logo Bug", True), ("Studio Wide", "Clock", False))

    async def main() -> None:
        async with synced(obs) as (client, sync):
            await on_air(sync, opening)
            assert await program(client) == "Studio Wide"
            assert await enabled(client, "Studio Wide", "Logo Bug")
            assert not await enabled(client, "Studio Wide", "Clock")

            batches = record_batches(client)
            before = sync.apply_batches
            sync.want(countdown)
            await sync.wait_applied(timeout=5)
            await until(lambda: sync.status().in_sync)
            assert await program(client) == "Countdown"
            assert await enabled(client, "Countdown", "Clock")
            assert not await enabled(client, "Countdown", "Logo Bug")
            # one batch: transition, items before the cut, the cut
            (take,) = setters(batches)
            assert take[-1] == "SetCurrentProgramScene"
            assert set(take[:-1]) <= {"SetCurrentSceneTransition", "SetSceneItemEnabled"}

            # the same desired state again: nothing is sent
            batches.clear()
            sync.want(countdown)
            sync.want(show_outputs("countdown"))  # equal value, new object
            await sync.wait_applied(timeout=5)
            assert setters(batches) == [] and sync.apply_batches == before + 1
            status = sync.status()
            assert status.in_sync and status.program_scene == status.desired_scene == "Countdown"
            assert status.alarms == () and status.to_json()["in_sync"] is True

    run(main())


def test_a_take_waits_for_the_running_transition(
        obs: ObsLauncher, show_outputs: ShowOutputs) -> None:
    """A take sent during a transition would cut it short (and OBS would never report the
    first scene); the sync holds the second take until the first transition has ended."""
    async def main() -> list[str]:
        async with synced(obs) as (client, sync):
            await on_air(sync, show_outputs("chat"))
            seen: list[str] = []
            with client.events() as events:
                sync.want(show_outputs("weather"))  # fade 200 ms
                await sync.wait_applied(timeout=5)  # its batch is answered: fading now
                sync.want(show_outputs("countdown"))  # cut
                while "Countdown" not in seen:
                    event = await asyncio.wait_for(
                        events.wait_for("CurrentProgramSceneChanged"), 5)
                    seen.append(event.data["sceneName"])
            await until(lambda: sync.status().in_sync)
            assert await program(client) == "Countdown"
            return seen

    assert run(main()) == ["Remote Guest", "Countdown"]


def test_missing_scene_alarms_then_a_valid_scene_still_applies(
        obs: ObsLauncher, show_outputs: ShowOutputs) -> None:
    async def main() -> None:
        async with synced(obs) as (client, sync):
            await on_air(sync, show_outputs("chat"))
            sync.want(Outputs("No Such Scene", CUT, None, items=(("No Such Scene", "X", True),)))
            await sync.wait_applied(timeout=5)
            status = sync.status()
            assert "scene 'No Such Scene' missing in OBS" in status.alarms
            assert status.last_error is not None and "No Such Scene" in status.last_error
            assert "ResourceNotFound (600)" in status.last_error
            assert not status.in_sync and status.program_scene == "Studio Interview"

            await on_air(sync, show_outputs("opening"))
            assert await program(client) == "Studio Wide"
            assert sync.status().alarms == ()

    run(main())


def test_manual_cut_is_recorded_not_fought(obs: ObsLauncher, show_outputs: ShowOutputs) -> None:
    async def main() -> None:
        async with synced(obs) as (client, sync):
            opening = show_outputs("opening")
            await on_air(sync, opening)
            async with ObsClient(obs.url, obs.password) as operator:
                await operator.wait_connected(timeout=10)
                await operator.call("SetCurrentProgramScene", {"sceneName": "Break"})
            await until(lambda: sync.status().manual_override == "Break", 5)
            status = sync.status()
            assert status.program_scene == "Break" and not status.in_sync
            assert "manual override: Break" in status.alarms

            batches = record_batches(client)
            sync.want(opening)  # the show still wants the same scene: leave the cut alone
            await sync.wait_applied(timeout=5)
            assert await program(client) == "Break"
            assert not any("SetCurrentProgramScene" in b for b in batches)

            await on_air(sync, show_outputs("chat"))  # a different scene: the show takes over
            assert sync.status().manual_override is None
            assert await program(client) == "Studio Interview"

    run(main())


def test_studio_mode_preview_follows_the_next_segment(
        obs: ObsLauncher, show_outputs: ShowOutputs) -> None:
    async def main() -> None:
        async with synced(obs) as (client, sync):
            opening = show_outputs("opening")
            assert opening.preview_scene == "Remote Guest"
            await on_air(sync, opening)
            await client.call("SetStudioModeEnabled", {"studioModeEnabled": True})
            try:
                await until(lambda: sync.status().preview_scene == "Remote Guest", 5)
                await obs_reports(lambda: preview(client), "Remote Guest")

                # a take in studio mode: OBS swaps the old program into preview when the
                # transition ends; the sync puts the next segment back there
                weather = show_outputs("weather")
                assert weather.preview_scene == "Countdown"
                sync.want(weather)
                await until(lambda: sync.status().in_sync
                            and sync.status().preview_scene == "Countdown", 5)
                assert await program(client) == "Remote Guest"
                await obs_reports(lambda: preview(client), "Countdown")
                assert sync.status().studio_mode and sync.status().in_sync
            finally:
                await client.call("SetStudioModeEnabled", {"studioModeEnabled": False})
            await until(lambda: not sync.status().studio_mode, 5)

    run(main())


def test_stats_and_record(obs: ObsLauncher) -> None:
    async def main() -> None:
        async with synced(obs, poll_interval=0.1) as (_client, sync):
            await until(lambda: sync.status().stats is not None, 5)
            stats = sync.status().stats
            assert stats is not None
            assert stats.active_fps > 0 and stats.render_total_frames > 0
            assert 0 <= stats.cpu_ratio <= 64 and stats.memory_bytes > 10 * 1024 * 1024
            assert 0 < stats.frame_render_seconds < 1
            assert sync.status().to_json()["stats"]["memory_bytes"] == stats.memory_bytes

            await sync.start_record(timeout=10)
            assert sync.status().recording is True
            await sync.stop_record(timeout=10)
            assert sync.status().recording is False

    run(main())


def test_a_failed_stream_start_is_told_by_the_event(tmp_path: Path) -> None:
    """The launcher's stream target refuses connections: StartStream still answers 100, and
    only StreamStateChanged says it failed. This OBS has its own Xvfb (the demo's way), and
    is killed at the end: the failure leaves a modal dialog that holds up a clean exit."""
    obs = ObsLauncher(tmp_path, scenes={"Only": []})

    async def main() -> None:
        await asyncio.to_thread(obs.start)
        async with synced(obs) as (_client, sync):
            with pytest.raises(ObsOutputError, match="could not start the stream"):
                await sync.start_stream(timeout=10)
            assert sync.status().streaming is False
            assert "could not start the stream" in (sync.status().last_error or "")
            await sync.stop_stream(timeout=5)  # not streaming: nothing to do

    try:
        run(main())
    finally:
        obs.kill()
        obs.close()


def test_take_latency_is_measured(obs: ObsLauncher, record_property: Any) -> None:
    """~50 Cut takes through the sync (want() → CurrentProgramSceneChanged), then ~50 bare
    SetCurrentProgramScene calls on the same OBS (round trip, and call → event)."""
    scenes = ["Intro", "Studio", "Break", "Countdown"]

    async def main() -> dict[str, list[float]]:
        async with synced(obs) as (client, sync):
            loop = asyncio.get_running_loop()
            times: dict[str, list[float]] = {"sync": [], "rtt": [], "bare": []}
            await on_air(sync, Outputs(scenes[-1], CUT, None))
            with client.events() as events:
                for i in range(48):
                    scene = scenes[i % len(scenes)]
                    t0 = loop.time()
                    sync.want(Outputs(scene, CUT, None))
                    await events.wait_for("CurrentProgramSceneChanged",
                                          lambda e, s=scene: e.data.get("sceneName") == s)
                    times["sync"].append(loop.time() - t0)
                    await until(lambda: sync.status().in_sync)
                latency = sync.status().take_latency_ms
                assert latency is not None and 0 < latency < 1000
                times["sync_internal"] = list(sync.take_latencies)
                for i in range(48):
                    scene = scenes[i % len(scenes)]
                    t0 = loop.time()
                    await client.call("SetCurrentProgramScene", {"sceneName": scene})
                    times["rtt"].append(loop.time() - t0)
                    await events.wait_for("CurrentProgramSceneChanged",
                                          lambda e, s=scene: e.data.get("sceneName") == s)
                    times["bare"].append(loop.time() - t0)
            return times

    times = run(main(), timeout=60)

    def summary(xs: list[float]) -> str:
        xs = sorted(xs)
        return (f"median {statistics.median(xs) * 1e3:.1f} ms, "
                f"p99 {xs[min(len(xs) - 1, int(len(xs) * 0.99))] * 1e3:.1f} ms")

    for key, label in (("sync", "want() → program event via ObsSync"),
                       ("sync_internal", "ObsSync take_latency (batch → event, last 20)"),
                       ("rtt", "bare SetCurrentProgramScene round trip"),
                       ("bare", "bare SetCurrentProgramScene → program event")):
        record_property(f"take_{key}_ms", summary(times[key]))
        print(f"{label}: {summary(times[key])}")


def test_obs_killed_and_restarted_comes_back_on_air(
        own_obs: ObsLauncher, show_outputs: ShowOutputs, record_property: Any) -> None:
    obs = own_obs

    async def main() -> float:
        await asyncio.to_thread(obs.start)
        async with synced(obs) as (client, sync):
            loop = asyncio.get_running_loop()
            await on_air(sync, show_outputs("opening"))
            await asyncio.to_thread(obs.kill)
            await until(lambda: not sync.status().connected, 5)
            assert "OBS not connected" in sync.status().alarms
            countdown = show_outputs("countdown")
            sync.want(countdown)  # the show goes on while OBS is down
            await asyncio.to_thread(obs.restart)
            ready = loop.time()
            await until(lambda: sync.status().in_sync, 3, "not back on air within 3 s")
            back_after = loop.time() - ready
            assert await program(client) == "Countdown"
            assert await enabled(client, "Countdown", "Clock")
            assert not await enabled(client, "Countdown", "Logo Bug")
            assert sync.status().reconnects == 1
            return back_after

    back_after = run(main(), timeout=60)
    record_property("obs_ready_to_on_air_ms", round(back_after * 1e3, 1))
    print(f"OBS ready after SIGKILL -> desired scene on program: {back_after * 1e3:.0f} ms")

"""Stream and record state without OBS (control/obs/stream_record.py): reads and events race."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from control.obs.errors import ObsRequestError
from control.obs.messages import Event
from control.obs.stream_record import SETTLE_S, ObsOutputError, StreamRecord


def state_event(output: str, active: bool, state: str) -> Event:
    return Event(f"{output}StateChanged", 64,
                 {"outputActive": active, "outputState": f"OBS_WEBSOCKET_OUTPUT_{state}"})


def unused_call(request_type: str) -> Any:
    raise AssertionError(f"no request expected, got {request_type}")


def test_unknown_until_obs_says() -> None:
    outputs = StreamRecord(unused_call, lambda _: None)
    assert outputs.streaming is None and outputs.recording is None
    outputs.read({"outputActive": False}, None, 0.0)
    assert outputs.streaming is False and outputs.recording is None


def test_a_read_around_a_state_event_does_not_undo_it() -> None:
    """The stats poll asks while a stop is underway and is answered after its event."""
    outputs = StreamRecord(unused_call, lambda _: None)
    outputs.on_event(state_event("Record", True, "STARTED"), 1.0)
    outputs.on_event(state_event("Record", False, "STOPPED"), 10.0)
    outputs.read({"outputActive": False}, {"outputActive": True}, 9.9)  # sent before
    assert outputs.recording is False
    assert outputs.streaming is False  # no stream event: the read counts
    outputs.read(None, {"outputActive": True}, 10.0 + SETTLE_S - 0.01)  # OBS lags its event
    assert outputs.recording is False
    outputs.read(None, {"outputActive": True}, 10.0 + SETTLE_S)  # then OBS's word again
    assert outputs.recording is True


class ScriptedObs:
    """Answers Get*Status / Start* like OBS does, and sends the state events after."""

    def __init__(self, outputs_events: list[Event], refuse: int | None = None) -> None:
        self.calls: list[str] = []
        self.events = outputs_events
        self.refuse = refuse
        self.target: StreamRecord | None = None

    async def call(self, request_type: str) -> dict[str, Any]:
        self.calls.append(request_type)
        if request_type.startswith("Get"):
            return {"outputActive": False}
        if self.refuse is not None:
            raise ObsRequestError(self.refuse, "nope", request_type)
        loop = asyncio.get_running_loop()
        for i, e in enumerate(self.events):  # later, from the reader
            assert self.target is not None
            loop.call_later(0.01 * (i + 1), self.target.on_event, e, loop.time())
        return {}


def run_set(obs: ScriptedObs, active: bool = True, timeout: float = 2) -> list[str]:
    errors: list[str] = []
    outputs = StreamRecord(obs.call, errors.append)
    obs.target = outputs

    async def main() -> None:
        await outputs.set("Stream", active, timeout)

    asyncio.run(main())
    return errors


def test_start_returns_on_the_started_event() -> None:
    obs = ScriptedObs([state_event("Stream", False, "STARTING"),
                       state_event("Stream", True, "STARTED")])
    assert run_set(obs) == []
    assert obs.calls == ["GetStreamStatus", "StartStream"]


def test_an_output_that_stops_at_once_failed_to_start() -> None:
    obs = ScriptedObs([state_event("Stream", False, "STARTING"),
                       state_event("Stream", False, "STOPPED")])
    with pytest.raises(ObsOutputError, match="could not start the stream"):
        run_set(obs)


def test_no_event_is_a_timeout_said_plainly() -> None:
    with pytest.raises(ObsOutputError, match="did not confirm that the stream started"):
        run_set(ScriptedObs([]), timeout=0.1)


def test_already_stopped_needs_no_request() -> None:
    obs = ScriptedObs([])
    assert run_set(obs, active=False) == []
    assert obs.calls == ["GetStreamStatus"]


def test_a_refusal_is_an_error_and_recorded() -> None:
    errors: list[str] = []
    obs = ScriptedObs([], refuse=703)
    outputs = StreamRecord(obs.call, errors.append)
    with pytest.raises(ObsOutputError, match="refused to start the stream"):
        asyncio.run(outputs.set("Stream", True, 1))
    assert errors and "refused to start the stream" in errors[0]


def test_a_late_stopping_event_does_not_turn_it_back_on() -> None:
    """OBS 5.1 sends events from a thread pool: STOPPING may arrive after STOPPED."""
    outputs = StreamRecord(unused_call, lambda _: None)
    outputs.on_event(state_event("Record", True, "STARTED"), 1.0)
    outputs.on_event(state_event("Record", False, "STOPPED"), 2.0)
    outputs.on_event(state_event("Record", True, "STOPPING"), 2.0)
    assert outputs.recording is False
    outputs.on_event(state_event("Stream", False, "STARTING"), 3.0)
    assert outputs.streaming is None  # not started yet: still unknown
    outputs.on_event(state_event("Stream", True, "STARTED"), 3.1)
    outputs.on_event(state_event("Stream", True, "RECONNECTING"), 4.0)
    assert outputs.streaming is True

"""The stage's settings and wiring: the presenter thresholds and the prompter token from the
config and the environment; who may drive the prompter; a token shared with another role is
refused."""

from __future__ import annotations

import pytest
from rundowns import ROOT

from control.config import ConfigError, load_settings
from control.show.stage import Thresholds
from control.web.auth import Auth
from control.wiring.stage import make_stage, operator_check

D, V, P = "director-token-0123456789abcdef", "viewer-token-0123456789abcdef", \
    "prompter-token-0123456789abcdef"


def test_the_shipped_config_and_the_environment() -> None:
    s = load_settings(ROOT / "config" / "show.yaml", {})
    assert (s.presenter_warning_ms, s.presenter_danger_ms, s.prompter_token) == (
        60_000, 15_000, None)
    s = load_settings(None, {"SHOWCTL_PRESENTER_WARNING": "45s",
                             "SHOWCTL_PRESENTER_DANGER": "10s",
                             "SHOWCTL_PROMPTER_TOKEN": P})
    assert (s.presenter_warning_ms, s.presenter_danger_ms, s.prompter_token) == (
        45_000, 10_000, P)
    with pytest.raises(ConfigError):
        load_settings(None, {"SHOWCTL_PRESENTER_DANGER": "soon"})


def test_who_may_drive_the_prompter() -> None:
    auth = Auth.from_settings(director=D, viewer=V)
    director_session = {"yes": True}

    def authorize(_request: object, role: str) -> str | None:
        return "director" if director_session["yes"] and role == "director" else None

    check = operator_check(auth, authorize, P)  # type: ignore[arg-type]
    request: object = object()
    assert check(request, P) == "prompter"  # type: ignore[arg-type]
    assert check(request, D) == "director"  # type: ignore[arg-type]
    assert check(request, V) is None  # type: ignore[arg-type]
    assert check(request, "guess") is None  # type: ignore[arg-type]
    assert check(request, None) == "director"  # type: ignore[arg-type]  (the console's cookie)
    director_session["yes"] = False
    assert check(request, None) is None  # type: ignore[arg-type]


def test_the_prompter_token_must_be_its_own() -> None:
    auth = Auth.from_settings(director=D)
    settings = load_settings(None, {"SHOWCTL_PROMPTER_TOKEN": D})

    async def command(_cmd: object) -> None:
        return None

    with pytest.raises(ValueError, match="same as another role"):
        make_stage(settings, auth, lambda _r, _role: None, command)
    settings = load_settings(None, {"SHOWCTL_PRESENTER_WARNING": "5s",
                                    "SHOWCTL_PRESENTER_DANGER": "10s"})
    stage = make_stage(settings, auth, lambda _r, _role: None, command)
    assert stage.defaults == Thresholds(10_000, 10_000)  # danger never past warning

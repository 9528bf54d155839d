"""The hosts' screens as the running show holds them: the presenter view and the prompter
(/presenter, /prompter, /stage/ws), following the runner's steps; the hosts' read-back
and the prompter operator's credential (docs/stage.md)."""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web

from control.config import Settings
from control.runner import Change
from control.show.commands import Command, ReadBack
from control.show.stage import Thresholds, presenter_view
from control.stage import StageHub, install
from control.web.auth import Auth, Authorize

PRESENTER = "presenter"  # who a read-back is journaled as (the screens have no login)


@dataclass(slots=True)
class Stage:
    hub: StageHub
    defaults: Thresholds

    def follow(self, change: Change) -> None:
        """The presenter view after this step (the screens hear real changes only)."""
        self.hub.publish(presenter_view(change.state, change.now, self.defaults))

    def install(self, app: web.Application, authorize: Authorize,
                read_key: str | None) -> None:
        install(app, self.hub, authorize=authorize, read_key=lambda: read_key)


def operator_check(auth: Auth, authorize: Authorize, prompter_token: str | None
                   ) -> Callable[[web.Request, str | None], str | None]:
    """Who may drive the prompter: the prompter token, the director's token, or the
    director's console session on this server (the guard's own rule)."""
    def check(request: web.Request, token: str | None) -> str | None:
        if token:
            if prompter_token and hmac.compare_digest(
                    token.encode("utf-8", "surrogatepass"), prompter_token.encode("utf-8")):
                return "prompter"
            return "director" if auth.role_of(token) == "director" else None
        return "director" if authorize(request, "director") else None
    return check


def make_stage(settings: Settings, auth: Auth, authorize: Authorize,
               command: Callable[[Command], Awaitable[object]]) -> Stage:
    """Raises ValueError for a prompter token that is another role's too."""
    if settings.prompter_token and auth.role_of(settings.prompter_token) is not None:
        raise ValueError("the prompter token is the same as another role's token")

    async def read_back(message_id: int) -> None:
        await command(ReadBack(message_id, by=PRESENTER))

    hub = StageHub(operator=operator_check(auth, authorize, settings.prompter_token),
                   read_back=read_back)
    return Stage(hub, Thresholds(max(settings.presenter_warning_ms, settings.presenter_danger_ms),
                                 settings.presenter_danger_ms))

"""The guests' door probed from the Internet's side: the drill's door-probe fault."""

from __future__ import annotations

from ..readmodel import journal_commands
from .base import Fault

# what the gallery network has and the Internet must not: each must be 404 at the door,
# with the director's own token
CONTROL = (("GET", "/api/state"), ("POST", "/api/take"), ("POST", "/api/panic"),
           ("GET", "/metrics"), ("GET", "/debug/looplag"), ("GET", "/"),
           ("GET", "/overlays/countdown.html"), ("GET", "/presenter"), ("GET", "/api/ws"))


class DoorProbe(Fault):
    """Every control route tried at the guests' door with the director's token (as if it
    had leaked to the Internet): each is 404 there, nothing is journaled, and the guest
    page's library is served."""

    name = "door-probe"

    async def inject(self) -> None:
        ctl = self.ctx.ctl
        assert ctl.http is not None
        self.before = len(journal_commands(ctl.journal()))
        self.started()
        headers = {"Authorization": f"Bearer {ctl.tokens['director']}"}
        self.answers: dict[str, int] = {}
        for method, path in CONTROL:
            async with ctl.http.request(method, ctl.door_url + path, headers=headers) as r:
                self.answers[f"{method} {path}"] = r.status
        async with ctl.http.get(ctl.door_url + "/lib/socket.js") as r:
            self.library = r.status
        self.recovered()

    async def verify(self) -> None:
        ctl, r = self.ctx.ctl, self.r
        opened = {what: status for what, status in self.answers.items() if status != 404}
        r.detail.update(not_404=opened, library=self.library)
        r.checks["every control route 404 at the door"] = not opened
        r.checks["nothing journaled"] = len(journal_commands(ctl.journal())) == self.before
        r.checks["the guest page's library served at the door"] = self.library == 200

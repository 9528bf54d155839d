"""The guests' full-quality recordings (ISO) in the console: the list, and the director's
download. Part of the wiring: it bridges the web layer and the guests adapter.

    GET /api/iso                      viewer+   -> {"recordings": [...]} every guest's files
    GET /api/iso/{guest}/{file}       director  -> the file (video/webm), complete ones only

Registered through create_app's extra routes (`api_routes()`, `OPENAPI_PATHS`). A download
is logged with who and from where (the audit middleware logs only changes; a guest's
recording leaving the building is worth a line).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from aiohttp import web

from control.guests.iso import SUFFIX, IsoStore, Phase
from control.web.errors import ApiError, json_ok

from .guest_controls import who

log = logging.getLogger(__name__)

LIST_PATH = "/api/iso"
FILE_PATH = "/api/iso/{guest}/{file}"
LIST_ROLE = "viewer"
DOWNLOAD_ROLE = "director"
Roster = Callable[[], Mapping[str, Mapping[str, Any]]]


def api_routes() -> tuple[tuple[str, str, str], ...]:
    return (("GET", LIST_PATH, LIST_ROLE), ("GET", FILE_PATH, DOWNLOAD_ROLE))


class IsoApi:
    def __init__(self, store: IsoStore, roster: Roster) -> None:
        self.store = store
        self.roster = roster

    def recordings(self) -> list[dict[str, Any]]:
        """Every guest's recordings in the roster's order, oldest first: the view plus the
        download URL of a complete one."""
        order = {g: i for i, g in enumerate(self.roster())}
        out = []
        for upload, _ in self.store.files():
            view = upload.view()
            view["url"] = (f"/api/iso/{upload.guest}/{upload.name}{SUFFIX}"
                           if upload.phase is Phase.COMPLETE else None)
            out.append(view)
        return sorted(out, key=lambda v: (order.get(v["guest"], len(order)), v["opened_at"]))

    async def list(self, request: web.Request) -> web.Response:
        return json_ok({"recordings": self.recordings()})

    async def download(self, request: web.Request) -> web.StreamResponse:
        guest, file = request.match_info["guest"], request.match_info["file"]
        name = file.removesuffix(SUFFIX)
        upload = self.store.ledger.of(guest).get(name) if file.endswith(SUFFIX) else None
        if upload is None:
            raise ApiError(404, "unknown_recording", f"no recording {file!r} of {guest!r}")
        if upload.phase is not Phase.COMPLETE:
            raise ApiError(409, "incomplete", f"{file} is still uploading "
                           f"({upload.size} bytes so far)")
        log.info("ISO %s of guest %s downloaded by %s", file, guest, who(request))
        return web.FileResponse(self.store.path(upload), headers={
            "Content-Type": "video/webm", "Cache-Control": "no-store",
            "Content-Disposition": f'attachment; filename="{guest}-{file}"'})


def install(app: web.Application, api: IsoApi) -> IsoApi:
    """Register the handlers; the app's guard must already list `api_routes()`."""
    permissions: Mapping[tuple[str, str], str] = app.get("permissions") or {}
    unguarded = [f"{m} {p}" for m, p, _ in api_routes() if (m, p) not in permissions]
    if unguarded:
        raise ValueError(f"the app does not guard {', '.join(unguarded)}: make it with "
                         "create_app(..., extra_routes=control.wiring.iso.api_routes())")
    app.router.add_get(LIST_PATH, api.list, name="iso_list", allow_head=False)
    app.router.add_get(FILE_PATH, api.download, name="iso_download", allow_head=False)
    return api


_ERR = {str(s): {"$ref": f"#/components/responses/{n}"}
        for s, n in ((401, "Unauthorized"), (403, "Forbidden"), (404, "NotFound"))}
OPENAPI_PATHS: dict[str, dict[str, Any]] = {
    LIST_PATH: {"get": {
        "summary": "Guests: full-quality recordings (ISO)",
        "description": "Every guest's recordings: `guest`, `segment`, `take`, `file`, `bytes`, "
                       "`duration_ms` (as the page measured it), `phase` (uploading | complete) "
                       "and `url` (complete ones: the director downloads there). Viewer+.",
        "responses": {"200": {"description": "the list", "content": {"application/json": {
            "schema": {"type": "object", "properties": {"recordings": {
                "type": "array", "items": {"type": "object"}}}}}}}, **_ERR}}},
    FILE_PATH: {"get": {
        "summary": "Guests: download a full-quality recording",
        "description": "The WebM file of a complete recording. Director only; logged.",
        "parameters": [
            {"name": "guest", "in": "path", "required": True, "schema": {"type": "string"}},
            {"name": "file", "in": "path", "required": True, "schema": {"type": "string"},
             "description": "`<segment>-<take>.webm`"}],
        "responses": {"200": {"description": "the file", "content": {"video/webm": {
            "schema": {"type": "string", "format": "binary"}}}}, **_ERR}}},
}

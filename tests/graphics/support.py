"""Helpers for the overlay tests: the hub on a real server, pages in Chromium, pixels."""

from __future__ import annotations

import base64
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from helpers import until
from playwright.async_api import Browser, BrowserContext, Page

from control.overlays import (
    OPENAPI_PATHS,
    Catalog,
    OverlayHub,
    api_routes,
    derive_read_key,
    install,
)
from control.web.app import create_app
from control.web.auth import Auth

DIRECTOR, PRODUCER, VIEWER = ("overlay-director-token-01", "overlay-producer-token-01",
                              "overlay-viewer-token-0123")
TOKENS = {DIRECTOR: "director", PRODUCER: "producer", VIEWER: "viewer"}
RANK = {"viewer": 0, "producer": 1, "director": 2}
SAFE = (96, 54, 96 + 1728, 54 + 972)  # EBU R95 graphics-safe area at 1080p: x0, y0, x1, y1
# screenshots for a person to look at: $SHOWCTL_OVERLAY_SCREENSHOTS, or a temp directory
SHOTS = Path(os.environ.get("SHOWCTL_OVERLAY_SCREENSHOTS")
             or Path(tempfile.gettempdir()) / "showctl-overlay-screenshots")


class NoShow:
    """The controller of an app that serves the overlays only (the API's guard and errors
    need an app made by create_app)."""

    def read_model(self) -> dict[str, Any]:
        return {"segments": []}

    async def command(self, cmd: Any) -> None:
        raise AssertionError("no show here")

    async def reload(self) -> dict[str, Any]:
        raise AssertionError("no show here")

    async def output(self, name: str, active: bool) -> None:
        raise AssertionError("no show here")


def overlay_app() -> web.Application:
    """An app with the control API's guard and JSON errors, the overlay API in its table."""
    return create_app(NoShow(), Auth(TOKENS),  # type: ignore[arg-type]
                      extra_routes=api_routes(), openapi_paths=OPENAPI_PATHS)


def authorize(request: web.Request, min_role: str) -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    role = TOKENS.get(token.strip()) if scheme.lower() == "bearer" else None
    return role if role is not None and RANK[role] >= RANK[min_role] else None


@dataclass
class HubServer:
    hub: OverlayHub
    runner: web.AppRunner
    url: str
    key: str

    def page_url(self, template: str, **params: str) -> str:
        query = "&".join(f"{k}={v}" for k, v in {"key": self.key, **params}.items())
        return f"{self.url}/overlays/{template}?{query}"

    async def api(self, method: str, path: str, body: Any = None, token: str | None = DIRECTOR,
                  raw: bytes | None = None) -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        async with aiohttp.ClientSession() as http:
            kwargs: dict[str, Any] = {"headers": headers}
            if raw is not None:
                kwargs["data"] = raw
            elif body is not None:
                kwargs["json"] = body
            async with http.request(method, self.url + path, **kwargs) as resp:
                try:
                    return resp.status, await resp.json()
                except (aiohttp.ContentTypeError, ValueError):
                    return resp.status, await resp.text()

    async def close(self) -> None:
        await self.runner.cleanup()


async def start_hub(*, catalog: Catalog | None = None, delay_ms: int = 0) -> HubServer:
    hub = OverlayHub(catalog, delay_ms=delay_ms)
    app = overlay_app()
    key = derive_read_key(DIRECTOR)
    install(app, hub, authorize=authorize, read_key=lambda: key)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    return HubServer(hub, runner, f"http://127.0.0.1:{port}", key)


wait_until = until  # (the one wait: tests/helpers.py)


class Overlay:
    """One template page in its own 1920x1080 browser context."""

    def __init__(self, context: BrowserContext, page: Page) -> None:
        self.context = context
        self.page = page
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        page.on("pageerror", lambda e: self.errors.append(str(e)))
        page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)

        async def dismiss(dialog: Any) -> None:
            self.dialogs.append(dialog.message)
            await dialog.dismiss()

        page.on("dialog", dismiss)

    @classmethod
    async def open(cls, browser: Browser, url: str, *, init_script: str | None = None,
                   connected: bool = True) -> Overlay:
        context = await browser.new_context(viewport={"width": 1920, "height": 1080},
                                            device_scale_factor=1)
        if init_script:
            await context.add_init_script(init_script)
        page = await context.new_page()
        overlay = cls(context, page)
        await page.goto(url)
        if connected:
            await overlay.wait("window.showctl && showctl.link && showctl.link.rev !== null "
                               "&& showctl.clock.synced", what="the page to sync with the hub")
        return overlay

    async def wait(self, expression: str, timeout: float = 5.0, what: str = "") -> Any:
        try:
            # as a function, not a string to eval: the pages' CSP has no 'unsafe-eval'
            handle = await self.page.wait_for_function(f"() => ({expression})",
                                                       timeout=timeout * 1000, polling="raf")
        except Exception as exc:
            raise AssertionError(f"timed out waiting for {what or expression}: {exc}; "
                                 f"page errors: {self.errors}") from None
        return await handle.json_value()

    async def eval(self, expression: str) -> Any:
        return await self.page.evaluate(expression)

    async def settled(self) -> None:
        """Until the follower has done everything the hub asked and no animation runs."""
        await self.wait("showctl.follower && !showctl.follower.busy && "
                        "document.getAnimations().every(a => a.playState !== 'running')",
                        what="animations to end")

    async def screenshot(self, name: str | None = None) -> bytes:
        png = await self.page.screenshot(omit_background=True, type="png")
        if name:  # for a person to look at: as keyed, and over a mid grey
            SHOTS.mkdir(parents=True, exist_ok=True)
            (SHOTS / name).write_bytes(png)
            await self.page.evaluate("document.documentElement.style.background = '#5a6b7a'")
            view = await self.page.screenshot(type="png")
            await self.page.evaluate("document.documentElement.style.background = ''")
            (SHOTS / name.replace(".png", "-on-grey.png")).write_bytes(view)
        return png

    async def close(self) -> None:
        await self.context.close()


async def drawn_box(overlay: Overlay, png: bytes) -> dict[str, int] | None:
    """The bounding box of every pixel that is not fully transparent, decoded by the
    browser itself (None: the frame is empty)."""
    data = base64.b64encode(png).decode()
    return await overlay.page.evaluate("""async (b64) => {
        const bytes = Uint8Array.from(atob(b64), c => c.charCodeAt(0));
        const bitmap = await createImageBitmap(new Blob([bytes], {type: 'image/png'}));
        const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
        const ctx = canvas.getContext('2d');
        ctx.drawImage(bitmap, 0, 0);
        const {data, width, height} = ctx.getImageData(0, 0, bitmap.width, bitmap.height);
        let x0 = width, y0 = height, x1 = -1, y1 = -1, count = 0;
        for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) {
            if (data[(y * width + x) * 4 + 3] !== 0) {
                count++;
                if (x < x0) x0 = x; if (x > x1) x1 = x; if (y < y0) y0 = y; if (y > y1) y1 = y;
            }
        }
        return count ? {x0, y0, x1: x1 + 1, y1: y1 + 1, count, width, height} : null;
    }""", data)


def inside_safe(box: dict[str, int]) -> bool:
    return (box["x0"] >= SAFE[0] and box["y0"] >= SAFE[1] and box["x1"] <= SAFE[2]
            and box["y1"] <= SAFE[3])

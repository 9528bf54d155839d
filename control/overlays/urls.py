"""The URLs OBS browser sources load: pure functions of the controller's address and the
read key (the API answers with them; `showctl preflight --provision` creates the sources)."""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import quote

from .keys import derive_read_key
from .schema import default_catalog

WILDCARD_HOSTS = frozenset({"", "0.0.0.0", "::", "[::]"})


def base_url(host: str, port: int, *, scheme: str = "http") -> str:
    """`http://HOST:PORT` for a listening address. A wildcard address (0.0.0.0, ::) is no
    address to connect to: 127.0.0.1 (the controller's own machine) stands in for it."""
    host = host.strip()
    if host in WILDCARD_HOSTS:
        host = "127.0.0.1"
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"  # an IPv6 address
    return f"{scheme}://{host}:{port}"


def read_key(*secrets: str | None) -> str | None:
    """The pages' read key from the first configured token (director, producer, viewer:
    the wiring's order), or None when there is none."""
    for secret in secrets:
        if secret:
            return derive_read_key(secret)
    return None


def page_url(base: str, template: str, key: str | None = None, *,
             preview: bool = False) -> str:
    """The page of one template: program, or the preview bus (`preview=1`)."""
    url = f"{base.rstrip('/')}/overlays/{quote(template, safe='')}"
    query = ([f"key={quote(key, safe='')}"] if key else []) + (["preview=1"] if preview else [])
    return f"{url}?{'&'.join(query)}" if query else url


def program_urls(base: str, key: str | None,
                 templates: Iterable[str] | None = None) -> dict[str, str]:
    """{template: program page URL} for every template (default: the templates in
    overlays/), in name order: what each OBS browser source loads."""
    names = default_catalog().names() if templates is None else templates
    return {name: page_url(base, name, key) for name in sorted(names)}

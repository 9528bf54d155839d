"""A second door into the same app, open only to the routes named for it.

The guests' browsers are on the Internet; the console, the API, `/metrics` and `/debug` are
for the gallery network. `door_app(main, names)` makes an Application that serves only the
resources of `main` with those route names (the same resource objects: one handler, one
state, one set of open sockets) and answers 404 to everything else: a route added to the
main app later stays off the door until someone names it. It has the middlewares it is
given (the forwarded client, the Host check) and none of the main app's guard: there is no
/api/ behind this door to guard.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from aiohttp import web

from .errors import Handler


def door_app(main: web.Application, names: Iterable[str], *, client_max_size: int,
             middlewares: Sequence[Handler] = ()) -> web.Application:
    """Build it after every route of `main` is added, before either app starts. Raises
    ValueError for a name `main` does not have (a renamed route must not vanish quietly)."""
    named = main.router.named_resources()
    wanted = list(names)
    missing = [n for n in wanted if n not in named]
    if missing:
        raise ValueError(f"no route named {', '.join(missing)} in the app: the door would "
                         "not serve it")
    door = web.Application(client_max_size=client_max_size, middlewares=list(middlewares))
    for name in wanted:
        door.router.register_resource(named[name])
    return door

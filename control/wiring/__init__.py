"""The wiring: the one package that knows every part and connects them.

    rundown.py         the one rundown reader (file -> text + Loaded, cue data checked
                       against the graphics templates): `showctl validate`, startup, reload
    show.py            opening the show: journal resumed or started, clock, the runner
    obs.py             the OBS link (client + sync) and what the read model says of it
    overlays.py        the graphics hub following the rundown's cues
    stage.py           the hosts' screens (presenter view, prompter) following the show
    guests.py          remote scientists: gateway, program mixer, feed watch
    guest_controls.py  the console's guest controls (/api/guests/*): web meets guests
    iso.py             the guests' full-quality recordings in the console (/api/iso*)
    metrics.py         Prometheus sources over the other parts' caches
    http.py            the aiohttp app: the API, the adapters' routes, one guard
    listeners.py       where it listens: HTTPS, trusted proxies, the guests-only door, and
                       the one base URL of invite links
    osc.py             OSC input, when enabled
    live.py            `LiveShow` (the running show: every part, typed) and `run_show`

Data flow: rundown + journal -> state -> Runner (the one writer) -> one `Change` per step
(state, events, now, desired state) -> `LiveShow.on_change`, the one place for side
effects: OBS sync first, then metrics, graphics, mixer, and the consoles' read model.
The parts never import each other; only this package imports them all.

This module imports nothing: `showctl validate` reads rundowns through `rundown.py` without
loading the media stack.
"""

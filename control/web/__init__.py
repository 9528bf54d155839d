"""The web adapter: HTTP control API, state websocket, auth (later: the director's console).

It depends on the pure core (`control.show`) and on nothing else of showctl: the app wiring
hands it a `Controller` and publishes state into its `StateHub`.
"""

"""The pure core: rundown model and loader, timing, the show state machine.

Nothing here does I/O, reads the clock or imports asyncio: time is always an argument.
"""

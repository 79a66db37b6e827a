"""Stopping a long-running process on SIGINT or SIGTERM: the worker agent, and the site's own
commands (indexer, scheduler, cleaner), which import it from here.

A signal handler runs in the main thread between two bytecodes, possibly while that thread holds
the lock inside the very `threading.Event` the handler would set (entering or leaving
`Event.wait`): setting it there can wait forever for a lock its own thread holds. So the handler
hands the setting to a new thread, which takes the lock once the main thread lets it go."""

from __future__ import annotations

import signal
import threading


def stop_on_signals(stop: threading.Event) -> None:
    """Set `stop` when the process gets SIGINT or SIGTERM (call from the main thread)."""

    def handler(signum, frame) -> None:
        threading.Thread(target=stop.set, name="stop-on-signal", daemon=True).start()

    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, handler)

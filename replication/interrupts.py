"""Ctrl-C that always ends a run cleanly.

A SIGINT raises ``KeyboardInterrupt`` wherever Python happens to be, and that place is not always
ours: inside a finaliser (``__del__``) or a TensorFlow/tf.data callback the exception is printed
as "ignored" and swallowed, or re-raised as another type, and training would carry on. So the
handler also records the request, and :func:`check` — called at every batch by
:class:`replication.epochs.StopOnInterrupt`, between seeds and between claims — raises it again
at a point where it cannot be lost. ``__main__`` turns it into exit status 130.
"""

from __future__ import annotations

import signal
import threading

_requested = threading.Event()


def requested() -> bool:
    """True once a SIGINT arrived in this process (after :func:`install`)."""
    return _requested.is_set()


def check() -> None:
    """Raise ``KeyboardInterrupt`` if a SIGINT arrived; a no-op otherwise."""
    if _requested.is_set():
        raise KeyboardInterrupt


def _on_sigint(signum, frame):
    _requested.set()
    raise KeyboardInterrupt


def install() -> None:
    """Route SIGINT through :func:`_on_sigint` (main thread only, as Python requires)."""
    _requested.clear()
    signal.signal(signal.SIGINT, _on_sigint)

"""Ctrl-C that always ends a run cleanly.

Python's default SIGINT handler raises ``KeyboardInterrupt`` wherever Python happens to be, and
that place is not always ours: inside a finaliser (``__del__``) or a TensorFlow callback run from
C++ (a gradient tape, a tf.data function) the exception is printed with a traceback and swallowed,
or re-raised as another type, and training would carry on. So the first SIGINT only records the
request, and :func:`check` — called at every batch by :class:`replication.epochs.StopOnInterrupt`,
between seeds and between claims — raises ``KeyboardInterrupt`` at a point where it cannot be lost.
A second SIGINT raises at once, for a user who will not wait for the batch to end. ``__main__``
turns it into exit status 130.
"""

from __future__ import annotations

import signal
import sys
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
    if _requested.is_set():  # the second Ctrl-C: now
        raise KeyboardInterrupt
    _requested.set()
    print("\ninterrupt requested: stopping at the end of the current batch (Ctrl-C again to stop at once)",
          file=sys.stderr, flush=True)


def install() -> None:
    """Route SIGINT through :func:`_on_sigint` (main thread only, as Python requires)."""
    _requested.clear()
    signal.signal(signal.SIGINT, _on_sigint)

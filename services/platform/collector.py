"""Python's cyclic garbage collector, paused for work that holds many objects at once."""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator

__all__ = ["collector_paused"]


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """No cyclic garbage collection meanwhile (a rebuild's replay, a bulk load, a sweep pass):
    such work allocates so many objects that the collector runs often, and each of its full
    collections walks every object the process holds (a rebuild: more than decoding the
    events; a sweep pass: a third of its Python). Reference counting still frees everything;
    cyclic garbage waits for the collector's next run once it is resumed. Nested and
    overlapping pauses never leave it paused."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()

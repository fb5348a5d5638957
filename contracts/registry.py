"""Every event type of the log, derived from the emitting services' modules (never listed by hand).

``contracts/<service>.py`` holds the events that ``<service>`` emits on ``<service>.events``; the
registry reads them from there, so a new event class is registered by being written.
"""

from __future__ import annotations

import importlib
import inspect
from types import ModuleType

from contracts.base import Event
from contracts.topics import SERVICES

__all__ = ["EMITTED_BY", "EVENT_TYPES", "emitter_of"]


def _events_of(module: ModuleType) -> tuple[type[Event], ...]:
    """The event classes a service module defines, in the order of its source."""
    classes = [cls for _, cls in inspect.getmembers(module, inspect.isclass)
               if issubclass(cls, Event) and cls is not Event and cls.__module__ == module.__name__]
    return tuple(sorted(classes, key=lambda cls: inspect.getsourcelines(cls)[1]))


_MODULES = {service: importlib.import_module(f"contracts.{service}") for service in SERVICES}

EMITTED_BY: dict[str, tuple[str, ...]] = {
    service: tuple(cls.type_name() for cls in _events_of(module))
    for service, module in _MODULES.items()
}
"""Which service emits which event types, i.e. on which topic each type travels."""

EVENT_TYPES: dict[str, type[Event]] = {
    cls.type_name(): cls for module in _MODULES.values() for cls in _events_of(module)
}
"""Every event class by its ``type`` name."""


def emitter_of(type_name: str) -> str:
    """The service that emits events of ``type_name`` (raises ``KeyError`` for an unknown type)."""
    for service, types in EMITTED_BY.items():
        if type_name in types:
            return service
    raise KeyError(type_name)

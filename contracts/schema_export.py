"""Generate the committed JSON Schemas of every event and the AsyncAPI document of the topics.

Run ``python -m contracts.schema_export`` after changing an event; a test fails when the committed
files and the code drift apart.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from contracts.envelope import Envelope
from contracts.registry import EMITTED_BY, EVENT_TYPES
from contracts.topics import dead_letter_topic, events_topic

__all__ = [
    "ASYNCAPI_FILE",
    "SCHEMA_DIR",
    "asyncapi_document",
    "event_schemas",
    "main",
    "rendered_files",
]

SCHEMA_DIR = Path(__file__).parent / "schemas"
ASYNCAPI_FILE = Path(__file__).parent / "asyncapi.json"


def event_schemas() -> dict[str, dict[str, Any]]:
    """JSON Schema of each event payload, by file name ``<Type>.v<schema_version>.json``."""
    schemas: dict[str, dict[str, Any]] = {}
    for name, cls in sorted(EVENT_TYPES.items()):
        schema = cls.model_json_schema()
        schema["$id"] = f"urn:wineshop:event:{name}:v{cls.schema_version}"
        schemas[f"{name}.v{cls.schema_version}.json"] = schema
    schemas["Envelope.json"] = Envelope.model_json_schema()
    return schemas


def asyncapi_document() -> dict[str, Any]:
    """AsyncAPI 3 document: one channel per events topic and dead-letter topic."""
    channels: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    for service, types in EMITTED_BY.items():
        topic = events_topic(service)
        channels[topic] = {
            "address": topic,
            "description": f"Events of the {service} service, keyed by order_id, kept forever.",
            "messages": {name: {"$ref": f"#/components/messages/{name}"} for name in types},
        }
        channels[dead_letter_topic(topic)] = {
            "address": dead_letter_topic(topic),
            "description": f"Records of {topic} that could not be applied, with the reason "
                           "in the 'dlq-reason' header and the original bytes as value.",
        }
        for name in types:
            messages[name] = _message(name)
    return {
        "asyncapi": "3.0.0",
        "info": {"title": "Wine shop order lifecycle events", "version": "1.0.0"},
        "defaultContentType": "application/json",
        "channels": channels,
        "components": {"messages": messages},
    }


def _message(name: str) -> dict[str, Any]:
    version = EVENT_TYPES[name].schema_version
    return {
        "name": name,
        "title": name,
        "summary": (EVENT_TYPES[name].__doc__ or "").strip().splitlines()[0],
        "payload": {"$ref": f"schemas/{name}.v{version}.json"},
        "headers": {"$ref": "schemas/Envelope.json"},
    }


def rendered_files() -> dict[Path, str]:
    """Every generated file with its exact text."""
    files = {SCHEMA_DIR / name: _render(schema) for name, schema in event_schemas().items()}
    files[ASYNCAPI_FILE] = _render(asyncapi_document())
    return files


def _render(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def main() -> int:
    """Write the generated files; print what changed."""
    SCHEMA_DIR.mkdir(exist_ok=True)
    for path, text in rendered_files().items():
        if not path.exists() or path.read_text() != text:
            path.write_text(text)
            print(f"wrote {path.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

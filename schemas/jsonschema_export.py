"""Generate the checked-in JSON Schema files from the models (``make schemas``)."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel

from schemas.alerts import Alert
from schemas.events import DiplomaticEvent

__all__ = ["SCHEMA_DIR", "render", "write"]

SCHEMA_DIR = Path(__file__).parent / "jsonschema"
# The v1 files stay checked in, as written then: the contract of records still on topics.
_MODELS: dict[str, type[BaseModel]] = {
    "diplomatic_event.v2.json": DiplomaticEvent,
    "alert.v3.json": Alert,
}


def render() -> dict[str, str]:
    """Return file name -> JSON Schema text for every record model."""
    out = {}
    for name, model in _MODELS.items():
        schema = model.model_json_schema(mode="validation")
        schema["$id"] = f"https://dipwatch.org/schemas/{name}"
        out[name] = json.dumps(schema, indent=2, sort_keys=True) + "\n"
    return out


def write() -> None:
    """Write the schema files next to this module."""
    SCHEMA_DIR.mkdir(exist_ok=True)
    for name, text in render().items():
        (SCHEMA_DIR / name).write_text(text, encoding="utf-8")


if __name__ == "__main__":
    write()

"""
Metadata fields of the ``documents`` table as Haystack 3.4's own stores report them.

``InMemoryDocumentStore`` defines the semantics (``count_unique_metadata_by_filter``, ``get_metadata_fields_info``,
``get_metadata_field_min_max``, ``get_metadata_field_unique_values``): a field is a top-level key of ``meta``
(named with or without ``meta.``), ``None`` values do not count, and values keep their JSON types. SQLite reads
each distinct (JSON type, value) once; the few distinct values are then compared in Python exactly as Haystack
compares them (``1``, ``1.0`` and ``True`` are one value when counted, three when listed).
"""

from __future__ import annotations

import json
from typing import Any

# JSON types as ``get_metadata_fields_info`` names them.
FIELD_TYPES = {
    "integer": "int", "real": "float", "true": "boolean", "false": "boolean", "text": "keyword", "array": "keyword",
    "object": "keyword",
}  # fmt: skip
_NUMERIC = {"integer", "real", "true", "false"}


def meta_path(field: str) -> str:
    """The JSON path of a top-level meta key (``meta.`` prefix optional), quoted for SQL."""
    key = field.removeprefix("meta.")
    if '"' in key:
        raise ValueError(f"Metadata field {field!r}: the embedded store cannot address a key with a double quote.")
    return "'$.\"" + key.replace("'", "''") + "\"'"


def distinct_values_sql(field: str, where: str) -> str:
    """SQL for each distinct (JSON type, value) of ``field`` over the documents matching ``where``."""
    path = meta_path(field)
    return (
        f"SELECT DISTINCT json_type(d.meta, {path}) AS type, json_extract(d.meta, {path}) AS value FROM documents d "
        f"WHERE ({where}) AND type IS NOT NULL AND type != 'null'"
    )


def python_value(json_type: str, value: Any) -> Any:
    """The Python value Haystack would hold for a JSON value read through ``json_extract``."""
    if json_type in ("true", "false"):
        return json_type == "true"
    if json_type in ("array", "object"):
        return json.loads(value)
    return value


def hashable(value: Any) -> Any:
    """A value usable in a set, equal where Haystack's in-memory store counts two values as one."""
    if isinstance(value, list | tuple):
        return (type(value).__name__, tuple(hashable(item) for item in value))
    if isinstance(value, dict):
        return ("dict", frozenset((key, hashable(item)) for key, item in value.items()))
    return value


def min_max(bounds: list[tuple[str, Any, Any]]) -> dict[str, Any]:
    """
    ``{"min", "max"}`` from each JSON type's (type, min, max).

    Over numbers (booleans among them) or strings, as Haystack orders them; lists and objects do not count, and numbers
    beside strings have no order (None).
    """
    kept = [(json_type, low, high) for json_type, low, high in bounds if json_type in _NUMERIC or json_type == "text"]
    if not kept or len({json_type == "text" for json_type, _, _ in kept}) > 1:
        return {"min": None, "max": None}
    lows = [python_value(json_type, low) for json_type, low, _ in kept]
    highs = [python_value(json_type, high) for json_type, _, high in kept]
    return {"min": min(lows), "max": max(highs)}

"""
Haystack filters as SQL over the ``documents`` table, where SQL means exactly what Haystack means.

Haystack's reference semantics are ``haystack.utils.filters.document_matches_filter`` (Python comparisons, ISO
dates compared as dates, a ``FilterError`` for strings compared with ``>``). SQL can say the same for equality,
``in`` and numeric comparisons when it checks the JSON type of the stored value, so those run in SQLite over
``json_extract``. Anything else (dates, lists or objects as values, fields other than id/content/meta.*) is
``None`` here, and the store evaluates that filter with Haystack's own function instead: slower, never different.

One deliberate difference: a numeric comparison (``meta.n > 1``) over a document whose value is a string is
simply no match here, where Haystack's in-memory store raises for the whole query (OpenSearch also just skips it).
"""

from __future__ import annotations

import json
from typing import Any

from haystack.errors import FilterError

_LOGICAL = {"AND", "OR", "NOT"}
_COMPARISON = {"==", "!=", ">", ">=", "<", "<=", "in", "not in"}
_NUMERIC_TYPES = "('integer', 'real', 'true', 'false')"

SqlClause = tuple[str, list[Any]]


def validate_filters(filters: dict[str, Any]) -> None:
    """Raise ``FilterError`` for a malformed filter, before any document is looked at."""
    if "operator" not in filters:
        raise FilterError(f"Filter {filters!r} has no 'operator'.")
    operator = filters["operator"]
    if "conditions" in filters or operator in _LOGICAL:
        if operator not in _LOGICAL:
            raise FilterError(f"Unknown logical operator {operator!r}; use one of {sorted(_LOGICAL)}.")
        if not isinstance(filters.get("conditions"), list):
            raise FilterError(f"Logical filter {filters!r} needs a list of 'conditions'.")
        for condition in filters["conditions"]:
            validate_filters(condition)
        return
    if operator not in _COMPARISON:
        raise FilterError(f"Unknown comparison operator {operator!r}; use one of {sorted(_COMPARISON)}.")
    if "field" not in filters or "value" not in filters:
        raise FilterError(f"Comparison filter {filters!r} needs a 'field' and a 'value'.")
    value = filters["value"]
    if operator in ("in", "not in") and not isinstance(value, list):
        raise FilterError(f"Filter operator {operator!r} needs a list value, got {value!r}.")
    if operator in (">", ">=", "<", "<=") and isinstance(value, list | dict):
        raise FilterError(f"Filter operator {operator!r} cannot compare with {value!r}.")


def to_sql(filters: dict[str, Any]) -> SqlClause | None:
    """A WHERE clause (over table alias ``d``) meaning exactly ``filters``, or None where SQL cannot say it."""
    operator = filters["operator"]
    if operator in _LOGICAL:
        parts = [to_sql(condition) for condition in filters["conditions"]]
        if any(part is None for part in parts):
            return None
        clauses = [part for part in parts if part is not None]
        if not clauses:
            return ("1", []) if operator != "OR" else ("0", [])
        joined = (" AND " if operator != "OR" else " OR ").join(f"COALESCE({sql}, 0)" for sql, _ in clauses)
        params = [param for _, clause_params in clauses for param in clause_params]
        return (f"NOT ({joined})", params) if operator == "NOT" else (f"({joined})", params)
    field = _field_sql(filters["field"])
    if field is None:
        return None
    value, type_sql = field
    return _comparison(operator, value, type_sql, filters["value"])


def _field_sql(field: str) -> tuple[str, str] | None:
    """(value expression, JSON-type expression) of a document field."""
    if field in ("id", "content"):
        return f"d.{field}", f"(CASE WHEN d.{field} IS NULL THEN 'null' ELSE 'text' END)"
    if not field.startswith("meta.") or '"' in field:
        return None
    path = "$." + ".".join(f'"{key}"' for key in field.removeprefix("meta.").split("."))
    quoted = path.replace("'", "''")
    return f"json_extract(d.meta, '{quoted}')", f"json_type(d.meta, '{quoted}')"


def _comparison(operator: str, value_sql: str, type_sql: str, value: Any) -> SqlClause | None:
    if operator in ("==", "!="):
        equal = _equal(value_sql, type_sql, value)
        if equal is None or operator == "==":
            return equal
        return f"NOT COALESCE({equal[0]}, 0)", equal[1]
    if operator in ("in", "not in"):
        member = _member(value_sql, type_sql, value)
        if member is None:
            return None
        return member if operator == "in" else (f"NOT COALESCE({member[0]}, 0)", member[1])
    if value is None:
        return "0", []  # Haystack: nothing is greater or smaller than None
    if isinstance(value, bool | int | float):
        return f"({type_sql} IN {_NUMERIC_TYPES} AND {value_sql} {operator} ?)", [_number(value)]
    return None  # strings (ISO dates, or a FilterError): Haystack's own comparison decides


def _member(value_sql: str, type_sql: str, values: list[Any]) -> SqlClause | None:
    """
    Equal to one of ``values``.

    Strings and numbers each as one ``IN`` over a JSON array (a chain of ORs would exceed SQLite's expression depth at a
    thousand values).
    """
    strings = [item for item in values if isinstance(item, str) and not _may_be_date(item)]
    numbers = [_number(item) for item in values if isinstance(item, bool | int | float)]
    nulls = [item for item in values if item is None]
    if len(strings) + len(numbers) + len(nulls) < len(values):
        return None  # dates, lists, objects: compared in Python
    parts: list[SqlClause] = []
    for found, types in ((strings, "('text')"), (numbers, _NUMERIC_TYPES)):
        if found:
            sql = f"({type_sql} IN {types} AND {value_sql} IN (SELECT value FROM json_each(?)))"
            parts.append((sql, [json.dumps(found)]))
    if nulls:
        parts.append((f"({value_sql} IS NULL)", []))
    any_equal = " OR ".join(f"COALESCE({sql}, 0)" for sql, _ in parts) or "0"
    return f"({any_equal})", [param for _, part_params in parts for param in part_params]


def _equal(value_sql: str, type_sql: str, value: Any) -> SqlClause | None:
    if value is None:
        return f"({value_sql} IS NULL)", []
    if isinstance(value, str) and not _may_be_date(value):
        return f"({type_sql} = 'text' AND {value_sql} = ?)", [value]
    if isinstance(value, bool | int | float):
        return f"({type_sql} IN {_NUMERIC_TYPES} AND {value_sql} = ?)", [_number(value)]
    return None  # lists, dicts, dates: compared in Python


def _may_be_date(value: str) -> bool:
    """Haystack compares ISO dates as dates ("1969-07-21T20:17:40" equals "1969-07-21 20:17:40"): leave to it."""
    return len(value) >= 10 and value[:4].isdigit() and value[4] == "-"


def _number(value: bool | float) -> int | float:
    return int(value) if isinstance(value, bool) else value

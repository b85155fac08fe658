"""The JSON Schema of the summary document, and a validator for the subset of it we use.

A dozen keywords are enough to pin the document down, so the core install needs no
`jsonschema` package: type, const, enum, properties, required, additionalProperties,
items, minimum, maximum, exclusiveMinimum, exclusiveMaximum and local $ref.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

from latentwall.analysis import SUMMARY_SCHEMA

SUPPORTED = frozenset({
    "$schema", "$id", "$defs", "title", "description", "type", "const", "enum", "properties",
    "required", "additionalProperties", "items", "minimum", "maximum", "exclusiveMinimum",
    "exclusiveMaximum", "$ref",
})


@cache
def _load() -> str:
    return resources.files("latentwall.export").joinpath("data", "summary.schema.json").read_text(
        "utf-8"
    )


def summary_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12 subset) of `latentwall.summary/1`, a fresh copy."""
    schema = json.loads(_load())
    assert schema["$id"] == SUMMARY_SCHEMA
    return schema


def _is_type(value: Any, name: str) -> bool:
    if name == "null":
        return value is None
    if name == "boolean":
        return isinstance(value, bool)
    if name == "integer":
        return (isinstance(value, int) and not isinstance(value, bool)) or (
            isinstance(value, float) and value.is_integer()
        )
    if name == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    if name == "string":
        return isinstance(value, str)
    if name == "array":
        return isinstance(value, list)
    if name == "object":
        return isinstance(value, dict)
    raise ValueError(f"unsupported type {name!r}")


def validate(instance: Any, schema: dict[str, Any], root: dict[str, Any] | None = None,
             path: str = "$") -> list[str]:
    """Every violation as 'path: message'; an empty list means valid."""
    root = root if root is not None else schema
    unknown = set(schema) - SUPPORTED
    if unknown:
        raise ValueError(f"{path}: schema keyword(s) not supported: {sorted(unknown)}")
    if "$ref" in schema:
        ref = schema["$ref"]
        if not ref.startswith("#/"):
            raise ValueError(f"{path}: only local $ref is supported, got {ref}")
        target: Any = root
        for part in ref[2:].split("/"):
            target = target[part]
        return validate(instance, target, root, path)
    errors: list[str] = []
    if "type" in schema:
        types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        if not any(_is_type(instance, t) for t in types):
            return [f"{path}: expected {' or '.join(types)}, got {type(instance).__name__}"]
    if "const" in schema and instance != schema["const"]:
        errors.append(f"{path}: must be {schema['const']!r}")
    if "enum" in schema and instance not in schema["enum"]:
        errors.append(f"{path}: {instance!r} is not one of {schema['enum']}")
    if _is_type(instance, "number"):
        for key, bad in (("minimum", lambda v, b: v < b), ("maximum", lambda v, b: v > b),
                         ("exclusiveMinimum", lambda v, b: v <= b),
                         ("exclusiveMaximum", lambda v, b: v >= b)):
            if key in schema and bad(instance, schema[key]):
                errors.append(f"{path}: {instance!r} violates {key} {schema[key]}")
    if isinstance(instance, dict):
        props = schema.get("properties", {})
        for name in schema.get("required", []):
            if name not in instance:
                errors.append(f"{path}: missing required property {name!r}")
        extra = schema.get("additionalProperties", True)
        for name, value in instance.items():
            sub = f"{path}.{name}"
            if name in props:
                errors += validate(value, props[name], root, sub)
            elif extra is False:
                errors.append(f"{path}: unexpected property {name!r}")
            elif isinstance(extra, dict):
                errors += validate(value, extra, root, sub)
    if isinstance(instance, list) and "items" in schema:
        for i, value in enumerate(instance):
            errors += validate(value, schema["items"], root, f"{path}[{i}]")
    return errors


class SummaryValidationError(ValueError):
    """A summary document does not match latentwall.summary/1."""


def validate_summary(doc: Any) -> None:
    """Raise SummaryValidationError naming the first few violations of the schema."""
    errors = validate(doc, summary_schema())
    if errors:
        more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
        raise SummaryValidationError("; ".join(errors[:5]) + more)

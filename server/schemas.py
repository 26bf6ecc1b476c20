"""Lean JSON schemas for `tools/list`: what pydantic generates, without what tells the model nothing.

pydantic gives every property a `title` that repeats its name, spells an optional value as
`anyOf: [X, {"type": "null"}]` with `default: null`, a union of plain types as `anyOf` instead of a
type list, and gives output fields defaults a client never uses. Every tool's schemas are sent on every `tools/list` and most hosts put the input schemas in the
model's context, so they are written here the short way; the meaning (types, bounds, enums,
required, descriptions) is unchanged.
"""

from __future__ import annotations

from typing import Any

_NAMED_MAPS = ("properties", "$defs", "patternProperties")  # their keys are names, not schema keywords


def lean_input_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """An input schema without titles; an optional argument (`X | None = None`) reads as plain X.

    Leaving an argument out is how a caller sends None, so `null` needs no place in the schema; the
    server still accepts an explicit null. `additionalProperties: false` says what the server does:
    an argument it does not know is refused, never silently ignored.
    """
    lean = _walk(_inline_single_use_defs(schema), output=False)
    lean["additionalProperties"] = False
    return lean


def lean_output_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """An output schema without titles, defaults and `required`; `X | None` becomes `type: [X, "null"]`.

    Every field of a result is always sent (defaults too), so `required` would have to list every
    property; pydantic's list names only the fields without a default, which is not even what a
    client receives. It is left out rather than kept wrong or repeated in full.
    """
    return _walk(_inline_single_use_defs(schema), output=True)


def _inline_single_use_defs(schema: dict[str, Any]) -> dict[str, Any]:
    """A `$defs` entry referenced once is written where it is used: the same schema, without the
    indirection. Entries used more than once (or by themselves) stay in `$defs`."""
    defs = schema.get("$defs")
    if not isinstance(defs, dict):
        return schema
    uses: dict[str, int] = {}
    _count_refs(schema, uses)
    once = {
        name: body
        for name, body in defs.items()
        if uses.get(_PREFIX + name) == 1 and not _refers_to(body, _PREFIX + name)
    }

    def replace(node: Any) -> Any:
        if isinstance(node, list):
            return [replace(item) for item in node]
        if not isinstance(node, dict):
            return node
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith(_PREFIX) and ref[len(_PREFIX) :] in once:
            siblings = {k: replace(v) for k, v in node.items() if k != "$ref"}
            return {**replace(once[ref[len(_PREFIX) :]]), **siblings}
        return {k: replace(v) for k, v in node.items()}

    inlined = replace({k: v for k, v in schema.items() if k != "$defs"})
    kept = {name: replace(body) for name, body in defs.items() if name not in once}
    return {"$defs": kept, **inlined} if kept else inlined


_PREFIX = "#/$defs/"


def _count_refs(node: Any, uses: dict[str, int]) -> None:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str):
            uses[ref] = uses.get(ref, 0) + 1
        for value in node.values():
            _count_refs(value, uses)
    elif isinstance(node, list):
        for item in node:
            _count_refs(item, uses)


def _refers_to(node: Any, ref: str) -> bool:
    found: dict[str, int] = {}
    _count_refs(node, found)
    return ref in found


def _walk(node: Any, *, output: bool) -> Any:
    if isinstance(node, list):
        return [_walk(item, output=output) for item in node]
    if not isinstance(node, dict):
        return node
    node = _as_type_list(_without_null_branch(node, output=output))
    lean: dict[str, Any] = {}
    for key, value in node.items():
        if key == "title" and isinstance(value, str):
            continue
        if key == "default" and (output or value is None):
            continue
        if key == "additionalProperties" and value is True:  # the default: any further keys
            continue
        if key == "required" and output and isinstance(value, list):
            continue
        if key in _NAMED_MAPS and isinstance(value, dict):
            lean[key] = {name: _walk(sub, output=output) for name, sub in value.items()}
        else:
            lean[key] = _walk(value, output=output)
    return lean


def _as_type_list(node: dict[str, Any]) -> dict[str, Any]:
    """`{"anyOf": [{"type": "string"}, {"type": "integer"}]}` as `{"type": ["string", "integer"]}`."""
    branches = node.get("anyOf")
    if not isinstance(branches, list) or not all(
        isinstance(b, dict) and set(b) == {"type"} and isinstance(b["type"], str) for b in branches
    ):
        return node
    rest = {k: v for k, v in node.items() if k != "anyOf"}
    return {"type": [b["type"] for b in branches], **rest}


def _without_null_branch(node: dict[str, Any], *, output: bool) -> dict[str, Any]:
    """`{"anyOf": [X, {"type": "null"}], ...}` as X (inputs) or X with `type: [t, "null"]` (outputs)."""
    branches = node.get("anyOf")
    if not isinstance(branches, list) or len(branches) != 2 or {"type": "null"} not in branches:
        return node
    other = next(b for b in branches if b != {"type": "null"})
    if not isinstance(other, dict):
        return node
    rest = {k: v for k, v in node.items() if k != "anyOf"}
    if not output:
        return {**other, **rest}
    kind = other.get("type")
    if isinstance(kind, str):
        return {**other, "type": [kind, "null"], **rest}
    return node  # a $ref or a union: keep the explicit anyOf

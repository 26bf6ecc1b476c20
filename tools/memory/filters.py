"""Validate a recall filter and translate it to a chroma `where` clause.

The accepted language is small on purpose: `{key: value}` for equality, or `{key: {op: value}}`
with $eq, $ne, $gt, $gte, $lt, $lte, $in, $nin; several keys are combined with AND. Every
rejection says which key was wrong and what to send instead.
"""

from __future__ import annotations

from typing import Any

from ..support.problems import ToolInputError
from .fields import EPOCH, FIELD_KEYS, KEY_PATTERN, KNOWN_KEYS

COMPARISONS = ("$gt", "$gte", "$lt", "$lte")
OPERATORS = ("$eq", "$ne", *COMPARISONS, "$in", "$nin")
MAX_KEYS, MAX_LIST = 20, 100
EXAMPLE = '{"pr_status": "merged", "occurrences": {"$gte": 10}, "repo": {"$in": ["api", "worker"]}}'


def _scalar(key: str, value: Any, op: str) -> str | int | float | bool:
    if value is None:
        raise ToolInputError(
            f"where[{key!r}] {op} null cannot be matched (null values are not stored): filter on another value, "
            "or leave the key out"
        )
    if isinstance(value, dict | list):
        raise ToolInputError(
            f"where[{key!r}] {op} needs a single string, number or boolean, not {type(value).__name__}"
        )
    expected = KNOWN_KEYS.get(key)
    if key == "confidence" and (isinstance(value, bool) or not isinstance(value, int | float)):
        raise ToolInputError(f"where['confidence'] compares numbers from 0 to 1, got {value!r}")
    if expected and (isinstance(value, bool) or not isinstance(value, expected)):
        wanted = "integers" if expected == (int,) else "strings"
        raise ToolInputError(f"where[{key!r}] holds {wanted}: got {value!r}")
    return value  # type: ignore[no-any-return]


def _clause(key: str, op: str, value: Any) -> dict[str, Any]:
    if op not in OPERATORS:
        raise ToolInputError(
            f"where[{key!r}] uses unknown operator {op!r}: use one of {', '.join(OPERATORS)}"
        )
    if op in COMPARISONS:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ToolInputError(f"where[{key!r}] {op} compares numbers: send a number, got {value!r}")
        value = _scalar(key, value, op)
    elif op in ("$in", "$nin"):
        if not isinstance(value, list) or not value or len(value) > MAX_LIST:
            raise ToolInputError(f"where[{key!r}] {op} needs a non-empty list of at most {MAX_LIST} values")
        value = [_scalar(key, v, op) for v in value]
        if len({type(v) for v in value}) > 1:
            raise ToolInputError(
                f"where[{key!r}] {op} values must all have one type (all strings or all numbers)"
            )
    else:
        value = _scalar(key, value, op)
    return {FIELD_KEYS.get(key, key): {op: value}}


def where_clauses(where: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The caller's filter as a list of single-condition chroma clauses (to be AND-ed)."""
    if where is None:
        return []
    if not isinstance(where, dict):
        raise ToolInputError(f"where must be an object, e.g. {EXAMPLE}")
    if len(where) > MAX_KEYS:
        raise ToolInputError(f"where has more than {MAX_KEYS} keys: keep the ones that narrow the most")
    clauses: list[dict[str, Any]] = []
    for key, condition in where.items():
        if not isinstance(key, str) or key.startswith("$"):
            raise ToolInputError(
                f"where key {key!r} is not supported: $and/$or are not needed, give several keys (combined with AND), "
                f"e.g. {EXAMPLE}"
            )
        if key not in FIELD_KEYS and not KEY_PATTERN.match(key):
            raise ToolInputError(
                f"where key {key!r} is not a metadata key: use e.g. signature, pr_status, repo"
            )
        if isinstance(condition, dict):
            if not condition:
                raise ToolInputError(
                    f'where[{key!r}] is an empty object: give an operator, e.g. {{"$gte": 5}}'
                )
            clauses.extend(_clause(key, op, value) for op, value in condition.items())
        elif isinstance(condition, list):
            clauses.append(_clause(key, "$in", condition))
        else:
            clauses.append(_clause(key, "$eq", condition))
    return clauses


def since_clause(epoch: float) -> dict[str, Any]:
    return {EPOCH: {"$gte": epoch}}


def combine(clauses: list[dict[str, Any]]) -> dict[str, Any] | None:
    if not clauses:
        return None
    return clauses[0] if len(clauses) == 1 else {"$and": clauses}

"""Schemathesis hooks of test_schemathesis.py (loaded through SCHEMATHESIS_HOOKS by the `st` it starts).

/openapi.json states every rule JSON Schema can state. Two it cannot, and says in words: a
conversation-group name is at most 32 *bytes* of UTF-8 (JSON Schema counts characters), and mark bits
4-31 are reserved. Left alone, the generator would send names of 32 characters but 40 bytes, or marks
with reserved bits, as valid requests. This hook brings such values, and only those (values the schema
itself accepts), within the rule: a value the schema refuses stays as it was, so negative cases stay
invalid.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, unquote

import schemathesis

from counters.limits import MARK_BITS, MARK_MAX, NAME_BYTES, NO_CONTROL

NAMES = {"name", "new_name", "group"}  # path, body and query fields that hold a conversation-group name
MARKS = {"mark"}


def _name(value: Any) -> Any:
    if not isinstance(value, str) or len(value) > NAME_BYTES or not NO_CONTROL.search(value):
        return value  # the schema refuses it already (or it is not a name)
    encoded = value.encode(errors="surrogatepass")
    return encoded[:NAME_BYTES].decode(errors="ignore") if len(encoded) > NAME_BYTES else value


def _path_name(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    name = unquote(value)  # path parameters come percent-encoded
    fixed = _name(name)
    return value if fixed == name else quote(fixed, safe="")


def _mark(value: Any) -> Any:
    digits = isinstance(value, str) and value.isascii() and value.isdigit()
    whole = isinstance(value, float) and value.is_integer()  # JSON Schema's integer: 2.0 is 2
    number = int(value) if digits or whole else value
    if isinstance(number, bool) or not isinstance(number, int) or not 0 < number <= MARK_MAX:
        return value
    fixed = (number & MARK_BITS) or 1  # a schema-valid mark stays non-zero
    return value if fixed == number else str(fixed) if isinstance(value, str) else fixed


def _fix(container: Any, name: Any = _name) -> None:
    if isinstance(container, dict):
        for key in NAMES & container.keys():
            container[key] = name(container[key])
        for key in MARKS & container.keys():
            container[key] = _mark(container[key])


@schemathesis.hook
def map_case(context: schemathesis.HookContext, case: Any) -> Any:
    """Names within 32 bytes and marks without reserved bits, where the schema already accepts them."""
    _fix(case.path_parameters, _path_name)
    _fix(case.query)
    _fix(case.body)
    return case

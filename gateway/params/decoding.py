"""Typed request bodies: msgspec structs bound to the running Limits, decoded, and their JSON Schema.

A struct field names its size limit instead of a number (`Annotated[list[X], Most("users_per_call")]`);
`reader(limits)` makes, once per Limits, subclasses whose fields carry those numbers as msgspec
constraints, so validation and the OpenAPI document read the same values. Rules JSON Schema can state
are msgspec constraints; the few it cannot (bytes of UTF-8, reserved mark bits) are `Scalar` types
checked by one hook; rules across fields are a struct's `__post_init__`, stated for the schema in its
`json_schema` class variable. A failure is InvalidArgument naming the field (`messages[3].to`).
"""

from __future__ import annotations

import functools
import re
import types
from dataclasses import dataclass
from typing import Annotated, Any, ClassVar, TypeVar, Union, cast, get_args, get_origin

import msgspec
import msgspec.inspect as mi
import orjson

from counters import InvalidArgument, Limits
from counters.limits import MAX_POSITION

T = TypeVar("T")
Schema = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Most:
    """Marks a list whose size limit is the `Limits` field `limit` (and at least `least` items), or with
    `number`, an integer at most that limit (and at least `least`)."""

    limit: str
    least: int = 0
    number: bool = False

    def meta(self, limits: Limits | None) -> msgspec.Meta:
        """The msgspec constraint under these limits."""
        if limits is None:
            raise TypeError(f"a type sized by Limits.{self.limit} needs the running Limits")
        if self.number:
            return msgspec.Meta(ge=self.least, le=getattr(limits, self.limit))
        return msgspec.Meta(min_length=self.least or None, max_length=getattr(limits, self.limit))


class Scalar:
    """A value with a rule JSON Schema cannot state, checked by `valid`; decoded as its class (a str or int)."""

    rule: ClassVar[str]  # what the value must be, as error messages and the schema's description say it
    schema: ClassVar[Schema]  # the part of the rule JSON Schema can state

    @classmethod
    def valid(cls, value: Any) -> bool:
        """Whether a decoded JSON value passes the rule."""
        raise NotImplementedError


class Body(msgspec.Struct):
    """A request body or WebSocket request: unknown fields are ignored."""

    json_schema: ClassVar[Schema] = {}  # what __post_init__ checks, for the schema (e.g. "exactly one of")


def _dec_hook(kind: type, value: Any) -> Any:
    if not (isinstance(kind, type) and issubclass(kind, Scalar)):
        raise NotImplementedError(kind)
    if issubclass(kind, int) and isinstance(value, float) and value.is_integer() and abs(value) <= MAX_POSITION:
        value = int(value)  # JSON Schema's integer: 2.0 is 2
    if not kind.valid(value):
        raise ValueError(f"must be {kind.rule}")
    return cast(Any, kind)(value)  # msgspec wants the type itself (a str or an int all the same)


def _schema_hook(kind: type) -> Schema:
    if not (isinstance(kind, type) and issubclass(kind, Scalar)):
        raise NotImplementedError(kind)
    return {**kind.schema, "description": kind.rule}


def _bind(kind: Any, limits: Limits | None, done: dict[type, type]) -> Any:
    """`kind` with every Most replaced by its constraint (the same object when it holds none)."""
    if isinstance(kind, type) and issubclass(kind, msgspec.Struct):
        if kind not in done:
            done[kind] = kind  # a struct that holds itself would stop here
            fields = [(f, _bind(f.type, limits, done)) for f in msgspec.structs.fields(kind)]
            if any(bound is not f.type for f, bound in fields):
                spec = [(f.name, t, _field(f)) for f, t in fields]
                done[kind] = msgspec.defstruct(kind.__name__, spec, bases=(kind,), module=kind.__module__)
        return done[kind]
    args = get_args(kind)
    if not args:
        return kind
    origin = get_origin(kind)
    if origin is Annotated:
        base, extras = _bind(args[0], limits, done), args[1:]
        if base is args[0] and not any(isinstance(e, Most) for e in extras):
            return kind
        metas = tuple(e.meta(limits) if isinstance(e, Most) else e for e in extras)
        return Annotated[(base, *metas)]
    bound = tuple(_bind(arg, limits, done) for arg in args)
    if all(b is a for b, a in zip(bound, args, strict=True)):
        return kind
    return Union[bound] if origin in (Union, types.UnionType) else origin[bound]  # noqa: UP007


def _field(info: msgspec.structs.FieldInfo) -> Any:
    if info.default_factory is not msgspec.NODEFAULT:
        return msgspec.field(default_factory=info.default_factory, name=info.encode_name)
    if info.default is not msgspec.NODEFAULT:
        return msgspec.field(default=info.default, name=info.encode_name)
    return msgspec.field(name=info.encode_name)


def _whole(value: Any) -> Any:
    """Floats without a fractional part as ints, all the way down (JSON Schema's integer: 2.0 is 2)."""
    if isinstance(value, float) and value.is_integer() and abs(value) <= MAX_POSITION:
        return int(value)
    if isinstance(value, list):
        return [_whole(item) for item in value]
    if isinstance(value, dict):
        return {key: _whole(item) for key, item in value.items()}
    return value


class Reader:
    """The request types under one Limits (None: only types that no limit sizes), their decoding and schema."""

    def __init__(self, limits: Limits | None) -> None:
        self.limits = limits
        self._bound: dict[type, type] = {}
        self._decoders: dict[type, msgspec.json.Decoder[Any]] = {}

    def bound(self, kind: type[T]) -> type[T]:
        """The type with its sizes filled in from these limits."""
        return cast(type[T], _bind(kind, self.limits, self._bound))

    def read(self, data: object, kind: type[T], what: str = "") -> T:
        """JSON bytes, or a decoded JSON value, as `kind`; InvalidArgument naming the field (under `what`)."""
        bound = self.bound(kind)
        try:
            if isinstance(data, bytes):
                decoder = self._decoders.get(bound) or self._decoders.setdefault(
                    bound, msgspec.json.Decoder(bound, dec_hook=_dec_hook)
                )
                return cast(T, decoder.decode(data))
            return msgspec.convert(data, bound, dec_hook=_dec_hook)
        except msgspec.ValidationError as error:  # a DecodeError too: first
            first = error
        except msgspec.DecodeError as error:
            reason = str(error).removeprefix("JSON is malformed: ")
            raise InvalidArgument(f"the body is not valid JSON: {reason}") from None
        if "got `float`" in str(first):  # rare: an integer written as 2.0; again the slow way, such floats made ints
            try:
                value = _whole(orjson.loads(data) if isinstance(data, bytes) else data)
                return msgspec.convert(value, bound, dec_hook=_dec_hook)
            except msgspec.ValidationError as error:
                first = error
            except orjson.JSONDecodeError:  # JSON msgspec reads but orjson does not (an integer past 64 bits)
                pass
        raise InvalidArgument(explain(first, bound, what))

    def schemas(self, kinds: list[type]) -> tuple[list[Schema], dict[str, Schema]]:
        """The JSON Schema of each type (references) and the components they refer to."""
        bound: list[type] = [self.bound(kind) for kind in kinds]
        refs, components = msgspec.json.schema_components(
            bound, schema_hook=_schema_hook, ref_template="#/components/schemas/{name}"
        )
        for kind in {*bound, *_structs(bound)}:
            if issubclass(kind, Body) and kind.json_schema:
                components[kind.__name__].update(kind.json_schema)
        return list(refs), _ecma(components)

    def schema(self, kind: Any) -> Schema:
        """The JSON Schema of one type that holds no struct (a path or query parameter)."""
        return cast(Schema, _ecma(msgspec.json.schema(self.bound(kind), schema_hook=_schema_hook)))


@functools.cache
def reader(limits: Limits | None) -> Reader:
    """The Reader of a Limits (one per running gateway); reader(None) reads the types no limit sizes."""
    return Reader(limits)


def _structs(kinds: list[type]) -> set[type]:
    found: set[type] = set()

    def visit(info: mi.Type) -> None:
        if isinstance(info, mi.StructType) and info.cls not in found:
            found.add(info.cls)
            for field in info.fields:
                visit(field.type)
        for child in _children(info):
            visit(child)

    for info in mi.multi_type_info(kinds):
        visit(info)
    return found


def _children(info: mi.Type) -> list[mi.Type]:
    if isinstance(info, mi.Metadata):
        return [info.type]
    if isinstance(info, mi.ListType):
        return [info.item_type]
    if isinstance(info, mi.UnionType):
        return list(info.types)
    return []


def _ecma(schema: Any) -> Any:
    """Patterns as JSON Schema reads them: Python's `\\Z` is ECMA-262's `$` (counters.limits.python_pattern)."""
    if isinstance(schema, dict):
        return {k: _ecma_pattern(v) if k == "pattern" else _ecma(v) for k, v in schema.items()}
    if isinstance(schema, list):
        return [_ecma(item) for item in schema]
    return schema


def _ecma_pattern(pattern: Any) -> Any:
    return pattern.removesuffix(r"\Z") + "$" if isinstance(pattern, str) and pattern.endswith(r"\Z") else _ecma(pattern)


# --- error messages ------------------------------------------------------------------

_STEP = re.compile(r"\.([^.\[]+)|\[(\d+)\]")
_KINDS = {
    "object": "a JSON object",
    "array": "an array",
    "str": "a string",
    "int": "an integer",
    "bool": "true or false",
}


def explain(error: msgspec.ValidationError, kind: type, what: str = "") -> str:
    """msgspec's error as the gateway words it: `<field> must be <rule>`, `<field> is required`, …"""
    text, _, at = str(error).partition(" - at `$")
    path = at.removesuffix("`")
    where = (what + path).removeprefix(".")
    if missing := re.fullmatch(r"Object missing required field `(.+)`", text):
        return f"{where}.{missing[1]} is required".removeprefix(".")
    if not text.startswith("Expected"):  # a Scalar's or a __post_init__'s own words
        return f"{where}{text}" if text.startswith(".") else f"{where} {text}".strip()
    name, node = where or "the body", _at(mi.type_info(kind), path)
    if text.startswith("Expected `array` of length") and isinstance(items := _step(node, mi.ListType), mi.ListType):
        low, high = items.min_length or 0, items.max_length
        size = f"{low}-{high}" if high and low else f"at most {high}" if high else f"at least {low}"
        return f"{name} must hold {size} items"
    expected = text.split("`")[1]
    if expected.split(" | ")[0] not in ("object", "array") and (rule := _rule(node)):
        return f"{name} must be {rule}"
    kinds = [_KINDS.get(k, k) for k in expected.split(" | ")]
    return f"{name} must be {', '.join(kinds[:-1])} or {kinds[-1]}" if len(kinds) > 1 else f"{name} must be {kinds[0]}"


def _at(info: mi.Type, path: str) -> mi.Type:
    """The type at a path (`.messages[3].to`)."""
    for key, _ in _STEP.findall(path):
        info = _step(info, mi.StructType if key else mi.ListType)
        if isinstance(info, mi.StructType):
            info = next((f.type for f in info.fields if f.encode_name == key), mi.AnyType())
        elif isinstance(info, mi.ListType):
            info = info.item_type
        else:
            return mi.AnyType()
    return info


def _rule(info: mi.Type) -> str | None:
    """The description of a type: what error messages say a value must be."""
    while isinstance(info, mi.UnionType):
        info = next((t for t in info.types if not isinstance(t, mi.NoneType)), mi.AnyType())
    if isinstance(info, mi.Metadata):
        return (info.extra_json_schema or {}).get("description")
    if isinstance(info, mi.CustomType) and issubclass(info.cls, Scalar):
        return info.cls.rule
    return None


def _step(info: mi.Type, wanted: type[mi.Type]) -> mi.Type:
    """Past Metadata and unions, to the type a path step can enter."""
    while not isinstance(info, wanted):
        if isinstance(info, mi.Metadata):
            info = info.type
        elif isinstance(info, mi.UnionType):
            info = next((t for t in info.types if isinstance(t, wanted | mi.Metadata)), mi.AnyType())
        else:
            break
    return info

"""A fast first pass of a marshmallow schema's load, built from the schema itself.

marshmallow stays the definition of a C.Hasil (and of its OpenAPI document and
its error messages), but its load machinery costs about 130 µs per body: a fifth
of the intake's CPU on election night, for ten schema loads of plain numbers.
Nearly every body that arrives is well-formed, and for such a body the answer is
simple: the same dicts with the same whole numbers.

`compile_load(schema)` walks the schema's fields once and returns a checker that
gives, for a body it can vouch for, exactly what `schema.load(body)` gives, and
None for anything else. None means "ask marshmallow": the caller then loads the
body the ordinary way, which yields the result or the field-by-field errors. So
the checker may be strict (it declines every None, every bool, every "12"), but
never lenient: tests/unit/test_fastload.py holds it to marshmallow's answers.

Only what rekap's schemas use is supported; anything else (another field type,
a load_default, a pre_load hook, unknown=INCLUDE...) fails at compile time, when
the app starts, rather than being checked wrongly.
"""

from collections.abc import Callable
from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, missing

Check = Callable[[Any], Any]
DECLINE = object()  # a value the checker will not vouch for: marshmallow decides


def compile_load(schema: Schema) -> Callable[[Any], dict | None]:
    """A checker returning schema.load(body) for bodies it vouches for, else None."""
    check = _schema(schema)

    def load(body: Any) -> dict | None:
        out = check(body)
        return None if out is DECLINE else out

    return load


def _refuse(what: str) -> TypeError:
    return TypeError(f"fastload cannot vouch for {what}; extend services/intake/fastload.py or load with marshmallow")


def _schema(schema: Schema) -> Check:
    name = type(schema).__name__
    if schema.unknown != RAISE or schema.many or schema.partial or schema.only or schema.exclude:
        raise _refuse(f"{name}'s options (only unknown=RAISE, one object, all fields)")
    parts = {}  # input key -> (output key, check)
    required = set()  # input keys
    for attr, field in schema.load_fields.items():
        key = field.data_key or attr
        parts[key] = (field.attribute or attr, _field(field, f"{name}.{attr}"))
        if field.required:
            required.add(key)
    # marshmallow keeps a schema's decorated methods in _hooks; only @validates is supported
    validators = []  # (output key, data key, bound method)
    for kind, entries in type(schema)._hooks.items():
        if entries and kind != "validates":
            raise _refuse(f"{name}'s @{kind} hook")
        for method, _many, options in entries:
            for field_name in options["field_names"]:
                field = schema.fields[field_name]
                validators.append((field.attribute or field_name, field.data_key or field_name,
                                   getattr(schema, method)))

    def check(value: Any) -> Any:
        if type(value) is not dict or not required <= value.keys():
            return DECLINE  # marshmallow names what is missing
        out = {}
        for key, item in value.items():
            part = parts.get(key)
            if part is None:  # an unknown field: marshmallow names it
                return DECLINE
            loaded = part[1](item)
            if loaded is DECLINE:
                return DECLINE
            out[part[0]] = loaded
        for attr, data_key, method in validators:  # as marshmallow runs them: on the loaded value, when present
            if attr in out:
                try:
                    if method(out[attr], data_key=data_key) is missing:  # "drop the field": leave it to marshmallow
                        return DECLINE
                except ValidationError:
                    return DECLINE
        return out

    return check


def _validated(field: fields.Field, check: Check) -> Check:
    """The field's own validators (validate=...), run as marshmallow runs them."""
    validators = list(field.validators)
    if not validators:
        return check

    def with_validators(value: Any) -> Any:
        out = check(value)
        if out is DECLINE:
            return DECLINE
        try:
            for validator in validators:
                if validator(out) is False:
                    return DECLINE
        except ValidationError:
            return DECLINE
        return out

    return with_validators


def _same(base: type[fields.Field], field: fields.Field) -> bool:
    """The field is `base` or a subclass that changes nothing about loading."""
    return isinstance(field, base) and all(
        getattr(type(field), method) is getattr(base, method)
        for method in ("deserialize", "_deserialize", "_validate", "_validated", "_format_num")
        if hasattr(base, method))


def _field(field: fields.Field, where: str) -> Check:
    if field.load_default is not missing or field.allow_none or field.pre_load or field.post_load:
        raise _refuse(f"{where}'s load_default, allow_none or field hooks")
    if _same(fields.Integer, field):
        # A JSON whole number loads as itself; bools (an int subclass) and anything else decline
        return _validated(field, lambda v: v if type(v) is int else DECLINE)
    if _same(fields.String, field):
        return _validated(field, lambda v: v if type(v) is str else DECLINE)
    if type(field) is fields.Nested:
        if field.many or field.only or field.exclude or field.unknown is not None:
            raise _refuse(f"{where}'s Nested options")
        return _validated(field, _schema(field.schema))
    if type(field) is fields.Dict:
        keys = _field(field.key_field, f"{where} keys") if field.key_field else (lambda k: k)
        values = _field(field.value_field, f"{where} values") if field.value_field else (lambda v: v)
        return _validated(field, _mapping(keys, values))
    raise _refuse(f"{where} ({type(field).__name__})")


def _mapping(keys: Check, values: Check) -> Check:
    def check(value: Any) -> Any:
        if type(value) is not dict:
            return DECLINE
        out = {}
        for key, item in value.items():
            k, v = keys(key), values(item)
            if k is DECLINE or v is DECLINE:
                return DECLINE
            out[k] = v
        return out

    return check

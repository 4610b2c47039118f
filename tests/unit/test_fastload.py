"""fastload gives marshmallow's own answer or none: never a body marshmallow would refuse,
never a value marshmallow would load otherwise, and an answer for every well-formed form."""

import copy

import pytest
from hypothesis import given
from hypothesis import strategies as st
from marshmallow import EXCLUDE, Schema, ValidationError, fields, pre_load, validates

from services.intake.fastload import compile_load
from services.intake.schemas import CONTOH, CONTOH_KOREKSI, CHasil, Koreksi
from tests.strategies import form

SCHEMA = CHasil()
FAST = compile_load(SCHEMA)

# Whatever JSON can carry, and a few things it almost can.
JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(10**20), 10**20) | st.floats() | st.text(max_size=4)
    | st.sampled_from(["12", "0", "1.0", "", " 3"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
    max_leaves=6)


def _paths(value, prefix=()):
    """Every key path in a body, nested ones included."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield (*prefix, key)
            yield from _paths(item, (*prefix, key))


@st.composite
def mutated(draw) -> dict:
    """A consistent form with one to three of its keys replaced, removed or joined by a stranger."""
    body = copy.deepcopy(draw(form()))
    for _ in range(draw(st.integers(1, 3))):
        paths = list(_paths(body))
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent = body
        for key in path[:-1]:
            parent = parent[key]
        action = draw(st.sampled_from(["replace", "remove", "add", "rename"]))
        if action == "replace":
            parent[path[-1]] = draw(JSON)
        elif action == "remove":
            del parent[path[-1]]
        elif action == "add":
            parent[draw(st.text(max_size=6) | st.sampled_from(["j", "total", "4", "0", "x", "99", "100"]))] = draw(JSON)
        else:
            parent[draw(st.text(max_size=3))] = parent.pop(path[-1])
    return body


def _marshmallow(schema, body):
    try:
        return schema.load(body)
    except ValidationError:
        return None


@given(form())
def test_every_consistent_form_is_vouched_for_as_marshmallow_loads_it(body):
    # repr, not ==: True == 1 in Python, and the order of keys is part of the answer
    assert repr(FAST(body)) == repr(SCHEMA.load(body))


@given(mutated())
def test_a_broken_form_gets_marshmallows_answer_or_none(body):
    fast = FAST(body)
    if fast is not None:
        assert repr(fast) == repr(_marshmallow(SCHEMA, body))


@given(st.one_of(JSON, form().map(lambda b: {**b, "suara": {"1": 5, "x": 1}})))
def test_anything_else_gets_marshmallows_answer_or_none(body):
    fast = FAST(body)
    if fast is not None:
        assert repr(fast) == repr(_marshmallow(SCHEMA, body))


@pytest.mark.parametrize("change, why", [
    (lambda b: b.update(suara_sah=True), "a bool is not a number"),
    (lambda b: b.update(suara_sah="12"), "a string is not a number"),
    (lambda b: b["pemilih"]["dpt"].update(l=1.0), "a float is not a whole number"),
    (lambda b: b["suara"].update({"x": 1}), "not a paslon number (the @validates hook)"),
    (lambda b: b["suara"].update({"٣": 1}), "an Arabic-Indic digit (isdigit, but not ASCII)"),
    (lambda b: b.update(catatan="x"), "an unknown field"),
    (lambda b: b["pengguna"].pop("dpk"), "a missing field"),
    (lambda b: b.update(disabilitas=None), "null"),
])
def test_declines_what_marshmallow_refuses(change, why):
    body = copy.deepcopy(CONTOH)  # api.md's clean form
    change(body)
    assert FAST(body) is None, why
    assert _marshmallow(SCHEMA, body) is None, why


def test_field_validators_run_as_marshmallow_runs_them():
    koreksi = Koreksi()
    fast = compile_load(koreksi)
    assert fast(CONTOH_KOREKSI) == koreksi.load(CONTOH_KOREKSI)
    assert fast({**CONTOH_KOREKSI, "alasan": "   "}) is None  # validate.Regexp(r"\S") refuses a blank


class _Float(Schema):
    x = fields.Float()


class _Default(Schema):
    x = fields.Integer(load_default=0)


class _Lenient(Schema):
    class Meta:
        unknown = EXCLUDE

    x = fields.Integer()


class _PreLoad(Schema):
    x = fields.Integer()

    @pre_load
    def _trim(self, data, **kwargs):
        return data


class _Validated(Schema):
    x = fields.Integer()

    @validates("x")
    def _small(self, value, **kwargs):
        if value > 9:
            raise ValidationError("too big")


@pytest.mark.parametrize("schema", [_Float, _Default, _Lenient, _PreLoad])
def test_what_it_cannot_vouch_for_fails_when_compiled(schema):
    with pytest.raises(TypeError, match="fastload cannot vouch"):
        compile_load(schema())


def test_validates_hooks_decide_as_in_marshmallow():
    fast = compile_load(_Validated())
    assert fast({"x": 3}) == {"x": 3}
    assert fast({"x": 10}) is None

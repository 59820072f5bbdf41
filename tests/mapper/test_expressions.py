"""The expression language: parsing, checking, evaluation, and that nothing but a mapping
error can come out of it."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from koppel.mapper.domain.compiler import Scope, compile_expression, desugar
from koppel.mapper.domain.errors import ExpressionSyntaxError, MappingError, UnmappedValue
from koppel.mapper.domain.expressions import ROOTS
from koppel.mapper.domain.transforms import TRANSFORMS, EvalContext
from koppel.mapper.domain.valuemaps import ValueMaps

from .samples import VALUE_MAPS

ANY_FIELD: dict[str, Any] = dict.fromkeys(ROOTS)
SOURCE = {
    "Name": "  Bakkerij  ",
    "Number": 1042,
    "Rows": [{"ArticleNumber": "A-1"}],
    "Price": "12,345",
    "Country": "België",
    "Date": "2024-05-01",
    "Street": "Dorpsstraat 12a-2",
}


def run(text: str, source: Any = None, **scope: Any) -> Any:
    compiled = compile_expression(text, ANY_FIELD)
    ctx = EvalContext(ValueMaps.from_documents(VALUE_MAPS), "Order 1042")
    return compiled.evaluate(Scope(ctx, SOURCE if source is None else source, **scope))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("upper(trim(source.Name))", "BAKKERIJ"),
        ("source.Name | trim | lower", "bakkerij"),
        ("concat('Order ', source.Number)", "Order 1042"),
        ("source.Rows[0].ArticleNumber", "A-1"),
        ("source.Rows[5].ArticleNumber", None),
        ("source['Name'] | trim", "Bakkerij"),
        ("default(source.Missing, 'x')", "x"),
        ("round(source.Price, 2)", 12.35),
        ("format_number(source.Price, 1, ',')", "12,3"),
        ("incl_vat(100, 21)", 121.0),
        ("excl_vat(121, 0.21)", 100.0),
        ("country_code(source.Country)", "BE"),
        ("country_name('DE', 'nl')", "Duitsland"),
        ("format_date(source.Date, '%d-%m-%Y')", "01-05-2024"),
        ("split_street(source.Street, 'addition')", "a-2"),
        ("source.Street | split_street('number')", "12"),
        ("lookup('vat_codes', 'BE:21')", "5"),
        ("lookup('sku_map', 'nope', 'KOFFIE-1KG')", "KOF1000"),
        ("if(eq(source.Number, 1042), 'yes', 'no')", "yes"),
        ("join(' ', 'a', '', null, 'b')", "a b"),
        ("truncate('abcdef', 3)", "abc"),
        ("replace('a-b', '-', '')", "ab"),
        ("postcode('1234ab')", "1234 AB"),
        ("email(' A@B.NL ')", "a@b.nl"),
        ("is_ean('8710398500144')", True),
        ("is_vat_number('NL123')", False),
        ("vat_number('nl004495445b01')", "NL004495445B01"),
        ("-1.5", -1.5),
        ("'it\\'s'", "it's"),
        ("(source.Name)", "  Bakkerij  "),
    ],
)
def test_evaluation(text: str, expected: Any) -> None:
    assert run(text) == expected


def test_value_and_line_roots() -> None:
    assert run("concat(value, '-', line.Qty)", value="V", line={"Qty": 2}) == "V-2"


def test_truncate_warns() -> None:
    ctx = EvalContext(ValueMaps(), "Order 1")
    compile_expression("truncate('abcdef', 3)", ANY_FIELD).evaluate(Scope(ctx))
    assert ctx.warnings == ["Order 1: 'abcdef' was cut to 3 characters"]


def test_unmapped_lookup_is_a_permanent_unmapped_value() -> None:
    with pytest.raises(UnmappedValue, match="country XX at 7%"):
        run("lookup('vat_codes', 'XX:7')")


@pytest.mark.parametrize(
    ("text", "message", "position"),
    [
        ("uper(source.Name)", "unknown transform 'uper' (did you mean 'upper'?)", 0),
        ("upper(source.Name", "expected ')', found the end", 17),
        ("trim(source.Name, 1)", "transform 'trim' takes 1 arguments, got 2", 0),
        ("concat(foo.Name)", "unknown name 'foo'", 7),
        ("source.Nmae", "unknown source field 'Nmae' (did you mean 'Name'?)", 0),
        ("upper(line.Qty)", "'line' is not available in this field", 6),
        ("upper(source.Name) trim", "unexpected 'trim'", 19),
        ("source.Name $", "unexpected character '$'", 12),
        ("", "expression is empty", 0),
        ("source[1.5]", "an index is a whole number", 7),
    ],
)
def test_problems_carry_the_exact_position(text: str, message: str, position: int) -> None:
    known = {"source": {"Name", "Number"}, "value": None}
    with pytest.raises(ExpressionSyntaxError) as caught:
        compile_expression(text, known)
    assert message in caught.value.message
    assert caught.value.position == position


def test_deep_nesting_is_refused_not_a_recursion_error() -> None:
    with pytest.raises(ExpressionSyntaxError, match="nested too deeply"):
        compile_expression("upper(" * 200 + "'x'" + ")" * 200, ANY_FIELD)


def test_declarative_pipeline_desugars_to_the_same_expression() -> None:
    rule = {
        "from": "source.Name",
        "transforms": [{"fn": "trim"}, {"fn": "truncate", "args": [4]}, {"fn": "upper"}],
    }
    text = desugar(rule)
    assert text == "source.Name | trim | truncate(4) | upper"
    assert run(text) == "BAKK"


def test_lineage_lists_sources_and_transforms_in_order() -> None:
    compiled = compile_expression("upper(concat(trim(source.A), source.B.C))", ANY_FIELD)
    assert compiled.sources == ("source.A", "source.B.C")
    assert compiled.transforms == ("trim", "concat", "upper")


# --- properties ---------------------------------------------------------------------------

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=8,
)
names = st.sampled_from(sorted(TRANSFORMS))
paths = st.sampled_from(
    ["source", "source.A", "source.A.B", "source.L[0]", "value", "line.X", "settings.k"]
)
literals = st.one_of(
    st.integers(-(10**6), 10**6).map(str),
    st.floats(-1e6, 1e6, allow_nan=False).map(lambda f: f"{abs(f):.3f}"),
    st.text(alphabet=st.characters(blacklist_characters="'\\"), max_size=12).map(
        lambda s: f"'{s}'"
    ),
    st.sampled_from(["true", "false", "null", "'%d-%m-%Y'", "'vat_codes'", "'number'", "2"]),
)


@st.composite
def expressions(draw: st.DrawFn, depth: int = 0) -> str:
    if depth > 3 or draw(st.booleans()):
        return draw(st.one_of(paths, literals))
    name = draw(names)
    args = [draw(expressions(depth + 1)) for _ in range(draw(st.integers(0, 4)))]
    return f"{name}({', '.join(args)})"


@settings(max_examples=400, deadline=None)
@given(expressions(), json_values, json_values)
def test_evaluation_raises_nothing_but_mapping_errors(text: str, source: Any, line: Any) -> None:
    try:
        compiled = compile_expression(text, ANY_FIELD)
    except ExpressionSyntaxError:
        return  # arity problems are caught when saving
    ctx = EvalContext(ValueMaps.from_documents(VALUE_MAPS), "Order 1")
    try:
        compiled.evaluate(
            Scope(
                ctx, {"A": source, "L": [line]}, line={"X": line}, value=source, settings={"k": 1}
            )
        )
    except MappingError:
        pass


@settings(max_examples=400, deadline=None)
@given(st.text(max_size=80))
def test_parsing_arbitrary_text_raises_nothing_but_syntax_errors(text: str) -> None:
    position = 0
    try:
        compile_expression(text, ANY_FIELD)
    except ExpressionSyntaxError as exc:
        position = exc.position
    assert 0 <= position <= len(text)

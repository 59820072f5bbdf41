"""The built-in transforms a tenant may use in a field expression.

Each transform is a plain function whose first argument is the ``EvalContext`` (value maps,
the record's name for messages, warnings). Transforms are total over JSON values: bad input
raises a ``MappingError`` subclass with a sentence for the bookkeeper, never anything else
(the evaluator wraps the unexpected, but transforms should not rely on it).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from stdnum import ean as stdnum_ean
from stdnum.ch import vat as stdnum_ch_vat
from stdnum.eu import vat as stdnum_vat
from stdnum.exceptions import ValidationError as StdnumError
from stdnum.no import mva as stdnum_no_mva

from koppel.mapper.domain.addresses import normalise_email, normalise_postcode, split_street
from koppel.mapper.domain.countries import country_code, country_name
from koppel.mapper.domain.errors import InvalidValue
from koppel.mapper.domain.valuemaps import ValueMaps


@dataclass
class EvalContext:
    """What transforms may know besides their arguments."""

    maps: ValueMaps
    record: str = "Record"
    warnings: list[str] = field(default_factory=list)
    field: str = ""

    def warn(self, message: str) -> None:
        self.warnings.append(f"{self.record}: {self.field + ': ' if self.field else ''}{message}")


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value == int(value) and abs(value) < 1e15:
        return str(int(value))
    if isinstance(value, (list, dict)):
        return ""
    return str(value)


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


def to_decimal(ctx: EvalContext, value: Any, what: str = "number") -> Decimal:
    if isinstance(value, bool) or value is None or isinstance(value, (list, dict)):
        raise InvalidValue(f"{ctx.record}: {ctx.field or 'a field'} needs a {what}, got {value!r}")
    try:
        text = str(value).strip().replace(" ", "")
        if "," in text and "." not in text:
            text = text.replace(",", ".")  # Dutch decimal comma
        number = Decimal(text)
    except (InvalidOperation, ValueError):
        raise InvalidValue(
            f"{ctx.record}: {ctx.field or 'a field'} needs a {what}, got {value!r}"
        ) from None
    if not number.is_finite() or abs(number) > Decimal("1e15"):
        raise InvalidValue(
            f"{ctx.record}: {ctx.field or 'a field'} has an impossible {what} {value!r}"
        )
    return number


def _digits(ctx: EvalContext, value: Any, low: int, high: int) -> int:
    return max(low, min(high, int(to_decimal(ctx, value, "whole number"))))


def round_half_up(value: Decimal | float, digits: int = 2) -> float:
    quantum = Decimal(1).scaleb(-digits)
    return float(Decimal(str(value)).quantize(quantum, rounding=ROUND_HALF_UP))


# --- text ---------------------------------------------------------------------------------


def t_trim(_: EvalContext, value: Any) -> str:
    return _text(value).strip()


def t_upper(_: EvalContext, value: Any) -> str:
    return _text(value).upper()


def t_lower(_: EvalContext, value: Any) -> str:
    return _text(value).lower()


def t_concat(_: EvalContext, *values: Any) -> str:
    return "".join(_text(v) for v in values)


def t_join(_: EvalContext, separator: Any, *values: Any) -> str:
    """Join the non-empty values: ``join(' ', first, last)`` never leaves double spaces."""
    return _text(separator).join(t for t in (_text(v).strip() for v in values) if t)


def t_replace(_: EvalContext, value: Any, old: Any, new: Any) -> str:
    old_text = _text(old)
    return _text(value).replace(old_text, _text(new)) if old_text else _text(value)


def t_truncate(ctx: EvalContext, value: Any, length: Any) -> str:
    text = _text(value)
    limit = _digits(ctx, length, 0, 100_000)
    if len(text) > limit:
        ctx.warn(f"'{text}' was cut to {limit} characters")
        return text[:limit]
    return text


def t_split_street(ctx: EvalContext, value: Any, part: Any = "street") -> str:
    parts = split_street(_text(value))
    name = _text(part)
    if name not in ("street", "number", "addition"):
        raise InvalidValue(
            f"{ctx.record}: split_street takes 'street', 'number' or 'addition', not {name!r}"
        )
    return str(getattr(parts, name))


def t_postcode(_: EvalContext, value: Any, country: Any = "NL") -> str:
    return normalise_postcode(_text(value), _text(country) or "NL")


# --- choice -------------------------------------------------------------------------------


def t_default(_: EvalContext, value: Any, *fallbacks: Any) -> Any:
    for candidate in (value, *fallbacks):
        if not _empty(candidate):
            return candidate
    return fallbacks[-1] if fallbacks else value


def t_if(_: EvalContext, condition: Any, then: Any, otherwise: Any = None) -> Any:
    return then if condition and not _empty(condition) else otherwise


def t_eq(_: EvalContext, left: Any, right: Any) -> bool:
    return bool(_text(left) == _text(right))


def t_lookup(ctx: EvalContext, map_name: Any, key: Any, *fallbacks: Any) -> Any:
    return ctx.maps.lookup(
        _text(map_name), _text(key), record=ctx.record, fallbacks=tuple(_text(f) for f in fallbacks)
    )


# --- numbers ------------------------------------------------------------------------------


def t_number(ctx: EvalContext, value: Any) -> float:
    return float(to_decimal(ctx, value))


def t_round(ctx: EvalContext, value: Any, digits: Any = 2) -> float:
    return round_half_up(to_decimal(ctx, value), _digits(ctx, digits, 0, 8))


def t_format_number(
    ctx: EvalContext, value: Any, digits: Any = 2, decimal_separator: Any = "."
) -> str:
    places = _digits(ctx, digits, 0, 8)
    number = Decimal(str(round_half_up(to_decimal(ctx, value), places)))
    text = f"{number:.{places}f}"
    sep = _text(decimal_separator)[:1] or "."
    return text.replace(".", sep) if sep != "." else text


def _rate(ctx: EvalContext, rate: Any) -> Decimal:
    value = to_decimal(ctx, rate, "VAT rate")
    if 0 < value < 1:
        value = value * 100
    if value < 0 or value > 100:
        raise InvalidValue(f"{ctx.record}: {value}% is not a VAT rate")
    return value


def t_incl_vat(ctx: EvalContext, amount: Any, rate: Any, digits: Any = 2) -> float:
    factor = 1 + _rate(ctx, rate) / 100
    return round_half_up(to_decimal(ctx, amount) * factor, _digits(ctx, digits, 0, 8))


def t_excl_vat(ctx: EvalContext, amount: Any, rate: Any, digits: Any = 2) -> float:
    factor = 1 + _rate(ctx, rate) / 100
    return round_half_up(to_decimal(ctx, amount) / factor, _digits(ctx, digits, 0, 8))


# --- dates --------------------------------------------------------------------------------


def parse_date(ctx: EvalContext, value: Any, input_format: Any = None) -> datetime:
    if isinstance(value, datetime):
        return value
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    text = _text(value).strip()
    try:
        if input_format:
            return datetime.strptime(text, _text(input_format))
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except (ValueError, TypeError):
        raise InvalidValue(
            f"{ctx.record}: {ctx.field or 'a field'} needs a date, got {value!r}"
        ) from None


_SAFE_FORMAT = re.compile(r"^(?:%[dmyYHMSjbBaAp%]|[^%]){0,40}$")


def t_format_date(
    ctx: EvalContext, value: Any, output_format: Any = "%Y-%m-%d", input_format: Any = None
) -> str:
    if _empty(value):
        return ""
    fmt = _text(output_format)
    if not _SAFE_FORMAT.match(fmt):
        raise InvalidValue(f"{ctx.record}: date format {fmt!r} is not supported")
    return parse_date(ctx, value, input_format).strftime(fmt)


# --- countries and validation -------------------------------------------------------------


def t_country_code(ctx: EvalContext, value: Any) -> str:
    if _empty(value):
        return ""
    code = country_code(_text(value))
    if code is None:
        raise InvalidValue(f"{ctx.record}: '{_text(value)}' is not a country Koppel knows")
    return code


def t_country_name(_: EvalContext, value: Any, language: Any = "en") -> str:
    return country_name(_text(value), _text(language)) or _text(value)


_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")


def t_email(ctx: EvalContext, value: Any) -> str:
    """Normalised e-mail (trim, lower case); invalid → failure, empty stays empty."""
    email = normalise_email(_text(value))
    if email and not _EMAIL.match(email):
        raise InvalidValue(f"{ctx.record}: '{email}' is not a valid e-mail address")
    return email


def t_ean(ctx: EvalContext, value: Any) -> str:
    code = _text(value).strip().replace(" ", "")
    if not code:
        return ""
    try:
        return str(stdnum_ean.validate(code))
    except StdnumError:
        raise InvalidValue(f"{ctx.record}: '{code}' is not a valid EAN/GTIN barcode") from None


def t_vat_number(ctx: EvalContext, value: Any) -> str:
    number = _text(value).strip()
    if not number:
        return ""
    # Norway and Switzerland are outside the EU scheme but common trading partners.
    validate, kind = _NON_EU_VAT.get(number[:2].upper(), (stdnum_vat.validate, "EU VAT number"))
    try:
        return str(validate(number))
    except StdnumError:
        raise InvalidValue(f"{ctx.record}: '{number}' is not a valid {kind}") from None


def _prefixed(module: Any, prefix: str) -> Callable[[str], str]:
    def validate(number: str) -> str:
        compact = str(module.validate(number))
        return compact if compact.upper().startswith(prefix) else prefix + compact

    return validate


_NON_EU_VAT: dict[str, tuple[Callable[[str], str], str]] = {
    "NO": (_prefixed(stdnum_no_mva, "NO"), "Norwegian MVA number"),
    "CH": (_prefixed(stdnum_ch_vat, "CH"), "Swiss VAT number"),
}


def _checker(fn: Callable[[EvalContext, Any], str]) -> Callable[[EvalContext, Any], bool]:
    def check(ctx: EvalContext, value: Any) -> bool:
        try:
            return bool(fn(ctx, value))
        except InvalidValue:
            return False

    return check


@dataclass(frozen=True)
class Transform:
    name: str
    fn: Callable[..., Any]
    min_args: int
    max_args: int | None  # None: any number
    help: str


def _t(
    name: str, fn: Callable[..., Any], min_args: int, max_args: int | None, help: str
) -> Transform:
    return Transform(name, fn, min_args, max_args, help)


TRANSFORMS: dict[str, Transform] = {
    t.name: t
    for t in (
        _t("trim", t_trim, 1, 1, "remove leading and trailing spaces"),
        _t("upper", t_upper, 1, 1, "UPPER CASE"),
        _t("lower", t_lower, 1, 1, "lower case"),
        _t("concat", t_concat, 1, None, "glue values together"),
        _t("join", t_join, 2, None, "join(separator, a, b, ...) skipping empty values"),
        _t("replace", t_replace, 3, 3, "replace(text, old, new)"),
        _t("truncate", t_truncate, 2, 2, "truncate(text, length), reported as a warning"),
        _t(
            "split_street", t_split_street, 1, 2, "split_street(line, 'street'|'number'|'addition')"
        ),
        _t("postcode", t_postcode, 1, 2, "postcode(code, country): Dutch codes as '1234 AB'"),
        _t("default", t_default, 2, None, "first non-empty value"),
        _t("if", t_if, 2, 3, "if(condition, then, otherwise)"),
        _t("eq", t_eq, 2, 2, "true when both are the same text"),
        _t("lookup", t_lookup, 2, None, "lookup('map', key, fallback keys...) in a value map"),
        _t("number", t_number, 1, 1, "read a number (accepts a decimal comma)"),
        _t("round", t_round, 1, 2, "round(number, digits) half up"),
        _t("format_number", t_format_number, 1, 3, "format_number(number, digits, separator)"),
        _t("incl_vat", t_incl_vat, 2, 3, "incl_vat(amount, rate %)"),
        _t("excl_vat", t_excl_vat, 2, 3, "excl_vat(amount, rate %)"),
        _t("format_date", t_format_date, 1, 3, "format_date(date, '%d-%m-%Y', input format)"),
        _t("country_code", t_country_code, 1, 1, "country name → ISO code"),
        _t("country_name", t_country_name, 1, 2, "ISO code → country name ('en' or 'nl')"),
        _t("email", t_email, 1, 1, "normalised, validated e-mail"),
        _t("ean", t_ean, 1, 1, "validated EAN-13/GTIN"),
        _t("vat_number", t_vat_number, 1, 1, "validated EU VAT number"),
        _t("is_email", _checker(t_email), 1, 1, "true for a valid e-mail"),
        _t("is_ean", _checker(t_ean), 1, 1, "true for a valid EAN"),
        _t("is_vat_number", _checker(t_vat_number), 1, 1, "true for a valid EU VAT number"),
    )
}

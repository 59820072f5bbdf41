"""Preview: a mapping (saved or draft) applied to a sample record, with the target API's
validation and per-field lineage. Never raises for bad records: the answer says what failed."""

from __future__ import annotations

from typing import Any

from koppel.mapper.domain.engine import (
    MappingResult,
    map_article_record,
    map_customer_record,
    map_order_record,
)
from koppel.mapper.domain.errors import MappingError
from koppel.mapper.domain.lineage import Lineage
from koppel.mapper.domain.mapping import CompiledMapping
from koppel.mapper.domain.targets import accountview_body, validate_accountview, validate_article
from koppel.mapper.domain.valuemaps import ValueMaps
from koppel.mapper.models import PreviewResponse


def run_preview(
    flow: str,
    mapping: CompiledMapping,
    maps: ValueMaps,
    sample: dict[str, Any],
    enrichment: dict[str, Any],
) -> PreviewResponse:
    lineage = Lineage()
    try:
        if flow == "orders":
            result = map_order_record(sample, enrichment, mapping, maps, lineage=lineage)
        elif flow == "customers":
            result = map_customer_record(sample, mapping, maps, lineage=lineage)
        else:
            result = map_article_record(sample, mapping, maps, lineage=lineage)
    except MappingError as exc:
        return PreviewResponse(
            ok=False,
            lineage=lineage.as_dict(),
            error={
                "reason_code": exc.reason_code,
                "reason": exc.reason,
                "details": {k: str(v) for k, v in exc.context.items()},
            },
        )
    validation, body = _validate(flow, result)
    return PreviewResponse(
        ok=not any(validation.values()),
        target=result.target,
        customer=result.customer,
        body=body,
        validation=validation,
        lineage=result.lineage or {},
        warnings=result.warnings,
    )


def _validate(
    flow: str, result: MappingResult
) -> tuple[dict[str, list[str]], dict[str, Any] | None]:
    target = result.target
    if flow == "orders":
        header_table, line_table = target["header_table"], target["line_table"]
        validation = {header_table: validate_accountview(header_table, target["header"])}
        validation[line_table] = [
            f"line {i + 1}: {problem}"
            for i, line in enumerate(target["lines"])
            for problem in validate_accountview(line_table, line)
        ]
        if result.customer and target.get("default_debtor") is None:
            validation["CONTACT"] = validate_accountview("CONTACT", result.customer)
        if target.get("delivery"):
            validation["DEL_ADDR"] = validate_accountview("DEL_ADDR", target["delivery"])
        body = accountview_body(
            business_object=target["business_object"],
            header_table=header_table,
            header=target["header"],
            detail_table=line_table,
            lines=target["lines"],
            book_date=target.get("book_date"),
        )
        return validation, body
    if flow == "customers":
        body = accountview_body(business_object="AR1", header_table="CONTACT", header=target)
        return {"CONTACT": validate_accountview("CONTACT", target)}, body
    return {"Article": validate_article(target)}, None

"""The mapper's HTTP routes: mappings, value maps, preview.

Mounted under ``/internal/mapper`` behind the service token (every service's own routes
live under ``/internal/<service>``, so the embedded app can mount them all); the gateway
forwards its public ``/v1/mappings...`` and ``/v1/value-maps...`` to the same paths here,
e.g. ``GET /v1/mappings/orders`` → ``GET /internal/mapper/v1/mappings/orders``. The gateway
names the tenant in ``X-Koppel-Tenant`` and the person or key in ``X-Koppel-Actor``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header
from sqlalchemy.exc import IntegrityError

from koppel.common.app import require_service_token
from koppel.common.problems import Problem
from koppel.common.runtime import ServiceContext
from koppel.mapper.adapters import repository
from koppel.mapper.domain.errors import MappingDefinitionError
from koppel.mapper.domain.mapping import FLOWS, compile_mapping
from koppel.mapper.domain.transforms import TRANSFORMS
from koppel.mapper.domain.valuemap_rules import normalise_value_map
from koppel.mapper.domain.valuemaps import VALUE_MAPS
from koppel.mapper.models import (
    MappingDocument,
    MappingPublic,
    MappingVersionPublic,
    PreviewRequest,
    PreviewResponse,
    RollbackRequest,
    ValueMapDocument,
    ValueMapPublic,
)
from koppel.mapper.preview import run_preview
from koppel.mapper.service import cache_of, config_changed, load_config, loaded_of

PREFIX = "/internal/mapper"
TENANT_HEADER = "X-Koppel-Tenant"
ACTOR_HEADER = "X-Koppel-Actor"
PREVIEW_FLOWS = ("orders", "customers", "products")

Tenant = Annotated[str, Header(alias=TENANT_HEADER, min_length=1, max_length=64)]
Actor = Annotated[str, Header(alias=ACTOR_HEADER, max_length=200)]


def invalid(exc: MappingDefinitionError, title: str) -> Problem:
    fields = [p.field or p.location for p in exc.problems]
    return Problem(
        422,
        f"{title}: " + "; ".join(f"{p.location}: {p.message}" for p in exc.problems),
        title=title,
        type="https://koppel.dev/problems/invalid-mapping",
        errors=[p.as_dict() for p in exc.problems],
        invalid_fields=fields,
    )


def _flow(flow: str, allowed: tuple[str, ...] = FLOWS) -> str:
    if flow not in allowed:
        raise Problem(404, f"no flow '{flow}' here; flows are {', '.join(allowed)}")
    return flow


def routers(ctx: ServiceContext) -> list[APIRouter]:
    router = APIRouter(
        prefix=PREFIX, tags=["mapper"], dependencies=[Depends(require_service_token(ctx.settings))]
    )
    cache = cache_of(ctx)

    async def public(tenant: str, flow: str) -> MappingPublic:
        async with ctx.database.session() as session:
            row = await repository.current_mapping(session, tenant, flow)
        document = row.document if row else {"settings": {}, "fields": {}}
        compiled = compile_mapping(flow, document) if row is None else None
        settings = compiled.settings_view if compiled else _effective(flow, document)
        return MappingPublic(
            flow=flow,
            version=row.version if row else 0,
            document=document,
            effective_settings=settings,
            saved_by=row.saved_by if row else None,
            saved_at=row.saved_at if row else None,
        )

    @router.get("/v1/mappings/{flow}")
    async def get_mapping(flow: str, tenant: Tenant) -> MappingPublic:
        """The tenant's current mapping for a flow (version 0: the defaults)."""
        return await public(tenant, _flow(flow))

    @router.put("/v1/mappings/{flow}")
    async def put_mapping(
        flow: str, document: MappingDocument, tenant: Tenant, actor: Actor = "api"
    ) -> MappingPublic:
        """Validate and save a new version; the previous one stays in the history."""
        _flow(flow)
        raw = document.model_dump()
        try:
            compile_mapping(flow, raw)
        except MappingDefinitionError as exc:
            raise invalid(exc, "Invalid mapping") from None
        await _store(ctx, tenant, flow, raw, actor, "save")
        return await public(tenant, flow)

    @router.get("/v1/mappings/{flow}/history")
    async def get_history(flow: str, tenant: Tenant) -> list[MappingVersionPublic]:
        """Every saved version, newest first, with who saved it and when."""
        async with ctx.database.session() as session:
            rows = await repository.mapping_history(session, tenant, _flow(flow))
        return [
            MappingVersionPublic(
                version=r.version,
                action=r.action,
                saved_by=r.saved_by,
                saved_at=r.saved_at,
                document=r.document,
            )
            for r in rows
        ]

    @router.post("/v1/mappings/{flow}/rollback")
    async def rollback(
        flow: str, request: RollbackRequest, tenant: Tenant, actor: Actor = "api"
    ) -> MappingPublic:
        """Make an earlier version current again (as a new version, so history is kept)."""
        async with ctx.database.session() as session:
            old = await repository.mapping_version(session, tenant, _flow(flow), request.version)
        if old is None:
            raise Problem(404, f"the {flow} mapping has no version {request.version}")
        try:
            compile_mapping(flow, old.document)
        except MappingDefinitionError as exc:
            raise invalid(exc, f"Version {request.version} is no longer valid") from None
        await _store(ctx, tenant, flow, old.document, actor, f"rollback to {request.version}")
        return await public(tenant, flow)

    @router.post("/v1/mappings/{flow}/preview")
    async def preview(flow: str, request: PreviewRequest, tenant: Tenant) -> PreviewResponse:
        """Map a sample record with the saved mapping or a draft: result, validation, lineage."""
        _flow(flow, PREVIEW_FLOWS)
        async with ctx.database.session() as session:
            config = await load_config(session, cache, tenant, flow)
        mapping = config.mapping
        if request.mapping is not None:
            try:
                mapping = compile_mapping(flow, request.mapping.model_dump())
            except MappingDefinitionError as exc:
                raise invalid(exc, "Invalid mapping") from None
        return run_preview(flow, mapping, config.maps, request.sample, request.enrichment)

    @router.get("/v1/value-maps")
    async def list_value_maps(tenant: Tenant) -> list[ValueMapPublic]:
        """Every value map, filled or not, with what its keys are."""
        async with ctx.database.session() as session:
            rows = {r.name: r for r in await repository.value_maps(session, tenant)}
        return [_value_map_public(name, rows.get(name)) for name in sorted(VALUE_MAPS)]

    @router.get("/v1/value-maps/{name}")
    async def get_value_map(name: str, tenant: Tenant) -> ValueMapPublic:
        """One value map (empty when never saved)."""
        if name not in VALUE_MAPS:
            raise Problem(
                404, f"no value map '{name}'; value maps are {', '.join(sorted(VALUE_MAPS))}"
            )
        async with ctx.database.session() as session:
            row = await repository.value_map(session, tenant, name)
        return _value_map_public(name, row)

    @router.put("/v1/value-maps/{name}")
    async def put_value_map(
        name: str, document: ValueMapDocument, tenant: Tenant, actor: Actor = "api"
    ) -> ValueMapPublic:
        """Validate and save a value map (keys normalised, e.g. 'be:21.0' → 'BE:21')."""
        if name not in VALUE_MAPS:
            raise Problem(
                404, f"no value map '{name}'; value maps are {', '.join(sorted(VALUE_MAPS))}"
            )
        try:
            stored = normalise_value_map(name, dict(document.entries), document.default)
        except MappingDefinitionError as exc:
            raise invalid(exc, "Invalid value map") from None
        async with ctx.unit_of_work() as uow:
            try:
                row = await repository.store_value_map(
                    uow.session, tenant, name, stored, actor=actor
                )
                uow.publish(config_changed(tenant, f"value_map:{name}"))
                await uow.commit()
                loaded_of(ctx).invalidate(tenant)
            except IntegrityError:
                raise Problem(
                    409, "the value map was changed at the same time; try again"
                ) from None
        return _value_map_public(name, row)

    @router.get("/v1/transforms")
    async def transforms() -> list[dict[str, object]]:
        """The transforms a field expression may use."""
        return [
            {"name": t.name, "min_args": t.min_args, "max_args": t.max_args, "help": t.help}
            for t in TRANSFORMS.values()
        ]

    return [router]


def _effective(flow: str, document: dict[str, object]) -> dict[str, object]:
    try:
        return compile_mapping(flow, document).settings_view
    except MappingDefinitionError:
        return {}


async def _store(
    ctx: ServiceContext,
    tenant: str,
    flow: str,
    document: dict[str, object],
    actor: str,
    action: str,
) -> None:
    async with ctx.unit_of_work() as uow:
        try:
            await repository.store_mapping(
                uow.session, tenant, flow, dict(document), actor=actor, action=action
            )
            uow.publish(config_changed(tenant, f"mapping:{flow}"))
            await uow.commit()
            loaded_of(ctx).invalidate(tenant)
        except IntegrityError:
            raise Problem(409, "the mapping was changed at the same time; try again") from None


def _value_map_public(name: str, row: object | None) -> ValueMapPublic:
    from koppel.mapper.models import ValueMapRow

    if not isinstance(row, ValueMapRow):
        return ValueMapPublic(name=name, version=0, entries={}, default=None)
    return ValueMapPublic(
        name=name,
        version=row.version,
        entries=row.document.get("entries") or {},
        default=row.document.get("default"),
        saved_by=row.saved_by,
        saved_at=row.saved_at,
    )

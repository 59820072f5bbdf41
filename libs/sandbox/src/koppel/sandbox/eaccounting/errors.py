"""Visma's error body ``CommonExtendedBadRequest`` and the codes the sandbox uses.

``{"ErrorCode": int, "DeveloperErrorMessage": str, "ErrorId": uuid, "Errors": [CommonError]|null}``
"""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

VALIDATION = 2000  # DataModelValidationError
NOT_FOUND = 3000  # ResourceNotFound
CONFLICT = 4000  # duplicate
CANNOT_DELETE = 4001
CANNOT_CREATE_OR_UPDATE = 4002
NO_ACCESS_TO_SCOPES = 4006
TOO_MANY_REQUESTS = 4010
INTERNAL = 5000
STOCK_TO_NON_STOCK = 5003
QUERY_PARAMETER = 6000
INVALID_INPUT = 6001


class ApiError(Exception):
    def __init__(
        self,
        status: int,
        code: int,
        message: str,
        errors: list[dict[str, str]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.errors = errors
        self.headers = headers


def error_body(
    code: int, message: str, errors: list[dict[str, str]] | None = None
) -> dict[str, Any]:
    return {
        "ErrorCode": code,
        "DeveloperErrorMessage": message,
        "ErrorId": str(uuid.uuid4()),
        "Errors": errors,
    }


def error_response(error: ApiError) -> JSONResponse:
    return JSONResponse(
        error_body(error.code, error.message, error.errors),
        status_code=error.status,
        headers=error.headers,
    )


def field_error(field: str, message: str, code: int = VALIDATION) -> dict[str, str]:
    return {"Field": field, "ErrorCode": str(code), "Message": message, "Key": field}


def validation_error(errors: list[dict[str, str]]) -> ApiError:
    fields = ", ".join(e["Field"] for e in errors if e["Field"]) or "body"
    return ApiError(400, VALIDATION, f"Validation failed for: {fields}", errors)


def not_found(what: str, key: object) -> ApiError:
    return ApiError(404, NOT_FOUND, f"{what} with id {key} was not found")


def query_error(message: str) -> ApiError:
    return ApiError(400, QUERY_PARAMETER, f"The query specified in the URI is not valid. {message}")


def server_error() -> JSONResponse:
    return JSONResponse(
        error_body(INTERNAL, "An internal server error occurred. Please try again later."),
        status_code=500,
    )


def rate_limited(limit: int, window_seconds: float, retry_after: int) -> JSONResponse:
    unit = "Minute" if window_seconds == 60 else f"{window_seconds:g} seconds"
    body = {
        "ErrorCode": TOO_MANY_REQUESTS,
        "DeveloperErrorMessage": (
            f"API calls quota exceeded! maximum admitted {limit} per {unit}. "
            f"Try again in {retry_after} seconds."
        ),
        "ErrorId": str(uuid.uuid4()),
    }
    return JSONResponse(body, status_code=429, headers={"Retry-After": str(retry_after)})


def unauthorized(description: str) -> Response:
    # ASP.NET Core bearer auth: 401 without a body, the reason in WWW-Authenticate.
    header = f'Bearer error="invalid_token", error_description="{description}"'
    return Response(status_code=401, headers={"WWW-Authenticate": header})


def install_error_handlers(app: FastAPI) -> None:
    async def on_api_error(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, ApiError)
        return error_response(exc)

    async def on_request_validation(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        errors = []
        for item in exc.errors():
            loc = [str(p) for p in item.get("loc", ()) if p not in ("body", "query", "path")]
            errors.append(field_error(".".join(loc), str(item.get("msg", "invalid"))))
        return error_response(ApiError(400, INVALID_INPUT, "Invalid input", errors))

    async def on_http(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        if exc.status_code == 404:
            return error_response(ApiError(404, NOT_FOUND, "The requested resource was not found"))
        if exc.status_code == 405:
            return error_response(ApiError(405, NOT_FOUND, "The requested method is not allowed"))
        return JSONResponse(
            error_body(exc.status_code, str(exc.detail)), status_code=exc.status_code
        )

    app.add_exception_handler(ApiError, on_api_error)
    app.add_exception_handler(RequestValidationError, on_request_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)

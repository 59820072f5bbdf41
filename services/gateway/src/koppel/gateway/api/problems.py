"""Shared OpenAPI fragments: the problem+json error responses each route documents."""

from __future__ import annotations

from typing import Any

PROBLEM = {
    "application/problem+json": {
        "schema": {
            "type": "object",
            "properties": {
                "type": {"type": "string"},
                "title": {"type": "string"},
                "status": {"type": "integer"},
                "detail": {"type": "string"},
                "field": {"type": "string"},
                "code": {"type": "string"},
            },
        }
    }
}


def problem(status: int, description: str, example_detail: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {
            "application/problem+json": {
                **PROBLEM["application/problem+json"],
                "example": {
                    "type": "about:blank",
                    "title": description,
                    "status": status,
                    "detail": example_detail,
                },
            }
        },
    }


Responses = dict[int | str, dict[str, Any]]

AUTH: Responses = {
    401: problem(401, "Unauthorized", "send Authorization: Bearer <API key>"),
    403: problem(403, "Forbidden", "this route needs a tenant API key"),
}
NOT_FOUND: Responses = {404: problem(404, "Not Found", "the resource does not exist")}
# 400: a body that is not JSON at all; 422: JSON (or a parameter) that fails validation.
INVALID: Responses = {
    400: problem(400, "Bad Request", "the request body is not valid JSON"),
    422: problem(422, "Unprocessable Content", "invalid request: body.name"),
}

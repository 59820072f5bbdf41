"""The AccountView error body and the exception that carries it."""

from __future__ import annotations

from typing import Any


class AccountViewError(Exception):
    """An error AccountView reports as ``{"ErrorType":"AccountViewError",...}``."""

    def __init__(self, message: str, status_code: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code

    def body(self) -> dict[str, Any]:
        return error_body(self.message)


def error_body(message: str) -> dict[str, Any]:
    # Shape verified in two clients (notes section 9); ErrorNumbers is always null here.
    return {"ErrorType": "AccountViewError", "ErrorNumbers": None, "ErrorMessage": message}

"""Domain errors that carry their HTTP status and a stable JSON body."""
from __future__ import annotations

from typing import Any


class AppError(Exception):
    """Base of every error the app shows to a user; subclasses set status and code."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str, field: str | None = None, **extra: Any) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.extra = extra

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": self.message, "field": self.field}
        body.update(self.extra)
        return {"error": body}


class InvalidInput(AppError):
    status = 400
    code = "invalid"


class NotFound(AppError):
    status = 404
    code = "not_found"


class Conflict(AppError):
    status = 409
    code = "conflict"


class Forbidden(AppError):
    status = 403
    code = "forbidden"


class Unavailable(AppError):
    status = 503
    code = "unavailable"


class QueryTimeout(AppError):
    """A statement ran past the statement timeout: the question is too broad, not the server
    away, so no Retry-After (the same question would take as long again)."""

    status = 504
    code = "query_timeout"

"""Errors the engine raises; the web layer maps each to one HTTP status."""

from __future__ import annotations


class EngineError(Exception):
    """Base class: a message for people and optional structured details."""

    code = "error"

    def __init__(self, message: str, details: object | None = None):
        super().__init__(message)
        self.message = message
        self.details = details


class NotFound(EngineError):
    code = "not_found"


class Conflict(EngineError):
    """A lost race or a command that no longer applies (task already done, version moved)."""

    code = "conflict"


class Forbidden(EngineError):
    code = "forbidden"


class InvalidInput(EngineError):
    """Well-formed request with data the engine cannot accept."""

    code = "invalid_input"


class InvalidModel(EngineError):
    """A diagram that cannot be deployed; ``details`` lists ``{file, element_id, message}``."""

    code = "invalid_model"

    def __init__(self, message: str, errors: list[dict] | None = None):
        super().__init__(message, errors or [])
        self.errors = errors or []

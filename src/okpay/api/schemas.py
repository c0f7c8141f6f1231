"""Schemas shared by every API module."""

from __future__ import annotations

from ninja import Schema


class ErrorDetail(Schema):
    code: str
    message: str
    param: str | None


class ErrorOut(Schema):
    error: ErrorDetail


class HealthOut(Schema):
    status: str
    database: str
    channel_layer: str
    version: str


ERRORS = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut, 429: ErrorOut}

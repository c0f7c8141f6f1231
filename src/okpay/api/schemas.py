"""Schemas shared by every API module."""

from __future__ import annotations

from ninja import Field, Schema


class ErrorDetail(Schema):
    code: str
    message: str
    param: str | None
    method: str | None = Field(
        None, description="Only on `401 otp_required` (and `invalid_otp`) of a payment's step-up: how "
                          "to get the code for `otp_code`. `totp`: the authenticator app's code; `sms`: a "
                          "six-digit code just sent to the verified phone; `email`: one sent to the verified "
                          "email. Retry the same request with `otp_code` and the same `Idempotency-Key` "
                          "(an `sms`/`email` code is bound to it). Absent on other errors.")


class ErrorOut(Schema):
    error: ErrorDetail


class HealthOut(Schema):
    status: str
    database: str
    channel_layer: str
    version: str


ERRORS = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut, 429: ErrorOut}

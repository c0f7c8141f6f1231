"""The bare reference service (``bare_transfer_app.app``, unchanged) behind the same HTTP layout as
``okpay serve``: uvicorn → a2wsgi ``WSGIMiddleware`` (one thread hop, ``OKPAY_HTTP_THREADS``
threads, default 8), run with ``uvicorn --workers 2`` by ``benchmarks.payments``."""

from __future__ import annotations

import os

from a2wsgi import WSGIMiddleware

from benchmarks.reference.bare_transfer_app import app

application = WSGIMiddleware(app, workers=int(os.environ.get("OKPAY_HTTP_THREADS", "8")))  # type: ignore[arg-type]

"""Give the database connection back after ORM work called from async code.

Channels' ``database_sync_to_async`` calls ``close_old_connections()`` before and after the
function, on the worker thread but outside the context the function runs in. asgiref (3.10 on)
runs the function inside a copy of the caller's context and re-homes Django's per-thread
connection storage into it, so the connection the function opened lives in that copy and the
closing call, looking at the thread's own storage, never sees it. With PostgreSQL's pool
(``CONN_MAX_AGE = 0``) that connection was never given back: every WebSocket message handled by a
consumer kept one checked out until the pool was drained (``PoolTimeout`` after ten seconds; found
by the PostgreSQL suite, where the chat and help-centre tests ran into it one after another).

:func:`install` makes the closing happen inside the function's own context as well. It runs in
``CoreConfig.ready`` so it covers Channels' own session and user lookups too, not only ours.
"""

from __future__ import annotations

from typing import Any

from channels.db import DatabaseSyncToAsync
from django.db import close_old_connections

_INSTALLED = "_okpay_closes_in_context"


def install() -> None:
    """Wrap each call's function so old connections are closed where it ran (idempotent)."""
    if getattr(DatabaseSyncToAsync, _INSTALLED, False):
        return
    thread_handler = DatabaseSyncToAsync.thread_handler

    def closing_thread_handler(self: Any, loop: Any, exc_info: Any, task_context: Any, func: Any,
                               child: Any, *args: Any, **kwargs: Any) -> Any:
        def child_then_close(*child_args: Any, **child_kwargs: Any) -> Any:
            try:
                return child(*child_args, **child_kwargs)
            finally:
                close_old_connections()

        return thread_handler(self, loop, exc_info, task_context, func, child_then_close, *args, **kwargs)

    DatabaseSyncToAsync.thread_handler = closing_thread_handler  # type: ignore[method-assign]
    setattr(DatabaseSyncToAsync, _INSTALLED, True)

"""The Redis channel layer (``OKPAY_REDIS_URL``): channels-redis with a connection pool that waits.

channels-redis builds a plain redis-py pool per process. With redis-py 8 that pool holds at most
100 connections and *raises* ``MaxConnectionsError`` on the 101st concurrent command, and every
connection reads with a 5-second socket timeout — the same 5 seconds channels-redis's receive
loop blocks in ``BZPOPMIN``. Under a burst (a few hundred chat sockets reconnecting after a
restart) the first killed consumers with "Too many connections", the second with "Timeout reading"
whenever the CPU was busy; both closed sockets abruptly (found by the chat scale-out benchmark).
Here commands wait for a free connection (up to ``POOL_WAIT`` seconds), and reads wait longer
than the blocking pop they serve.
"""

from __future__ import annotations

from typing import Any

from channels_redis.core import RedisChannelLayer as _RedisChannelLayer
from redis.asyncio import BlockingConnectionPool

POOL_WAIT = 30  # seconds a command waits for a free connection before it fails
READ_MARGIN = 10  # seconds a read waits beyond the longest blocking pop


class RedisChannelLayer(_RedisChannelLayer):  # type: ignore[misc]
    def __init__(self, *args: Any, max_connections: int = 100, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.max_connections = max_connections

    def create_pool(self, index: int) -> BlockingConnectionPool:
        host = dict(self.hosts[index])
        address = host.pop("address")
        host.setdefault("socket_timeout", self.brpop_timeout + READ_MARGIN)
        host.setdefault("socket_connect_timeout", 5)
        return BlockingConnectionPool.from_url(address, max_connections=self.max_connections,
                                               timeout=POOL_WAIT, **host)

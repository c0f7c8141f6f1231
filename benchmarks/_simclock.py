"""One simulated clock shared by the service-day driver and the OKPay server processes it starts.

The driver owns the clock: a file holding the simulated time (8 bytes, a float of epoch seconds)
that it rewrites whenever the simulation moves on. Every process on the clock (the driver itself,
and each server started as ``python -m benchmarks._simclock CLOCKFILE okpay serve …``) runs under
time-machine with ``tick=False`` and a thread that follows the file: ``time.time()``,
``datetime.now()`` and so ``django.utils.timezone.now()`` and ``okpay.support.clock.now()`` return
the simulated time in all of them, so every timestamp OKPay writes (ticket created, first reply,
SLA due, chat queued and assigned, call reported) is simulated time, and the signed webhooks'
replay windows compare simulated times on both sides. ``time.monotonic()`` is not moved, so event
loops, socket timeouts and database busy timeouts keep real time.

The driver only moves the clock while nothing is in flight (every request it sent was answered),
then waits for the followers to see the new time (:meth:`SimClock.set` → ``SETTLE`` seconds) before
it sends the next one.
"""

from __future__ import annotations

import mmap
import os
import struct
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

POLL = 0.001  # seconds between two looks at the clock file in a follower
SETTLE = 0.006  # the driver waits this long after moving the clock (several polls)
_FORMAT = "d"


class SimClock:
    """The driver's side: set the shared time (and its own, through time-machine)."""

    def __init__(self, path: Path, start: datetime) -> None:
        import time_machine

        self.path = path
        path.write_bytes(struct.pack(_FORMAT, start.timestamp()))
        self._file = path.open("r+b")
        self._map = mmap.mmap(self._file.fileno(), 8)
        self._traveller: Any = time_machine.travel(start, tick=False)
        self._coordinates = self._traveller.start()
        self.now = start

    def set(self, moment: datetime) -> None:
        if moment <= self.now:
            return
        self.now = moment
        self._map[:8] = struct.pack(_FORMAT, moment.timestamp())
        self._coordinates.move_to(moment)
        time.sleep(SETTLE)

    def close(self) -> None:
        self._traveller.stop()
        self._map.close()
        self._file.close()


def follow(path: Path) -> None:
    """A server process's side: travel to the file's time and keep following it."""
    import time_machine

    handle = path.open("rb")
    shared = mmap.mmap(handle.fileno(), 8, access=mmap.ACCESS_READ)

    def read() -> float:
        return float(struct.unpack(_FORMAT, shared[:8])[0])

    last = read()
    coordinates = time_machine.travel(datetime.fromtimestamp(last, UTC), tick=False).start()

    def loop() -> None:
        nonlocal last
        while True:
            value = read()
            if value != last:
                last = value
                coordinates.move_to(datetime.fromtimestamp(value, UTC))
            time.sleep(POLL)

    threading.Thread(target=loop, name="simclock", daemon=True).start()


def main() -> None:
    """``python -m benchmarks._simclock CLOCKFILE okpay ARGS…``: run an okpay command on the clock."""
    clock_file, program, *args = sys.argv[1:]
    if program != "okpay":
        raise SystemExit("usage: python -m benchmarks._simclock CLOCKFILE okpay ARGS…")
    follow(Path(clock_file))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "okpay.settings")
    from okpay.cli import main as okpay_main

    sys.argv = ["okpay", *args]
    raise SystemExit(okpay_main())


if __name__ == "__main__":
    main()

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
then waits until every follower has applied the new time (each acknowledges it in a file of its
own, ``CLOCKFILE.ack.<pid>``) before it sends the next request: a server never answers with an
old time, however loaded the machine.
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
ACK_TIMEOUT = 30.0  # seconds the driver waits for a follower's acknowledgement
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
        value = moment.timestamp()
        self._map[:8] = struct.pack(_FORMAT, value)
        self._coordinates.move_to(moment)
        self._await(value)

    def _await(self, value: float) -> None:
        """Until every follower (an ack file of a live process) has applied ``value``."""
        deadline = time.monotonic() + ACK_TIMEOUT
        for ack in self.path.parent.glob(self.path.name + ".ack.*"):
            pid = int(ack.name.rsplit(".", 1)[1])
            while True:
                data = ack.read_bytes()
                if len(data) == 8 and struct.unpack(_FORMAT, data)[0] >= value:
                    break
                if not Path(f"/proc/{pid}").exists():
                    ack.unlink(missing_ok=True)  # a server that has stopped follows nothing
                    break
                if time.monotonic() > deadline:
                    raise RuntimeError(f"process {pid} did not follow the simulated clock")
                time.sleep(POLL / 2)

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
    ack = path.with_name(f"{path.name}.ack.{os.getpid()}")

    def acknowledge(value: float) -> None:
        tmp = path.with_name(f"{path.name}.tmp.{os.getpid()}")
        tmp.write_bytes(struct.pack(_FORMAT, value))
        tmp.replace(ack)  # atomic: the driver never reads half a value

    acknowledge(last)

    def loop() -> None:
        nonlocal last
        while True:
            value = read()
            if value != last:
                last = value
                coordinates.move_to(datetime.fromtimestamp(value, UTC))
                acknowledge(value)
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

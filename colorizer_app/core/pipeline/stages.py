"""Threads joined by bounded queues: the shape of every film pipeline here (batch, render).

    decode thread ──► inference (caller's thread) ──► encode thread
Bounded queues keep memory flat for any film length; the slowest stage sets the pace. The first
exception in any stage stops all of them and is re-raised by the caller; a cancel event does the
same, and queued frames are dropped at once.
"""
from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from typing import Any

END = object()  # put after the last item of a queue


class Cancelled(Exception):
    """The cancel event was set."""


class Stages:
    def __init__(self, cancel: threading.Event | None = None):
        self.stop = threading.Event()
        self.cancel = cancel
        self.errors: list[BaseException] = []
        self.threads: list[threading.Thread] = []

    def stopped(self) -> bool:
        if self.cancel is not None and self.cancel.is_set():
            self.stop.set()
        return self.stop.is_set()

    def start(self, fn: Callable[[], None], name: str) -> None:
        def run() -> None:
            try:
                fn()
            except BaseException as exc:  # noqa: BLE001 - handed to the caller by check()
                self.errors.append(exc)
                self.stop.set()

        t = threading.Thread(target=run, name=name, daemon=True)
        t.start()
        self.threads.append(t)

    def put(self, q: queue.Queue[Any], item: Any) -> bool:
        """Blocking put that gives up (False) once the pipeline stops."""
        while not self.stopped():
            try:
                q.put(item, timeout=0.05)
                return True
            except queue.Full:
                pass
        return False

    def drain(self, q: queue.Queue[Any]) -> Iterator[Any]:
        """Items until END, or until the pipeline stops (queued items are then dropped)."""
        while True:
            try:
                item = q.get(timeout=0.05)
            except queue.Empty:
                if self.stopped():
                    return
                continue
            if item is END or self.stopped():
                return
            yield item

    def relay(self, q_in: queue.Queue[Any], q_out: queue.Queue[Any],
              fn: Callable[[Any], Any]) -> None:
        """A middle stage (run it with start): fn of each item of q_in, in order, into q_out,
        then END. Composing and encoding on threads of their own overlap each other as well as
        the network (a single thread for both was the export's slowest stage)."""
        for item in self.drain(q_in):
            if not self.put(q_out, fn(item)):
                return
        if not self.stopped():
            self.put(q_out, END)

    def feed_batches(self, q: queue.Queue[Any], batch_size: int,
                     infer: Callable[[list[Any]], None]) -> None:
        """The inference stage, on the caller's thread: items of `q` in batches of `batch_size`."""
        batch: list[Any] = []
        for item in self.drain(q):
            batch.append(item)
            if len(batch) == batch_size:
                infer(batch)
                batch = []
        if batch and not self.stopped():
            infer(batch)

    def finish(self, q_out: queue.Queue[Any], cancelled: type[Exception] = Cancelled, what: str = "cancelled") -> None:
        """End of input: close the last queue, wait for every stage, re-raise what went wrong."""
        self.put(q_out, END)
        self.join()
        self.check(cancelled, what)

    def abort(self) -> None:
        self.stop.set()
        self.join()

    def join(self) -> None:
        for t in self.threads:
            t.join()

    def check(self, cancelled: type[Exception] = Cancelled, what: str = "cancelled") -> None:
        """Re-raise the first stage error, or `cancelled` when the cancel event was set."""
        if self.errors:
            raise self.errors[0]
        if self.cancel is not None and self.cancel.is_set():
            raise cancelled(what)

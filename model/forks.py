"""Work side by side in forked child processes: the writing of a plan's files while its finance
view runs (``report.PlanWriter``), and the bottlenecks' re-solves beside the finance view's
own (``plan.assemble``).

A child is forked, not spawned: it has the parent's data (the plan's tables, the solved model)
without copying or rebuilding it. HiGHS's worker threads do not survive a fork, so a child that
re-solves uses the dual simplex, which runs on the calling thread (measured: the same plans as
the parent's re-solves, at 88k and 300k variables); its wait has a deadline, and the parent does
the work itself when the child fails or misses it. Forks are used on Linux only: macOS's system
libraries are not safe to use after a fork, and Windows has none.
"""

from __future__ import annotations

import os
import pickle
import select
import signal
import struct
import sys
import time
import traceback
import warnings
from collections.abc import Callable
from typing import Any

#: Where children are forked (``Child``): elsewhere the work runs in the parent, in turn.
FORK = sys.platform.startswith("linux")


class Late(Exception):
    """A child did not finish by its deadline (``Child.wait``); it has been ended."""


class Child:
    """``work`` run in a forked child process when ``fork`` (else here and now). ``wait`` waits
    for it and returns what ``work`` returned, or raises its error (the child's traceback in a
    note, ``what`` saying what the child did); ``end`` kills it if it still runs. Ctrl+C is the
    parent's: the child ignores it, and the parent ends it. A child made ``fed`` is handed a
    function that waits for what the parent ``send``s it (b"" if the parent waits or ends
    first); fed children need ``fork``."""

    def __init__(self, work: Callable[..., Any], fed: bool = False, fork: bool = FORK, what: str = "the process writing the plan's files"):
        self.pid = 0
        self._inbox = -1
        self._what = what
        self._value: Any = None
        if not fork:
            assert not fed, "a fed child needs fork"
            self._value = work()
            return
        r, w = os.pipe()
        if fed:
            inbox_r, inbox_w = os.pipe()
        with warnings.catch_warnings():
            # Python 3.12+ warns of a fork while other threads run (HiGHS's idle workers): the
            # child leaves by os._exit and never waits for them.
            warnings.simplefilter("ignore", DeprecationWarning)
            pid = os.fork()
        if pid == 0:  # the child: never returns
            code = 0
            try:
                os.close(r)
                signal.signal(signal.SIGINT, signal.SIG_IGN)
                signal.signal(signal.SIGTERM, signal.SIG_DFL)  # not the parent's handler
                if fed:
                    os.close(inbox_w)
                    value = work(lambda: _read_sent(inbox_r))
                else:
                    value = work()
                data = pickle.dumps((True, value), protocol=pickle.HIGHEST_PROTOCOL)
            except BaseException as err:
                code = 1
                err.add_note(f"in {what}:\n" + traceback.format_exc())
                try:
                    data = pickle.dumps((False, err))
                except Exception:
                    data = pickle.dumps((False, RuntimeError(f"{type(err).__name__}: {err}")))
            try:
                with os.fdopen(w, "wb") as f:
                    f.write(data)
            finally:
                os._exit(code)
        os.close(w)
        if fed:
            os.close(inbox_r)
            self._inbox = inbox_w
        self.pid, self._pipe = pid, r

    def send(self, data: bytes) -> None:
        """Hand a fed child ``data`` (a few bytes: more would hold this process until the
        child reads them); once only."""
        # Its length first: a child forked later holds a copy of this end, so the child here
        # cannot wait for the pipe to close.
        with os.fdopen(self._inbox, "wb") as f:
            f.write(struct.pack("<Q", len(data)) + data)
        self._inbox = -1

    def wait(self, deadline: float = float("inf")) -> Any:
        """What the child's work returned; its error raised. Past ``deadline`` (a
        ``time.perf_counter`` time) the child is ended and ``Late`` raised."""
        if not self.pid:
            return self._value
        if self._inbox >= 0:
            self.send(b"")  # never fed: it ends without its part
        chunks = []
        with os.fdopen(self._pipe, "rb", buffering=0) as f:
            while True:
                left = deadline - time.perf_counter()
                if left <= 0 or not select.select([f], [], [], min(left, 3600.0))[0]:
                    if time.perf_counter() < deadline:
                        continue
                    os.kill(self.pid, signal.SIGKILL)
                    os.waitpid(self.pid, 0)
                    self.pid = 0
                    raise Late(f"{self._what} did not finish in time")
                chunk = f.read(1 << 20)
                if not chunk:  # the child closed its end: it is done
                    break
                chunks.append(chunk)
        _, status = os.waitpid(self.pid, 0)
        self.pid = 0
        data = b"".join(chunks)
        if not data:
            raise RuntimeError(f"{self._what} ended with exit status {os.waitstatus_to_exitcode(status)}")
        ok, value = pickle.loads(data)
        if not ok:
            raise value
        return value

    def end(self) -> None:
        if not self.pid:
            return
        os.kill(self.pid, signal.SIGKILL)
        os.waitpid(self.pid, 0)
        os.close(self._pipe)
        if self._inbox >= 0:
            os.close(self._inbox)
            self._inbox = -1
        self.pid = 0


def _read_sent(fd: int) -> bytes:
    """What ``Child.send`` sent (b"" if the parent closed its end without sending)."""
    with os.fdopen(fd, "rb") as f:
        head = f.read(8)
        return f.read(struct.unpack("<Q", head)[0]) if len(head) == 8 else b""

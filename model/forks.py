"""Work side by side in forked child processes: the writing of a plan's files while its finance
view runs (``report.PlanWriter``), and the bottlenecks' re-solves beside the finance view's
own (``plan.assemble``).

A child is forked, not spawned: it has the parent's data (the plan's tables, the solved model)
without copying or rebuilding it. HiGHS's worker threads do not survive a fork; a child's warm
re-solves are dual simplex, which runs on the calling thread (measured: the same plans as the
parent's re-solves, at 88k and 300k variables), but a re-solve that fails HiGHS's independent
check is solved again cold by the plan's own algorithm, which may want those threads. So a
re-solving child's wait has a deadline, and the parent does the work itself when the child
fails or misses it. Forks are used on Linux only: macOS's system libraries are not safe to use
after a fork, and Windows has none. A fork that fails (no memory or processes left) raises
``OSError`` with nothing left open, and the callers do the work in the parent.
"""

from __future__ import annotations

import math
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
    function that waits for what the parent ``send``s it (b"" if the parent ``wait``s without
    sending); fed children need ``fork``."""

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
        inbox_r = inbox_w = -1
        if fed:
            inbox_r, inbox_w = os.pipe()
        try:
            with warnings.catch_warnings():
                # Python 3.12+ warns of a fork while other threads run (HiGHS's idle workers):
                # the child leaves by os._exit and never waits for them.
                warnings.simplefilter("ignore", DeprecationWarning)
                pid = os.fork()
        except OSError:  # no memory or processes left for a child: nothing is left open
            for fd in (r, w, inbox_r, inbox_w):
                if fd >= 0:
                    os.close(fd)
            raise
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
        child reads them); once only. A child that has already ended is not an error here:
        ``wait`` says why it ended."""
        fd, self._inbox = self._inbox, -1
        try:
            # Its length first: a child forked later holds a copy of this end, so the child
            # here cannot wait for the pipe to close.
            os.write(fd, struct.pack("<Q", len(data)) + data)
        except BrokenPipeError:
            pass
        finally:
            os.close(fd)

    def wait(self, deadline: float = float("inf")) -> Any:
        """What the child's work returned; its error raised. A child still running at
        ``deadline`` (a ``time.perf_counter`` time) is ended and ``Late`` raised; one that has
        finished by then is read whenever this is called."""
        if not self.pid:
            return self._value
        if self._inbox >= 0:
            self.send(b"")  # never fed: it ends without its part
        chunks = []
        poll = select.poll()  # not select.select: it cannot watch a descriptor past 1023
        poll.register(self._pipe, select.POLLIN | select.POLLHUP)
        try:
            while True:
                left = deadline - time.perf_counter()
                wait_ms = None if math.isinf(left) else max(0, math.ceil(left * 1000))
                if not poll.poll(wait_ms):
                    if time.perf_counter() < deadline:
                        continue
                    os.kill(self.pid, signal.SIGKILL)
                    os.waitpid(self.pid, 0)
                    self.pid = 0
                    raise Late(f"{self._what} did not finish in time")
                chunk = os.read(self._pipe, 1 << 20)
                if not chunk:  # the child closed its end: it is done
                    break
                chunks.append(chunk)
        finally:
            os.close(self._pipe)
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

"""Work in forked child processes (``aop.forks``): a child's value or its error comes back, a
child past its deadline is ended, one that finished in time is read however late the parent
asks, and a fed child that ended before it was fed says why it ended."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from aop import forks
from aop.forks import Child, Late

pytestmark = pytest.mark.skipif(not forks.FORK, reason="children are forked on Linux only")


def _reaped(pid: int) -> bool:
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return True
    return False


def test_a_child_gives_back_its_value_or_its_error():
    assert Child(lambda: {"rows": list(range(100_000))}, what="a test child").wait()["rows"][-1] == 99_999  # more than a pipe holds

    def fails():
        raise KeyError("no such table")

    child = Child(fails, what="a test child")
    pid = child.pid
    with pytest.raises(KeyError, match="no such table") as err:
        child.wait()
    assert "in a test child" in "".join(err.value.__notes__) and _reaped(pid)


def test_a_child_past_its_deadline_is_ended_and_one_finished_in_time_is_read_late():
    slow = Child(lambda: time.sleep(60), what="a slow child")
    pid = slow.pid
    t0 = time.perf_counter()
    with pytest.raises(Late, match="a slow child did not finish in time"):
        slow.wait(time.perf_counter() + 0.5)
    assert time.perf_counter() - t0 < 10 and _reaped(pid)
    quick = Child(lambda: "done")
    time.sleep(0.5)  # it has finished; the parent comes back after its deadline
    assert quick.wait(time.perf_counter() - 1.0) == "done"


def test_a_fed_child_gets_what_is_sent_or_nothing_and_one_that_ended_first_says_why():
    got = Child(lambda receive: receive(), fed=True)
    got.send(b"rest.pickle")
    assert got.wait() == b"rest.pickle"
    assert Child(lambda receive: receive(), fed=True).wait() == b""  # waited for without sending

    def ends_early(_receive):
        raise ValueError("the sheets could not be begun")

    dead = Child(ends_early, fed=True)
    while not Path(f"/proc/{dead.pid}/stat").read_text().split(") ")[1].startswith("Z"):
        time.sleep(0.01)
    dead.send(b"rest.pickle")  # to a child that has ended: no error here
    with pytest.raises(ValueError, match="could not be begun"):
        dead.wait()
    dead.end()  # nothing left to end, and no descriptor closed twice

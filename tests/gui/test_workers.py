"""GeneratorWorker: core task generators run off the GUI thread, results arrive as signals in it."""

from __future__ import annotations

import threading
import time

import pytest

from core.errors import VideoError
from core.extract import Cancelled, Progress
from gui.workers import GeneratorWorker, running_workers, start_worker, wait_for_all


def counting(n, cancel=None, delay=0.0):
    threads = set()
    for i in range(n):
        if cancel is not None and cancel():
            raise Cancelled("stop")
        threads.add(threading.get_ident())
        time.sleep(delay)
        yield Progress(i + 1, n, "counting")
    return {"n": n, "threads": threads}


def test_progress_and_result_arrive_in_the_gui_thread(qtbot):
    gui_thread = threading.get_ident()
    seen, where = [], set()

    def on_progress(done, total, msg):  # a plain function: still called in the GUI thread
        seen.append((done, total, msg))
        where.add(threading.get_ident())

    w = GeneratorWorker(counting, 5)
    w.progress.connect(on_progress)
    results = []
    w.finished.connect(results.append)
    with qtbot.waitSignals([w.finished, w.done], timeout=5000):
        w.start()
    (result,) = results
    assert result["n"] == 5
    assert gui_thread not in result["threads"]  # the generator ran elsewhere
    assert seen == [(i, 5, "counting") for i in range(1, 6)]
    assert where == {gui_thread}
    w.wait(2000)
    assert w not in running_workers()
    with pytest.raises(RuntimeError):
        w.start()


def test_unknown_total_is_minus_one(qtbot):
    def gen(cancel=None):
        yield Progress(0, None, "loading")
        return 7

    w = start_worker(gen)  # signals are queued to this thread, so connecting after start is safe
    got = []
    w.progress.connect(lambda d, t, m: got.append((d, t, m)))
    with qtbot.waitSignal(w.finished, timeout=5000) as b:
        pass
    assert b.args == [7] and got == [(0, -1, "loading")]


def test_errors_become_one_line_messages(qtbot):
    def bad(cancel=None):
        yield Progress(0, 1)
        raise VideoError("video not found: x.mp4")

    def buggy(cancel=None):
        yield Progress(0, 1)
        raise ZeroDivisionError("division by zero\nsecond line")

    for func, expected in ((bad, "video not found: x.mp4"), (buggy, "ZeroDivisionError: division by zero")):
        w = GeneratorWorker(func)
        messages = []
        w.failed.connect(messages.append)
        with qtbot.waitSignals([w.failed, w.done], timeout=5000):
            w.start()
        assert messages == [expected]


def test_cancel_stops_the_generator(qtbot):
    w = GeneratorWorker(counting, 10_000, delay=0.005)
    finished = []
    w.finished.connect(finished.append)
    got = []
    w.progress.connect(lambda d, t, m: got.append(d))
    w.start()
    qtbot.waitUntil(lambda: len(got) >= 3, timeout=5000)
    with qtbot.waitSignals([w.cancelled, w.done], timeout=5000):
        w.cancel()
    assert w.is_cancelled() and not finished and got[-1] < 10_000
    assert w.wait(2000) and not w.is_running()


def test_cancel_without_cancel_callable_and_wait_for_all(qtbot):
    closed = []

    def no_cancel_arg():
        try:
            for i in range(10_000):
                time.sleep(0.005)
                yield Progress(i, None)
        finally:
            closed.append(True)  # the generator is closed, so its clean-up runs

    w = GeneratorWorker(no_cancel_arg, cancel_kw=None)
    got = []
    w.progress.connect(lambda d, t, m: got.append(d))
    assert w.start() is w
    assert w in running_workers()
    qtbot.waitUntil(lambda: len(got) >= 2, timeout=5000)
    assert wait_for_all(5000)
    assert closed == [True] and not w.is_running()

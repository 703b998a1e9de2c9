"""Run core task generators off the GUI thread (napari's ``thread_worker`` pattern).

A core task is a generator function that ``yield``\\ s :class:`core.extract.Progress` and
``return``\\ s its result, and accepts a ``cancel`` callable it polls (for example
:func:`core.extract.iter_load_or_extract`). :class:`GeneratorWorker` drives such a generator in a
:class:`~PySide6.QtCore.QThread` and re-emits what happens as signals **in the GUI thread**, so any
slot (a bound method, a lambda, pytest-qt's ``waitSignal``) runs there and may touch widgets::

    worker = GeneratorWorker(iter_load_or_extract, path, "yolo")
    worker.progress.connect(on_progress)    # (done, total, message); total -1 when unknown
    worker.finished.connect(on_result)      # the generator's return value
    worker.failed.connect(on_error)         # one-line message
    worker.start()
    ...
    worker.cancel()                         # cooperative: the generator raises Cancelled

Running workers are kept alive by a registry (:class:`ThreadRegistry`) until their thread ends, so dropping the
last reference to a worker never destroys a running QThread; the Train panel's runs and the Remote panel's
status poller share the same mechanism (:class:`ThreadOwner`).
"""

from __future__ import annotations

import logging
import threading
from typing import Any, Callable, Generator

from PySide6.QtCore import QEvent, QObject, QThread, Qt, Signal, Slot

from core.errors import PoseWatchError, describe_error
from core.extract import Cancelled, Progress

log = logging.getLogger(__name__)

class TargetThread(QThread):
    """A QThread that runs ``target()`` (the background half of :class:`GeneratorWorker`, the Train panel's
    :class:`~gui.train_panel.TrainRun` and the Remote panel's poller)."""

    def __init__(self, target: Callable[[], None]):
        super().__init__()
        self._target = target

    def run(self) -> None:  # noqa: D401 (Qt override)
        self._target()


class ThreadRegistry:
    """The objects of one kind (:class:`ThreadOwner` subclasses) that started their thread, each held from
    :meth:`ThreadOwner.start_thread` until its thread's ``finished`` signal reaches the GUI thread, so dropping the
    last other reference never destroys a running QThread."""

    def __init__(self):
        self._items: set = set()

    def add(self, owner) -> None:
        self._items.add(owner)

    def discard(self, owner) -> None:
        self._items.discard(owner)

    def members(self) -> list:
        """Every object held (threads running or ended but not yet reported), for stopping them all."""
        return list(self._items)

    def running(self) -> list:
        """The objects whose thread has not ended yet (the registry lets go of one only when its thread's
        ``finished`` signal reaches the GUI thread, which may be later)."""
        return [o for o in self._items if o.is_running()]


class ThreadOwner(QObject):
    """A QObject whose :meth:`_run` runs once on its own :class:`TargetThread` (GeneratorWorker, the Train panel's
    TrainRun, the Remote panel's HealthPoller).

    Subclasses set ``registry`` (one :class:`ThreadRegistry` per kind) and ``kind`` (named in the error of a
    second start) and call :meth:`start_thread` from their ``start``."""

    registry: ThreadRegistry
    kind = "task"

    def __init__(self):
        super().__init__()
        self._thread: TargetThread | None = None

    def start_thread(self) -> None:
        """Start :meth:`_run` on a new thread and hold ``self`` in :attr:`registry` until the thread ends.

        Raises:
            RuntimeError: already started.
        """
        if self._thread is not None:
            raise RuntimeError(f"{self.kind} already started")
        self._thread = TargetThread(self._run)
        self.registry.add(self)
        self._thread.finished.connect(self._on_thread_finished)
        self._thread.start()

    def _run(self) -> None:
        raise NotImplementedError

    def is_running(self) -> bool:
        """True while the background thread runs."""
        return self._thread is not None and self._thread.isRunning()

    def wait(self, timeout_ms: int = -1) -> bool:
        """Block until the thread ends (``-1``: no limit); True if it ended. Avoid on the GUI thread."""
        if self._thread is None:
            return True
        return self._thread.wait() if timeout_ms < 0 else self._thread.wait(int(timeout_ms))

    @Slot()
    def _on_thread_finished(self) -> None:
        self.registry.discard(self)


class DetectorSession(ThreadOwner):
    """A :class:`ThreadOwner` whose thread builds and runs a detector (``self.detector`` once built): the lifecycle
    the live view's single-camera :class:`gui.live_view.LiveSession` and its camera grid's
    :class:`gui.camera_grid.GridSession` share. Subclasses' :meth:`_run` checks ``_stop_requested`` before starting
    the detector and sets ``_ended`` in its ``finally``.

    Signals (GUI thread):
        finished(): the run's thread has ended.
    """

    finished = Signal()

    def __init__(self):
        super().__init__()
        self.detector = None
        self._stop_requested = threading.Event()
        self._ended = threading.Event()

    @Slot()
    def _on_thread_finished(self) -> None:
        super()._on_thread_finished()
        self.finished.emit()

    # -- GUI thread
    def start(self):
        """Build and start the detector in the background (returns ``self`` at once)."""
        self.start_thread()
        return self

    def request_stop(self) -> None:
        """Ask the detector to stop (returns at once)."""
        self._stop_requested.set()
        det = self.detector
        if det is not None:
            det.stop()

    def wait_ended(self, timeout_s: float | None = None) -> bool:
        """Block until the detector's threads ended; True if they did."""
        return self._ended.wait(timeout_s)

    @property
    def ended(self) -> bool:
        """The run is over (the detector's threads have ended)."""
        return self._ended.is_set()


class _OnClose(QObject):
    def __init__(self, callback: Callable[[], None], parent: QObject):
        super().__init__(parent)
        self._callback = callback

    def eventFilter(self, obj, event) -> bool:  # noqa: N802 (Qt override)
        if event.type() == QEvent.Type.Close:
            self._callback()
        return False


def call_on_close(window: QObject, callback: Callable[[], None]) -> None:
    """Call ``callback()`` whenever ``window`` receives a close event (before it closes; the event is not
    consumed): how the Live and Remote panels stop their threads with the main window."""
    window.installEventFilter(_OnClose(callback, window))


class GeneratorWorker(ThreadOwner):
    """Runs ``func(*args, cancel=…, **kwargs)`` — a core task generator — in a background thread.

    Signals (all delivered in the thread that created the worker, normally the GUI thread):
        progress(done: int, total: int, message: str): one per yielded :class:`Progress`
            (``total`` is -1 when unknown).
        yielded(object): the same yielded :class:`Progress` object itself (e.g. a
            :class:`core.batch.BatchProgress` with its videos), after ``progress``; the background task may go on
            changing it: read it in the slot, do not keep it.
        finished(result: object): the generator returned ``result``.
        failed(message: str): it raised; a :class:`~core.errors.PoseWatchError` gives its one-line
            message, anything else ``"TypeName: first line"`` (the traceback goes to the log).
        cancelled(): it stopped because :meth:`cancel` was called.
        done(): after any of finished, failed or cancelled.

    Args:
        func: generator function.
        *args, **kwargs: its arguments.
        cancel_kw: name of the keyword through which ``func`` receives the cancel callable
            (``None``: do not pass one; cancellation is then checked between yields only).
    """

    registry = ThreadRegistry()
    kind = "worker"

    progress = Signal(int, int, str)
    yielded = Signal(object)
    finished = Signal(object)
    failed = Signal(str)
    cancelled = Signal()
    done = Signal()

    # emitted from the worker thread; connected with QueuedConnection to the re-emitting slots below
    _q_progress = Signal(int, int, str)
    _q_yielded = Signal(object)
    _q_finished = Signal(object)
    _q_failed = Signal(str)
    _q_cancelled = Signal()

    def __init__(self, func: Callable[..., Generator[Any, None, Any]], *args, cancel_kw: str | None = "cancel",
                 **kwargs):
        super().__init__()
        self._func, self._args, self._kwargs, self._cancel_kw = func, args, kwargs, cancel_kw
        self._cancel = threading.Event()
        self._q_progress.connect(self._emit_progress, Qt.ConnectionType.QueuedConnection)
        self._q_yielded.connect(self.yielded, Qt.ConnectionType.QueuedConnection)
        self._q_finished.connect(self._emit_finished, Qt.ConnectionType.QueuedConnection)
        self._q_failed.connect(self._emit_failed, Qt.ConnectionType.QueuedConnection)
        self._q_cancelled.connect(self._emit_cancelled, Qt.ConnectionType.QueuedConnection)

    # -- control (GUI thread) -------------------------------------------------------------------
    def start(self) -> "GeneratorWorker":
        """Start the background thread (once); returns ``self``."""
        self.start_thread()
        return self

    def cancel(self) -> None:
        """Ask the task to stop; it ends with ``cancelled`` at its next cancellation check."""
        self._cancel.set()

    def is_cancelled(self) -> bool:
        """True once :meth:`cancel` was called (the callable handed to the generator)."""
        return self._cancel.is_set()

    # -- background thread ----------------------------------------------------------------------
    def _run(self) -> None:
        kwargs = dict(self._kwargs)
        if self._cancel_kw:
            kwargs[self._cancel_kw] = self.is_cancelled
        try:
            gen = self._func(*self._args, **kwargs)
            while True:
                if self._cancel.is_set():
                    gen.close()
                    raise Cancelled("cancelled")
                try:
                    item = next(gen)
                except StopIteration as stop:
                    result = stop.value
                    break
                if isinstance(item, Progress):
                    self._q_progress.emit(int(item.done), -1 if item.total is None else int(item.total),
                                          str(item.message))
                    self._q_yielded.emit(item)
        except Cancelled:
            self._q_cancelled.emit()
            return
        except BaseException as e:  # noqa: BLE001 - everything is reported, nothing escapes the thread
            if not isinstance(e, PoseWatchError):
                log.error("background task %s failed", getattr(self._func, "__name__", self._func), exc_info=True)
            self._q_failed.emit(describe_error(e))
            return
        if self._cancel.is_set():
            self._q_cancelled.emit()
        else:
            self._q_finished.emit(result)

    # -- re-emission in the GUI thread -----------------------------------------------------------
    @Slot(int, int, str)
    def _emit_progress(self, done: int, total: int, message: str) -> None:
        self.progress.emit(done, total, message)

    @Slot(object)
    def _emit_finished(self, result: object) -> None:
        self.finished.emit(result)
        self.done.emit()

    @Slot(str)
    def _emit_failed(self, message: str) -> None:
        self.failed.emit(message)
        self.done.emit()

    @Slot()
    def _emit_cancelled(self) -> None:
        self.cancelled.emit()
        self.done.emit()


def start_worker(func: Callable[..., Generator], *args, **kwargs) -> GeneratorWorker:
    """Create a :class:`GeneratorWorker` for ``func(*args, **kwargs)`` and start it."""
    return GeneratorWorker(func, *args, **kwargs).start()


def running_workers() -> list[GeneratorWorker]:
    """Workers whose thread has not ended yet (:meth:`ThreadRegistry.running`)."""
    return GeneratorWorker.registry.running()


def wait_for_all(timeout_ms: int = 30_000) -> bool:
    """Cancel every running worker and wait for their threads (at application exit); True if all ended."""
    ok = True
    for w in GeneratorWorker.registry.members():
        w.cancel()
    for w in GeneratorWorker.registry.members():
        ok = w.wait(timeout_ms) and ok
    return ok

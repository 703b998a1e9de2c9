"""Several cameras in the live view: a 1, 2×2 or 3×3 grid of tiles, each with its own picture and readout, run by
one :class:`core.live.multicam.MultiCameraDetector` (one shared pose model; each camera its own tracker,
classifier state, alerts and reconnection — a camera that drops reconnects alone, its tile shows it).

Threads as in :mod:`gui.live_view`: the detector's callbacks run in its threads; :class:`GridSession` carries them
into the GUI thread on queued connections, results coalesced **per camera** (a one-slot mailbox each), events and
status lines each delivered. The overlay is drawn in the GUI thread, on each camera's newest result only.
"""

from __future__ import annotations

import logging
import threading

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import QGridLayout, QLabel, QSizePolicy, QVBoxLayout, QWidget

from core.errors import PoseWatchError, describe_error
from core.overlay import OverlayOptions, draw_overlay

from .video_view import VideoView
from .workers import DetectorSession, ThreadRegistry

log = logging.getLogger(__name__)

#: Grid layouts offered: (combo text, tiles per side).
GRID_LAYOUTS = (("1 camera", 1), ("2×2 grid", 2), ("3×3 grid", 3))


def parse_sources(text: str) -> list[str | int]:
    """The cameras of the grid's source list: one per line (blank lines and ``#`` comments skipped); a line of
    digits is a webcam index (int), anything else a URL or file path (str).

    Raises:
        ValueError: no source at all.
    """
    out: list[str | int] = []
    for line in str(text).splitlines():
        s = line.strip()
        if s and not s.startswith("#"):
            out.append(int(s) if s.isdigit() else s)
    if not out:
        raise ValueError("no cameras: list one source per line (webcam index, rtsp:// or http:// URL, or a file)")
    return out


class GridSession(DetectorSession):
    """One :class:`core.live.multicam.MultiCameraDetector` run in a background thread (building it loads the
    classifier; a bad setting is reported as ``error: …``), its callbacks carried into the GUI thread.

    Shares :class:`gui.live_view.LiveSession`'s registry, so :func:`gui.live_view.wait_for_detectors` and
    :func:`gui.live_view.running_detectors` cover the grid too.

    Args:
        sources: the cameras (webcam indices, stream URLs, files); config: the :class:`core.live.LiveConfig` every
            camera uses; names: their names (None: from the sources); shared: one shared YOLO-pose model (the
            yolo backend) or each camera its own estimator.

    Signals (GUI thread):
        result_ready(str): camera ``name`` has a new result waiting (:meth:`take`).
        event(object): an alert (:class:`core.live.AlertEvent`; ``camera`` names its camera).
        status(str, str): ``(camera, message)``; camera ``""`` for the run as a whole.
        finished(): the run's thread has ended (every camera's threads too).
    """

    registry = ThreadRegistry()  # gui.live_view sets LiveSession's
    kind = "live detection"

    result_ready = Signal(str)
    event = Signal(object)
    status = Signal(str, str)

    _q_result = Signal(str)
    _q_event = Signal(object)
    _q_status = Signal(str, str)

    def __init__(self, sources: list, config, names: list[str] | None = None, shared: bool = True):
        super().__init__()
        self.sources, self.config, self.names, self.shared = list(sources), config, names, shared
        self._lock = threading.Lock()
        self._latest: dict[str, object] = {}
        self.received: dict[str, int] = {}
        q = Qt.ConnectionType.QueuedConnection
        self._q_result.connect(self.result_ready.emit, q)
        self._q_event.connect(self.event.emit, q)
        self._q_status.connect(self.status.emit, q)

    # -- detector threads
    def _on_result(self, camera: str, result) -> None:
        with self._lock:
            self.received[camera] = self.received.get(camera, 0) + 1
            notify = camera not in self._latest
            self._latest[camera] = result
        if notify:
            self._q_result.emit(camera)

    def take(self, camera: str):
        """Camera ``camera``'s newest result not drawn yet (None if drawn already)."""
        with self._lock:
            return self._latest.pop(camera, None)

    def _run(self) -> None:
        from core.live.multicam import MultiCameraDetector

        try:
            try:
                det = MultiCameraDetector(self.sources, self.config, self.names, shared=self.shared, on_result=self._on_result,
                                          on_event=self._q_event.emit, on_status=self._q_status.emit)
            except PoseWatchError as e:
                self._q_status.emit("", f"error: {e}")
                return
            except Exception as e:  # noqa: BLE001 - e.g. a checkpoint torch cannot read
                log.exception("creating the camera grid")
                self._q_status.emit("", f"error: cannot start the cameras: {describe_error(e)}")
                return
            self.detector = det
            if self._stop_requested.is_set():
                return
            try:
                det.start()
            except PoseWatchError as e:
                self._q_status.emit("", f"error: {e}")
                return
            if self._stop_requested.is_set():
                det.stop()
            while not det.join(0.2):
                pass
        except Exception as e:  # noqa: BLE001 - the thread must always report its end
            log.exception("camera grid thread failed")
            self._q_status.emit("", f"error: live detection failed: {describe_error(e, 200)}")
        finally:
            self._ended.set()



class CameraTile(QWidget):
    """One camera of the grid: its picture (with the overlay) and a one-line readout (``name · fps · people ·
    label or ALERT · state``) that turns red while the camera is lost or reconnecting."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.name = ""
        self.view = VideoView()
        self.view.setMinimumSize(80, 45)
        self.readout = QLabel("")
        self.readout.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.readout.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(1, 1, 1, 1)
        lay.setSpacing(0)
        lay.addWidget(self.view, 1)
        lay.addWidget(self.readout)
        self.frames_shown = 0
        self.fps = 0.0
        self.persons = 0
        self.label_state = ""
        self.state_text = ""
        self.alerts = 0
        self._lost = False

    def reset(self, name: str) -> None:
        """Show camera ``name`` (empty: an unused tile) with nothing received yet."""
        self.name = name
        self.frames_shown, self.fps, self.persons, self.alerts = 0, 0.0, 0, 0
        self.label_state = ""
        self.state_text = "starting" if name else ""
        self._lost = False
        self.view.set_image(None)
        self._refresh()

    def show_result(self, r, overlay: OverlayOptions) -> None:
        """Draw a :class:`core.live.LiveResult` and update the readout."""
        self.view.set_image(draw_overlay(r.image, r.poses, r.labels, overlay))
        self.frames_shown += 1
        self.fps = float(r.fps)
        self.persons = len(r.poses.persons)
        names = sorted({lab.name for lab in (r.labels or {}).values() if getattr(lab, "name", None)})
        self.label_state = ",".join(names)
        if self._lost:
            self._lost, self.state_text = False, "live"
        elif self.state_text in ("starting", ""):
            self.state_text = "live"
        self._refresh()

    def show_status(self, message: str) -> None:
        """A status line of this camera (``camera lost: … — reconnecting``, ``connected``, ``error: …``)."""
        m = " ".join(str(message).split())
        low = m.lower()
        self._lost = low.startswith(("error", "camera lost", "stream lost", "lost")) or "reconnect" in low
        self.state_text = m[:80]
        self._refresh()

    def show_alert(self, ev) -> None:
        """An alert of this camera."""
        self.alerts += 1
        self.state_text = f"ALERT {ev.label} ({ev.prob:.2f})"
        self._refresh()

    def _refresh(self) -> None:
        if not self.name:
            self.readout.setText("")
            return
        people = f"{self.persons} {'person' if self.persons == 1 else 'people'}"
        parts = [self.name, f"{self.fps:4.1f} fps", people]
        if self.label_state:
            parts.append(self.label_state)
        if self.state_text:
            parts.append(self.state_text)
        self.readout.setText(" · ".join(parts))
        self.readout.setToolTip(" · ".join(parts))
        bad = self._lost or self.state_text.startswith("ALERT")
        self.readout.setStyleSheet("color: #c62828;" if bad else "")


class CameraGrid(QWidget):
    """An n×n grid of :class:`CameraTile` (n = 1, 2 or 3)."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._grid = QGridLayout(self)
        self._grid.setContentsMargins(0, 0, 0, 0)
        self._grid.setSpacing(2)
        self.tiles: list[CameraTile] = []
        self.set_size(2)

    @property
    def size_n(self) -> int:
        """Tiles per side."""
        return self._n

    def set_size(self, n: int) -> None:
        """Show an ``n``×``n`` grid (1, 2 or 3).

        Raises:
            ValueError: another n.
        """
        if n not in (1, 2, 3):
            raise ValueError(f"grid size must be 1, 2 or 3, got {n}")
        self._n = n
        while len(self.tiles) < n * n:
            self.tiles.append(CameraTile(self))
        for k, t in enumerate(self.tiles):
            self._grid.removeWidget(t)
            if k < n * n:
                self._grid.addWidget(t, k // n, k % n)
                t.show()
            else:
                t.hide()
        for k in range(3):
            self._grid.setRowStretch(k, 1 if k < n else 0)
            self._grid.setColumnStretch(k, 1 if k < n else 0)

    def assign(self, names: list[str]) -> None:
        """Give the first tiles these camera names (the others are cleared)."""
        for k, t in enumerate(self.tiles[: self._n * self._n]):
            t.reset(names[k] if k < len(names) else "")

    def tile(self, name: str) -> CameraTile | None:
        """The tile showing camera ``name``."""
        for t in self.tiles:
            if t.name == name:
                return t
        return None

"""The Remote panel: connect the desktop app to a PoseWatch GPU worker (issue 6, desktop side).

The panel holds the worker's URL (``ws://host:port``, ``wss://…``, ``http(s)://host:port``) and its
bearer token (typed, password echo, or loaded from a token file), a Connect/Disconnect button, the
worker's status — connection state, device and GPU name, worker frames/s, load, round-trip latency,
the models it offers — and a per-task choice of local or remote execution for skeleton extraction
and for the live view.

Nothing here blocks the GUI thread on the network: a :class:`HealthPoller` asks the worker for
``/v1/info`` (:func:`core.remote.client.fetch_info`) from a background :class:`~PySide6.QtCore.QThread`
every few seconds and re-emits the answers as signals in the GUI thread. The round-trip latency shown
is the wall time of that request (milliseconds). When the worker cannot be reached, the poller
retries with back-off (1, 2, 4, 8, 15 s by default) until the worker answers again or the user
presses Disconnect; a refused token stops the retries (it will not get better by waiting) and the
panel shows the worker's reason.

The panel keeps the app state (:class:`core.state.AppState`) in step: ``state.remote`` is the worker while it is
connected (or reconnecting after a drop), ``state.execution`` holds the per-task choices. Estimators for a task come
from :meth:`core.state.AppState.estimator_factory`: when the state says *remote* for the task, a
:class:`core.remote.client.FallbackEstimator` (remote first; if the worker drops mid-stream it falls back to local
inference, says so through ``state.execution_reported`` — shown here — and reconnects with back-off; the result of
a frame is always that frame's), otherwise the plain local estimator. The main window's skeleton extraction and the
live view read the same state, so the choice made here is the one they use.

Settings (QSettings, keys under ``remote/``): ``url``, ``token_file``, ``cafile`` (a certificate to
trust for a TLS worker with a self-signed certificate), ``extract`` and ``live`` (``local`` |
``remote``), ``autoconnect`` (connected at the last exit: the panel reconnects at the next start when
the token comes from a file). The token itself is never written to the settings: only the path of the
token file it was loaded from, which is read again at the next start.

:func:`install` adds the panel as a "Remote worker" dock through the window's :class:`gui.host.Host`, with a
toggle action in its View menu.
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path
from PySide6.QtCore import QSettings, Qt, Signal, Slot
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QFrame,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from core import config
from core.errors import one_line
from core.state import TASKS, AppState, RemoteWorker

from .host import Host
from .workers import ThreadOwner, ThreadRegistry

log = logging.getLogger(__name__)

SETTINGS_PREFIX = "remote/"
DEFAULT_URL = config.get("remote.url")
TASK_TITLES = {"extract": "Extraction", "live": "Live view"}
MODES = ("local", "remote")
#: seconds between two status requests while connected (``remote.poll_interval_s``)
POLL_INTERVAL_S = config.get("remote.poll_interval_s")
#: seconds to wait between reconnection attempts, the last value repeats (``reconnect.worker_backoff_s``)
BACKOFF_S = config.backoff("worker")
#: timeout of one status request (seconds; ``remote.request_timeout_s``)
REQUEST_TIMEOUT_S = config.get("remote.request_timeout_s")
TOKEN_FILTER = config.file_filter("token")

# states of the panel
IDLE = "disconnected"
CONNECTING = "connecting"
CONNECTED = "connected"
REFUSED = "refused"
UNREACHABLE = "unreachable"
LOST = "lost"
INVALID = "invalid"
UNTRUSTED = "untrusted"
CERT_FILTER = config.file_filter("certificate")


# ==================================================================== helpers (no widgets)
def _truthy(value: object) -> bool:
    """A QSettings value as a bool (INI files give back ``"true"``/``"false"`` strings)."""
    return value is True or str(value).lower() in ("true", "1", "yes")


def classify_error(exc: BaseException) -> tuple[str, str]:
    """Whether a failed request was *refused* by the worker or the worker was *unreachable*.

    Args:
        exc: the exception raised by :func:`core.remote.client.fetch_info` (normally a
            ``RemoteError``, whose text is one complete line).

    Returns:
        ``(kind, message)`` with kind ``"refused"`` (the worker answered and rejected the request:
        missing or wrong token, HTTP 401/403), ``"untrusted"`` (TLS: the worker's certificate is not
        trusted — a self-signed one needs its file) or ``"unreachable"`` (no answer: connection
        refused, timeout, DNS, the worker died), and a one-line message.
    """
    message = one_line(exc) or type(exc).__name__
    kind = getattr(exc, "kind", None)
    if kind in (REFUSED, UNREACHABLE, UNTRUSTED):
        return kind, message
    status = getattr(exc, "status", None) or getattr(exc, "status_code", None)
    if status in (401, 403):
        return REFUSED, message
    low = message.lower()
    if "certificate_verify_failed" in low or "certificate verify failed" in low:
        return UNTRUSTED, message
    if low.startswith("cannot reach") or "connection refused" in low:
        # no HTTP answer ("connection refused" is the socket error of a port nobody listens on)
        return UNREACHABLE, message
    if "refused the" in low or any(k in low for k in ("token", "http 401", "http 403", "unauthori", "forbidden")):
        return REFUSED, message
    return UNREACHABLE, message


#: the load entries shown, in order, with their label and unit (the tooltip lists all of them)
LOAD_FIELDS = (("clients", "clients", ""), ("queued", "queued", ""), ("cpu_percent", "CPU", "%"),
               ("mem_percent", "mem", "%"), ("gpu_mem_mb", "GPU mem", " MB"), ("dropped", "dropped", ""),
               ("errors", "errors", ""))


def format_load(load: object) -> str:
    """A short text for the worker's ``load`` dict, e.g. ``"clients 1, queued 0, CPU 35%, mem 20%"``
    (``dropped``/``errors`` only when not 0; other keys of an unknown dict as ``key value``)."""
    if not isinstance(load, dict) or not load:
        return "–" if not load else one_line(load)
    parts = []
    known = {k for k, _, _ in LOAD_FIELDS}
    for key, label, unit in LOAD_FIELDS:
        v = load.get(key)
        if v is None or (key in ("dropped", "errors") and not v):
            continue
        parts.append(f"{label} {v:.0f}{unit}" if isinstance(v, float) else f"{label} {v}{unit}")
    if not any(k in load for k in known):
        parts = [f"{k} {v:.1f}" if isinstance(v, float) else f"{k} {v}" for k, v in load.items()
                 if not isinstance(v, (dict, list))]
    return ", ".join(parts) or "–"


def format_models(models: object) -> str:
    """A short text for the worker's ``models`` entry.

    The worker sends ``{"pose": {settings of its pose model: "model", "imgsz", …}, "backends": [names],
    "classifiers": {name: {"labels": […], …}}}``; other shapes (a list, a dict name → text) are
    shown as they are.
    """
    if isinstance(models, dict):
        parts = []
        for k, v in models.items():
            if isinstance(v, dict) and "model" in v:  # a model's settings
                size = f", {v['imgsz']} px" if v.get("imgsz") else ""
                parts.append(f"{k}: {v['model']}{size}")
            elif isinstance(v, dict):  # a registry: name → details
                parts.append(f"{k}: {', '.join(str(n) for n in v) or 'none'}")
            elif isinstance(v, (list, tuple)):
                parts.append(f"{k}: {', '.join(str(x) for x in v) or 'none'}")
            elif isinstance(v, str) and v and v != k:
                parts.append(f"{k}: {v}")
            else:
                parts.append(str(k))
        return "; ".join(parts) or "–"
    if isinstance(models, (list, tuple)):
        return ", ".join(str(m) for m in models) or "–"
    return "–" if models is None else one_line(models)


def check_url(url: str) -> str | None:
    """None when ``url`` looks like a worker address (``ws``, ``wss``, ``http`` or ``https`` with a
    host), else a one-line reason."""
    from urllib.parse import urlsplit

    try:
        u = urlsplit(url.strip())
        ok = u.scheme.lower() in ("ws", "wss", "http", "https") and bool(u.hostname)
        _ = u.port  # raises ValueError on a bad port
    except ValueError as e:
        return f"invalid worker URL '{url}': {e}"
    if not ok:
        return f"invalid worker URL '{url}': use ws://host:port, wss://host:port, http://… or https://…"
    return None


def read_token_file(path: str) -> str:
    """The token in ``path`` (surrounding whitespace stripped).

    Uses :func:`core.remote.client.read_token` so that the desktop reads token files exactly as
    the worker does.

    Raises:
        PoseWatchError (``RemoteError``): the file is missing, unreadable or empty.
    """
    from core.remote.client import read_token

    return read_token(path)


# ==================================================================== background status polling
class HealthPoller(ThreadOwner):
    """Asks a worker for its status (``/v1/info``) from a background thread, with back-off.

    While the worker answers, one request every ``interval`` seconds; while it does not, the next
    attempt waits ``backoff[n]`` seconds after the n-th failure in a row (the last value repeats).
    A refused request (wrong or missing token) or an untrusted certificate ends the polling.

    Args:
        url: worker URL (``ws(s)://host:port`` or ``http(s)://host:port``).
        token: bearer token.
        interval: seconds between requests while connected.
        backoff: seconds to wait after the 1st, 2nd, … failure in a row.
        timeout: timeout of one request in seconds.
        cafile: certificate (PEM) to trust for ``wss``/``https`` (a self-signed worker certificate).

    Signals (delivered in the thread that created the poller, normally the GUI thread):
        answered(dict, float): the worker's info dict and the request's round-trip time in ms.
        failed(str, str, float, int): kind (``"refused"`` | ``"untrusted"`` | ``"unreachable"``), one-line reason,
            seconds until the next attempt (0 when polling ended), failures in a row.
        stopped(): the thread ended.
    """

    registry = ThreadRegistry()
    kind = "poller"

    answered = Signal(object, float)
    failed = Signal(str, str, float, int)
    stopped = Signal()

    _q_answered = Signal(object, float)
    _q_failed = Signal(str, str, float, int)

    def __init__(self, url: str, token: str, interval: float = POLL_INTERVAL_S,
                 backoff: tuple[float, ...] = BACKOFF_S, timeout: float = REQUEST_TIMEOUT_S,
                 cafile: str | None = None):
        super().__init__()
        self.url, self._token, self.cafile = url, token, cafile
        self.interval, self.backoff, self.timeout = float(interval), tuple(backoff) or BACKOFF_S, float(timeout)
        self._stop = threading.Event()
        self._q_answered.connect(self._emit_answered, Qt.ConnectionType.QueuedConnection)
        self._q_failed.connect(self._emit_failed, Qt.ConnectionType.QueuedConnection)

    def start(self) -> "HealthPoller":
        """Start polling (once); returns ``self``."""
        self.start_thread()
        return self

    def stop(self) -> None:
        """Ask the thread to end (it does after the request in flight, at most ``timeout`` s); no
        more signals are emitted after this call."""
        self._stop.set()

    # -- background thread ----------------------------------------------------------------------
    def _run(self) -> None:
        try:
            from core.remote.client import fetch_info
        except Exception as e:  # noqa: BLE001 - reported as one line, the panel stays usable
            self._q_failed.emit(REFUSED, f"remote client unavailable: {one_line(e)}", 0.0, 1)
            return
        failures = 0
        while not self._stop.is_set():
            t0 = time.perf_counter()
            try:
                info = fetch_info(self.url, self._token, timeout=self.timeout, cafile=self.cafile)
            except Exception as e:  # noqa: BLE001 - RemoteError or anything unexpected from the network
                if self._stop.is_set():
                    return
                kind, message = classify_error(e)
                if kind in (REFUSED, UNTRUSTED):
                    self._q_failed.emit(kind, message, 0.0, failures + 1)
                    return
                delay = self.backoff[min(failures, len(self.backoff) - 1)]
                failures += 1
                self._q_failed.emit(kind, message, float(delay), failures)
                self._stop.wait(delay)
                continue
            rtt_ms = (time.perf_counter() - t0) * 1000.0
            failures = 0
            if self._stop.is_set():
                return
            self._q_answered.emit(info if isinstance(info, dict) else {}, rtt_ms)
            self._stop.wait(self.interval)

    # -- re-emission in the GUI thread -----------------------------------------------------------
    @Slot(object, float)
    def _emit_answered(self, info: dict, rtt_ms: float) -> None:
        if not self._stop.is_set():
            self.answered.emit(info, rtt_ms)

    @Slot(str, str, float, int)
    def _emit_failed(self, kind: str, message: str, retry_in: float, failures: int) -> None:
        if not self._stop.is_set():
            self.failed.emit(kind, message, retry_in, failures)

    @Slot()
    def _on_thread_finished(self) -> None:
        super()._on_thread_finished()
        self.stopped.emit()


def running_pollers() -> list[HealthPoller]:
    """Pollers whose thread has not ended yet (:meth:`gui.workers.ThreadRegistry.running`)."""
    return HealthPoller.registry.running()


def wait_for_pollers(timeout_ms: int = 15_000) -> bool:
    """Stop every poller and wait for their threads (application exit, tests); True if all ended."""
    for p in HealthPoller.registry.members():
        p.stop()
    ok = True
    for p in HealthPoller.registry.members():
        ok = p.wait(timeout_ms) and ok
    return ok


# ==================================================================== the panel
class RemotePanel(QWidget):
    """URL and token of a remote worker, Connect/Disconnect, its status, local/remote per task.

    Args:
        settings: where the URL, the token file path and the per-task choices are kept (default:
            the application's QSettings). The token is never stored, only its file's path.
        interval, backoff, timeout: status polling (see :class:`HealthPoller`).
        autoconnect: connect at once when the panel was connected at the last exit and the token
            comes from a file (a typed token is not kept, so it cannot reconnect by itself).
        app_state: the app state it keeps in step (``remote``, ``execution``); default: a state of its own.

    Signals:
        changed(): the remote settings or a task's execution choice changed (connect, disconnect,
            refusal, a combo); read :meth:`remote_settings` / :meth:`use_remote` again.
        state_changed(str): the connection state: ``disconnected``, ``connecting``, ``connected``,
            ``refused`` (token missing or rejected), ``untrusted`` (TLS certificate not trusted),
            ``unreachable`` (never answered), ``lost`` (answered before, not now) or ``invalid`` (no
            usable URL or certificate file).
        message(str): a one-line notice for the status bar (refusals, a lost worker, fallback to
            local inference during a task and the return to the worker).
    """

    changed = Signal()
    state_changed = Signal(str)
    message = Signal(str)

    # from estimator threads (FallbackEstimator's on_status), re-emitted in the GUI thread
    _q_execution = Signal(str, str, object)

    def __init__(self, settings: QSettings | None = None, parent: QWidget | None = None,
                 interval: float = POLL_INTERVAL_S, backoff: tuple[float, ...] = BACKOFF_S,
                 timeout: float = REQUEST_TIMEOUT_S, autoconnect: bool = True, app_state: AppState | None = None):
        super().__init__(parent)
        self.app_state = app_state if app_state is not None else AppState()
        self.settings = settings if settings is not None else QSettings()
        self.interval, self.backoff, self.timeout = interval, tuple(backoff), timeout
        self._poller: HealthPoller | None = None
        self._state = IDLE
        self._reason = ""
        self._info: dict = {}
        self._rtt_ms: float | None = None
        self._token_file: str | None = None
        self._active: tuple[str, str, str | None] | None = None  # (url, token, cafile) while connect is on
        self._was_connected = False
        self._execution: dict[str, tuple[bool | None, str]] = {}
        self._retry_in = 0.0
        self._failures = 0
        self._build_ui()
        self._load_settings()
        self.url_edit.textChanged.connect(lambda text: self.settings.setValue(self._key("url"), text.strip()))
        self._q_execution.connect(self._on_execution, Qt.ConnectionType.QueuedConnection)
        self.app_state.events.execution.connect(self._sync_task_combos)
        self.app_state.execution_reported.connect(self.report_execution)  # thread-safe: a queued Qt signal
        self._update()
        if autoconnect and self._token_file and _truthy(self.settings.value(self._key("autoconnect"), False)):
            self.connect_worker()  # connected when the app was last closed, token from a file: reconnect

    # ---------------------------------------------------------------- construction
    def _build_ui(self) -> None:
        self.url_edit = QLineEdit()
        self.url_edit.setPlaceholderText("ws://gpu-host:8765  or  https://gpu-host:8765")
        self.url_edit.setToolTip("Address of the PoseWatch worker (main.py worker); wss/https when it runs with TLS")
        self.token_edit = QLineEdit()
        self.token_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.token_edit.setPlaceholderText("bearer token")
        self.token_edit.setToolTip("The worker's token. Typed tokens are not saved; a token file's path is.")
        self.token_edit.textEdited.connect(self._on_token_typed)
        self.token_file_button = QPushButton("Load token file…")
        self.token_file_button.clicked.connect(self._load_token_dialog)
        self.connect_button = QPushButton("Connect")
        self.connect_button.clicked.connect(self._on_connect_clicked)
        self.url_edit.returnPressed.connect(self._on_connect_clicked)
        self.token_edit.returnPressed.connect(self._on_connect_clicked)

        token_row = QHBoxLayout()
        token_row.addWidget(self.token_edit, 1)
        token_row.addWidget(self.token_file_button)
        conn = QFormLayout()
        conn.addRow("Worker URL", self.url_edit)
        conn.addRow("Token", token_row)
        self.token_file_label = QLabel("")
        self.token_file_label.setWordWrap(True)
        conn.addRow("", self.token_file_label)
        self.cert_edit = QLineEdit()
        self.cert_edit.setPlaceholderText("system CAs (for wss/https)")
        self.cert_edit.setToolTip("Certificate file (PEM) to trust for a wss:// or https:// worker with a self-signed "
                                  "certificate; empty: the system's certificate authorities")
        self.cert_edit.textChanged.connect(lambda t: self.settings.setValue(self._key("cafile"), t.strip()))
        self.cert_button = QPushButton("Trust certificate…")
        self.cert_button.clicked.connect(self._load_cert_dialog)
        cert_row = QHBoxLayout()
        cert_row.addWidget(self.cert_edit, 1)
        cert_row.addWidget(self.cert_button)
        conn.addRow("TLS certificate", cert_row)
        conn.addRow("", self.connect_button)

        self.state_label = QLabel()
        self.state_label.setWordWrap(True)
        self.state_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.device_label = QLabel("–")
        self.fps_label = QLabel("–")
        self.load_label = QLabel("–")
        self.load_label.setWordWrap(True)
        self.latency_label = QLabel("–")
        self.models_label = QLabel("–")
        self.models_label.setWordWrap(True)
        status_box = QGroupBox("Worker status")
        sf = QFormLayout(status_box)
        sf.addRow("State", self.state_label)
        sf.addRow("Device", self.device_label)
        sf.addRow("Worker FPS", self.fps_label)
        sf.addRow("Load", self.load_label)
        sf.addRow("Latency", self.latency_label)
        sf.addRow("Models", self.models_label)

        self.task_combos: dict[str, QComboBox] = {}
        exec_box = QGroupBox("Where to run")
        ef = QFormLayout(exec_box)
        for task in TASKS:
            combo = QComboBox()
            combo.addItem("Local", "local")
            combo.addItem("Remote", "remote")
            combo.setToolTip(f"{TASK_TITLES[task]}: run pose estimation on this computer or on the worker")
            combo.currentIndexChanged.connect(lambda _i, t=task: self._on_task_choice(t))
            self.task_combos[task] = combo
            ef.addRow(TASK_TITLES[task], combo)
        self.execution_label = QLabel("")
        self.execution_label.setWordWrap(True)
        ef.addRow("", self.execution_label)

        # the panel scrolls inside its dock, so it never makes the window taller than the screen
        content = QWidget()
        lay = QVBoxLayout(content)
        lay.addLayout(conn)
        lay.addWidget(status_box)
        lay.addWidget(exec_box)
        lay.addStretch(1)
        self.scroll = QScrollArea()
        self.scroll.setWidget(content)
        self.scroll.setWidgetResizable(True)
        self.scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(self.scroll)

    def _key(self, name: str) -> str:
        return SETTINGS_PREFIX + name

    def _load_settings(self) -> None:
        s = self.settings
        self.url_edit.setText(str(s.value(self._key("url"), DEFAULT_URL) or DEFAULT_URL))
        self.cert_edit.setText(str(s.value(self._key("cafile"), "") or ""))
        for task in TASKS:
            mode = str(s.value(self._key(task), "local"))
            self.app_state.set_execution(task, mode if mode in MODES else "local")
        self._sync_task_combos()
        path = s.value(self._key("token_file"), "")
        if path:
            try:
                self._set_token_from_file(str(path), persist=False)
            except Exception as e:  # noqa: BLE001 - a vanished token file must not break the window
                self._token_file = None
                self.token_file_label.setText(f"token file not readable: {one_line(e)}")

    # ---------------------------------------------------------------- public API
    @property
    def state(self) -> str:
        """The connection state (see :attr:`state_changed`)."""
        return self._state

    @property
    def reason(self) -> str:
        """The last failure's one-line reason ("" when connected or idle)."""
        return self._reason

    @property
    def info(self) -> dict:
        """The worker's last ``/v1/info`` answer (empty before the first)."""
        return dict(self._info)

    @property
    def rtt_ms(self) -> float | None:
        """Round-trip time of the last status request in milliseconds (None before the first)."""
        return self._rtt_ms

    @property
    def failures(self) -> int:
        """Status requests that failed in a row (0 while the worker answers)."""
        return self._failures

    @property
    def token_file(self) -> str | None:
        """The token file the token was loaded from (None when typed)."""
        return self._token_file

    def state_text(self) -> str:
        """What the State label shows."""
        return self.state_label.text()

    def remote_settings(self) -> dict | None:
        """``{"url": …, "token": …, "cafile": path or None}`` of the worker the panel is connected to
        (also while it is reconnecting after a drop), or None when disconnected, refused or never
        reached. ``cafile`` is the certificate to trust for a TLS worker (None: the system's CAs)."""
        if self._active is None or self._state not in (CONNECTED, LOST):
            return None
        url, token, cafile = self._active
        return {"url": url, "token": token, "cafile": cafile}

    def use_remote(self, task: str) -> bool:
        """True when ``task`` (``"extract"`` or ``"live"``) should run on the worker: its choice is
        Remote and the panel is connected (or reconnecting after a drop).

        Raises:
            ValueError: unknown task.
        """
        return self.app_state.use_remote(task)

    def task_mode(self, task: str) -> str:
        """The choice for ``task`` (``state.execution``): ``"local"`` or ``"remote"`` (regardless of connection)."""
        return str(self.app_state.execution[task])

    def set_task_mode(self, task: str, mode: str) -> None:
        """Choose ``"local"`` or ``"remote"`` execution for ``task`` (in the state; saved in the settings)."""
        self.app_state.set_execution(task, mode)

    def set_cafile(self, path: str | None) -> None:
        """Trust the certificate in ``path`` (PEM) for wss/https workers (None or "": the system's CAs)."""
        self.cert_edit.setText(str(path or ""))

    def set_url(self, url: str) -> None:
        """Set the worker URL (saved in the settings)."""
        self.url_edit.setText(url)

    def set_token(self, token: str) -> None:
        """Use a typed token (it is not saved; a previously saved token file is forgotten)."""
        self.token_edit.setText(token)
        self._on_token_typed(token)

    def load_token_file(self, path: str) -> bool:
        """Read the token from ``path`` and remember the path (not the token) in the settings.

        Returns:
            False (and a message in the panel) when the file is missing, unreadable or empty.
        """
        try:
            self._set_token_from_file(path, persist=True)
        except Exception as e:  # noqa: BLE001 - one line in the panel, never a traceback
            msg = one_line(e)
            self.token_file_label.setText(f"token file: {msg}")
            self.message.emit(f"remote: {msg}")
            return False
        return True

    def connect_worker(self) -> bool:
        """Start connecting to the URL with the token (returns at once; the state follows).

        Returns:
            False when the URL is empty or ill-formed, the token is empty or the certificate file
            is missing (the State says which).
        """
        url = self.url_edit.text().strip()
        token = self.token_edit.text().strip()
        self._stop_poller()
        bad = check_url(url) if url else "no worker URL given"
        if bad:
            self._set_state(INVALID, bad)
            self._active = None
            self.message.emit(f"remote: {bad}")
            return False
        if not token:
            self._set_state(REFUSED, "no token given (type it or load the token file)")
            self._active = None
            self.message.emit("remote: no token given (type it or load the token file)")
            return False
        self.settings.setValue(self._key("url"), url)
        cafile = self.cert_edit.text().strip() or None
        if cafile is not None and not Path(cafile).expanduser().is_file():
            self._set_state(INVALID, f"certificate file not found: {cafile}")
            self._active = None
            self.message.emit(f"remote: certificate file not found: {cafile}")
            return False
        self._active = (url, token, cafile)
        self._was_connected = False
        self._info, self._rtt_ms = {}, None
        poller = HealthPoller(url, token, self.interval, self.backoff, self.timeout, cafile=cafile)
        poller.answered.connect(self._on_answered)
        poller.failed.connect(self._on_failed)
        self._poller = poller
        self._set_state(CONNECTING, "")
        poller.start()
        return True

    def disconnect_worker(self) -> None:
        """Stop polling and forget the connection (tasks run locally); the next start does not
        reconnect."""
        self.settings.setValue(self._key("autoconnect"), False)
        self._stop_poller()
        self._active = None
        self._was_connected = False
        self._info, self._rtt_ms = {}, None
        self._set_state(IDLE, "")

    def shutdown(self, timeout_ms: int = 15_000) -> None:
        """Stop polling and wait for the background thread (window close)."""
        poller = self._poller
        self._stop_poller()
        if poller is not None:
            poller.wait(timeout_ms)

    def report_execution(self, task: str, text: str, remote: bool | None = None) -> None:
        """Show how ``task`` runs right now (thread-safe: estimator threads call it).

        Args:
            task: ``"extract"`` or ``"live"``.
            text: one-line status of the task's estimator (e.g. "remote worker lost: … — using local
                inference, reconnecting in 2 s").
            remote: True while its frames go to the worker, False while they run locally, None
                when unknown.
        """
        self._q_execution.emit(task, one_line(text, 400), remote)

    def execution(self, task: str) -> tuple[bool | None, str]:
        """The last :meth:`report_execution` of ``task``: ``(remote, text)`` (``(None, "")`` if none)."""
        return self._execution.get(task, (None, ""))

    # ---------------------------------------------------------------- internals
    def _stop_poller(self) -> None:
        if self._poller is not None:
            self._poller.answered.disconnect(self._on_answered)
            self._poller.failed.disconnect(self._on_failed)
            self._poller.stop()
            self._poller = None

    def _set_token_from_file(self, path: str, persist: bool) -> None:
        token = read_token_file(path)
        self.token_edit.setText(token)
        self._token_file = str(path)
        self.token_file_label.setText(f"from {Path(path).name}")
        self.token_file_label.setToolTip(str(path))
        if persist:
            self.settings.setValue(self._key("token_file"), str(path))

    @Slot(str)
    def _on_token_typed(self, _text: str) -> None:
        # A typed token is never saved; forget the file it might have come from.
        if self._token_file is not None or self.settings.contains(self._key("token_file")):
            self._token_file = None
            self.settings.remove(self._key("token_file"))
            self.token_file_label.setText("typed (not saved)")

    @Slot()
    def _load_token_dialog(self) -> None:
        start = self._token_file or str(Path.home())
        path, _ = QFileDialog.getOpenFileName(self, "Load worker token", start, TOKEN_FILTER)
        if path:
            self.load_token_file(path)

    @Slot()
    def _load_cert_dialog(self) -> None:
        start = self.cert_edit.text().strip() or str(Path.home())
        path, _ = QFileDialog.getOpenFileName(self, "Trust worker certificate", start, CERT_FILTER)
        if path:
            self.set_cafile(path)

    @Slot()
    def _on_connect_clicked(self) -> None:
        if self._poller is not None and self.sender() is self.connect_button:
            self.disconnect_worker()
        else:
            self.connect_worker()

    @Slot(object, float)
    def _on_answered(self, info: dict, rtt_ms: float) -> None:
        was = self._was_connected
        self._info, self._rtt_ms = dict(info), float(rtt_ms)
        self._was_connected = True
        if not was:
            self.settings.setValue(self._key("autoconnect"), True)
        if self._state != CONNECTED:
            gpu = info.get("gpu") or info.get("device") or "?"
            self.message.emit(f"remote worker {'back' if was or self._state == LOST else 'connected'}: {gpu}")
        self._set_state(CONNECTED, "")

    @Slot(str, str, float, int)
    def _on_failed(self, kind: str, message: str, retry_in: float, failures: int) -> None:
        if kind in (REFUSED, UNTRUSTED):
            self._poller = None  # its thread ends by itself
            self._set_state(kind, message)
            self.message.emit(f"remote worker refused the connection: {message}" if kind == REFUSED else
                              f"remote worker's certificate is not trusted: {message}")
            return
        state = LOST if self._was_connected else UNREACHABLE
        if state == LOST and self._state != LOST:
            self.message.emit(f"remote worker lost: {message}; tasks on it fall back to local inference, "
                              "reconnecting")
        self._retry_in = retry_in
        self._failures = failures
        self._set_state(state, message)

    @Slot(str, str, object)
    def _on_execution(self, task: str, text: str, remote: object) -> None:
        self._execution[task] = (None if remote is None else bool(remote), text)
        self.message.emit(f"{TASK_TITLES.get(task, task)}: {text}")
        self._update()

    def _on_task_choice(self, task: str) -> None:
        self.app_state.set_execution(task, str(self.task_combos[task].currentData()))

    def _sync_task_combos(self, *event) -> None:
        """The combos and the settings follow ``state.execution``; a change (``event``) emits :attr:`changed`."""
        for task in TASKS:
            mode = self.app_state.execution.get(task, "local")
            combo = self.task_combos[task]
            if combo.currentData() != mode:
                combo.blockSignals(True)
                combo.setCurrentIndex(combo.findData(mode))
                combo.blockSignals(False)
            if str(self.settings.value(self._key(task), "local")) != mode:
                self.settings.setValue(self._key(task), mode)
        self._update()
        if event:
            self.changed.emit()

    def _set_state(self, state: str, reason: str) -> None:
        old_state, old_remote = self._state, self.remote_settings()
        self._state, self._reason = state, reason
        rs = self.remote_settings()
        self.app_state.remote = (RemoteWorker(rs["url"], rs["token"], rs["cafile"], tuple(self.backoff))
                                 if rs is not None else None)
        self._update()
        if state != old_state:
            self.state_changed.emit(state)
        if old_remote != rs:
            self.changed.emit()

    def _update(self) -> None:
        st = self._state
        if st == IDLE:
            text = "not connected"
        elif st == CONNECTING:
            text = "connecting…"
        elif st == CONNECTED:
            text = "connected"
        elif st == REFUSED:
            text = f"refused: {self._reason}"
        elif st == INVALID:
            text = self._reason
        elif st == UNTRUSTED:
            text = (f"untrusted certificate: {self._reason} — for a self-signed worker certificate, "
                    "choose its file under TLS certificate")
        else:
            head = "unreachable" if st == UNREACHABLE else "connection lost (local inference meanwhile)"
            text = f"{head}: {self._reason} — retry {self._failures} in {self._retry_in:g} s"
        self.state_label.setText(text)
        colour = {CONNECTED: "#2a7d2a", REFUSED: "#b00020", INVALID: "#b00020", UNTRUSTED: "#b00020", UNREACHABLE: "#b00020", LOST: "#b05a00"}.get(st, "")
        self.state_label.setStyleSheet(f"color: {colour};" if colour else "")

        info = self._info if st == CONNECTED or (st == LOST and self._info) else {}
        if info:
            device = str(info.get("device") or "?")
            extra = ", ".join(str(x) for x in (info.get("gpu"), info.get("runtime")) if x)
            self.device_label.setText(f"{device} ({extra})" if extra else device)
            fps = info.get("fps")
            self.fps_label.setText(f"{float(fps):.1f} frames/s" if isinstance(fps, (int, float)) else "–")
            self.load_label.setText(format_load(info.get("load")))
            load = info.get("load")
            self.load_label.setToolTip("\n".join(f"{k}: {v}" for k, v in load.items())
                                       if isinstance(load, dict) else "")
            self.models_label.setText(format_models(info.get("models")))
        else:
            for lab in (self.device_label, self.fps_label, self.load_label, self.models_label):
                lab.setText("–")
        self.latency_label.setText(f"{self._rtt_ms:.1f} ms" if st == CONNECTED and self._rtt_ms is not None
                                   else "–")

        on = self._poller is not None
        self.connect_button.setText("Disconnect" if on else "Connect")
        self.url_edit.setEnabled(not on)
        self.token_edit.setEnabled(not on)
        self.token_file_button.setEnabled(not on)
        self.cert_edit.setEnabled(not on)
        self.cert_button.setEnabled(not on)
        usable = self.remote_settings() is not None
        for combo in self.task_combos.values():
            combo.setEnabled(usable)
        lines = []
        for task in TASKS:
            title = TASK_TITLES[task]
            if not self.use_remote(task):
                lines.append(f"{title}: local")
                continue
            remote, text = self.execution(task)
            where = {True: "on the worker", False: "local fallback", None: "remote"}[remote]
            lines.append(f"{title}: {where}" + (f" — {text}" if text else ""))
        self.execution_label.setText("\n".join(lines))


# ==================================================================== wiring into the main window
def install(state: AppState, host: Host) -> RemotePanel:
    """Add the Remote panel through ``host`` as a hidden "Remote worker" dock, with a checkable "Remote worker"
    action (``dock_remote``) in the View menu that shows and hides it; notices go to the host's status bar. Calling
    it again returns the same panel.

    Args:
        state: the app state the panel keeps in step (``remote``, ``execution``).
        host: the window's host.

    Returns:
        The panel.
    """
    if "dock_remote" in host.actions:
        return host.dock("remote").widget()
    panel = RemotePanel(host.settings, parent=host.parent_widget, app_state=state)
    host.add_dock("remote", "Remote worker", panel, Qt.DockWidgetArea.RightDockWidgetArea, menu="View",
                  section="panels")
    panel.message.connect(lambda text: host.show_message(text, 10_000))
    host.on_close(panel.shutdown)
    return panel

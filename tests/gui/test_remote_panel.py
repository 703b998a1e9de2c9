"""The Remote panel against real worker processes (``main.py worker``) on 127.0.0.1.

Every test that talks to a worker starts the real one as a child process, with a token file; the
kill-and-recover test kills it and starts a new one on the same port.
"""

from __future__ import annotations

import re
import secrets
import socket
import time
from pathlib import Path

import pytest

from gui.remote_panel import (
    CONNECTED,
    INVALID,
    LOST,
    REFUSED,
    UNREACHABLE,
    UNTRUSTED,
    RemotePanel,
    install,
    wait_for_pollers,
)
from tests.conftest import WorkerProcess, free_port, self_signed_cert

# Under pytest-xdist (--dist loadgroup) this module's tests run in one worker, so its module fixtures
# (a worker process, a trained model, an export) are made once.
pytestmark = pytest.mark.xdist_group("test_remote_panel")


ROOT = Path(__file__).resolve().parents[2]
FAST_BACKOFF = (0.3, 0.6, 1.2)


@pytest.fixture(scope="module")
def token_file(tmp_path_factory) -> Path:
    p = tmp_path_factory.mktemp("remote") / "worker.token"
    p.write_text(secrets.token_urlsafe(24) + "\n")
    return p


@pytest.fixture(scope="module")
def worker(token_file, tmp_path_factory):
    """One real worker for the module's connect/refuse/estimator tests."""
    w = WorkerProcess(free_port(), token_file, tmp_path_factory.mktemp("remote-log") / "worker.log").start()
    yield w
    w.stop()


@pytest.fixture
def panel(qtbot, settings):
    p = RemotePanel(settings, interval=0.5, backoff=FAST_BACKOFF, timeout=3.0)
    qtbot.addWidget(p)
    p.show()
    yield p
    p.shutdown()
    assert wait_for_pollers(15_000)


def connect(panel: RemotePanel, qtbot, url: str, token_file: Path, timeout_ms: int = 60_000) -> None:
    panel.set_url(url)
    assert panel.load_token_file(str(token_file))
    assert panel.connect_worker()
    qtbot.waitUntil(lambda: panel.state == CONNECTED, timeout=timeout_ms)


# ==================================================================== no worker needed
def test_install_adds_a_dock_with_a_view_menu_toggle(window):
    panel = install(window.state, window.host)  # the window installed it: the same panel
    assert window.remote_panel is panel
    action = window.actions["dock_remote"]
    assert action in window.actions.menu("View").actions() and action.text().replace("&", "") == "Remote worker"
    assert not window.remote_dock.isVisible()
    action.trigger()
    assert window.remote_dock.isVisible() and window.remote_dock.widget() is panel
    action.trigger()
    assert not window.remote_dock.isVisible()
    assert panel.remote_settings() is None and not panel.use_remote("extract") and not panel.use_remote("live")
    with pytest.raises(ValueError):
        panel.use_remote("train")
    panel.set_url("ftp://nowhere")
    assert not panel.connect_worker()
    assert panel.state == INVALID and "invalid worker URL" in window.statusBar().currentMessage()


def test_settings_keep_url_choices_and_token_file_never_the_token(qtbot, settings, tmp_path):
    token = "tok-" + secrets.token_hex(8)
    tf = tmp_path / "w.token"
    tf.write_text(f"  {token}\n")
    p = RemotePanel(settings)
    qtbot.addWidget(p)
    p.set_url("https://gpu-host:9999")
    assert p.load_token_file(str(tf))
    assert p.token_edit.text() == token
    p.set_task_mode("extract", "remote")
    settings.sync()
    ini = Path(settings.fileName()).read_text()
    assert token not in ini and str(tf) in ini

    p2 = RemotePanel(settings)  # a restart
    qtbot.addWidget(p2)
    assert p2.url_edit.text() == "https://gpu-host:9999"
    assert p2.token_edit.text() == token and p2.token_file == str(tf)
    assert p2.task_mode("extract") == "remote" and p2.task_mode("live") == "local"
    assert not p2.use_remote("extract")  # not connected: local

    p2.set_token("typed-" + secrets.token_hex(4))  # typed: forgotten at the next start
    settings.sync()
    assert "token_file" not in Path(settings.fileName()).read_text()
    p3 = RemotePanel(settings)
    qtbot.addWidget(p3)
    assert p3.token_edit.text() == "" and p3.token_file is None


def test_bad_token_file_and_missing_token_are_one_line_messages(panel, tmp_path):
    empty = tmp_path / "empty.token"
    empty.write_text("\n")
    assert not panel.load_token_file(str(empty))
    assert not panel.load_token_file(str(tmp_path / "absent.token"))
    assert "\n" not in panel.token_file_label.text() and panel.token_file_label.text()
    panel.set_url("ws://127.0.0.1:9")
    panel.set_token("")
    assert not panel.connect_worker()
    assert panel.state == REFUSED and "token" in panel.state_text()
    panel.set_token("t")
    for bad in ("ftp://host:1", "127.0.0.1:8765", "ws://host:99999", ""):
        panel.set_url(bad)
        assert not panel.connect_worker()
        assert panel.state == INVALID and "URL" in panel.state_text() and "\n" not in panel.state_text()
    assert panel.remote_settings() is None


def test_unreachable_worker_keeps_the_window_responsive(panel, qtbot):
    from PySide6.QtCore import QTimer

    gaps, last = [], [time.monotonic()]

    def tick():
        now = time.monotonic()
        gaps.append(now - last[0])
        last[0] = now

    timer = QTimer()
    timer.timeout.connect(tick)
    timer.start(20)
    panel.set_url("ws://127.0.0.1:9")  # discard port: nothing listens
    panel.set_token("any-token")
    assert panel.connect_worker()
    qtbot.waitUntil(lambda: panel.state == UNREACHABLE and panel.failures >= 3, timeout=30_000)
    timer.stop()
    assert panel.state_text().startswith("unreachable")
    assert panel.remote_settings() is None
    assert not panel.task_combos["extract"].isEnabled()
    assert len(gaps) > 10 and max(gaps) < 1.0, f"event loop blocked for {max(gaps):.2f} s"
    panel.disconnect_worker()
    assert panel.state_text() == "not connected"

    # a worker that accepts the connection and never answers: each request runs into its timeout
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        gaps.clear()
        last[0] = time.monotonic()
        timer.start(20)
        panel.set_url(f"http://127.0.0.1:{silent.getsockname()[1]}")
        assert panel.connect_worker()
        qtbot.waitUntil(lambda: panel.state == UNREACHABLE, timeout=30_000)
        timer.stop()
        assert "timed out" in panel.state_text(), panel.state_text()
        assert max(gaps) < 1.0, f"event loop blocked for {max(gaps):.2f} s"
        panel.disconnect_worker()


# ==================================================================== a real worker
def test_connect_shows_device_latency_and_models(panel, qtbot, worker):
    changes = []
    panel.changed.connect(lambda: changes.append(panel.remote_settings()))
    connect(panel, qtbot, worker.url, worker.token_file)
    assert panel.state_text() == "connected"
    assert "cpu" in panel.device_label.text()
    assert re.fullmatch(r"\d+(\.\d+)? ms", panel.latency_label.text()), panel.latency_label.text()
    assert panel.rtt_ms is not None and panel.rtt_ms > 0
    assert panel.models_label.text() not in ("", "–")
    assert "clients" in panel.load_label.text()
    assert re.fullmatch(r"\d+(\.\d+)? frames/s", panel.fps_label.text()), panel.fps_label.text()
    assert panel.connect_button.text() == "Disconnect"
    assert changes and changes[-1] == {"url": worker.url, "token": worker.token_file.read_text().strip(),
                                       "cafile": None}
    assert all(c.isEnabled() for c in panel.task_combos.values())
    assert not panel.use_remote("live")
    panel.set_task_mode("live", "remote")
    assert panel.use_remote("live") and not panel.use_remote("extract")
    # the latency is measured again and again (periodic requests)
    first = panel.rtt_ms
    qtbot.waitUntil(lambda: panel.rtt_ms != first, timeout=20_000)
    # a restart while connected reconnects by itself (the token comes from a file)
    again = RemotePanel(panel.settings, interval=0.5, backoff=FAST_BACKOFF, timeout=3.0)
    qtbot.addWidget(again)
    qtbot.waitUntil(lambda: again.state == CONNECTED, timeout=30_000)
    assert again.use_remote("live")
    again.shutdown()
    panel.connect_button.click()  # Disconnect
    assert panel.remote_settings() is None and not panel.use_remote("live")
    assert panel.connect_button.text() == "Connect"
    after = RemotePanel(panel.settings)  # a user's Disconnect sticks
    qtbot.addWidget(after)
    assert after.state == "disconnected" and after.connect_button.text() == "Connect"


def test_wrong_token_is_refused_with_a_reason(panel, qtbot, worker):
    messages = []
    panel.message.connect(messages.append)
    panel.set_url(worker.url)
    panel.set_token("wrong-" + secrets.token_hex(6))
    assert panel.connect_worker()
    qtbot.waitUntil(lambda: panel.state == REFUSED, timeout=30_000)
    text = panel.state_text()
    assert text.startswith("refused: ") and "token" in text.lower(), text
    assert "\n" not in text
    assert messages and "refused" in messages[-1]
    assert panel.remote_settings() is None and not panel.task_combos["extract"].isEnabled()
    assert panel.connect_button.text() == "Connect"  # no retries with a refused token
    # and the right token then connects
    connect(panel, qtbot, worker.url, worker.token_file)


def test_estimator_factory_remote_gives_the_local_person_counts(panel, qtbot, worker, fall04):
    from core.extract import estimate_poses
    from core.remote.client import FallbackEstimator
    from core.video import open_source

    connect(panel, qtbot, worker.url, worker.token_file)
    local_kwargs = {"backend": "yolo", "frame_rate": 29.0}
    state = panel.app_state  # the panel keeps the app state's remote worker and per-task choices
    panel.set_task_mode("extract", "local")
    local_factory = state.estimator_factory("extract", local_kwargs)
    panel.set_task_mode("extract", "remote")
    remote_factory = state.estimator_factory("extract", local_kwargs)

    def counts(est, n=20):
        out = []
        with open_source(fall04) as src:
            for fr in src.frames():
                if fr.index >= n:
                    break
                fp = estimate_poses(fr.image, est, fr.index, fr.time_s, 640)
                assert fp.frame_index == fr.index
                out.append(len(fp.persons))
        return out

    local = local_factory()
    assert not isinstance(local, FallbackEstimator)
    try:
        local_counts = counts(local)
    finally:
        local.close()
    remote = remote_factory()
    assert isinstance(remote, FallbackEstimator)
    try:
        remote_counts = counts(remote)
        assert remote.using_remote, "the frames were not processed on the worker"
    finally:
        remote.close()
    assert len(remote_counts) == 20 and sum(local_counts) > 0
    assert remote_counts == local_counts


def test_killed_worker_is_reported_retried_and_recovered(panel, qtbot, token_file, tmp_path, fall04):
    """The worker dies mid-stream: the panel says so and retries with back-off, the task's estimator
    goes on locally with every result on its own frame, and both return to a new worker."""
    from core.extract import estimate_poses
    from core.video import open_source

    port = free_port()
    log = tmp_path / "worker.log"
    w = WorkerProcess(port, token_file, log).start()
    messages = []
    panel.message.connect(messages.append)
    src = open_source(fall04)
    frames = iter(src.frames())
    est = None

    def run(n):
        for _ in range(n):
            fr = next(frames)
            fp = estimate_poses(fr.image, est, fr.index, fr.time_s, 320)
            assert fp.frame_index == fr.index and fp.time_s == fr.time_s

    try:
        connect(panel, qtbot, w.url, token_file)
        panel.set_task_mode("extract", "remote")
        est = panel.app_state.estimator_factory("extract", {"backend": "yolo", "frame_rate": 29.0})()
        run(3)
        assert est.using_remote
        w.kill()
        run(3)  # the frame whose remote call failed and the next ones are done locally
        assert not est.using_remote
        qtbot.waitUntil(lambda: panel.state == LOST, timeout=30_000)
        assert panel.state_text().startswith("connection lost")
        assert any("lost" in m for m in messages)
        assert any(m.startswith("Extraction: remote worker lost") and "local inference" in m for m in messages)
        qtbot.waitUntil(lambda: panel.execution("extract")[0] is False, timeout=5_000)
        assert "Extraction: local fallback" in panel.execution_label.text()
        assert panel.use_remote("extract")  # still chosen: the estimator falls back and reconnects itself
        qtbot.waitUntil(lambda: panel.failures >= 3, timeout=30_000)  # keeps retrying, with back-off
        assert panel.state == LOST
        w = WorkerProcess(port, token_file, log).start()
        qtbot.waitUntil(lambda: panel.state == CONNECTED, timeout=60_000)
        assert any("back" in m for m in messages)
        assert re.fullmatch(r"\d+(\.\d+)? ms", panel.latency_label.text())
        deadline = time.monotonic() + 60
        while not est.using_remote and time.monotonic() < deadline:
            run(1)
            qtbot.wait(200)
        assert est.using_remote, "the task's estimator did not return to the worker"
        run(2)
        qtbot.waitUntil(lambda: panel.execution("extract")[0] is True, timeout=5_000)
        assert "Extraction: on the worker" in panel.execution_label.text()
    finally:
        if est is not None:
            est.close()
        src.close()
        w.stop()


def test_extraction_task_runs_on_the_worker(panel, qtbot, worker, short_clip, tmp_path):
    from core.remote.client import fetch_info
    from gui.workers import GeneratorWorker

    connect(panel, qtbot, worker.url, worker.token_file)
    state = panel.app_state
    state.open_video(short_clip)
    assert state.skeleton_task(width=640)[2]["estimator_factory"] is None  # Extraction: Local
    panel.set_task_mode("extract", "remote")
    func, args, kwargs = state.skeleton_task(width=640)
    assert kwargs["estimator_factory"] is not None
    token = worker.token_file.read_text().strip()
    before = fetch_info(worker.url, token)["load"]["frames"]
    job = GeneratorWorker(func, *args, root=tmp_path, **kwargs)
    progress = []
    job.progress.connect(lambda d, t, m: progress.append(d))
    with qtbot.waitSignal(job.finished, timeout=300_000) as blocker:
        job.start()
    cache = blocker.args[0]
    assert cache.meta["settings"].get("remote") is True and cache.meta["complete"]
    assert [cache.poses(i).frame_index for i in range(44)] == list(range(44))
    assert sum(len(cache.poses(i).persons) for i in range(44)) > 0
    assert fetch_info(worker.url, token)["load"]["frames"] - before >= 44  # the worker did the frames
    assert progress and max(progress) == 44
    state.close_video()


def test_project_skeletons_follow_the_remote_choice(window, qtbot, worker, short_clip, tmp_path):
    """Defect 2 of issue 11: with a project open, Compute skeletons ran locally whatever the Remote panel said
    (the labeller's skeleton task never asked it). The task now comes from the app state, whose extraction choice
    the panel sets: the skeletons are computed on the worker and cached inside the project folder."""
    from core.remote.client import fetch_info

    panel = window.remote_panel
    connect(panel, qtbot, worker.url, worker.token_file)
    panel.set_task_mode("extract", "remote")
    assert window.state.use_remote("extract")
    assert window.labelling.new_project(tmp_path / "proj")
    token = worker.token_file.read_text().strip()
    before = fetch_info(worker.url, token)["load"]["frames"]
    with qtbot.waitSignal(window.skeletons_ready, timeout=300_000) as blocker:
        assert window.open_video(short_clip)
    cache = blocker.args[0]
    assert window.labelling.video is not None  # the video joined the project
    assert cache.meta["settings"].get("remote") is True and cache.meta["complete"]
    assert fetch_info(worker.url, token)["load"]["frames"] - before >= 44  # the worker did the frames
    in_project = list((tmp_path / "proj" / "skeletons").rglob("*.npz"))
    assert in_project, "the remote skeletons were not cached in the project folder"
    panel.set_task_mode("extract", "local")
    assert not window.state.use_remote("extract")
    assert window.state.skeleton_task()[2]["estimator_factory"] is None


def test_tls_worker_needs_its_certificate(panel, qtbot, token_file, tmp_path):
    cert, key = self_signed_cert(tmp_path)
    w = WorkerProcess(free_port(), token_file, tmp_path / "worker.log", "--tls-cert", str(cert), "--tls-key",
                      str(key)).start()
    try:
        panel.set_url(w.url)
        assert panel.load_token_file(str(token_file))
        panel.set_cafile(str(tmp_path / "absent.pem"))
        assert not panel.connect_worker() and "certificate file not found" in panel.state_text()
        panel.set_cafile(None)  # the system's CAs do not know a self-signed certificate
        assert panel.connect_worker()
        qtbot.waitUntil(lambda: panel.state == UNTRUSTED, timeout=30_000)
        assert panel.state_text().startswith("untrusted certificate") and "\n" not in panel.state_text()
        assert panel.connect_button.text() == "Connect"  # no retries
        panel.set_cafile(str(cert))
        assert panel.connect_worker()
        qtbot.waitUntil(lambda: panel.state == CONNECTED, timeout=30_000)
        assert "cpu" in panel.device_label.text()
        assert panel.remote_settings()["cafile"] == str(cert)
    finally:
        w.stop()

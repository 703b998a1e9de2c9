"""Shared fixtures: the real clips and models in ``../shared`` (setting: ``POSEWATCH_SHARED``).

Tests that need shared data skip with a clear reason where it is absent. Model files are taken from
``<shared>/models`` with downloads disabled and ultralytics kept offline; the per-user cache
(ONNX exports, skeleton caches) lives in one temporary folder per test session.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("POSEWATCH_SHARED", ROOT.parent / "shared")).resolve()

# Set before any test module imports core/ultralytics.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ["YOLO_OFFLINE"] = "1"
os.environ["YOLO_VERBOSE"] = "False"
os.environ["POSEWATCH_OFFLINE"] = "1"
if os.environ.get("PYTEST_XDIST_WORKER"):
    # Under pytest-xdist (the README's test command runs two workers): one compute thread per worker process (torch,
    # OpenMP, the children it starts), so two workers on two cores do not oversubscribe them.
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    os.environ.setdefault("MKL_NUM_THREADS", "1")
if (SHARED / "models").is_dir():
    os.environ["POSEWATCH_MODEL_DIR"] = str(SHARED / "models")


@pytest.fixture(scope="session", autouse=True)
def _session_cache(tmp_path_factory):
    """One per-user cache for the whole session, so the ONNX export and skeleton caches are reused (one per
    pytest-xdist worker: one cache shared by the two workers was tried on 2026-12-04 and saved nothing, the suite
    479 s against 483 s)."""
    d = os.environ.get("POSEWATCH_TEST_CACHE") or str(tmp_path_factory.mktemp("posewatch-cache"))
    os.environ["POSEWATCH_CACHE_DIR"] = d
    yield Path(d)


def copy_skeletons(video: Path, project) -> None:
    """Put the session cache's skeleton caches of ``video`` into ``project``'s skeleton folder, as a project that
    computed them holds them (finished files only, not a temporary one being written)."""
    import shutil

    from core.cache import cache_dir, video_key

    key = video_key(video)
    shutil.copytree(cache_dir() / key, project.skeleton_dir / key, dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns(".*"))


def shared_path(*parts: str) -> Path:
    """A path under the shared data folder; skips the test if it is missing."""
    p = SHARED.joinpath(*parts)
    if not p.exists():
        pytest.skip(f"shared test data not found: {p} (set POSEWATCH_SHARED to the shared/ folder)")
    return p


def self_signed_cert(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 made with ``openssl`` in ``folder``: ``(cert.pem, key.pem)``;
    skips the test when openssl is not installed."""
    import shutil
    import subprocess

    if shutil.which("openssl") is None:
        pytest.skip("openssl not found: cannot make a self-signed certificate for the TLS test")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    return cert, key


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    if not SHARED.is_dir():
        pytest.skip(f"shared test data folder not found: {SHARED} (set POSEWATCH_SHARED)")
    return SHARED


@pytest.fixture(scope="session")
def models_dir() -> Path:
    return shared_path("models")


@pytest.fixture(scope="session")
def fall04() -> Path:
    """Phone video, 406x720, ~29 fps, one person falls at ~6.0-7.5 s."""
    return shared_path("data", "videos", "fall", "thanhnc58_Fall04.mp4")


@pytest.fixture(scope="session")
def street_clip() -> Path:
    """1280x720, 50 fps street crowd of ~6 people."""
    return shared_path("data", "videos", "normal", "openpose_examples_video.avi")


@pytest.fixture(scope="session")
def pets_clip() -> Path:
    """PETS2009 pedestrians, 480x360, 10 fps."""
    return shared_path("data", "videos", "normal", "vtest_pets2009_480x360.avi")


@pytest.fixture(scope="session")
def fall04_skeletons(fall04, _session_cache):
    """Skeleton cache of Fall04 with the default YOLO backend (computed once per session)."""
    from core.extract import iter_load_or_extract, run

    return run(iter_load_or_extract(fall04, "yolo"), callback=lambda p: None)


def write_mjpg_avi(path: Path, n: int) -> Path:
    """Write a tiny MJPEG AVI of ``n`` flat grey 64x48 frames (``n = 0`` gives a valid zero-frame file)."""
    import cv2
    import numpy as np

    w = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 25, (64, 48))
    for i in range(n):
        w.write(np.full((48, 64, 3), i * 20, np.uint8))
    w.release()
    return path


# ---- a real worker process (tests/core/test_remote.py, tests/gui/test_remote_panel.py, tests/gui/test_live_view.py)
def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class WorkerProcess:
    """``main.py worker`` as a child process on ``127.0.0.1:port`` with a token file (``extra``: more CLI options,
    e.g. ``--tls-cert C --tls-key K``); its stdout and stderr go to ``log_path``."""

    def __init__(self, port: int, token_file: Path, log_path: Path, *extra: str):
        self.port, self.token_file, self.log_path, self.extra = port, token_file, log_path, extra
        self.proc = None
        self.tls = "--tls-cert" in extra

    @property
    def url(self) -> str:
        return f"{'wss' if self.tls else 'ws'}://127.0.0.1:{self.port}"

    def start(self, timeout: float = 240.0) -> "WorkerProcess":
        """Start it and return once ``/health`` answers ``{"status": "ok"}``.

        Raises:
            RuntimeError: it exited, or did not answer within ``timeout`` seconds (with the end of its log).
        """
        import json
        import subprocess
        import sys
        import time
        import urllib.request

        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, str(ROOT / "main.py"), "worker", "--host", "127.0.0.1", "--port", str(self.port),
                 "--token-file", str(self.token_file), *self.extra],
                cwd=str(ROOT), stdout=log, stderr=subprocess.STDOUT, env=dict(os.environ, PYTHONUNBUFFERED="1"))
        ctx = None
        if self.tls:
            import ssl

            ctx = ssl.create_default_context()  # only to poll /health while it starts: trust any certificate
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"worker exited with {self.proc.returncode}: {self.log_tail()}")
            try:
                with urllib.request.urlopen(f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}/health",
                                            timeout=2, context=ctx) as r:
                    if json.loads(r.read()) == {"status": "ok"}:
                        return self
            except OSError:
                time.sleep(0.3)
        self.kill()
        raise RuntimeError(f"worker did not answer /health within {timeout:.0f} s: {self.log_tail()}")

    def kill(self) -> None:
        """SIGKILL (a worker that dies) and wait."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(30)

    def stop(self) -> None:
        """SIGINT (uvicorn's graceful shutdown), then SIGKILL after 15 s."""
        import signal
        import subprocess

        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()

    def log_tail(self, lines: int = 8) -> str:
        try:
            return " | ".join(self.log_path.read_text(errors="replace").strip().splitlines()[-lines:])
        except OSError:
            return ""


def aihub_few_sequences(out: Path) -> Path:
    """Five short AI-Hub sequences (three normal of 60 rows, two theft of 24) as an AI-Hub CSV at ``out``: too little
    data on purpose — a split by sequence leaves the validation set without a class and theft with few windows."""
    import numpy as np
    import pandas as pd

    from core.importing import parse_file

    src = shared_path("data", "skeleton", "aihub", "datavalid.csv")
    seqs = parse_file(src).sequences
    starts = np.cumsum([0] + [s.frame_count for s in seqs])
    picked, per = [], {}
    for k, s in enumerate(seqs):
        lab = s.clips[0].label
        want = {"normal": 3, "theft": 2}.get(lab, 0)
        if per.get(lab, 0) < want and s.frame_count >= 20:
            per[lab] = per.get(lab, 0) + 1
            picked += list(range(starts[k], starts[k] + min(s.frame_count, 60 if lab == "normal" else 24)))
    pd.read_csv(src, dtype=str, keep_default_na=False).iloc[picked].to_csv(out, index=False)
    return out


# ---- RGB clip models (issue 13): a small label folder of real fight clips and a quick RGB model trained on it
RGB_CLIPS = {"fight": ("fi001.mp4", "fi010.mp4", "fi050.mp4"), "normal": ("nofi001.mp4", "nofi050.mp4", "nofi100.mp4")}


@pytest.fixture(scope="session")
def rgb_label_folder(tmp_path_factory) -> Path:
    """``DIR/fight/*.mp4`` and ``DIR/normal/*.mp4``: links to three real Surveillance Camera Fight clips of each
    class (~2 s, 480x360 or 640x360, six source videos), the layout ``main.py train --model r2plus1d`` reads."""
    root = tmp_path_factory.mktemp("rgb-clips") / "clips"
    for label, names in RGB_CLIPS.items():
        (root / label).mkdir(parents=True)
        folder = "fight" if label == "fight" else "normal"
        for n in names:
            (root / label / n).symlink_to(shared_path("data", "videos", folder, n))
    return root


@pytest.fixture(scope="session")
def rgb_model(rgb_label_folder, tmp_path_factory, _session_cache) -> tuple[Path, list[dict]]:
    """``main.py train --model r2plus1d --preset quick --events jsonl`` on :func:`rgb_label_folder` (a real child
    process, 2 epochs of 4 frames at 32x32): ``(model.pt, the JSON events)``."""
    import json
    import subprocess
    import sys

    out = tmp_path_factory.mktemp("rgb-model") / "run"
    r = subprocess.run([sys.executable, str(ROOT / "main.py"), "train", "--data", str(rgb_label_folder), "--model",
                        "r2plus1d", "--preset", "quick", "--out", str(out), "--events", "jsonl"],
                       capture_output=True, text=True, cwd=str(ROOT), timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    events = [json.loads(line) for line in r.stdout.splitlines() if line.startswith("{")]
    return out / "model.pt", events


# ---- a real MQTT broker (tests/core/test_notify.py)
class MosquittoBroker:
    """Debian's ``mosquitto`` as a child process on ``127.0.0.1:port`` only (anonymous clients allowed). With
    ``persistence`` its sessions and queued QoS 1 messages survive a restart (saved in ``folder`` at SIGTERM)."""

    def __init__(self, port: int, folder: Path, persistence: bool = False):
        self.port, self.folder, self.persistence = port, folder, persistence
        self.proc = None

    @staticmethod
    def binary() -> str:
        """The mosquitto executable; skips the test when it is not installed (``scripts/setup.sh`` installs it)."""
        import shutil

        exe = shutil.which("mosquitto") or next((p for p in ("/usr/sbin/mosquitto", "/usr/bin/mosquitto")
                                                 if Path(p).is_file()), None)
        if exe is None:
            pytest.skip("mosquitto not installed (scripts/setup.sh installs Debian's mosquitto)")
        return exe

    def start(self, timeout: float = 20.0) -> "MosquittoBroker":
        import socket
        import subprocess
        import time

        self.folder.mkdir(parents=True, exist_ok=True)
        conf = self.folder / "mosquitto.conf"
        lines = [f"listener {self.port} 127.0.0.1", "allow_anonymous true", f"persistence {str(self.persistence).lower()}"]
        if self.persistence:
            lines += [f"persistence_location {self.folder}/", "autosave_interval 0"]
        conf.write_text("\n".join(lines) + "\n")
        with open(self.folder / "mosquitto.log", "ab") as log:
            self.proc = subprocess.Popen([self.binary(), "-c", str(conf)], stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"mosquitto exited with {self.proc.returncode}: "
                                   f"{(self.folder / 'mosquitto.log').read_text(errors='replace')[-500:]}")
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.2).close()
                return self
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError("mosquitto did not listen in time")

    def stop(self) -> None:
        """SIGTERM (mosquitto saves its persistence file), then SIGKILL after 10 s."""
        import subprocess

        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)


class MqttSubscriber:
    """A paho-mqtt client subscribed (QoS 1) to ``topic`` on the broker at ``127.0.0.1:port``, collecting
    ``(topic, payload dict)``; with ``client_id`` its session persists (clean_session off)."""

    def __init__(self, port: int, topic: str = "posewatch/#", client_id: str | None = None):
        import threading

        import paho.mqtt.client as mqtt

        self.messages: list[tuple[str, dict]] = []
        self._cv = threading.Condition()
        self._subscribed = threading.Event()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id or "",
                                  clean_session=client_id is None)
        self.client.on_connect = lambda c, u, f, rc, p=None: c.subscribe(topic, qos=1)
        self.client.on_subscribe = lambda *a: self._subscribed.set()
        self.client.on_message = self._on_message
        self.client.reconnect_delay_set(0.1, 0.5)
        self.client.connect("127.0.0.1", port, keepalive=30)
        self.client.loop_start()
        if not self._subscribed.wait(10):
            raise RuntimeError("test subscriber could not subscribe")

    def _on_message(self, client, userdata, msg) -> None:
        import json

        with self._cv:
            self.messages.append((msg.topic, json.loads(msg.payload)))
            self._cv.notify_all()

    def wait_for(self, n: int, timeout: float = 30.0) -> list[tuple[str, dict]]:
        """The messages once there are at least ``n`` (or whatever arrived within ``timeout`` seconds)."""
        import time

        end = time.monotonic() + timeout
        with self._cv:
            while len(self.messages) < n and time.monotonic() < end:
                self._cv.wait(0.1)
            return list(self.messages)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture(scope="session")
def fall04_detect_project(fall04, tmp_path_factory, _session_cache):
    """One real ``main.py detect Fall04 --project P`` run (shipped fall model): ``(events.jsonl, project folder,
    CompletedProcess)``; the project was made empty first and gets the alert as an open suggestion."""
    from core.project import Project
    from tests.test_cli import cli

    d = tmp_path_factory.mktemp("fall04-detect")
    Project.create(d / "proj").close()
    ev = d / "events" / "events.jsonl"
    ev.parent.mkdir()
    r = cli("detect", fall04, "--model", "fall", "--events", ev, "--project", d / "proj")
    assert r.returncode == 0, r.stderr
    return ev, d / "proj", r

"""Model files: lookup, download with progress and checksum (served from the shared copies over a real
HTTP server on 127.0.0.1), and clear errors for missing or corrupt files."""

from __future__ import annotations

import functools
import http.server
import shutil
import threading

import pytest

from core.errors import ModelError
from core.modelfiles import KNOWN_MODELS, resolve_model, sha256_file


@pytest.fixture
def http_dir(tmp_path):
    """A real HTTP server on 127.0.0.1 serving tmp_path/www."""
    www = tmp_path / "www"
    www.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(www))
    handler.log_message = lambda *a: None
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield www, f"http://127.0.0.1:{srv.server_address[1]}"
    srv.shutdown()
    srv.server_close()


@pytest.fixture
def empty_user_dirs(tmp_path, monkeypatch):
    """No model dir, an empty per-user cache: the model must be downloaded."""
    monkeypatch.delenv("POSEWATCH_MODEL_DIR", raising=False)
    monkeypatch.setenv("POSEWATCH_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_resolve_from_model_dir(models_dir):
    p = resolve_model("yolo11n-pose.pt")
    assert p.parent == models_dir
    assert sha256_file(p) == KNOWN_MODELS["yolo11n-pose.pt"].sha256


def test_download_with_checksum(models_dir, http_dir, empty_user_dirs, monkeypatch):
    www, url = http_dir
    shutil.copy(models_dir / "yolo11n-pose.pt", www / "yolo11n-pose.pt")
    monkeypatch.setenv("POSEWATCH_MODEL_URL_BASE", url)
    seen = []
    p = resolve_model("yolo11n-pose.pt", progress=lambda done, total: seen.append((done, total)), allow_download=True)
    assert p == empty_user_dirs / "models" / "yolo11n-pose.pt"
    assert sha256_file(p) == KNOWN_MODELS["yolo11n-pose.pt"].sha256
    assert seen[-1][0] == seen[-1][1] == p.stat().st_size and len(seen) > 1
    # second call: found in the cache, no download
    monkeypatch.setenv("POSEWATCH_MODEL_URL_BASE", "http://127.0.0.1:9")
    assert resolve_model("yolo11n-pose.pt", allow_download=True) == p


def test_download_of_task_bundle_checks_structure(models_dir, http_dir, empty_user_dirs, monkeypatch):
    www, url = http_dir
    shutil.copy(models_dir / "pose_landmarker_lite.task", www / "pose_landmarker_lite.task")
    monkeypatch.setenv("POSEWATCH_MODEL_URL_BASE", url)
    p = resolve_model("pose_landmarker_lite.task", progress=lambda *a: None, allow_download=True)
    assert p.stat().st_size == (models_dir / "pose_landmarker_lite.task").stat().st_size


def test_download_with_wrong_checksum_leaves_nothing(models_dir, http_dir, empty_user_dirs, monkeypatch):
    www, url = http_dir
    data = bytearray((models_dir / "yolo11n-pose.pt").read_bytes())
    data[1000] ^= 0xFF  # one flipped byte
    (www / "yolo11n-pose.pt").write_bytes(bytes(data))
    monkeypatch.setenv("POSEWATCH_MODEL_URL_BASE", url)
    with pytest.raises(ModelError, match="corrupt: SHA-256"):
        resolve_model("yolo11n-pose.pt", progress=lambda *a: None, allow_download=True)
    assert not list((empty_user_dirs / "models").glob("yolo11n-pose.pt*"))


def test_download_failure_is_one_line(http_dir, empty_user_dirs, monkeypatch):
    _, url = http_dir  # serves nothing: 404
    monkeypatch.setenv("POSEWATCH_MODEL_URL_BASE", url)
    with pytest.raises(ModelError, match="cannot download yolo11n-pose.pt") as e:
        resolve_model("yolo11n-pose.pt", progress=lambda *a: None, allow_download=True)
    assert "\n" not in str(e.value)


def test_offline_missing_model(empty_user_dirs):
    with pytest.raises(ModelError, match="downloads are disabled"):
        resolve_model("yolo11n-pose.pt")


def test_unknown_model_name(models_dir):
    with pytest.raises(ModelError, match="not a known downloadable model"):
        resolve_model("my-own-pose.pt")


def test_missing_model_path(tmp_path):
    with pytest.raises(ModelError, match="model file not found"):
        resolve_model(tmp_path / "nothing.pt")


def test_corrupt_model_in_model_dir(tmp_path, monkeypatch):
    d = tmp_path / "models"
    d.mkdir()
    (d / "yolo11n-pose.pt").write_bytes(b"not a checkpoint" * 100)
    monkeypatch.setenv("POSEWATCH_MODEL_DIR", str(d))
    with pytest.raises(ModelError, match="corrupt"):
        resolve_model("yolo11n-pose.pt")


def test_corrupt_unknown_pose_model_fails_to_load(tmp_path):
    from core.pose import create_estimator

    bad = tmp_path / "custom-pose.pt"
    bad.write_bytes(b"\x00garbage" * 500)
    with pytest.raises(ModelError, match="cannot (load|export)"):
        create_estimator("yolo", model=str(bad), runtime="torch")


def test_corrupt_mediapipe_bundle(tmp_path):
    from core.pose import create_estimator

    bad = tmp_path / "pose_landmarker_lite.task"
    bad.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(ModelError, match="corrupt"):
        create_estimator("mediapipe", model=str(bad))

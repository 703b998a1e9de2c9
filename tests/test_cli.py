"""The command line (`python main.py …`) run as a real subprocess on real clips."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from tests.conftest import ROOT, write_mjpg_avi


def cli(*args, env=None, timeout=600):
    e = dict(os.environ, **(env or {}))
    return subprocess.run([sys.executable, str(ROOT / "main.py"), *map(str, args)], capture_output=True, text=True,
                          cwd=ROOT, env=e, timeout=timeout)


def test_extract_writes_skeleton_csv(tmp_path, fall04, fall04_skeletons):
    out = tmp_path / "skeletons.csv"
    r = cli("extract", fall04, "--out", out)
    assert r.returncode == 0, r.stderr
    df = pd.read_csv(out)
    c = fall04_skeletons  # the same cache the CLI used
    assert len(df) == len(c.keypoints)
    for col in ["frame", "time_s", "track_id", "bbox_x1", "bbox_y1", "bbox_x2", "bbox_y2",
                "NOSE_X", "NOSE_Y", "NOSE_SCORE", "ANKLE_RIGHT_X", "ANKLE_RIGHT_Y", "ANKLE_RIGHT_SCORE"]:
        assert col in df.columns
    assert df["frame"].is_monotonic_increasing
    assert np.allclose(df["time_s"], df["frame"] / c.fps, atol=1e-3)
    assert np.allclose(df["HIP_LEFT_Y"], c.keypoints[:, 11, 1], atol=1e-3)
    assert set(df["track_id"]) == set(c.track_ids())


def test_extract_mediapipe_backend(tmp_path, shared_dir):
    clip = shared_dir / "data" / "videos" / "fight" / "fi006.mp4"  # 48 frames
    out = tmp_path / "mp.csv"
    r = cli("extract", clip, "--out", out, "--backend", "mediapipe")
    assert r.returncode == 0, r.stderr
    df = pd.read_csv(out)
    assert "FOOT_INDEX_RIGHT_SCORE" in df.columns and "HEEL_LEFT_X" in df.columns


def test_render_draws_the_gui_overlay(tmp_path, fall04, fall04_skeletons):
    from core.overlay import draw_overlay
    from core.video import open_source

    out = tmp_path / "annotated.avi"
    r = cli("render", fall04, "--out", out)
    assert r.returncode == 0, r.stderr
    c = fall04_skeletons
    with open_source(out) as rendered, open_source(fall04) as raw:
        assert rendered.info.frame_count == raw.info.frame_count
        f = int(np.flatnonzero(c.persons_per_frame())[50])
        expected = draw_overlay(raw.read(f).image, c.poses(f), None).astype(np.int16)
        got = rendered.read(f).image.astype(np.int16)
        plain = raw.read(f).image.astype(np.int16)
    drawn = np.abs(expected - plain).max(-1) > 60  # pixels the overlay changes strongly
    assert drawn.sum() > 500
    # the rendered video carries the same overlay (up to MJPEG compression)
    assert np.median(np.abs(got - expected).max(-1)[drawn]) < 40
    assert np.median(np.abs(got - plain).max(-1)[drawn]) > 60




def _bad_inputs(tmp):
    corrupt = tmp / "corrupt.mp4"
    corrupt.write_bytes(os.urandom(40_000))
    zero = write_mjpg_avi(tmp / "zero.avi", 0)
    codec = tmp / "codec.avi"
    codec.write_bytes(write_mjpg_avi(tmp / "ok.avi", 4).read_bytes().replace(b"MJPG", b"ZZ9Z"))
    return {
        "missing": (["extract", tmp / "nope.mp4", "--out", tmp / "o.csv"], "video not found"),
        "corrupt": (["extract", corrupt, "--out", tmp / "o.csv"], "cannot decode video"),
        "zero-frames": (["extract", zero, "--out", tmp / "o.csv"], "no frames"),
        "codec": (["extract", codec, "--out", tmp / "o.csv"], "unsupported codec"),
        "webcam": (["extract", "webcam:7", "--out", tmp / "o.csv"], "no webcam at index 7"),
        "out-dir": (["extract", "FALL04", "--out", tmp / "no" / "such" / "dir.csv"], "output folder does not exist"),
        "pose-model-missing": (["extract", "FALL04", "--out", tmp / "o.csv", "--pose-model", tmp / "x.pt"],
                               "model file not found"),
        "classifier-corrupt": (["render", "FALL04", "--out", tmp / "o.mp4", "--classifier", corrupt],
                               "corrupt or not a PyTorch file"),
    }


@pytest.mark.parametrize("case", ["missing", "corrupt", "zero-frames", "codec", "webcam", "out-dir",
                                  "pose-model-missing", "classifier-corrupt"])
def test_bad_input_gives_one_line_and_exit_2(case, tmp_path, fall04, fall04_skeletons):
    args, expected = _bad_inputs(tmp_path)[case]
    args = [fall04 if a == "FALL04" else a for a in args]
    r = cli(*args)
    assert r.returncode == 2
    lines = [ln for ln in r.stderr.splitlines() if ln.strip() and "frame/s" not in ln and "poses:" not in ln]
    assert lines == [lines[0]] and lines[0].startswith("error: ") and expected in lines[0], r.stderr
    assert "Traceback" not in r.stderr


def test_corrupt_pose_model_in_model_dir(tmp_path, fall04):
    d = tmp_path / "models"
    d.mkdir()
    (d / "yolo11n-pose.pt").write_bytes(b"\x00" * 1000)
    r = cli("extract", fall04, "--out", tmp_path / "o.csv", env={"POSEWATCH_MODEL_DIR": str(d),
                                                                   "POSEWATCH_CACHE_DIR": str(tmp_path / "c")})
    assert r.returncode == 2 and "error: model file" in r.stderr and "corrupt" in r.stderr
    assert "Traceback" not in r.stderr


def test_help_lists_commands():
    r = cli("--help")
    assert r.returncode == 0
    for cmd in ("extract", "render", "gui"):
        assert cmd in r.stdout

"""`python main.py detect` as a real subprocess: the headless live detector on real clips."""

from __future__ import annotations

import json

import cv2

from tests.conftest import shared_path
from tests.test_cli import cli


def test_detect_writes_events_snapshot_clip_and_annotated_video(tmp_path, fall04):
    ev = tmp_path / "events.jsonl"
    out = tmp_path / "annotated.mp4"
    r = cli("detect", fall04, "--model", "fall", "--events", ev, "--out-video", out)
    assert r.returncode == 0, r.stderr
    lines = [json.loads(x) for x in ev.read_text().splitlines()]
    assert lines, r.stderr
    first = lines[0]
    assert set(first) == {"time_s", "frame", "track_id", "label", "prob", "wall_time", "snapshot", "clip", "camera"}
    assert first["label"] in ("falling", "lying") and 174 <= first["frame"] <= 174 + 58
    assert cv2.imread(first["snapshot"]) is not None
    cap = cv2.VideoCapture(first["clip"])
    assert cap.isOpened() and cap.get(cv2.CAP_PROP_FRAME_COUNT) > 0
    cap.release()
    cap = cv2.VideoCapture(str(out))
    assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == 288  # every frame of Fall04, no pacing
    cap.release()
    summary = r.stderr.strip().splitlines()[-1]
    assert summary.startswith("288 frames,") and f"{len(lines)} alert(s)" in summary and "0 dropped" in summary
    assert "alert: " in r.stderr


def test_detect_bad_input_is_one_error_line(tmp_path):
    ev = tmp_path / "e.jsonl"
    for args, msg in [(["/no/such/video.mp4"], "video not found"),
                      (["9"], "no webcam at index 9"),
                      ([str(tmp_path / "x.txt")], "")]:
        if args[0].endswith(".txt"):
            (tmp_path / "x.txt").write_text("not a video")
        r = cli("detect", *args, "--events", ev)
        assert r.returncode == 2, r.stderr
        last = r.stderr.strip().splitlines()[-1]
        assert last.startswith("error: ") and msg in last and "Traceback" not in r.stderr


def test_detect_bad_model_is_one_error_line(tmp_path, fall04):
    r = cli("detect", fall04, "--model", tmp_path / "missing.pt", "--events", tmp_path / "e.jsonl")
    assert r.returncode == 2 and r.stderr.strip().splitlines()[-1].startswith("error: classifier checkpoint not found")
    r = cli("detect", fall04, "--events", tmp_path / "no" / "dir" / "e.jsonl")
    assert r.returncode == 2 and "does not exist" in r.stderr


def test_detect_several_sources_on_one_shared_model(tmp_path):
    a = shared_path("data", "videos", "normal", "nofi102.mp4")
    b = shared_path("data", "videos", "normal", "nofi103.mp4")
    ev = tmp_path / "events.jsonl"
    r = cli("detect", a, b, "--camera", "door", "--model", "fall", "--events", ev)
    assert r.returncode == 0, r.stderr
    lines = r.stderr.strip().splitlines()
    assert lines[-3].startswith("door: 20 frames,") and lines[-2].startswith("nofi103: 20 frames,")
    assert lines[-1] == f"wrote {ev}"
    r = cli("detect", a, b, "--events", ev, "--out-video", tmp_path / "x.mp4")
    assert r.returncode == 2 and "--out-video takes one source" in r.stderr
    r = cli("detect", a, "/no/such.mp4", "--events", ev)
    assert r.returncode == 2 and r.stderr.strip().startswith("error: video not found")

"""core.live.multicam: several cameras on one shared, batched pose model — real clips, a real local MJPEG stream that
dies and comes back while a file camera goes on, one merged events file naming the camera."""

from __future__ import annotations

import collections
import json
import threading
import time

import numpy as np
import pytest

from core.errors import FrameSuperseded, PoseWatchError
from core.live import LiveConfig
from core.live.multicam import MultiCameraDetector, SharedPose, unique_names
from core.pose.yolo_onnx import OnnxPoseEstimator
from core.video import open_source, resize_to_width
from tests.conftest import free_port, shared_path
from tests.core.test_live import _serve


def test_a_batch_finds_what_single_frames_find(street_clip):
    imgs = []
    with open_source(street_clip) as src:
        for fr in src.frames(0, 3):
            imgs.append(resize_to_width(fr.image, 640)[0].copy())
    imgs.append(np.ascontiguousarray(imgs[0][:300, :500]))  # another size: run in a call of its own
    est = OnnxPoseEstimator(threads=1)
    single = [est.detect(im) for im in imgs]
    batch = est.detect_batch(imgs)
    for (b1, s1, k1), (b2, s2, k2) in zip(single, batch):
        assert len(s1) == len(s2) > 0
        np.testing.assert_allclose(b1, b2, atol=0.05)
        np.testing.assert_allclose(k1, k2, atol=0.05)

    engine = SharedPose(precision="fp32", workers=1, max_batch=4)
    try:
        got = [None] * 4
        ths = [threading.Thread(target=lambda k=k: got.__setitem__(k, engine.detect(imgs[k]))) for k in range(4)]
        for t in ths:
            t.start()
        for t in ths:
            t.join(60)
        assert [len(g[1]) for g in got] == [len(s[1]) for s in single]
        st = engine.stats()
        assert st["frames"] == 4 and st["batches"] <= 4
    finally:
        engine.close()
    with pytest.raises(PoseWatchError, match="closed"):
        engine.detect(imgs[0])


def _wait_until(cond, what: str, timeout: float = 60.0) -> None:
    t0 = time.monotonic()
    while not cond():
        assert time.monotonic() - t0 < timeout, what
        time.sleep(0.001)


def test_a_newer_frame_of_a_camera_takes_the_place_of_its_waiting_one(street_clip):
    with open_source(street_clip) as src:
        img = resize_to_width(next(iter(src.frames(0, 1))).image, 640)[0].copy()
    engine = SharedPose(precision="fp32", workers=1, max_batch=1)
    got: dict[str, object] = {}

    def ask(name: str, key) -> None:
        try:
            got[name] = engine.detect(img, key)
        except FrameSuperseded as e:
            got[name] = e

    try:
        # the one worker is kept busy by 12 frames of other cameras (each about 40 ms), so camera X's frames wait
        backlog = [threading.Thread(target=ask, args=(f"other{k}", f"other{k}")) for k in range(12)]
        for t in backlog:
            t.start()
        _wait_until(lambda: engine.stats()["asked"] == 12, "the backlog is in line")
        xs = []
        for k in range(3):  # camera X hands in three frames, one after the other, while the backlog runs
            xs.append(threading.Thread(target=ask, args=(f"x{k}", "X")))
            xs[-1].start()
            _wait_until(lambda k=k: engine.stats()["asked"] == 13 + k, f"camera X's frame {k} is in line")
            assert engine.stats()["superseded"] == k
        assert engine.stats()["frames"] < 12, "the backlog ended before camera X's frames were in line"
        none = [threading.Thread(target=ask, args=(f"n{k}", None)) for k in range(2)]  # no key: never replaced
        for t in none:
            t.start()
        for t in backlog + xs + none:
            t.join(120)
        assert isinstance(got["x0"], FrameSuperseded) and isinstance(got["x1"], FrameSuperseded)
        assert len(got["x2"][1]) > 0  # the newest ran
        assert all(not isinstance(got[f"n{k}"], Exception) for k in range(2))
        assert all(not isinstance(got[f"other{k}"], Exception) for k in range(12))
        st = engine.stats()
        assert st["superseded"] == 2 and st["frames"] == 12 + 1 + 2 and st["waiting"] == 0
    finally:
        engine.close()


def test_unique_camera_names():
    assert unique_names(["/a/door.mp4", "/b/door.mp4", 0, "rtsp://u:p@10.0.0.2/live"]) == \
        ["door", "door-2", "webcam0", "10.0.0.2-live"]
    assert unique_names([0, 1], ["Shop floor", None]) == ["Shop_floor", "webcam1"]
    with pytest.raises(PoseWatchError, match="no camera"):
        MultiCameraDetector([])


def test_a_lost_stream_reconnects_alone_while_a_file_camera_goes_on_and_alerts(tmp_path, fall04):
    port = free_port()
    server = _serve(port)
    url = f"http://127.0.0.1:{port}/cam.mjpg"
    counts: collections.Counter = collections.Counter()
    status: list[tuple[str, str]] = []
    cfg = LiveConfig(classifier="fall", width=320, events_dir=str(tmp_path), start_frame=150, stop_frame=260)
    multi = MultiCameraDetector([str(fall04), url], cfg, on_result=lambda c, r: counts.update([c]),
                                on_status=lambda c, m: status.append((c, m)))
    file_cam, stream_cam = multi.names
    assert (file_cam, stream_cam) == ("thanhnc58_Fall04", f"127.0.0.1-{port}-cam.mjpg")

    def wait(cond, what, timeout=120):
        t0 = time.monotonic()
        while not cond() and time.monotonic() - t0 < timeout:
            time.sleep(0.05)
        assert cond(), f"{what}: {status[-5:]} {counts}"

    try:
        multi.start()
        wait(lambda: counts[stream_cam] >= 5 and counts[file_cam] >= 5, "both cameras deliver")
        server.kill()
        server.wait()
        wait(lambda: any(c == stream_cam and m.startswith("camera lost:") for c, m in status), "the stream is lost")
        n_file = counts[file_cam]
        wait(lambda: counts[file_cam] >= min(n_file + 10, 110), "the file camera goes on while the stream is down")
        n_stream = counts[stream_cam]
        server = _serve(port)
        wait(lambda: counts[stream_cam] >= n_stream + 5, "the stream is back")
        assert any(c == stream_cam and m.startswith("reconnected") for c, m in status)
        wait(lambda: not multi.detectors[file_cam].running, "the file camera finishes")
    finally:
        multi.stop()
        assert multi.join(60)
        server.kill()
        server.wait()
    assert multi.errors == {}
    assert counts[file_cam] == 110  # every frame of the file's range, none lost to the stream's trouble
    st = multi.stats()
    # two cameras: the motion gate is on (auto); the shared model posed what the gate let through
    assert st["shared_pose"]["frames"] == st[file_cam]["posed"] + st[stream_cam]["posed"]
    assert st[file_cam]["posed"] + st[file_cam]["pose_reused"] == counts[file_cam]
    assert not any(m.startswith("camera lost") for c, m in status if c == file_cam)
    lines = [json.loads(x) for x in (tmp_path / "events.jsonl").read_text().splitlines()]
    assert lines and {ln["camera"] for ln in lines} == {file_cam}
    assert all(ln["snapshot"].startswith(str(tmp_path / file_cam)) for ln in lines)
    assert (tmp_path / file_cam / "events.jsonl").is_file()


def test_cameras_behind_drop_frames_but_keep_them_in_order(fall04, street_clip):
    """Four file cameras paced at 120 fps, more than the pose workers can serve: frames are dropped (by the capture
    queue and by a newer frame taking a waiting one's place in the shared model's line), every frame is either
    delivered or counted as dropped, and each camera's results come in frame order."""
    seen: dict[str, list[int]] = collections.defaultdict(list)
    cfg = LiveConfig(classifier=None, realtime=True, pace_fps=120.0, start_frame=0, stop_frame=120)
    multi = MultiCameraDetector([str(fall04)] + [str(street_clip)] * 3, cfg,
                                on_result=lambda c, r: seen[c].append(r.frame_index))
    multi.run()
    assert multi.errors == {}
    st = multi.stats()
    assert st["shared_pose"]["superseded"] > 0 and st["shared_pose"]["waiting"] == 0
    for name in multi.names:
        frames = seen[name]
        assert frames == sorted(set(frames)) and len(frames) == st[name]["frames"]
        assert st[name]["frames"] + st[name]["dropped"] == 120, (name, st[name])
        assert st[name]["posed"] + st[name]["pose_reused"] == st[name]["frames"]
        assert "x2 in flight" in st[name]["pose"]
    assert st["shared_pose"]["frames"] == sum(st[n]["posed"] for n in multi.names)

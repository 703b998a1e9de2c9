"""core.live.multicam: several cameras on one shared, batched pose model — real clips, a real local MJPEG stream that
dies and comes back while a file camera goes on, one merged events file naming the camera."""

from __future__ import annotations

import collections
import json
import threading
import time

import numpy as np
import pytest

from core.errors import PoseWatchError
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


def test_unique_camera_names():
    assert unique_names(["/a/door.mp4", "/b/door.mp4", 0, "rtsp://u:p@10.0.0.2/live"]) == \
        ["door", "door-2", "webcam0", "10.0.0.2-live"]
    assert unique_names([0, 1], ["Shop floor", None]) == ["Shop_floor", "webcam1"]
    with pytest.raises(PoseWatchError, match="no camera"):
        MultiCameraDetector([])
    with pytest.raises(PoseWatchError, match="multicam_max_batch"):
        MultiCameraDetector(["a.mp4", "b.mp4"], LiveConfig(classifier=None), max_batch=0)
    with pytest.raises(PoseWatchError, match="multicam_max_batch"):
        MultiCameraDetector(["a.mp4", "b.mp4"], LiveConfig(classifier=None, multicam_max_batch=0))


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
    assert set(st["shared_pose"]["batch_sizes"]) == {1}  # multicam_max_batch: 1, nothing batched on the CPU
    assert st[file_cam]["posed"] + st[file_cam]["pose_reused"] == counts[file_cam]
    assert not any(m.startswith("camera lost") for c, m in status if c == file_cam)
    lines = [json.loads(x) for x in (tmp_path / "events.jsonl").read_text().splitlines()]
    assert lines and {ln["camera"] for ln in lines} == {file_cam}
    assert all(ln["snapshot"].startswith(str(tmp_path / file_cam)) for ln in lines)
    assert (tmp_path / file_cam / "events.jsonl").is_file()

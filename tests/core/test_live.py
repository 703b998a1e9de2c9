"""core.live: the live detector on real clips, real models and a real local MJPEG stream (no mocks).

Timings are never asserted (the machine is shared); what is checked is behaviour: every frame processed
without pacing, frames dropped (bounded queues) with pacing, smoothing and hysteresis, events files,
reconnect with back-off after a stream dies, a clear message for a missing camera.
"""

from __future__ import annotations

import collections
import json
import socket
import subprocess
import sys
import threading
import time

import cv2
import numpy as np
import pytest

from core.errors import ModelError
from core.live import BACKOFF_S, AlertEvent, DropQueue, LabelTracker, LiveConfig, LiveDetector, TrackState
from tests.conftest import ROOT, free_port, shared_path


# Under pytest-xdist (--dist loadgroup) this module's tests run in one worker, so its module fixtures
# (a worker process, a trained model, an export) are made once.
pytestmark = pytest.mark.xdist_group("test_live")


def _collect(source, cfg, timeout=300):
    results, events, status = [], [], []
    det = LiveDetector(source, cfg, on_result=results.append, on_event=events.append, on_status=status.append)
    det.start()
    assert det.join(timeout), "detector did not finish"
    return det, results, events, status


# ---- bounded queue ----------------------------------------------------------------------------------
def test_drop_queue_drops_oldest_when_full():
    q = DropQueue(2, drop_oldest=True)
    assert q.put(1) == 0 and q.put(2) == 0
    assert q.put(3) == 1  # 1 dropped
    assert len(q) == 2
    assert q.get(0.1) == 2 and q.get(0.1) == 3
    assert q.get(0.05) is None
    q.close()
    assert q.get(0.05) is DropQueue.CLOSED


def test_drop_queue_blocks_without_dropping_until_consumed():
    q = DropQueue(1, drop_oldest=False)
    q.put("a")
    done = threading.Event()
    threading.Thread(target=lambda: (q.put("b"), done.set()), daemon=True).start()
    assert not done.wait(0.3)  # blocked: full, nothing dropped
    assert q.get(1) == "a"
    assert done.wait(2)
    assert q.get(1) == "b"


# ---- label smoothing / hysteresis / alerts (the real fall checkpoint) ---------------------------------
@pytest.fixture(scope="module")
def fall_clf():
    from core.classify import TrackClassifier
    from core.defaults import default_classifier_path

    p = default_classifier_path("fall")
    if p is None:
        pytest.skip("shipped fall checkpoint not installed")
    return TrackClassifier(p)


def test_hysteresis_enters_high_and_leaves_low(fall_clf):
    lt = LabelTracker(fall_clf, LiveConfig(smooth_windows=1, enter_prob=0.6, exit_prob=0.4), 30.0)
    st = lt.new_state()
    seq = [([0.9, 0.05, 0.05], "upright"), ([0.45, 0.55, 0.0], "upright"),   # 0.55 < enter: stays upright
           ([0.3, 0.7, 0.0], "falling"), ([0.5, 0.45, 0.05], "falling"),       # 0.45 >= exit: keeps falling
           ([0.2, 0.1, 0.7], "lying"),                                         # another abnormal label >= enter
           ([0.65, 0.0, 0.35], "upright")]                                     # lying 0.35 < exit: back
    for probs, want in seq:
        st.probs.append(np.asarray(probs, np.float32))
        lt.decide(st)
        assert st.label == want, (probs, st.label)


def test_smoothing_averages_last_windows(fall_clf):
    lt = LabelTracker(fall_clf, LiveConfig(smooth_windows=3), 30.0)
    st = lt.new_state()
    for p in ([1, 0, 0], [1, 0, 0], [0, 1, 0]):
        st.probs.append(np.asarray(p, np.float32))
    lt.decide(st)
    assert st.label == "upright" and st.prob == pytest.approx(2 / 3)
    st.probs.append(np.asarray([0, 1, 0], np.float32))  # window now [1,0,0], [0,1,0], [0,1,0]
    lt.decide(st)
    assert st.label == "falling" and st.prob == pytest.approx(2 / 3)


def test_label_tracker_on_fall04_poses(fall_clf, fall04_skeletons):
    """The classify stage alone on Fall04's cached skeletons: track 1 is upright well before the fall and
    a fall alert comes after the labelled fall start (frame 174)."""
    c = fall04_skeletons
    lt = LabelTracker(fall_clf, LiveConfig(), c.fps)
    alerts = []
    for f in range(c.frame_count):
        labels, a = lt.update(c.poses(f))
        if f == 100:
            assert labels[1].name == "upright"
        alerts += [(f, *x) for x in a]
    assert alerts and alerts[0][0] >= 174 and alerts[0][2] in ("falling", "lying")
    assert all(isinstance(t, TrackState) for t in lt.tracks.values())


def test_short_new_track_gets_a_label_and_can_inherit_by_stitching(fall_clf):
    """A track of 2 detections is classified (padded window); a new track starting where a lost one ended
    inherits its buffer."""
    from core.pose.base import FramePoses, Person

    lt = LabelTracker(fall_clf, LiveConfig(stitch_s=1.0), 30.0)
    kp = np.zeros((17, 3), np.float32)
    kp[:, 0] = np.linspace(100, 140, 17)
    kp[:, 1] = np.linspace(50, 300, 17)
    kp[:, 2] = 0.9
    box = np.array([90, 40, 150, 310], np.float32)
    for f in range(2):
        labels, _ = lt.update(FramePoses(f, f / 30, "coco17", 640, 480, [Person(5, box, kp, 0.9, "coco17")]))
    assert 5 in labels  # 2 detections: padded window, still a label
    lt.update(FramePoses(2, 2 / 30, "coco17", 640, 480, []))
    labels, _ = lt.update(FramePoses(3, 3 / 30, "coco17", 640, 480, [Person(9, box + 5, kp, 0.9, "coco17")]))
    assert lt.stitched == 1 and lt.tracks[9].count == 3 and 5 not in lt.tracks


# ---- the detector on files ----------------------------------------------------------------------------
def test_bad_classifier_raises_at_construction(tmp_path, fall04):
    with pytest.raises(ModelError, match="not found"):
        LiveDetector(str(fall04), LiveConfig(classifier=str(tmp_path / "none.pt")))
    with pytest.raises(ModelError):
        LiveDetector(str(fall04), LiveConfig(classifier="nonsense-kind"))


def test_file_without_pacing_processes_every_frame_in_order(fall04):
    det, results, events, status = _collect(str(fall04), LiveConfig(stop_frame=48, classifier="fall"))
    assert det.error is None and not det.running
    assert [r.frame_index for r in results] == list(range(48))
    r = results[-1]
    assert r.image.shape == (720, 406, 3) and r.image.dtype == np.uint8
    assert r.labels is not None and set(r.labels) == {p.track_id for p in r.poses.persons}
    assert all(lab.name == "upright" for lab in r.labels.values())  # the person walks upright at 1.6 s
    p = r.poses.persons[0]
    assert p.keypoints.shape == (17, 3) and 0 <= p.bbox[0] < p.bbox[2] <= 406  # original pixels
    assert r.time_s == pytest.approx(47 / det.fps_source)
    st = det.stats()
    assert st["frames"] == 48 and st["dropped"] == 0 and st["latency_p95_ms"] > 0
    assert status[0].startswith("connecting to") and "finished" in status and status[-1] == "stopped"
    assert events == []


def test_no_classifier_gives_no_labels(fall04):
    det, results, _, _ = _collect(str(fall04), LiveConfig(stop_frame=5, classifier=None))
    assert len(results) == 5 and all(r.labels is None for r in results)


def test_realtime_pacing_drops_oldest_frames_when_behind(street_clip):
    """Paced at 500 frames/s (far beyond what the CPU can pose): frames are dropped, never queued without
    bound, and the newest frames still arrive in order."""
    cfg = LiveConfig(realtime=True, pace_fps=500.0, stop_frame=150, classifier=None, queue_size=2)
    det, results, _, _ = _collect(str(street_clip), cfg)
    idx = [r.frame_index for r in results]
    st = det.stats()
    assert st["dropped"] > 0
    assert len(idx) + st["dropped"] <= 150
    assert idx == sorted(idx) and idx[-1] >= 140  # the last frames were processed: it kept up with the newest
    assert results[-1].dropped == st["dropped"] or results[-1].dropped <= st["dropped"]


def test_loop_restarts_a_file(tmp_path):
    clip = shared_path("data", "videos", "normal", "nofi004.mp4")  # 50 frames
    seen = []
    det = LiveDetector(str(clip), LiveConfig(loop=True, classifier=None, width=320),
                       on_result=lambda r: seen.append(r.frame_index))
    det.start()
    t0 = time.monotonic()
    while len(seen) < 70 and time.monotonic() - t0 < 120:
        time.sleep(0.1)
    det.stop()
    assert det.join(30)
    assert len(seen) >= 70 and seen[:70] == list(range(70))  # indices keep counting across loops


def test_alert_writes_jsonl_snapshot_and_clip(tmp_path, fall04):
    cfg = LiveConfig(classifier="fall", events_dir=str(tmp_path), pre_s=1.0, post_s=0.5, start_frame=150,
                     stop_frame=260)
    det, results, events, status = _collect(str(fall04), cfg)
    assert det.error is None
    assert events and all(isinstance(e, AlertEvent) for e in events)
    e = events[0]
    assert e.label in ("falling", "lying") and 174 <= e.frame_index <= 174 + 2 * 29
    lines = [json.loads(x) for x in (tmp_path / "events.jsonl").read_text().splitlines()]
    assert len(lines) == len(events)
    assert set(lines[0]) == {"time_s", "frame", "track_id", "label", "prob", "wall_time", "snapshot", "clip", "camera"}
    assert lines[0]["frame"] == e.frame_index and lines[0]["time_s"] == pytest.approx(e.frame_index / det.fps_source, abs=1e-3)
    snap = cv2.imread(lines[0]["snapshot"])
    assert snap is not None and snap.shape == (720, 406, 3)
    cap = cv2.VideoCapture(lines[0]["clip"])
    n = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
    cap.release()
    want = round(1.0 * det.fps_source) + 1 + round(0.5 * det.fps_source)  # pre buffer incl. alert frame + post
    assert abs(n - want) <= 2, (n, want)
    assert det.clips_written == len(events)


# ---- live sources: missing camera, a stream that dies and comes back -------------------------------------
def test_missing_webcam_reports_a_clear_error():
    status = []
    det = LiveDetector(9, LiveConfig(classifier=None), on_status=status.append)
    det.start()
    assert det.join(30)
    assert not det.running
    assert any(s.startswith("error: ") and "webcam" in s and "9" in s for s in status), status
    assert det.error


_MJPEG_SERVER = r'''
import sys, time, cv2, numpy as np
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
class H(BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Type", "multipart/x-mixed-replace; boundary=frame")
        self.end_headers()
        i = 0
        try:
            while True:
                img = np.full((240, 320, 3), (i * 5) % 255, np.uint8)
                jpg = cv2.imencode(".jpg", img)[1].tobytes()
                self.wfile.write(b"--frame\r\nContent-Type: image/jpeg\r\nContent-Length: %d\r\n\r\n" % len(jpg) + jpg + b"\r\n")
                i += 1
                time.sleep(0.04)
        except Exception:
            pass
    def log_message(self, *a):
        pass
ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
'''


def _serve(port: int) -> subprocess.Popen:
    p = subprocess.Popen([sys.executable, "-c", _MJPEG_SERVER, str(port)], cwd=ROOT)
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return p
        except OSError:
            time.sleep(0.1)
    p.kill()
    raise RuntimeError("MJPEG test server did not start")


def test_stream_lost_reconnects_with_backoff_and_keeps_delivering():
    port = free_port()
    server = _serve(port)
    status: list[str] = []
    frames = collections.deque(maxlen=1000)
    det = LiveDetector(f"http://127.0.0.1:{port}/cam.mjpg", LiveConfig(classifier=None, width=320),
                       on_result=frames.append, on_status=status.append)
    try:
        det.start()
        t0 = time.monotonic()
        while len(frames) < 10 and time.monotonic() - t0 < 60:
            time.sleep(0.1)
        assert len(frames) >= 10, status
        server.kill()
        server.wait()
        t0 = time.monotonic()
        while sum("reconnecting in" in s for s in status) < 2 and time.monotonic() - t0 < 60:
            time.sleep(0.1)
        lost = [s for s in status if s.startswith("camera lost:")]
        assert len(lost) >= 2, status
        assert f"reconnecting in {BACKOFF_S[0]:.1f} s" in lost[0] and f"reconnecting in {BACKOFF_S[1]:.1f} s" in lost[1]
        assert det.running  # no error, still trying
        n_before = len(frames)
        server = _serve(port)
        t0 = time.monotonic()
        while len(frames) < n_before + 10 and time.monotonic() - t0 < 60:
            time.sleep(0.1)
        assert any(s.startswith("reconnected") for s in status), status
        assert len(frames) >= n_before + 10
        idx = [r.frame_index for r in frames]
        assert idx == sorted(idx)  # frame indices keep increasing across the reconnect
    finally:
        det.stop()
        assert det.join(30)
        server.kill()
        server.wait()
    assert status[-1] == "stopped" and det.error is None


def test_memory_stays_flat_on_a_looping_clip():
    """A short real run (the 10-minute figure is bench/live.py --memory-minutes 10): the looping clip with
    the classifier and alert buffers on; resident memory after warm-up grows by less than 50 MB and the
    per-track state stays bounded."""
    import psutil

    clip = shared_path("data", "videos", "normal", "nofi001.mp4")  # 78 frames, several people
    proc = psutil.Process()
    rss = {}
    seen = []

    def on_result(r):
        seen.append(r.frame_index)
        if len(seen) in (80, 400):
            rss[len(seen)] = proc.memory_info().rss

    det = LiveDetector(str(clip), LiveConfig(loop=True, classifier="fall", width=320, imgsz=320,
                                             events_dir=None), on_result=on_result)
    det.start()
    t0 = time.monotonic()
    while len(seen) < 400 and time.monotonic() - t0 < 300:
        time.sleep(0.2)
    det.stop()
    assert det.join(30) and det.error is None
    assert len(rss) == 2, f"only {len(seen)} frames in 300 s"
    assert (rss[400] - rss[80]) / 2**20 < 50
    assert len(det.labeler.tracks) < 30


def test_lean_onnx_pose_matches_the_ultralytics_predictor(street_clip):
    """core/pose/yolo_onnx.py calls ONNX Runtime directly; on the same exported model it must find the same
    people as the ultralytics predictor (same boxes, scores and keypoints)."""
    from core.pose.yolo_onnx import OnnxPoseEstimator
    from core.pose import create_estimator
    from core.video import open_source, resize_to_width

    lean = OnnxPoseEstimator()
    ref = create_estimator("yolo", runtime="onnx", device="cpu")
    with open_source(street_clip) as src:
        for i in (0, 60, 120):
            img, _ = resize_to_width(src.read(i).image, 640)
            b1, s1, k1 = lean.detect(img)
            b2, s2, k2 = ref.detect(img)
            assert len(b1) == len(b2) >= 3
            o1, o2 = np.argsort(-s1), np.argsort(-s2)
            np.testing.assert_allclose(b1[o1], b2[o2], atol=1.0)
            np.testing.assert_allclose(s1[o1], s2[o2], atol=1e-3)
            np.testing.assert_allclose(k1[o1][..., :2], k2[o2][..., :2], atol=1.0)
    assert lean.describe()["imgsz"] == 640


def test_two_pose_workers_track_every_frame_in_order_like_one(street_clip):
    """Two pose threads (each its own ONNX Runtime session) take frames in turn; the reorder buffer must hand
    the tracker every frame once, in order, so the tracks equal those of the single-worker path."""
    base = dict(stop_frame=40, classifier="fall", pose_model=None, precision="fp32")
    one, r1, _, _ = _collect(str(street_clip), LiveConfig(pose_workers=1, **base))
    two, r2, _, _ = _collect(str(street_clip), LiveConfig(pose_workers=2, **base))
    assert one.pose_workers() == 1 and two.pose_workers() == 2
    assert one.stats()["pose"] == "yolo11n-pose.pt fp32" and two.stats()["pose"] == "yolo11n-pose.pt fp32 x2 workers"
    assert one.error is None and two.error is None
    assert [r.frame_index for r in r2] == list(range(40)) == [r.frame_index for r in r1]
    for a, b in zip(r1, r2):
        assert [p.track_id for p in a.poses.persons] == [p.track_id for p in b.poses.persons]
        for p, q in zip(a.poses.persons, b.poses.persons):
            np.testing.assert_allclose(p.bbox, q.bbox, atol=0.05)  # 1 vs 2 ORT threads: float rounding only
            np.testing.assert_allclose(p.keypoints[:, :2], q.keypoints[:, :2], atol=0.05)
        assert a.poses.width == b.poses.width == 1280  # original pixels
        assert set(a.labels) == set(b.labels)
    assert max(len(r.poses.persons) for r in r2) >= 4


def test_onnx_classifier_equals_pytorch(fall_clf):
    """TrackClassifier.use_onnx(): the same probabilities as PyTorch (the live detector's default)."""
    from core.classify import TrackClassifier

    rng = np.random.default_rng(3)
    w = np.concatenate([rng.uniform(100, 400, (7, fall_clf.ckpt.window, 13, 2)),
                        rng.uniform(0.2, 1, (7, fall_clf.ckpt.window, 13, 1))], -1).astype(np.float32)
    ref = fall_clf.predict_windows(w)
    clf = TrackClassifier(fall_clf.path)
    assert clf.runtime == "torch"
    assert clf.use_onnx(1), clf.onnx_error
    assert clf.runtime == "onnxruntime"
    out = clf.predict_windows(w)
    assert out.shape == ref.shape == (7, len(clf.label_names)) and out.dtype == np.float32
    np.testing.assert_allclose(out, ref, atol=1e-5)
    np.testing.assert_allclose(out.sum(1), 1.0, atol=1e-5)
    assert clf.predict_windows(w[:0]).shape == (0, len(clf.label_names))


def test_a_second_classifier_of_the_same_file_reuses_the_export(fall_clf, tmp_path, monkeypatch):
    """use_onnx() keeps the checked export per checkpoint file (path, size, mtime): a second classifier of the file
    loads it without exporting and gives the same probabilities; a rewritten file is exported again."""
    import os
    import shutil

    import torch

    from core.classify import TrackClassifier

    path = tmp_path / "fall.pt"
    shutil.copy(fall_clf.path, path)
    first = TrackClassifier(path)
    assert first.use_onnx(1), first.onnx_error
    calls = []
    real = torch.onnx.export
    monkeypatch.setattr(torch.onnx, "export", lambda *a, **k: (calls.append(1), real(*a, **k))[1])
    second = TrackClassifier(path)
    assert second.use_onnx(1) and second.runtime == "onnxruntime" and calls == []
    w = np.random.default_rng(4).uniform(50, 300, (5, fall_clf.ckpt.window, 13, 3)).astype(np.float32)
    w[..., 2] = 0.9
    np.testing.assert_allclose(second.predict_windows(w), fall_clf.predict_windows(w), atol=1e-5)
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))  # the file rewritten (a newer checkpoint)
    third = TrackClassifier(path)
    assert third.use_onnx(1) and calls == [1]


def test_classifiers_exported_on_several_threads_at_once_all_run_on_onnx(fall_clf, tmp_path):
    """The cameras of a multi-camera detector load their classifiers on their own threads at the same moment:
    ``torch.onnx.export`` keeps process-wide state, and without ``core.modelfiles.ONNX_EXPORT_LOCK`` most fell back to
    PyTorch ("GLOBALS.in_onnx_export must be True"). Four copies of the file: four exports (one file's export is
    made once and reused)."""
    import shutil

    from core.classify import TrackClassifier

    copies = [shutil.copy(fall_clf.path, tmp_path / f"cam{k}.pt") for k in range(4)]
    clfs = [TrackClassifier(p) for p in copies]
    start = threading.Barrier(len(clfs))
    ok = [None] * len(clfs)

    def export(k):
        start.wait()
        ok[k] = clfs[k].use_onnx(1)

    ths = [threading.Thread(target=export, args=(k,)) for k in range(len(clfs))]
    for t in ths:
        t.start()
    for t in ths:
        t.join(120)
    assert ok == [True] * len(clfs), [c.onnx_error for c in clfs]


def test_int8_without_a_table_for_the_pose_model_says_so_and_runs_float(tmp_path, fall04):
    """A pose checkpoint with no INT8 calibration table: one status line, then the float model runs."""
    import shutil

    other = tmp_path / "mine-pose.pt"
    shutil.copy(shared_path("models", "yolo11n-pose.pt"), other)
    det, results, _, status = _collect(str(fall04), LiveConfig(stop_frame=6, classifier=None, pose_model=str(other)))
    assert det.error is None and len(results) == 6
    fallback = [m for m in status if m.startswith("INT8 pose model not available, running float32")]
    assert len(fallback) == 1 and "mine-pose.pt" in fallback[0], status  # said once for both workers
    assert det.stats()["pose"].startswith("mine-pose.pt fp32")
    assert any(r.poses.persons for r in results)


def test_headless_runner_reports_progress_and_one_error(tmp_path, fall04):
    """core.live.headless.run_detect (main.py detect's runner): progress per frame with the file's total, the
    annotated video, and a video it cannot write as one PoseWatchError."""
    import cv2

    from core.errors import PoseWatchError
    from core.live import LiveConfig
    from core.live.headless import run_detect

    seen = []
    cfg = LiveConfig(classifier=None, stop_frame=12)
    stats = run_detect(fall04, cfg, tmp_path / "e.jsonl", tmp_path / "v.mp4", on_progress=lambda d, t: seen.append((d, t)))
    assert stats["frames"] == 12 and seen[-1] == (12, 288) and [d for d, _ in seen] == list(range(1, 13))
    cap = cv2.VideoCapture(str(tmp_path / "v.mp4"))
    assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == 12
    cap.release()
    with pytest.raises(PoseWatchError, match="cannot write video"):
        run_detect(fall04, cfg, tmp_path / "e.jsonl", tmp_path / "v.mp4" / "x.mp4")
    with pytest.raises(PoseWatchError, match="folder of the events file does not exist"):
        run_detect(fall04, cfg, tmp_path / "no" / "e.jsonl")

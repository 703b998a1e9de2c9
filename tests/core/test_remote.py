"""The remote worker on loopback: a real ``python main.py worker`` process on 127.0.0.1 (CPU), real
models, real frames of the shared street clip and Fall04, real WebSocket/HTTP clients.

What "remote equals local" means here: the worker runs the same YOLO-pose + ByteTrack on the frame
it decodes from the client's JPEG. The exact comparison is therefore against a local estimator run
on the SAME JPEG-decoded frames (differences only from rounding on the wire, 0.01 px); a second,
looser comparison against local inference on the raw frames shows what JPEG (quality 90) changes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from core.remote import FallbackEstimator, RemoteError, RemotePoseEstimator, fetch_info, read_token
from core.remote import protocol as P
from tests.conftest import ROOT, WorkerProcess, free_port, self_signed_cert

# Under pytest-xdist (--dist loadgroup) this module's tests run in one worker, so its module fixtures
# (a worker process, a trained model, an export) are made once.
pytestmark = pytest.mark.xdist_group("test_remote")


TOKEN = "pw-test-token-6f1d2c"
N_FRAMES = 12


def start_worker(token_file: Path, port: int, *extra: str) -> WorkerProcess:
    """A real worker process (:class:`tests.conftest.WorkerProcess`); returns once /health answers."""
    return WorkerProcess(port, token_file, token_file.parent / f"worker-{port}.log", *extra).start()


@pytest.fixture(scope="module")
def token_file(tmp_path_factory, _session_cache, models_dir) -> Path:
    p = tmp_path_factory.mktemp("remote") / "token"
    p.write_text(TOKEN + "\n")
    return p


@pytest.fixture(scope="module")
def rgb_checkpoint(tmp_path_factory) -> Path:
    """A real (untrained) small r2plus1d checkpoint: the worker lists RGB clip models in /v1/info (issue 13)."""
    import models
    from core.classify import Checkpoint, save_checkpoint

    cfg = {"num_classes": 2, "in_channels": 3, **models.DEFAULT_CONFIGS["r2plus1d"]}
    m = models.build_model("r2plus1d", cfg)
    ck = Checkpoint("r2plus1d", cfg, ["normal", "fight"], 8, 4, "none", m.state_dict(), "rgb", in_channels=3,
                    fps=8.0, video={"kind": "rgb", "frames": 8, "size": [112, 112], "fps": 8.0, "stride_s": 0.5,
                                    "crop": "frame", "skeleton": None})
    return save_checkpoint(ck, tmp_path_factory.mktemp("rgb-ckpt") / "rgb.pt")


@pytest.fixture(scope="module")
def worker(token_file, rgb_checkpoint) -> str:
    """URL of a worker process shared by the tests of this module (with an RGB clip model registered as ``rgb``)."""
    port = free_port()
    w = start_worker(token_file, port, "--classifier", f"rgb={rgb_checkpoint}")
    yield f"ws://127.0.0.1:{port}"
    w.stop()


@pytest.fixture(scope="module")
def street_frames(street_clip) -> list[tuple[np.ndarray, int, float]]:
    """The first frames of the 6-person street clip (1280x720, 50 fps)."""
    from core.video import open_source

    with open_source(street_clip) as src:
        return [(f.image, f.index, f.time_s) for f in src.frames(0, N_FRAMES)]


@pytest.fixture(scope="module")
def reference(worker, street_frames):
    """One clean remote run over the street frames (width 640, fall classifier): the results every
    other client on a fresh connection must reproduce exactly."""
    with RemotePoseEstimator(worker, TOKEN, width=640, classifier="fall", frame_rate=50.0, timeout=60) as est:
        out = []
        for img, i, t in street_frames:
            fp = est.process(img, i, t)
            out.append((fp, dict(est.last_probs)))
        labels = est.labels
    return out, labels


def same_poses(a, b, tol=0.0) -> None:
    assert a.frame_index == b.frame_index
    assert a.track_ids() == b.track_ids()
    for p, q in zip(a.persons, b.persons, strict=True):
        np.testing.assert_allclose(p.keypoints, q.keypoints, atol=tol, rtol=0)
        np.testing.assert_allclose(p.bbox, q.bbox, atol=tol, rtol=0)


# ------------------------------------------------------------------------------------------ HTTP
def test_health_and_info(worker):
    http = worker.replace("ws://", "http://")
    with urllib.request.urlopen(http + "/health", timeout=5) as r:
        assert json.loads(r.read()) == {"status": "ok"}
    info = fetch_info(worker, TOKEN)
    assert info["device"] == "cpu" and info["gpu"] is None and info["runtime"] == "onnx"
    assert info["models"]["pose"]["model"] == "yolo11n-pose.pt"
    assert set(info["models"]["classifiers"]) >= {"fall", "abnormal"}
    assert info["models"]["classifiers"]["fall"]["labels"] == ["upright", "falling", "lying"]
    assert info["models"]["classifiers"]["fall"]["kind"] == "skeleton"
    rgb = info["models"]["classifiers"]["rgb"]  # listed with its input; the stream serves skeleton classifiers
    assert rgb == {"labels": ["normal", "fight"], "window": 8, "fps": 8.0, "kind": "rgb", "model": "r2plus1d",
                   "frames": 8, "size": [112, 112], "window_s": 1.0, "stream": False}
    assert {"torch", "ultralytics", "fastapi", "uvicorn", "posewatch"} <= set(info["versions"])
    assert {"clients", "queued", "dropped", "frames"} <= set(info["load"])


def test_missing_or_wrong_token_is_refused(worker):
    with pytest.raises(RemoteError, match="HTTP 403: wrong token"):
        fetch_info(worker, "not-the-token")
    http = worker.replace("ws://", "http://")
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(http + "/v1/info", timeout=5)
    assert e.value.code == 401 and "missing bearer token" in e.value.read().decode()
    with pytest.raises(RemoteError, match="refused the connection: HTTP 403: wrong token"):
        RemotePoseEstimator(worker, "not-the-token")
    from websockets.exceptions import InvalidStatus
    from websockets.sync.client import connect

    with pytest.raises(InvalidStatus) as e:
        connect(worker + "/v1/stream", proxy=None, legacy=True)
    assert e.value.response.status_code == 401 and b"missing bearer token" in e.value.response.body


def test_read_token(tmp_path):
    (tmp_path / "t").write_text("  abc \n")
    assert read_token(tmp_path / "t") == "abc"
    (tmp_path / "e").write_text("\n")
    with pytest.raises(RemoteError, match="empty"):
        read_token(tmp_path / "e")
    with pytest.raises(RemoteError, match="cannot read token file"):
        read_token(tmp_path / "missing")


# ---------------------------------------------------------------------------- remote == local
def test_remote_equals_local_on_the_same_jpeg_frames(reference, street_frames):
    from core.classify import TrackClassifier
    from core.defaults import default_classifier_path
    from core.layouts import to_common
    from core.pose import create_estimator
    from core.video import resize_to_width

    remote, labels = reference
    local = create_estimator("yolo", frame_rate=50.0)
    persons = []
    for (img, i, t), (rfp, _) in zip(street_frames, remote, strict=True):
        small, scale = resize_to_width(img, 640)
        assert small.shape[1] == 640
        fp = local.process(P.decode_jpeg(P.encode_jpeg(small, P.DEFAULT_JPEG_QUALITY)), i, t)
        for p in fp.persons:  # back to original pixels, as the client does
            p.bbox, p.keypoints = p.bbox / scale, p.keypoints.copy()
            p.keypoints[:, :2] /= scale
        # same persons, same track IDs; coordinates equal up to the wire's 0.01 px rounding (x2 scale)
        same_poses(rfp, fp, tol=0.05)
        assert (rfp.width, rfp.height) == (1280, 720)
        persons.append(len(rfp.persons))
    local.close()
    assert min(persons) >= 3  # a crowd, not an empty result that would trivially match

    # worker-side classification equals the offline predict rule on the same skeletons (causal: the
    # window ending at each frame, samples step = round(50 / 30) frames apart)
    clf = TrackClassifier(default_classifier_path("fall"))
    assert labels == clf.label_names
    tracks: dict[int, list] = {}
    for rfp, probs in remote:
        assert set(probs) == set(rfp.track_ids())
        for p in rfp.persons:
            tracks.setdefault(p.track_id, []).append((rfp.frame_index, to_common(p.keypoints, "coco17")))
            frames = np.array([f for f, _ in tracks[p.track_id]])
            kps = np.stack([k for _, k in tracks[p.track_id]])
            offline = clf.predict_track(kps, frames, fps=50.0)[-1]
            np.testing.assert_allclose(probs[p.track_id], offline, atol=2e-3)
            assert abs(float(probs[p.track_id].sum()) - 1.0) < 1e-3


def test_remote_mediapipe_equals_local_on_the_same_jpeg_frames(worker, fall04):
    """backend 'mediapipe': one MediaPipe landmarker per stream on the worker (VIDEO mode, in order)."""
    from core.pose import create_estimator
    from core.video import open_source

    with open_source(fall04) as src:
        frames = [(f.image, f.index, f.time_s) for f in src.frames(100, 106)]
    local = create_estimator("mediapipe", frame_rate=29.0)
    with RemotePoseEstimator(worker, TOKEN, backend="mediapipe", frame_rate=29.0, timeout=120) as est:
        assert est.layout == "mediapipe33" and est.settings["backend"] == "mediapipe"
        found = 0
        for img, i, t in frames:
            rfp = est.process(img, i, t)
            lfp = local.process(P.decode_jpeg(P.encode_jpeg(img, P.DEFAULT_JPEG_QUALITY)), i, t)
            same_poses(rfp, lfp, tol=0.05)
            found += len(rfp.persons)
    local.close()
    assert found >= 4


def _raw_comparison(worker, frames, fps):
    from core.extract import estimate_poses
    from core.pose import create_estimator

    local = create_estimator("yolo", frame_rate=fps)
    counts, diffs = [], []
    with RemotePoseEstimator(worker, TOKEN, width=640, frame_rate=fps, timeout=120) as est:
        for img, i, t in frames:
            rfp, lfp = est.process(img, i, t), estimate_poses(img, local, i, t, 640)
            counts.append((len(rfp.persons), len(lfp.persons)))
            for p in rfp.persons:  # nearest local person by box centre
                c = (p.bbox[:2] + p.bbox[2:]) / 2
                q = min(lfp.persons, key=lambda q: np.linalg.norm((q.bbox[:2] + q.bbox[2:]) / 2 - c))
                ok = (p.keypoints[:, 2] > 0.5) & (q.keypoints[:, 2] > 0.5)
                diffs.extend(np.linalg.norm(p.keypoints[ok, :2] - q.keypoints[ok, :2], axis=1))
    local.close()
    return counts, np.asarray(diffs)


def test_remote_close_to_local_on_raw_frames(worker, street_frames, fall04):
    """Against local inference on the raw (never JPEG-encoded) frames: JPEG at quality 90 moves
    keypoints by about a pixel, and a detection at the confidence threshold (0.25) can come or go.
    Measured here: Fall04 during the fall, the same count on 10 of 12 frames (the faller, plus a weak
    second detection); the street crowd, the same count on 7 of 12; median keypoint shift ~1.5 px."""
    from core.video import open_source

    with open_source(fall04) as src:
        fall_frames = [(f.image, f.index, f.time_s) for f in src.frames(170, 170 + N_FRAMES)]  # the fall
    for frames, fps in ((fall_frames, 29.0), (street_frames, 50.0)):
        counts, diffs = _raw_comparison(worker, frames, fps)
        assert all(r >= 1 and abs(r - loc) <= 1 for r, loc in counts), str(counts)
        assert sum(r == loc for r, loc in counts) >= len(counts) // 2, str(counts)
        assert len(diffs) >= 5 * N_FRAMES and np.median(diffs) < 2.5  # pixels of the original frame


# -------------------------------------------------------------------------------- concurrency
def test_four_clients_get_complete_ordered_results(worker, street_frames, reference):
    results: dict[int, list] = {}
    errors = []

    def client(k: int) -> None:
        try:
            with RemotePoseEstimator(worker, TOKEN, width=640, frame_rate=50.0, timeout=120) as est:
                results[k] = list(est.stream(street_frames[:8], depth=2))
                results[k].append(("dropped", est.dropped))
        except Exception as e:  # reported below
            errors.append(repr(e))

    threads = [threading.Thread(target=client, args=(k,)) for k in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout=600)
    assert not errors
    ref = [fp for fp, _ in reference[0][:8]]
    for k in range(4):
        *got, dropped = results[k]
        assert dropped == ("dropped", 0)
        assert [fi for fi, _ in got] == list(range(8))  # complete and in order
        for (fi, fp), r in zip(got, ref, strict=True):  # own tracker per connection: same as a lone client
            assert fp is not None and fp.frame_index == fi
            same_poses(fp, r, tol=1e-4)


def _raw(worker: str, **cfg):
    from websockets.sync.client import connect

    ws = connect(worker + "/v1/stream", additional_headers={"Authorization": f"Bearer {TOKEN}"}, proxy=None, legacy=True,
                 compression=None, max_size=None, open_timeout=30)
    ws.send(json.dumps({"type": "config", **cfg}))
    return ws, json.loads(ws.recv(timeout=60))


def test_full_queue_drops_oldest_frames_and_says_so(worker, street_frames):
    ws, ready = _raw(worker, queue=1, fps=50.0)
    assert ready["type"] == "ready" and ready["queue"] == 1
    jpeg = P.encode_jpeg(street_frames[0][0][::2, ::2])
    for seq in range(1, 7):  # much faster than the worker can infer
        ws.send(P.pack_frame(jpeg, seq, seq - 1, (seq - 1) / 50, 1280, 720))
    answered, kinds = [], {}
    while len(answered) < 6:
        m = json.loads(ws.recv(timeout=120))
        answered.append(m["seq"])
        kinds[m["seq"]] = m["type"]
        if m["type"] == "dropped":
            assert "queue" in m["reason"] and m["frame_index"] == m["seq"] - 1
    ws.close()
    assert sorted(answered) == list(range(1, 7))  # every frame answered exactly once
    assert "dropped" in kinds.values() and kinds[6] == "result"  # the newest frame is never the one dropped
    results = [s for s in answered if kinds[s] == "result"]
    assert results == sorted(results)
    dropped = [s for s in sorted(kinds) if kinds[s] == "dropped"]
    assert all(d < max(results) for d in dropped)  # oldest first


def test_bad_messages_get_errors_while_others_are_served(worker, street_frames, reference):
    from websockets.exceptions import ConnectionClosed

    good = RemotePoseEstimator(worker, TOKEN, width=640, frame_rate=50.0, timeout=120)
    ref = [fp for fp, _ in reference[0]]
    k = 0

    def serve_good():
        nonlocal k
        img, i, t = street_frames[k]
        same_poses(good.process(img, i, t), ref[k], tol=1e-4)
        k += 1

    bad, _ = _raw(worker, fps=50.0)
    jpeg = P.encode_jpeg(street_frames[0][0][::2, ::2])
    hdr = json.dumps({"type": "frame", "seq": 1, "frame_index": 0, "time_s": 0.0, "orig_w": 640, "orig_h": 360,
                      "path": "/etc/passwd"}).encode()
    cases = [
        ("this is not json", "not JSON"),
        (json.dumps({"type": "load_module", "module": "os"}), "unknown message type"),
        (json.dumps({"type": "config", "classifier": "fall"}), "only be sent once"),
        (b"\x00\x01", "too short"),
        (b"\x00\x00\xff\xff" + b"{}", "header length"),
        (len(hdr).to_bytes(4, "big") + hdr + jpeg, "unknown field(s) in frame header: path"),
        (P.pack_frame(b"GIF89a not a jpeg", 2, 1, 0.02, 640, 360), "not a JPEG"),
        (P.pack_frame(jpeg, -3, 1, 0.02, 640, 360), "'seq' must be an integer"),
    ]
    for msg, why in cases:
        bad.send(msg)
        m = json.loads(bad.recv(timeout=60))
        assert m["type"] == "error" and why in m["message"], (why, m)
        serve_good()
    # the connection survived all that and still works
    bad.send(P.pack_frame(jpeg, 3, 0, 0.0, 1280, 720))
    assert json.loads(bad.recv(timeout=120))["type"] == "result"
    # an oversized message closes that connection (1009), nobody else's
    with pytest.raises(ConnectionClosed) as e:
        bad.send(b"\x00" * (P.MAX_MESSAGE_BYTES + 1024))
        bad.recv(timeout=60)
    # the worker closes with 1009 (message too big) at the frame header; the client, still sending,
    # may only see the TCP connection end
    assert e.value.rcvd is None or e.value.rcvd.code == 1009
    serve_good()
    # a classifier is chosen by registry name only; paths are refused before anything is loaded
    for name, why in (("/etc/passwd", "registry"), ("os.system", "registry"), ("nope", "unknown classifier 'nope'"),
                      ("rgb", "'rgb' is an RGB clip model")):
        with pytest.raises(RemoteError, match=why):
            RemotePoseEstimator(worker, TOKEN, classifier=name)
    serve_good()
    good.close()
    assert fetch_info(worker, TOKEN)["load"]["errors"] >= len(cases)


def test_streams_beyond_max_clients_are_refused(worker):
    conns = []
    try:
        deadline = time.monotonic() + 60
        while fetch_info(worker, TOKEN)["load"]["clients"] and time.monotonic() < deadline:
            time.sleep(0.2)  # earlier tests' connections are gone
        for _ in range(8):  # the worker's default --max-clients
            ws, ready = _raw(worker, fps=30.0)
            assert ready["type"] == "ready"
            conns.append(ws)
        with pytest.raises(RemoteError, match="HTTP 503: worker full: 8 streams already connected"):
            RemotePoseEstimator(worker, TOKEN)
    finally:
        for ws in conns:
            ws.close()


# ------------------------------------------------------------------------------------- fallback
def test_worker_killed_mid_stream_falls_back_to_local_and_reconnects(token_file, worker, street_frames):
    from core.extract import estimate_poses
    from core.pose import create_estimator

    port = free_port()
    w = start_worker(token_file, port)
    target = [f"ws://127.0.0.1:{port}"]
    statuses: list[str] = []
    fb = FallbackEstimator(lambda: RemotePoseEstimator(target[0], TOKEN, frame_rate=50.0, timeout=60),
                           lambda: create_estimator("yolo", frame_rate=50.0), statuses.append, backoff=(0.2,))
    try:
        assert fb.using_remote
        local_ref = create_estimator("yolo", frame_rate=50.0)
        for k, (img, i, t) in enumerate(street_frames[:10]):
            if k == 3:
                w.kill()  # the worker dies mid-stream
            if k == 6:
                target[0] = worker  # a worker is back at the address the factory uses
            fp = estimate_poses(img, fb, i, t, 640)
            assert fp.frame_index == i and (fp.width, fp.height) == (1280, 720)
            assert len(fp.persons) >= 3
            if k == 3:
                # that very frame was done locally, by a freshly reset tracker: IDs restart
                assert not fb.using_remote
                local_ref.reset()
                same_poses(fp, estimate_poses(img, local_ref, i, t, 640), tol=1e-3)
        assert any(s.startswith("remote worker lost:") and "using local inference, reconnecting in 0.2 s" in s
                   for s in statuses), statuses
        deadline = time.monotonic() + 120
        while not fb.using_remote and time.monotonic() < deadline:  # reconnection runs in the background
            img, i, t = street_frames[10]
            estimate_poses(img, fb, i, t, 640)
            time.sleep(0.2)
        assert fb.using_remote, statuses
        assert any("reconnected" in s for s in statuses)
        local_ref.close()
    finally:
        fb.close()
        w.stop()


def test_unreachable_worker_falls_back_from_the_start(street_frames):
    from core.pose import create_estimator

    statuses: list[str] = []
    port = free_port()  # nothing listens there
    fb = FallbackEstimator(lambda: RemotePoseEstimator(f"ws://127.0.0.1:{port}", TOKEN, timeout=2),
                           lambda: create_estimator("yolo"), statuses.append, backoff=(30,))
    img, i, t = street_frames[0]
    fp = fb.process(img, i, t)
    assert not fb.using_remote and fp.frame_index == i and len(fp.persons) >= 3
    assert statuses and statuses[0].startswith("remote worker unavailable: cannot reach worker")
    fb.close()


# ------------------------------------------------------------------------------------------ TLS
def test_tls_worker(tmp_path, token_file, street_frames):
    cert, key = self_signed_cert(tmp_path)
    port = free_port()
    w = start_worker(token_file, port, "--tls-cert", str(cert), "--tls-key", str(key))
    try:
        url = f"wss://127.0.0.1:{port}"
        assert fetch_info(url, TOKEN, cafile=str(cert))["device"] == "cpu"
        with pytest.raises(RemoteError, match="CERTIFICATE_VERIFY_FAILED|certificate verify failed"):
            fetch_info(url, TOKEN)  # not trusted without the certificate
        with pytest.raises(RemoteError, match="cannot reach worker"):
            RemotePoseEstimator(f"ws://127.0.0.1:{port}", TOKEN, timeout=5)  # plain text to a TLS port
        with RemotePoseEstimator(url, TOKEN, width=640, cafile=str(cert), frame_rate=50.0, timeout=60) as est:
            img, i, t = street_frames[0]
            fp = est.process(img, i, t)
            assert fp.frame_index == i and len(fp.persons) >= 3
    finally:
        w.stop()


# ------------------------------------------------------------------------------------------ CLI
def _cli(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "main.py", *args], cwd=ROOT, env=dict(os.environ), capture_output=True,
                          text=True, timeout=timeout)


def test_cli_extract_remote(tmp_path, worker, token_file, fall04):
    import cv2
    import pandas as pd

    from core.video import open_source

    clip = tmp_path / "fall04_head.avi"
    with open_source(fall04) as src:
        w = cv2.VideoWriter(str(clip), cv2.VideoWriter_fourcc(*"MJPG"), src.info.fps, (src.info.width, src.info.height))
        for fr in src.frames(0, 10):
            w.write(fr.image)
        w.release()
    out = tmp_path / "remote.csv"
    r = _cli("extract", str(clip), "--out", str(out), "--remote", worker, "--token-file", str(token_file),
             "--width", "320")
    assert r.returncode == 0, r.stderr
    assert "remote worker http://127.0.0.1" in r.stderr and "(cpu)" in r.stderr
    df = pd.read_csv(out)
    assert sorted(df["frame"].unique()) == list(range(10))  # a person in every frame, none missing
    assert df["NOSE_X"].between(0, 406).all() and df["NOSE_Y"].between(0, 720).all()  # original pixels

    bad = tmp_path / "bad_token"
    bad.write_text("nope")
    r = _cli("extract", str(clip), "--out", str(tmp_path / "x.csv"), "--remote", worker, "--token-file", str(bad))
    assert r.returncode == 2 and r.stderr.strip().splitlines()[-1].endswith("HTTP 403: wrong token"), r.stderr
    assert "Traceback" not in r.stderr


@pytest.mark.parametrize("case", ["missing", "empty", "half_tls"])
def test_cli_worker_bad_settings(tmp_path, case):
    tok = tmp_path / "token"
    args = ["worker", "--port", str(free_port()), "--token-file", str(tok)]
    if case == "empty":
        tok.write_text("\n")
    if case == "half_tls":
        tok.write_text("abc")
        args += ["--tls-cert", str(tmp_path / "cert.pem")]
    r = _cli(*args, timeout=120)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    want = {"missing": "cannot read token file", "empty": "is empty", "half_tls": "TLS needs both"}[case]
    assert r.stderr.startswith("error: ") and want in r.stderr, r.stderr


# ------------------------------------------------------------------------------------- protocol
def test_protocol_checks_jpeg_size_before_decoding_and_whitelists_fields():
    img = np.full((48, 64, 3), 128, np.uint8)
    data = bytearray(P.encode_jpeg(img))
    assert P.jpeg_size(data) == (64, 48)
    assert P.decode_jpeg(bytes(data)).shape == (48, 64, 3)
    # claim 60000 x 60000 pixels in the frame header: refused without decoding (no 10 GB allocation)
    i = bytes(data).index(b"\xff\xc0")
    data[i + 5:i + 9] = (60000).to_bytes(2, "big") * 2
    with pytest.raises(P.ProtocolError, match="60000x60000 pixels refused"):
        P.decode_jpeg(bytes(data))
    with pytest.raises(P.ProtocolError, match="not a JPEG"):
        P.decode_jpeg(b"\x89PNG\r\n")
    hdr, jpeg = P.unpack_frame(P.pack_frame(b"\xff\xd8xx", 7, 3, 0.1, 640, 360))
    assert hdr == {"seq": 7, "frame_index": 3, "time_s": 0.1, "orig_w": 640, "orig_h": 360} and bytes(jpeg) == b"\xff\xd8xx"
    assert P.parse_text('{"type": "config"}')["classifier"] is None
    for text, why in (('{"type": "config", "classifier": "../models/x.pt"}', "no paths"),
                      ('{"type": "config", "backend": "/tmp/evil.py"}', "unknown backend"),
                      ('{"type": "config", "model": "x.pt"}', "unknown field"),
                      ('{"type": "config", "queue": 10000}', "'queue' must be an integer"),
                      ('{"type": "config", "fps": "NaN"}', "'fps' must be a number"),
                      ("[1, 2]", "JSON object"), ("x" * 5000, "refused")):
        with pytest.raises(P.ProtocolError, match=why):
            P.parse_text(text)

"""Static INT8 YOLO-pose (core.pose.int8): built from the shipped calibration table with the real model, compared
with the float model on real clips held out of the calibration (the street crowd and the portrait Fall04)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

from core.errors import ModelError
from tests.conftest import ROOT, shared_path


# Under pytest-xdist (--dist loadgroup) this module's tests run in one worker, so its module fixtures
# (a worker process, a trained model, an export) are made once.
pytestmark = pytest.mark.xdist_group("test_int8")


def cli(*args) -> subprocess.CompletedProcess:
    """``python main.py ARGS`` as a real subprocess (the environment of the test session)."""
    return subprocess.run([sys.executable, str(ROOT / "main.py"), *map(str, args)], capture_output=True, text=True,
                          cwd=ROOT, env=dict(os.environ), timeout=600)


@pytest.fixture(scope="module")
def int8_path(models_dir):
    from core.pose.int8 import int8_model

    return int8_model()


@pytest.fixture(scope="module")
def estimators(int8_path):
    from core.pose.yolo_onnx import OnnxPoseEstimator

    return OnnxPoseEstimator(threads=2), OnnxPoseEstimator(threads=2, precision="int8")


def test_float_nodes_keep_the_decode_head_and_attention_adds_float(int8_path):
    import onnx

    from core.pose.int8 import float_nodes

    m = onnx.load(str(int8_path))  # the float nodes keep their names in the quantized graph
    names = float_nodes(m)
    ops = {n.name: n.op_type for n in m.graph.node}
    head = [n for n in names if n.startswith("/model.23/")]
    rest = [n for n in names if not n.startswith("/model.23/")]
    assert rest and all(n.startswith("/model.10/") and ops[n] == "Add" for n in rest)
    finals = [n for n in head if "/cv" in n and ".2/" in n and ops[n] == "Conv"]
    assert len(finals) == 9  # cv2/cv3/cv4 x 3 scales
    assert any("/dfl/" in n for n in head)
    assert not any(n.startswith("/model.23/cv2.0/cv2.0.0/") for n in names)  # inner branch convs are quantized
    # the kept-float convolutions really keep float weights; the others take int8 weights through DequantizeLinear
    dq = {o for n in m.graph.node if n.op_type == "DequantizeLinear" for o in n.output}
    int8_weights = {n.name for n in m.graph.node if n.op_type == "Conv" and n.input[1] in dq}
    assert "/model.23/cv2.0/cv2.0.0/conv/Conv" in int8_weights and not (set(finals) & int8_weights)


@pytest.mark.parametrize("clip", ["street", "fall04", "fi010"])
def test_int8_agrees_with_float_on_held_out_clips(clip, estimators, street_clip, fall04):
    """fi010 (a fight in a shop, 640x360): on a CPU whose kernels saturate (an AVX2 EPYC) the INT8 model found 10 %
    of the float model's persons here before it ran exact kernels there; with them, 99 %."""
    from core.pose.int8 import agreement, calibration_frames

    path = {"street": street_clip, "fall04": fall04,  # fall04 is portrait (406x720)
            "fi010": shared_path("data", "videos", "fight", "fi010.mp4")}[clip]
    frames = calibration_frames(path, 30, 3, 640)
    fp32, int8 = estimators
    ref = [fp32.detect(f) for f in frames]
    res = agreement(ref, [int8.detect(f) for f in frames])
    assert res["persons_ref"] >= 25
    assert res["recall_conf50"] >= 0.95, res
    assert res["kpt_err_pct_median"] < 2.0, res
    assert res["precision"] >= 0.8, res


def test_u8s8_probe_sees_saturation_where_it_is_and_exact_kernels_are_set_only_there(estimators):
    """The probe's sums: exact with ONNX Runtime's U8U8 kernels on every CPU; with its default U8S8 kernels either
    exact (VNNI, ARM) or pairs clamped at 32,767 (about half the exact sum). The INT8 estimator's session has the
    exact kernels where, and only where, they saturate."""
    from core.pose.int8 import EXACT_KERNELS_OPTION, u8s8_product_ratio, u8s8_saturates

    ratios = []
    for channels in (3, 64):
        assert u8s8_product_ratio(channels, exact_kernels=True) == pytest.approx(1.0, abs=0.01)
        ratio = u8s8_product_ratio(channels)
        clamped = (channels // 2 * 32767 + channels % 2 * 255 * 127) / (channels * 255 * 127)  # 0.671, 0.506
        assert ratio == pytest.approx(1.0, abs=0.01) or ratio == pytest.approx(clamped, abs=0.01), ratio
        ratios.append(ratio)
    assert u8s8_saturates() == (min(ratios) < 0.95)
    fp32, int8 = estimators

    def option(est):
        try:  # ONNX Runtime raises for a key that was never set
            return est.session.get_session_options().get_session_config_entry(EXACT_KERNELS_OPTION)
        except RuntimeError:
            return None

    assert option(int8) == ("1" if u8s8_saturates() else None) and option(fp32) is None
    # in the skeleton cache's key only where set: the keys of other caches stay as they were
    assert int8.describe().get("exact_kernels", False) == u8s8_saturates() and "exact_kernels" not in fp32.describe()
    assert set(fp32.describe()) == {"backend", "layout", "model", "sha", "imgsz", "conf", "tracker", "runtime",
                                    "precision"}


def test_seven_bit_weights_stay_within_seven_bits(int8_path):
    """``reduce_range`` (the other remedy, measured in bench/int8_pose.py): every int8 weight within [-64, 64];
    the 8-bit model's per-channel symmetric weights reach 127."""
    import onnx
    from onnx import numpy_helper

    from core.pose.int8 import int8_model

    def largest(path):
        m = onnx.load(str(path))
        ws = [numpy_helper.to_array(t) for t in m.graph.initializer if t.data_type == onnx.TensorProto.INT8]
        assert len(ws) > 50
        return max(int(abs(w.astype(int)).max()) for w in ws)

    w7 = int8_model(reduce_range=True)
    assert w7 != int8_path and w7.parent.name.endswith("-w7")
    assert largest(w7) <= 64 and largest(int8_path) == 127


def test_estimator_int8_process_and_describe(estimators, street_clip):
    from core.video import open_source, resize_to_width

    _, int8 = estimators
    assert int8.describe()["precision"] == "int8"
    with open_source(street_clip) as src:
        img = resize_to_width(src.read(10).image, 640)[0]
    fp = int8.process(img, 10, 0.2)
    assert len(fp.persons) >= 3
    assert fp.persons[0].keypoints.shape == (17, 3)


def test_int8_with_onnx_path_or_unknown_precision_is_a_model_error(int8_path):
    from core.pose.yolo_onnx import OnnxPoseEstimator

    with pytest.raises(ModelError, match="needs a YOLO-pose .pt"):
        OnnxPoseEstimator(str(int8_path), precision="int8")
    with pytest.raises(ModelError, match="unknown precision"):
        OnnxPoseEstimator(precision="fp16")


def _shipped() -> dict:
    from core.pose.int8 import shipped_table

    return json.loads(shipped_table("yolo11n-pose.pt").read_text())


def test_table_for_another_model_is_refused(tmp_path, int8_path):
    from core.pose.int8 import int8_model

    t = _shipped()
    t["posewatch"]["model_sha256"] = "0" * 64
    t["posewatch"]["model"] = "yolo11s-pose.pt"
    p = tmp_path / "other.int8.json"
    p.write_text(json.dumps(t))
    with pytest.raises(ModelError, match="was made for yolo11s-pose.pt .*calibrate-int8"):
        int8_model(calibration=p)
    # another checkpoint (here: a copy under another name) with no table of its own
    other = tmp_path / "mine-pose.pt"
    shutil.copy(shared_path("models", "yolo11n-pose.pt"), other)
    with pytest.raises(ModelError, match="no INT8 calibration table for mine-pose.pt.*calibrate-int8"):
        int8_model(other)


def test_corrupt_or_incomplete_table_is_refused(tmp_path, int8_path):
    from core.pose.int8 import int8_model

    bad = tmp_path / "bad.json"
    bad.write_text('{"CLS": "TensorsData", "data": {')
    with pytest.raises(ModelError, match="unreadable or corrupt"):
        int8_model(calibration=bad)
    bad.write_text(json.dumps({"some": "json"}))
    with pytest.raises(ModelError, match="not a PoseWatch INT8 calibration table"):
        int8_model(calibration=bad)
    t = _shipped()
    first = next(iter(t["data"]))
    t["data"][first]["highest"]["data"] = [float("nan")]
    bad.write_text(json.dumps(t))
    with pytest.raises(ModelError, match="bad range"):
        int8_model(calibration=bad)
    t = _shipped()
    for k in [k for k in t["data"] if k.startswith("/model.2/")]:
        del t["data"][k]
    bad.write_text(json.dumps(t))
    with pytest.raises(ModelError, match="does not fit yolo11n-pose.pt: no ranges for"):
        int8_model(calibration=bad)


def test_cli_calibrate_int8_writes_a_table_int8_model_accepts(tmp_path, fall04, pets_clip):
    from core.pose.int8 import int8_model, read_table

    out = tmp_path / "mine.int8.json"
    r = cli("calibrate-int8", fall04, pets_clip, "--out", out, "--frames-per-video", "2", "--every", "5")
    assert r.returncode == 0, r.stderr
    meta = read_table(out)["posewatch"]
    assert meta["frames"] == 4 and meta["clips"] == ["fall/thanhnc58_Fall04.mp4", "normal/vtest_pets2009_480x360.avi"]
    path = int8_model(calibration=out)
    assert path.is_file() and path != int8_model()  # its own cache entry, keyed by the table
    r = cli("calibrate-int8", tmp_path / "missing.mp4", "--out", out)
    assert r.returncode == 2 and r.stderr.strip().splitlines()[-1].startswith("error: video not found")


def test_pooled_features_match_the_torch_block_and_leave_the_poses_unchanged(estimators, int8_path, street_clip,
                                                                              models_dir):
    """The extra pooled output (issue 15's backbone-feature experiment) is block 10's spatial mean in the float
    graph (against a forward hook on the PyTorch model), close to it in the INT8 graph, and adding it changes no
    detection; a graph without the block is a one-line ModelError."""
    import numpy as np
    import onnx
    import torch
    from ultralytics import YOLO

    from core.pose.int8 import calibration_frames
    from core.pose.letterbox import letterbox_blob
    from core.pose.yolo_onnx import OnnxPoseEstimator, with_pooled_output

    frames = calibration_frames(street_clip, 3, 5, 640)
    fp32, int8 = estimators
    pf, pi = OnnxPoseEstimator(threads=2, pooled_layer=10), OnnxPoseEstimator(threads=2, precision="int8",
                                                                             pooled_layer=10)
    dets_f, feats_f = pf.detect_batch_pooled(frames)
    dets_i, feats_i = pi.detect_batch_pooled(frames)
    assert feats_f.shape == (3, 256) and feats_f.dtype == np.float32
    for a, b in ((dets_f, fp32.detect_batch(frames)), (dets_i, int8.detect_batch(frames))):
        for (ba, sa, ka), (bb, sb, kb) in zip(a, b):
            assert np.array_equal(ba, bb) and np.array_equal(sa, sb) and np.array_equal(ka, kb)
    model = YOLO(str(models_dir / "yolo11n-pose.pt")).model.eval()
    got = {}
    model.model[10].register_forward_hook(lambda _m, _i, o: got.__setitem__("o", o))
    for k, f in enumerate(frames):
        with torch.no_grad():
            model(torch.from_numpy(letterbox_blob(f, 640)[0]))
        ref = got["o"][0].float().mean((1, 2)).numpy()
        assert np.allclose(feats_f[k], ref, rtol=1e-3, atol=1e-3)
        cos = float(feats_i[k] @ ref / np.linalg.norm(feats_i[k]) / np.linalg.norm(ref))
        assert cos > 0.9, cos
    with pytest.raises(ModelError, match="cannot find the output of block model.99"):
        with_pooled_output(onnx.load(str(int8_path)), 99)
    with pytest.raises(ModelError, match="no pooled features"):
        int8.detect_batch_pooled(frames)

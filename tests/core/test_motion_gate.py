"""core.live.gate: pose inference skipped on still frames — a synthetic picture for the rule, the real Fall04 clip
through the live detector (one and two pose workers) for what it changes: the reused skeletons stay where fresh
ones would be and the fall still alerts."""

from __future__ import annotations

import numpy as np
import pytest

from core.errors import PoseWatchError
from core.live import LiveConfig, LiveDetector
from core.live.gate import MotionGate
from core.live.multicam import MultiCameraDetector
from core.pose.int8 import agreement

pytestmark = pytest.mark.xdist_group("test_live")


def _frame(rng, dx=0):
    img = np.full((360, 640, 3), 90, np.uint8)
    img[100:220, 200 + dx:260 + dx] = 150  # a "person" 60 grey levels brighter than the floor
    noise = rng.integers(-4, 5, img.shape)  # sensor noise well below the threshold
    return np.clip(img.astype(np.int16) + noise, 0, 255).astype(np.uint8)


def test_gate_poses_motion_and_skips_a_still_picture():
    rng = np.random.default_rng(0)
    gate = MotionGate(threshold=30, min_pixels=10, refresh_s=1.0)
    assert gate.moved(_frame(rng), 0.0)  # the first frame is always posed
    assert not gate.moved(_frame(rng), 0.033) and not gate.moved(_frame(rng), 0.066)  # noise only
    assert gate.changed_pixels(_frame(rng, dx=2)) < 10  # a 2-pixel shift is 0.56 px of the small copy
    assert gate.changed_pixels(_frame(rng, dx=6)) >= 10
    assert gate.moved(_frame(rng, dx=20), 0.1)  # the person moved 20 px
    assert not gate.moved(_frame(rng, dx=20), 0.133)  # compared with the new reference
    # slow motion adds up against the last posed frame: 2 px at a time is seen within a few frames
    moved = [gate.moved(_frame(rng, dx=20 + 2 * k), 0.15 + 0.01 * k) for k in range(1, 6)]
    assert any(moved) and not all(moved)
    assert gate.moved(_frame(rng, dx=60), 5.0)
    assert not gate.moved(_frame(rng, dx=60), 5.5)
    assert gate.moved(_frame(rng, dx=60), 6.1)  # still, but refresh_s = 1 s since the last posed frame
    gate.reset()
    assert gate.moved(_frame(rng, dx=60), 6.2)
    assert gate.posed + gate.reused == 14 and gate.reused >= 5
    assert MotionGate.small(_frame(rng)).shape == (100, 178)
    with pytest.raises(ValueError, match="1-254"):
        MotionGate(threshold=0)


def _run(fall04, **kw):
    results, events = [], []
    cfg = LiveConfig(classifier="fall", start_frame=150, stop_frame=260, **kw)
    det = LiveDetector(str(fall04), cfg, on_result=results.append, on_event=events.append)
    det.start()
    assert det.join(300)
    assert det.error is None
    return det, results, events


def _dets(results):
    """Each result's detections as :func:`core.pose.int8.agreement` takes them."""
    out = []
    for r in results:
        ps = r.poses.persons
        out.append((np.array([p.bbox for p in ps], np.float32).reshape(-1, 4), np.array([p.score for p in ps]),
                    np.array([p.keypoints for p in ps], np.float32).reshape(-1, 17, 3)))
    return out


@pytest.mark.parametrize("workers", [1, 2])
def test_live_gate_reuses_still_frames_and_the_fall_still_alerts(fall04, workers):
    off, r_off, e_off = _run(fall04, motion_gate=False, pose_workers=workers)
    on, r_on, e_on = _run(fall04, motion_gate=True, pose_workers=workers)
    assert [r.frame_index for r in r_on] == list(range(150, 260)) == [r.frame_index for r in r_off]
    st = on.stats()
    assert st["posed"] + st["pose_reused"] == st["frames"] == 110
    assert off.stats()["pose_reused"] == 0 and off.stats()["posed"] == 110
    assert st["pose_reused"] >= 5, st  # the person stands still before the fall and lies still after it
    same = sum(1 for a, b in zip(r_on, r_on[1:]) if len(a.poses.persons) == len(b.poses.persons) and
               all(np.array_equal(p.keypoints, q.keypoints) for p, q in zip(a.poses.persons, b.poses.persons)))
    assert same >= st["pose_reused"] - 1  # a reused frame repeats the skeletons of the frame before it
    # reused skeletons lie where fresh ones are: every confidently seen person is there (what is lost are
    # flickering detections under 0.5 of the person on the floor), joints within a few % of the box diagonal
    ag = agreement(_dets(r_off), _dets(r_on))
    assert ag["recall_conf50"] >= 0.95 and ag["precision"] >= 0.95 and ag["kpt_err_pct_p95"] <= 8.0, ag
    assert e_off and e_on, "the fall alerts with and without the gate"
    assert abs(e_on[0].frame_index - e_off[0].frame_index) <= 15 and e_on[0].label in ("falling", "lying")


def test_several_cameras_get_the_gate_and_the_smaller_input_and_bad_values_are_refused(fall04):
    two = MultiCameraDetector([str(fall04), str(fall04)], LiveConfig(classifier=None))
    assert [(d.cfg.motion_gate, d.cfg.imgsz) for d in two.detectors.values()] == [(True, 640), (True, 640)]
    small = MultiCameraDetector([str(fall04), str(fall04)], LiveConfig(classifier=None, multicam_imgsz=480))
    assert [d.cfg.imgsz for d in small.detectors.values()] == [480, 480]
    assert small.cfg.imgsz == 480  # the shared pose model's input
    one = MultiCameraDetector([str(fall04)], LiveConfig(classifier=None, multicam_imgsz=480))
    assert [(d.cfg.motion_gate, d.cfg.imgsz) for d in one.detectors.values()] == [(False, 640)]
    forced = MultiCameraDetector([str(fall04), str(fall04)], LiveConfig(classifier=None, motion_gate=False))
    assert [d.cfg.motion_gate for d in forced.detectors.values()] == [False, False]
    assert LiveDetector(str(fall04), LiveConfig(classifier=None))._gate is None  # auto, one camera: off
    with pytest.raises(PoseWatchError, match="true, false or auto"):
        LiveDetector(str(fall04), LiveConfig(classifier=None, motion_gate="sometimes"))
    with pytest.raises(PoseWatchError, match="1-254"):
        LiveDetector(str(fall04), LiveConfig(classifier=None, motion_gate=True, motion_threshold=300))

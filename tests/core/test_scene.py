"""Scene features (core.scene) on synthetic people whose true motion is known, at several frame rates."""

from __future__ import annotations

import numpy as np
import pytest

from core.cache import SkeletonCache
from core.layouts import COMMON_JOINTS, to_common
from core.pose.base import FramePoses, Person
from core.scene import FAR, SCENE_FEATURES, SceneBuffer, involved, scene_features

F = {n: i for i, n in enumerate(SCENE_FEATURES)}
J = {n: i for i, n in enumerate(COMMON_JOINTS)}


def person(cx: float, feet_y: float = 400.0, height: float = 170.0, wrist_dx: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """A standing person: common-13 keypoints (13, 3) and box (4,), centred at x = cx, ``height`` pixels tall."""
    top = feet_y - height
    y = lambda frac: top + frac * height  # noqa: E731
    pts = {"HEAD": (cx, y(0.06)), "SHOULDER_LEFT": (cx - 20, y(0.2)), "SHOULDER_RIGHT": (cx + 20, y(0.2)),
           "ELBOW_LEFT": (cx - 25, y(0.35)), "ELBOW_RIGHT": (cx + 25, y(0.35)),
           "WRIST_LEFT": (cx - 25 - wrist_dx, y(0.48)), "WRIST_RIGHT": (cx + 25 + wrist_dx, y(0.48)),
           "HIP_LEFT": (cx - 12, y(0.52)), "HIP_RIGHT": (cx + 12, y(0.52)), "KNEE_LEFT": (cx - 12, y(0.75)),
           "KNEE_RIGHT": (cx + 12, y(0.75)), "ANKLE_LEFT": (cx - 12, y(0.98)), "ANKLE_RIGHT": (cx + 12, y(0.98))}
    kp = np.zeros((13, 3), np.float32)
    for n, (x, yy) in pts.items():
        kp[J[n]] = (x, yy, 0.9)
    return kp, np.array([cx - 35, top, cx + 35, feet_y], np.float32)


def approach(fps: float, seconds: float = 2.0, speed_px: float = 100.0, start_gap: float = 400.0):
    """Two people walking towards each other at ``speed_px`` pixels/s each; yields (time, [(tid, kp, box)])."""
    for f in range(int(round(seconds * fps))):
        t = f / fps
        gap = max(start_gap - 2 * speed_px * t, 60.0)
        a = person(300 - gap / 2)
        b = person(300 + gap / 2)
        yield t, [(1, *a), (2, *b)]


def features_at(fps: float, t_end: float, **kw) -> np.ndarray:
    buf = SceneBuffer(1.0)
    for t, persons in approach(fps, **kw):
        if t > t_end + 1e-9:
            break
        buf.add(t, persons)
    return buf.features(t_end), buf


def test_two_people_closing_in():
    v, buf = features_at(30.0, 1.5)
    assert buf.multi_person()
    assert v[F["persons_mean"]] == pytest.approx(2.0)
    assert v[F["multi_person_share"]] == pytest.approx(1.0)
    assert v[F["track_churn"]] == pytest.approx(1.0)  # two tracks, two people: no churn
    # at 1.5 s the gap is 400 - 300 = 100 px, boxes 170 px tall: 0.59 box heights, closing at 200 px/s = 1.18 heights/s
    assert v[F["closest_pair_min"]] == pytest.approx(100 / 170, abs=0.02)
    assert v[F["closing_speed_max"]] == pytest.approx(200 / 170, rel=0.05)
    assert v[F["box_speed_max"]] == pytest.approx(100 / 170, rel=0.05)  # each walks at 100 px/s
    assert v[F["limb_motion_max"]] == pytest.approx(0.0, abs=1e-5)  # limbs do not move relative to the hips
    assert v[F["box_iou_max"]] == 0.0  # 70-px-wide boxes whose centres are 100 px apart do not overlap
    late, _ = features_at(30.0, 1.9)  # the gap stops at 60 px: 70-px boxes overlap by 10 px, IoU 10 / 130
    assert late[F["box_iou_max"]] == pytest.approx(10 / 130, abs=0.005)
    assert involved({1: person(250)[1], 2: person(350)[1]}) == {1, 2}
    assert involved({1: person(0)[1], 2: person(900)[1]}) == set()


def test_one_person_is_not_a_pair():
    buf = SceneBuffer(1.0)
    for f in range(30):
        kp, box = person(200 + f)
        buf.add(f / 30, [(1, kp, box)])
    v = buf.features(29 / 30)
    assert not buf.multi_person()
    assert v[F["closest_pair_min"]] == FAR and v[F["closing_speed_max"]] == 0.0 and v[F["box_iou_max"]] == 0.0
    assert v.shape == (len(SCENE_FEATURES),) and v.dtype == np.float32
    assert np.all(scene_features([], 1.0)[[F["persons_mean"], F["wrist_speed_max"]]] == 0)


def test_punch_shows_in_wrist_speed_not_box_speed():
    buf = SceneBuffer(1.0)
    for f in range(30):
        a = person(200, wrist_dx=40.0 * (f % 2))  # the wrists jab 40 px every frame
        b = person(290)
        buf.add(f / 30, [(1, *a), (2, *b)])
    v = buf.features(29 / 30)
    assert v[F["wrist_speed_max"]] == pytest.approx(40 * 30 / 170, rel=0.05)
    assert v[F["box_speed_max"]] == pytest.approx(0.0, abs=1e-5)
    assert v[F["limb_motion_max"]] > 5.0


@pytest.mark.parametrize("fps", [10.0, 25.0, 50.0])
def test_windows_span_the_same_seconds_at_any_rate(fps):
    """The same motion at 10, 25 and 50 fps gives the same per-second features, and the buffer holds 1 s."""
    ref, _ = features_at(30.0, 1.5)
    v, buf = features_at(fps, 1.5)
    times = [t for t, _p in buf.frames()]
    assert 1.5 - 1.0 / fps < times[-1] <= 1.5 + 1e-9
    assert times[-1] - times[0] == pytest.approx(1.0 - 1.0 / fps, abs=1.01 / fps)  # (t - 1 s, t]
    for name in ("closest_pair_min", "box_speed_max", "closing_speed_max", "persons_mean"):
        assert v[F[name]] == pytest.approx(ref[F[name]], rel=0.06, abs=0.02), name


def _cache(fps: float, seconds: float = 2.0) -> SkeletonCache:
    frames = []
    for i, (t, persons) in enumerate(approach(fps, seconds)):
        fp = FramePoses(i, t, "common13", 640, 480)
        for tid, kp, box in persons:
            fp.persons.append(Person(tid, box, kp, 0.9, "common13"))
        frames.append(fp)
    return SkeletonCache.from_frames(frames, {"fps": fps, "layout": "common13", "width": 640, "height": 480})


@pytest.mark.parametrize("fps", [10.0, 30.0])
def test_training_vectors_of_mixed_rate_clips(fps):
    """core.fight.clip_vectors: one vector per 1/15 s from 1 s on, at the latest frame at or before it, whatever
    the clip's rate; a 10 fps and a 30 fps clip of the same scene give matching vectors at the same seconds."""
    from core.fight import clip_vectors

    assert to_common(np.zeros((1, 13, 3), np.float32), "common13").shape == (1, 13, 3)
    v, t = clip_vectors(_cache(fps), span_s=1.0, rate=15.0)
    last = (int(round(2.0 * fps)) - 1) / fps  # the clip's last frame time
    grid = np.arange(1.0, last + 1e-9, 1 / 15)
    assert len(v) == len(np.unique(np.floor(grid * fps + 1e-6))) and t[0] >= 1.0 - 1e-9
    assert np.all(np.diff(t) > 0) and np.all(np.diff(t) <= 1 / 15 + 1 / fps + 1e-9)
    ref, tref = clip_vectors(_cache(30.0), span_s=1.0, rate=15.0)
    k = int(np.argmin(np.abs(tref - 1.5)))
    j = int(np.argmin(np.abs(t - tref[k])))
    assert abs(t[j] - tref[k]) <= 1 / fps
    assert v[j, F["box_speed_max"]] == pytest.approx(ref[k, F["box_speed_max"]], rel=0.06)


def test_nearest_pair():
    from core.scene import nearest_pair

    boxes = {7: person(100)[1], 3: person(600)[1], 5: person(180)[1]}
    assert set(nearest_pair(boxes)) == {7, 5}
    assert nearest_pair({1: person(0)[1]}) is None


def test_bone_stream_measures_how_fast_bones_turn_and_stretch():
    """core.scene.bone_features: one person whose left forearm turns about the elbow at 3 rad/s (at 15 and 30 fps,
    the same figures), the rest still: arm turn 3 rad/s, no angular acceleration, no stretch, legs and torso 0;
    the forearm unseen (wrist score 0): nothing turns; a buffer with bones (and motion) appends them last."""
    from core.features import feature_channels, feature_spec
    from core.motion import MOTION_FEATURES
    from core.scene import BONE_FEATURES, bone_features, scene_feature_names, scene_size

    B = {n: i for i, n in enumerate(BONE_FEATURES)}

    def track(fps, wrist_score=0.9, w=3.0):
        times = np.arange(int(fps)) / fps  # one second
        kps, boxes = [], []
        for t in times:
            kp, box = person(300)
            elbow = kp[J["ELBOW_LEFT"], :2]
            kp[J["WRIST_LEFT"], :2] = elbow + 40 * np.array([np.cos(w * t), np.sin(w * t)])
            kp[J["WRIST_LEFT"], 2] = wrist_score
            kps.append(kp)
            boxes.append(box)
        return times, np.stack(kps), np.stack(boxes)

    for fps in (15.0, 30.0):
        times, kps, boxes = track(fps)
        v = bone_features([(times, kps, boxes)], float(times[-1]), 1.0)
        assert v.shape == (len(BONE_FEATURES),) and v.dtype == np.float32
        assert v[B["arm_turn_max"]] == pytest.approx(3.0, rel=1e-3)
        assert v[B["arm_turn_p90"]] == pytest.approx(3.0, rel=1e-3)  # one of the four arm bones turns: p90 of all
        assert v[B["arm_turn_acc_p90"]] == pytest.approx(0.0, abs=1e-2)
        assert v[B["arm_stretch_p90"]] == pytest.approx(0.0, abs=1e-4)
        for n in ("leg_turn_max", "torso_turn_p90", "leg_stretch_p90"):
            assert v[B[n]] == pytest.approx(0.0, abs=1e-5)
    times, kps, boxes = track(30.0, wrist_score=0.0)
    assert bone_features([(times, kps, boxes)], float(times[-1]), 1.0)[B["arm_turn_max"]] == 0.0
    assert bone_features([], 1.0).tolist() == [0.0] * len(BONE_FEATURES)
    # a buffer with bones and motion: scene, motion statistics, then the bones
    buf, plain = SceneBuffer(1.0, motion=True, bones=True), SceneBuffer(1.0, motion=True)
    times, kps, boxes = track(30.0)
    for t, kp, box in zip(times, kps, boxes):
        for b in (buf, plain):
            b.add(float(t), [(1, kp, box)], np.full(len(MOTION_FEATURES), t, np.float32))
    v = buf.features(float(times[-1]))
    assert v.shape == (scene_size(True, True),) and scene_size(True, True) == scene_size(True) + len(BONE_FEATURES)
    assert scene_feature_names(True, True)[-len(BONE_FEATURES):] == BONE_FEATURES
    assert np.array_equal(v[:scene_size(True)], plain.features(float(times[-1])))
    assert v[-len(BONE_FEATURES):] == pytest.approx(bone_features(buf.tracks(), float(times[-1]), 1.0))
    assert v[-len(BONE_FEATURES):][B["arm_turn_max"]] == pytest.approx(3.0, rel=1e-3)
    spec = feature_spec({"scene": True, "motion": True, "bones": True})
    assert spec["bones"] and feature_channels(spec) == scene_size(True, True)
    assert not feature_spec({"scene": True})["bones"]  # checkpoints before the bone stream


def test_the_fast_90th_percentile_is_numpys_bit_for_bit():
    """core.scene's own 90th percentile (a third of scene_features' time went to np.percentile) returns exactly
    np.percentile(v, 90) for float32 and float64 arrays of every length a window gives, with ties, and NaN."""
    from core.scene import _p90

    rng = np.random.default_rng(0)
    for dtype in (np.float32, np.float64):
        for n in [*range(1, 70), 255, 1000]:
            for scale in (1e-3, 1.0, 1e5):
                v = (rng.random(n) * scale).astype(dtype)
                if n > 3:
                    v[rng.integers(0, n, n // 2)] = v[0]  # ties
                assert _p90(v) == float(np.percentile(v, 90)), (dtype, n, scale)
    assert _p90(np.zeros(0)) == 0.0
    assert np.isnan(_p90(np.array([1.0, np.nan, 2.0])))

"""Motion features (core.motion) on synthetic frames whose true motion is known, and on a real shared clip."""

from __future__ import annotations

import numpy as np
import pytest

from core.motion import FLOW_HEIGHT, MOTION_FEATURES, MotionMeter, video_motion
from core.scene import SCENE_FEATURES, SceneBuffer, scene_feature_names, scene_size

M = {n: i for i, n in enumerate(MOTION_FEATURES)}


def textured(h: int = 240, w: int = 320, seed: int = 0) -> np.ndarray:
    """A smooth random texture (grey, uint8) that optical flow can follow."""
    import cv2

    rng = np.random.default_rng(seed)
    img = cv2.GaussianBlur(rng.integers(0, 255, (h, w), dtype=np.uint8), (0, 0), 3)
    return cv2.normalize(img, None, 0, 255, cv2.NORM_MINMAX)


def frames_of(shift_px_per_frame: float, n: int = 6, flail: bool = False):
    """Frames 240 px high of a static background with a 80×120 textured block (a "person") at x 120-200,
    y 60-180: moved bodily by ``shift_px_per_frame`` per frame, or (``flail``) its left and right halves moving
    in opposite vertical directions (parts moving against each other, the body staying in place)."""
    bg = textured(seed=1)
    block = textured(120, 80, seed=2)
    for i in range(n):
        img = bg.copy()
        if flail:
            d = int(round(shift_px_per_frame * (i % 2)))
            img[60 + d:180 + d, 120:160] = block[:, :40]
            img[60 - d:180 - d, 160:200] = block[:, 40:]
        else:
            x = 120 + int(round(shift_px_per_frame * i))
            img[60:180, x:x + 80] = block
        yield img


def run(frames, fps=25.0, box=(110, 50, 210, 190)):
    meter = MotionMeter()
    return np.stack([meter.update(f, np.array([box], np.float32), fps) for f in frames])


def test_static_scene_has_no_motion_and_the_first_frame_is_zero():
    v = run(frames_of(0.0))
    assert np.all(v[0] == 0)
    assert v[1:, M["mag_mean"]].max() < 0.01 and v[1:, M["body_motion_max"]].max() < 0.02
    assert v[1:, M["persons"]].min() == 1


def test_speed_is_in_frame_heights_per_second():
    """A block moving 4 px per frame on 240 px frames at 25 fps moves 4 * 25 / 240 = 0.42 frame heights per
    second: the busiest grid cell and the box's mean speed see about that (the box is half block, half background)."""
    v = run(frames_of(4.0))[2:]
    speed = 4.0 * 25 / 240
    assert v[:, M["cell_max"]].mean() == pytest.approx(speed, rel=0.5)
    assert v[:, M["mag_p99"]].mean() == pytest.approx(speed, rel=0.35)
    # per box height (140 px = 0.58 frame heights) the box's mean speed is higher than per frame height
    assert v[:, M["box_speed_max"]].mean() > v[:, M["mag_mean"]].mean()
    # at 50 fps the same pixel shift is twice the speed
    v50 = run(frames_of(4.0), fps=50.0)[2:]
    assert v50[:, M["cell_max"]].mean() == pytest.approx(2 * v[:, M["cell_max"]].mean(), rel=0.05)


def test_parts_moving_against_each_other_is_body_motion_not_box_speed():
    """Halves of the block moving up and down against each other: large motion relative to the box's median
    flow (body_motion) and abrupt magnitude changes (vif: each frame reverses); moving the block bodily at a
    similar pixel speed gives much less body motion for its speed."""
    fl = run(frames_of(4.0, n=8, flail=True))[2:]
    rigid = run(frames_of(4.0, n=8))[2:]
    ratio_flail = fl[:, M["body_motion_max"]].mean() / max(fl[:, M["box_speed_max"]].mean(), 1e-6)
    ratio_rigid = rigid[:, M["body_motion_max"]].mean() / max(rigid[:, M["box_speed_max"]].mean(), 1e-6)
    assert ratio_flail > 1.5 * ratio_rigid
    assert fl[:, M["body_direction_entropy_max"]].mean() > 0.5


def test_scene_buffer_appends_window_mean_and_max_of_motion():
    buf = SceneBuffer(1.0, motion=True)
    assert scene_size(True) == len(SCENE_FEATURES) + 2 * len(MOTION_FEATURES) == len(scene_feature_names(True))
    for f in range(40):  # 2 s at 20 fps; the window keeps the last second, both ends included (as for poses)
        buf.add(f / 20, [], np.full(len(MOTION_FEATURES), float(f), np.float32))
    v = buf.features(39 / 20)
    n = len(SCENE_FEATURES)
    assert v.shape == (scene_size(True),)
    assert v[n:n + len(MOTION_FEATURES)] == pytest.approx(np.full(len(MOTION_FEATURES), np.mean(np.arange(19, 40))))
    assert v[n + len(MOTION_FEATURES):] == pytest.approx(np.full(len(MOTION_FEATURES), 39.0))
    assert SceneBuffer(1.0).features(0.0).shape == (len(SCENE_FEATURES),)


def test_video_motion_matches_the_live_meter_and_is_cached(tmp_path):
    """On a real shared fight clip: video_motion (decode + recorded boxes) equals a MotionMeter fed the same
    decoded frames and boxes, is cached (a second call reads the file), and a fight moves."""
    import cv2

    from core.live.record import record_live_poses
    from tests.conftest import shared_path

    video = shared_path("data", "videos", "fight", "fi010.mp4")
    cache = record_live_poses(video)
    a = video_motion(video, cache, root=tmp_path)
    assert a.shape == (cache.frame_count, len(MOTION_FEATURES)) and a.dtype == np.float32
    assert len(list(tmp_path.glob("*.npy"))) == 1
    cap, meter = cv2.VideoCapture(str(video)), MotionMeter()
    for f in range(6):
        ok, img = cap.read()
        assert ok
        lo, hi = int(cache.offsets[f]), int(cache.offsets[f + 1])
        assert np.allclose(meter.update(img, cache.bbox[lo:hi], cache.fps), a[f], atol=1e-5)
    assert img.shape[0] != FLOW_HEIGHT  # the meter resized it
    assert a[1:, M["mag_mean"]].mean() > 0.01
    b = video_motion(video, cache, root=tmp_path)
    assert np.array_equal(a, b)

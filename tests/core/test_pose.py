"""Pose estimation and tracking on real shared clips (YOLO-pose default backend, MediaPipe)."""

from __future__ import annotations

import numpy as np

from core.extract import iter_load_or_extract, run
from core.layouts import COCO17, MEDIAPIPE33, to_common
from core.video import open_source

HIPS = [COCO17.index("HIP_LEFT"), COCO17.index("HIP_RIGHT")]


def test_fall04_person_found_in_most_frames(fall04_skeletons):
    c = fall04_skeletons
    assert c.layout == "coco17" and c.frame_count == 288
    n = c.persons_per_frame()
    assert np.mean(n >= 1) >= 0.90
    assert c.keypoints.dtype == np.float32 and c.keypoints.shape[1:] == (17, 3)
    assert np.all((c.keypoints[..., 2] >= 0) & (c.keypoints[..., 2] <= 1))
    # boxes are in original pixels of the 406x720 portrait video
    assert c.bbox[:, 2].max() <= 406 + 1 and c.bbox[:, 3].max() <= 720 + 1


def test_fall04_hip_drops_during_fall(fall04_skeletons):
    """The person standing before the fall (~6.0-7.5 s) has their hips drop by > 1/3 of their height."""
    c = fall04_skeletons
    before = (5.0, 6.0)

    def in_window(frames, lo, hi):
        t = frames / c.fps
        return (t >= lo) & (t < hi)

    tid = max(c.track_ids(), key=lambda t: in_window(c.track(t)[0], 4.0, 6.0).sum())
    frames, kp, bbox = c.track(tid)
    hip_y = kp[:, HIPS, 1].mean(1)
    hip_ok = kp[:, HIPS, 2].min(1) > 0.3
    pre = in_window(frames, *before) & hip_ok
    fall = in_window(frames, 6.0, 7.5) & hip_ok
    assert pre.sum() >= 10 and fall.sum() >= 3, "the standing person must be tracked into the fall"
    standing_height = np.median(bbox[pre, 3] - bbox[pre, 1])
    drop = hip_y[fall].max() - np.median(hip_y[pre])
    assert drop > standing_height / 3, f"hip drop {drop:.0f}px vs standing height {standing_height:.0f}px"
    # and before the fall the hips stay level (no drop of that size while upright)
    upright = in_window(frames, 1.0, 5.0) & hip_ok
    assert np.ptp(hip_y[upright]) < standing_height / 3


def test_street_clip_tracks_several_persons(street_clip):
    c = run(iter_load_or_extract(street_clip, "yolo"), callback=lambda p: None)
    n = c.persons_per_frame()
    assert np.median(n) >= 4
    # IDs persist across consecutive frames
    kept = []
    for f in range(c.frame_count - 1):
        a, b = set(c.poses(f).track_ids()), set(c.poses(f + 1).track_ids())
        if a:
            kept.append(len(a & b) / len(a))
    assert np.mean(kept) >= 0.9
    # each ID appears at most once per frame
    for f in range(0, c.frame_count, 10):
        ids = c.poses(f).track_ids()
        assert len(ids) == len(set(ids))
    # common joint view for classifiers
    assert to_common(c.keypoints, c.layout).shape == (len(c.keypoints), 13, 3)


def test_mediapipe_backend_on_frame_range(fall04):
    from core.pose import create_estimator

    with create_estimator("mediapipe", frame_rate=29.0) as est, open_source(fall04) as src:
        assert est.layout == "mediapipe33"
        found = []
        for fr in src.frames(100, 160):  # the person walks towards the camera before the fall
            fp = est.process(fr.image, fr.index, fr.time_s)
            for p in fp.persons:
                assert p.keypoints.shape == (33, 3) and p.keypoints.dtype == np.float32
                assert p.track_id >= 1
            found.append(len(fp.persons))
        assert np.mean(np.array(found) >= 1) >= 0.5
        # seeking back restarts MediaPipe's VIDEO mode instead of failing on the timestamp
        fr = src.read(100)
        est.process(fr.image, fr.index, fr.time_s)
    p = fp.persons[0] if fp.persons else None
    if p is not None:
        assert to_common(p.keypoints, MEDIAPIPE33).shape == (13, 3)


def test_width_option_keeps_original_pixel_coordinates(fall04):
    """Inference on a downscaled frame reports boxes in pixels of the original frame."""
    from core.extract import estimate_poses
    from core.pose import create_estimator

    with create_estimator("yolo") as est, open_source(fall04) as src:
        img = src.read(120).image
        full = estimate_poses(img, est, 120, 0.0, None)
        est.reset()
        half = estimate_poses(img, est, 120, 0.0, 203)
    assert full.persons and half.persons
    a, b = full.persons[0].bbox, half.persons[0].bbox
    assert np.abs(a - b).max() < 0.1 * (a[3] - a[1])


def test_backends_come_from_one_registry(models_dir):
    """create_estimator and estimator_settings look backends up in core.pose.BACKENDS (no if/elif): a backend
    registered at run time is created like the built-in ones; an unknown name lists the registered ones."""
    import pytest

    from core.pose import BACKENDS, create_estimator, estimator_settings, get_backend, register_backend
    from core.pose.yolo import YoloPoseEstimator
    from core.remote import protocol

    assert list(BACKENDS)[:2] == ["yolo", "mediapipe"] and protocol.BACKENDS is BACKENDS
    assert get_backend("mediapipe").layout == "mediapipe33"
    register_backend("yolo-again", "core.pose.yolo:YoloPoseEstimator", "core.pose.yolo:yolo_settings", "coco17")
    try:
        assert estimator_settings("yolo-again") == estimator_settings("yolo")
        with create_estimator("yolo-again", device="cpu") as est:
            assert isinstance(est, YoloPoseEstimator) and est.layout == "coco17"
    finally:
        del BACKENDS["yolo-again"]
    with pytest.raises(ValueError, match="unknown pose backend 'nope'; choose one of yolo, mediapipe"):
        create_estimator("nope")

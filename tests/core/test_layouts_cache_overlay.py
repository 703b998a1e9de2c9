"""Skeleton layouts, the on-disk skeleton cache, overlay drawing and classifier checkpoints."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from core.cache import SkeletonCache, cache_path, video_key
from core.errors import CacheError, ModelError
from core.layouts import COMMON_JOINTS, LAYOUTS, common_adjacency, get_layout, to_common
from core.overlay import NO_MODEL, OverlayOptions, TrackLabel, draw_overlay
from core.pose.base import FramePoses, Person


def test_layouts_are_consistent():
    assert set(LAYOUTS) >= {"coco17", "mediapipe33", "aihub17", "alphapose13", "openpose18"}
    sizes = {"coco17": 17, "mediapipe33": 33, "aihub17": 17, "alphapose13": 13, "openpose18": 18}
    for name, v in sizes.items():
        lay = get_layout(name)
        assert lay.num_joints == v
        assert all(0 <= a < v and 0 <= b < v for a, b in lay.bones)
        # every left joint has its right twin in the flip pairs
        for a, b in lay.flip_pairs:
            assert lay.joints[a].replace("LEFT", "RIGHT") == lay.joints[b]
        assert len(lay.common) == 13
        for c, j in zip(COMMON_JOINTS, lay.common):
            if c != "HEAD":
                assert lay.joints[j] == c
    assert get_layout("aihub17").joints[get_layout("aihub17").common[-1]] == "HEAD"
    assert get_layout("coco17").joints[get_layout("coco17").common[-1]] == "NOSE"
    with pytest.raises(KeyError, match="unknown skeleton layout"):
        get_layout("h36m")


def test_to_common_selects_named_joints():
    lay = get_layout("openpose18")
    kp = np.arange(18 * 3, dtype=np.float32).reshape(18, 3)
    c = to_common(kp, lay)
    assert c.shape == (13, 3)
    assert np.array_equal(c[0], kp[lay.index("SHOULDER_LEFT")])
    assert np.array_equal(c[12], kp[lay.index("NOSE")])
    with pytest.raises(ValueError):
        to_common(np.zeros((17, 3)), lay)
    a = common_adjacency()
    assert a.shape == (13, 13) and np.array_equal(a, a.T) and a.sum() > 0


def _fp(i, persons):
    return FramePoses(i, i / 10, "coco17", 100, 80, persons)


def _person(tid, x):
    kp = np.zeros((17, 3), np.float32)
    kp[:, 0], kp[:, 1], kp[:, 2] = x, np.linspace(10, 70, 17), 0.9
    return Person(tid, np.array([x - 5, 5, x + 5, 75], np.float32), kp, 0.8, "coco17")


def test_cache_roundtrip_and_index(tmp_path):
    frames = [_fp(0, [_person(1, 20)]), _fp(1, []), _fp(2, [_person(1, 22), _person(2, 60)])]
    c = SkeletonCache.from_frames(frames, {"video": "x", "fps": 10.0, "width": 100, "height": 80, "layout": "coco17"})
    p = c.save(tmp_path / "a" / "c.npz")
    d = SkeletonCache.load(p)
    assert d.frame_count == 3 and list(d.persons_per_frame()) == [1, 0, 2]
    assert d.poses(2).track_ids() == [1, 2]
    assert np.array_equal(d.poses(2).by_track(2).keypoints, frames[2].persons[1].keypoints)
    fr, kp, bb = d.track(1)
    assert list(fr) == [0, 2] and kp.shape == (2, 17, 3)
    with pytest.raises(IndexError):
        d.poses(3)
    (tmp_path / "bad.npz").write_bytes(b"junk")
    with pytest.raises(CacheError):
        SkeletonCache.load(tmp_path / "bad.npz")


def test_video_key_follows_content(tmp_path, fall04):
    import shutil

    a = tmp_path / "moved.mp4"
    shutil.copy(fall04, a)
    assert video_key(a) == video_key(fall04)
    assert cache_path(a, {"x": 1}) == cache_path(fall04, {"x": 1}) != cache_path(fall04, {"x": 2})


def test_overlay_draws_and_says_no_model():
    img = np.full((80, 100, 3), 40, np.uint8)
    fp = _fp(0, [_person(3, 50)])
    out = draw_overlay(img, fp, None)
    assert out is not img and np.array_equal(img, np.full((80, 100, 3), 40, np.uint8))  # input untouched
    assert (out != img).any(axis=2)[40, 50]  # the skeleton's spine column is drawn
    none = draw_overlay(img, fp, None, OverlayOptions(False, False, False, False))
    assert np.array_equal(none, img)
    # the label text differs between "no model" and a model's label
    a = draw_overlay(img, fp, None, OverlayOptions(skeleton=False, boxes=False))
    b = draw_overlay(img, fp, {3: TrackLabel("fall", 0.93)}, OverlayOptions(skeleton=False, boxes=False))
    assert not np.array_equal(a, b)
    assert NO_MODEL == "no model"


def test_overlay_label_stays_inside_the_frame():
    """A person at the frame's right edge: the label moves left until it fits, and is drawn whole (the same pixels
    as the same label further left, shifted); one at the left edge, partly outside, starts at column 0."""
    img = np.zeros((80, 200, 3), np.uint8)
    opts = OverlayOptions(skeleton=False, boxes=False)
    labels = {3: TrackLabel("lying", 1.0)}

    def label_cols(x):
        out = draw_overlay(img, _fp(0, [_person(3, x)]), labels, opts)
        cols = np.flatnonzero(out.any(axis=(0, 2)))
        return out, cols

    free, fcols = label_cols(60)  # box from x=55: the label fits as it is
    assert fcols[0] == 55 and fcols[-1] < 199
    edge, ecols = label_cols(195)  # box from x=190: would run past column 199
    width = fcols[-1] - fcols[0]
    assert ecols[-1] == 199 and ecols[-1] - ecols[0] == width
    assert np.array_equal(edge[:, ecols[0]:ecols[-1] + 1], free[:, fcols[0]:fcols[-1] + 1])
    _left, lcols = label_cols(2)  # box from x=-3
    assert lcols[0] == 0 and lcols[-1] - lcols[0] == width


def test_checkpoint_roundtrip_and_errors(tmp_path, fall04_skeletons):
    import torch

    from core.classify import Checkpoint, TrackClassifier, save_checkpoint
    from models import build_model

    torch.manual_seed(0)
    m = build_model("lstm", {"num_classes": 3})
    path = save_checkpoint(Checkpoint("lstm", {"num_classes": 3}, ["normal", "fall", "theft"], 16, 16, "hip_torso",
                                      m.state_dict()), tmp_path / "m.pt")
    clf = TrackClassifier(path)
    c = fall04_skeletons
    f = int(np.flatnonzero(c.persons_per_frame())[30])
    labels = clf.labels_for_frame(c, f)
    assert set(labels) == set(c.poses(f).track_ids())
    # the label is the model's own argmax on that track's window
    tid = c.poses(f).track_ids()[0]
    frames, kp, _ = c.track(tid)
    pos = int(np.searchsorted(frames, f))
    probs = clf.predict_windows(clf.window_for(to_common(kp, c.layout), pos)[None])[0]
    assert labels[tid].name == clf.label_names[int(probs.argmax())]
    assert labels[tid].prob == pytest.approx(float(probs.max()), abs=1e-6)

    (tmp_path / "corrupt.pt").write_bytes(b"\x80garbage")
    with pytest.raises(ModelError, match="corrupt"):
        TrackClassifier(tmp_path / "corrupt.pt")
    torch.save({"format": "posewatch-classifier/1", "layout": "coco17"}, tmp_path / "other.pt")
    with pytest.raises(ModelError, match="layout"):
        TrackClassifier(tmp_path / "other.pt")
    bad = Checkpoint("lstm", {"num_classes": 5}, list("abcde"), 16, 16, "hip_torso", m.state_dict())
    with pytest.raises(ModelError, match="do not fit"):
        TrackClassifier(save_checkpoint(bad, tmp_path / "bad.pt"))


def test_frames_folder_extraction_is_cached(tmp_path, fall04):
    """A folder of frame images gets skeletons like a video file, and the second call hits the cache."""
    import cv2

    from core.extract import iter_load_or_extract, run
    from core.video import open_source

    with open_source(fall04) as s:
        for f in s.frames(120, 126):
            cv2.imwrite(str(tmp_path / f"img_{f.index:04d}.jpg"), f.image)
    from core.cache import cache_dir

    shutil.rmtree(cache_dir() / video_key(tmp_path), ignore_errors=True)  # a test cache kept between runs
    seen = []                                                             # (POSEWATCH_TEST_CACHE) knows them
    c = run(iter_load_or_extract(tmp_path, "yolo"), callback=seen.append)
    assert c.frame_count == 6 and c.persons_per_frame().min() >= 1
    assert any(p.message == "extracting poses" for p in seen)
    seen.clear()
    again = run(iter_load_or_extract(tmp_path, "yolo"), callback=seen.append)
    assert not seen  # loaded from disk: no model load, no inference
    assert np.array_equal(again.keypoints, c.keypoints)
    assert video_key(tmp_path) == video_key(tmp_path)

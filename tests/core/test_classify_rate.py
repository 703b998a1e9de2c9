"""Classifier windows follow the frame rate a checkpoint was trained at (``Checkpoint.fps``)."""

from __future__ import annotations

import numpy as np
import pytest

from core.classify import (
    Checkpoint,
    TrackClassifier,
    frame_windows,
    load_checkpoint,
    save_checkpoint,
    track_window_at,
    track_windows,
)
from core.errors import ModelError
from core.layouts import to_common
from core.training import predict_cache


def test_step_one_is_the_predict_rule_of_frame_windows():
    kps = np.random.default_rng(0).random((40, 13, 3)).astype(np.float32)
    for n in (40, 16, 7, 1):
        w, idx = frame_windows(kps[:n], 16)
        wi, idx2 = track_windows(np.arange(n) * 3, 16, 1)  # frame gaps do not matter at step 1
        assert np.array_equal(kps[:n][wi], w) and np.array_equal(idx, idx2)


def test_resampled_windows_span_time_not_detections():
    frames = np.arange(100)
    idx, index = track_windows(frames, 4, 10)
    # detection 30 (frame 30) sees frames 0, 10, 20, 30; the first 30 detections use that first window
    assert idx[0].tolist() == [0, 10, 20, 30] and index[:31].tolist() == [0] * 31
    assert idx[index[57]].tolist() == [27, 37, 47, 57] and index[-1] == len(idx) - 1
    # a gap: the latest detection at or before each sample time is used
    gappy = np.r_[np.arange(0, 12), np.arange(25, 60)]
    idx, index = track_windows(gappy, 3, 10)
    pos = int(np.searchsorted(gappy, 40))
    assert gappy[idx[index[pos]]].tolist() == [11, 30, 40]
    # a track shorter than the window's span: sampled from its start, padded with its last detection
    idx, index = track_windows(np.arange(15), 4, 10)
    assert idx.tolist() == [[0, 10, 14, 14]] and index.tolist() == [0] * 15


def test_one_window_is_the_one_of_all_windows():
    """track_window_at (the player's per-frame window) is row index[pos] of track_windows, at every step, for
    gappy tracks, tracks shorter than the window and tracks shorter than its span."""
    rng = np.random.default_rng(0)
    for _ in range(400):
        n = int(rng.integers(1, 60))
        frames = np.cumsum(rng.integers(1, 4, n)) + int(rng.integers(0, 50))
        window, step = int(rng.integers(1, 20)), int(rng.integers(1, 5))
        idx, index = track_windows(frames, window, step)
        for pos in range(n):
            m, w = track_window_at(frames, pos, window, step)
            assert m == index[pos] and np.array_equal(w, idx[index[pos]]), (frames, window, step, pos)


def test_checkpoint_fps_round_trip_and_validation(tmp_path):
    import torch

    from models import build_model

    m = build_model("lstm", {"num_classes": 2})
    ck = Checkpoint("lstm", {"num_classes": 2}, ["a", "b"], 16, 2, "hip_torso", m.state_dict(), fps=3.0)
    loaded = load_checkpoint(save_checkpoint(ck, tmp_path / "m.pt"))
    assert loaded.fps == 3.0 and loaded.step_for(30.0) == 10 and loaded.step_for(10.0) == 3
    assert loaded.step_for(2.0) == 1 and loaded.step_for(None) == 1
    assert load_checkpoint(save_checkpoint(Checkpoint("lstm", {"num_classes": 2}, ["a", "b"], 16, 2, "hip_torso",
                                                      m.state_dict()), tmp_path / "n.pt")).step_for(30) == 1
    d = torch.load(tmp_path / "m.pt", weights_only=True)
    d["fps"] = -5
    torch.save(d, tmp_path / "bad.pt")
    with pytest.raises(ModelError, match="fps must be positive"):
        load_checkpoint(tmp_path / "bad.pt")


def test_video_predictions_use_the_checkpoint_rate(tmp_path, fall04_skeletons):
    """A 3 fps checkpoint on ~29 fps video: each frame's label comes from every 10th frame of the track."""
    import torch

    from models import build_model

    torch.manual_seed(0)
    m = build_model("lstm", {"num_classes": 3, "in_channels": 4})
    path = save_checkpoint(Checkpoint("lstm", {"num_classes": 3, "in_channels": 4}, ["x", "y", "z"], 8, 2,
                                      "hip_torso", m.state_dict(),
                                      features={"normalisation": "hip_torso", "velocity": True, "score": False},
                                      fps=3.0), tmp_path / "slow.pt")
    c = fall04_skeletons
    clf = TrackClassifier(path)
    assert clf.ckpt.step_for(c.fps) == 10
    tid = max(c.track_ids(), key=lambda t: len(c.track(int(t))[0]))
    frames, kp, _ = c.track(int(tid))
    common = to_common(kp, c.layout)
    pos = int(np.searchsorted(frames, frames[0] + 100))
    f = int(frames[pos])
    want_idx = np.searchsorted(frames, f - 10 * np.arange(7, -1, -1), "right") - 1
    want = clf.predict_windows(common[want_idx][None])[0]
    assert np.allclose(clf.predict_track(common, frames, c.fps)[pos], want, atol=1e-5)
    lab = clf.labels_for_frame(c, f)[int(tid)]
    assert lab.name == clf.label_names[int(want.argmax())] and lab.prob == pytest.approx(float(want.max()), abs=1e-5)
    # the window is every 10th frame, not the last 8 consecutive ones
    win = clf.window_for(common, pos, frames, c.fps)
    assert np.array_equal(win, common[want_idx]) and not np.array_equal(win, common[pos - 7:pos + 1])
    df = predict_cache(path, c)
    row = df[(df.frame == f) & (df.track_id == int(tid))].iloc[0]
    assert row.pred_label == int(want.argmax()) and row.pred_prob == pytest.approx(float(want.max()), abs=1e-4)


@pytest.mark.parametrize("step", [1, 3, 10])
def test_online_history_gives_the_offline_window(step):
    """TrackHistory (the live detector's and the worker's per-track windowing) keeps only what the next window
    needs, yet gives, at every new detection, exactly the window track_windows picks from the whole track —
    also with gaps of missed detections longer than a window."""
    from core.classify import TrackHistory

    rng = np.random.default_rng(step)
    frames = np.cumsum(rng.choice([1, 1, 1, 2, 5, 40], size=400))
    kps = rng.normal(size=(len(frames), 13, 3)).astype(np.float32)
    h = TrackHistory(16, step)
    for i, f in enumerate(frames):
        h.add(int(f), kps[i])
        idx, index = track_windows(frames[:i + 1], 16, step)
        np.testing.assert_array_equal(h.latest_window(), kps[idx[index[-1]]])
    assert len(h) <= max(16, 16 * step + 1)  # bounded

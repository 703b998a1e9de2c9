"""core.training and core.features.make_features on the real AI-Hub and URFD skeletons (short runs)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from core.classify import TrackClassifier, frame_windows, load_checkpoint
from core.features import feature_channels, make_features, normalise_window
from core.layouts import COMMON13, COMMON_JOINTS, to_common
from core.training import (PRESETS, Trainer, TrainingData, TrainingError, flip_windows, kfold_groups, label_runs,
                           load_data, split_groups, training_windows)
from tests.conftest import shared_path

# Under pytest-xdist (--dist loadgroup) this module's tests run in one worker, so its module fixtures are made once.
pytestmark = pytest.mark.xdist_group("test_training")


J = {j: i for i, j in enumerate(COMMON_JOINTS)}


@pytest.fixture(scope="module")
def aihub():
    return load_data([shared_path("data", "skeleton", "aihub", "datavalid.csv")])


@pytest.fixture(scope="module")
def urfd():
    return load_data([shared_path("data", "skeleton", "urfd", "pose_urfd_3classes.csv")])


def _subset(data: TrainingData, per_class: int) -> TrainingData:
    """The first ``per_class`` groups of each class."""
    picked, seen = [], {}
    for t in data.tracks:
        c = int(np.bincount(t.labels[t.labels >= 0]).argmax())
        if seen.setdefault(c, set()) and t.group not in seen[c] and len(seen[c]) >= per_class:
            continue
        seen[c].add(t.group)
        picked.append(t)
    return TrainingData(picked, data.label_names)


def test_aihub_tracks_labels_and_chunks(aihub):
    assert aihub.label_names == ["theft", "assault", "vandalism", "normal"]
    counts = aihub.frame_counts()
    assert counts == {"theft": 3279, "assault": 3671, "vandalism": 2938, "normal": 2946}
    normal = [t for t in aihub.tracks if (t.labels == 3).all()]
    assert len(normal) == 29 and len({t.group for t in normal}) == 29  # the 2,946-frame sequence, cut
    assert sum(len(t.frames) for t in normal) == 2946
    assert len({t.group for t in aihub.tracks}) == 75 + 29
    assert len(aihub.data_hash) == 64 and aihub.data_hash == load_data(aihub.sources).data_hash


def test_windows_never_cross_boundaries(aihub, urfd):
    for data in (aihub, urfd):
        x, y, org = training_windows(data.tracks, 16, 3)
        assert len(x) > 100
        for (k, s), w, lab in zip(org, x, y):
            t = data.tracks[k]
            assert (t.labels[s:s + 16] == lab).all()  # one label
            assert (np.diff(t.frames[s:s + 16]) == 1).all()  # consecutive frames of one track
            assert np.array_equal(w, t.keypoints[s:s + 16])
        expected = sum(len(range(a, b - 16 + 1, 3)) for t in data.tracks for a, b in label_runs(t))
        assert len(x) == expected
    # URFD videos hold upright -> falling -> lying: windows stop at each change
    t = urfd.tracks[0]
    runs = label_runs(t)
    assert [t.labels[a] for a, _ in runs] == [0, 1, 2]
    # a gap in the frames cuts a run
    from core.training import Track

    g = Track("gap", "g", t.keypoints[:40], np.zeros(40, np.int64), np.r_[np.arange(20), np.arange(25, 45)])
    assert label_runs(g) == [(0, 20), (20, 40)]
    assert len(training_windows([g], 16, 1)[0]) == 5 + 5


def test_split_is_by_group_and_stratified(aihub, urfd):
    tr, va = split_groups(aihub.tracks, 0.2, seed=0)
    gt = {aihub.tracks[i].group for i in tr}
    gv = {aihub.tracks[i].group for i in va}
    assert not gt & gv and len(gv) >= 4
    assert {int(aihub.tracks[i].labels[0]) for i in va} == {0, 1, 2, 3}
    assert split_groups(aihub.tracks, 0.2, seed=0) == (tr, va)
    assert split_groups(aihub.tracks, 0.2, seed=1) != (tr, va)
    folds = kfold_groups(urfd.tracks, 5, seed=0)
    held = [urfd.tracks[i].name for _, v in folds for i in v]
    assert sorted(held) == sorted(t.name for t in urfd.tracks)  # every video in exactly one test fold


def test_flip_swaps_left_and_right(aihub):
    w = aihub.tracks[0].keypoints[None, :16]
    f = flip_windows(w)
    cx = w[0, ..., 0].mean()
    for a, b in COMMON13.flip_pairs:
        assert np.allclose(f[0, :, a, 0], 2 * cx - w[0, :, b, 0], atol=1e-3)
        assert np.allclose(f[0, :, a, 1], w[0, :, b, 1])
    assert np.allclose(f[0, :, J["HEAD"], 0], 2 * cx - w[0, :, J["HEAD"], 0], atol=1e-3)
    assert np.allclose(flip_windows(f), w, atol=1e-3)
    assert (J["SHOULDER_LEFT"], J["SHOULDER_RIGHT"]) in COMMON13.flip_pairs and len(COMMON13.flip_pairs) == 6


def test_make_features(aihub):
    w = np.stack([aihub.tracks[i].keypoints[:16] for i in range(4)])
    w[1, 3, J["WRIST_LEFT"], 2] = 0  # a missing joint
    for norm in ("none", "minmax", "hip_torso"):
        f = make_features(w, {"normalisation": norm, "velocity": True, "score": True})
        assert f.shape == (4, 5, 16, 13) and f.dtype == np.float32
        ref = np.stack([normalise_window(x, norm) for x in w]).transpose(0, 3, 1, 2)
        assert np.allclose(f[:, :2], np.nan_to_num(ref[:, :2]) * (ref[:, 2:3] > 0), atol=1e-5)
        assert (f[:, 3:, 0] == 0).all()  # no velocity at the first frame
    f = make_features(w, {"normalisation": "hip_torso", "velocity": True, "score": False})
    assert f.shape[1] == feature_channels({"velocity": True, "score": False}) == 4
    hips = (w[0, :, J["HIP_LEFT"], :2] + w[0, :, J["HIP_RIGHT"], :2]) / 2
    assert np.allclose(f[0, :2, :, J["HIP_LEFT"]].T, -f[0, :2, :, J["HIP_RIGHT"]].T, atol=1e-5)  # centred on hips
    torso = np.median(np.linalg.norm((w[0, :, J["SHOULDER_LEFT"], :2] + w[0, :, J["SHOULDER_RIGHT"], :2]) / 2 - hips, axis=1))
    assert np.allclose(f[0, 2:, 1:, J["HEAD"]].T, np.diff(w[0, :, J["HEAD"], :2], axis=0) / torso, atol=1e-4)
    assert (f[1, 2:, 3:5, J["WRIST_LEFT"]] == 0).all()  # no velocity into or out of a missing joint


def _quick(data, seed, **kw):
    t = Trainer(data, "lstm", "quick", {"epochs": 1, "max_train_windows": 256, **kw}, seed=seed)
    t.fit()
    return t


def test_same_seed_same_metrics(aihub):
    torch.set_num_threads(2)
    sub = _subset(aihub, 4)
    a, b, c = _quick(sub, 3), _quick(sub, 3), _quick(sub, 4)
    ma = {k: v for k, v in a.metrics.items() if k != "train_time_s"}
    mb = {k: v for k, v in b.metrics.items() if k != "train_time_s"}
    assert ma == mb
    for k, v in a.model.state_dict().items():
        assert torch.equal(v, b.model.state_dict()[k])
    assert any(not torch.equal(v, c.model.state_dict()[k]) for k, v in a.model.state_dict().items())


def test_checkpoint_round_trip_through_track_classifier(tmp_path, urfd, fall04_skeletons):
    torch.set_num_threads(2)
    events = []
    t = Trainer(urfd, "lstm", "quick", {"epochs": 1, "max_train_windows": 200}, out_dir=tmp_path, seed=0,
                callbacks={"on_checkpoint": [lambda tr, p: events.append(p)]})
    done = t.fit()
    assert events and done["path"] == str(tmp_path / "model.pt") and (tmp_path / "metrics.json").exists()
    ck = load_checkpoint(tmp_path / "model.pt")
    assert ck.label_names == ["upright", "falling", "lying"] and ck.layout == "common13"
    assert ck.features == PRESETS["quick"]["features"] and ck.in_channels == 4 and ck.window == 16
    assert ck.data_hash == urfd.data_hash and ck.train_config["model"] == "lstm" and ck.created
    assert set(ck.metrics) >= {"accuracy", "macro_f1", "per_class", "confusion_matrix", "label_names"}
    assert np.array(ck.metrics["confusion_matrix"]).shape == (3, 3)
    clf = TrackClassifier(tmp_path / "model.pt")
    c = fall04_skeletons
    f = int(np.flatnonzero(c.persons_per_frame())[40])
    labels = clf.labels_for_frame(c, f)
    tid = c.poses(f).track_ids()[0]
    frames, kp, _ = c.track(tid)
    common = to_common(kp, c.layout)
    pos = int(np.searchsorted(frames, f))
    with torch.no_grad():  # the trained weights, the same features, the same window
        x = make_features(clf.window_for(common, pos)[None], ck.features)
        want = torch.softmax(t.model(torch.from_numpy(x)), -1).numpy()[0]
    assert labels[tid].name == ck.label_names[int(want.argmax())]
    assert labels[tid].prob == pytest.approx(float(want.max()), abs=1e-5)
    whole = clf.predict_track(common)
    assert whole.shape == (len(frames), 3) and np.allclose(whole[pos], want, atol=1e-5)
    w, idx = frame_windows(common, 16)
    assert len(w) == len(frames) - 15 and idx[0] == 0 and idx[15] == 0 and idx[16] == 1


def test_bad_training_data(tmp_path, aihub):
    single = TrainingData([t for t in aihub.tracks if (t.labels == 0).all()], aihub.label_names)
    with pytest.raises(TrainingError, match="single class"):
        Trainer(single, "lstm", "quick")
    with pytest.raises(TrainingError, match="fewer frames than one window"):
        Trainer(_subset(aihub, 2), "lstm", "quick", {"window": 400})
    with pytest.raises(TrainingError, match="unknown model"):
        Trainer(aihub, "gru", "quick")
    with pytest.raises(TrainingError, match="training data not found"):
        load_data([tmp_path / "nope.csv"])


def test_project_folder_and_dataset_pt_give_the_same_tracks(tmp_path):
    import pandas as pd

    from core.exporting import iter_export
    from core.extract import run
    from core.importing import iter_import
    from core.project import Project

    src = shared_path("data", "skeleton", "urfd", "pose_urfd_3classes.csv")
    df = pd.read_csv(src, dtype=str, keep_default_na=False)
    sub = tmp_path / "urfd.csv"
    df[df["video"].isin(sorted(df["video"].unique())[:5])].to_csv(sub, index=False)
    with Project.create(tmp_path / "proj") as p:
        run(iter_import(p, [sub]), callback=lambda _: None)
    direct, proj = load_data([sub]), load_data([tmp_path / "proj"])
    assert proj.label_names == direct.label_names == ["upright", "falling", "lying"]
    assert proj.frame_counts() == direct.frame_counts()
    a = {t.name.split(": ")[-1]: t for t in direct.tracks}
    for t in proj.tracks:  # the export keeps the video name; pixels rounded to 2 decimals
        ref = a[t.name.split(": ")[-1]]
        assert np.array_equal(t.labels, ref.labels) and np.allclose(t.keypoints, ref.keypoints, atol=0.006)
    with Project.open(tmp_path / "proj") as p:
        run(iter_export(p, tmp_path / "exp", ("pt",), window=16, stride=4), callback=lambda _: None)
    pt = load_data([tmp_path / "exp" / "dataset.pt"])
    assert pt.label_names == direct.label_names
    for name, n in pt.frame_counts().items():
        assert 0 < n <= direct.frame_counts()[name]
    x, y, _ = training_windows(pt.tracks, 16, 4)
    assert len(x) > 0 and set(y) == {0, 1, 2}


def test_a_stgcn_checkpoint_carries_its_graph(tmp_path, urfd):
    """The skeleton graph goes into the checkpoint's model_config, and the checkpoint loads from it."""
    torch.set_num_threads(2)
    t = Trainer(urfd, "stgcn", "quick", {"epochs": 1, "max_train_windows": 64}, out_dir=tmp_path, seed=0)
    t.fit()
    ck = load_checkpoint(tmp_path / "model.pt")
    assert ck.model_config["edges"] == [list(b) for b in COMMON13.bones]
    assert len(ck.model_config["centre"]) == 4 and ck.model_config["num_joints"] == 13
    clf = TrackClassifier(tmp_path / "model.pt")
    out = clf.predict_windows(np.zeros((2, ck.window, 13, 3), np.float32))
    assert out.shape == (2, 3) and np.allclose(out.sum(1), 1, atol=1e-5)

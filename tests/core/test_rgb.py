"""RGB clip models (issue 13): the R(2+1)D and fusion architectures, the Kinetics weights as a model file, clips
decoded from real videos with their crops, training through the trainer conventions, sliding-window prediction,
and distillation into a skeleton student — on real shared clips, small configurations."""

from __future__ import annotations

import functools
import http.server
import threading
from pathlib import Path

import numpy as np
import pytest
import torch

from core.errors import ModelError
from tests.conftest import shared_path, write_mjpg_avi


# Under pytest-xdist (--dist loadgroup) the modules using the session fixture rgb_model run in one worker, so it is
# made once.
pytestmark = pytest.mark.xdist_group("rgb_model")


# ------------------------------------------------------------------------------------------ architectures
def test_small_r2plus1d_shapes_and_embedding():
    import models

    m = models.build_model("r2plus1d", {"num_classes": 3, "in_channels": 3})
    x = torch.rand(2, 3, 8, 64, 64)
    assert m(x).shape == (2, 3)
    assert m.embed(x).shape == (2, 128)
    assert sum(p.numel() for p in m.parameters()) < 1_000_000  # the small configuration
    with pytest.raises(ValueError, match="RGB clips"):
        m(torch.rand(2, 8, 64, 64))
    with pytest.raises(ValueError, match="unknown R\\(2\\+1\\)D arch"):
        models.build_model("r2plus1d", {"num_classes": 2, "arch": "r3d"})


def test_r2plus1d_18_takes_torchvision_weights():
    """torchvision's own r2plus1d_18 state dict (here freshly initialised) loads into the backbone; its 400-class
    head is dropped, and the features are torchvision's."""
    from torchvision.models.video import r2plus1d_18

    import models

    tv = r2plus1d_18(weights=None).eval()
    m = models.build_model("r2plus1d", {"num_classes": 2, "arch": "r2plus1d_18"}).eval()
    assert m.load_backbone(tv.state_dict()) == []
    x = torch.rand(1, 3, 4, 32, 32)
    tv.fc = torch.nn.Identity()
    with torch.no_grad():
        ref = tv((x - m.mean) / m.std)
        np.testing.assert_allclose(m.embed(x).numpy(), ref.numpy(), rtol=1e-4, atol=1e-5)
    small = models.build_model("r2plus1d", {"num_classes": 2})
    with pytest.raises(ValueError, match="only for arch 'r2plus1d_18'"):
        small.load_backbone(tv.state_dict())


@pytest.mark.parametrize("stream,shape", [("stgcn", (2, 4, 8, 13)), ("scene_mlp", (2, 16))])
def test_fusion_trains_both_streams(stream, shape):
    sk = {"in_channels": shape[1], "num_joints": 13 if stream != "scene_mlp" else 1}
    if stream == "stgcn":
        sk["temporal_kernel"] = 3
    from core.classify import build_classifier

    # build_classifier gives an ST-GCN stream the common 13-joint graph (models/ itself knows no skeleton)
    m = build_classifier("fusion", {"num_classes": 2, "rgb": {"widths": [8, 8, 16, 16]}, "skeleton_model": stream,
                                    "skeleton": sk})
    x, s = torch.rand(2, 3, 4, 32, 32), torch.rand(*shape)
    logits = m(x, s)
    assert logits.shape == (2, 2) and m.embed(x, s).shape == (2, 64)
    torch.nn.functional.cross_entropy(logits, torch.tensor([0, 1])).backward()
    assert m.rgb.backbone[0][0].weight.grad.abs().sum() > 0
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in m.skeleton.parameters())


# ------------------------------------------------------------------------------------------ Kinetics weights
@pytest.fixture
def http_dir(tmp_path):
    www = tmp_path / "www"
    www.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(www))
    handler.log_message = lambda *a: None
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield www, f"http://127.0.0.1:{srv.server_address[1]}"
    srv.shutdown()
    srv.server_close()


@pytest.fixture(scope="module")
def r2plus1d_18_file(tmp_path_factory) -> Path:
    """A real r2plus1d_18 state dict file (torchvision's architecture, half precision to keep it at 60 MB)."""
    from torchvision.models.video import r2plus1d_18

    p = tmp_path_factory.mktemp("weights") / "r2plus1d_18.pth"
    torch.save({k: v.half() if v.is_floating_point() else v for k, v in r2plus1d_18(weights=None).state_dict().items()}, p)
    return p


def test_kinetics_weights_through_the_model_file_mechanism(r2plus1d_18_file, http_dir, tmp_path, monkeypatch):
    """The user-facing path of the Kinetics-400 weights: downloaded with progress into the per-user cache,
    checked against the publisher's SHA-256 prefix, loaded into the backbone. The real file cannot be fetched here,
    so the spec is pointed at a local r2plus1d_18 file served over HTTP with that file's own prefix; the official
    prefix refuses it (next test)."""
    import core.modelfiles as mf
    from core.rgb.weights import KINETICS_R2PLUS1D_18, pretrained_state_dict

    import models

    www, url = http_dir
    (www / KINETICS_R2PLUS1D_18).write_bytes(r2plus1d_18_file.read_bytes())
    official = mf.KNOWN_MODELS[KINETICS_R2PLUS1D_18]
    assert official.url == "https://download.pytorch.org/models/r2plus1d_18-91a641e6.pth"
    assert official.sha256_prefix == "91a641e6"
    monkeypatch.setitem(mf.KNOWN_MODELS, KINETICS_R2PLUS1D_18,
                        mf.ModelSpec(KINETICS_R2PLUS1D_18, official.url,
                                     sha256_prefix=mf.sha256_file(r2plus1d_18_file)[:8]))
    monkeypatch.delenv("POSEWATCH_MODEL_DIR", raising=False)
    monkeypatch.setenv("POSEWATCH_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("POSEWATCH_MODEL_URL_BASE", url)
    seen = []
    sd, path = pretrained_state_dict("kinetics400", progress=lambda d, t: seen.append((d, t)), allow_download=True)
    assert path == tmp_path / "cache" / "models" / KINETICS_R2PLUS1D_18
    assert seen[-1][0] == seen[-1][1] == path.stat().st_size and len(seen) > 1
    m = models.build_model("r2plus1d", {"num_classes": 2, "arch": "r2plus1d_18"})
    assert m.load_backbone(sd) == []
    assert torch.equal(m.backbone.stem[0].weight, sd["stem.0.weight"].float())


def test_kinetics_weights_wrong_checksum_and_offline(r2plus1d_18_file, http_dir, tmp_path, monkeypatch):
    from core.rgb.weights import KINETICS_R2PLUS1D_18, pretrained_state_dict

    www, url = http_dir
    (www / KINETICS_R2PLUS1D_18).write_bytes(r2plus1d_18_file.read_bytes())
    monkeypatch.delenv("POSEWATCH_MODEL_DIR", raising=False)
    monkeypatch.setenv("POSEWATCH_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("POSEWATCH_MODEL_URL_BASE", url)
    with pytest.raises(ModelError, match="corrupt: SHA-256 .* does not start with the official 91a641e6"):
        pretrained_state_dict("kinetics400", progress=lambda *a: None, allow_download=True)
    assert not list((tmp_path / "cache" / "models").glob("r2plus1d*"))  # nothing half-written is kept
    monkeypatch.setenv("POSEWATCH_OFFLINE", "1")
    with pytest.raises(ModelError, match="r2plus1d_18-91a641e6.pth' is not in .* downloads are disabled"):
        pretrained_state_dict("kinetics400")
    # a local copy in POSEWATCH_MODEL_DIR is checked too: this one is not torchvision's
    local = tmp_path / "models"
    local.mkdir()
    (local / KINETICS_R2PLUS1D_18).write_bytes(r2plus1d_18_file.read_bytes())
    monkeypatch.setenv("POSEWATCH_MODEL_DIR", str(local))
    with pytest.raises(ModelError, match="does not start with the official"):
        pretrained_state_dict("kinetics400")


# ------------------------------------------------------------------------------------------ clips
def test_sampling_and_windows():
    from core.rgb.clips import sample_frames, window_starts

    np.testing.assert_array_equal(sample_frames(10, 40, 30.0, 10.0), np.arange(10, 41, 3))
    assert sample_frames(0, 0, 30.0, 8.0).tolist() == [0]
    np.testing.assert_array_equal(window_starts(16, 8, 4), [0, 4, 8])
    np.testing.assert_array_equal(window_starts(17, 8, 4), [0, 4, 8, 9])  # the window ending at the clip's end
    assert window_starts(4, 8, 4).tolist() == [0]  # half a window: padded
    assert window_starts(3, 8, 4).tolist() == []  # too short


def test_decode_clip_crops_and_resizes_like_opencv():
    """A rectangle crop of a real clip, sampled at 5 fps: each sample is exactly OpenCV's crop + resize of that
    frame as sequential decoding gives it."""
    import cv2

    from core.rgb.clips import VideoClip, decode_clip

    path = shared_path("data", "videos", "fight", "fi001.mp4")  # 480x360, 25 fps
    box = np.tile(np.array([100, 50, 300, 250], np.int64), (41, 1))
    frames, idx, fps = decode_clip(VideoClip("c", path, 0, "g", 5, 45, box, crop="rect"), 5.0, (48, 64))
    assert fps == 25.0 and frames.shape == (len(idx), 48, 64, 3) and frames.dtype == np.uint8
    np.testing.assert_array_equal(idx, np.arange(5, 46, 5))
    cap = cv2.VideoCapture(str(path))
    ref = {}
    for i in range(46):
        ok, img = cap.read()
        if i in idx:
            ref[i] = cv2.cvtColor(cv2.resize(img[50:250, 100:300], (64, 48), interpolation=cv2.INTER_AREA),
                                  cv2.COLOR_BGR2RGB)
    for k, i in enumerate(idx):
        np.testing.assert_array_equal(frames[k], ref[int(i)])


def test_crop_outside_the_frame_is_one_line():
    from core.rgb.clips import ClipDataError, VideoClip, check_crop, decode_clip

    with pytest.raises(ClipDataError, match=r"crop \(500, 10, 900, 100\) lies outside the 480x360 frame"):
        check_crop((500, 10, 900, 100), 480, 360, "fi001.mp4")
    path = shared_path("data", "videos", "fight", "fi001.mp4")
    box = np.tile(np.array([600, 400, 700, 500], np.int64), (10, 1))
    with pytest.raises(ClipDataError, match="lies outside the 480x360 frame"):
        decode_clip(VideoClip("fi001.mp4", path, 0, "g", 0, 9, box, crop="rect"), 5.0, (32, 32))


def test_project_clips_follow_the_track(tmp_path, fall04, fall04_skeletons):
    """A project's follow-track clip becomes the person's smoothed box (the export's crop), a rectangle clip its
    rectangle; a rectangle outside the frame (an edited database) is refused with one line."""
    from core.exporting import crop_boxes
    from core.extract import run
    from core.project import Crop, Project
    from core.rgb.clips import ClipDataError, iter_project_clips

    tid = int(fall04_skeletons.track_ids()[0])
    with Project.create(tmp_path / "p") as proj:
        v = proj.add_video(fall04)
        c1 = proj.add_clip(v.id, 20, 80, "normal", track_id=tid, crop=Crop("track", margin=0.2))
        proj.add_clip(v.id, 170, 210, "fall", crop=Crop("rect", (50, 100, 350, 600)))
    data = run(iter_project_clips(tmp_path / "p"), callback=lambda p: None)
    assert data.label_names == ["normal", "fall"] and [c.crop for c in data.clips] == ["track", "rect"]
    expected, _ = crop_boxes(c1, v, fall04_skeletons)
    np.testing.assert_array_equal(data.clips[0].boxes, expected)
    assert data.clips[0].track_id == tid and data.clips[0].cache is not None
    assert data.clips[1].boxes[0].tolist() == [50, 100, 350, 600]
    import sqlite3

    with sqlite3.connect(tmp_path / "p" / "project.sqlite") as db:  # a crop that no longer fits the video
        db.execute("UPDATE clips SET crop_x2 = 2000 WHERE crop_kind = 'rect'")
    with pytest.raises(ClipDataError, match="lies outside the 406x720 frame"):
        run(iter_project_clips(tmp_path / "p"), callback=lambda p: None)


def test_skeleton_inputs_of_a_window(fall04_skeletons):
    from core.rgb.clips import VideoClip, primary_track, skeleton_input

    cache = fall04_skeletons
    tid = primary_track(cache, 0, 150)
    assert tid is not None
    clip = VideoClip("fall04", Path("fall04.mp4"), 0, "g", 0, 150, cache=cache)
    w = skeleton_input(clip, 120, {"kind": "track", "window": 8, "fps": 15.0})
    frames, kps, _ = cache.track(tid)
    assert w.shape == (8, 13, 3)
    from core.layouts import to_common

    last = int(np.searchsorted(frames, 120, "right") - 1)
    np.testing.assert_array_equal(w[-1], to_common(kps[last:last + 1], cache.layout)[0])
    v = skeleton_input(clip, 120, {"kind": "scene", "span_s": 1.0})
    assert v.shape == (16,) and np.isfinite(v).all()


# ------------------------------------------------------------------------------------------ training + predict
@pytest.fixture(scope="module")
def fall04_data(fall04, fall04_skeletons):
    """Fall04 cut into labelled spans (standing / down), each its own group, with the video's skeletons."""
    from core.rgb.clips import ClipData, VideoClip

    spans = [(0, 55, 0), (56, 111, 0), (112, 167, 0), (174, 214, 1), (215, 249, 1), (204, 240, 1)]
    clips = [VideoClip(f"fall04 {a}-{b}", Path(fall04), y, f"span{k}", a, b, cache=fall04_skeletons)
             for k, (a, b, y) in enumerate(spans)]
    return ClipData(clips, ["standing", "down"], ["fall04"])


@pytest.fixture(scope="module")
def fall04_teacher(fall04_data, tmp_path_factory):
    """A quick r2plus1d trained on the Fall04 spans (in-process): ``(model.pt, trainer, events)``."""
    from core.rgb.train import VideoTrainer

    out = tmp_path_factory.mktemp("teacher")
    events = []
    cbs = {e: [lambda _t, p, e=e: events.append((e, p))] for e in ("on_start", "on_epoch_end", "on_checkpoint", "on_done")}
    tr = VideoTrainer(fall04_data, "r2plus1d", "quick", {"epochs": 3, "fps": 8.0}, out_dir=out, seed=0,
                      split=([0, 1, 3, 4], [2, 5]), callbacks=cbs)
    tr.fit()
    return out / "model.pt", tr, events


def test_training_events_checkpoint_and_card(fall04_teacher):
    from core.classify import VIDEO_CHECKPOINT_FORMAT, load_checkpoint

    path, tr, events = fall04_teacher
    names = [e for e, _ in events]
    assert names[0] == "on_start" and names[-1] == "on_done" and names.count("on_epoch_end") == 3
    assert "on_checkpoint" in names
    start = events[0][1]
    assert start["model"] == "r2plus1d" and start["label_names"] == ["standing", "down"]
    done = events[-1][1]
    assert done["path"] == str(path) and done["stop_reason"] == "completed" and done["epochs_run"] == 3
    d = torch.load(path, weights_only=True)
    assert d["format"] == VIDEO_CHECKPOINT_FORMAT and d["layout"] == "rgb"
    ck = load_checkpoint(path)
    assert ck.is_video and ck.model_name == "r2plus1d" and ck.window == 4 and ck.fps == 8.0
    assert ck.video["size"] == [32, 32] and ck.video["kind"] == "rgb" and ck.video["crop"] == "frame"
    assert len(ck.data_hash) == 64 and ck.created and ck.train_config["preset"] == "quick"
    m = ck.metrics
    assert {"accuracy", "macro_f1", "per_class", "confusion_matrix", "clip_balanced_accuracy", "epoch"} <= set(m)
    assert m["windows"] == sum(len(tr.val_starts[i]) for i in tr.val_idx)


def test_same_seed_same_metrics(fall04_data, fall04_teacher):
    from core.rgb.train import VideoTrainer

    _path, first, _ = fall04_teacher
    again = VideoTrainer(fall04_data, "r2plus1d", "quick", {"epochs": 3, "fps": 8.0}, seed=0, split=([0, 1, 3, 4], [2, 5]))
    again.fit()
    assert again.metrics["confusion_matrix"] == first.metrics["confusion_matrix"]
    assert again.metrics["best_epoch"] == first.metrics["best_epoch"]


def test_early_stopping(fall04_data):
    from core.rgb.train import VideoTrainer

    tr = VideoTrainer(fall04_data, "r2plus1d", "quick", {"epochs": 4, "patience": 0, "fps": 8.0}, seed=0,
                      split=([0, 1, 3, 4], [2, 5]))
    done = tr.fit()
    assert done["stop_reason"] == "early_stopping" and done["epochs_run"] == 1 < done["epochs"]


def test_sliding_windows_label_every_frame(fall04_teacher, fall04, fall04_skeletons):
    from core.extract import run
    from core.rgb.infer import VideoClassifier

    path, _, _ = fall04_teacher
    clf = VideoClassifier(path)
    preds = run(clf.iter_predict_video(fall04, stride_s=0.5), callback=lambda p: None)
    n = fall04_skeletons.frame_count
    assert preds.frame_count == n and preds.start_frame[0] == 0 and preds.end_frame[-1] >= n - 2
    # windows of 4 samples at 8 fps (0.5 s) every 0.5 s: they tile the video
    assert np.all(np.diff(preds.start_frame) > 0) and np.allclose(preds.probs.sum(1), 1, atol=1e-5)
    for f in (0, 100, n - 1):
        w = preds.window_at(f)
        assert preds.start_frame[w] <= f <= preds.end_frame[w] or f > preds.end_frame[-1]
    labels = clf.labels_for_frame(fall04_skeletons, 100)
    persons = [p.track_id for p in fall04_skeletons.poses(100).persons]
    assert set(labels) == set(persons)
    w = preds.window_at(100)
    assert all(lab.name == clf.label_names[int(preds.probs[w].argmax())] for lab in labels.values())
    df = preds.to_dataframe()
    assert list(df.columns[:8]) == ["track_id", "start_frame", "end_frame", "start_s", "end_s", "pred_label",
                                    "pred_label_name", "pred_prob"] and len(df) == len(preds.probs)


def test_too_short_clips(tmp_path, fall04_data):
    from core.rgb.clips import ClipData, VideoClip, folder_clips
    from core.rgb.train import VideoTrainer
    from core.training import TrainingError

    short = write_mjpg_avi(tmp_path / "short.avi", 3)  # 0.12 s at 25 fps
    for label in ("a", "b"):
        (tmp_path / "clips" / label).mkdir(parents=True)
        write_mjpg_avi(tmp_path / "clips" / label / f"{label}1.avi", 3)
        write_mjpg_avi(tmp_path / "clips" / label / f"{label}2.avi", 3)
    with pytest.raises(TrainingError, match="every training clip is shorter than half the model's window"):
        VideoTrainer(folder_clips(tmp_path / "clips"), "r2plus1d", "quick", {"fps": 8.0, "frames": 8})
    # one short clip among long ones: left out with a warning
    clips = list(fall04_data.clips) + [VideoClip("short.avi", short, 0, "short")]
    tr = VideoTrainer(ClipData(clips, fall04_data.label_names), "r2plus1d", "quick", {"fps": 8.0}, seed=0,
                      split=([0, 1, 3, 4, 6], [2, 5]))
    assert 6 not in tr.train_idx and any("shorter than half" in w and "short.avi" in w for w in tr.warnings)


def test_memory_check_before_anything_is_decoded(fall04_data):
    from core.rgb.train import VideoTrainer
    from core.training import TrainingError

    with pytest.raises(TrainingError, match=r"needs about \d+(\.\d)? GiB of memory, but only .* GiB are free"):
        VideoTrainer(fall04_data, "r2plus1d", "quick", {"frames": 512, "size": [2048, 2048], "batch_size": 4096})


def test_wrong_kinds_of_checkpoint(fall04_teacher):
    from core.classifiers import open_classifier
    from core.classify import TrackClassifier
    from core.defaults import default_classifier_path
    from core.rgb.infer import VideoClassifier

    path, _, _ = fall04_teacher
    with pytest.raises(ModelError, match="is an RGB clip model \\(r2plus1d\\)"):
        TrackClassifier(path)
    with pytest.raises(ModelError, match="is a skeleton model \\(stgcn\\), not an RGB clip model"):
        VideoClassifier(default_classifier_path("fall"))
    with pytest.raises(ModelError, match="is a scene \\(fight\\) model"):
        VideoClassifier(default_classifier_path("fight"))
    assert isinstance(open_classifier(path), VideoClassifier)
    assert isinstance(open_classifier(default_classifier_path("fall")), TrackClassifier)


# ------------------------------------------------------------------------------------------ fusion + distillation
def test_fusion_trains_from_the_rgb_model(fall04_data, fall04_teacher, tmp_path, fall04):
    from core.classify import load_checkpoint
    from core.extract import run
    from core.rgb.infer import VideoClassifier
    from core.rgb.train import VideoTrainer

    rgb, _, _ = fall04_teacher
    tr = VideoTrainer(fall04_data, "fusion", "quick", {"epochs": 1, "fps": 8.0, "init_rgb": str(rgb)},
                      out_dir=tmp_path, seed=0, split=([0, 1, 3, 4], [2, 5]))
    # the RGB stream starts from the RGB model's weights
    model, _ = __import__("core.rgb.train", fromlist=["build_video_model"]).build_video_model(tr.cfg, 2)
    tr.init_rgb_stream(model, rgb)
    src = load_checkpoint(rgb).state_dict
    assert torch.equal(model.rgb.backbone[0][0].weight, src["backbone.0.0.weight"])
    tr.fit()
    ck = load_checkpoint(tmp_path / "model.pt")
    assert ck.model_name == "fusion" and ck.video["kind"] == "fusion" and ck.video["skeleton"]["kind"] == "track"
    clf = VideoClassifier(tmp_path / "model.pt")
    assert clf.needs_skeletons
    with pytest.raises(ValueError, match="needs the video's skeletons"):
        run(clf.iter_predict_video(fall04), callback=lambda p: None)
    preds = run(clf.iter_predict_video(fall04, cache=fall04_data.clips[0].cache), callback=lambda p: None)
    assert len(preds.probs) > 4


def test_distillation_loss_parts():
    from core.distill import distillation_loss

    torch.manual_seed(0)
    s, t = torch.randn(6, 3), torch.randn(6, 3)
    fs, ft = torch.randn(6, 5), torch.randn(6, 5)
    y = torch.tensor([0, 1, 2, 0, 1, 2])
    total, parts = distillation_loss(s, t, fs, ft, y, 1.0, 0.0, 0.0, 4.0)
    assert torch.isclose(total, torch.nn.functional.cross_entropy(s, y))
    _, parts = distillation_loss(s, t, fs, ft, y, 0.0, 1.0, 0.0, 2.0)
    kl = (torch.softmax(t / 2, -1) * (torch.log_softmax(t / 2, -1) - torch.log_softmax(s / 2, -1))).sum(-1).mean() * 4
    assert abs(parts["kd"] - float(kl)) < 1e-5
    total, _ = distillation_loss(t, t, ft, ft, y, 0.0, 1.0, 1.0, 4.0)
    assert float(total) < 1e-6  # a student equal to its teacher has nothing left to learn from it


def test_distil_into_a_live_skeleton_student(fall04_data, fall04_teacher, tmp_path, fall04_skeletons):
    from core.classify import TrackClassifier, load_checkpoint
    from core.distill import Distiller
    from core.layouts import to_common

    teacher, _, _ = fall04_teacher
    events = []
    d = Distiller(teacher, fall04_data, "stgcn", {"epochs": 3, "window": 8, "fps": 15.0, "gamma": 0.5},
                  out_dir=tmp_path, seed=0, split=([0, 1, 3, 4], [2, 5]),
                  callbacks={"on_epoch_end": [lambda _d, p: events.append(p)]})
    assert d.f_train.shape[1] == 16  # the teacher's pooled features (quick preset widths 8-8-16-16)
    done = d.fit()
    assert len(events) == 3 and all(e["loss_parts"]["kd"] > 0 and e["loss_parts"]["feature"] > 0 for e in events)
    ck = load_checkpoint(tmp_path / "model.pt")
    assert not ck.is_video and ck.model_name == "stgcn" and ck.window == 8 and ck.fps == 15.0
    dist = ck.train_config["distillation"]
    assert dist["teacher"] == str(teacher) and dist["gamma"] == 0.5 and "Hinton" in dist["source"]
    assert "teacher_agreement" in done["metrics"]
    # an ordinary skeleton checkpoint: the live path's TrackClassifier labels tracks with it
    clf = TrackClassifier(tmp_path / "model.pt")
    tid = int(fall04_skeletons.track_ids()[0])
    frames, kps, _ = fall04_skeletons.track(tid)
    probs = clf.predict_track(to_common(kps, fall04_skeletons.layout), frames, fall04_skeletons.fps)
    assert probs.shape == (len(frames), 2)


def test_distill_refuses_a_skeleton_teacher(fall04_data):
    from core.defaults import default_classifier_path
    from core.distill import Distiller

    with pytest.raises(ModelError, match="the teacher must be an RGB or fusion model; fall_default.pt is a skeleton"):
        Distiller(default_classifier_path("fall"), fall04_data, "stgcn")


# ------------------------------------------------------------------------------------------ settings
def test_video_presets_and_distillation_weights_come_from_the_settings():
    """The RGB window/stride seconds and the distillation loss weights are settings (resources/default.yaml:
    video_training, distill): as shipped they are the presets the code had; --set reaches the trainers; a bad value
    is one line naming the key."""
    from core import config
    from core.distill import DEFAULTS, resolve_distill_config
    from core.rgb.train import PRESETS, resolve_video_config

    assert set(PRESETS) == {"default", "quick", "kinetics"}
    assert (PRESETS["default"]["frames"], PRESETS["default"]["fps"], PRESETS["default"]["stride_s"]) == (8, 8.0, 0.5)
    assert PRESETS["quick"]["model_config"] == {"widths": [8, 8, 16, 16]}
    assert PRESETS["quick"]["skeleton"]["features"] == PRESETS["default"]["skeleton"]["features"]
    assert PRESETS["kinetics"]["pretrained"] == "kinetics400"
    assert (DEFAULTS["alpha"], DEFAULTS["beta"], DEFAULTS["gamma"], DEFAULTS["temperature"]) == (1.0, 1.0, 1.0, 4.0)
    try:
        config.activate(sets=["video_training.presets.quick.stride_s=0.25", "video_training.base.fps=6",
                              "distill.beta=2.5"])
        cfg = resolve_video_config("r2plus1d", "quick")
        assert cfg["stride_s"] == 0.25 and cfg["fps"] == 4.0  # the preset's own fps wins over base's
        assert resolve_video_config("r2plus1d", "default")["fps"] == 6.0
        assert resolve_distill_config("stgcn")["beta"] == 2.5
        with pytest.raises(config.ConfigError, match="bad setting distill.temperature = 0"):
            config.activate(sets=["distill.temperature=0"])
        with pytest.raises(config.ConfigError, match="unknown setting video_training.presets.quick.nope"):
            config.activate(sets=["video_training.presets.quick.nope=1"])
    finally:
        config.reset()

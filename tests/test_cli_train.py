"""`python main.py train | evaluate | predict` as real subprocesses on subsets of the shared AI-Hub and URFD CSVs."""

from __future__ import annotations

import json
import signal
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import torch

from core.importing import AIHUB_LABELS, URFD_LABELS, parse_file
from tests.conftest import ROOT, aihub_few_sequences, shared_path
from tests.test_cli import cli

EVENT_KEYS = {
    "start": {"model", "epochs", "train_windows", "val_windows", "label_names", "summary", "warnings"},
    "epoch_end": {"epoch", "epochs", "train_loss", "val_loss", "train_acc", "val_acc", "val_macro_f1", "best_macro_f1",
                  "elapsed_s", "eta_s"},
    "checkpoint": {"path", "epoch", "val_macro_f1"},
    "done": {"path", "metrics", "confusion_matrix", "label_names", "stopped", "stop_reason", "epochs_run", "epochs",
             "warnings"},
}


def _text(path):
    return pd.read_csv(path, dtype=str, keep_default_na=False)


@pytest.fixture(scope="module")
def aihub_subset(tmp_path_factory):
    """3 sequences of each of theft/assault/vandalism and the first 300 'normal' rows of datavalid.csv."""
    src = shared_path("data", "skeleton", "aihub", "datavalid.csv")
    seqs = parse_file(src).sequences
    starts = np.cumsum([0] + [s.frame_count for s in seqs])
    rows, per = [], {}
    for k, s in enumerate(seqs):
        lab = s.clips[0].label
        if per.get(lab, 0) < 3:
            per[lab] = per.get(lab, 0) + 1
            rows += list(range(starts[k], starts[k] + min(s.frame_count, 300)))
    out = tmp_path_factory.mktemp("aihub") / "subset.csv"
    _text(src).iloc[rows].to_csv(out, index=False)
    return out


def _events(stdout: str) -> list[dict]:
    return [json.loads(ln) for ln in stdout.splitlines() if ln.strip()]


def test_train_evaluate_predict_on_aihub(tmp_path, aihub_subset):
    out = tmp_path / "run"
    r = cli("train", "--data", aihub_subset, "--model", "lstm", "--preset", "quick", "--out", out, "--events", "jsonl")
    assert r.returncode == 0, r.stderr
    ev = _events(r.stdout)
    assert ev[0]["event"] == "start" and ev[-1]["event"] == "done"
    for e in ev:
        assert set(e) - {"event"} == EVENT_KEYS[e["event"]], e
    epochs = [e for e in ev if e["event"] == "epoch_end"]
    assert [e["epoch"] for e in epochs] == [1, 2] and all(e["epochs"] == 2 for e in epochs)
    assert ev[0]["label_names"] == list(AIHUB_LABELS) and ev[0]["train_windows"] > 0 and ev[0]["val_windows"] > 0
    ck = [e for e in ev if e["event"] == "checkpoint"]
    assert ck and ck[-1]["path"] == str(out / "model.pt") and (out / "model.pt").is_file()
    summary = ev[0]["summary"]
    assert set(summary["train"]) == set(AIHUB_LABELS) and sum(summary["train"].values()) == ev[0]["train_windows"]
    assert all(v > 0 for v in summary["val"].values())
    done = ev[-1]
    assert done["stopped"] is False and done["path"] == str(out / "model.pt")
    assert done["stop_reason"] == "completed" and done["epochs_run"] == done["epochs"] == 2
    assert done["metrics"]["macro_f1"] == max(e["val_macro_f1"] for e in epochs)
    assert np.array(done["confusion_matrix"]).shape == (4, 4)
    saved = json.loads((out / "metrics.json").read_text())
    assert saved["macro_f1"] == done["metrics"]["macro_f1"] and len(saved["data_hash"]) == 64

    r = cli("evaluate", "--model", out / "model.pt", "--data", aihub_subset)
    assert r.returncode == 0, r.stderr
    m = json.loads(r.stdout)
    assert m["frames"] == len(_text(aihub_subset)) and m["label_names"] == list(AIHUB_LABELS)
    assert np.array(m["confusion_matrix"]).sum() == m["frames"]
    assert 0 <= m["macro_f1"] <= 1 and set(m["per_class"]["theft"]) == {"precision", "recall", "f1", "support"}

    pred = tmp_path / "pred.csv"
    r = cli("predict", "--model", out / "model.pt", "--input", aihub_subset, "--out", pred)
    assert r.returncode == 0, r.stderr
    src, got = _text(aihub_subset), _text(pred)
    assert len(got) == len(src) and got[list(src.columns)].equals(src)  # every input row, unchanged
    ids = got["pred_label"].astype(int)
    assert set(ids) <= {0, 1, 2, 3}
    assert (ids == [AIHUB_LABELS.index(n) for n in got["pred_label_name"]]).all()
    p = got["pred_prob"].astype(float)
    assert ((p >= 0.25) & (p <= 1)).all()
    # rows before the first full window of a sequence take that window's prediction
    assert parse_file(aihub_subset).sequences[0].frame_count > 16
    assert got["pred_prob"].iloc[:16].nunique() == 1 and got["pred_label"].iloc[:16].nunique() == 1


def test_train_and_predict_on_urfd_keeps_its_ids(tmp_path, fall04, fall04_skeletons):
    src = shared_path("data", "skeleton", "urfd", "pose_urfd_3classes.csv")
    df = _text(src)
    videos = sorted(df["video"].unique())[:8] + ["fall-13"]  # fall-13 repeats frames with conflicting labels
    sub = tmp_path / "urfd.csv"
    df[df["video"].isin(videos)].to_csv(sub, index=False)
    out = tmp_path / "run"
    r = cli("train", "--data", sub, "--preset", "quick", "--epochs", "1", "--out", out)
    assert r.returncode == 0, r.stderr
    assert "validation macro-F1" in r.stderr.strip().splitlines()[-1]
    pred = tmp_path / "pred.csv"
    r = cli("predict", "--model", out / "model.pt", "--input", sub, "--out", pred)
    assert r.returncode == 0, r.stderr
    got, given = _text(pred), _text(sub)
    assert len(got) == len(given) and got[list(given.columns)].equals(given)
    assert (got["pred_label"].astype(int) == [URFD_LABELS.index(n) for n in got["pred_label_name"]]).all()
    # duplicated (video, frame) rows get the same prediction
    dup = got[got.duplicated(["video", "frame"], keep=False)]
    assert len(dup) > 0
    assert (dup.groupby(["video", "frame"])["pred_prob"].nunique() == 1).all()
    # a video: one row per track and frame, from the cached skeletons
    r = cli("predict", "--model", out / "model.pt", "--input", fall04, "--out", tmp_path / "video.csv")
    assert r.returncode == 0, r.stderr
    v = pd.read_csv(tmp_path / "video.csv")
    c = fall04_skeletons
    assert list(v.columns) == ["frame", "time_s", "track_id", "pred_label", "pred_label_name", "pred_prob"]
    assert len(v) == len(c.keypoints) and set(v["track_id"]) == set(c.track_ids())
    assert sorted(zip(v["frame"], v["track_id"])) == sorted(zip(c.frame.tolist(), c.track_id.tolist()))
    assert (v["pred_label"] == [URFD_LABELS.index(n) for n in v["pred_label_name"]]).all()


def test_sigterm_keeps_the_best_checkpoint(tmp_path, aihub_subset):
    out = tmp_path / "run"
    p = subprocess.Popen([sys.executable, str(ROOT / "main.py"), "train", "--data", str(aihub_subset), "--preset",
                          "default", "--epochs", "500", "--time-limit", "600", "--out", str(out), "--events", "jsonl"],
                         cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        seen = []
        for line in p.stdout:
            seen.append(json.loads(line))
            if seen[-1]["event"] == "checkpoint":
                break
        assert seen and seen[-1]["event"] == "checkpoint", p.stderr.read()
        p.send_signal(signal.SIGTERM)
        rest, err = p.communicate(timeout=120)
    finally:
        if p.poll() is None:
            p.kill()
    assert p.returncode == 0, err
    ev = seen + _events(rest)
    assert ev[-1]["event"] == "done" and ev[-1]["stopped"] is True
    assert ev[-1]["path"] == str(out / "model.pt")
    assert max(e["epoch"] for e in ev if e["event"] == "epoch_end") < 500
    from core.classify import TrackClassifier

    clf = TrackClassifier(out / "model.pt")
    best = max(e["val_macro_f1"] for e in ev if e["event"] == "checkpoint")
    assert clf.ckpt.metrics["macro_f1"] == best
    assert not list(out.glob("*.tmp"))


def _bad_cases(tmp, subset):
    df = _text(subset)
    single = tmp / "single.csv"
    df[df["label"] == "0"].to_csv(single, index=False)
    empty = tmp / "empty.csv"
    df.iloc[:0].to_csv(empty, index=False)
    nan = tmp / "nan.pt"
    x = torch.rand(6, 3, 16, 13) * 100
    x[:, 2] = 1
    x[2, 0, 5, 3] = float("nan")
    torch.save({"x": x, "y": torch.tensor([0, 1, 0, 1, 0, 1]), "label_names": ["a", "b"], "video_hashes": list("uvwxyz"),
                "track_ids": torch.ones(6, dtype=torch.int64), "start_frames": torch.zeros(6, dtype=torch.int64),
                "layout": "common13", "normalisation": "none"}, nan)
    garbage = tmp / "garbage.pt"
    garbage.write_bytes(b"\x80not a checkpoint at all")
    other = tmp / "coco.pt"
    torch.save({"format": "posewatch-classifier/2", "layout": "coco17"}, other)
    train = ["train", "--preset", "quick", "--out", tmp / "o", "--events", "jsonl", "--data"]
    return {
        "empty-dataset": (train + [empty], "has a header but no data rows"),
        "single-class": (train + [single], "single class (theft)"),
        "window-too-long": (train + [subset, "--window", "400"], "fewer frames than one window"),
        "nan-keypoints": (train + [nan], "NaN keypoints"),
        "corrupt-data": (train + [garbage], "corrupt or not a PyTorch file"),
        "missing-data": (train + [tmp / "nope.csv"], "training data not found"),
        "other-layout": (["evaluate", "--model", other, "--data", subset], "layout 'coco17'"),
        "corrupt-checkpoint": (["predict", "--model", garbage, "--input", subset, "--out", tmp / "p.csv"],
                               "corrupt or not a PyTorch file"),
    }


@pytest.mark.parametrize("case", ["empty-dataset", "single-class", "window-too-long", "nan-keypoints", "corrupt-data",
                                  "missing-data", "other-layout", "corrupt-checkpoint"])
def test_bad_input_gives_one_line_and_exit_2(case, tmp_path, aihub_subset):
    args, expected = _bad_cases(tmp_path, aihub_subset)[case]
    r = cli(*args)
    assert r.returncode == 2, r.stderr
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and expected in lines[0], r.stderr
    if args[0] == "train":
        assert _events(r.stdout) == [{"event": "error", "message": lines[0][len("error: "):]}]
    assert not (tmp_path / "o" / "model.pt").exists() and not (tmp_path / "p.csv").exists()


def test_train_warns_about_a_split_without_a_class(tmp_path):
    """Five short sequences (three normal, two theft) from AI-Hub: the validation split (one sequence) lacks a class
    and theft has few windows: the summary and the warnings come before the run, in the CLI and the event stream."""
    data = aihub_few_sequences(tmp_path / "five.csv")
    r = cli("train", "--data", data, "--model", "lstm", "--preset", "quick", "--window", "4", "--out", tmp_path / "a")
    assert r.returncode == 0, r.stderr
    assert "train windows  validation frames" in r.stderr
    assert "warning: the validation split has no frames of" in r.stderr, r.stderr
    assert "warning: class theft has only" in r.stderr or "warning: class normal has only" in r.stderr, r.stderr
    r = cli("train", "--data", data, "--model", "lstm", "--preset", "quick", "--window", "4", "--out", tmp_path / "b",
            "--events", "jsonl")
    assert r.returncode == 0, r.stderr
    ev = _events(r.stdout)
    assert any("validation split has no frames" in w for w in ev[0]["warnings"])
    assert ev[-1]["warnings"] == ev[0]["warnings"]

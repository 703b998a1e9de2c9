"""`python main.py train --model r2plus1d | predict | distill` with RGB clip models as real subprocesses on real
shared clips, and the one-line errors of bad input (too-short clips, crops outside the frame, checkpoints of the
wrong kind)."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from core.classify import load_checkpoint
from core.defaults import default_classifier_path
from tests.conftest import shared_path, write_mjpg_avi
from tests.test_cli import cli
from tests.test_cli_train import EVENT_KEYS


# Under pytest-xdist (--dist loadgroup) the modules using the session fixture rgb_model run in one worker, so it is
# made once.
pytestmark = pytest.mark.xdist_group("rgb_model")


def test_train_r2plus1d_streams_the_trainer_events(rgb_model):
    path, events = rgb_model
    kinds = [e["event"] for e in events]
    assert kinds[0] == "start" and kinds[-1] == "done" and kinds.count("epoch_end") == 2 and "checkpoint" in kinds
    for e in events:
        assert EVENT_KEYS[e["event"]] <= set(e), e["event"]
    assert events[0]["model"] == "r2plus1d" and events[0]["label_names"] == ["fight", "normal"]
    assert events[-1]["path"] == str(path)
    ck = load_checkpoint(path)
    assert ck.is_video and ck.label_names == ["fight", "normal"] and ck.train_config["preset"] == "quick"
    assert json.loads((path.parent / "metrics.json").read_text())["best_epoch"] >= 1


def test_predict_video_by_sliding_windows(rgb_model, tmp_path):
    path, _ = rgb_model
    video = shared_path("data", "videos", "fight", "fi006.mp4")
    out = tmp_path / "pred.csv"
    r = cli("predict", "--model", path, "--input", video, "--out", out)
    assert r.returncode == 0, r.stderr[-800:]
    df = pd.read_csv(out)
    assert list(df.columns) == ["track_id", "start_frame", "end_frame", "start_s", "end_s", "pred_label",
                                "pred_label_name", "pred_prob", "p_fight", "p_normal"]
    assert (df["track_id"] == -1).all() and set(df["pred_label_name"]) <= {"fight", "normal"}
    assert (df["p_fight"] + df["p_normal"]).round(3).eq(1.0).all()
    assert df["start_s"].diff().dropna().round(2).eq(0.5).sum() >= len(df) - 2  # the checkpoint's 0.5-s stride
    out2 = tmp_path / "pred2.csv"
    res = in_process("predict", "--model", path, "--input", video, "--out", out2, "--stride-s", "0.25", "--crop",
                     "0,0,240,180")
    assert res.exit_code == 0, res.output[-800:]
    assert len(pd.read_csv(out2)) > len(df)


def in_process(*args):
    """The real CLI run in this process (click's runner): for the error cases, to spare a PyTorch import each."""
    from click.testing import CliRunner

    from main import cli as main_cli

    return CliRunner().invoke(main_cli, [str(a) for a in args])


def one_error_line_in_process(res, *fragments: str) -> str:
    assert res.exit_code == 2, (res.exit_code, res.output[-800:])
    lines = [ln for ln in res.stderr.strip().splitlines() if ln.startswith("error: ")]
    assert len(lines) == 1, res.stderr[-800:]
    for f in fragments:
        assert f in lines[0], lines[0]
    return lines[0]


def test_bad_input_is_one_line(rgb_model, tmp_path):
    path, _ = rgb_model
    video = shared_path("data", "videos", "fight", "fi006.mp4")  # 640x360
    out = tmp_path / "p.csv"
    e = one_error_line_in_process
    e(in_process("predict", "--model", path, "--input", video, "--out", out, "--crop", "300,200,900,400"),
      "crop (300, 200, 900, 400) lies outside the 640x360 frame")
    e(in_process("predict", "--model", path, "--input", video, "--out", out, "--crop", "1,2,3"),
      "--crop needs four numbers X1,Y1,X2,Y2 in pixels, got '1,2,3'")
    short = write_mjpg_avi(tmp_path / "short.avi", 1)
    e(in_process("distill", "--teacher", default_classifier_path("fall"), "--data", tmp_path, "--out", tmp_path / "d"),
      "the teacher must be an RGB or fusion model; fall_default.pt is a skeleton model")
    e(in_process("predict", "--model", path, "--input", short, "--out", out),
      "short.avi is 0.25 s long (1 frame(s) at 4 fps)", "shorter than half the model's 1.00 s window")
    csv = shared_path("data", "skeleton", "urfd", "pose_urfd_3classes.csv")
    e(in_process("predict", "--model", path, "--input", csv, "--out", out),
      "is an RGB clip model (r2plus1d): give it a video, not skeletons")
    e(in_process("detect", video, "--model", path, "--events", tmp_path / "e.jsonl"),
      "is an RGB clip model (r2plus1d)", "predict --input VIDEO")
    e(in_process("evaluate", "--model", path, "--data", csv), "is an RGB clip model")
    e(in_process("train", "--model", "r2plus1d", "--data", csv, "--out", tmp_path / "t"), "RGB models train on videos")
    e(in_process("train", "--model", "r2plus1d", "--data", tmp_path, "--out", tmp_path / "t", "--size", "8x8"),
      "--size needs HxW of at least 16 pixels")
    e(in_process("train", "--model", "r2plus1d", "--data", tmp_path, "--out", tmp_path / "t", "--arch", "small",
                 "--pretrained", "kinetics400"), "--pretrained weights exist for --arch r2plus1d_18 only")
    e(in_process("train", "--model", "r2plus1d", "--data", tmp_path, "--out", tmp_path / "t", "--preset", "seed"),
      "unknown preset 'seed' for video models; known: default, quick, kinetics")
    res = in_process("train", "--model", "stgcn", "--data", csv, "--out", tmp_path / "t", "--fps", "8")
    assert res.exit_code == 2 and "options of the video models" in res.output


def test_train_on_too_short_clips_is_one_line(tmp_path):
    for label in ("a", "b"):
        (tmp_path / "clips" / label).mkdir(parents=True)
        for k in range(2):
            write_mjpg_avi(tmp_path / "clips" / label / f"{label}{k}.avi", 2)
    r = in_process("train", "--model", "r2plus1d", "--preset", "quick", "--data", tmp_path / "clips", "--out",
                   tmp_path / "o", "--events", "jsonl")
    assert r.exit_code == 2
    ev = [json.loads(ln) for ln in r.stdout.splitlines() if ln.startswith("{")]
    assert ev[-1]["event"] == "error" and "every training clip is shorter than half the model's window" in ev[-1]["message"]

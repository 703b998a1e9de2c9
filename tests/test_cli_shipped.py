"""The shipped default classifiers by name in the CLI (`predict --model fall`, `render --classifier abnormal`)."""

from __future__ import annotations

import pandas as pd

from core.importing import URFD_LABELS
from tests.conftest import shared_path
from tests.test_cli import cli


def test_predict_with_the_shipped_fall_model_by_name(tmp_path):
    src = shared_path("data", "skeleton", "urfd", "pose_urfd_3classes.csv")
    r = cli("predict", "--model", "fall", "--input", src, "--out", tmp_path / "pred.csv")
    assert r.returncode == 0, r.stderr
    df = pd.read_csv(tmp_path / "pred.csv")
    assert len(df) == len(pd.read_csv(src)) and df.pred_label.notna().all()
    assert set(df.pred_label_name) <= set(URFD_LABELS) and df.pred_prob.between(0, 1).all()
    # the fall model was trained on this file (see its model card): its own labels come back mostly
    assert (df.pred_label == df.label).mean() > 0.8


def test_unknown_classifier_name_is_one_line(tmp_path):
    r = cli("predict", "--model", "falls", "--input", tmp_path / "x.csv", "--out", tmp_path / "p.csv")
    assert r.returncode == 2
    assert r.stderr.strip().splitlines()[-1] == ("error: classifier checkpoint not found: falls "
                                                 "(or name a shipped one: abnormal, fall, fight)")

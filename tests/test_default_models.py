"""The shipped default classifiers (resources/models): loadable, small, documented, and sensible on a real fall."""

from __future__ import annotations

import numpy as np
import pytest

from core.defaults import DEFAULT_CLASSIFIERS, default_classifier_path, default_model_card

EXPECTED = {"abnormal": ["theft", "assault", "vandalism", "normal"], "fall": ["upright", "falling", "lying"],
            "fight": ["normal", "fight"]}


@pytest.mark.parametrize("kind", sorted(DEFAULT_CLASSIFIERS))
def test_default_checkpoint_and_card(kind, monkeypatch):
    from core.classify import load_checkpoint

    monkeypatch.delenv("POSEWATCH_RESOURCES", raising=False)
    path = default_classifier_path(kind)
    assert path is not None, f"resources/models/{DEFAULT_CLASSIFIERS[kind]} is missing"
    assert path.stat().st_size < 2 * 1024 * 1024
    ckpt = load_checkpoint(path)
    assert ckpt.label_names == EXPECTED[kind]
    assert ckpt.layout == "common13"
    card = default_model_card(kind)
    assert card is not None
    text = card.read_text(encoding="utf-8")
    if ckpt.is_scene:  # judged by its alerts on held-out source videos, not by frame-level macro-F1
        assert ckpt.metrics["operating_point"]["fpr"] <= 0.1
        needles = ("bench/train_fight.py", "bench/fight_cv.py", "source group", "Test groups")
    else:
        assert ckpt.metrics and ckpt.metrics["macro_f1"] > 0.7
        needles = ("main.py train", "macro-F1")
    for needle in ("common13", "non-commercial", "internal testing only", ckpt.data_hash[:12], *needles):
        assert needle in text, needle


def test_default_fall_model_on_fall04(fall04_skeletons, monkeypatch):
    """The player's use of the default: per-track labels over Fall04. The main person is upright in the
    first five seconds and lying in the last second (Fall04 is part of the training data, so this checks
    the wiring, not generalisation)."""
    from core.classify import TrackClassifier

    monkeypatch.delenv("POSEWATCH_RESOURCES", raising=False)
    path = default_classifier_path("fall")
    assert path is not None
    clf = TrackClassifier(path)
    cache = fall04_skeletons
    n = cache.frame_count
    early = [clf.labels_for_frame(cache, f).get(1) for f in range(20, 140, 5)]
    assert np.mean([lab is not None and lab.name == "upright" for lab in early]) > 0.8
    late = [lab for f in range(n - 30, n, 3) if (lab := clf.labels_for_frame(cache, f).get(28)) is not None]
    assert len(late) >= 5
    assert np.mean([lab.name == "lying" for lab in late]) > 0.8

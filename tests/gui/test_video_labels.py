"""The player with an RGB clip model: loaded like any checkpoint, it labels the open video by sliding windows in the
background and shows the label of the window covering each frame on the tracked persons; the Train panel offers
the video models."""

from __future__ import annotations

import pytest

from core.extract import run
from core.rgb.infer import VideoClassifier


# Under pytest-xdist (--dist loadgroup) the modules using the session fixture rgb_model run in one worker, so it is
# made once.
pytestmark = pytest.mark.xdist_group("rgb_model")


def test_player_labels_by_windows(qtbot, fall04_window, rgb_model, fall04):
    w = fall04_window
    path, _ = rgb_model
    assert w.current_labels is None  # no classifier yet: "no model"
    assert w.load_classifier(path)
    assert isinstance(w.classifier, VideoClassifier)
    worker = w.video_labels.worker
    assert worker is not None
    with qtbot.waitSignal(worker.done, timeout=180_000):
        pass
    qtbot.waitUntil(lambda: w.classifier.select(fall04), timeout=10_000)
    f = 120
    w.seek(f)
    labels = w.current_labels
    persons = {p.track_id for p in w.skeletons.poses(f).persons}
    assert persons and set(labels) == persons
    # the same label as core's prediction of the window covering frame f
    ref = run(VideoClassifier(path).iter_predict_video(fall04), callback=lambda p: None)
    expected = ref.label(f)
    assert {lab.name for lab in labels.values()} == {expected.name}
    assert all(abs(lab.prob - expected.prob) < 1e-4 for lab in labels.values())
    # unloading goes back to "no model"
    w.unload_classifier()
    assert w.current_labels is None


def test_train_panel_offers_video_models(qtbot, window):
    window.show_train_panel()
    panel = window.train_panel
    items = [panel.model_box.itemText(i) for i in range(panel.model_box.count())]
    assert {"lstm", "transformer", "stgcn", "r2plus1d", "fusion"} <= set(items)

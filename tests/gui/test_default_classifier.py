"""The player labels persons with the shipped default classifier when the user has trained nothing,
remembers the user's choice, and falls back to the default when a remembered checkpoint is gone."""

from __future__ import annotations

import numpy as np

from core.classify import TrackClassifier
from core.defaults import default_classifier_path
from core.overlay import NO_MODEL
from gui.main_window import CLASSIFIER_KEY, MainWindow
from gui.workers import wait_for_all


def _window(qtbot, settings):
    w = MainWindow(settings)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    return w


def test_fresh_install_uses_shipped_fight_model(qtbot, settings, fall04, fall04_skeletons):
    """A fresh install labels with the shipped fight model (trained on real CCTV; the AI-Hub model's labels were
    confidently wrong there), judging the scene: one person alone is never in a fight."""
    assert settings.value(CLASSIFIER_KEY) is None  # nothing chosen or trained yet
    w = _window(qtbot, settings)
    try:
        # loaded in the background (the first load imports PyTorch), not on the GUI thread
        qtbot.waitUntil(lambda: w.classifier is not None, timeout=120_000)
        assert w.classifier.path == default_classifier_path("fight")
        assert "fights (shipped)" in w.classifier_label.text()
        with qtbot.waitSignal(w.skeletons_ready, timeout=180_000):
            assert w.open_video(fall04)
        f = 100
        w.seek(f)
        # the fight model also judges the video's optical flow (core.motion): computed in the background once,
        # then the frame is redrawn with labels; the window stays responsive meanwhile, its persons labelled "…"
        # (pending), never "no model" (before: "no model" while the flow was computed)
        assert w.current_labels is not None
        qtbot.waitUntil(lambda: bool(w.current_labels), timeout=120_000)
        labels = w.current_labels
        assert labels, "the shipped model must label the tracked person"
        assert {lab.name for lab in labels.values()} <= {"normal", "uncertain"}  # nobody else: no fight
        expected = TrackClassifier(default_classifier_path("fight")).labels_for_frame(w.skeletons, f)
        assert {k: v.name for k, v in labels.items()} == {k: v.name for k, v in expected.items()}
    finally:
        w.close()
        assert wait_for_all(60_000)


def test_shipped_abnormal_model_labels_like_core(qtbot, settings, fall04, fall04_skeletons):
    w = _window(qtbot, settings)
    try:
        qtbot.waitUntil(lambda: w.classifier is not None, timeout=120_000)
        assert w.use_shipped_classifier("abnormal")
        qtbot.waitUntil(lambda: w.classifier is not None and w.classifier.path == default_classifier_path("abnormal"),
                        timeout=120_000)
        assert "abnormal behaviour (shipped)" in w.classifier_label.text()
        with qtbot.waitSignal(w.skeletons_ready, timeout=180_000):
            assert w.open_video(fall04)
        f = 100
        w.seek(f)
        labels = w.current_labels
        assert labels, "the shipped model must label the tracked person"
        assert NO_MODEL not in {lab.name for lab in labels.values()}
        assert {lab.name for lab in labels.values()} <= {"theft", "assault", "vandalism", "normal", "uncertain"}
        # the same labels as core's TrackClassifier with the checkpoint's frame-rate resampling (3 fps model
        # on ~29 fps video: every 10th frame)
        clf = TrackClassifier(default_classifier_path("abnormal"))
        assert clf.ckpt.step_for(fall04_skeletons.fps) == 10
        expected = clf.labels_for_frame(w.skeletons, f)
        assert {k: v.name for k, v in labels.items()} == {k: v.name for k, v in expected.items()}
        assert np.allclose([labels[k].prob for k in labels], [expected[k].prob for k in labels], atol=1e-5)
    finally:
        w.close()
        assert wait_for_all(60_000)


def test_choice_is_remembered_and_unload_sticks(qtbot, settings, tmp_path):
    w = _window(qtbot, settings)
    qtbot.waitUntil(lambda: w.classifier is not None, timeout=120_000)
    assert w.use_shipped_classifier("fall")
    assert w.classifier.label_names == ["upright", "falling", "lying"]
    assert settings.value(CLASSIFIER_KEY) == "shipped:fall"
    w.close()
    assert wait_for_all(60_000)

    w2 = _window(qtbot, settings)
    qtbot.waitUntil(lambda: w2.classifier is not None, timeout=120_000)
    assert w2.classifier.path == default_classifier_path("fall")
    w2.unload_classifier()
    assert w2.classifier is None and settings.value(CLASSIFIER_KEY) == "none"
    w2.close()
    assert wait_for_all(60_000)

    w3 = _window(qtbot, settings)  # the user unloaded it: no model, and none is loaded behind their back
    qtbot.wait(300)
    assert wait_for_all(60_000)
    assert w3.classifier is None and "no model" in w3.classifier_label.text()
    w3.close()


def test_gone_checkpoint_falls_back_to_shipped_default(qtbot, settings, tmp_path):
    settings.setValue(CLASSIFIER_KEY, f"path:{tmp_path / 'deleted_model.pt'}")
    w = _window(qtbot, settings)
    try:
        qtbot.waitUntil(lambda: w.classifier is not None, timeout=120_000)
        assert w.classifier.path == default_classifier_path("fight")
    finally:
        w.close()
        assert wait_for_all(60_000)


def test_the_menu_loads_a_classifier_off_the_gui_thread_and_the_last_choice_wins(qtbot, settings, tmp_path):
    """File ▸ Use a shipped classifier and Load classifier… load in the background (the first load imports
    PyTorch): the action returns at once, the model is used when loaded, a later choice made meanwhile wins, and a
    corrupt checkpoint is reported in one line with the model unchanged."""
    settings.setValue(CLASSIFIER_KEY, "none")  # nothing loads at start
    w = _window(qtbot, settings)
    try:
        assert w.classifier is None
        w.actions["shipped_fall"].trigger()
        first = w.classifier_worker
        assert first.wait(120_000)  # loaded, but the window has not taken the result yet (no events processed)
        assert w.classifier is None
        w.actions["shipped_fight"].trigger()  # chosen before the first load's result arrived
        assert w.classifier_worker is not first
        qtbot.waitUntil(lambda: w.classifier is not None and not w.classifier_worker.is_running(), timeout=120_000)
        qtbot.wait(50)
        assert w.classifier.path == default_classifier_path("fight")  # the late result of the first was ignored
        bad = tmp_path / "broken.pt"
        bad.write_bytes(b"not a checkpoint")
        worker = w.load_classifier_in_background(bad)
        qtbot.waitUntil(lambda: not worker.is_running(), timeout=60_000)
        qtbot.wait(50)
        assert w.classifier.path == default_classifier_path("fight")
        assert "cannot load classifier broken.pt" in w.host.last_error
    finally:
        w.close()
        assert wait_for_all(60_000)

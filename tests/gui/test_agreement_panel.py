"""The Agreement panel in a real window: two annotators' clips of two real fall clips; a click on a disagreeing
stretch opens its video and seeks to its first frame."""

from __future__ import annotations

import pytest

from core.project import Project
from tests.conftest import shared_path


@pytest.fixture
def bare_window(qtbot, settings):
    """A window that computes no skeletons (the panel needs clips only)."""
    from gui.main_window import CLASSIFIER_KEY, MainWindow

    settings.setValue(CLASSIFIER_KEY, "none")
    w = MainWindow(settings, show_dialogs=False, auto_skeletons=False)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    yield w
    w.close()


def test_agreement_panel_lists_stretches_and_seeks(bare_window, qtbot, tmp_path):
    w = bare_window
    folder = tmp_path / "proj"
    with Project.create(folder) as p:
        v1 = p.add_video(shared_path("data", "videos", "fall", "thanhnc58_Fall01.mp4"))
        v4 = p.add_video(shared_path("data", "videos", "fall", "thanhnc58_Fall04.mp4"))
        p.add_clip(v1.id, 125, 155, "fall", annotator="ann")
        p.add_clip(v1.id, 130, 160, "fall", annotator="bob")
        p.add_clip(v4.id, 174, 218, "fall", annotator="ann")
        p.add_clip(v4.id, 180, 218, "fall", annotator="bob")
    panel = w.labelling.agreement_panel
    assert not panel.compute()
    assert "open a project first" in w.last_error
    assert w.labelling.open_project(folder)
    w.actions["agreement"].trigger()
    assert panel.dock.isVisible() and panel.report is not None
    text = panel.summary.text()
    assert "all videos: ann vs bob: kappa" in text and "segment F1@IoU0.5 1.000" in text
    items = [panel.stretches.item(i).text() for i in range(panel.stretches.count())]
    assert items == [f"{v1.name} whole frame frames 125–129: fall vs (none)",
                     f"{v1.name} whole frame frames 156–160: (none) vs fall",
                     f"{v4.name} whole frame frames 174–179: fall vs (none)"]
    panel.stretches.itemClicked.emit(panel.stretches.item(2))
    assert w.labelling.video.id == v4.id and w.current_frame_index == 174
    panel.stretches.itemClicked.emit(panel.stretches.item(1))
    assert w.labelling.video.id == v1.id and w.current_frame_index == 156

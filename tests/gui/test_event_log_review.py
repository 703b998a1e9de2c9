"""The event log's Confirm / Dismiss (issue 12) in a real offscreen window, on the alert of a real detect run."""

from __future__ import annotations

import pytest

from core.alert_review import read_events
from core.live import AlertEvent
from core.project import Project
from gui.event_log import NO_PROJECT, EventLog


# Under pytest-xdist (--dist loadgroup) the modules using the session fixture fall04_detect_project run in one
# worker, so it is made once.
pytestmark = pytest.mark.xdist_group("fall04_detect_project")


def first_alert(ev_path) -> AlertEvent:
    """The first alert of a detect run's events file, as the live view's event log receives it."""
    d = read_events(ev_path)[0]
    return AlertEvent(d["time_s"], d["frame"], d["track_id"], d["label"], d["prob"], d["wall_time"], d["snapshot"],
                      d["clip"], d["camera"])


def test_confirm_dismiss_need_a_project_then_file_and_undo(qtbot, fall04_detect_project, tmp_path):
    ev_path, _folder, _r = fall04_detect_project
    ev = first_alert(ev_path)
    project = {"p": None}
    log = EventLog(project=lambda: project["p"])
    qtbot.addWidget(log)
    log.show()
    messages = []
    log.review_message.connect(messages.append)
    log.add_event(ev)
    log.review_buttons(0)["Confirm"].click()
    assert messages[-1] == NO_PROJECT and log.filing(0) is None
    with Project.create(tmp_path / "proj") as p:
        project["p"] = p
        with qtbot.waitSignal(log.filed):
            log.review_buttons(0)["Confirm"].click()
        assert "filed" in messages[-1] and [c.label for c in p.clips()] == ["fall"]  # the model's "falling"
        assert set(log.review_buttons(0)) == {"Undo"}
        log.review_buttons(0)["Undo"].click()
        assert p.clips() == [] and set(log.review_buttons(0)) == {"Confirm", "Dismiss"}
        log.review_buttons(0)["Dismiss"].click()
        assert [c.label for c in p.clips()] == ["normal"]


def test_a_filing_in_the_live_view_shows_in_the_labellers_project_list(window, qtbot, fall04_detect_project, tmp_path):
    """Before: Confirm in the live window filed the alert's video and clip into the project the main window shows,
    but its Project list did not show them until the project was opened again."""
    ev_path, _folder, _r = fall04_detect_project
    ev = first_alert(ev_path)
    assert window.labelling.new_project(tmp_path / "proj")
    items = window.labelling.videos_panel.list
    assert items.count() == 0
    log = window.live_window.live_view.event_log
    log.add_event(ev)
    with qtbot.waitSignal(log.filed):
        log.review_buttons(0)["Confirm"].click()
    assert items.count() == 1 and "1 clip" in items.item(0).text()
    log.review_buttons(0)["Undo"].click()
    assert items.count() == 1 and "0 clips" in items.item(0).text()  # the video stays, without its clip

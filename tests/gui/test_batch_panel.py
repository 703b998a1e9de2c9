"""Project → Compute all skeletons (gui/batch_panel.py) on a small real project of two short shared clips (20 frames
each, 640x360), run
locally: Cancel stops it, a second run computes both caches (the player's project lookup finds them), a third
skips them; the summary is one line in the status bar."""

from __future__ import annotations

import time

import pytest

from core.cache import SkeletonCache, cache_path
from core.pose import estimator_settings
from core.project import Project
from tests.conftest import shared_path


@pytest.fixture
def project_window(window, tmp_path):
    clips = [shared_path("data", "videos", "normal", n) for n in ("nofi102.mp4", "nofi103.mp4")]
    folder = tmp_path / "proj"
    with Project.create(folder) as proj:
        for c in clips:
            proj.add_video(c)
    assert window.labelling.open_project(folder)
    return window, clips


def _caches(window, clips):
    root = window.state.project.skeleton_dir
    settings = dict(estimator_settings(window.state.backend), width=None)
    return [cache_path(c, settings, root) for c in clips]


def test_compute_all_skeletons_cancel_then_complete(qtbot, project_window):
    window, clips = project_window
    panel = window.batch_panel
    assert window.host.actions["compute_all_skeletons"].isEnabled()
    assert panel.where.currentData() == "local" and not panel.where.model().item(1).isEnabled()  # no worker

    # Cancel as soon as the first video is being computed: it stops, no cache is written
    with qtbot.waitSignal(panel.stopped, timeout=60_000) as stop:
        window.host.actions["compute_all_skeletons"].trigger()
        assert panel.running() and panel.cancel_button.isEnabled()
        qtbot.waitUntil(lambda: panel.status.text().startswith("extracting nofi102"), timeout=30_000)
        panel.cancel_button.click()
    assert stop.args == ["cancelled"] and not panel.running()
    assert not any(p.is_file() for p in _caches(window, clips))

    t0 = time.monotonic()
    with qtbot.waitSignal(panel.finished, timeout=120_000) as done:
        assert panel.start("local")
    report = done.args[0]
    assert [it.status for it in report.items] == ["done", "done"], report.items
    assert all(p.is_file() for p in _caches(window, clips))
    assert [SkeletonCache.load(p).frame_count for p in _caches(window, clips)] == [20, 20]
    assert panel.videos_bar.value() == 2 and panel.frames_bar.value() == 40
    msg = window.statusBar().currentMessage()
    assert msg == "skeletons: 2 video(s): 2 computed, 0 already cached, 0 failed (local)", msg
    print(f"2 clips computed in {time.monotonic() - t0:.1f} s")

    with qtbot.waitSignal(panel.finished, timeout=10_000) as again:
        assert panel.start("local")
    assert [it.status for it in again.args[0].items] == ["cached", "cached"]


def test_compute_all_skeletons_bad_input_is_one_line(qtbot, window):
    panel = window.batch_panel
    assert not window.host.actions["compute_all_skeletons"].isEnabled()
    assert not panel.start("local")
    assert window.host.last_error == "open a project first (File → Open project…)"
    assert not panel.start("remote")

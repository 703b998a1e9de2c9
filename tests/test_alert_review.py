"""Alerts into training data (core.alert_review, issue 12): a real ``main.py detect --project`` run on Fall04 with
the shipped fall model, its real clip, sidecars and the project's real SQLite."""

from __future__ import annotations

import shutil

import pytest

from core.alert_review import (
    CONFIRM_ANNOTATOR,
    DISMISS_ANNOTATOR,
    file_alert,
    file_alert_suggestion,
    read_events,
    undo_filing,
)
from core.cache import SkeletonCache
from core.extract import run
from core.live.detector import alert_sidecars
from core.project import Project, ProjectError


# Under pytest-xdist (--dist loadgroup) the modules using the session fixture fall04_detect_project run in one
# worker, so it is made once.
pytestmark = pytest.mark.xdist_group("fall04_detect_project")


def test_detect_with_project_files_each_alert_as_an_open_suggestion(fall04_detect_project):
    ev, folder, r = fall04_detect_project
    events = read_events(ev)
    assert events and f"filed {len(events)} alert(s)" in r.stderr
    raw, skel = alert_sidecars(events[0]["clip"])
    assert raw.is_file() and skel.is_file()
    cache = SkeletonCache.load(skel)
    assert events[0]["frame"] in cache.meta["source_frames"]
    with Project.open(folder) as p:
        assert len(p.videos()) == len(events) and p.clips() == []  # nothing trains on unreviewed alerts
        s = p.suggestions()
        assert len(s) == len(events) and {x.status for x in s} == {"open"}
        # the fall model's "falling" stands for the default taxonomy's "fall" (labels.model_labels): no new label
        assert events[0]["label"] == "falling" and s[0].label == "fall" and s[0].track_id == events[0]["track_id"]
        assert "falling" not in p.label_names()
        assert s[0].model_name.startswith("live detector") and len(s[0].model_hash) == 64
        assert (folder / "alerts").is_dir() and p.videos()[0].path.startswith(str(folder / "alerts"))


def test_confirm_dismiss_and_undo_use_the_detectors_poses(fall04_detect_project, tmp_path, monkeypatch):
    ev, _folder, _r = fall04_detect_project
    event = read_events(ev)[0]
    p = Project.create(tmp_path / "proj")
    try:
        f = file_alert(p, event, confirm=True)
        assert f.confirmed and f.skeletons and f.track_id == event["track_id"] and f.added_video
        clip = p.clip(f.clip_id)
        assert clip.label == "fall" and clip.annotator == CONFIRM_ANNOTATOR and clip.track_id == f.track_id
        assert "falling" not in p.label_names()  # the model's name maps onto the taxonomy's
        # the labeller/exporter find the detector's poses: no pose model is loaded
        import core.extract as extract

        monkeypatch.setattr(extract, "create_estimator", lambda *a, **k: pytest.fail("recomputed the skeletons"))
        cache = run(p.iter_skeletons(p.video(f.video_id)))
        assert cache.meta["source"] == "live detector" and f.track_id in cache.track_ids().tolist()
        with pytest.raises(ProjectError, match="already filed"):
            file_alert(p, event, confirm=False)
        undo_filing(p, f)
        assert p.clips() == []
        g = file_alert(p, event, confirm=False)
        assert p.clip(g.clip_id).label == "normal" and p.clip(g.clip_id).annotator == DISMISS_ANNOTATOR
    finally:
        p.close()
    with Project.open(tmp_path / "proj") as again:  # committed: a new connection sees it
        assert [c.annotator for c in again.clips()] == [DISMISS_ANNOTATOR]
    # filed unreviewed (an open suggestion), then taken back: the set goes, the video stays
    with Project.create(tmp_path / "proj2") as p:
        f = file_alert_suggestion(p, event)
        (s,) = p.suggestions()
        assert s.id == f.suggestion_id and s.status == "open"
        undo_filing(p, f)
        assert p.suggestions() == [] and p.suggestion_sets() == [] and len(p.videos()) == 1
        with pytest.raises(ProjectError, match="no suggestion"):
            undo_filing(p, f)
        with pytest.raises(ProjectError, match="has no suggestions"):
            p.delete_suggestion_set(s.video_id, s.model_hash)


def test_alert_without_a_written_clip_is_one_line(fall04_detect_project, tmp_path):
    ev, _folder, _r = fall04_detect_project
    event = dict(read_events(ev)[0])
    with Project.create(tmp_path / "proj") as p:
        with pytest.raises(ProjectError, match="no clip"):
            file_alert(p, dict(event, clip=None), True)
        with pytest.raises(ProjectError, match="not written yet") as e:
            file_alert(p, dict(event, clip=str(tmp_path / "gone.mp4")), True)
        assert "\n" not in str(e.value) and p.videos() == []
        # an older clip without sidecars: filed for the whole frame, skeletons computed later
        old = tmp_path / "old.mp4"
        shutil.copyfile(event["clip"], old)
        f = file_alert(p, dict(event, clip=str(old)), True)
        assert f.track_id is None and not f.skeletons

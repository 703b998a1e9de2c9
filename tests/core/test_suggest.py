"""core/suggest.py: the shipped fall model's suggestions on a real clip, stored in a real project, reviewed."""

from __future__ import annotations

import sqlite3

import numpy as np
import pytest

from core import config, suggest
from core.classify import TrackClassifier
from core.defaults import default_classifier_path
from core.extract import run
from core.project import SCHEMA_VERSION, Project, ProjectError

# Under pytest-xdist (--dist loadgroup) this module's tests run in one worker, so its module fixtures are made once.
pytestmark = pytest.mark.xdist_group("test_suggest")


FALL_TAXONOMY = [("upright", "#8bc34a", "1"), ("falling", "#ff5722", "2"), ("lying", "#3f51b5", "3")]


@pytest.fixture(scope="module")
def fall_clf():
    return TrackClassifier(default_classifier_path("fall"))


@pytest.fixture
def fall_project(tmp_path, fall04, fall04_skeletons, fall_clf):
    """A project with Fall04 (its skeletons copied from the session cache) and the fall model's suggestions."""
    p = Project.create(tmp_path / "p", FALL_TAXONOMY)
    v = p.add_video(fall04)
    sugg = run(suggest.iter_video_suggestions(p, v, fall_clf), callback=lambda _p: None)
    yield p, v, sugg
    p.close()


def test_the_shipped_models_fit_the_default_taxonomy(tmp_path, fall04, fall04_skeletons, fall_clf):
    """A new project's taxonomy (normal, theft, assault, vandalism, fall) takes the shipped fall model's suggestions
    as "fall" (labels.model_labels: falling/lying -> fall) and the fight model's as "assault"; a model with a label
    that maps to nothing is still refused."""
    taxonomy = [n for n, _c, _k in config.default_taxonomy()]
    suggest.check_taxonomy(fall_clf, taxonomy)
    suggest.check_taxonomy(TrackClassifier(default_classifier_path("fight")), taxonomy)
    with pytest.raises(suggest.SuggestError, match="falling, lying not in the project's taxonomy"):
        suggest.check_taxonomy(fall_clf, ["normal", "theft"])
    with Project.create(tmp_path / "p") as p:
        v = p.add_video(fall04)
        sugg = run(suggest.iter_video_suggestions(p, v, fall_clf), callback=lambda _p: None)
        assert sugg and {s.label for s in sugg} == {"fall"} and "falling" not in p.label_names()


def test_runs_and_smoothing():
    frames = np.arange(20)
    pr = np.zeros((20, 3), np.float32)
    pr[:, 0] = 1
    pr[5:15] = [0.1, 0.8, 0.1]
    pr[9] = np.nan  # one window the model could not judge: bridged
    r = suggest.runs(frames, pr, ["upright", "falling", "lying"], 0, smooth_frames=1, min_frames=4, max_gap_frames=1)
    assert r == [(5, 14, "falling", pytest.approx(0.8))]
    assert suggest.runs(frames, pr, ["upright", "falling", "lying"], 0, smooth_frames=1, min_frames=11) == []
    # frames where the track has no detection are bridged however many; frames of another label only up to the gap
    holes = np.r_[0:8, 14:20]  # detections at 0-7 and 14-19: frames 8-13 missed
    ph = np.tile(np.float32([0.1, 0.8, 0.1]), (len(holes), 1))
    assert suggest.runs(holes, ph, ["upright", "falling", "lying"], 0, smooth_frames=1, min_frames=4,
                        max_gap_frames=1) == [(0, 19, "falling", pytest.approx(0.8))]
    ph[6:8] = [0.9, 0.05, 0.05]  # frames 6-7 upright, then 6 missed: 8 frames without the label, with 2 against it
    assert [(a, b) for a, b, _l, _p in suggest.runs(holes, ph, ["upright", "falling", "lying"], 0, smooth_frames=1,
                                                     min_frames=4, max_gap_frames=1)] == [(0, 5), (14, 19)]
    assert suggest.smooth(pr[:3], 5).shape == (3, 3)  # shorter than the window
    # centred windows: detection i takes the window ending centre_frames later; the first half window, whose
    # centred windows are the warm-up, takes the first complete window (ending 2 * centre_frames in)
    names = ["normal", "fight"]
    sc = np.zeros((60, 2), np.float32)
    sc[:, 0] = 1
    sc[np.arange(60) >= 12] = [0.2, 0.8]  # a score that is high from the first complete window on (frame 20)
    r = suggest.runs(np.arange(60), sc, names, 0, smooth_frames=1, min_frames=4, centre_frames=10)
    assert r == [(0, 59, "fight", pytest.approx(0.8))]
    sc[:30] = [1, 0]  # the behaviour starts at frame 30: its centred windows end from frame 40 on
    r = suggest.runs(np.arange(60), sc, names, 0, smooth_frames=1, min_frames=4, centre_frames=10)
    assert r == [(20, 59, "fight", pytest.approx(0.8))]
    # a track that starts later: its own first frame counts, not the video's
    r = suggest.runs(np.arange(100, 160), sc, names, 0, smooth_frames=1, min_frames=4, centre_frames=10)
    assert r == [(120, 159, "fight", pytest.approx(0.8))]
    u = suggest.uncertainty(np.array([[1.0, 0, 0], [1 / 3, 1 / 3, 1 / 3]]))
    assert u[0] == pytest.approx(0, abs=1e-6) and u[1] == pytest.approx(1)
    assert suggest.uncertainty(np.array([[0.5, 0.5, 0]]), "margin")[0] == pytest.approx(1)


def test_fall_suggestions_are_stored_and_reused(fall_project, fall_clf, fall04_skeletons, monkeypatch):
    p, v, sugg = fall_project
    h = suggest.model_hash(fall_clf.path)
    assert sugg and all(s.model_hash == h and s.model_name == "fall_default" for s in sugg)
    assert {s.label for s in sugg} <= {"falling", "lying"}  # never the normal label
    # the README: Fall04's fall is at ~6.0-7.5 s; the model proposes 'falling' on the falling person there
    fps = fall04_skeletons.fps
    falling = [s for s in sugg if s.label == "falling"]
    assert any(s.start < 7.5 * fps and s.end > 6.0 * fps for s in falling)
    assert all(0 <= s.start <= s.end < v.frame_count and 0 < s.prob <= 1 for s in sugg)
    # the same model again: read from the project, no inference
    monkeypatch.setattr(fall_clf, "predict_windows", lambda *_a: pytest.fail("inference on stored suggestions"))
    again = run(suggest.iter_video_suggestions(p, v, fall_clf), callback=lambda _p: None)
    assert again == sugg
    folder = p.folder
    p.close()
    with Project.open(folder) as q:
        assert q.suggestions(v.id, h) == sugg
        probs = q.suggestion_probs(q.suggestion_sets(v.id, h)[0].id)
        assert set(probs) == {int(t) for t in fall04_skeletons.track_ids()}
        frames, pr = probs[1]
        assert pr.dtype == np.float32 and pr.shape == (len(frames), 3)


def test_accept_keeps_provenance_and_undoes(fall_project):
    p, v, sugg = fall_project
    s = sugg[0]
    clip = suggest.accept(p, s.id, "ann")
    assert (clip.start, clip.end, clip.label, clip.track_id) == (s.start, s.end, s.label, s.track_id)
    assert p.clip_provenance(clip.id) == {"model_name": "fall_default", "model_hash": s.model_hash,
                                          "prob": pytest.approx(s.prob), "suggestion_id": s.id}
    assert p.suggestion(s.id).status == "accepted" and p.suggestion(s.id).clip_id == clip.id
    with pytest.raises(ProjectError, match="already accepted"):
        suggest.accept(p, s.id)
    removed = suggest.unaccept(p, s.id)
    assert p.clips(v.id) == [] and p.suggestion(s.id).status == "open"
    assert suggest.accept(p, s.id, clip=removed) == removed  # redo: same clip id back
    # reject as a hard negative: a clip of the normal label on the same frames and track
    s2 = sugg[1]
    neg = suggest.reject(p, s2.id, as_normal=True, annotator="ann")
    assert (neg.label, neg.start, neg.end, neg.track_id) == ("upright", s2.start, s2.end, s2.track_id)
    assert p.suggestion(s2.id).status == "rejected"
    suggest.unreject(p, s2.id)
    assert p.suggestion(s2.id).status == "open" and len(p.clips(v.id)) == 1
    assert suggest.reject(p, s2.id) is None and p.suggestion(s2.id).status == "rejected"
    # nudging and relabelling are validated like clips
    with pytest.raises(ProjectError, match="past the end"):
        p.update_suggestion(sugg[2].id, end=v.frame_count)
    with pytest.raises(ProjectError, match="not in the taxonomy"):
        p.update_suggestion(sugg[2].id, label="fight")


def store_runs(p, video_id: int, runs: list[tuple]) -> None:
    """Store the fall model's suggestion set of a video again with ``runs`` (``(track, start, end, label, prob)``),
    as a model that proposes them would: the set's own probabilities, skeleton key and track edits kept."""
    (ss,) = p.suggestion_sets(video_id, suggest.model_hash(default_classifier_path("fall")))
    p.store_suggestion_set(video_id, ss.model_hash, ss.model_name, ss.label_names, p.suggestion_probs(ss.id), runs,
                           ss.skeletons, ss.judged_edits)


def split_run(p, video_id: int, track_id: int = 28, label: str = "lying", gap: int = 6):
    """Store the fall model's suggestion set of a video again with its ``label`` run on ``track_id`` cut in two
    around ``gap`` frames in its middle, as a model whose label flickers there proposes it (the set's own
    probabilities, skeleton key and track edits kept). Returns ``(first, second)``, the two new suggestions."""
    h = suggest.model_hash(default_classifier_path("fall"))
    old = p.suggestions(video_id, h)
    (run,) = [s for s in old if s.track_id == track_id and s.label == label]
    mid = (run.start + run.end) // 2
    runs = [(s.track_id, s.start, s.end, s.label, s.prob) for s in old if s.id != run.id]
    runs += [(track_id, run.start, mid - gap, label, run.prob), (track_id, mid, run.end, label, run.prob)]
    store_runs(p, video_id, runs)
    new = [s for s in p.suggestions(video_id, h) if s.track_id == track_id and s.label == label]
    assert [(s.start, s.end) for s in new] == [(run.start, mid - gap), (mid, run.end)]
    return new[0], new[1]


def test_accepting_a_stretched_suggestion_closes_the_ones_inside_it(fall_project):
    """Fall04's man lying on track 28, proposed as two runs (as by a model whose label flickers in between):
    stretched over both and accepted, the second is closed into the same clip; a duplicate box's run (track 29) over
    the same frames stays open; undo reopens both, redo closes both again."""
    p, v, _sugg = fall_project
    first, second = split_run(p, v.id)
    other = [s for s in p.suggestions(v.id) if s.track_id != 28 and s.start <= second.end and s.end >= first.start]
    assert other  # track 29 (a duplicate box of the same man) and track 23 overlap those frames
    clip = suggest.accept(p, first.id, "ann")
    assert p.suggestion(second.id).status == "open" and suggest.absorbed(p, first.id) == []  # not inside: kept
    suggest.unaccept(p, first.id)
    p.update_suggestion(first.id, end=second.end)  # the annotator drags its end over the second run
    assert [o.id for o in suggest.covered(p, p.suggestion(first.id))] == [second.id]
    clip = suggest.accept(p, first.id, "ann")
    assert (clip.start, clip.end) == (first.start, second.end) and len(p.clips(v.id)) == 1
    assert [(o.id, o.status, o.clip_id) for o in suggest.absorbed(p, first.id)] == [(second.id, "accepted", clip.id)]
    assert all(p.suggestion(o.id).status == "open" for o in other)
    removed = suggest.unaccept(p, first.id)
    assert p.clips(v.id) == [] and {p.suggestion(x.id).status for x in (first, second)} == {"open"}
    assert suggest.accept(p, first.id, clip=removed) == removed
    assert p.suggestion(second.id).clip_id == removed.id


def test_a_recompute_keeps_the_reviews(fall_project, fall_clf):
    """Suggestions computed again with the same model (Recompute): the accepted and the rejected one keep their IDs,
    status and clips, their runs are not proposed again, the open ones come back as before; the accept's undo still
    finds its suggestion."""
    p, v, sugg = fall_project
    acc, rej = sugg[0], sugg[1]
    clip = suggest.accept(p, acc.id, "ann")
    neg = suggest.reject(p, rej.id, as_normal=True, annotator="ann")
    before = {(s.track_id, s.start, s.end, s.label) for s in p.suggestions(v.id, status="open")}
    again = run(suggest.iter_video_suggestions(p, v, fall_clf, recompute=True), callback=lambda _p: None)
    assert again  # computed, not read back
    assert (p.suggestion(acc.id).status, p.suggestion(acc.id).clip_id) == ("accepted", clip.id)
    assert (p.suggestion(rej.id).status, p.suggestion(rej.id).clip_id) == ("rejected", neg.id)
    now = p.suggestions(v.id)
    assert len(now) == len(sugg)  # the same model on the same skeletons: no run proposed twice
    assert {(s.track_id, s.start, s.end, s.label) for s in now if s.status == "open"} == before
    suggest.unaccept(p, acc.id)
    assert p.clips(v.id) == [neg] and p.suggestion(acc.id).status == "open"


def test_a_recompute_keeps_the_open_ones_and_their_edits(fall_project, fall_clf):
    """Recompute with the same model: every open suggestion keeps its ID; one the annotator nudged and relabelled
    stays as they left it (its run is not proposed beside it). A suggestion the model no longer proposes is dropped
    and its ID is never given again, so an undo command that holds it cannot change another suggestion."""
    p, v, sugg = fall_project
    edited, dropped = sugg[0], sugg[-1]
    p.update_suggestion(edited.id, start=edited.start + 3, end=edited.end - 2, label="lying"
                        if edited.label == "falling" else "falling")
    edited = p.suggestion(edited.id)
    run(suggest.iter_video_suggestions(p, v, fall_clf, recompute=True), callback=lambda _p: None)
    assert sorted(p.suggestions(v.id), key=lambda s: s.id) == sorted(
        (edited if s.id == edited.id else s for s in sugg), key=lambda s: s.id)
    # the model stops proposing the last one (a set stored without its run), then proposes it again
    runs = [(s.track_id, s.start, s.end, s.label, s.prob) for s in p.suggestions(v.id)]
    store_runs(p, v.id, runs[:-1])
    with pytest.raises(ProjectError, match=f"no suggestion with id {dropped.id}"):
        p.suggestion(dropped.id)
    store_runs(p, v.id, runs)
    (back,) = [s for s in p.suggestions(v.id) if (s.track_id, s.start, s.end) == (dropped.track_id, dropped.start,
                                                                                   dropped.end)]
    assert back.id > max(s.id for s in sugg)
    folder = p.folder
    p.close()
    with Project.open(folder) as q:  # the highest ID given is stored with the project
        store_runs(q, v.id, runs[:-1])
        store_runs(q, v.id, runs)
        assert max(s.id for s in q.suggestions(v.id)) > back.id


def test_model_outside_the_taxonomy_is_refused(tmp_path, fall04, fall_clf):
    p = Project.create(tmp_path / "p", [("normal", "#888888", "1"), ("theft", "#888888", "2")])  # no fall label
    v = p.add_video(fall04)
    with pytest.raises(suggest.SuggestError, match="falling, lying not in the project's taxonomy"):
        run(suggest.iter_video_suggestions(p, v, fall_clf), callback=lambda _p: None)
    assert p.suggestion_sets() == []
    p.close()


def test_rank_skips_labelled_frames_and_counts_disagreement(tmp_path, fall04, fall04_skeletons, fall_clf):
    abnormal = TrackClassifier(default_classifier_path("abnormal"))
    names = ["upright", "falling", "lying", "theft", "assault", "vandalism", "normal"]
    p = Project.create(tmp_path / "p", [(n, "#888888", "") for n in names])
    v = p.add_video(fall04)
    for clf in (fall_clf, abnormal):
        run(suggest.iter_video_suggestions(p, v, clf), callback=lambda _p: None)
    ranked = suggest.rank_unlabelled(p)
    assert ranked and ranked == sorted(ranked, key=lambda s: -s.score)
    assert max(s.models for s in ranked) == 2 and max(s.disagreement for s in ranked) > 0.1
    top = ranked[0]
    p.add_clip(v.id, top.start, top.end, "upright", top.track_id)
    after = suggest.rank_unlabelled(p)
    assert all(not (s.track_id == top.track_id and s.start <= top.end and s.end >= top.start) for s in after)
    only_fall = suggest.rank_unlabelled(p, model_hashes={suggest.model_hash(fall_clf.path)})
    assert max(s.models for s in only_fall) == 1 and max(s.disagreement for s in only_fall) == 0
    p.close()


def test_old_database_gains_the_tables(tmp_path):
    p = Project.create(tmp_path / "p")
    p.close()
    con = sqlite3.connect(tmp_path / "p" / "project.sqlite")
    for t in ("suggestions", "suggestion_probs", "suggestion_sets", "clip_provenance"):
        con.execute(f"DROP TABLE {t}")
    con.commit()
    con.close()
    with Project.open(tmp_path / "p") as q:
        assert q.suggestions() == [] and q.schema_version == SCHEMA_VERSION  # the tables need no schema bump

"""Track and keypoint edits (core/track_edits.py, core/project_edits.py) on the real YOLO tracks of fi001.

fi001 (53 frames, a CCTV fight) breaks people into many tracks: #33 covers frames 20-22 and #36 frames 28-52
(disjoint: mergeable; #36 is seen in frames 28, 51, 52 only); #9 (4-14) and #12 (7-52) are both in frame 14 (not mergeable).
"""

from __future__ import annotations

import sqlite3

import numpy as np
import pandas as pd
import pytest

from core.project import SCHEMA_VERSION, Project
from core.track_edits import (
    EditedSkeletons,
    KeypointEdit,
    TrackEdit,
    TrackEditError,
    apply_edits,
    frame_runs,
    interpolate_keypoints,
    previous_track,
    skeleton_key,
    track_span,
)
from tests.conftest import copy_skeletons, shared_path


@pytest.fixture(scope="module")
def fi001():
    return shared_path("data", "videos", "fight", "fi001.mp4")


@pytest.fixture(scope="module")
def cache(fi001, _session_cache):
    from core.extract import iter_load_or_extract, run

    return run(iter_load_or_extract(fi001, "yolo"), callback=lambda p: None)


@pytest.fixture
def project(tmp_path, fi001, cache):
    p = Project.create(tmp_path / "proj")
    copy_skeletons(fi001, p)
    yield p, p.add_video(fi001)
    p.close()


def load(project, video, edited=True):
    from core.extract import run

    return run(project.iter_skeletons(video, "yolo", edited=edited), callback=lambda p: None)


def spans(cache):
    return {int(t): track_span(cache, int(t)) for t in cache.track_ids()}


def test_merge_split_delete_rename_leave_the_cache_as_extracted(cache):
    before = {k: getattr(cache, k).copy() for k in ("frame", "track_id", "keypoints", "offsets")}
    s = spans(cache)
    assert s[33] == (20, 22) and s[36] == (28, 52)
    e = apply_edits(cache, [TrackEdit("merge", 36, 33)], strict=True)
    assert isinstance(e, EditedSkeletons) and e.base is cache
    es = spans(e)
    assert es[33] == (20, 52) and 36 not in es
    assert len(e.frame) == len(cache.frame)
    assert np.array_equal(e.offsets, cache.offsets)
    # the edited cache serves every reader like the original: per-frame poses, per-track rows
    assert {p.track_id for p in e.poses(28).persons} >= {33}
    frames, kp, bbox = e.track(33)
    assert frames.dtype == np.int32 and kp.shape[1:] == (17, 3) and bbox.shape[1] == 4 and frames[0] == 20

    e = apply_edits(cache, [TrackEdit("merge", 36, 33), TrackEdit("split", 33, 60, frame=40),
                            TrackEdit("delete", 31), TrackEdit("rename", 51, 100)], strict=True)
    es = spans(e)
    assert es[33] == (20, 28) and es[60] == (51, 52) and 31 not in es and es[100] == (50, 50) and 51 not in es
    assert len(e.frame) == len(cache.frame) - 1  # #31 was one detection
    assert int(e.offsets[-1]) == len(e.frame) and np.all(np.diff(e.frame) >= 0)
    for k, v in before.items():
        assert np.array_equal(getattr(cache, k), v), f"{k} of the cache changed"


def test_a_merge_of_overlapping_tracks_is_refused_naming_the_frames(cache):
    with pytest.raises(TrackEditError) as ei:
        apply_edits(cache, [TrackEdit("merge", 9, 12)], strict=True)
    msg = str(ei.value)
    assert "\n" not in msg and "#9" in msg and "#12" in msg and "frame(s) 14:" in msg
    # loading stored edits never fails: one that no longer applies is left out and listed
    e = apply_edits(cache, [TrackEdit("merge", 9, 12), TrackEdit("delete", 31)])
    assert 9 in spans(e) and 31 not in spans(e) and len(e.skipped) == 1
    for bad, text in [(TrackEdit("split", 36, 99, frame=28), "after its first"),
                      (TrackEdit("rename", 36, 33), "already exists"),
                      (TrackEdit("delete", 777), "no track #777"),
                      (TrackEdit("merge", 36, 36), "itself")]:
        with pytest.raises(TrackEditError, match=text):
            apply_edits(cache, [bad], strict=True)
    assert frame_runs(np.array([1, 2, 3, 7, 9, 10])) == "1–3, 7, 9–10"


def test_previous_track_is_the_one_that_ends_last_before(cache):
    assert previous_track(cache, 36) == 33  # #33 ends at 22, the last to end before #36 starts at 28
    assert previous_track(cache, 3) is None  # starts at frame 0


def test_keypoint_edits_follow_their_joint_through_track_edits(cache):
    f = 28  # #36 is seen in frames 28, 51 and 52
    a, b = int(cache.offsets[f]), int(cache.offsets[f + 1])
    r = a + int(np.flatnonzero(cache.track_id[a:b] == 36)[0])
    old = cache.keypoints[r, 9].copy()
    moved = KeypointEdit(f, 36, 9, float(old[0]) + 12.5, float(old[1]) - 4.0, 1.0)
    gone = KeypointEdit(f, 36, 10, 0.0, 0.0, 0.0)
    e = apply_edits(cache, [TrackEdit("merge", 36, 33)], [moved, gone])
    row = e.row_of(f, 33)  # the corrected person is #33 now
    assert row is not None and e.source_track(row) == 36
    assert np.allclose(e.keypoints[row, 9], (old[0] + 12.5, old[1] - 4.0, 1.0))
    assert e.keypoints[row, 10, 2] == 0.0
    assert e.corrected[row].tolist() == [j in (9, 10) for j in range(17)]
    assert e.corrected.sum() == 2
    assert np.array_equal(cache.keypoints[r, 9], old)
    # a deleted track takes its corrections with it
    e = apply_edits(cache, [TrackEdit("delete", 36)], [moved])
    assert e.corrected.sum() == 0
    mid = interpolate_keypoints([KeypointEdit(10, 3, 0, 100.0, 50.0), KeypointEdit(14, 3, 0, 140.0, 30.0)],
                                range(8, 17))
    assert [(k.frame, k.x, k.y) for k in mid] == [(11, 110.0, 45.0), (12, 120.0, 40.0), (13, 130.0, 35.0)]


def test_an_edit_reusing_the_shown_skeletons_equals_a_fresh_one(cache):
    """apply_edits(reuse=...) patches the joints of what is shown instead of copying them: after every step of a
    labeller's session (joint moved, moved again, another joint, a track edit, a correction taken back, all taken
    back) it holds exactly what a fresh apply_edits gives, and the cache as extracted is untouched."""
    before = cache.keypoints.copy()
    f = 28
    a, b = int(cache.offsets[f]), int(cache.offsets[f + 1])
    x, y = (float(v) for v in cache.keypoints[a + int(np.flatnonzero(cache.track_id[a:b] == 36)[0]), 9, :2])
    m1, m2 = KeypointEdit(f, 36, 9, x + 10, y, 1.0), KeypointEdit(f, 36, 9, x + 20, y + 3, 1.0)
    other = KeypointEdit(30, 12, 3, 5.0, 6.0, 0.0)
    steps = [([], [m1]), ([], [m2]), ([], [m2, other]), ([TrackEdit("merge", 36, 33)], [m2, other]),
             ([TrackEdit("merge", 36, 33)], [other]), ([], [])]
    shown = apply_edits(cache, editable=True)
    assert shown.keypoints.flags.writeable and not np.shares_memory(shown.keypoints, cache.keypoints)
    buffer = shown.keypoints
    for tedits, kedits in steps:
        shown = apply_edits(cache, tedits, kedits, reuse=shown)
        fresh = apply_edits(cache, tedits, kedits)
        assert shown.keypoints is buffer  # patched, not copied
        assert np.array_equal(shown.keypoints, fresh.keypoints) and np.array_equal(shown.corrected, fresh.corrected)
        assert np.array_equal(shown.track_id, fresh.track_id)
    assert not shown.corrected.any() and np.array_equal(shown.keypoints, before)
    assert np.array_equal(cache.keypoints, before)
    # a deleted track removes rows: the shown joints are closed up in place (no new array), corrections after the
    # deleted rows move with their rows, and all equals a fresh result
    late = KeypointEdit(50, 12, 4, 7.0, 8.0, 1.0)
    shown = apply_edits(cache, [], [other, late], reuse=shown)
    bboxes = shown.bbox
    assert bboxes.flags.writeable and not np.shares_memory(bboxes, cache.bbox)  # owned with the keypoints
    gone = apply_edits(cache, [TrackEdit("delete", 36)], [other, late, m2], reuse=shown)  # m2: a deleted row's
    fresh = apply_edits(cache, [TrackEdit("delete", 36)], [other, late, m2])
    assert np.shares_memory(gone.keypoints, buffer) and len(gone.keypoints) < len(buffer)
    assert np.array_equal(gone.keypoints, fresh.keypoints) and np.array_equal(gone.corrected, fresh.corrected)
    for name in ("frame", "track_id", "bbox", "score", "offsets"):  # closed up in place or rebuilt: the same
        assert np.array_equal(getattr(gone, name), getattr(fresh, name)), name
    assert np.shares_memory(gone.bbox, bboxes)  # the shown boxes closed up too, not copied
    assert gone.corrected.sum() == fresh.corrected.sum() >= 1
    # the delete undone: the rows are opened up again in the same buffer, a correction of a deleted row (m2, on
    # #36) is written again, one taken back meanwhile (late) is not
    back = apply_edits(cache, [], [other, m2], reuse=gone)
    fresh = apply_edits(cache, [], [other, m2])
    assert np.shares_memory(back.keypoints, buffer) and len(back.keypoints) == len(buffer)
    for name in ("keypoints", "corrected", "frame", "track_id", "bbox", "score", "offsets"):
        assert np.array_equal(getattr(back, name), getattr(fresh, name)), name
    assert back.corrected.sum() == fresh.corrected.sum() >= 2
    again = apply_edits(cache, [TrackEdit("delete", 36)], [other], reuse=back)  # and a delete after the undo
    assert np.shares_memory(again.keypoints, buffer)
    assert np.array_equal(again.keypoints, apply_edits(cache, [TrackEdit("delete", 36)], [other]).keypoints)
    assert np.array_equal(cache.keypoints, before)


def test_closing_up_rows_in_place_equals_taking_them_and_opening_up_restores_them():
    from core.track_edits import _close_up, _open_up, _rows_within

    rng = np.random.default_rng(3)
    for n, chunk in [(1000, 64), (50, 8), (20_000, 8192)]:
        a = rng.normal(size=(n, 4, 3)).astype(np.float32)
        rows = np.arange(n) * 2  # base rows of what is shown
        keep = np.sort(rng.choice(rows, n - n // 7, replace=False))
        pos = _rows_within(rows, keep)
        want = a[pos].copy()
        original = a.copy()
        got = _close_up(a, pos, chunk=chunk)
        assert np.shares_memory(got, a) and np.array_equal(got, want)
        back = _open_up(a, pos, n, chunk=chunk)  # the kept rows return to their places
        assert np.array_equal(back[pos], original[pos])
    assert _rows_within(np.array([0, 2, 4]), np.array([0, 3])) is None  # a row not shown: not a delete
    assert _rows_within(np.array([0, 2]), np.array([0, 2])) is None  # nothing deleted


def test_tracks_an_edit_left_alone_keep_their_rows_and_presence_and_all_equal_a_fresh_result(cache):
    """apply_edits(reuse=...) takes over the rows and presence runs the shown skeletons had found for the tracks an
    edit did not touch (the timeline then does not redraw their rows) — and after every step of a session (split,
    merge, rename, joint move, undo, delete) every track's rows, frames and presence runs equal a fresh result's."""
    from core.cache import presence_runs

    shown = apply_edits(cache, editable=True)
    for t in shown.track_ids().tolist():
        shown.track_presence(t)
    m = KeypointEdit(30, 12, 3, 5.0, 6.0, 1.0)
    split = TrackEdit("split", 12, 90, frame=30)
    steps = [([split], []), ([split], [m]), ([split, TrackEdit("merge", 36, 33)], [m]),
             ([split, TrackEdit("merge", 36, 33), TrackEdit("rename", 9, 91)], [m]), ([split], [m]),
             ([split, TrackEdit("delete", 36)], [m]), ([], [])]
    for i, (tedits, kedits) in enumerate(steps):
        before = {t: shown.track_presence(t) for t in shown.track_ids().tolist()}
        shown = apply_edits(cache, tedits, kedits, reuse=shown)
        fresh = apply_edits(cache, tedits, kedits)
        assert shown.track_ids().tolist() == fresh.track_ids().tolist()
        for t in fresh.track_ids().tolist():
            assert np.array_equal(shown.track_rows(t), fresh.track_rows(t))
            got, want = shown.track_presence(t), presence_runs(fresh.track_frames(t))
            assert np.array_equal(got[0], want[0]) and np.array_equal(got[1], want[1]), (tedits, t)
        # a joint move changes no track: every track's presence is the very object shown before
        if i == 1:
            assert all(shown.track_presence(t) is before[t] for t in before)
    # the split track and the track split off are found again; a track nobody edited is not
    shown = apply_edits(cache, editable=True)
    kept = {t: shown.track_presence(t) for t in shown.track_ids().tolist()}
    after = apply_edits(cache, [split], reuse=shown)
    assert after.track_presence(33) is kept[33] and after.track_presence(36) is kept[36]
    assert after.track_presence(12) is not kept[12]
    assert after.track_presence(90)[0][0] == 30 and after.track_presence(12)[1][-1] < 30
    # a delete removes rows: the other tracks keep their presence runs (frames), their rows are found again
    gone = apply_edits(cache, [TrackEdit("delete", 36)], reuse=apply_edits(cache, reuse=after))
    assert 36 not in gone.track_ids().tolist() and gone.track_presence(33) is kept[33]
    assert np.array_equal(gone.track_rows(33), apply_edits(cache, [TrackEdit("delete", 36)]).track_rows(33))


def test_presence_runs_are_the_runs_of_consecutive_frames():
    from core.cache import presence_runs

    s, e = presence_runs(np.array([3, 4, 5, 9, 11, 12], np.int32))
    assert s.tolist() == [3, 9, 11] and e.tolist() == [5, 9, 12] and s.dtype == np.int64
    s, e = presence_runs(np.zeros(0, np.int32))
    assert len(s) == len(e) == 0


def test_remembered_track_ids_equal_a_replay_through_edits_undo_and_a_skipped_edit(cache):
    """edited_track_ids starts from the longest remembered prefix of the edits: the IDs must be those of replaying
    every edit from the cache as extracted, after an edit, its undo, a redo and a stored edit that no longer
    applies."""
    import core.track_edits as te

    def replay(edits):
        ids = cache.track_id.astype(np.int64)
        for e in edits:
            try:
                te.check_track_edit(cache.frame.astype(np.int64), ids, e)
            except TrackEditError:
                continue
            ids = te._apply_one(cache.frame.astype(np.int64), ids, e)
        return ids

    merge, split = TrackEdit("merge", 36, 33), TrackEdit("split", 12, 90, frame=30)
    bad = TrackEdit("merge", 9, 12)  # #9 and #12 share frame 14
    te._IDS_MEMO.clear()
    for edits in ([merge], [merge, split], [merge], [merge, split], [], [merge, bad, split], [merge, split]):
        ids, skipped = te.edited_track_ids(cache, edits, strict=False)
        np.testing.assert_array_equal(ids, replay(edits))
        assert len(skipped) == (bad in edits)
        assert not ids.flags.writeable or skipped  # remembered arrays are shared: read-only
    with pytest.raises(TrackEditError, match="overlap"):
        te.edited_track_ids(cache, [merge, bad], strict=True)  # a remembered prefix does not skip the check
    assert len(te._IDS_MEMO) <= te._IDS_MEMO_SIZE


def test_project_stores_edits_moves_clips_and_undoes(project):
    p, v = project
    raw = load(p, v, edited=False)
    key = skeleton_key(raw)
    c36 = p.add_clip(v.id, 30, 50, "assault", track_id=36)
    c33 = p.add_clip(v.id, 20, 22, "normal", track_id=33)
    e = p.add_track_edit(v.id, raw, TrackEdit("merge", 36, 33), annotator="ann")
    assert e.id is not None
    assert p.clip(c36.id).track_id == 33 and p.clip(c33.id).track_id == 33
    s = p.add_track_edit(v.id, raw, TrackEdit("split", 33, 60, frame=40))
    assert p.clip(c36.id).track_id == 33 and p.clip(c33.id).track_id == 33  # both start before frame 40
    with pytest.raises(TrackEditError, match="overlap in frame"):
        p.add_track_edit(v.id, raw, TrackEdit("merge", 9, 12))
    with pytest.raises(TrackEditError, match="has 2 clip"):
        p.add_track_edit(v.id, raw, TrackEdit("delete", 33))
    with pytest.raises(TrackEditError, match="later track edit"):
        p.remove_track_edit(e.id)
    p.set_keypoint_edits(v.id, key, [KeypointEdit(28, 36, 9, 111.0, 222.0, 1.0)], annotator="ann")
    folder = p.folder
    p.close()

    with Project.open(folder) as q:  # everything is in the database
        assert q.schema_version == SCHEMA_VERSION == 2
        assert [x.kind for x in q.track_edits(v.id, key)] == ["merge", "split"]
        edited = load(q, v)
        assert isinstance(edited, EditedSkeletons) and not edited.skipped
        sp = spans(edited)
        assert sp[33] == (20, 28) and sp[60] == (51, 52) and 36 not in sp
        row = edited.row_of(28, 33)
        assert tuple(edited.keypoints[row, 9]) == (111.0, 222.0, 1.0) and edited.corrected[row, 9]
        q.remove_track_edit(s.id)
        q.remove_track_edit(e.id)
        assert q.clip(c36.id).track_id == 36 and q.clip(c33.id).track_id == 33
        assert spans(load(q, v))[36] == (28, 52)
        q.clear_keypoint_edits(v.id, key, [(28, 36, 9)])
        assert q.keypoint_edits(v.id, key) == []


def test_stored_suggestions_follow_later_track_edits(project):
    """A model's stored suggestions and probabilities were judged on the tracks of their time: a merge, split or
    delete made afterwards moves them as it moves clips (read time, nothing rewritten), accept makes the clip on
    today's track, an undo moves them back; a set judged after an edit that is then taken back is stale."""
    from core import suggest

    p, v = project
    raw = load(p, v, edited=False)
    key = skeleton_key(raw)
    f36 = np.array([28, 51, 52])
    probs = {36: (f36, np.tile(np.array([[0.2, 0.8]], np.float32), (3, 1))),
             12: (np.arange(7, 53), np.tile(np.array([[0.9, 0.1]], np.float32), (46, 1)))}
    runs = [(36, 28, 52, "assault", 0.8), (12, 40, 50, "assault", 0.6)]
    p.store_suggestion_set(v.id, "h1", "m.pt", ["normal", "assault"], probs, runs, key, ())

    def tracks():
        return sorted((s.track_id, s.start) for s in p.suggestions(v.id, "h1"))

    merge = p.add_track_edit(v.id, raw, TrackEdit("merge", 36, 33))
    assert tracks() == [(12, 40), (33, 28)]
    pr = p.suggestion_probs(p.suggestion_sets(v.id, "h1")[0].id)
    assert 36 not in pr and pr[33][0].tolist() == [28, 51, 52] and np.allclose(pr[33][1][:, 1], 0.8)
    split = p.add_track_edit(v.id, raw, TrackEdit("split", 12, 70, frame=30))
    assert tracks() == [(33, 28), (70, 40)]  # the suggestion starts after the split: on the new part
    pr = p.suggestion_probs(p.suggestion_sets(v.id, "h1")[0].id)
    assert pr[12][0].max() == 29 and pr[70][0].min() == 30
    sid = next(s.id for s in p.suggestions(v.id, "h1") if s.track_id == 33)
    clip = suggest.accept(p, sid)
    assert clip.track_id == 33
    # a stretch to label next is named by today's track IDs
    assert {r.track_id for r in suggest.rank_unlabelled(p)} <= {12, 33, 70}
    p.remove_track_edit(split.id)
    assert tracks() == [(12, 40), (33, 28)]
    # judged after the merge, then the merge is taken back: its tracks no longer exist as judged
    p.store_suggestion_set(v.id, "h2", "m2.pt", ["normal", "assault"], {33: probs[36]}, [(33, 28, 52, "assault", 0.8)],
                           key, (TrackEdit("merge", 36, 33),))
    assert not p.suggestion_sets(v.id, "h2")[0].stale
    p.remove_track_edit(merge.id)
    assert p.suggestion_sets(v.id, "h2")[0].stale and not p.suggestion_sets(v.id, "h1")[0].stale
    assert tracks() == [(12, 40), (36, 28)]
    p.add_track_edit(v.id, raw, TrackEdit("delete", 12))
    assert tracks() == [(36, 28)]  # a deleted track's suggestion is not shown


def test_an_old_project_is_migrated_with_its_clips(tmp_path, fi001):
    from core.project import _SCHEMA_V1

    folder = tmp_path / "old"
    folder.mkdir()
    conn = sqlite3.connect(folder / "project.sqlite")
    conn.executescript(_SCHEMA_V1)
    conn.execute("INSERT INTO labels (name, colour, hotkey, position) VALUES ('fall', '#2196f3', '5', 0)")
    conn.execute("INSERT INTO videos (path, hash, fps, frame_count, width, height, added) "
                 "VALUES (?, 'h', 25, 53, 480, 360, 0)", (str(fi001),))
    conn.execute("INSERT INTO clips (video_id, start_frame, end_frame, label_id, track_id, annotator, created, "
                 "modified) VALUES (1, 3, 9, 1, 4, 'old-annotator', 0, 0)")
    conn.execute("PRAGMA user_version=1")
    conn.commit()
    conn.close()
    with Project.open(folder) as p:
        assert p.schema_version == 2
        assert [(c.start, c.end, c.label, c.track_id, c.annotator) for c in p.clips()] == \
            [(3, 9, "fall", 4, "old-annotator")]
        assert p.track_edits(1, "k") == [] and p.keypoint_edits(1, "k") == []


def test_export_and_training_data_see_the_edits(project, tmp_path):
    from core.exporting import iter_export
    from core.extract import run

    p, v = project
    raw = load(p, v, edited=False)
    p.add_clip(v.id, 28, 52, "assault", track_id=36)
    p.add_clip(v.id, 0, 52, "normal", track_id=3)
    p.add_track_edit(v.id, raw, TrackEdit("merge", 36, 33))
    p.set_keypoint_edits(v.id, skeleton_key(raw), [KeypointEdit(28, 36, 5, 123.0, 45.0, 1.0)])  # SHOULDER_LEFT
    run(iter_export(p, tmp_path / "out", formats=("csv",)), callback=lambda q: None)
    df = pd.read_csv(tmp_path / "out" / "skeletons.csv")
    assault = df[df.label_name == "assault"]
    assert set(assault.track_id) == {33} and len(assault) == 3
    r = assault[assault.FRAME_NUM == 28].iloc[0]
    assert (r.SHOULDER_LEFT_X, r.SHOULDER_LEFT_Y, r.SHOULDER_LEFT_SCORE) == (123.0, 45.0, 1.0)

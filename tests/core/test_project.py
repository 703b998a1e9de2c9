"""The SQLite project store: clips, taxonomy, validation, relinking, schema versions, durability."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
import textwrap

import pytest

from core.project import DB_NAME, SCHEMA_VERSION, Crop, Project, ProjectError
from tests.conftest import ROOT, shared_path


@pytest.fixture
def fight_clip():
    return shared_path("data", "videos", "fight", "fi001.mp4")  # 53 frames, 480x360


@pytest.fixture
def proj(tmp_path):
    p = Project.create(tmp_path / "proj")
    yield p
    p.close()



def sql(project, query: str) -> list:
    """``query``'s rows on a connection of the test's own to the project's database file."""
    import sqlite3

    conn = sqlite3.connect(project.db_path)
    try:
        return conn.execute(query).fetchall()
    finally:
        conn.close()

def test_create_defaults_and_reopen(tmp_path):
    p = Project.create(tmp_path / "p")
    assert p.label_names() == ["normal", "theft", "assault", "vandalism", "fall"]
    assert [lab.hotkey for lab in p.labels()] == ["1", "2", "3", "4", "5"]
    assert p.schema_version == SCHEMA_VERSION
    assert sql(p, "PRAGMA journal_mode")[0][0] == "wal"
    p.close()
    with pytest.raises(ProjectError, match="already exists"):
        Project.create(tmp_path / "p")
    with Project.open(tmp_path / "p") as q:
        assert q.label_names()[0] == "normal"
    with pytest.raises(ProjectError, match="no PoseWatch project"):
        Project.open(tmp_path / "elsewhere")


def test_clip_lifecycle(proj, fight_clip):
    v = proj.add_video(fight_clip)
    assert (v.frame_count, v.width, v.height, v.kind) == (53, 480, 360, "video")
    assert proj.add_video(fight_clip) == v  # same content: same entry
    c = proj.add_clip(v.id, 5, 20, "assault", track_id=2, crop=Crop("track", margin=0.3), annotator="ann", note="n")
    assert (c.start, c.end, c.length, c.label, c.track_id, c.crop.margin) == (5, 20, 16, "assault", 2, 0.3)
    c2 = proj.update_clip(c.id, start=7, label="normal", crop=Crop("rect", (10, 20, 200, 300)))
    assert (c2.start, c2.end, c2.label, c2.crop.rect) == (7, 20, "normal", (10, 20, 200, 300))
    assert c2.modified >= c.modified and c2.created == c.created
    assert proj.update_clip(c.id, track_id=None, crop=None).track_id is None
    gone = proj.delete_clip(c.id)
    assert proj.clips() == []
    back = proj.restore_clip(gone)
    assert back == gone and back.id == c.id
    with pytest.raises(ProjectError, match="already exists"):
        proj.restore_clip(gone)


def test_range_queries(proj, fight_clip):
    v = proj.add_video(fight_clip)
    for s in range(0, 50, 10):
        proj.add_clip(v.id, s, s + 4, "normal")
    assert [c.start for c in proj.clips_in_range(v.id, 12, 24)] == [10, 20]
    assert [c.start for c in proj.clips_in_range(v.id, 14, 14)] == [10]
    assert proj.clips_in_range(v.id, 15, 19) == []
    assert len(proj.clips(v.id, label="normal")) == 5 and proj.clips(label="fall") == []
    plan = sql(proj, "EXPLAIN QUERY PLAN SELECT * FROM clips WHERE video_id=1 AND start_frame<=10 AND end_frame>=5")
    assert "USING INDEX" in str(plan)


@pytest.mark.parametrize("args,msg", [
    ((20, 5, "normal"), "ends .* before it starts"),
    ((-1, 5, "normal"), ">= 0"),
    ((0, 53, "normal"), "past the end"),
    ((0, 5, "robbery"), "not in the taxonomy"),
])
def test_invalid_clips_change_nothing(proj, fight_clip, args, msg):
    v = proj.add_video(fight_clip)
    with pytest.raises(ProjectError, match=msg):
        proj.add_clip(v.id, *args)
    assert proj.clip_count() == 0


@pytest.mark.parametrize("crop,track,msg", [
    (Crop("rect", (400, 10, 500, 100)), None, "outside the 480x360 frame"),
    (Crop("rect", (50, 50, 40, 100)), None, "empty"),
    (Crop("track"), None, "needs the clip's track"),
    (Crop("circle"), None, "unknown crop kind"),
])
def test_invalid_crops(proj, fight_clip, crop, track, msg):
    v = proj.add_video(fight_clip)
    c = proj.add_clip(v.id, 0, 5, "normal")
    with pytest.raises(ProjectError, match=msg):
        proj.update_clip(c.id, crop=crop, track_id=track)
    assert proj.clip(c.id).crop is None


def test_taxonomy_edits(proj, fight_clip):
    v = proj.add_video(fight_clip)
    proj.add_label("loitering", "#123456", "6")
    assert proj.label_names()[-1] == "loitering"
    with pytest.raises(ProjectError, match="already exists"):
        proj.add_label("theft")
    with pytest.raises(ProjectError, match="hotkey '1'"):
        proj.add_label("other", hotkey="1")
    c = proj.add_clip(v.id, 0, 3, "loitering")
    proj.update_label("loitering", new_name="lingering", colour="#654321")
    assert proj.clip(c.id).label == "lingering"
    with pytest.raises(ProjectError, match="used by 1 clip"):
        proj.remove_label("lingering")
    proj.remove_label("vandalism")
    assert proj.label_names() == ["normal", "theft", "assault", "fall", "lingering"]
    assert [lab.position for lab in proj.labels()] == [0, 1, 2, 3, 4]


def test_moved_video_is_relinked_by_hash(tmp_path, fight_clip):
    src = tmp_path / "videos" / "a.mp4"
    src.parent.mkdir()
    shutil.copy(fight_clip, src)
    with Project.create(tmp_path / "p") as p:
        v = p.add_video(src)
        p.add_clip(v.id, 0, 9, "assault")
    moved = tmp_path / "archive" / "deep" / "renamed.mp4"
    moved.parent.mkdir(parents=True)
    shutil.move(src, moved)
    with Project.open(tmp_path / "p") as p:
        assert [m.id for m in p.missing_videos()] == [v.id]
        assert p.relink([tmp_path / "archive"]) == {v.id: str(moved.resolve())}
        assert p.video(v.id).path == str(moved.resolve()) and p.missing_videos() == []
        assert len(p.clips(v.id)) == 1
        # adding the moved file again finds the same entry
        assert p.add_video(moved).id == v.id


def test_newer_schema_is_refused(tmp_path):
    Project.create(tmp_path / "p").close()
    con = sqlite3.connect(tmp_path / "p" / DB_NAME)
    con.execute(f"PRAGMA user_version={SCHEMA_VERSION + 1}")
    con.close()
    with pytest.raises(ProjectError, match="newer PoseWatch"):
        Project.open(tmp_path / "p")


def test_not_a_database(tmp_path):
    (tmp_path / "p").mkdir()
    (tmp_path / "p" / DB_NAME).write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(ProjectError, match="not a PoseWatch project database"):
        Project.open(tmp_path / "p")


def test_killed_writer_loses_no_committed_edit(tmp_path, fight_clip):
    """A real subprocess adds clips, reporting each after the call returns; SIGKILL mid-way; every
    reported clip is in the reopened database."""
    Project.create(tmp_path / "p").close()
    script = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(ROOT)!r})
        from core.project import Project
        p = Project.open({str(tmp_path / 'p')!r})
        v = p.add_video({str(fight_clip)!r})
        i = 0
        while True:
            c = p.add_clip(v.id, i % 40, i % 40 + 5, "normal", note=str(i))
            print(c.id, flush=True)
            i += 1
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    reported = []
    try:
        for line in proc.stdout:
            reported.append(int(line))
            if len(reported) >= 150:
                break
    finally:
        proc.kill()
        proc.wait()
    assert len(reported) >= 150
    with Project.open(tmp_path / "p") as p:
        assert sql(p, "PRAGMA integrity_check")[0][0] == "ok"
        ids = {c.id for c in p.clips()}
        assert set(reported) <= ids


def test_batch_is_all_or_nothing(proj, fight_clip):
    v = proj.add_video(fight_clip)
    with proj.batch():
        proj.add_clip(v.id, 0, 3, "normal")
        with pytest.raises(ProjectError):  # a failed edit inside a batch is undone alone
            proj.add_clip(v.id, 5, 2, "normal")
        proj.add_clip(v.id, 4, 6, "theft")
    assert proj.clip_count() == 2
    with pytest.raises(RuntimeError):
        with proj.batch():
            proj.add_clip(v.id, 10, 12, "fall")
            proj.add_label("loitering")
            raise RuntimeError("stop")
    assert proj.clip_count() == 2 and "loitering" not in proj.label_names()


def test_player_skeletons_are_reused_not_recomputed(tmp_path, fall04, fall04_skeletons):
    """Skeletons the player computed in the per-user cache are copied into a project, not recomputed."""
    import numpy as np

    from core.extract import run

    with Project.create(tmp_path / "p") as p:
        v = p.add_video(fall04)
        seen = []
        c = run(p.iter_skeletons(v), callback=seen.append)
        assert seen == []  # no model load, no inference
        assert np.array_equal(c.keypoints, fall04_skeletons.keypoints)
        assert len(list(p.skeleton_dir.glob("*/*.npz"))) == 1


def test_restore_label_keeps_class_indices(proj):
    before = proj.labels()
    theft = before[1]
    proj.remove_label("theft")
    assert proj.label_names() == ["normal", "assault", "vandalism", "fall"]
    back = proj.restore_label(theft)
    assert back.position == 1
    assert [(lab.name, lab.position, lab.hotkey) for lab in proj.labels()] == \
        [(lab.name, lab.position, lab.hotkey) for lab in before]
    with pytest.raises(ProjectError, match="already exists"):
        proj.restore_label(theft)

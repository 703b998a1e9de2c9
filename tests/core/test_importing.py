"""Importing labelled skeleton CSVs (AI-Hub processed and raw, URFD, PoseWatch's own) into a real project.

Counts are checked against independent pandas computations on the shared CSVs; bad files are made in
tmp_path and must leave the project exactly as it was.
"""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest

from core.extract import Cancelled, run
from core.importing import (AIHUB_LABELS, URFD_LABELS, ImportDataError, ImportedClip, ParsedFile, detect_format,
                            iter_import, parse_aihub, parse_aihub_raw, parse_file, parse_posewatch, parse_urfd)
from core.layouts import AIHUB17
from core.project import Project, ProjectError
from tests.conftest import shared_path

QUIET = {"callback": lambda p: None}


@pytest.fixture(scope="module")
def aihub_csv():
    return shared_path("data", "skeleton", "aihub", "datavalid.csv")


@pytest.fixture(scope="module")
def raw_csv():
    return shared_path("data", "skeleton", "aihub", "datasample.csv")


@pytest.fixture(scope="module")
def urfd_csv():
    return shared_path("data", "skeleton", "urfd", "pose_urfd_3classes.csv")


@pytest.fixture
def proj(tmp_path):
    p = Project.create(tmp_path / "proj")
    yield p
    p.close()


def _state(p: Project):
    """Everything an import could change: videos, clips, taxonomy and the files under skeletons/."""
    files = sorted((str(f.relative_to(p.skeleton_dir)), f.stat().st_size, f.stat().st_mtime_ns)
                   for f in p.skeleton_dir.rglob("*"))
    return p.videos(), [(c.id, c.video_id, c.start, c.end, c.label, c.track_id) for c in p.clips()], \
        [(lab.name, lab.position, lab.hotkey) for lab in p.labels()], files


# ------------------------------------------------------------------------------------------ formats
def test_detect_format(aihub_csv, raw_csv, urfd_csv, tmp_path):
    assert detect_format(aihub_csv) == "aihub"
    assert detect_format(raw_csv) == "aihub_raw"
    assert detect_format(urfd_csv) == "urfd"
    bad = tmp_path / "misnamed.csv"  # one misnamed column: still recognised, so the parser can name it
    lines = aihub_csv.read_text().splitlines()[:3]
    bad.write_text("\n".join([lines[0].replace("HEAD_X", "HAED_X")] + lines[1:]) + "\n")
    assert detect_format(bad) == "aihub"
    other = tmp_path / "other.csv"
    other.write_text("a,b,c\n1,2,3\n")
    with pytest.raises(ImportDataError, match=r"other.csv is not a skeleton CSV .*columns are: a, b, c"):
        detect_format(other)


def test_aihub_processed_sequences_labels_and_coordinates(aihub_csv):
    df = pd.read_csv(aihub_csv)
    pf = parse_aihub(aihub_csv)
    seqs = pf.sequences
    # independent rule in pandas: new sequence where the label changes, FRAME_NUM appears/disappears or does not increase
    fn = df["FRAME_NUM"]
    new = (df["label"] != df["label"].shift()) | (fn.isna() != fn.shift().isna()) | (fn.diff() <= 0)
    seq_of_row = new.cumsum().to_numpy() - 1
    assert len(seqs) == new.sum() == 76  # 75 labelled sequences + one run of 2,946 "normal" rows without FRAME_NUM
    assert [s.frame_count for s in seqs] == np.bincount(seq_of_row).tolist()
    assert sum(s.frame_count for s in seqs) == len(df) == 12834
    for k, s in enumerate(seqs):
        lab = AIHUB_LABELS[int(df["label"][seq_of_row == k].iloc[0])]
        assert [(c.start, c.end, c.label, c.track_id) for c in s.clips] == [(0, s.frame_count - 1, lab, 1)]
        assert s.layout == "aihub17" and s.fps == 3.0 and s.skeleton_count == s.frame_count
    per_label = pd.Series({lab: sum(s.frame_count for s in seqs if s.clips[0].label == lab) for lab in AIHUB_LABELS})
    assert per_label.tolist() == [df["label"].eq(i).sum() for i in range(4)]
    assert seqs[-1].frame_count == 2946 and seqs[-1].clips[0].label == "normal"
    # exact coordinates of a few rows
    pos_in_seq = df.groupby(seq_of_row).cumcount().to_numpy()
    for row in (0, 1234, 9887, 9888, len(df) - 1):
        s, i = seqs[seq_of_row[row]], pos_in_seq[row]
        for j, joint in enumerate(AIHUB17.joints):
            x, y = df[f"{joint}_X"][row], df[f"{joint}_Y"][row]
            if np.isnan(x):  # the "normal" rows lack the torso joints: missing, score 0
                assert tuple(s.keypoints[i, j]) == (0, 0, 0)
            else:
                assert tuple(s.keypoints[i, j]) == (np.float32(x), np.float32(y), 1.0)
        expected_fn = i if np.isnan(fn[row]) else int(fn[row])
        assert s.frame_num[i] == expected_fn
    assert np.isnan(df.loc[9888, "PELVIS_X"]) and seqs[-1].keypoints[0, AIHUB17.index("PELVIS"), 2] == 0


def test_aihub_raw_needs_a_label_and_keeps_empty_frames(raw_csv):
    df = pd.read_csv(raw_csv)
    assert "label" not in df.columns and "SPINE_NAVA_CONFIDENCE_LEVEL" in df.columns  # the real file's typo
    with pytest.raises(ImportDataError, match="no label column.*--label"):
        parse_aihub_raw(raw_csv)
    pf = parse_file(raw_csv, label="normal")
    assert pf.format == "aihub_raw" and len(pf.sequences) == 1
    s = pf.sequences[0]
    assert s.frame_count == len(df) == 180
    assert s.skeleton_count == (df["NUMOFBODIES"] > 0).sum() == 165
    assert [(c.start, c.end, c.label) for c in s.clips] == [(0, 179, "normal")]
    assert s.frame_num.tolist() == df["FRAME_NUM"].tolist()
    cache = s.to_cache("x")
    nobody = np.flatnonzero(df["NUMOFBODIES"].to_numpy() == 0)
    assert (cache.persons_per_frame()[nobody] == 0).all() and (np.delete(cache.persons_per_frame(), nobody) == 1).all()
    row = int(np.flatnonzero(df["NUMOFBODIES"].to_numpy() > 0)[3])
    kp = cache.poses(row).persons[0].keypoints
    naval = AIHUB17.index("SPINE_NAVAL")
    assert tuple(kp[naval]) == (np.float32(df["SPINE_NAVAL_X"][row]), np.float32(df["SPINE_NAVAL_Y"][row]),
                                np.float32(df["SPINE_NAVA_CONFIDENCE_LEVEL"][row] / 3))
    head = AIHUB17.index("HEAD")
    assert kp[head, 2] == np.float32(df["HEAD_CONFIDENCE_LEVEL"][row] / 3)
    assert cache.meta["timestamp"][0] == df["TIMESTAMP"][0] and cache.fps == 3.0


def test_urfd_duplicates_labels_and_pixels(urfd_csv):
    df = pd.read_csv(urfd_csv)
    pf = parse_urfd(urfd_csv)
    kept = df.drop_duplicates(["video", "frame"], keep="first")
    assert len(df) - len(kept) == 136
    dup_frames = df[df.duplicated(["video", "frame"], keep=False)].groupby(["video", "frame"])
    conflicts = int((dup_frames["label"].nunique() > 1).sum())
    assert len(pf.warnings) == 1
    assert f"136 duplicated row(s) of {dup_frames.ngroups} frame(s) in fall-13, fall-14" in pf.warnings[0]
    assert f"{conflicts} of these frames had conflicting labels" in pf.warnings[0]
    assert len(pf.sequences) == df["video"].nunique() == 30
    runs = kept.groupby("video")["label"].apply(lambda s: int((s != s.shift()).sum()))
    by_name = {s.name: s for s in pf.sequences}
    for video, g in kept.groupby("video"):
        s = by_name[video]
        assert s.frame_count == len(g) and s.frame_num.tolist() == g["frame"].tolist()
        assert len(s.clips) == runs[video]
        labels = np.empty(s.frame_count, object)
        for c in s.clips:
            labels[c.start:c.end + 1] = c.label
        assert labels.tolist() == [URFD_LABELS[i] for i in g["label"]]  # the first row of a duplicated frame wins
        assert (np.diff(g["label"]) >= 0).all()  # upright -> falling -> lying, also in fall-13/14
    assert sum(len(s.clips) for s in pf.sequences) == runs.sum()
    s = by_name["fall-13"]
    row = df[(df["video"] == "fall-13") & (df["frame"] == 40)].iloc[0]  # first of a duplicated pair
    i = s.frame_num.tolist().index(40)
    assert tuple(s.keypoints[i, 0]) == (np.float32(row["Nose_x"] * 640), np.float32(row["Nose_y"] * 480),
                                        np.float32(row["Nose_s"]))
    assert (s.width, s.height, s.fps, s.layout) == (640, 480, 30.0, "alphapose13")
    assert s.keypoints[:, :, 2].max() <= 1.0 and df.filter(like="_s").to_numpy().max() > 1.0  # scores clipped


# ------------------------------------------------------------------------------------------ into a project
def test_import_into_project_and_reimport_is_idempotent(proj, aihub_csv, raw_csv, urfd_csv):
    progress = []
    report = run(iter_import(proj, [aihub_csv, raw_csv, urfd_csv], label="theft"), callback=progress.append)
    assert progress[-1].done == progress[-1].total == report.frames
    by_file = {f.format: f for f in report.files}
    assert (by_file["aihub"].sequences, by_file["aihub"].clips, by_file["aihub"].frames) == (76, 76, 12834)
    assert (by_file["aihub_raw"].sequences, by_file["aihub_raw"].clips, by_file["aihub_raw"].frames) == (1, 1, 180)
    urfd = pd.read_csv(urfd_csv).drop_duplicates(["video", "frame"])
    assert (by_file["urfd"].sequences, by_file["urfd"].frames) == (30, len(urfd))
    assert by_file["urfd"].clips == sum(len(s.clips) for s in parse_urfd(urfd_csv).sequences)
    assert any("136 duplicated" in w for w in by_file["urfd"].warnings)
    assert report.labels_added == ["upright", "falling", "lying"]
    assert proj.label_names()[-3:] == ["upright", "falling", "lying"]
    assert [lab.hotkey for lab in proj.labels()][-3:] == ["6", "7", "8"]

    videos = proj.videos()
    assert len(videos) == 107 and all(v.kind == "skeletons" for v in videos)
    assert proj.clip_count() == report.clips
    assert len(proj.clips(label="lying")) == 30
    # skeletons: loaded through the project exactly as training will read them
    v = next(v for v in videos if v.name == "fall-01")
    cache = run(proj.iter_skeletons(v), **QUIET)
    assert (v.width, v.height, v.fps, v.frame_count, cache.frame_count) == (640, 480, 30.0, 156, 156)
    assert cache.meta["frame_num"][:3] == [5, 6, 7] and cache.layout == "alphapose13"
    first = pd.read_csv(urfd_csv).iloc[0]
    assert cache.poses(0).persons[0].keypoints[11, 1] == np.float32(first["LAnkle_y"] * 480)
    assert [c.label for c in proj.clips(v.id)] == ["upright", "falling", "lying"]
    assert proj.imported_skeletons_path(v).is_file()

    before = _state(proj)
    again = run(iter_import(proj, [urfd_csv, aihub_csv, raw_csv], label="theft"), **QUIET)
    assert (again.sequences, again.clips, again.frames, again.skipped) == (0, 0, 0, 107)
    assert _state(proj) == before  # nothing rewritten, not even a cache file


def test_theft_label_counts(proj, aihub_csv, raw_csv):
    report = run(iter_import(proj, [aihub_csv, raw_csv], label="theft"), **QUIET)
    df = pd.read_csv(aihub_csv)
    theft_seqs = sum(1 for s in parse_aihub(aihub_csv).sequences if s.clips[0].label == "theft")
    assert len(proj.clips(label="theft")) == theft_seqs + 1  # + the raw sample, labelled with label=
    frames = {lab: sum(c.length for c in proj.clips(label=lab)) for lab in AIHUB_LABELS}
    assert frames == {"theft": int((df["label"] == 0).sum()) + 180, "assault": int((df["label"] == 1).sum()),
                      "vandalism": int((df["label"] == 2).sum()), "normal": int((df["label"] == 3).sum())}
    assert report.labels_added == []


def test_export_import_export_roundtrip(tmp_path, aihub_csv, raw_csv, urfd_csv):
    from core.exporting import TRAINING_CSV_COLUMNS, iter_export

    with Project.create(tmp_path / "p1") as p1:
        run(iter_import(p1, [urfd_csv, aihub_csv, raw_csv], label="normal"), **QUIET)
        run(iter_export(p1, tmp_path / "e1", formats=("csv",)), **QUIET)
    e1 = tmp_path / "e1" / "skeletons.csv"
    assert detect_format(e1) == "posewatch"
    pf = parse_posewatch(e1)
    assert len(pf.sequences) == 107 and all(s.layout == "common13" for s in pf.sequences)
    with Project.create(tmp_path / "p2") as p2:
        report = run(iter_import(p2, [e1]), **QUIET)
        assert (report.sequences, report.clips, report.warnings) == (107, 166, [])
        state = _state(p2)
        again = run(iter_import(p2, [e1]), **QUIET)  # idempotent, silently
        assert (again.sequences, again.skipped, again.warnings, _state(p2)) == (0, 107, [], state)
        run(iter_export(p2, tmp_path / "e2", formats=("csv",)), **QUIET)
    a = pd.read_csv(e1, dtype=str, keep_default_na=False)
    b = pd.read_csv(tmp_path / "e2" / "skeletons.csv", dtype=str, keep_default_na=False)
    assert list(a.columns) == list(TRAINING_CSV_COLUMNS) and len(a) == 15802
    pd.testing.assert_frame_equal(a.drop(columns="clip_id"), b.drop(columns="clip_id"))
    # the exported file back into the project it came from: those videos are already there
    with Project.open(tmp_path / "p1") as p1:
        state = _state(p1)
        back = run(iter_import(p1, [e1]), **QUIET)
        assert back.sequences == 0 and back.skipped == 107 and "107 video(s) are already in the project" in back.warnings[0]
        assert _state(p1) == state


def test_roundtrip_two_tracks_gaps_and_whole_frame_clips(tmp_path):
    """Several persons, a gap in a track, a whole-frame clip overlapping track clips, a missing joint."""
    from core.exporting import iter_export
    from core.importing import ImportedSequence

    rng = np.random.default_rng(7)
    t1 = [f for f in range(40) if not 10 <= f < 15]
    t2 = list(range(5, 31))
    rows = sorted([(f, 1) for f in t1] + [(f, 2) for f in t2])
    kp = np.concatenate([rng.uniform(0, 600, (len(rows), 13, 2)), rng.uniform(0.1, 1, (len(rows), 13, 1))], 2)
    kp[3, 4] = (np.nan, np.nan, 0.0)  # a missing joint, as a pose backend leaves it
    seq = ImportedSequence(
        name="two people.mp4", source_format="posewatch", layout="common13", fps=25.0, frame_count=40,
        frame=np.array([r[0] for r in rows], np.int32), track_id=np.array([r[1] for r in rows], np.int32),
        keypoints=kp.astype(np.float32), frame_num=np.arange(100, 140), time_s=np.arange(100, 140) / 25.0,
        clips=[ImportedClip(0, 39, "assault", None), ImportedClip(5, 20, "theft", 2), ImportedClip(25, 35, "normal", 1)],
        key="0123456789abcdef0123456789abcdef")
    with Project.create(tmp_path / "p1") as p1:
        run(iter_import(p1, [ParsedFile(tmp_path / "made.csv", "posewatch", [seq])]), **QUIET)
        run(iter_export(p1, tmp_path / "e1", formats=("csv",)), **QUIET)
    e1 = tmp_path / "e1" / "skeletons.csv"
    a = pd.read_csv(e1, dtype=str, keep_default_na=False)
    assert len(a) == len(rows) + 16 + 11 and (a["video_hash"] == seq.key).all()  # overlapping clips repeat rows
    with Project.create(tmp_path / "p2") as p2:
        report = run(iter_import(p2, [e1]), **QUIET)
        assert (report.sequences, report.clips) == (1, 3)
        v = p2.videos()[0]
        assert (v.hash, v.name, v.fps, v.frame_count) == (seq.key, "two people.mp4", 25.0, 40)
        assert [(c.start, c.end, c.label, c.track_id) for c in p2.clips()] == [
            (0, 39, "assault", None), (5, 20, "theft", 2), (25, 35, "normal", 1)]
        cache = run(p2.iter_skeletons(v), **QUIET)
        assert cache.meta["frame_num"] == list(range(100, 140)) and cache.persons_per_frame()[12] == 1
        run(iter_export(p2, tmp_path / "e2", formats=("csv",)), **QUIET)
    b = pd.read_csv(tmp_path / "e2" / "skeletons.csv", dtype=str, keep_default_na=False)
    assert a.loc[3, "ELBOW_RIGHT_X"] == "" and float(a.loc[3, "ELBOW_RIGHT_SCORE"]) == 0
    pd.testing.assert_frame_equal(a.drop(columns="clip_id"), b.drop(columns="clip_id"))


def test_posewatch_missing_joints(tmp_path, urfd_csv):
    from core.exporting import iter_export

    with Project.create(tmp_path / "p1") as p1:
        run(iter_import(p1, [urfd_csv]), **QUIET)
        run(iter_export(p1, tmp_path / "e1", formats=("csv",)), **QUIET)
    df = pd.read_csv(tmp_path / "e1" / "skeletons.csv")
    df.loc[3, ["HEAD_X", "HEAD_Y"]] = np.nan
    df.loc[3, "HEAD_SCORE"] = 0.0  # a missing joint: accepted, kept as NaN
    ok = tmp_path / "missing_joint.csv"
    df.to_csv(ok, index=False)
    s = next(s for s in parse_posewatch(ok).sequences if s.name == df.loc[3, "video"])
    i = int(np.flatnonzero(s.frame_num[s.frame] == df.loc[3, "FRAME_NUM"])[0])
    assert np.isnan(s.keypoints[i, 12, :2]).all() and s.keypoints[i, 12, 2] == 0
    df.loc[3, "HEAD_SCORE"] = 0.5  # a coordinate missing from a joint that has a score: an error
    bad = tmp_path / "nan_scored.csv"
    df.to_csv(bad, index=False)
    with pytest.raises(ImportDataError, match=r"nan_scored.csv: NaN or empty coordinate .* line 5 \(HEAD at line 5\)"):
        parse_posewatch(bad)


# ------------------------------------------------------------------------------------------ bad input
def _edit(src, dst, fn):
    df = pd.read_csv(src)
    df = fn(df)
    df.to_csv(dst, index=False)
    return dst


BAD_FILES = {
    "missing_column": (lambda t, a, u: _edit(a, t / "missing_column.csv", lambda d: d.drop(columns=["HEAD_Y"])),
                       r"missing_column.csv is not a valid AI-Hub skeleton CSV: missing column\(s\): HEAD_Y$"),
    "misnamed_column": (lambda t, a, u: _edit(u, t / "misnamed.csv", lambda d: d.rename(columns={"LKnee_y": "LKnee_why",
                                                                                                  "label": "lable"})),
                        (r"misnamed.csv is not a valid URFD pose CSV: misnamed column\(s\): 'LKnee_why' should be "
                         r"'LKnee_y', 'lable' should be 'label'$")),
    "nan_coordinate": (lambda t, a, u: _edit(u, t / "nan.csv", lambda d: d.assign(
        RWrist_x=d["RWrist_x"].where(~d.index.isin([10, 500]), np.nan))),
        r"nan.csv: empty or NaN value\(s\) at lines 12, 502 \(column\(s\) RWrist_x at line 12\)"),
    "half_joint_aihub": (lambda t, a, u: _edit(a, t / "half.csv", lambda d: d.assign(
        ELBOW_LEFT_Y=d["ELBOW_LEFT_Y"].where(d.index != 7, np.nan))),
        r"half.csv: ELBOW_LEFT has only one of X and Y at line 9"),
    "not_a_number": (lambda t, a, u: _edit(u, t / "text.csv", lambda d: d.astype({"Nose_x": object}).assign(
        Nose_x=lambda e: e["Nose_x"].where(e.index != 3, "abc"))),
        r"text.csv: column Nose_x has values that are not numbers, first at line 5: 'abc' \(1 in all\)"),
    "unknown_label": (lambda t, a, u: _edit(a, t / "label.csv", lambda d: d.assign(label=d["label"].where(d.index != 20, 7))),
                      r"label.csv: unknown label id 7 at line 22 \(known: 0 = theft, 1 = assault"),
    "empty_file": (lambda t, a, u: (t / "empty.csv").write_text("") and t / "empty.csv" or t / "empty.csv",
                   r"empty.csv is empty"),
    "header_only": (lambda t, a, u: (t / "header.csv").write_text(a.read_text().splitlines()[0] + "\n") and t / "header.csv",
                    r"header.csv has a header but no data rows"),
    "not_a_csv": (lambda t, a, u: (t / "image.csv").write_bytes(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR" + bytes(range(256)))
                  and t / "image.csv", r"image.csv is not a CSV file \(it holds binary data\)"),
    "ragged": (lambda t, a, u: (t / "ragged.csv").write_text("\n".join(u.read_text().splitlines()[:5]) + ",1,2,3\n")
               and t / "ragged.csv", r"ragged.csv is not a well-formed CSV: .*line 5"),
    "no_such_file": (lambda t, a, u: t / "absent.csv", r"absent.csv: no such file"),
}


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_bad_files_leave_the_project_unchanged(case, tmp_path, proj, raw_csv, aihub_csv, urfd_csv):
    run(iter_import(proj, [raw_csv], label="normal"), **QUIET)  # something already in it
    before = _state(proj)
    make, message = BAD_FILES[case]
    bad = make(tmp_path, aihub_csv, urfd_csv)
    with pytest.raises(ImportDataError, match=message) as err:
        run(iter_import(proj, [urfd_csv, bad]), **QUIET)  # a good file first: it must not be imported either
    assert "\n" not in str(err.value)
    assert _state(proj) == before


def test_cancel_midway_removes_written_caches(proj, urfd_csv):
    before = _state(proj)
    calls, seen_files = [], []

    def cancel():
        calls.append(1)
        return len(calls) > 12  # 1 poll reading the file, then one per sequence written

    def progress(p):
        seen_files.append(len(list(proj.skeleton_dir.rglob("*.npz"))))

    with pytest.raises(Cancelled):
        run(iter_import(proj, [urfd_csv], cancel=cancel), callback=progress)
    assert max(seen_files) >= 10  # caches were written before the cancel …
    assert _state(proj) == before  # … and removed again; no database rows


def test_failure_inside_the_transaction_rolls_everything_back(proj, urfd_csv):
    """A sequence that the project refuses (clip past its end) after others were inserted: all rolled back."""
    pf = parse_urfd(urfd_csv)
    broken = pf.sequences[1]
    broken.clips = [*broken.clips, ImportedClip(0, broken.frame_count + 5, "newlabel", 1)]
    before = _state(proj)
    with pytest.raises(ProjectError, match="past the end"):
        run(iter_import(proj, [ParsedFile(pf.path, "urfd", pf.sequences[:5])]), **QUIET)
    assert _state(proj) == before
    assert "newlabel" not in proj.label_names() and "upright" not in proj.label_names()
    # the caller's own connection still works and sees a later, good import
    report = run(iter_import(proj, [ParsedFile(pf.path, "urfd", [pf.sequences[0]])]), **QUIET)
    assert report.sequences == 1 and len(proj.videos()) == 1 and proj.clip_count() == len(pf.sequences[0].clips)


def test_copy_of_a_file_elsewhere_is_the_same_data(tmp_path, proj, raw_csv):
    run(iter_import(proj, [raw_csv], label="normal"), **QUIET)
    copy = shutil.copy(raw_csv, tmp_path / "renamed.csv")
    report = run(iter_import(proj, [copy], label="normal"), **QUIET)
    assert (report.sequences, report.skipped) == (0, 1)
    other = run(iter_import(proj, [copy], label="theft"), **QUIET)  # other labels: other data
    assert other.sequences == 1 and len(proj.videos()) == 2


def test_posewatch_conflicts_are_errors(tmp_path, raw_csv):
    from core.exporting import iter_export

    with Project.create(tmp_path / "p1") as p1:
        run(iter_import(p1, [raw_csv], label="normal"), **QUIET)
        run(iter_export(p1, tmp_path / "e1", formats=("csv",)), **QUIET)
    df = pd.read_csv(tmp_path / "e1" / "skeletons.csv")
    twice = pd.concat([df, df.iloc[[7]].assign(HEAD_X=df.loc[7, "HEAD_X"] + 1)], ignore_index=True)
    twice.to_csv(tmp_path / "twice.csv", index=False)
    with pytest.raises(ImportDataError, match=r"twice.csv: video datasample #1 normal .* has two different skeletons "
                                              r"for track 1 at FRAME_NUM \d+ \(line 16[67]\)"):
        parse_posewatch(tmp_path / "twice.csv")
    df.loc[5, "label_name"] = "theft"
    df.to_csv(tmp_path / "two_labels.csv", index=False)
    with pytest.raises(ImportDataError, match=r"two_labels.csv: clip \d+ of .* has several labels \(normal, theft\)"):
        parse_posewatch(tmp_path / "two_labels.csv")

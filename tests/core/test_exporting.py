"""Training-data export (core.exporting) of a real project: Fall04 and two fight clips from ../shared.

One project with six clips (short, rectangle crop, followed track, whole frame with several gappy
tracks, two fight clips) is exported once in every format; the tests check the files against the
skeleton cache and the decoded source frames.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest

from core.exporting import (
    SPLIT_NAMES,
    TRAINING_CSV_COLUMNS,
    ExportError,
    clip_windows,
    consecutive_runs,
    crop_boxes,
    iter_export,
    split_videos,
    training_dataframe,
)
from core.extract import Cancelled, Progress, run
from core.features import normalise_window
from core.layouts import COMMON_JOINTS, to_common
from core.project import Crop, Project
from core.video import open_source
from tests.conftest import copy_skeletons, shared_path

# Under pytest-xdist (--dist loadgroup) this module's tests run in one worker, so its module fixtures
# (a worker process, a trained model, an export) are made once.
pytestmark = pytest.mark.xdist_group("test_exporting")


T = 16


def seed_skeletons(project: Project, video: Path) -> None:
    """Put the session cache's skeletons of ``video`` into the project (extracting once per session)."""
    from core.extract import iter_load_or_extract

    run(iter_load_or_extract(video, "yolo"), callback=lambda p: None)
    copy_skeletons(video, project)


@pytest.fixture(scope="module")
def fights():
    return [shared_path("data", "videos", "fight", f) for f in ("fi001.mp4", "fi002.mp4")]


@pytest.fixture(scope="module")
def exported(tmp_path_factory, fall04, fights, _session_cache):
    """(project, summary, out folder, {name: Video}, {clip key: Clip}, progress list)."""
    root = tmp_path_factory.mktemp("export")
    proj = Project.create(root / "proj")
    vids = {}
    for path in [fall04, *fights]:
        seed_skeletons(proj, path)
        vids[path.name] = proj.add_video(path)
    fa, f1, f2 = vids["thanhnc58_Fall04.mp4"], vids["fi001.mp4"], vids["fi002.mp4"]
    clips = {
        "short": proj.add_clip(fa.id, 0, 9, "normal"),
        "rect": proj.add_clip(fa.id, 20, 60, "normal", crop=Crop("rect", (50.4, 100, 250, 400.5))),
        "track": proj.add_clip(fa.id, 100, 180, "fall", track_id=1, crop=Crop("track", margin=0.2)),
        "whole": proj.add_clip(fa.id, 150, 215, "fall"),
        "fight1": proj.add_clip(f1.id, 0, 52, "assault"),
        "fight2": proj.add_clip(f2.id, 0, 62, "assault", track_id=2),
    }
    progress: list[Progress] = []
    out = root / "out"
    summary = run(iter_export(proj, out, formats=("csv", "pt", "clips", "frames")), callback=progress.append)
    yield proj, summary, out, vids, clips, progress
    proj.close()


def caches(proj, vids):
    return {name: run(proj.iter_skeletons(v), callback=lambda p: None) for name, v in vids.items()}


def test_export_layout_and_summary(exported):
    _, s, out, _, clips, progress = exported
    assert sorted(p.name for p in out.iterdir()) == ["clips", "dataset.pt", "frames", "skeletons.csv", "split.json"]
    assert not [p for p in out.parent.iterdir() if ".tmp-" in p.name or ".old-" in p.name]
    assert s.out_dir == out and s.clips == 6
    assert s.skipped_clips == {clips["short"].id: "10 frames, shorter than the window (16)"}
    assert s.counts["clips"] == 6
    assert s.counts["frames"] == sum(c.length for c in clips.values())
    assert progress and progress[-1].done == progress[-1].total == sum(c.length for c in clips.values())
    assert "windows" in s.describe()


def test_csv_rows_match_skeleton_cache(exported):
    proj, s, out, vids, clips, _ = exported
    df = pd.read_csv(out / "skeletons.csv")
    assert tuple(df.columns) == TRAINING_CSV_COLUMNS
    assert len(TRAINING_CSV_COLUMNS) == 7 + 26 + 13 + 3
    assert list(df.columns[7:9]) == ["SHOULDER_LEFT_X", "SHOULDER_LEFT_Y"] and df.columns[32] == "HEAD_Y"
    assert df.columns[33] == "SHOULDER_LEFT_SCORE" and df.columns[45] == "HEAD_SCORE"
    assert len(df) == s.counts["csv"]
    names = proj.label_names()
    cs = caches(proj, vids)
    by_id = {v.id: (name, v) for name, v in vids.items()}
    for clip in clips.values():
        name, video = by_id[clip.video_id]
        c = cs[name]
        part = df[df.clip_id == clip.id]
        assert (part.video == name).all() and (part.video_hash == video.hash).all()
        assert (part.label == names.index(clip.label)).all() and (part.label_name == clip.label).all()
        assert part.FRAME_NUM.between(clip.start, clip.end).all()
        assert np.allclose(part.time_s, part.FRAME_NUM / video.fps, atol=1e-6)
        assert np.allclose(part.fps, video.fps)
        expected_rows = 0
        for f in range(clip.start, clip.end + 1):
            persons = [p for p in c.poses(f).persons if clip.track_id is None or p.track_id == clip.track_id]
            rows = part[part.FRAME_NUM == f]
            assert len(rows) == len(persons), (clip.id, f)
            expected_rows += len(persons)
            for p in persons:
                row = rows[rows.track_id == p.track_id]
                assert len(row) == 1
                kp = to_common(p.keypoints, c.layout)
                xy = row[[f"{j}_{a}" for j in COMMON_JOINTS for a in "XY"]].to_numpy()[0]
                sc = row[[f"{j}_SCORE" for j in COMMON_JOINTS]].to_numpy()[0]
                assert np.allclose(xy, kp[:, :2].reshape(-1), atol=0.006)
                assert np.allclose(sc, kp[:, 2], atol=6e-5)
        assert len(part) == expected_rows > 0
    assert part.label.iloc[0] == 2  # "assault" is third in the default taxonomy
    # a whole-frame clip holds every tracked person: several tracks in Fall04 150..215
    assert df[df.clip_id == clips["whole"].id].track_id.nunique() >= 3
    assert set(df[df.clip_id == clips["track"].id].track_id) == {1}


def test_csv_text_survives_a_float32_round_trip(exported):
    """What an importer reads back (as float32) and writes again gives the same file."""
    out = exported[2]
    df = pd.read_csv(out / "skeletons.csv")
    kp = np.stack([df[[f"{j}_X" for j in COMMON_JOINTS]], df[[f"{j}_Y" for j in COMMON_JOINTS]],
                   df[[f"{j}_SCORE" for j in COMMON_JOINTS]]], -1).astype(np.float32)
    again = training_dataframe(df.video, df.video_hash, df.clip_id, df.track_id, df.FRAME_NUM,
                               df.time_s, df.fps, kp, df.label, df.label_name, df.split)
    assert again.to_csv(index=False) == (out / "skeletons.csv").read_text()


def test_tensors_windows_stay_inside_clips_and_tracks(exported):
    import torch

    proj, s, out, vids, clips, _ = exported
    d = torch.load(out / "dataset.pt")  # weights_only: plain tensors, lists, dicts
    n = len(d["y"])
    assert n == s.counts["pt"] == sum(s.windows_per_split.values()) > 0
    assert d["x"].shape == (n, 3, T, 13) and d["x"].dtype == torch.float32
    assert d["y"].dtype == torch.int64 and d["layout"] == "common13" and d["window"] == T and d["stride"] == 16
    assert d["label_names"] == proj.label_names() and d["normalisation"] == "none"
    for k in ("clip_ids", "video_ids", "track_ids", "start_frames", "split"):
        assert d[k].shape == (n,) and d[k].dtype == torch.int64
    assert len(d["video_hashes"]) == len(d["fps"]) == n
    assert torch.equal(d["start_frame_nums"], d["start_frames"])  # real videos: FRAME_NUM is the index
    assert d["split_names"] == list(SPLIT_NAMES)
    cs = caches(proj, vids)
    by_id = {c.id: c for c in clips.values()}
    vname = {v.id: name for name, v in vids.items()}
    per_clip = {}
    for i in range(n):
        clip = by_id[int(d["clip_ids"][i])]
        f0, tid = int(d["start_frames"][i]), int(d["track_ids"][i])
        assert clip.start <= f0 and f0 + T - 1 <= clip.end
        assert clip.track_id in (None, tid)
        assert int(d["video_ids"][i]) == clip.video_id and d["y"][i] == proj.label_names().index(clip.label)
        c = cs[vname[clip.video_id]]
        frames, kp, _ = c.track(tid)
        pos = np.searchsorted(frames, np.arange(f0, f0 + T))
        assert (frames[np.minimum(pos, len(frames) - 1)] == np.arange(f0, f0 + T)).all(), "window crosses a gap"
        assert np.array_equal(d["x"][i].numpy(), to_common(kp[pos], c.layout).transpose(2, 0, 1))
        assert d["split_names"][int(d["split"][i])] == d["split_by_video"][d["video_hashes"][i]]
        assert float(d["fps"][i]) == pytest.approx(vids[vname[clip.video_id]].fps)
        per_clip.setdefault(clip.id, []).append((tid, f0))
    # every possible non-overlapping window was made (computed independently from the per-frame poses)
    for clip in clips.values():
        c = cs[vname[clip.video_id]]
        seen: dict[int, list[int]] = {}
        for f in range(clip.start, clip.end + 1):
            for p in c.poses(f).persons:
                if clip.track_id is None or p.track_id == clip.track_id:
                    seen.setdefault(p.track_id, []).append(f)
        expected = 0
        for fs in seen.values():
            run_len = 1
            for a, b in zip(fs + [None], fs[1:] + [None]):
                if b is not None and b == a + 1:
                    run_len += 1
                else:
                    expected += run_len // T
                    run_len = 1
        assert len(per_clip.get(clip.id, [])) == expected, clip
    assert clips["short"].id not in per_clip
    # Fall04 150..215 has tracks with gaps (23, 28): windows of these tracks avoid them (checked above)
    assert len({t for t, _ in per_clip[clips["whole"].id]}) >= 2


def test_split_is_by_video(exported):
    import torch

    _, s, out, vids, _, _ = exported
    doc = json.loads((out / "split.json").read_text())
    listed = [e["video_hash"] for sp in SPLIT_NAMES for e in doc[sp]]
    assert sorted(listed) == sorted(v.hash for v in vids.values())  # each video once
    assert all(len(doc[sp]) == 1 for sp in SPLIT_NAMES)  # 3 videos: one per split
    assert doc["seed"] == 0 and doc["ratios"] == [0.7, 0.15, 0.15]
    of = {e["video_hash"]: sp for sp in SPLIT_NAMES for e in doc[sp]}
    df = pd.read_csv(out / "skeletons.csv")
    assert df.groupby("video_hash").split.nunique().max() == 1
    assert all(of[h] == sp for h, sp in zip(df.video_hash, df.split))
    d = torch.load(out / "dataset.pt")
    assert d["split_by_video"] == of
    assert s.videos_per_split == {sp: [e["video"] for e in doc[sp]] for sp in SPLIT_NAMES}


def test_split_videos_deterministic_and_complete():
    keys = [f"video{i:02d}" for i in range(10)]
    a = split_videos(keys, seed=3)
    assert a == split_videos(list(reversed(keys)), seed=3)
    assert sorted(a) == keys
    assert [list(a.values()).count(sp) for sp in SPLIT_NAMES] == [7, 2, 1]
    assert any(split_videos(keys, seed=s) != a for s in range(4, 8))
    assert sorted(split_videos(["a", "b", "c"]).values()) == ["test", "train", "val"]
    assert split_videos(["a"]) == {"a": "train"}
    assert set(split_videos(keys, (1.0, 0.0, 0.0)).values()) == {"train"}
    for bad in [(0.5, 0.5), (0.7, 0.2, 0.2), (1.2, -0.1, -0.1), ("x", 0, 1)]:
        with pytest.raises(ExportError, match="split ratios"):
            split_videos(keys, bad)


def test_png_frames_are_exact_crops(exported, fall04):
    proj, _, out, vids, clips, _ = exported
    fa = vids["thanhnc58_Fall04.mp4"]
    cache = caches(proj, {"fa": fa})["fa"]
    d = out / "frames"
    rect, track, whole = clips["rect"], clips["track"], clips["whole"]
    with open_source(fall04) as src:
        # rectangle (50.4, 100, 250, 400.5) → whole pixels 50..250 x 100..401
        files = sorted((d / "normal" / f"thanhnc58_Fall04_clip{rect.id}").iterdir())
        assert [f.name for f in files] == [f"{i:06d}.png" for i in range(rect.start, rect.end + 1)]
        for f in (rect.start, 37, rect.end):
            img = cv2.imread(str(files[f - rect.start]), cv2.IMREAD_UNCHANGED)
            assert np.array_equal(img, src.read(f).image[100:401, 50:250])
        # whole frame
        files = sorted((d / "fall" / f"thanhnc58_Fall04_clip{whole.id}").iterdir())
        assert len(files) == whole.length
        for f in (whole.start, 180, whole.end):
            assert np.array_equal(cv2.imread(str(files[f - whole.start])), src.read(f).image)
        # followed track: one even size, inside the frame, around the person in every frame
        files = sorted((d / "fall" / f"thanhnc58_Fall04_clip{track.id}").iterdir())
        assert len(files) == track.length
        boxes, warning = crop_boxes(track, fa, cache)
        assert warning is None
        sizes = {(int(x2 - x1), int(y2 - y1)) for x1, y1, x2, y2 in boxes}
        assert len(sizes) == 1
        (w, h), = sizes
        assert w % 2 == 0 and h % 2 == 0 and w < fa.width and (boxes >= 0).all()
        assert (boxes[:, 2] <= fa.width).all() and (boxes[:, 3] <= fa.height).all()
        tf, _, tb = cache.track(1)
        sel = (tf >= track.start) & (tf <= track.end)
        raw_w, raw_h = tb[sel, 2] - tb[sel, 0], tb[sel, 3] - tb[sel, 1]
        assert w >= np.median(raw_w) * 1.3 and h >= min(np.median(raw_h) * 1.3, fa.height - 1)
        for f, b in zip(tf[sel], tb[sel]):
            x1, y1, x2, y2 = boxes[f - track.start]
            cx, cy = (b[0] + b[2]) / 2, (b[1] + b[3]) / 2
            assert x1 <= cx <= x2 and y1 <= cy <= y2, f
            assert abs((x1 + x2) / 2 - cx) < 0.1 * w, f  # centred on the person (smoothed over 0.5 s)
        assert len({int(b[0]) for b in boxes}) > 5  # it moves with the person
        for f in (track.start, 140, track.end):
            x1, y1, x2, y2 = boxes[f - track.start]
            img = cv2.imread(str(files[f - track.start]))
            assert img.shape == (h, w, 3)
            assert np.array_equal(img, src.read(f).image[y1:y2, x1:x2])


def test_clip_videos_frame_exact_crops(exported, fall04, fights):
    _, _, out, _, clips, _ = exported
    d = out / "clips"
    rect, track = clips["rect"], clips["track"]
    names = {
        "short": "normal/thanhnc58_Fall04_clip{}_0-9.mp4", "rect": "normal/thanhnc58_Fall04_clip{}_20-60.mp4",
        "track": "fall/thanhnc58_Fall04_clip{}_100-180.mp4", "whole": "fall/thanhnc58_Fall04_clip{}_150-215.mp4",
        "fight1": "assault/fi001_clip{}_0-52.mp4", "fight2": "assault/fi002_clip{}_0-62.mp4",
    }
    for key, pattern in names.items():
        p = d / pattern.format(clips[key].id)
        with open_source(p) as v:
            assert v.info.frame_count == clips[key].length, p
    with open_source(d / names["rect"].format(rect.id)) as v:
        assert (v.info.width, v.info.height) == (200, 300)  # 200x301 crop, even height for MPEG-4
    track_png = sorted((out / "frames" / "fall" / f"thanhnc58_Fall04_clip{track.id}").iterdir())
    with open_source(d / names["track"].format(track.id)) as v, open_source(fall04) as src:
        h, w = cv2.imread(str(track_png[0])).shape[:2]
        assert (v.info.width, v.info.height) == (w, h)
        # clip frame k is source frame start + k: closer to it than to the neighbouring frames (codec loss aside)
        for k in (5, 40, 70):
            got = v.read(k).image.astype(np.float32)
            diffs = {}
            for dk in (-1, 0, 1):
                ref = cv2.imread(str(track_png[k + dk])).astype(np.float32)
                diffs[dk] = np.abs(got - ref).mean()
            assert diffs[0] < 4.0 and diffs[0] < min(diffs[-1], diffs[1]), diffs
    with open_source(d / names["fight1"].format(clips["fight1"].id)) as v, open_source(fights[0]) as src:
        assert (v.info.width, v.info.height) == (src.info.width, src.info.height)
        assert np.abs(v.read(30).image.astype(np.float32) - src.read(30).image).mean() < 4.0


def test_normalisation_recorded_and_applied(exported, tmp_path):
    import torch

    proj, s, _, vids, _, _ = exported
    s2 = run(iter_export(proj, tmp_path / "ht", formats=("pt",), window=8, stride=4, normalisation="hip_torso"),
             callback=lambda p: None)
    d = torch.load(tmp_path / "ht" / "dataset.pt")
    assert d["normalisation"] == "hip_torso" and d["window"] == 8 and d["stride"] == 4
    assert sorted(p.name for p in (tmp_path / "ht").iterdir()) == ["dataset.pt", "split.json"]
    assert s2.counts["pt"] > s.counts["pt"]  # overlapping, shorter windows: more of them
    cs = caches(proj, vids)
    name = {v.id: n for n, v in vids.items()}[int(d["video_ids"][7])]
    frames, kp, _ = cs[name].track(int(d["track_ids"][7]))
    f0 = int(d["start_frames"][7])
    pos = np.searchsorted(frames, np.arange(f0, f0 + 8))
    want = normalise_window(to_common(kp[pos], cs[name].layout), "hip_torso").transpose(2, 0, 1)
    assert np.allclose(d["x"][7].numpy(), want)
    assert not np.allclose(d["x"][7].numpy(), to_common(kp[pos], cs[name].layout).transpose(2, 0, 1))


def test_pixel_only_export_needs_no_skeletons_and_writes_jpg(tmp_path):
    clip_path = shared_path("data", "videos", "fight", "fi003.mp4")
    with Project.create(tmp_path / "p") as proj:
        v = proj.add_video(clip_path)
        c = proj.add_clip(v.id, 10, 19, "vandalism", crop=Crop("rect", (0, 0, 240, 180)))
        s = run(iter_export(proj, tmp_path / "o", formats=("frames",), image_format="jpg"), callback=lambda p: None)
        assert not any(proj.skeleton_dir.iterdir())  # no pose extraction was needed
    files = sorted((tmp_path / "o" / "frames" / "vandalism" / f"fi003_clip{c.id}").iterdir())
    assert [f.name for f in files] == [f"{i:06d}.jpg" for i in range(10, 20)] and s.counts == {"frames": 10}
    with open_source(clip_path) as src:
        img = cv2.imread(str(files[3]))
        assert img.shape == (180, 240, 3)
        assert np.abs(img.astype(np.float32) - src.read(13).image[:180, :240]).mean() < 3.0


def test_imported_sequence_uses_stored_frame_numbers(tmp_path, fall04_skeletons):
    import torch

    from core.cache import SkeletonCache

    c = fall04_skeletons
    frames = [c.poses(f) for f in range(40)]
    with Project.create(tmp_path / "p") as proj:
        v = proj.add_skeleton_sequence("datavalid.csv", "imported-seq-1", 3.0, 40, "seq1", 406, 720)
        meta = dict(c.meta, fps=3.0, frame_num=[10 * i for i in range(40)], video="seq1")
        SkeletonCache.from_frames(frames, meta).save(proj.imported_skeletons_path(v))
        clip = proj.add_clip(v.id, 5, 30, "theft", track_id=1)
        s = run(iter_export(proj, tmp_path / "o", formats=("csv", "pt", "clips")), callback=lambda p: None)
    df = pd.read_csv(tmp_path / "o" / "skeletons.csv")
    assert list(df.FRAME_NUM) == [10 * f for f in range(5, 31)]
    assert np.allclose(df.time_s, np.arange(5, 31) / 3.0, atol=1e-6)
    assert (df.video == "seq1").all() and (df.video_hash == "imported-seq-1").all() and (df.label == 1).all()
    assert s.counts == {"csv": 26, "pt": 1, "clips": 0}
    d = torch.load(tmp_path / "o" / "dataset.pt")
    assert int(d["start_frames"][0]) == 5 and int(d["start_frame_nums"][0]) == 50
    assert any("no clip videos" in w for w in s.warnings)
    assert not (tmp_path / "o" / "clips").exists()
    assert clip.id not in s.skipped_clips


def test_training_dataframe_builds_the_csv_format():
    kp = np.random.default_rng(0).uniform(0, 500, (4, 13, 3)).astype(np.float32)
    kp[..., 2] /= 500
    df = training_dataframe("v.mp4", "abc", 7, [1, 1, 2, 2], [3, 4, 3, 4], [0.1, 0.2, 0.1, 0.2], 10.0, kp, 2,
                            "assault", "train")
    assert tuple(df.columns) == TRAINING_CSV_COLUMNS and len(df) == 4
    assert df.clip_id.dtype == np.int64 and (df.clip_id == 7).all() and list(df.track_id) == [1, 1, 2, 2]
    assert np.allclose(df.ELBOW_LEFT_Y, kp[:, 1, 1], atol=0.006) and np.allclose(df.HEAD_SCORE, kp[:, 12, 2], atol=6e-5)
    with pytest.raises(ValueError):
        training_dataframe("v", "h", 1, 1, 0, 0.0, 10.0, np.zeros((2, 17, 3)), 0, "x", "train")


def test_consecutive_runs_and_windows_split_at_gaps(fall04_skeletons):
    assert consecutive_runs(np.array([3, 4, 5, 8, 9, 11])) == [(0, 3), (3, 5), (5, 6)]
    assert consecutive_runs(np.array([], int)) == []
    from core.project import Clip

    c = fall04_skeletons
    frames = c.track(23)[0]  # a track with gaps
    assert (np.diff(frames) > 1).any()
    ws = clip_windows(c, Clip(1, 1, 0, c.frame_count - 1, "fall", 23), window=4, stride=1)
    for tid, f0, rows in ws:
        assert tid == 23 and list(c.frame[rows]) == list(range(f0, f0 + 4))
    runs = consecutive_runs(frames)
    assert len(ws) == sum(max(0, b - a - 3) for a, b in runs)


# ------------------------------------------------------------------------------------------ bad inputs
def _no_leftovers(parent: Path, name: str) -> bool:
    return not [p for p in parent.iterdir() if p.name.startswith(name + ".")]


def test_existing_output_refused_unless_overwrite(exported, tmp_path):
    proj = exported[0]
    out = tmp_path / "existing"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    with pytest.raises(ExportError, match="already exists"):
        run(iter_export(proj, out), callback=lambda p: None)
    assert [p.name for p in out.iterdir()] == ["keep.txt"]
    s = run(iter_export(proj, out, formats=("csv",), overwrite=True), callback=lambda p: None)
    assert sorted(p.name for p in out.iterdir()) == ["skeletons.csv", "split.json"] and s.counts["csv"] > 0
    assert _no_leftovers(tmp_path, "existing")


def test_unwritable_output_gives_one_clear_error(exported, tmp_path):
    proj = exported[0]
    a_file = tmp_path / "file.txt"
    a_file.write_text("x")
    with pytest.raises(ExportError, match="is not a folder"):
        run(iter_export(proj, a_file / "out"), callback=lambda p: None)
    with pytest.raises(ExportError, match="does not exist"):
        run(iter_export(proj, tmp_path / "nope" / "out"), callback=lambda p: None)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file.txt"]
    if os.geteuid() != 0:  # root ignores permission bits
        ro = tmp_path / "ro"
        ro.mkdir()
        ro.chmod(0o555)
        try:
            with pytest.raises(ExportError, match="permission denied|cannot write"):
                run(iter_export(proj, ro / "out"), callback=lambda p: None)
            assert not any(ro.iterdir())
        finally:
            ro.chmod(0o755)


def test_zero_windows_is_an_error_and_leaves_nothing(exported, tmp_path):
    proj = exported[0]
    with pytest.raises(ExportError, match="no training windows"):
        run(iter_export(proj, tmp_path / "o", formats=("csv", "pt"), window=1000), callback=lambda p: None)
    assert not any(tmp_path.iterdir())


def test_cancel_leaves_nothing(exported, tmp_path):
    proj = exported[0]
    calls = []

    def cancel():
        calls.append(1)
        return len(calls) > 20

    with pytest.raises(Cancelled):
        run(iter_export(proj, tmp_path / "o", formats=("frames",), cancel=cancel), callback=lambda p: None)
    assert not any(tmp_path.iterdir())


def test_bad_options(exported, tmp_path):
    proj = exported[0]
    for kwargs, msg in [({"formats": ("csv", "xml")}, "unknown export format xml"),
                        ({"normalisation": "zscore"}, "unknown normalisation"),
                        ({"window": 0}, "at least 1"),
                        ({"image_format": "gif"}, "png or jpg"),
                        ({"ratios": (0.9, 0.2, 0.1)}, "summing to 1")]:
        with pytest.raises(ExportError, match=msg):
            run(iter_export(proj, tmp_path / "o", **kwargs), callback=lambda p: None)
    assert not any(tmp_path.iterdir())
    for into in (proj.folder, proj.folder.parent):
        with pytest.raises(ExportError, match="holds the project"):
            run(iter_export(proj, into, overwrite=True), callback=lambda p: None)
    assert (proj.folder / "project.sqlite").is_file()
    with Project.create(tmp_path / "empty") as empty, pytest.raises(ExportError, match="no clips"):
        run(iter_export(empty, tmp_path / "o"), callback=lambda p: None)


def test_moved_video_is_named(tmp_path):
    src = shared_path("data", "videos", "fight", "fi004.mp4")
    moved = tmp_path / "fi004_copy.mp4"
    shutil.copy(src, moved)
    with Project.create(tmp_path / "p") as proj:
        v = proj.add_video(moved)
        proj.add_clip(v.id, 0, 20, "assault")
        moved.rename(tmp_path / "elsewhere.mp4")
        with pytest.raises(ExportError, match=r"fi004_copy\.mp4.*missing.*relink"):
            run(iter_export(proj, tmp_path / "o", formats=("csv", "clips")), callback=lambda p: None)
    assert not (tmp_path / "o").exists() and _no_leftovers(tmp_path, "o")

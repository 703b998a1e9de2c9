"""bench/make_fall_project.py: the fall project (URFD + labelled fall clips) the default fall model is trained on."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

from tests.conftest import ROOT, shared_path

sys.path.insert(0, str(ROOT / "bench"))
import make_fall_project as mfp  # noqa: E402

from core.errors import PoseWatchError  # noqa: E402
from core.extract import run  # noqa: E402
from core.project import Project  # noqa: E402

FALL04 = "thanhnc58_Fall04.mp4"


def test_table_matches_the_hip_trace(fall04_skeletons):
    """Fall04's falling interval is what the documented rule finds in the hip trace, and the labels make
    physical sense: the hip is ~250 px lower (image y larger) when lying than when upright."""
    ann = mfp.FALLS[FALL04]
    frames, hip, aspect = mfp.hip_trace(fall04_skeletons, ann.tracks)
    assert mfp.suggest_fall(frames, hip, fall04_skeletons.fps) == (ann.fall_start, ann.fall_end)
    upright = hip[frames < ann.fall_start]
    lying = hip[frames > ann.fall_end]
    assert lying.mean() - upright.mean() > 200
    assert np.median(aspect[frames > ann.fall_end]) > 1.2 > 0.5 > np.median(aspect[frames < ann.fall_start])
    # README: Fall04 falls at ~6.0-7.5 s
    assert 5.5 < ann.fall_start / fall04_skeletons.fps < 6.5


def test_clips_are_on_the_main_person_tracks(fall04_skeletons):
    ann = mfp.FALLS[FALL04]
    clips = mfp.fall_clips(fall04_skeletons, ann, fall04_skeletons.frame_count)
    assert {c[3] for c in clips} <= set(ann.tracks)
    assert [c[0] for c in clips if c[3] == 1] == ["upright", "falling"]
    for label, a, b, tid in clips:
        lo, hi = {"upright": (0, ann.fall_start - 1), "falling": (ann.fall_start, ann.fall_end),
                  "lying": (ann.fall_end + 1, 10**9)}[label]
        assert lo <= a <= b <= hi
    bad = mfp.FallAnnotation((1, 999), ann.fall_start, ann.fall_end, "")
    with pytest.raises(PoseWatchError, match="track 999"):
        mfp.fall_clips(fall04_skeletons, bad, fall04_skeletons.frame_count)


def test_build_project_with_urfd(tmp_path, fall04_skeletons):
    urfd = shared_path("data", "skeleton", "urfd", "pose_urfd_3classes.csv")
    out = tmp_path / "fall"
    s = run(mfp.iter_build_fall_project(out, [FALL04], urfd_csv=urfd), callback=lambda p: None)
    assert s["label_names"] == ["upright", "falling", "lying"]
    assert "30 sequence(s)" in s["urfd"]
    assert [p.name for p in tmp_path.iterdir()] == ["fall"]  # no temporary folder left
    with Project.open(out) as p:
        assert p.label_names() == ["upright", "falling", "lying"]  # URFD's class ids 0, 1, 2
        vids = p.videos()
        assert sum(v.kind == "skeletons" for v in vids) == 30
        (fall,) = [v for v in vids if v.kind == "video"]
        clips = p.clips(fall.id)
        assert {c.label for c in clips} == {"upright", "falling", "lying"}
        assert all(c.track_id in mfp.FALLS[FALL04].tracks for c in clips)
        assert all(c.annotator == mfp.ANNOTATOR for c in clips)
        falling = [c for c in clips if c.label == "falling"]
        assert min(c.start for c in falling) == mfp.FALLS[FALL04].fall_start
    assert s["videos"][FALL04]["frames"]["falling"] > 10
    with pytest.raises(PoseWatchError, match="already exists"):
        run(mfp.iter_build_fall_project(out, [FALL04], urfd=False), callback=lambda p: None)


def test_bad_inputs_leave_nothing(tmp_path):
    with pytest.raises(PoseWatchError, match="no labelling for nope.mp4"):
        run(mfp.iter_build_fall_project(tmp_path / "a", ["nope.mp4"]), callback=lambda p: None)
    with pytest.raises(PoseWatchError, match="missing shared data"):
        run(mfp.iter_build_fall_project(tmp_path / "b", [FALL04], fall_dir=tmp_path), callback=lambda p: None)
    assert list(tmp_path.iterdir()) == []


def test_cli(tmp_path, fall04_skeletons, _session_cache):
    """The script as users run it: a real subprocess, reusing the session's skeleton cache."""
    shared_path("data", "videos", "fall", FALL04)
    env = dict(os.environ, POSEWATCH_CACHE_DIR=str(_session_cache))
    out = tmp_path / "proj"
    r = subprocess.run([sys.executable, str(ROOT / "bench" / "make_fall_project.py"), str(out), "--no-urfd",
                        "--video", FALL04], capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 0, r.stderr
    assert f"{FALL04}: 4 clips" in r.stdout
    assert (out / "project.sqlite").is_file()
    r = subprocess.run([sys.executable, str(ROOT / "bench" / "make_fall_project.py"), str(out), "--no-urfd",
                        "--video", FALL04], capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 2
    assert r.stderr.startswith("error: ") and "already exists" in r.stderr and "Traceback" not in r.stderr

"""The dataset summary (core/dataset_summary.py, ``main.py summary``, the export's preamble) on a real project:
clips, frames and window slots per label, clips per annotator, clips and windows per split (the export's split)."""

from __future__ import annotations

import json

import pytest

from core.dataset_summary import NO_ANNOTATOR, dataset_summary
from core.exporting import split_videos
from core.project import Project
from tests.conftest import shared_path
from tests.test_cli_export import assert_one_line_error, cli


@pytest.fixture
def project(tmp_path):
    p = Project.create(tmp_path / "proj")
    v1 = p.add_video(shared_path("data", "videos", "fall", "thanhnc58_Fall01.mp4"))
    v4 = p.add_video(shared_path("data", "videos", "fall", "thanhnc58_Fall04.mp4"))
    p.add_clip(v1.id, 125, 155, "fall", annotator="ann")      # 31 frames: (31 - 16) // 16 + 1 = 1 window
    p.add_clip(v1.id, 0, 124, "normal", annotator="ann")      # 125 frames: 7 windows
    p.add_clip(v4.id, 174, 218, "fall", track_id=1, annotator="bob")  # 45 frames: 2 windows
    p.add_clip(v4.id, 0, 9, "normal")                         # 10 frames: none (shorter than a window)
    yield p, v1, v4
    p.close()


def test_counts_per_label_annotator_and_split(project):
    p, v1, v4 = project
    s = dataset_summary(p, window=16, stride=16, ratios=(0.5, 0.5, 0.0), seed=0)
    assert s.per_label["fall"] == {"clips": 2, "frames": 31 + 45, "windows": 1 + 2, "videos": 2}
    assert s.per_label["normal"] == {"clips": 2, "frames": 125 + 10, "windows": 7, "videos": 2}
    assert s.per_annotator == {"ann": {"fall": 1, "normal": 1}, "bob": {"fall": 1}, NO_ANNOTATOR: {"normal": 1}}
    split = split_videos([v1.hash, v4.hash], (0.5, 0.5, 0.0), 0)  # the export's own split
    s1, s4 = split[v1.hash], split[v4.hash]
    assert {s1, s4} == {"train", "val"}
    assert s.per_split[s1]["normal"] == {"clips": 1, "windows": 7} and s.per_split[s4]["fall"] == {"clips": 1, "windows": 2}
    assert s.videos_per_split == {"train": 1, "val": 1, "test": 0}
    # one video per split: each split has fewer than 3 clips of every label — said, one line per split
    assert any(w.startswith("the train split has fewer than 3 clips of") for w in s.warnings)
    assert not any("test split" in w for w in s.warnings)  # no test videos: nothing to say about it
    s32 = dataset_summary(p, window=32, stride=8, ratios=(0.5, 0.5, 0.0))
    assert s32.per_label["normal"]["windows"] == (125 - 32) // 8 + 1 and s32.per_label["fall"]["windows"] == 0 + 2
    lines = s.lines()
    assert lines[0].split() == ["label", "clips", "frames", "windows", "videos"]
    assert any(ln.startswith("  bob: fall 1") for ln in lines)
    with pytest.raises(ValueError, match="at least 1 frame"):
        dataset_summary(p, window=0)


def test_a_split_lacking_a_label_is_warned(project):
    p, v1, v4 = project
    p.delete_clip(next(c.id for c in p.clips() if c.label == "fall" and c.video_id == v1.id))
    s = dataset_summary(p, ratios=(0.5, 0.5, 0.0))
    missing = split_videos([v1.hash, v4.hash], (0.5, 0.5, 0.0), 0)[v1.hash]  # v1 now has no fall clip
    assert f"the {missing} split has no clips of fall" in s.warnings


def test_cli_summary_and_export_preamble(project, tmp_path):
    p, _v1, _v4 = project
    r = cli("summary", "--project", p.folder, "--split", "0.5,0.5,0", "--json", timeout=120)
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    assert d["per_label"]["fall"]["clips"] == 2 and d["window"] == 16
    r = cli("summary", "--project", p.folder, "--split", "0.5,0.6,0", timeout=120)
    assert_one_line_error(r, "0.5")

"""``python main.py export`` run as a real subprocess on a real project (a fight clip from ../shared)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pandas as pd
import pytest

from core.exporting import TRAINING_CSV_COLUMNS
from core.project import Crop, Project
from tests.conftest import ROOT, copy_skeletons, shared_path


# Under pytest-xdist (--dist loadgroup) this module's tests run in one worker, so its module fixtures
# (a worker process, a trained model, an export) are made once.
pytestmark = pytest.mark.xdist_group("test_cli_export")


def cli(*args, timeout=300):
    return subprocess.run([sys.executable, str(ROOT / "main.py"), *map(str, args)], capture_output=True, text=True,
                          check=False, cwd=ROOT, env=dict(os.environ), timeout=timeout)


def assert_one_line_error(r, text: str) -> None:
    assert r.returncode == 2, r.stderr
    lines = r.stderr.strip().splitlines()
    assert lines[-1].startswith("error: ") and text in lines[-1], r.stderr
    assert "Traceback" not in r.stderr


@pytest.fixture(scope="module")
def project_dir(tmp_path_factory, _session_cache):
    """A project with fi001 (skeletons from the session cache) and two clips."""
    from core.extract import iter_load_or_extract, run

    video = shared_path("data", "videos", "fight", "fi001.mp4")
    run(iter_load_or_extract(video, "yolo"), callback=lambda p: None)
    d = tmp_path_factory.mktemp("cli-export") / "proj"
    with Project.create(d) as proj:
        copy_skeletons(video, proj)
        v = proj.add_video(video)
        proj.add_clip(v.id, 0, 52, "assault")
        proj.add_clip(v.id, 10, 40, "normal", crop=Crop("rect", (100, 50, 300, 250)))
    return d


def test_export_csv_pt_clips(project_dir, tmp_path):
    import torch

    out = tmp_path / "out"
    r = cli("export", "--project", project_dir, "--format", "csv", "--format", "pt", "--format", "clips",
            "--out", out, "--window", 8, "--stride", 4, "--normalisation", "minmax", "--split", "0.7,0.15,0.15",
            "--seed", 1)
    assert r.returncode == 0, r.stderr
    assert "wrote" in r.stderr and "windows" in r.stderr
    df = pd.read_csv(out / "skeletons.csv")
    assert tuple(df.columns) == TRAINING_CSV_COLUMNS and len(df) > 100
    assert set(df.label_name) == {"assault", "normal"} and set(df.split) == {"train"}
    d = torch.load(out / "dataset.pt")
    assert d["window"] == 8 and d["stride"] == 4 and d["normalisation"] == "minmax"
    assert d["x"].shape[1:] == (3, 8, 13) and float(d["x"][:, :2].max()) <= 1.0
    assert sorted(p.name for p in (out / "clips").iterdir()) == ["assault", "normal"]
    # an existing folder is refused, then replaced with --overwrite
    r = cli("export", "--project", project_dir, "--format", "csv", "--out", out)
    assert_one_line_error(r, "already exists")
    assert (out / "dataset.pt").exists()
    r = cli("export", "--project", project_dir, "--format", "csv", "--out", out, "--overwrite")
    assert r.returncode == 0, r.stderr
    assert sorted(p.name for p in out.iterdir()) == ["skeletons.csv", "split.json"]


@pytest.mark.parametrize("case", ["split", "project", "out-under-file", "zero-windows"])
def test_export_bad_input(case, project_dir, tmp_path):
    (tmp_path / "f.txt").write_text("x")
    overrides, text = {
        "split": ({"--split": "0.5,0.5"}, "split ratios"),
        "project": ({"--project": tmp_path / "nothing"}, "no PoseWatch project"),
        "out-under-file": ({"--out": tmp_path / "f.txt" / "out"}, "is not a folder"),
        "zero-windows": ({"--window": 500}, "no training windows"),
    }[case]
    opts = {"--project": project_dir, "--out": tmp_path / "out", **overrides}
    argv = [x for kv in opts.items() for x in kv]
    r = cli("export", *argv)
    assert_one_line_error(r, text)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.txt"]


def test_export_moved_video(tmp_path):
    video = tmp_path / "fi005.mp4"
    shutil.copy(shared_path("data", "videos", "fight", "fi005.mp4"), video)
    with Project.create(tmp_path / "p") as proj:
        proj.add_clip(proj.add_video(video).id, 0, 30, "assault")
    video.unlink()
    r = cli("export", "--project", tmp_path / "p", "--out", tmp_path / "o")
    assert_one_line_error(r, "fi005.mp4' is missing")
    assert not (tmp_path / "o").exists()

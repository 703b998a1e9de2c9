"""`python main.py import` as a real subprocess on the shared skeleton CSVs."""

from __future__ import annotations

import pandas as pd

from core.project import Project
from tests.conftest import shared_path
from tests.test_cli import cli


def test_import_creates_the_project_and_is_idempotent(tmp_path):
    raw = shared_path("data", "skeleton", "aihub", "datasample.csv")
    urfd = shared_path("data", "skeleton", "urfd", "pose_urfd_3classes.csv")
    folder = tmp_path / "new" / "proj"
    r = cli("import", "--project", folder, "--label", "vandalism", raw, urfd)
    assert r.returncode == 0, r.stderr
    df = pd.read_csv(urfd).drop_duplicates(["video", "frame"])
    runs = int(df.groupby("video")["label"].apply(lambda s: (s != s.shift()).sum()).sum())
    frames = len(df) + len(pd.read_csv(raw))
    last = r.stderr.strip().splitlines()[-1]
    assert last == (f"imported 2 file(s): 31 sequence(s), {runs + 1} clip(s), {frames} frame(s); new label(s) upright, "
                    f"falling, lying; 2 warning(s) into {folder.resolve()}")
    assert "warning: pose_urfd_3classes.csv: 136 duplicated row(s)" in r.stderr
    with Project.open(folder) as p:
        assert len(p.videos()) == 31 and p.clip_count() == runs + 1
        assert [c.label for c in p.clips() if p.video(c.video_id).name.startswith("datasample")] == ["vandalism"]
    again = cli("import", "--project", folder, "--label", "vandalism", raw, urfd)
    assert again.returncode == 0, again.stderr
    assert "imported 2 file(s): 0 sequence(s), 0 clip(s), 0 frame(s); 31 sequence(s) already in the project" in again.stderr


def test_import_bad_input_is_one_line_and_creates_nothing(tmp_path):
    raw = shared_path("data", "skeleton", "aihub", "datasample.csv")
    folder = tmp_path / "proj"
    r = cli("import", "--project", folder, raw)  # no label column and no --label
    assert r.returncode == 2
    assert r.stderr.strip().splitlines()[-1] == ("error: datasample.csv has no label column: say which label its "
                                                 "sequences have (command line: --label NAME, e.g. --label normal)")
    assert "Traceback" not in r.stderr and not folder.exists()

    assert cli("import", "--project", folder, "--label", "normal", raw).returncode == 0
    before = _contents(folder)
    bad = tmp_path / "bad.csv"
    df = pd.read_csv(raw)
    df.rename(columns={"TIMESTAMP": "TIME_STAMP"}).to_csv(bad, index=False)
    r = cli("import", "--project", folder, "--label", "normal", bad)
    assert r.returncode == 2
    assert r.stderr.strip().splitlines()[-1] == ("error: bad.csv is not a valid AI-Hub raw skeleton CSV: misnamed "
                                                 "column(s): 'TIME_STAMP' should be 'TIMESTAMP'")
    assert _contents(folder) == before


def _contents(folder):
    with Project.open(folder) as p:
        return p.videos(), p.clips(), p.label_names(), sorted(str(f) for f in (folder / "skeletons").rglob("*"))

"""`python main.py suggest`: a project's suggestions computed and stored headless, the ranking printed; a model that
does not fit the taxonomy refused in one line with nothing changed."""

from __future__ import annotations

from core.project import Project
from tests.test_cli import cli

FALL_TAXONOMY = [("upright", "#8bc34a", "1"), ("falling", "#ff5722", "2"), ("lying", "#3f51b5", "3")]


def test_suggest_stores_and_ranks(tmp_path, fall04, fall04_skeletons):
    with Project.create(tmp_path / "p", FALL_TAXONOMY) as p:
        v = p.add_video(fall04)
    r = cli("suggest", "--project", tmp_path / "p", "--top", "5")  # default: the shipped fall model fits
    assert r.returncode == 0, r.stderr
    rows = r.stdout.strip().splitlines()
    assert rows[0].startswith("rank\tvideo\ttrack") and len(rows) == 6
    assert rows[1].split("\t")[1] == fall04.name
    assert "suggestion(s) from fall_default" in r.stderr
    scores = [float(x.split("\t")[5]) for x in rows[1:]]
    assert scores == sorted(scores, reverse=True)
    with Project.open(tmp_path / "p") as p:
        (s,) = p.suggestion_sets(v.id)
        assert s.model_name == "fall_default" and p.suggestions(v.id)
        before = p.suggestions()
    # a model of other labels: one line, exit 2, nothing stored or changed
    r = cli("suggest", "--project", tmp_path / "p", "--model", "abnormal")
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr.count("\n") == 1 and "not in the project's taxonomy" in r.stderr, r.stderr
    with Project.open(tmp_path / "p") as p:
        assert len(p.suggestion_sets()) == 1 and p.suggestions() == before and p.clip_count() == 0
    r = cli("suggest", "--project", tmp_path / "nothing")
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "no PoseWatch project" in r.stderr

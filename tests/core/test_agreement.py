"""Inter-annotator agreement (core/agreement.py and ``main.py agreement``) on a real project: two annotators label
the fall in two real clips (Fall01: ~4.3-5.3 s at ~29 fps; Fall04: ~6.0-7.5 s)."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import cohen_kappa_score

from core.agreement import NONE, AgreementError, agreement
from core.project import Project
from tests.conftest import shared_path
from tests.test_cli_export import assert_one_line_error, cli


@pytest.fixture
def project(tmp_path):
    p = Project.create(tmp_path / "proj")
    v1 = p.add_video(shared_path("data", "videos", "fall", "thanhnc58_Fall01.mp4"))
    v4 = p.add_video(shared_path("data", "videos", "fall", "thanhnc58_Fall04.mp4"))
    # ann (the first annotator) and bob agree on Fall04's fall and roughly on Fall01's
    p.add_clip(v1.id, 125, 155, "fall", annotator="ann")
    p.add_clip(v1.id, 0, 124, "normal", annotator="ann")
    p.add_clip(v1.id, 130, 160, "fall", annotator="bob")
    p.add_clip(v1.id, 0, 99, "normal", annotator="bob")
    p.add_clip(v4.id, 174, 218, "fall", track_id=1, annotator="ann")
    p.add_clip(v4.id, 174, 218, "fall", track_id=1, annotator="bob")
    p.add_clip(v4.id, 0, 40, "normal", annotator="ann")  # only ann: bob's "(none)" there
    yield p, v1, v4
    p.close()


def test_kappa_f1_and_stretches_match_a_direct_computation(project):
    p, v1, v4 = project
    rep = agreement(p)
    assert rep.overall.a == "ann" and rep.overall.b == "bob" and set(rep.per_video) == {v1.name, v4.name}
    # Fall01, whole-frame row: the label of every frame by each annotator
    n = v1.frame_count
    la = np.full(n, NONE, object)
    lb = np.full(n, NONE, object)
    la[0:125], la[125:156] = "normal", "fall"
    lb[0:100], lb[130:161] = "normal", "fall"
    ag = rep.per_video[v1.name]
    assert ag.units == n
    assert ag.kappa == pytest.approx(cohen_kappa_score(la.astype(str), lb.astype(str)))
    assert ag.kappa_per_label["fall"] == pytest.approx(cohen_kappa_score(la == "fall", lb == "fall"))
    # fall 125-155 vs 130-160: IoU 26/36 >= 0.5 matches; normal 0-124 vs 0-99: IoU 0.8 matches
    assert (ag.matches, ag.segments_a, ag.segments_b, ag.f1) == (2, 2, 2, 1.0)
    assert [(s.start, s.end, s.label_a, s.label_b) for s in ag.stretches] == [
        (100, 124, "normal", NONE), (125, 129, "fall", NONE), (156, 160, NONE, "fall")]
    # Fall04: the track row agrees; ann's whole-frame normal clip has no partner
    ag4 = rep.per_video[v4.name]
    assert (ag4.matches, ag4.segments_a, ag4.segments_b) == (1, 2, 1)
    assert [(s.track_id, s.start, s.end) for s in ag4.stretches] == [(None, 0, 40)]
    assert rep.overall.matches == 3 and rep.overall.f1 == pytest.approx(6 / 7)
    assert rep.overall.units == n + 2 * v4.frame_count and len(rep.overall.stretches) == 4
    lines = rep.lines()
    assert lines[-1].strip().startswith(v4.name) and any("all videos: ann vs bob: kappa" in ln for ln in lines)


def test_one_annotator_is_refused_in_one_line(tmp_path):
    with Project.create(tmp_path / "p") as p:
        v = p.add_video(shared_path("data", "videos", "fall", "thanhnc58_Fall01.mp4"))
        p.add_clip(v.id, 0, 10, "fall", annotator="ann")
        with pytest.raises(AgreementError, match="no video has clips of two annotators .*'ann'"):
            agreement(p)
        with pytest.raises(AgreementError, match="twice"):
            agreement(p, "ann", "ann")


def test_cli_agreement(project, tmp_path):
    p, v1, v4 = project
    r = cli("agreement", "--project", p.folder, "--annotators", "bob", "ann", timeout=120)
    assert r.returncode == 0, r.stderr
    out = r.stdout.splitlines()
    assert out[0].startswith(f"{v1.name}: bob vs ann: kappa ") and "segment F1@IoU0.5 1.000" in out[0]
    assert any(ln.startswith("all videos: bob vs ann") for ln in out)
    assert f"  {v1.name} whole frame frames 100–124: (none) vs normal" in out
    r = cli("agreement", "--project", p.folder, "--annotators", "ann", "carl", timeout=120)
    assert_one_line_error(r, "no video has clips of both 'ann' and 'carl'")

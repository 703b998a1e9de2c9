"""The shipped fight model (resources/models/fight_default.pt) on real CCTV clips it was not trained on.

Its training left out two source groups of the Surveillance Camera Fight Dataset — source videos 6 and 40
(``bench/train_fight.py`` ``TEST_GROUPS``; the model card says so) — so these clips are unseen scenes and
cameras. Every clip runs through a real :class:`core.live.LiveDetector` (INT8 pose model, tracking, the scene
model, the alert rule at the model's default operating point), as ``main.py detect --model fight`` does.
"""

from __future__ import annotations

import csv

import numpy as np
import pytest

from tests.conftest import shared_path

TEST_GROUPS = ("6", "40")


def _test_clips() -> list[tuple[str, int]]:
    rows = list(csv.DictReader(open(shared_path("data", "videos", "fight", "surv_fight_sources.csv"), newline="")))
    return [(r["clip"], int(r["label"] == "fight")) for r in rows if r["source_group"] in TEST_GROUPS]


@pytest.fixture(scope="module")
def fight_ckpt():
    from core.defaults import default_classifier_path

    path = default_classifier_path("fight")
    assert path is not None, "resources/models/fight_default.pt is missing"
    return path


def test_checkpoint_is_a_calibrated_scene_model(fight_ckpt):
    from core.classify import load_checkpoint
    from core.fight import FALSE_ALERT_BUDGET

    ck = load_checkpoint(fight_ckpt)
    assert ck.is_scene and ck.label_names == ["normal", "fight"] and ck.model_name == "scene_mlp"
    pts = ck.alert["operating_points"]
    assert len(pts) >= 3
    # least to most sensitive: more fights alerted and more no-fight clips alerting, step by step
    assert all(a["tpr"] < b["tpr"] and a["fpr"] <= b["fpr"] for a, b in zip(pts, pts[1:]))
    default = pts[ck.alert["default"]]
    assert default["fpr"] <= FALSE_ALERT_BUDGET and default["tpr"] > 0.3
    assert set(ck.metrics["test_groups"]) == {f"surv:{g}" for g in TEST_GROUPS}


def test_alerts_on_unseen_source_videos(fight_ckpt):
    """At the default operating point: most fight clips of the held-out source videos alert, at most one of their
    13 no-fight clips does (the cross-validated rates are in docs/BENCHMARKS.md)."""
    from core.live import LiveConfig, LiveDetector

    clips = _test_clips()
    assert sum(lab for _c, lab in clips) == 9 and len(clips) == 22
    alerted = {}
    for name, label in clips:
        events = []
        video = shared_path("data", "videos", "fight" if label else "normal", name)
        det = LiveDetector(str(video), LiveConfig(classifier="fight"), on_event=events.append)
        det.run()
        assert det.error is None, det.error
        assert all(e.label == "fight" for e in events)
        alerted[name] = (label, len(events))
    fights = [n for n, (lab, k) in alerted.items() if lab == 1 and k]
    calm = [n for n, (lab, k) in alerted.items() if lab == 0 and k]
    assert len(fights) >= 5, f"only {len(fights)} of 9 fights alerted: {alerted}"
    assert len(calm) <= 1, f"no-fight clips alerting: {calm}"


def test_player_labels_come_from_the_scene(fight_ckpt):
    """Labels per person on a fight clip are fight / normal / uncertain — the same the live detector's
    LabelTracker gives on the same recorded poses — and a person seen for a moment is "uncertain"."""
    from core.classify import TrackClassifier
    from core.live import LiveConfig
    from core.live.detector import LabelTracker
    from core.live.record import record_live_poses
    from core.overlay import UNCERTAIN

    cache = record_live_poses(shared_path("data", "videos", "fight", _fight_clip()))
    clf = TrackClassifier(fight_ckpt)
    lt = LabelTracker(TrackClassifier(fight_ckpt), LiveConfig(classifier=None), cache.fps)
    seen = set()
    for f in range(cache.frame_count):
        live, _alerts = lt.update(cache.poses(f))
        player, score = clf.scene_labels(cache, f)
        assert {k: v.name for k, v in player.items()} == {k: v.name for k, v in live.items()}
        assert score == pytest.approx(lt.scene_score, abs=1e-5)
        seen |= {v.name for v in player.values()}
    assert seen <= {"fight", "normal", UNCERTAIN} and "fight" in seen
    first = cache.poses(int(np.flatnonzero(cache.persons_per_frame())[0]))
    assert all(lab.name == UNCERTAIN for lab in clf.labels_for_frame(cache, first.frame_index).values())


def _fight_clip() -> str:
    return next(c for c, lab in _test_clips() if lab == 1)

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

# Under pytest-xdist (--dist loadgroup) this module's tests run in one worker, so its module fixtures
# (a worker process, a trained model, an export) are made once.
pytestmark = pytest.mark.xdist_group("test_fight_model")


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
    assert ck.is_scene and ck.label_names == ["normal", "fight"] and ck.model_name == "scene_forest"
    assert ck.feature_spec["motion"] and not ck.feature_spec["gate"]
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
    # 1 of 13 (nofi117), on VNNI CPUs and, with exact kernels (core.pose.int8.exact_kernels), on an AVX2 one; the
    # AVX2 one's saturating kernels had let 2 of 13 alert, and 7-bit weights there 3 of 13
    assert len(calm) <= 1, f"no-fight clips alerting: {calm}"


def test_player_labels_come_from_the_scene(fight_ckpt):
    """Labels per person on a fight clip are fight / normal / uncertain — the same the live detector's
    LabelTracker gives on the same recorded poses and motion features — and a person seen for a moment is
    "uncertain"."""
    from core.classify import TrackClassifier
    from core.live import LiveConfig
    from core.live.detector import LabelTracker
    from core.live.record import record_live_poses
    from core.overlay import UNCERTAIN

    from core.motion import motion_for

    cache = record_live_poses(shared_path("data", "videos", "fight", _fight_clip()))
    motion_for(cache)
    clf = TrackClassifier(fight_ckpt)
    lt = LabelTracker(TrackClassifier(fight_ckpt), LiveConfig(classifier=None), cache.fps)
    assert clf.needs_motion and clf.motion_ready(cache)  # the recording above computed them (core.motion cache)
    motion = clf.cache_motion(cache)
    seen = set()
    for f in range(cache.frame_count):
        live, _alerts = lt.update(cache.poses(f), motion[f])
        player, score = clf.scene_labels(cache, f)
        assert {k: v.name for k, v in player.items()} == {k: v.name for k, v in live.items()}
        assert score == pytest.approx(lt.scene_score, abs=1e-5)
        seen |= {v.name for v in player.values()}
    assert seen <= {"fight", "normal", UNCERTAIN} and "fight" in seen
    # each frame's scene vector is kept once computed (the next frame computes one, not smooth_windows): frames
    # asked for in any order (a scrub, a drag, a seek) give exactly what frames in order give
    in_order = [clf.scene_labels(cache, f) for f in range(cache.frame_count)]
    shuffled = TrackClassifier(fight_ckpt)
    shuffled.set_motion(cache, motion)
    for f in np.random.default_rng(0).permutation(cache.frame_count):
        labels, score = shuffled.scene_labels(cache, int(f))
        assert score == in_order[f][1]
        assert {k: (v.name, v.prob) for k, v in labels.items()} == {k: (v.name, v.prob)
                                                                    for k, v in in_order[f][0].items()}
    first = cache.poses(int(np.flatnonzero(cache.persons_per_frame())[0]))
    assert all(lab.name == UNCERTAIN for lab in clf.labels_for_frame(cache, first.frame_index).values())


def _fight_clip() -> str:
    return next(c for c, lab in _test_clips() if lab == 1)


def test_scene_alert_rule_threshold_hold_and_rearm(fight_ckpt, tmp_path):
    """The LabelTracker's scene alert on synthetic frames (two people side by side, then one alone), with the
    shipped forest in a *gated* spec (no score while nobody has company; the shipped spec is not gated, so that a
    fight whose people the pose model missed can still score): with the threshold near 0 the alert fires once the
    hold has passed, once per episode; the second person leaving ends the episode (no two people: score 0) and,
    after 2 s below, a new episode alerts again; an unreachable threshold never alerts; one person alone never
    scores."""
    from core.classify import TrackClassifier
    from core.live import LiveConfig
    from core.live.detector import LabelTracker
    from core.pose.base import FramePoses, Person
    from tests.core.test_scene import person

    def frames(fps=10.0):
        i = 0
        for seg, two in ((3.0, True), (4.0, False), (3.0, True)):
            for _ in range(int(seg * fps)):
                fp = FramePoses(i, i / fps, "common13", 640, 480)
                a = person(200)
                fp.persons.append(Person(1, a[1], a[0], 0.9, "common13"))
                if two:
                    b = person(280)
                    fp.persons.append(Person(2, b[1], b[0], 0.9, "common13"))
                yield fp
                i += 1

    from core.classify import load_checkpoint, save_checkpoint

    ck = load_checkpoint(fight_ckpt)
    ck.features = {**ck.features, "gate": True}
    clf = TrackClassifier(save_checkpoint(ck, tmp_path / "gated.pt"))
    assert not LabelTracker(TrackClassifier(fight_ckpt), LiveConfig(classifier=None), 10.0).scene_gate
    lt = LabelTracker(clf, LiveConfig(classifier=None, scene_threshold=1e-6, scene_hold_s=0.5), 10.0)
    assert lt.scene_gate and lt.scene_motion
    alerts, alone = [], []
    for fp in frames():
        _labels, al = lt.update(fp)
        alerts += [(fp.time_s, a) for a in al]
        if len(fp.persons) == 1 and fp.time_s > 5.5:  # the other left over 1 s + 10 smoothed frames (1 s) ago
            alone.append(lt.scene_score)
    assert [round(t, 1) for t, _a in alerts] == [0.5, 7.5], alerts
    assert all(a[1] == "fight" and a[0] in (1, 2) for _t, a in alerts)
    assert alone and max(alone) == 0.0
    never = LabelTracker(clf, LiveConfig(classifier=None, scene_threshold=1.01), 10.0)
    assert not any(never.update(fp)[1] for fp in frames())

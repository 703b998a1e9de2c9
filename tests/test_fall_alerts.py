"""Alert quality of the live detector with the shipped fall model on the shared clips (issue 5).

Every fall clip must raise a fall alert no later than 2 s after the labelled fall start
(``bench/make_fall_project.py`` ``FALLS``) and none before it (the upright phase); the normal clips raise
no alert at all. The detector runs on the real files without pacing (every frame processed), at 640 px
width, with its defaults (INT8 pose model, two pose workers), exactly as ``main.py detect`` does. The fall model was trained on these fall clips (plus URFD), so
the fall clips are in-sample; the normal clips are not in its training data.
"""

from __future__ import annotations

import os
import sys

import pytest

from core.live import LiveConfig, LiveDetector
from tests.conftest import ROOT, shared_path

sys.path.insert(0, str(ROOT / "bench"))
from make_fall_project import FALLS  # noqa: E402

LATE_S = 2.0


def _alerts(path, **kw):
    events, status = [], []
    det = LiveDetector(str(path), LiveConfig(classifier="fall", **kw), on_event=events.append, on_status=status.append)
    det.run()
    assert det.error is None, det.error
    # the defaults under test: the INT8 pose model on two pose workers, the classifier on ONNX Runtime
    assert not [m for m in status if "INT8 pose model not available" in m or "classifier runs on PyTorch" in m], status
    assert det.pose_workers() == min(2, os.cpu_count() or 1) and det.classifier.runtime == "onnxruntime"
    return det, events


@pytest.mark.parametrize("name", sorted(FALLS))
def test_fall_clip_alerts_within_2s_of_the_fall_and_not_before(name):
    path = shared_path("data", "videos", "fall", name)
    ann = FALLS[name]
    import cv2

    fps = cv2.VideoCapture(str(path)).get(cv2.CAP_PROP_FPS) or 30.0
    deadline = ann.fall_start + int(LATE_S * fps)
    det, events = _alerts(path, stop_frame=deadline + 1)  # nothing after the deadline can matter
    early = [e for e in events if e.frame_index < ann.fall_start]
    assert not early, f"alert during the upright phase: {[e.to_dict() for e in early]}"
    assert events, f"no fall alert within {LATE_S} s of the fall start (frame {ann.fall_start})"
    first = events[0]
    assert first.label in ("falling", "lying")
    assert first.frame_index <= deadline
    print(f"{name}: fall starts at frame {ann.fall_start}, alert at {first.frame_index} "
          f"({(first.frame_index - ann.fall_start) / fps:.2f} s later), {first.label} {first.prob:.2f}")


NORMAL = ["nofi001.mp4", "nofi002.mp4", "nofi003.mp4", "nofi004.mp4", "nofi005.mp4", "nofi006.mp4", "nofi007.mp4",
          "nofi008.mp4", "nofi009.mp4", "nofi010.mp4", "openpose_examples_video.avi",
          "stock_shop_browsing_normal.mp4", "vtest_pets2009_480x360.avi"]


@pytest.mark.parametrize("name", NORMAL)
def test_normal_clip_raises_no_alert(name):
    path = shared_path("data", "videos", "normal", name)
    # PETS2009 is 80 s at 10 fps: its first 30 s (300 frames, up to 8 people) keep the test short
    _, events = _alerts(path, stop_frame=300 if name.startswith("vtest_pets") else None)
    assert not events, [e.to_dict() for e in events]

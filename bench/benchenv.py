"""What every benchmark script sets up before it imports PoseWatch: the project root on ``sys.path``, the shared
data folder (setting ``POSEWATCH_SHARED``, default ``../shared`` beside the project, as in ``tests/conftest.py``),
its ``models/`` as the model folder (``POSEWATCH_MODEL_DIR``, unless set) and ultralytics offline.

    from benchenv import ROOT, SHARED   # first thing in a bench/ script (bench/ is on sys.path when it runs)
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
SHARED = Path(os.environ.get("POSEWATCH_SHARED", ROOT.parent / "shared"))
os.environ.setdefault("POSEWATCH_MODEL_DIR", str(SHARED / "models"))
os.environ.setdefault("YOLO_OFFLINE", "1")

"""Live detection (issue 5): camera, stream or file → poses, tracks, smoothed labels and alerts, in threads
connected by bounded queues. See :mod:`core.live.detector` for the pipeline and :mod:`core.pose.yolo_onnx`
for the lean ONNX Runtime YOLO-pose path it uses on the CPU.

    from core.live import LiveConfig, LiveDetector
    det = LiveDetector("video.mp4", LiveConfig(classifier="fall", events_dir="out"), on_event=print)
    det.run()
"""

from .. import video as _video  # noqa: F401  (sets OpenCV's log level before cv2 loads)
from .detector import (BACKOFF_S, AlertEvent, DropQueue, LabelTracker, LiveConfig, LiveDetector, LiveResult,
                       TrackState, list_cameras, resolve_classifier)

__all__ = ["BACKOFF_S", "AlertEvent", "DropQueue", "LabelTracker", "LiveConfig", "LiveDetector", "LiveResult",
           "TrackState", "list_cameras", "resolve_classifier"]

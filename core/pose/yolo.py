"""YOLO-pose backend (ultralytics): multi-person COCO-17 keypoints, tracked with ByteTrack/BoT-SORT.

On the CPU the PyTorch checkpoint is exported once to ONNX by ultralytics itself
(``YOLO.export(format="onnx", dynamic=True)``) and cached under ``<cache>/onnx/<sha>/``; ONNX
Runtime runs it about twice as fast here (about 40 ms vs 89 ms a frame on the 6-person street clip,
measured in ``../shared/README.md``; see ``docs/BENCHMARKS.md``). On CUDA the PyTorch model runs in
half precision.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
from pathlib import Path

import numpy as np

from ..errors import ModelError, one_line
from ..modelfiles import ONNX_EXPORT_LOCK, copy_into_cache, resolve_model, sha256_file
from .base import FramePoses, PoseEstimator, track_detections
from .tracking import Tracker

DEFAULT_MODEL = "yolo11n-pose.pt"


def _quiet_ultralytics() -> None:
    os.environ.setdefault("YOLO_VERBOSE", "False")
    logging.getLogger("ultralytics").setLevel(logging.ERROR)


def cached_export(pt_path: Path, fmt: str, imgsz: int = 640, key_extra: str = "", label: str = "",
                  **export_kwargs) -> Path:
    """Export a YOLO ``.pt`` checkpoint with ultralytics' ``export(format=fmt)`` once and return the cached file.

    The cache folder (``<cache>/<fmt>/<key>``) is keyed by the checkpoint's SHA-256, ``imgsz``, the ultralytics
    version and ``key_extra`` (e.g. the TensorRT version and GPU name), so a changed checkpoint or release
    exports afresh. ``label`` names the format in the error message (default ``fmt``).

    Raises:
        ModelError: the export failed (corrupt checkpoint, missing export packages).
    """
    import shutil
    import tempfile

    import ultralytics
    from filelock import FileLock
    from ultralytics import YOLO

    key = f"{sha256_file(pt_path)[:16]}-{imgsz}-ul{ultralytics.__version__}{key_extra}"
    src = copy_into_cache(pt_path, f"{fmt}/{key}")
    out = src.with_suffix(f".{fmt}")
    if out.is_file() and out.stat().st_size > 0:
        return out
    # Several processes (Ray tasks, pose workers) may want the same export at once: one exports under a lock, in a
    # private folder, and renames the result into place, so nobody ever loads a half-written file (nor after a kill).
    with FileLock(str(out) + ".lock"):
        if out.is_file() and out.stat().st_size > 0:
            return out
        _quiet_ultralytics()
        work = Path(tempfile.mkdtemp(prefix=".export-", dir=src.parent))
        try:
            shutil.copyfile(src, work / src.name)
            try:
                with ONNX_EXPORT_LOCK, contextlib.redirect_stdout(io.StringIO()):
                    made = YOLO(str(work / src.name), task="pose").export(format=fmt, imgsz=imgsz, verbose=False,
                                                                           **export_kwargs)
            except Exception as e:
                first = one_line(e, 200)
                raise ModelError(f"cannot export {pt_path.name} to {label or fmt}: {first}") from None
            os.replace(Path(made), out)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    return out


def export_onnx(pt_path: Path, imgsz: int = 640) -> Path:
    """Export a YOLO ``.pt`` checkpoint to ONNX (dynamic input size, simplified) once and return the cached
    ``.onnx`` path (:func:`cached_export`).

    Raises:
        ModelError: the export failed (corrupt checkpoint, missing onnx packages).
    """
    return cached_export(pt_path, "onnx", imgsz, label="ONNX", dynamic=True, simplify=True)


def yolo_settings(model: str = DEFAULT_MODEL, imgsz: int = 640, conf: float = 0.25, tracker: str = "bytetrack",
                  **_ignored) -> dict:
    """The settings that determine YOLO-pose output (the skeleton-cache key), without loading the model.

    Raises:
        ModelError: the model file is missing or corrupt.
    """
    path = resolve_model(model)
    return {"backend": YoloPoseEstimator.name, "layout": YoloPoseEstimator.layout, "model": path.name,
            "sha": sha256_file(path)[:16], "imgsz": imgsz, "conf": conf, "tracker": tracker}


class YoloPoseEstimator(PoseEstimator):
    """YOLO-pose via ultralytics.

    Args:
        model: model file name or path (``.pt`` or an already exported ``.onnx``).
        imgsz: inference size in pixels (longest side; ultralytics letterboxes).
        conf: minimum person confidence.
        tracker: ``bytetrack`` or ``botsort``.
        device: ``"cpu"``, ``"cuda"``/``"cuda:0"``, or None (CUDA if available).
        runtime: ``"onnx"`` (default on CPU), ``"torch"``; ``None`` picks by device.
        frame_rate: video fps, for the tracker's lost-track buffer.

    Raises:
        ModelError: the model file is missing, corrupt or cannot be loaded.
    """

    name = "yolo"
    layout = "coco17"

    def __init__(self, model: str = DEFAULT_MODEL, imgsz: int = 640, conf: float = 0.25,
                 tracker: str = "bytetrack", device: str | None = None, runtime: str | None = None,
                 frame_rate: float = 30.0):
        _quiet_ultralytics()
        import torch
        from ultralytics import YOLO

        if device is None:
            device = "cuda:0" if torch.cuda.is_available() else "cpu"
        if runtime is None:
            runtime = "onnx" if device == "cpu" else "torch"
        self._settings = yolo_settings(model, imgsz, conf, tracker)
        path = resolve_model(model)
        self.model_name = path.name
        self.imgsz, self.conf, self.device, self.runtime = imgsz, conf, device, runtime
        self.half = device.startswith("cuda")
        if path.suffix == ".pt" and runtime == "onnx":
            path = export_onnx(path, imgsz)
        try:
            with contextlib.redirect_stdout(io.StringIO()):
                self._model = YOLO(str(path), task="pose")
                # one warm-up call builds the predictor (and checks the file really is a pose model)
                self._predict(np.zeros((64, 64, 3), np.uint8))
        except ModelError:
            raise
        except Exception as e:
            raise ModelError(f"cannot load pose model {path}: {one_line(e)}") from None
        if getattr(self._model, "task", "pose") != "pose":
            raise ModelError(f"{path.name} is a '{self._model.task}' model, not a pose model")
        self.tracker = Tracker(tracker, frame_rate)

    def _predict(self, image: np.ndarray):
        return self._model.predict(image, imgsz=self.imgsz, conf=self.conf, device=self.device, half=self.half,
                                   classes=[0], verbose=False)[0]

    def describe(self) -> dict:
        return dict(self._settings)

    def reset(self) -> None:
        self.tracker.reset()

    def detect(self, image: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Untracked detection.

        Returns:
            ``boxes (N, 4)``, ``scores (N,)``, ``keypoints (N, 17, 3)``, all float32 in pixels of ``image``.
        """
        r = self._predict(image)
        if r.boxes is None or len(r.boxes) == 0:
            return np.zeros((0, 4), np.float32), np.zeros((0,), np.float32), np.zeros((0, 17, 3), np.float32)
        boxes = r.boxes.xyxy.cpu().numpy().astype(np.float32)
        scores = r.boxes.conf.cpu().numpy().astype(np.float32)
        kpts = r.keypoints.data.cpu().numpy().astype(np.float32)
        return boxes, scores, kpts

    def process(self, image: np.ndarray, frame_index: int, time_s: float) -> FramePoses:
        boxes, scores, kpts = self.detect(image)
        return track_detections(self.tracker, boxes, scores, kpts, image, frame_index, time_s, self.layout)

"""Several cameras at once: one :class:`~core.live.LiveDetector` per camera (its own capture, tracker, classifier
state, alerts and readout; a camera that drops reconnects alone) and one shared pose model for all of them.

::

    camera 1: capture ─q─▶ pose client (tracker 1) ─┐                      ┌─▶ classify 1 ─▶ on_result(cam 1, …)
    camera 2: capture ─q─▶ pose client (tracker 2) ─┼─▶ SharedPose ─ batch ─┼─▶ classify 2 ─▶ …
    …                                               ┘  (W worker threads,  └─▶ …
                                                        one ONNX Runtime session each)

:class:`SharedPose` holds ``workers`` ONNX Runtime sessions of the YOLO-pose model (INT8 on the CPU by default, as
the single-camera detector). Each camera's pose thread hands its frame to it and waits; a free worker takes every
waiting frame of the same input size (at most ``max_batch``) and runs them as **one batch** (the exported model's
batch dimension is dynamic), then each camera tracks its own detections. Nothing waits for a batch to fill: a lone
frame runs at once, and frames of several cameras share a call only where ``max_batch`` allows
(:attr:`core.live.LiveConfig.multicam_max_batch`, shipped 1: on the 2-core CPU a batch costs as much per frame as
single frames and every frame in it waits for the whole batch — ``bench/multicam.py``; batches are for a GPU
session). One pair of sessions instead of two per camera stops the cameras' sessions fighting over the cores.

:class:`MultiCameraDetector` runs the cameras, names them (:func:`core.live.notify.camera_name`, made unique),
writes one merged events file naming the camera (each camera's snapshots and clips go to ``<events_dir>/<camera>/``)
and reports status lines as ``"<camera>: <message>"``. With more than one camera the pose input is
``multicam_imgsz`` where set (shipped: unset, ``imgsz``), and with ``motion_gate: auto`` (shipped) each camera skips
pose inference on frames where nothing moved (:mod:`core.live.gate`): a still camera leaves the shared model to the
busy ones.
"""

from __future__ import annotations

import collections
import json
import os
import threading
import time
from concurrent.futures import Future
from dataclasses import replace
from pathlib import Path
from typing import Callable

import numpy as np

from ..errors import PoseWatchError
from ..pose.base import FramePoses, PoseEstimator, track_detections
from .detector import AlertEvent, LiveConfig, LiveDetector, LiveResult


class SharedPose:
    """One YOLO-pose model serving several cameras, frames batched across them (see the module docstring).

    Args:
        model: YOLO-pose ``.pt`` (exported to ONNX once, cached) or ``.onnx``.
        imgsz: inference size in pixels (longest side).
        precision: ``"int8"`` (falls back to float32 with a status line when no INT8 model can be built) or ``"fp32"``.
        workers: sessions/threads (None: one per core, at most 4).
        threads: ONNX Runtime intra-op threads per session (None: the cores shared out among the workers).
        max_batch: most frames in one call.
        on_status: one-line notices (the INT8 fallback).

    Raises:
        ModelError: missing or corrupt model.
    """

    def __init__(self, model: str | None = None, imgsz: int = 640, precision: str = "int8", workers: int | None = None,
                 threads: int | None = None, max_batch: int = 4, on_status: Callable[[str], None] | None = None):
        from ..errors import ModelError
        from ..pose.yolo_onnx import OnnxPoseEstimator

        cores = os.cpu_count() or 1
        self.workers = max(1, int(workers or min(4, cores)))
        threads = threads or max(1, cores // self.workers)
        kw = {"model": model} if model else {}
        self.precision = precision
        try:
            self._ests = [OnnxPoseEstimator(imgsz=imgsz, threads=threads, precision=precision, **kw)
                          for _ in range(self.workers)]
        except ModelError as e:
            if precision != "int8":
                raise
            if on_status is not None:
                on_status(f"INT8 pose model not available, running float32: {e}")
            self.precision = "fp32"
            self._ests = [OnnxPoseEstimator(imgsz=imgsz, threads=threads, precision="fp32", **kw)
                          for _ in range(self.workers)]
        self.layout = self._ests[0].layout
        self.max_batch = max(1, int(max_batch))
        self._q: collections.deque = collections.deque()
        self._cv = threading.Condition()
        self._closed = False
        self.batches = 0
        self.frames = 0
        self.batch_sizes: collections.Counter = collections.Counter()
        self._threads = [threading.Thread(target=self._work, args=(e,), name=f"shared-pose-{k + 1}", daemon=True)
                         for k, e in enumerate(self._ests)]
        for t in self._threads:
            t.start()

    def describe(self) -> dict:
        """The model's settings (as :meth:`core.pose.yolo_onnx.OnnxPoseEstimator.describe`) plus ``shared`` workers."""
        return dict(self._ests[0].describe(), shared=self.workers, precision=self.precision)

    def detect(self, image: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Detect in one BGR image (waits for a worker; batched with other cameras' frames waiting at the same time).

        Returns:
            ``boxes (N, 4)``, ``scores (N,)``, ``keypoints (N, V, 3)`` float32 in pixels of ``image``.

        Raises:
            PoseWatchError: the engine is closed.
        """
        fut: Future = Future()
        with self._cv:
            if self._closed:
                raise PoseWatchError("the shared pose model is closed")
            self._q.append((image, fut))
            self._cv.notify()
        return fut.result()

    def _work(self, est) -> None:
        while True:
            with self._cv:
                while not self._q and not self._closed:
                    self._cv.wait()
                if not self._q:
                    return
                first = self._q.popleft()
                batch = [first]
                shape = first[0].shape
                rest = collections.deque()
                while self._q and len(batch) < self.max_batch:
                    item = self._q.popleft()
                    (batch if item[0].shape == shape else rest).append(item)
                self._q.extendleft(reversed(rest))
            try:
                out = est.detect_batch([im for im, _f in batch])
                for (_im, fut), res in zip(batch, out):
                    fut.set_result(res)
            except Exception as e:  # a failed call fails its frames' cameras, not the engine
                for _im, fut in batch:
                    if not fut.done():
                        fut.set_exception(PoseWatchError(f"pose inference failed: {type(e).__name__}: {e}"))
            with self._cv:
                self.batches += 1
                self.frames += len(batch)
                self.batch_sizes[len(batch)] += 1

    def client(self, tracker: str = "bytetrack", frame_rate: float = 30.0) -> "SharedPoseClient":
        """A camera's :class:`~core.pose.base.PoseEstimator`: this model plus the camera's own tracker."""
        return SharedPoseClient(self, tracker, frame_rate)

    def stats(self) -> dict:
        """``{"workers", "precision", "batches", "frames", "mean_batch", "batch_sizes": {size: count}}``."""
        with self._cv:
            return {"workers": self.workers, "precision": self.precision, "batches": self.batches,
                    "frames": self.frames, "mean_batch": round(self.frames / self.batches, 2) if self.batches else 0.0,
                    "batch_sizes": dict(sorted(self.batch_sizes.items()))}

    def close(self) -> None:
        """Finish the waiting frames, then stop the workers."""
        with self._cv:
            self._closed = True
            self._cv.notify_all()
        for t in self._threads:
            t.join(30)


class SharedPoseClient(PoseEstimator):
    """One camera's view of a :class:`SharedPose`: detection by the shared model, tracking by its own tracker."""

    name = "yolo"
    layout = "coco17"

    def __init__(self, engine: SharedPose, tracker: str = "bytetrack", frame_rate: float = 30.0):
        from ..pose.tracking import Tracker

        self.engine = engine
        self.layout = engine.layout
        self.tracker_kind = tracker
        self.tracker = Tracker(tracker, frame_rate)

    def describe(self) -> dict:
        return dict(self.engine.describe(), tracker=self.tracker_kind)

    def reset(self) -> None:
        self.tracker.reset()

    def process(self, image: np.ndarray, frame_index: int, time_s: float) -> FramePoses:
        boxes, scores, kpts = self.engine.detect(image)
        return track_detections(self.tracker, boxes, scores, kpts, image, frame_index, time_s, self.layout)

    def close(self) -> None:
        pass  # the engine belongs to the MultiCameraDetector


def unique_names(sources: list, names: list[str] | None = None) -> list[str]:
    """Camera names: ``names`` where given, else :func:`core.live.notify.camera_name` of each source, with ``-2``,
    ``-3`` … added to repeats."""
    from .notify import camera_name, safe_topic_part

    out: list[str] = []
    for k, src in enumerate(sources):
        base = safe_topic_part(names[k]) if names and k < len(names) and names[k] else camera_name(src)
        name, n = base, 2
        while name in out:
            name, n = f"{base}-{n}", n + 1
        out.append(name)
    return out


class MultiCameraDetector:
    """Live detection on several sources at once (see the module docstring).

    Args:
        sources: files, webcam indices, stream URLs (1 to 16).
        config: the settings every camera uses (its ``camera`` is set per camera; ``events_file`` is the merged
            events file; ``events_dir`` the folder under which each camera gets ``<camera>/`` for its snapshots,
            clips and own ``events.jsonl``).
        names: camera names (None: from the sources).
        shared: one :class:`SharedPose` for all cameras (True) or each camera's own pose workers (False, as
            separate single-camera detectors would run).
        max_batch: frames per shared call (None: ``config.multicam_max_batch``).
        on_result: ``fn(camera, LiveResult)`` from that camera's classify thread (keep it short).
        on_event: ``fn(AlertEvent)`` (the event names its camera).
        on_status: ``fn(camera, message)``.

    Raises:
        PoseWatchError: no source, too many, bad settings; ModelError: a missing classifier or pose model.
    """

    MAX_CAMERAS = 16

    def __init__(self, sources: list, config: LiveConfig | None = None, names: list[str] | None = None, *,
                 shared: bool = True, max_batch: int | None = None,
                 on_result: Callable[[str, LiveResult], None] | None = None,
                 on_event: Callable[[AlertEvent], None] | None = None,
                 on_status: Callable[[str, str], None] | None = None):
        if not sources:
            raise PoseWatchError("no camera given")
        if len(sources) > self.MAX_CAMERAS:
            raise PoseWatchError(f"at most {self.MAX_CAMERAS} cameras at once, got {len(sources)}")
        cfg = config or LiveConfig()
        self.max_batch = int(max_batch if max_batch is not None else cfg.multicam_max_batch)
        if self.max_batch < 1:
            raise PoseWatchError("multicam_max_batch must be at least 1 frame")
        several = len(sources) > 1
        # several cameras share the cores: a smaller pose input, and no pose inference on still frames
        self.cfg = replace(cfg, imgsz=cfg.multicam_imgsz if several and cfg.multicam_imgsz else cfg.imgsz,
                           motion_gate=several if cfg.motion_gate == "auto" else cfg.motion_gate)
        self.names = unique_names(list(sources), names)
        self.sources = list(sources)
        self.on_result, self.on_event, self.on_status = on_result, on_event, on_status
        self.shared = bool(shared)
        self.engine: SharedPose | None = None
        self._engine_stats: dict | None = None
        self._events_lock = threading.Lock()
        self._events_path = Path(self.cfg.events_file) if self.cfg.events_file else (
            Path(self.cfg.events_dir) / "events.jsonl" if self.cfg.events_dir else None)
        self.detectors: dict[str, LiveDetector] = {}
        for name, src in zip(self.names, self.sources):
            cam_cfg = replace(self.cfg, camera=name, events_file=None,
                              events_dir=str(Path(self.cfg.events_dir) / name) if self.cfg.events_dir else None)
            factory = None
            if self.shared:
                factory = self._client_factory(cam_cfg)
            det = LiveDetector(src, cam_cfg, estimator_factory=factory,
                               on_result=(lambda r, n=name: self.on_result(n, r)) if self.on_result else None,
                               on_event=self._event,
                               on_status=lambda m, n=name: self._status(n, m))
            self.detectors[name] = det

    def _client_factory(self, cam_cfg: LiveConfig):
        def make() -> PoseEstimator:  # called on the camera's pose thread once its frame rate is known
            det = self.detectors[cam_cfg.camera]
            return self.engine.client(cam_cfg.tracker, det.fps_source)
        return make

    def _status(self, camera: str, msg: str) -> None:
        if self.on_status is not None:
            try:
                self.on_status(camera, msg)
            except Exception:
                pass

    def _event(self, ev: AlertEvent) -> None:
        if self._events_path is not None:
            with self._events_lock:
                self._events_path.parent.mkdir(parents=True, exist_ok=True)
                with open(self._events_path, "a", encoding="utf-8") as fh:
                    fh.write(json.dumps(ev.to_dict()) + "\n")
        if self.on_event is not None:
            self.on_event(ev)

    @property
    def running(self) -> bool:
        return any(d.running for d in self.detectors.values())

    @property
    def events(self) -> list[AlertEvent]:
        """Every camera's alerts, in time order of the wall clock."""
        evs = [e for d in self.detectors.values() for e in d.events]
        return sorted(evs, key=lambda e: e.wall_time)

    def start(self) -> None:
        """Load the shared model (if shared) and start every camera (non-blocking).

        Raises:
            ModelError, NotifyError: before any camera starts.
        """
        if self.shared and self.engine is None:
            c = self.cfg
            self.engine = SharedPose(c.pose_model, c.imgsz, c.precision, workers=c.pose_workers, threads=c.threads,
                                     max_batch=self.max_batch, on_status=lambda m: self._status("pose", m))
        started = []
        try:
            for d in self.detectors.values():
                d.start()
                started.append(d)
        except BaseException:
            for d in started:
                d.stop()
            raise

    def stop(self) -> None:
        """Ask every camera to stop (non-blocking)."""
        for d in self.detectors.values():
            d.stop()

    def join(self, timeout: float | None = None) -> bool:
        """Wait for every camera; True when all have ended (the shared model is then closed)."""
        end = None if timeout is None else time.monotonic() + timeout
        for d in self.detectors.values():
            if not d.join(None if end is None else max(0.0, end - time.monotonic())):
                return False
        if self.engine is not None:
            self.engine.close()
            self._engine_stats = self.engine.stats()
            self.engine = None
        return True

    def run(self) -> None:
        """Start and wait until every camera has ended (files) or :meth:`stop` (blocking)."""
        self.start()
        try:
            while not self.join(0.2):
                pass
        except KeyboardInterrupt:
            self.stop()
            self.join()
            raise

    def stats(self) -> dict:
        """``{camera: LiveDetector.stats()}`` plus ``"shared_pose"`` (:meth:`SharedPose.stats`; after :meth:`join`,
        its last figures)."""
        out = {name: d.stats() for name, d in self.detectors.items()}
        if self.engine is not None or self._engine_stats is not None:
            out["shared_pose"] = self.engine.stats() if self.engine is not None else self._engine_stats
        return out

    @property
    def errors(self) -> dict[str, str]:
        """The cameras that stopped on an error: ``{camera: message}``."""
        return {n: d.error for n, d in self.detectors.items() if d.error}

"""Live detection: a camera, stream or file in; tracked skeletons, smoothed per-track labels and alerts out.

Pipeline (threads connected by bounded queues, :class:`DropQueue`)::

    capture ──q1──▶ pose (resize, YOLO-pose, tracking) ──q2──▶ classify (ring buffers, classifier,
                                                                smoothing, hysteresis, alerts) ──▶ on_result
                                                                             └──▶ clip writer (own thread)

* ``capture`` decodes frames. From a live source (webcam, stream) or a file played in real time
  (``realtime=True``: paced at the file's fps like a camera) it never waits: when ``q1`` is full the
  OLDEST queued frame is dropped (counted in ``dropped``). A file without pacing blocks instead, so every
  frame is processed (tests, ``main.py detect`` without ``--realtime``).
* ``pose`` and ``classify`` run in their own threads so that the classifier of frame i overlaps the
  detector of frame i+1 (two stages on two cores); ``q2`` blocks (the tracks' buffers need every
  processed frame), so back-pressure ends at ``q1``, where frames are dropped.
* The consumer's ``on_result`` runs on the classify thread and must be quick (the GUI only hands the
  result to its own thread; the CLI writes the annotated video).

Classification per track (:class:`TrackState`): a ring buffer of the track's common-13 keypoints over the
last ``step * (T - 1) + 1`` frames (T and step from the checkpoint: :func:`core.classify.track_windows`, the
same predict rule as offline, which pads short tracks by repeating their last detection); every
``classify_every``-th frame of a track its latest window is classified (all tracks of a frame in one batch);
the probabilities are averaged over the last ``smooth_windows`` predictions; hysteresis on the averaged
probability (``enter_prob`` / ``exit_prob``) decides the shown label. An alert fires once per episode when a
track's label has been abnormal (not in ``normal_labels``) for ``alert_hold_s`` seconds of video time, its
averaged probability is >= ``enter_prob`` and its keypoints are confidently seen (``min_kp_score``); a
``fall_labels`` alert ("falling", "lying") also needs a visible fall — the box turning from tall to wide
(``fall_aspect_gain``); an alert near one raised less than ``repeat_s`` before is not repeated. On the shared
clips (``tests/test_fall_alerts.py``, ``docs/BENCHMARKS.md``) every fall alerts 0.5-0.8 s after its labelled
start, no normal clip alerts.

Scene models (the shipped fight model, :mod:`core.fight`): instead of per-track windows, every frame's people go
into a one-second :class:`core.scene.SceneBuffer` by raw track ID; one scene vector per frame is classified, its
event probability averaged over the last frames is the *scene score* (:attr:`LabelTracker.scene_score`,
:attr:`LiveResult.scene`; for a gated model 0 while no frame of the last second holds two people; a motion model
also gets each decoded frame's optical-flow features, :class:`core.motion.MotionMeter`), and an alert fires once per
episode when the scene score stays at or above the checkpoint's operating threshold for its hold time
(:attr:`LiveConfig.sensitivity` picks another operating point). The people close to another person show the
scene label while the score is above the threshold (:func:`core.classify.label_scene`).

Track fragmentation: ByteTrack often gives a falling person a new ID once they are on the floor
(Fall04: track 1 until 6.7 s, then new IDs). With ``stitch_s > 0`` a new track that starts within
``stitch_s`` seconds of a lost track's last detection, and whose box overlaps the lost box (or its centre
lies within one box diagonal's half of the lost box's centre), inherits the lost track's buffer, smoothing
and alert state (a simple tracklet stitching; ``bench/live.py`` and ``tests/test_fall_alerts.py`` show
what it changes).
"""

from __future__ import annotations

import collections
import dataclasses
import datetime as _dt
import json
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Literal

from ..video import resize_to_width  # first: sets OpenCV's log level before cv2 loads  # noqa: I001
import cv2
import numpy as np

from .. import config
from ..errors import ModelError, PoseWatchError, VideoError, one_line
from ..files import atomic_path
from ..overlay import UNCERTAIN, TrackLabel, draw_overlay
from ..pose.base import FramePoses, PoseEstimator, rescale_poses, track_detections

#: Seconds between reconnection attempts of a lost live source, as shipped (``reconnect.source_backoff_s``;
#: the detector reads the value in force, :func:`core.config.backoff`): 1, 2, 4, 8, 8, … (capped).
BACKOFF_S = config.backoff("source")


def _restamped(fp: FramePoses, frame_index: int, time_s: float) -> FramePoses:
    """The poses of a posed frame given to a still frame (the motion gate): the same persons, the new index and
    time."""
    return dataclasses.replace(fp, frame_index=frame_index, time_s=time_s, persons=list(fp.persons))


@dataclass
@config.section_defaults("live")
class LiveConfig:
    """Settings of a :class:`LiveDetector`. Every default is ``live.<field>`` of ``resources/default.yaml`` (with the
    project and CLI overrides in force, :mod:`core.config`) when the instance is made.

    Attributes:
        width: inference width in pixels (frames are downscaled first; None: full size). Results stay in
            pixels of the original frame.
        backend: pose backend (``yolo``: the lean ONNX path on CPU, :class:`~core.pose.yolo_onnx.
            OnnxPoseEstimator`; ``mediapipe``; ``yolo-ultralytics``: ultralytics' predictor).
        classifier: ``"fall"`` / ``"abnormal"`` (the shipped defaults, :mod:`core.defaults`), a checkpoint
            path, or None (no labels).
        smooth_windows: predictions of a track averaged (>= 1).
        enter_prob, exit_prob: hysteresis thresholds on the averaged probability of an abnormal label
            (enter when >= enter_prob, keep until < exit_prob).
        alert_hold_s: seconds (video time) an abnormal label must hold before an alert; at the alert
            its averaged probability must be >= enter_prob (not just kept by hysteresis).
        normal_labels: labels that never alert.
        pre_s, post_s: seconds of video kept before / after an alert for its clip.
        events_dir: folder for the events file, snapshots and clips (None: no files).
        events_file: the JSONL file (None: ``<events_dir>/events.jsonl``).
        sound: GUI only: beep on alert.
        queue_size: capacity of the frame queue (frames); when full the oldest frame is dropped. 1 (the
            pose stage always takes the newest frame) halves the latency of 2 at the same frame rate
            (``bench/live.py`` ``live_camera`` vs ``live_camera_q1``).
        realtime: pace files at their fps like a camera and drop frames when behind (None: False here;
            the GUI passes True). Live sources are always real time.
        imgsz: detector input size in pixels (longest side).
        multicam_imgsz: the detector input size when several cameras run at once
            (:class:`core.live.multicam.MultiCameraDetector`; None, as shipped: ``imgsz``). 480 on a 2-core CPU:
            four 30 fps cameras get 16-20 frames/s each instead of about 10 at 640, keeping 97-100 % of the persons
            the 640 input sees with confidence >= 0.5 but losing faint, far ones, and the fall model raised one more
            false alert on the shared clips (``bench/multicam.py``, docs/BENCHMARKS.md).
        precision: ``"int8"`` (the lean ``yolo`` path runs the INT8 model built from the shipped calibration
            table, :func:`core.pose.int8.int8_model`; where none fits the pose model it says so once and runs
            float) or ``"fp32"``. Other backends ignore it.
        pose_model: pose model file (None: the backend's default).
        tracker: ``bytetrack`` or ``botsort``.
        threads: ONNX Runtime intra-op threads of each pose worker (None: the cores shared out among the
            workers, at least one each).
        pose_workers: pose threads, each with its own ONNX Runtime session, taking frames in turn; their
            detections are tracked in frame order (None: 2 where there are at least 2 cores, else 1; only
            the lean ``yolo`` CPU path runs more than one). On 2 cores two one-thread sessions give 35-44 %
            more frames per second than one two-thread session (``bench/live.py`` ``live_workers1``):
            ONNX Runtime's intra-op threads synchronise after every operator of a small model.
        multicam_max_batch: with several cameras, the most frames of different cameras run in one call of the
            shared model (:class:`core.live.multicam.SharedPose`; 1, as shipped: none batched). On the 2-core CPU a
            batch costs as much per frame as single frames and makes every frame in it wait for the whole batch:
            in 8 alternating pairs of runs (2026-12-03), batches of up to 4 gave worst p95 latencies of 157-183 ms
            against 128-148 ms unbatched, at the same or higher frame rates (``bench/multicam.py``,
            docs/BENCHMARKS.md); a GPU session would gain from them.
        classify_every: classify each track every k-th frame (1: every frame).
        classifier_threads: ONNX Runtime threads of the classifier (:meth:`core.classify.TrackClassifier.use_onnx`;
            0: PyTorch, whose process-wide thread pool then competes with the pose workers for the cores).
        stitch_s: tracklet stitching window in seconds (0: off).
        repeat_s: an alert is not repeated for a track whose box overlaps (or lies within half a box
            diagonal of) the box of an alert raised less than ``repeat_s`` seconds before (the same fall
            seen through a fragmented or duplicated track); 0: every track episode alerts.
        fall_labels: labels whose alerts need a visible fall (empty: no check): the track's box aspect
            (width / height) must have grown at least ``fall_aspect_gain``-fold within its last
            ``fall_window_s`` seconds (stitched history included; tall to wide). On the shared clips the
            falls reach 2.0-13x (medians of 5 detections) by their alert, people standing or walking up to
            about 1.75x: the threshold was set on these clips (in-sample, small margins). The check keeps the
            classifier's "lying"/"falling" on upright people in views unlike its training data (overhead
            CCTV, 10 fps video) from alerting. A person already on the floor when watching starts, or one
            who falls straight towards the camera without the box widening, is not alerted.
        fall_aspect_gain, fall_window_s: see ``fall_labels``.
        min_kp_score: an alert needs the track's mean keypoint score in the alert frame at least this
            (poorly seen people — far, cut off, blurred — give unreliable skeletons).
        pace_fps: rate at which ``realtime`` plays a file (None: the file's own fps), e.g. 30 to feed a
            50 fps clip like a 30 fps camera.
        loop: restart files at their end (benchmarks, demos).
        start_frame, stop_frame: frame range of a file (stop None: to the end).
        device: torch device for the ``yolo-ultralytics`` backend.
        sensitivity: a scene model's alert operating point — its ``name`` in the checkpoint's
            ``alert.operating_points`` (chosen on validation source groups, least to most sensitive), or None for
            the checkpoint's default (at most 1 in 10 validation no-fight clips alerting). Per-track models ignore it.
        scene_threshold, scene_hold_s: override the operating point's threshold on the scene score and its hold
            time in seconds (None: from the operating point).
        camera: the camera's name in events, the event log and the MQTT topic (None: from the source,
            :func:`core.live.notify.camera_name`: ``webcam0``, a file's stem, a stream's host and path).
        webhook_url: POST every alert's JSON to this http(s) URL (None: no webhook; :mod:`core.live.notify`).
        webhook_secret_file: file holding the HMAC-SHA256 key of the ``X-PoseWatch-Signature`` header (None: unsigned).
        webhook_timeout_s: seconds for one webhook try (retries after connection errors, timeouts, HTTP 408/429/5xx
            wait the setting ``reconnect.webhook_backoff_s``).
        webhook_cafile: certificate to trust for an https receiver with a self-signed certificate.
        mqtt_url: publish every alert's JSON to this broker, ``mqtt://[user@]host[:1883]`` or ``mqtts://…`` (None: no MQTT).
        mqtt_topic: the topic, ``{camera}`` replaced by the camera's name; mqtt_qos: 0, 1 or 2.
        mqtt_username, mqtt_password_file: credentials (the password from a file, never a setting).
        mqtt_cafile: certificate to trust for ``mqtts``.
        notify_close_s: seconds the sinks get at stop to deliver alerts still waiting.
        motion_gate: skip pose inference on frames where nothing moved since the last posed frame and reuse its
            poses (:class:`core.live.gate.MotionGate`): ``True``, ``False``, or ``"auto"`` (on when several
            cameras share the machine, :class:`core.live.multicam.MultiCameraDetector`; off for one camera).
        motion_threshold, motion_pixels: the gate's grey-level change (0-255) and the changed pixels of its
            100-pixel-high copy that count as motion (Frigate's defaults: 30 and 10).
        motion_refresh_s: at most this many seconds between two posed frames while the gate is on.
    """

    width: int | None
    backend: str
    classifier: str | None
    smooth_windows: int
    enter_prob: float
    exit_prob: float
    alert_hold_s: float
    normal_labels: tuple[str, ...]
    pre_s: float
    post_s: float
    events_dir: str | None
    sound: bool
    queue_size: int
    realtime: bool | None
    events_file: str | None
    imgsz: int
    multicam_imgsz: int | None
    precision: str
    pose_model: str | None
    tracker: str
    threads: int | None
    pose_workers: int | None
    multicam_max_batch: int
    classify_every: int
    classifier_threads: int
    stitch_s: float
    repeat_s: float
    fall_labels: tuple[str, ...]
    fall_aspect_gain: float
    min_kp_score: float
    fall_window_s: float
    pace_fps: float | None
    loop: bool
    start_frame: int
    stop_frame: int | None
    device: str | None
    sensitivity: str | None
    scene_threshold: float | None
    scene_hold_s: float | None
    camera: str | None
    webhook_url: str | None
    webhook_secret_file: str | None
    webhook_timeout_s: float
    webhook_cafile: str | None
    mqtt_url: str | None
    mqtt_topic: str
    mqtt_qos: Literal[0, 1, 2]
    mqtt_username: str | None
    mqtt_password_file: str | None
    mqtt_cafile: str | None
    notify_close_s: float
    motion_gate: bool | str
    motion_threshold: int
    motion_pixels: int
    motion_refresh_s: float


@dataclass
class LiveResult:
    """One processed frame, delivered to the consumer.

    Attributes:
        frame_index: 0-based frame index in the source (live sources: frames since connecting).
        time_s: seconds (files: ``frame_index / fps``; live: since the detector started).
        image: ``(H, W, 3)`` uint8 BGR, original size, without overlay (do not modify it).
        poses: persons in pixels of ``image``.
        labels: smoothed label per track ID (None: no classifier).
        captured_at: ``time.monotonic()`` when the frame was captured.
        fps: processed frames per second (average over the last ~2 s).
        latency_ms: capture-to-result latency of this frame in milliseconds.
        dropped: frames dropped so far.
        scene: a scene (fight) model's scene score of this frame in [0, 1] (None: a per-track model or none).
    """

    frame_index: int
    time_s: float
    image: np.ndarray
    poses: FramePoses
    labels: dict[int, TrackLabel] | None
    captured_at: float
    fps: float
    latency_ms: float
    dropped: int
    scene: float | None = None


@dataclass
class AlertEvent:
    """An alert: a track's abnormal label held for ``alert_hold_s``.

    Attributes:
        time_s: video time of the alert frame in seconds; frame_index: its frame.
        track_id: the track (after stitching: the current ID); label: the abnormal label;
        prob: its averaged probability in [0, 1].
        wall_time: ISO 8601 local time with offset.
        snapshot: JPEG with the overlay (None without events_dir); clip: mp4 of ``pre_s`` before to
            ``post_s`` after the alert frame (None without events_dir; written once the post buffer is full,
            or at stop).
        camera: the camera's name (:attr:`LiveConfig.camera`).
    """

    time_s: float
    frame_index: int
    track_id: int
    label: str
    prob: float
    wall_time: str
    snapshot: str | None = None
    clip: str | None = None
    camera: str | None = None

    def to_dict(self) -> dict:
        """JSON-ready dict (the events file's line, the body of a webhook or MQTT notification)."""
        return {"time_s": round(float(self.time_s), 3), "frame": int(self.frame_index), "track_id": int(self.track_id),
                "label": self.label, "prob": round(float(self.prob), 4), "wall_time": self.wall_time,
                "snapshot": self.snapshot, "clip": self.clip, "camera": self.camera}


class DropQueue:
    """A bounded FIFO between two threads.

    ``put`` on a full queue either drops the oldest item (``drop_oldest=True``; returns how many were
    dropped) or blocks until there is room. ``close()`` wakes everyone; ``get`` then returns
    :data:`DropQueue.CLOSED` once the queue is empty.
    """

    CLOSED = object()

    def __init__(self, maxsize: int, drop_oldest: bool):
        self.maxsize = max(1, int(maxsize))
        self.drop_oldest = drop_oldest
        self._q: collections.deque = collections.deque()
        self._cv = threading.Condition()
        self._closed = False

    def put(self, item: Any) -> int:
        with self._cv:
            dropped = 0
            if self.drop_oldest:
                while len(self._q) >= self.maxsize:
                    self._q.popleft()
                    dropped += 1
            else:
                while len(self._q) >= self.maxsize and not self._closed:
                    self._cv.wait(0.1)
            if self._closed:
                return dropped
            self._q.append(item)
            self._cv.notify_all()
            return dropped

    def get(self, timeout: float | None = None) -> Any:
        """The next item, :data:`CLOSED` (closed and empty) or None (timeout)."""
        with self._cv:
            end = None if timeout is None else time.monotonic() + timeout
            while not self._q:
                if self._closed:
                    return DropQueue.CLOSED
                rest = None if end is None else end - time.monotonic()
                if rest is not None and rest <= 0:
                    return None
                self._cv.wait(0.1 if rest is None else min(0.1, rest))
            item = self._q.popleft()
            self._cv.notify_all()
            return item

    def close(self) -> None:
        with self._cv:
            self._closed = True
            self._cv.notify_all()

    def __len__(self) -> int:
        return len(self._q)


@dataclass
class _Captured:
    index: int
    time_s: float
    image: np.ndarray
    captured_at: float


@dataclass
class TrackState:
    """Per-track classification state.

    Attributes:
        history: the track's recent detections (:class:`core.classify.TrackHistory`: frame indices and
            ``(13, 3)`` float32 common keypoints) and the window of the newest.
        probs: the last ``smooth_windows`` probability vectors ``(K,)``.
        label: shown label (after hysteresis) or None before the first prediction.
        hist: ``(time_s, box_height, box_width)`` of recent detections (pixels), for the fall check.
        abnormal_since: video time (s) the current abnormal episode began, or None.
        alerted: an alert was raised in the current episode.
        last_seen: frame index and time of the last detection; last_box: its ``(4,)`` box.
        count: detections so far.
        judged: the track could be judged (scene models: seen long and well enough in the last second,
            :func:`core.classify.label_scene`); otherwise it shows "uncertain".
    """

    history: Any
    probs: collections.deque
    label: str | None = None
    prob: float = 0.0
    abnormal_since: float | None = None
    alerted: bool = False
    last_frame: int = -1
    last_time: float = 0.0
    last_box: np.ndarray | None = None
    count: int = 0
    origin: int = -1
    hist: collections.deque = field(default_factory=lambda: collections.deque(maxlen=300))
    judged: bool = True


@dataclass
class _PendingClip:
    path: str
    end_frame: int
    fps: float
    frames: list = field(default_factory=list)


def _iso_now() -> str:
    return _dt.datetime.now().astimezone().isoformat(timespec="milliseconds")


def resolve_classifier(classifier: str | None) -> Path | None:
    """The checkpoint path of ``LiveConfig.classifier`` (None: no classifier): a shipped kind (``fall``,
    ``abnormal``) or a path, via :func:`core.defaults.resolve_classifier`.

    Raises:
        ModelError: a shipped kind that is not installed, or a path that does not exist.
    """
    if classifier is None or classifier == "":
        return None
    from ..defaults import resolve_classifier as resolve

    return resolve(classifier)


def scene_operating_point(ckpt, sensitivity: str | None = None) -> dict:
    """The alert operating point of a scene checkpoint: the one named ``sensitivity`` (its ``name``), or the
    checkpoint's default.

    Raises:
        PoseWatchError: no operating point of that name (the message lists them).
    """
    alert = ckpt.alert or {}
    pts = alert.get("operating_points") or [{"threshold": 0.5, "hold_s": 0.0, "name": "1"}]
    if sensitivity in (None, ""):
        return pts[min(int(alert.get("default", 0)), len(pts) - 1)]
    for p in pts:
        if str(p.get("name")) == str(sensitivity):
            return p
    raise PoseWatchError(f"unknown sensitivity '{sensitivity}'; this model has "
                         f"{', '.join(str(p.get('name')) for p in pts)}")


class LabelTracker:
    """Ring buffers, classification, smoothing, hysteresis, stitching and alert decisions for all tracks.

    Independent of threads and sources (the classify stage of :class:`LiveDetector` drives it; tests may
    drive it directly with poses).

    Args:
        classifier: a :class:`core.classify.TrackClassifier`.
        config: the :class:`LiveConfig` (smoothing, thresholds, hold, stitching, stride).
        fps: video frame rate (sets the window step: :meth:`core.classify.Checkpoint.step_for`).
    """

    def __init__(self, classifier, config: LiveConfig, fps: float):
        from ..classify import TrackHistory
        from ..layouts import to_common

        self.clf = classifier
        self.cfg = config
        self.fps = float(fps) if fps and fps > 0 else 30.0
        self.names = list(classifier.label_names)
        self.T = int(classifier.ckpt.window)
        self.scene = bool(getattr(classifier, "is_scene", False))
        #: a scene model whose vectors hold motion features: :meth:`update` wants each frame's motion vector
        self.scene_motion = False
        self.scene_gate = True
        self.step = 1 if self.scene else classifier.ckpt.step_for(self.fps)
        if self.scene:  # a scene model: one judgement of the whole scene per frame (core.scene)
            from ..scene import SceneBuffer

            alert = classifier.ckpt.alert or {}
            op = scene_operating_point(classifier.ckpt, config.sensitivity)
            self.operating_point = op
            self.scene_threshold = float(config.scene_threshold if config.scene_threshold is not None else op["threshold"])
            self.scene_hold = float(config.scene_hold_s if config.scene_hold_s is not None else op["hold_s"])
            self.k_scene = classifier.scene_index
            self.scene_label = self.names[self.k_scene]
            spec = classifier.ckpt.feature_spec
            self.scene_motion = bool(spec.get("motion", False))
            self.scene_gate = bool(spec.get("gate", True))
            self.scene_buffer = SceneBuffer(float(spec["span_s"]), motion=self.scene_motion,
                                            bones=bool(spec.get("bones", False)))
            self._scene_probs: collections.deque = collections.deque(
                maxlen=max(1, int(alert.get("smooth_windows", config.smooth_windows))))
        self.normal = [i for i, n in enumerate(self.names) if n in set(config.normal_labels)]
        self._hist_len = max(8, int(round(config.fall_window_s * self.fps)) + 1)
        self.tracks: dict[int, TrackState] = {}
        self._history = TrackHistory
        self._to_common = to_common
        self.stitched = 0
        self.suppressed = 0
        self._recent: list[tuple[float, np.ndarray]] = []  # (time_s, box) of raised alerts
        #: the scene's event score of the last frame (scene models: the scene label's probability averaged over the
        #: last frames; 0 while no frame of the last second holds two people), and the track alerts name
        self.scene_score = 0.0
        self.scene_track: int | None = None
        self._scene_since: float | None = None
        self._scene_alerted = False
        self._scene_below_since: float | None = None

    def new_state(self) -> TrackState:
        """A fresh per-track state (empty history, smoothing window and fall history)."""
        return TrackState(self._history(self.T, self.step),
                          collections.deque(maxlen=max(1, int(self.cfg.smooth_windows))),
                          hist=collections.deque(maxlen=self._hist_len))

    def fall_evident(self, st: TrackState) -> bool:
        """The fall check of :class:`LiveConfig` ``fall_labels``: the track's box aspect (width / height,
        running median of 5 detections against box jitter) now is at least ``fall_aspect_gain`` times its
        smallest within the last ``fall_window_s`` seconds (stitched history included): the person went
        from tall to wide."""
        h = [e for e in st.hist if st.last_time - e[0] <= self.cfg.fall_window_s and e[1] > 0]
        if len(h) < 5:
            return False
        aspects = np.array([w / hh for _t, hh, w in h])
        med = np.median(np.lib.stride_tricks.sliding_window_view(aspects, 5), axis=1)  # box jitter off
        return bool(med[-1] >= self.cfg.fall_aspect_gain * med.min())

    def _stitch(self, box: np.ndarray, time_s: float, present: set[int]) -> tuple[int, TrackState] | None:
        """A recently lost track (not in ``present``, last seen within ``stitch_s``) whose last box
        overlaps ``box`` or whose centre lies within half its diagonal of ``box``'s centre; the nearest wins."""
        if self.cfg.stitch_s <= 0:
            return None
        best, best_d = None, None
        for lid, st in self.tracks.items():
            if lid in present or st.last_box is None or time_s - st.last_time > self.cfg.stitch_s:
                continue
            d = _near(st.last_box, box)
            if d is not None and (best_d is None or d < best_d):
                best, best_d = lid, d
        if best is None:
            return None
        self.stitched += 1
        return best, self.tracks.pop(best)

    def update(self, poses: FramePoses, motion: np.ndarray | None = None
               ) -> tuple[dict[int, TrackLabel], list[tuple[int, str, float]]]:
        """Add one frame's persons, classify, smooth, decide alerts.

        Args:
            poses: one frame's tracked persons (any layout; keypoints in pixels), frames in order.
            motion: the frame's :data:`core.motion.MOTION_FEATURES` vector (a scene model with motion,
                :attr:`scene_motion`; ignored otherwise; None: zeros).

        Returns:
            ``(labels, alerts)``: the shown label of every track of this frame that has one, and
            ``[(track_id, label, prob)]`` of tracks whose abnormal label has just held ``alert_hold_s``.
        """
        f, t = poses.frame_index, poses.time_s
        present = {p.track_id for p in poses.persons}
        kp_score = {p.track_id: float(np.mean(p.keypoints[:, 2])) for p in poses.persons}
        # forget tracks gone for longer than the stitching window (and at least 2 s)
        for tid in [tid for tid, st in self.tracks.items()
                    if tid not in present and t - st.last_time > max(self.cfg.stitch_s, 2.0)]:
            self.tracks.pop(tid)
        todo: list[TrackState] = []
        kps_by_track: dict[int, np.ndarray] = {}
        k = max(1, int(self.cfg.classify_every))
        for p in poses.persons:
            st = self.tracks.get(p.track_id)
            if st is None:
                hit = self._stitch(np.asarray(p.bbox, np.float32), t, present)
                st = hit[1] if hit else self.new_state()
                if hit:
                    st.origin = hit[0] if st.origin < 0 else st.origin
                self.tracks[p.track_id] = st
            kp = self._to_common(np.asarray(p.keypoints, np.float32)[None], p.layout)[0].astype(np.float32)
            kps_by_track[p.track_id] = kp
            st.history.add(f, kp)
            st.last_frame, st.last_time, st.last_box = f, t, np.asarray(p.bbox, np.float32)
            st.count += 1
            b = st.last_box
            st.hist.append((t, float(b[3] - b[1]), float(b[2] - b[0])))
            if st.label is None or (st.count - 1) % k == 0:
                todo.append(st)
        if self.scene:
            return self._scene_update(poses, kps_by_track, present, t, motion)
        if todo:
            probs = self.clf.predict_windows(np.stack([st.history.latest_window() for st in todo]))
            for st, pr in zip(todo, probs):
                st.probs.append(pr.astype(np.float32))
                self.decide(st)
        labels: dict[int, TrackLabel] = {}
        alerts: list[tuple[int, str, float]] = []
        for tid in present:
            st = self.tracks[tid]
            if st.label is None:
                continue
            labels[tid] = TrackLabel(st.label, st.prob)
            if st.label in self.cfg.normal_labels:
                st.abnormal_since, st.alerted = None, False
                continue
            if st.abnormal_since is None:
                st.abnormal_since = t
            if not st.alerted and t - st.abnormal_since >= self.cfg.alert_hold_s - 1e-9:
                if kp_score.get(tid, 1.0) < self.cfg.min_kp_score or st.prob < self.cfg.enter_prob:
                    continue  # skeleton too uncertain, or the label only kept by hysteresis: keep waiting
                if st.label in (self.cfg.fall_labels or ()) and not self.fall_evident(st):
                    continue  # no visible fall (yet): keep waiting within this episode
                st.alerted = True
                self._recent = [(ta, b) for ta, b in self._recent if t - ta < self.cfg.repeat_s]
                if any(_near(b, st.last_box) for _ta, b in self._recent):
                    self.suppressed += 1
                    continue
                self._recent.append((t, st.last_box))
                alerts.append((tid, st.label, st.prob))
        return labels, alerts

    def _scene_update(self, poses: FramePoses, kps: dict[int, np.ndarray], present: set[int], t: float,
                      motion: np.ndarray | None = None) -> tuple[dict[int, TrackLabel], list[tuple[int, str, float]]]:
        """A scene model's frame: the frame's people (and a motion model's motion vector) into the scene buffer (raw
        track IDs, as offline), one scene vector classified, its event probability averaged over the last frames
        (a gated model: 0 while no frame of the last second holds two people), per-track labels
        (:func:`core.classify.label_scene`), and the alert: when the scene score has stayed at or above the
        operating threshold for the hold time (once per episode: the next one needs the score below the threshold
        for ``max(2 s, hold)`` first, and is suppressed near a box alerted within ``repeat_s``). The alert names
        the involved person nearest to another."""
        from ..classify import label_scene
        from ..scene import nearest_pair

        self.scene_buffer.add(t, [(p.track_id, kps[p.track_id], np.asarray(p.bbox, np.float32)) for p in poses.persons],
                              motion)
        pr = self.clf.predict_scene(self.scene_buffer.features(t)[None])[0]
        judged = not self.scene_gate or self.scene_buffer.multi_person()
        self._scene_probs.append(float(pr[self.k_scene]) if judged else 0.0)
        best = float(np.mean(self._scene_probs))
        self.scene_score = best
        labels = label_scene(poses, self.scene_buffer, best, self.scene_threshold, self.names, self.k_scene)
        for tid, lab in labels.items():
            st = self.tracks[tid]
            st.label, st.prob, st.judged = lab.name, lab.prob, lab.name != UNCERTAIN
        boxes = {p.track_id: np.asarray(p.bbox, np.float32) for p in poses.persons}
        pair = nearest_pair(boxes)
        self.scene_track = pair[0] if pair else next(iter(boxes), None)
        alerts: list[tuple[int, str, float]] = []
        if best >= self.scene_threshold and self.scene_track is not None:
            self._scene_below_since = None
            if self._scene_since is None:
                self._scene_since = t
            if not self._scene_alerted and t - self._scene_since >= self.scene_hold - 1e-9:
                self._scene_alerted = True
                box = boxes[self.scene_track]
                self._recent = [(ta, b) for ta, b in self._recent if t - ta < self.cfg.repeat_s]
                if any(_near(b, box) for _ta, b in self._recent):
                    self.suppressed += 1
                else:
                    self._recent.append((t, box))
                    alerts.append((self.scene_track, self.scene_label, best))
        else:
            self._scene_since = None
            if self._scene_below_since is None:
                self._scene_below_since = t
            if self._scene_alerted and t - self._scene_below_since >= max(2.0, self.scene_hold):
                self._scene_alerted = False
        return labels, alerts

    def decide(self, st: TrackState) -> None:
        """Set ``st.label``/``st.prob`` from its smoothed probabilities with hysteresis (see :class:`LiveConfig`)."""
        avg = np.mean(np.stack(st.probs), axis=0)
        best = int(np.argmax(avg))
        normal = set(self.cfg.normal_labels)
        cur = st.label
        if cur is not None and cur not in normal and cur in self.names:
            c = self.names.index(cur)
            if self.names[best] not in normal and best != c and avg[best] >= self.cfg.enter_prob:
                cur = self.names[best]  # another abnormal label took over (falling -> lying)
            elif avg[c] < self.cfg.exit_prob:
                cur = None
        else:
            cur = None
        if cur is None:
            if self.names[best] not in normal and avg[best] >= self.cfg.enter_prob:
                cur = self.names[best]
            elif self.normal:
                cur = self.names[max(self.normal, key=lambda i: avg[i])]
            else:
                cur = self.names[best]
        st.label = cur
        st.prob = float(avg[self.names.index(cur)])

    def reset(self) -> None:
        """Forget every track (new source, reconnect)."""
        self.tracks.clear()
        if self.scene:
            self.scene_buffer.clear()
            self._scene_probs.clear()
        self.scene_score, self.scene_track = 0.0, None
        self._scene_since, self._scene_alerted, self._scene_below_since = None, False, None


class LiveDetector:
    """Runs pose estimation, tracking, classification and alerting on a live source or a file.

    Args:
        source: a file path, webcam index (``0``, ``"0"``, ``"webcam:0"``) or stream URL.
        config: :class:`LiveConfig` (None: defaults).
        on_result: called with each :class:`LiveResult` (from the classify thread; keep it short).
        on_event: called with each :class:`AlertEvent` (from the classify thread).
        on_status: called with one-line messages ("connecting to …", "camera lost: … — reconnecting in
            2.0 s", "finished", "stopped", "error: …") from worker threads.
        estimator_factory: builds the pose estimator (default: from ``config``), called on the pose thread.

    Raises:
        ModelError: unknown default classifier kind, missing or corrupt checkpoint (checked here).
        PoseWatchError: bad config values.
    """

    def __init__(self, source: str | int, config: LiveConfig | None = None, *,
                 on_result: Callable[[LiveResult], None] | None = None,
                 on_event: Callable[[AlertEvent], None] | None = None,
                 on_status: Callable[[str], None] | None = None,
                 estimator_factory: Callable[[], PoseEstimator] | None = None):
        self.source = source
        self.cfg = config or LiveConfig()
        if self.cfg.enter_prob < self.cfg.exit_prob:
            raise PoseWatchError(f"enter_prob {self.cfg.enter_prob} must not be below exit_prob {self.cfg.exit_prob}")
        if self.cfg.queue_size < 1:
            raise PoseWatchError("queue_size must be at least 1")
        if self.cfg.motion_gate not in (True, False, "auto"):
            raise PoseWatchError(f"motion_gate must be true, false or auto, got {self.cfg.motion_gate!r}")
        self._gate = None
        if self.cfg.motion_gate is True:
            from .gate import MotionGate

            try:
                self._gate = MotionGate(self.cfg.motion_threshold, self.cfg.motion_pixels, self.cfg.motion_refresh_s)
            except ValueError as e:
                raise PoseWatchError(str(e)) from None
        self._clf_path = resolve_classifier(self.cfg.classifier)
        self.classifier = None
        if self._clf_path is not None:
            from ..classify import TrackClassifier

            self.classifier = TrackClassifier(self._clf_path)
            if self.classifier.is_scene:
                scene_operating_point(self.classifier.ckpt, self.cfg.sensitivity)  # an unknown name fails here
        self.on_result, self.on_event, self.on_status = on_result, on_event, on_status
        self.estimator_factory = estimator_factory
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self._frames = 0
        self._dropped = 0
        self._latencies: collections.deque = collections.deque(maxlen=5000)
        self._done_times: collections.deque = collections.deque(maxlen=120)
        self._events: list[AlertEvent] = []
        self._started_at: float | None = None
        self._ended_at: float | None = None
        self.fps_source = 30.0
        self.info = None
        self.error: str | None = None
        self.live = False
        self._fps_ready = threading.Event()
        self._pose_ready = threading.Event()
        self.labeler: LabelTracker | None = None
        self._int8_failed = False
        self.pose_description = ""
        self._writer_q: DropQueue | None = None
        self.clips_written = 0
        from .notify import camera_name

        self.camera = self.cfg.camera or camera_name(source)
        self.notifier = None

    # ---- public API -------------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        """True while any worker thread is alive."""
        return any(t.is_alive() for t in self._threads)

    @property
    def events(self) -> list[AlertEvent]:
        """Alerts raised so far."""
        return list(self._events)

    def start(self) -> None:
        """Start the worker threads (non-blocking). A second call while running does nothing."""
        if self.running:
            return
        from .notify import Notifier

        self.notifier = Notifier(self.cfg, self.camera, self._status)  # NotifyError for a bad setting, before any thread
        self._stop.clear()
        self._pose_ready.clear()
        self._started_at, self._ended_at = time.monotonic(), None
        q1 = DropQueue(self.cfg.queue_size, drop_oldest=True)  # replaced by capture once the source is known
        q2 = DropQueue(max(2, self.cfg.queue_size), drop_oldest=False)
        self._q1, self._q2 = q1, q2
        self._writer_q = DropQueue(64, drop_oldest=False)
        self._threads = [threading.Thread(target=self._guard, args=(self._capture_loop,), name="live-capture", daemon=True),
                         threading.Thread(target=self._guard, args=(self._pose_loop,), name="live-pose", daemon=True),
                         threading.Thread(target=self._guard, args=(self._classify_loop,), name="live-classify", daemon=True),
                         threading.Thread(target=self._guard, args=(self._writer_loop,), name="live-writer", daemon=True)]
        for t in self._threads:
            t.start()

    def stop(self) -> None:
        """Ask the threads to stop (non-blocking); pending clips are still written."""
        self._stop.set()
        self._q1.close() if hasattr(self, "_q1") else None

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the threads; True when all have ended."""
        end = None if timeout is None else time.monotonic() + timeout
        for t in self._threads:
            rest = None if end is None else max(0.0, end - time.monotonic())
            t.join(rest)
        return not self.running

    def run(self) -> None:
        """Start and wait until the source ends, an error stops it, or :meth:`stop` (blocking)."""
        self.start()
        try:
            while not self.join(0.2):
                pass
        except KeyboardInterrupt:
            self.stop()
            self.join()
            raise

    @property
    def run_time_s(self) -> float:
        """Seconds since the detector started (until it ended, once it has); 0.0 before it starts."""
        if not self._started_at:
            return 0.0
        return (self._ended_at or time.monotonic()) - self._started_at

    def stats(self) -> dict:
        """``{"frames", "fps", "fps_recent", "latency_p50_ms", "latency_p95_ms", "dropped", "alerts",
        "stitched", "suppressed", "pose", "notify", "posed", "pose_reused"}`` ("notify":
        :meth:`core.live.notify.Notifier.stats`; "pose": model, precision and workers, e.g. ``yolo11n-pose.pt int8
        x2 workers`` (``int8 (exact kernels)`` on CPUs whose kernels saturate, :mod:`core.pose.int8`); "posed" /
        "pose_reused": frames the pose model ran on / frames whose poses the motion gate reused): fps = processed
        frames / seconds since start (or until the end); fps_recent over the last ~2 s; latencies capture-to-result
        in ms over the last 5000 frames."""
        with self._lock:
            lat = np.asarray(self._latencies, np.float64)
            frames, dropped = self._frames, self._dropped
        wall = self.run_time_s
        return {"frames": frames, "fps": round(frames / wall, 2) if wall > 0 else 0.0,
                "fps_recent": round(self.recent_fps(), 2),
                "latency_p50_ms": round(float(np.percentile(lat, 50)), 1) if len(lat) else None,
                "latency_p95_ms": round(float(np.percentile(lat, 95)), 1) if len(lat) else None,
                "dropped": dropped, "alerts": len(self._events),
                "stitched": self.labeler.stitched if self.labeler else 0, "pose": self.pose_description,
                "suppressed": self.labeler.suppressed if self.labeler else 0,
                "notify": self.notifier.stats() if self.notifier is not None else {},
                "posed": self._gate.posed if self._gate is not None else frames,
                "pose_reused": self._gate.reused if self._gate is not None else 0}

    # ---- internals --------------------------------------------------------------------------------
    def _status(self, msg: str) -> None:
        if self.on_status is not None:
            try:
                self.on_status(msg)
            except Exception:
                pass

    def _guard(self, fn: Callable[[], None]) -> None:
        try:
            fn()
        except PoseWatchError as e:
            self._fail(str(e))
        except Exception as e:  # a bug: report it as one line instead of a silent dead thread
            self._fail(f"internal error in {threading.current_thread().name}: {type(e).__name__}: "
                       f"{one_line(e, 200)}")

    def _fail(self, msg: str) -> None:
        if self.error is None:
            self.error = msg
            self._status(f"error: {msg}")
        self._stop.set()
        for q in (getattr(self, "_q1", None), getattr(self, "_q2", None)):
            if q is not None:
                q.close()
        self._fps_ready.set()

    def _open(self):
        from ..video import open_source

        return open_source(self.source)

    def _capture_loop(self) -> None:
        from ..video import parse_source

        kind, _target = parse_source(self.source)
        self.live = kind in ("webcam", "stream")
        label = f"webcam {self.source}" if kind == "webcam" else str(self.source)
        self._status(f"connecting to {label}")
        try:
            src = self._open()
        except VideoError as e:
            self._fps_ready.set()
            raise VideoError(str(e)) from None
        self.info = src.info
        self.fps_source = src.info.fps
        realtime = self.live or bool(self.cfg.realtime)
        self._q1.drop_oldest = realtime
        self._fps_ready.set()
        self._status(f"connected to {label} ({src.info.width}x{src.info.height}, {src.info.fps:.1f} fps)")
        q1 = self._q1
        while not self._pose_ready.wait(0.1):  # models load first: no frames dropped while they do
            if self._stop.is_set():
                break
        self._started_at = time.monotonic()
        backoff = 0
        offset_frames = 0  # live: frames before the last reconnect; files: frames of earlier loops
        t0 = time.monotonic()
        try:
            while not self._stop.is_set():
                try:
                    if self.live:
                        it = src.frames()
                    else:
                        it = src.frames(self.cfg.start_frame, self.cfg.stop_frame)
                    n_here = 0
                    loop_t0 = time.monotonic()
                    for fr in it:
                        if self._stop.is_set():
                            break
                        now = time.monotonic()
                        idx = offset_frames + fr.index
                        if self.live:
                            ts = now - t0
                        else:
                            ts = idx / self.fps_source
                            if realtime:  # pace like a camera
                                due = loop_t0 + n_here / (self.cfg.pace_fps or self.fps_source)
                                if due > now:
                                    time.sleep(due - now)
                                    now = time.monotonic()
                        n_here += 1
                        backoff = 0
                        d = q1.put(_Captured(idx, ts, fr.image, now))
                        if d:
                            with self._lock:
                                self._dropped += d
                    if self._stop.is_set():
                        break
                    if not self.live:
                        if self.cfg.loop and n_here:
                            offset_frames += n_here
                            continue
                        self._status("finished")
                        break
                    raise VideoError(f"{label} ended")
                except VideoError as e:
                    if not self.live:
                        raise
                    offset_frames += getattr(src, "frames_read", 0)
                    src.close()
                    while not self._stop.is_set():
                        steps = config.backoff("source")
                        wait = steps[min(backoff, len(steps) - 1)]
                        backoff += 1
                        self._status(f"camera lost: {e} — reconnecting in {wait:.1f} s")
                        if self._stop.wait(wait):
                            break
                        try:
                            src = self._open()
                            self._status(f"reconnected to {label}")
                            if self.labeler is not None:
                                self._q2.put("reset")
                            break
                        except VideoError as e2:
                            e = e2
                    else:
                        break
        finally:
            try:
                src.close()
            except Exception:
                pass
            q1.close()

    def _lean_path(self) -> bool:
        """True when the pose stage is the lean ONNX Runtime YOLO path (which can run several workers)."""
        return self.estimator_factory is None and self.cfg.backend == "yolo" and self.cfg.device in (None, "cpu")

    def pose_workers(self) -> int:
        """The number of pose threads this detector runs (see :attr:`LiveConfig.pose_workers`)."""
        if not self._lean_path():
            return 1
        if self.cfg.pose_workers is not None:
            return max(1, int(self.cfg.pose_workers))
        return 2 if (os.cpu_count() or 1) >= 2 else 1

    def _make_estimator(self, workers: int = 1) -> PoseEstimator:
        if self.estimator_factory is not None:
            return self.estimator_factory()
        cfg = self.cfg
        kw: dict = {"tracker": cfg.tracker, "frame_rate": self.fps_source}
        if cfg.pose_model:
            kw["model"] = cfg.pose_model
        if self._lean_path():
            from ..pose.yolo_onnx import OnnxPoseEstimator

            threads = cfg.threads or (max(1, (os.cpu_count() or 1) // workers) if workers > 1 else None)
            if cfg.precision == "int8" and not self._int8_failed:
                try:
                    return OnnxPoseEstimator(imgsz=cfg.imgsz, threads=threads, precision="int8", **kw)
                except ModelError as e:
                    self._int8_failed = True
                    self._status(f"INT8 pose model not available, running float32: {e}")
            return OnnxPoseEstimator(imgsz=cfg.imgsz, threads=threads, precision="fp32", **kw)
        from ..pose import create_estimator

        if cfg.backend in ("yolo", "yolo-ultralytics"):
            return create_estimator("yolo", imgsz=cfg.imgsz, device=cfg.device, **kw)
        return create_estimator(cfg.backend, **kw)

    def _pose_loop(self) -> None:
        from ..extract import estimate_poses

        self._fps_ready.wait()
        if self._stop.is_set() and self.info is None:
            self._q2.close()
            return
        workers = self.pose_workers()
        try:
            ests = [self._make_estimator(workers) for _ in range(workers)]
        except (ValueError, TypeError) as e:
            raise PoseWatchError(f"cannot create the pose estimator: {e}") from None
        finally:
            self._pose_ready.set()
        d = ests[0].describe()
        self.pose_description = (f"{d.get('model', d.get('backend', '?'))} {d.get('precision', '')}".rstrip()
                                 + (" (exact kernels)" if d.get("exact_kernels") else "")
                                 + (f" x{workers} workers" if workers > 1 else ""))
        if workers > 1:
            return self._parallel_pose(ests)
        est, gate, last = ests[0], self._gate, None
        try:
            while True:
                item = self._q1.get()
                if item is DropQueue.CLOSED:
                    break
                if item is None:
                    continue
                if gate is not None and not gate.moved(item.image, item.time_s) and last is not None:
                    fp = _restamped(last, item.index, item.time_s)
                else:
                    fp = last = estimate_poses(item.image, est, item.index, item.time_s, self.cfg.width)
                self._q2.put((item, fp))
        finally:
            est.close()
            self._q2.close()

    def _parallel_pose(self, ests: list) -> None:
        """Pose stage with one thread per estimator: each takes the next frame, detects (ONNX Runtime releases
        the GIL), and the detections are then tracked strictly in the order the frames were taken (a reorder
        buffer: the tracker of ``ests[0]`` sees every frame once, in order)."""
        take_lock, track_lock = threading.Lock(), threading.Lock()
        pending: dict[int, tuple] = {}
        state = {"next_take": 0, "next_track": 0, "alive": len(ests), "last": None}
        tracker, layout, gate = ests[0].tracker, ests[0].layout, self._gate

        def flush() -> None:  # called with track_lock held
            while state["next_track"] in pending:
                item, small, scale, dets = pending.pop(state["next_track"])
                state["next_track"] += 1
                if dets is None:  # a still frame: the poses of the last posed frame, which precedes it
                    fp = _restamped(state["last"], item.index, item.time_s)
                else:
                    boxes, scores, kpts = dets
                    fp = track_detections(tracker, boxes, scores, kpts, small, item.index, item.time_s, layout)
                    fp = state["last"] = rescale_poses(fp, scale, inverse=True,
                                                       size=(item.image.shape[1], item.image.shape[0]))
                self._q2.put((item, fp))

        def work(est) -> None:
            try:
                while True:
                    with take_lock:
                        item = self._q1.get()
                        if item is DropQueue.CLOSED:
                            break
                        if item is None:
                            continue
                        seq = state["next_take"]
                        state["next_take"] += 1
                        still = gate is not None and not gate.moved(item.image, item.time_s) and seq > 0
                    if still:
                        with track_lock:
                            pending[seq] = (item, None, None, None)
                            flush()
                        continue
                    small, scale = resize_to_width(item.image, self.cfg.width)
                    dets = est.detect(small)
                    with track_lock:
                        pending[seq] = (item, small, scale, dets)
                        flush()
            finally:
                est.close()
                with track_lock:
                    state["alive"] -= 1
                    if state["alive"] == 0:
                        self._q2.close()

        helpers = [threading.Thread(target=self._guard, args=(lambda e=e: work(e),), name=f"live-pose-{k + 1}",
                                    daemon=True) for k, e in enumerate(ests[1:])]
        for t in helpers:
            t.start()
        work(ests[0])
        for t in helpers:
            t.join()

    def _classify_loop(self) -> None:
        self._fps_ready.wait()
        cfg = self.cfg
        if self.classifier is not None:
            if cfg.classifier_threads > 0 and self.classifier.runtime == "torch" \
                    and not self.classifier.use_onnx(cfg.classifier_threads):
                self._status(f"classifier runs on PyTorch (ONNX Runtime not usable: {self.classifier.onnx_error})")
            self.labeler = LabelTracker(self.classifier, cfg, self.fps_source)
        meter = None
        if self.labeler is not None and self.labeler.scene_motion:
            from ..motion import MotionMeter

            meter = MotionMeter()
        events_path = None
        if cfg.events_dir or cfg.events_file:
            events_path = Path(cfg.events_file) if cfg.events_file else Path(cfg.events_dir) / "events.jsonl"
            events_path.parent.mkdir(parents=True, exist_ok=True)
        media_dir = Path(cfg.events_dir) if cfg.events_dir else (events_path.parent if events_path else None)
        pre = collections.deque(maxlen=max(1, int(round(cfg.pre_s * self.fps_source)) + 1)) if media_dir else None
        pending: list[_PendingClip] = []
        clip_w = cfg.width or 640
        try:
            while True:
                item = self._q2.get()
                if item is DropQueue.CLOSED:
                    break
                if item is None:
                    continue
                if item == "reset":
                    if self.labeler is not None:
                        self.labeler.reset()
                    if meter is not None:
                        meter.reset()
                    continue
                cap, fp = item
                motion = None
                if meter is not None:
                    boxes = np.array([p.bbox for p in fp.persons], np.float32).reshape(-1, 4)
                    motion = meter.update(cap.image, boxes, self.fps_source)
                labels, alerts = (self.labeler.update(fp, motion) if self.labeler is not None else (None, []))
                now = time.monotonic()
                lat = (now - cap.captured_at) * 1000.0
                with self._lock:
                    self._frames += 1
                    self._latencies.append(lat)
                    self._done_times.append(now)
                    dropped = self._dropped
                scene = self.labeler.scene_score if self.labeler is not None and self.labeler.scene else None
                res = LiveResult(cap.index, cap.time_s, cap.image, fp, labels, cap.captured_at, self.recent_fps(),
                                 lat, dropped, scene)
                if media_dir is not None:
                    small, scale = _small_copy(cap.image, clip_w)
                    entry = (small, scale, fp, labels)
                    pre.append(entry)
                    for pc in pending:
                        pc.frames.append(entry)
                    for pc in [pc for pc in pending if cap.index >= pc.end_frame]:
                        pending.remove(pc)
                        self._writer_q.put(pc)
                for tid, lab, prob in alerts:
                    ev = AlertEvent(cap.time_s, cap.index, tid, lab, prob, _iso_now(), camera=self.camera)
                    if media_dir is not None:
                        stem = f"{(events_path.stem if events_path else 'event')}_{len(self._events) + 1:04d}_f{cap.index}_t{tid}"
                        snap = media_dir / f"{stem}.jpg"
                        cv2.imwrite(str(snap), draw_overlay(cap.image, fp, labels))
                        ev.snapshot = str(snap)
                        ev.clip = str(media_dir / f"{stem}.mp4")
                        pending.append(_PendingClip(ev.clip, cap.index + int(round(cfg.post_s * self.fps_source)),
                                                    self.fps_source, list(pre)))
                    self._events.append(ev)
                    if events_path is not None:
                        with open(events_path, "a", encoding="utf-8") as fh:
                            fh.write(json.dumps(ev.to_dict()) + "\n")
                    if self.notifier is not None and self.notifier.active:
                        self.notifier.send(ev.to_dict())  # queued: never waits for the network
                    if self.on_event is not None:
                        self.on_event(ev)
                if self.on_result is not None:
                    self.on_result(res)
        finally:
            for pc in pending:
                self._writer_q.put(pc)
            self._writer_q.close()
            self._ended_at = time.monotonic()
            self._q1.close()  # unblock capture if we ended on an error

    def _writer_loop(self) -> None:
        stopped_msg = False
        while True:
            pc = self._writer_q.get()
            if pc is DropQueue.CLOSED:
                break
            if pc is None:
                continue
            try:
                _write_clip(pc, self.cfg.backend, self.cfg.width)
                self.clips_written += 1
            except Exception as e:
                self._status(f"warning: cannot write clip {pc.path}: {e}")
        # the last thread to end reports
        for t in self._threads:
            if t is not threading.current_thread():
                t.join()
        if self.notifier is not None:
            self.notifier.close(self.cfg.notify_close_s)
        if self.error is None and not stopped_msg:
            self._status("stopped")

    def recent_fps(self) -> float:
        """Frames processed per second over the last ~2 s (0.0 before two frames); safe from any thread."""
        with self._lock:
            d = list(self._done_times)
        if len(d) < 2:
            return 0.0
        now = d[-1]
        recent = [t for t in d if now - t <= 2.0]
        if len(recent) < 2 or recent[-1] == recent[0]:
            return 0.0
        return (len(recent) - 1) / (recent[-1] - recent[0])


def _near(a: np.ndarray, b: np.ndarray) -> float | None:
    """Centre distance (pixels) of boxes ``a``, ``b`` (``(4,)`` xyxy) when they overlap or ``b``'s centre lies
    within half of ``a``'s diagonal of ``a``'s centre; None otherwise."""
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    d = float(np.hypot((b[0] + b[2] - a[0] - a[2]) / 2, (b[1] + b[3] - a[1] - a[3]) / 2))
    diag = float(np.hypot(a[2] - a[0], a[3] - a[1]))
    return d if (ix * iy > 0 or d <= diag / 2) else None


def _small_copy(image: np.ndarray, width: int) -> tuple[np.ndarray, float]:
    small, scale = resize_to_width(image, width)
    return (small.copy() if small is image else small), scale


def alert_sidecars(clip: str | Path) -> tuple[Path, Path]:
    """The files the detector writes next to an alert clip ``<stem>.mp4`` (the clip with the overlay drawn):
    ``<stem>.raw.mp4``, the same frames without the overlay (training material), and ``<stem>.skeletons.npz``,
    the poses the detector had on those frames as a :class:`core.cache.SkeletonCache` (frames 0..n-1 of the
    clip, pixels of the clip; ``meta["source_frames"]``: each clip frame's index in the source,
    ``meta["detector"]``: backend and inference width). Either may be missing (a clip of an older PoseWatch)."""
    clip = Path(clip)
    stem = clip.with_suffix("")
    return stem.with_name(stem.name + ".raw.mp4"), stem.with_name(stem.name + ".skeletons.npz")


def _write_clip(pc: _PendingClip, backend: str = "", width: int | None = None) -> None:
    """Write a pending alert clip as mp4 (``mp4v``), overlay drawn on the stored downscaled frames, with its
    sidecars (:func:`alert_sidecars`): the frames without overlay and the poses as a skeleton cache."""
    from ..cache import SkeletonCache

    if not pc.frames:
        return
    h, w = pc.frames[0][0].shape[:2]
    raw_path, skel_path = alert_sidecars(pc.path)
    frames = []
    with atomic_path(pc.path) as tmp, atomic_path(raw_path) as tmp_raw:
        wr = cv2.VideoWriter(str(tmp), cv2.VideoWriter_fourcc(*"mp4v"), float(pc.fps), (w, h))
        wr_raw = cv2.VideoWriter(str(tmp_raw), cv2.VideoWriter_fourcc(*"mp4v"), float(pc.fps), (w, h))
        if not wr.isOpened() or not wr_raw.isOpened():
            raise OSError("cv2.VideoWriter (mp4v) could not be opened")
        try:
            for i, (small, scale, fp, labels) in enumerate(pc.frames):
                img = small if small.shape[:2] == (h, w) else cv2.resize(small, (w, h))
                small_fp = rescale_poses(fp, scale)
                wr.write(draw_overlay(img, small_fp, labels))
                wr_raw.write(img)
                out = FramePoses(i, i / float(pc.fps), small_fp.layout, w, h)
                out.persons = list(small_fp.persons)
                frames.append(out)
        finally:
            wr.release()
            wr_raw.release()
        # the poses first, then the raw clip, the overlay clip last: once the clip exists, so do its sidecars
        layout = next((fp.layout for fp in frames if fp.persons), frames[0].layout)
        meta = {"video": str(raw_path), "fps": float(pc.fps), "width": w, "height": h, "layout": layout,
                "settings": {"detector": backend, "width": width}, "complete": True,
                "source_frames": [int(e[2].frame_index) for e in pc.frames],
                "detector": {"backend": backend, "width": width}}
        SkeletonCache.from_frames(frames, meta).save(skel_path)


def list_cameras(max_index: int = 5) -> list[tuple[int, str]]:
    """Probe webcams ``0 .. max_index - 1`` (slow: opens each; call off the GUI thread).

    Returns:
        ``[(index, "webcam 0 (640x480)"), …]`` for the cameras that open and deliver a frame.
    """
    found = []
    for i in range(max_index):
        cap = cv2.VideoCapture(i)
        try:
            if not cap.isOpened():
                continue
            ok, img = cap.read()
            if ok and img is not None:
                found.append((i, f"webcam {i} ({img.shape[1]}x{img.shape[0]})"))
        finally:
            cap.release()
    return found

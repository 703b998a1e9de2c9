"""Scene features: what all the people of the last second do together, as one vector per moment.

A fight is an event of the scene — two or more people close together, moving fast and erratically, their
boxes overlapping, the tracker losing them — not a pose of one skeleton. :func:`scene_features` sums up the
tracks seen in a window of ``span_s`` seconds ending at a given time into :data:`SCENE_FEATURES`, from boxes and
keypoints (box-height units, so the camera's distance and resolution matter less). The live detector
(:class:`core.live.detector.LabelTracker` with a scene model), offline prediction and training
(:mod:`core.fight`) all call this one function.

Speeds are displacements between consecutive detections of a track divided by the time between them (box
heights per second, the box height at the later detection); pair distances are box-centre distances in mean
box heights of the two; "limb" motion is the motion of wrists and ankles relative to the hip midpoint (a body
part moving, not the whole person walking).
"""

from __future__ import annotations

import numpy as np

from .layouts import COMMON_JOINTS

_J = {j: i for i, j in enumerate(COMMON_JOINTS)}
_WRISTS = [_J["WRIST_LEFT"], _J["WRIST_RIGHT"]]
_ANKLES = [_J["ANKLE_LEFT"], _J["ANKLE_RIGHT"]]
_HIPS = [_J["HIP_LEFT"], _J["HIP_RIGHT"]]

#: Names of the :func:`scene_features` values, in order.
SCENE_FEATURES = (
    "persons_mean", "persons_max", "multi_person_share", "track_churn",
    "wrist_speed_max", "wrist_speed_mean", "ankle_speed_max", "box_speed_max", "limb_motion_max",
    "limb_motion_mean", "closest_pair_min", "closest_pair_mean", "closing_speed_max", "box_iou_max",
    "box_iou_mean", "keypoint_score_mean",
)
#: Pair distances are clipped to this many box heights (and are this where fewer than two people are seen).
FAR = 5.0


def _p90(v: np.ndarray) -> float:
    """``np.percentile(v, 90)`` (its default "linear" method; 0.0 for an empty ``v``), bit for bit, about ten times
    faster on the short arrays of a scene window: one partition, numpy's own interpolation (``_lerp``: from the upper
    value where the weight is at least 0.5). Called 25 times per scene vector, where numpy's general path was a
    third of :func:`scene_features`' time."""
    n = len(v)
    if not n:
        return 0.0
    arr = np.asarray(v)
    if arr.dtype.kind != "f" or np.isnan(arr).any():
        return float(np.percentile(arr, 90))
    vi = (n - 1) * 0.9
    if vi >= n - 1:
        return float(arr.max())
    lo = int(vi)
    g = vi - lo
    part = np.partition(arr, (lo, lo + 1))
    a, b = part[lo], part[lo + 1]  # numpy scalars: the arithmetic stays in the array's dtype, as numpy's
    d = b - a
    return float(b - d * (1 - g) if g >= 0.5 else a + d * g)


def _iou_matrix(b: np.ndarray) -> np.ndarray:
    x1 = np.maximum(b[:, None, 0], b[None, :, 0])
    y1 = np.maximum(b[:, None, 1], b[None, :, 1])
    x2 = np.minimum(b[:, None, 2], b[None, :, 2])
    y2 = np.minimum(b[:, None, 3], b[None, :, 3])
    inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    area = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    union = area[:, None] + area[None, :] - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-9), 0.0)


def scene_features(tracks: list[tuple[np.ndarray, np.ndarray, np.ndarray]], t_end: float, span_s: float = 1.0
                   ) -> np.ndarray:
    """The :data:`SCENE_FEATURES` of the people seen in ``(t_end - span_s, t_end]``.

    Args:
        tracks: one entry per track: ``times (L,)`` float64 seconds (increasing), ``kps (L, 13, 3)`` float32
            common-13 keypoints (pixels, score in [0, 1]), ``boxes (L, 4)`` float32 x1, y1, x2, y2 pixels.
            Detections outside the window are ignored.
        t_end: the window's end (seconds); span_s: its length (seconds).

    Returns:
        ``(16,)`` float32. With nobody in the window every value is 0 except the pair distances (:data:`FAR`).
    """
    lo = t_end - span_s - 1e-9
    per_frame: dict[float, list[tuple[int, np.ndarray]]] = {}
    wr, an, bs, limb, kscore = [], [], [], [], []
    n_tracks = 0
    for k, (times, kps, boxes) in enumerate(tracks):
        times = np.asarray(times, np.float64)
        m = (times > lo) & (times <= t_end + 1e-9)
        if not m.any():
            continue
        n_tracks += 1
        tt, kk, bb = times[m], np.asarray(kps, np.float32)[m], np.asarray(boxes, np.float32)[m]
        for t, b in zip(tt, bb):
            per_frame.setdefault(round(float(t), 6), []).append((k, b))
        kscore.append(float(kk[..., 2].mean()))
        if len(tt) < 2:
            continue
        h = np.maximum(bb[1:, 3] - bb[1:, 1], 1.0)
        dt = np.maximum(np.diff(tt), 1e-3)
        seen = kk[..., 2] > 0
        for sel, acc in ((_WRISTS, wr), (_ANKLES, an)):
            ok = seen[1:, sel] & seen[:-1, sel]
            d = np.linalg.norm(kk[1:, sel, :2] - kk[:-1, sel, :2], axis=-1) / h[:, None] / dt[:, None]
            acc.append(d[ok])
        cen = (bb[:, :2] + bb[:, 2:]) / 2
        bs.append(np.linalg.norm(np.diff(cen, axis=0), axis=1) / h / dt)
        hip_ok = seen[:, _HIPS].all(-1)
        hip = kk[:, _HIPS, :2].mean(1)
        rel = kk[:, _WRISTS + _ANKLES, :2] - hip[:, None]
        ok = (seen[1:, _WRISTS + _ANKLES] & seen[:-1, _WRISTS + _ANKLES]) & (hip_ok[1:] & hip_ok[:-1])[:, None]
        d = np.linalg.norm(rel[1:] - rel[:-1], axis=-1) / h[:, None] / dt[:, None]
        limb.append(d[ok])
    counts = np.array([len(v) for v in per_frame.values()], np.float64)
    closest, ious, closest_t = [], [], []
    for t in sorted(per_frame):
        items = per_frame[t]
        if len(items) < 2:
            continue
        b = np.stack([x[1] for x in items])
        cen = (b[:, :2] + b[:, 2:]) / 2
        hh = np.maximum(b[:, 3] - b[:, 1], 1.0)
        d = np.linalg.norm(cen[:, None] - cen[None], axis=-1) / ((hh[:, None] + hh[None]) / 2)
        np.fill_diagonal(d, np.inf)
        closest.append(min(float(d.min()), FAR))
        closest_t.append(t)
        iou = _iou_matrix(b)
        np.fill_diagonal(iou, 0.0)
        ious.append(float(iou.max()))
    closing = 0.0
    if len(closest) >= 2:
        rates = -np.diff(closest) / np.maximum(np.diff(closest_t), 1e-3)
        closing = float(np.clip(rates.max(), 0.0, 50.0))
    cat = lambda parts: np.concatenate(parts) if parts else np.zeros(0)  # noqa: E731
    mean_p = float(counts.mean()) if len(counts) else 0.0
    out = [mean_p, float(counts.max()) if len(counts) else 0.0, float((counts >= 2).mean()) if len(counts) else 0.0,
           n_tracks / max(mean_p, 1.0) if n_tracks else 0.0,
           max((_p90(v) for v in wr), default=0.0), float(np.mean([_p90(v) for v in wr])) if wr else 0.0,
           max((_p90(v) for v in an), default=0.0), max((_p90(v) for v in bs), default=0.0),
           max((_p90(v) for v in limb), default=0.0), float(cat(limb).mean()) if len(cat(limb)) else 0.0,
           min(closest) if closest else FAR, float(np.mean(closest)) if closest else FAR, closing,
           max(ious) if ious else 0.0, float(np.mean(ious)) if ious else 0.0,
           float(np.mean(kscore)) if kscore else 0.0]
    return np.clip(np.nan_to_num(np.asarray(out, np.float32), nan=0.0, posinf=50.0), -50.0, 50.0)


#: Names of the :func:`bone_features` values, in order: how fast the bones of the arms, the legs and the torso turn
#: (rad/s; 90th percentile and maximum), turn faster or slower (rad/s², 90th percentile) and stretch (box heights
#: per second, 90th percentile), over everyone in the window.
BONE_FEATURES = ("arm_turn_p90", "arm_turn_max", "leg_turn_p90", "leg_turn_max", "torso_turn_p90",
                 "arm_turn_acc_p90", "leg_turn_acc_p90", "arm_stretch_p90", "leg_stretch_p90")
#: (joint, parent) pairs of :data:`core.layouts.COMMON_JOINTS`: the arms' four bones, the legs' four, the torso's
#: four (shoulder to hip on each side, shoulder to shoulder, hip to hip)
_ARM_BONES = ((_J["ELBOW_LEFT"], _J["SHOULDER_LEFT"]), (_J["WRIST_LEFT"], _J["ELBOW_LEFT"]),
              (_J["ELBOW_RIGHT"], _J["SHOULDER_RIGHT"]), (_J["WRIST_RIGHT"], _J["ELBOW_RIGHT"]))
_LEG_BONES = ((_J["KNEE_LEFT"], _J["HIP_LEFT"]), (_J["ANKLE_LEFT"], _J["KNEE_LEFT"]),
              (_J["KNEE_RIGHT"], _J["HIP_RIGHT"]), (_J["ANKLE_RIGHT"], _J["KNEE_RIGHT"]))
_TORSO_BONES = ((_J["HIP_LEFT"], _J["SHOULDER_LEFT"]), (_J["HIP_RIGHT"], _J["SHOULDER_RIGHT"]),
                (_J["SHOULDER_RIGHT"], _J["SHOULDER_LEFT"]), (_J["HIP_RIGHT"], _J["HIP_LEFT"]))
_BONES = np.array(_ARM_BONES + _LEG_BONES + _TORSO_BONES)
#: A bone is seen when both its joints score above this.
BONE_MIN_SCORE = 0.3


def bone_features(tracks: list[tuple[np.ndarray, np.ndarray, np.ndarray]], t_end: float, span_s: float = 1.0
                  ) -> np.ndarray:
    """The bone stream of the people seen in ``(t_end - span_s, t_end]``: :data:`BONE_FEATURES`.

    ST-GCN++ and 2s-AGCN feed a bone stream beside the joints: each bone is the vector from a joint to its parent,
    so the input says how limbs turn, not only where joints go (Shi et al., "Two-Stream Adaptive Graph
    Convolutional Networks", CVPR 2019; Duan et al., "PYSKL", ACM MM 2022). For a scene vector it becomes how fast
    the bones turn and stretch. Per track, between consecutive detections in the window where both ends of a bone
    are seen (:data:`BONE_MIN_SCORE`), come the bone's angular speed (the angle change wrapped to [-pi, pi], in
    rad/s), its angular acceleration (rad/s², from three detections) and its length change (box heights per second,
    the later box). Appended to the fight model's scene + motion vectors it raised the cross-validated clip ROC-AUC
    offline in 7 of 8 seeds (``bench/fight_bones.py``, 0.852 → 0.861), but not through the live path
    (``bench/fight_cv.py``, 0.866 → 0.868, balanced accuracy 0.775 → 0.774; 2026-12-04): the shipped recipe does not
    use it.

    Args:
        tracks: as :func:`scene_features`.
        t_end: the window's end (seconds); span_s: its length (seconds).

    Returns:
        ``(9,)`` float32, 0 where no bone was seen twice.
    """
    lo = t_end - span_s - 1e-9
    turn, acc, stretch = [], [], []
    for times, kps, boxes in tracks:
        times = np.asarray(times, np.float64)
        m = (times > lo) & (times <= t_end + 1e-9)
        if m.sum() < 2:
            continue
        kk, bb, tt = np.asarray(kps, np.float32)[m], np.asarray(boxes, np.float32)[m], times[m]
        vec = kk[:, _BONES[:, 0], :2] - kk[:, _BONES[:, 1], :2]  # (L, 12, 2)
        seen = (kk[:, _BONES[:, 0], 2] > BONE_MIN_SCORE) & (kk[:, _BONES[:, 1], 2] > BONE_MIN_SCORE)
        h = np.maximum(bb[:, 3] - bb[:, 1], 1.0)
        ang = np.where(seen, np.arctan2(vec[..., 1], vec[..., 0]), np.nan)
        length = np.where(seen, np.linalg.norm(vec, axis=-1) / h[:, None], np.nan)
        dt = np.maximum(np.diff(tt), 1e-3)[:, None]
        signed = ((np.diff(ang, axis=0) + np.pi) % (2 * np.pi) - np.pi) / dt
        turn.append(np.abs(signed))
        stretch.append(np.abs(np.diff(length, axis=0)) / dt)
        if len(signed) > 1:
            acc.append(np.abs(np.diff(signed, axis=0)) / dt[1:])
    n = len(_BONES)
    cat = lambda parts: np.concatenate(parts) if parts else np.zeros((0, n))  # noqa: E731
    turn_a, acc_a, stretch_a = cat(turn), cat(acc), cat(stretch)
    arms, legs, torso = slice(0, 4), slice(4, 8), slice(8, 12)

    def q(x: np.ndarray, pct: float) -> float:
        x = x[np.isfinite(x)]
        return float(np.percentile(x, pct)) if len(x) else 0.0

    out = [q(turn_a[:, arms], 90), q(turn_a[:, arms], 100), q(turn_a[:, legs], 90), q(turn_a[:, legs], 100),
           q(turn_a[:, torso], 90), q(acc_a[:, arms], 90), q(acc_a[:, legs], 90), q(stretch_a[:, arms], 90),
           q(stretch_a[:, legs], 90)]
    return np.clip(np.nan_to_num(np.asarray(out, np.float32), nan=0.0, posinf=1000.0), 0.0, 1000.0)


#: A person whose nearest other person is within this many box heights (box-centre distance, mean height of
#: the two) takes part in the scene event; the others are bystanders.
NEAR = 1.5


def scene_size(motion: bool = False, bones: bool = False) -> int:
    """Length of a scene vector: the :data:`SCENE_FEATURES`, plus the window mean and maximum of each
    :data:`core.motion.MOTION_FEATURES` when ``motion``, plus the :data:`BONE_FEATURES` when ``bones``."""
    return len(scene_feature_names(motion, bones))


def scene_feature_names(motion: bool = False, bones: bool = False) -> tuple[str, ...]:
    """Names of the :func:`scene_size` values of a scene vector, in order: scene, motion, bones."""
    names = SCENE_FEATURES
    if motion:
        from .motion import MOTION_FEATURES

        names += tuple(f"{n}_mean" for n in MOTION_FEATURES) + tuple(f"{n}_max" for n in MOTION_FEATURES)
    return names + (BONE_FEATURES if bones else ())


class SceneBuffer:
    """The detections of the last ``span_s`` seconds of a scene, by raw track ID (no stitching), for
    :func:`scene_features`. Live (:class:`core.live.detector.LabelTracker`), offline (:func:`cache_scene_trace`
    in :mod:`core.fight`) and the player feed it frame by frame in order, so all three compute the same vectors.

    Args:
        span_s: seconds kept (the window of the features).
        motion: the frames also carry :data:`core.motion.MOTION_FEATURES` vectors (:meth:`add`'s ``motion``);
            :meth:`features` then appends their mean and maximum over the window (:func:`scene_size`).
        bones: :meth:`features` also appends the window's :func:`bone_features` (after the motion statistics).
    """

    def __init__(self, span_s: float = 1.0, motion: bool = False, bones: bool = False):
        import collections

        self.span_s = float(span_s)
        self.motion = bool(motion)
        self.bones = bool(bones)
        self._frames: collections.deque = collections.deque()  # (time_s, [(track_id, kps13, box)])
        self._motion: collections.deque = collections.deque()  # (M,) float32, one per entry of _frames

    def add(self, time_s: float, persons: list[tuple[int, np.ndarray, np.ndarray]],
            motion: np.ndarray | None = None) -> None:
        """Add one frame: ``[(track_id, kps (13, 3) float32 common-13, box (4,) float32)]`` at ``time_s`` (seconds,
        increasing), and, for a motion buffer, the frame's ``(M,)`` float32 motion vector (None: zeros); frames
        older than the span are dropped."""
        self._frames.append((float(time_s), persons))
        if self.motion:  # one motion vector per buffered frame: both deques drop their oldest together
            if motion is None:
                from .motion import MOTION_FEATURES

                motion = np.zeros(len(MOTION_FEATURES), np.float32)
            self._motion.append(np.asarray(motion, np.float32))
        while self._frames and self._frames[0][0] <= time_s - self.span_s - 1e-9:
            self._frames.popleft()
            if self.motion:
                self._motion.popleft()

    def add_poses(self, poses, motion: np.ndarray | None = None) -> None:
        """:meth:`add` one frame of a skeleton cache or a pose estimator: ``poses`` a
        :class:`core.pose.base.FramePoses` (any layout, keypoints in pixels; converted to common-13), at its
        ``time_s``."""
        from .layouts import to_common

        self.add(poses.time_s, [(p.track_id, to_common(np.asarray(p.keypoints, np.float32)[None], poses.layout)[0],
                                 p.bbox) for p in poses.persons], motion)

    def clear(self) -> None:
        """Forget everything (a new source)."""
        self._frames.clear()
        self._motion.clear()

    def frames(self) -> list[tuple[float, list[tuple[int, np.ndarray, np.ndarray]]]]:
        """The buffered frames, oldest first: ``[(time_s, [(track_id, kps, box)])]``."""
        return list(self._frames)

    def tracks(self) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """The buffered detections as :func:`scene_features` tracks ``[(times, kps, boxes)]``."""
        by: dict[int, list] = {}
        for t, persons in self._frames:
            for tid, kp, box in persons:
                by.setdefault(int(tid), []).append((t, kp, box))
        return [(np.array([e[0] for e in v]), np.stack([e[1] for e in v]), np.stack([e[2] for e in v]))
                for v in by.values()]

    def multi_person(self) -> bool:
        """True when some buffered frame holds two or more people (a fight needs two)."""
        return any(len(p) >= 2 for _t, p in self._frames)

    def features(self, time_s: float) -> np.ndarray:
        """The scene vector at ``time_s``: :func:`scene_features` of the buffer, then (a motion buffer) the mean
        and the maximum of the window's motion vectors, then (a bones buffer) :func:`bone_features` —
        ``(scene_size(self.motion, self.bones),)`` float32."""
        tracks = self.tracks()
        parts = [scene_features(tracks, time_s, self.span_s)]
        if self.motion:
            if self._motion:
                m = np.stack(self._motion)
            else:
                from .motion import MOTION_FEATURES

                m = np.zeros((1, len(MOTION_FEATURES)), np.float32)
            parts += [m.mean(0), m.max(0)]
        if self.bones:
            parts.append(bone_features(tracks, time_s, self.span_s))
        return np.concatenate(parts).astype(np.float32) if len(parts) > 1 else parts[0]


def nearest_pair(boxes: dict[int, np.ndarray]) -> tuple[int, int] | None:
    """The two track IDs of a frame whose boxes are closest (box-centre distance in mean box heights); None with
    fewer than two people (``boxes``: track ID → ``(4,)`` x1, y1, x2, y2 pixels)."""
    ids = list(boxes)
    if len(ids) < 2:
        return None
    b = np.stack([np.asarray(boxes[i], np.float32) for i in ids])
    cen = (b[:, :2] + b[:, 2:]) / 2
    hh = np.maximum(b[:, 3] - b[:, 1], 1.0)
    d = np.linalg.norm(cen[:, None] - cen[None], axis=-1) / ((hh[:, None] + hh[None]) / 2)
    np.fill_diagonal(d, np.inf)
    i, j = np.unravel_index(int(np.argmin(d)), d.shape)
    return ids[i], ids[j]


def involved(boxes: dict[int, np.ndarray], near: float = NEAR) -> set[int]:
    """Track IDs of a frame whose nearest other person is within ``near`` box heights (``boxes``: track ID →
    ``(4,)`` x1, y1, x2, y2 pixels)."""
    ids = list(boxes)
    if len(ids) < 2:
        return set()
    b = np.stack([np.asarray(boxes[i], np.float32) for i in ids])
    cen = (b[:, :2] + b[:, 2:]) / 2
    hh = np.maximum(b[:, 3] - b[:, 1], 1.0)
    d = np.linalg.norm(cen[:, None] - cen[None], axis=-1) / ((hh[:, None] + hh[None]) / 2)
    np.fill_diagonal(d, np.inf)
    return {ids[k] for k in range(len(ids)) if d[k].min() <= near}

"""Fight detection from skeletons: clip data, the scene model's training, scene scores and alert calibration.

The recipe (what :data:`RECIPE` holds, and why; figures in the fight model card and ``docs/BENCHMARKS.md``):

- **Data**: clips with one label each (fight / no fight: the Surveillance Camera Fight Dataset, whose clips are
  the fight; plus extra no-fight scenes such as a street crowd or a shop, :data:`HARD_NEGATIVES`), their poses
  recorded through the live detector's own pose path (:func:`core.live.record.record_live_poses`: INT8
  YOLO-pose, ByteTrack), so the model is trained on the skeletons and tracks it will see live.
- **The event is a scene**: every moment is summed up by :func:`core.scene.scene_features` over the last
  ``span_s`` seconds (about one second, by time, whatever the video's frame rate: a training set mixing 10, 25
  and 30 fps clips and a 50 fps street scene sees windows of the same seconds): people present, how fast their
  wrists, ankles and boxes move, how close the closest two are and how fast they close in, how much boxes
  overlap, how often the tracker loses people. No vector is made while nobody in the window has company: a
  fight needs two.
- **Motion from pixels**: each frame's dense optical flow (:mod:`core.motion`: how fast and how abruptly the
  frame and the body parts inside each box move) is summed up over the same window and appended to the scene
  vector, and the vectors are not gated on two people being detected — many fights are missed by the pose
  model (small, distant, on the floor) but still move.
- **Model**: :class:`models.scene_forest.SceneForest` (extremely randomised trees, scikit-learn, stored as
  tensors), every vector of a clip labelled with the clip's label, each clip weighing the same and the two
  classes balanced. Live, its probability is averaged over the last ``smooth_windows`` frames: the *scene score*.
- **Alerts**: one per episode, when the scene score stays at or above a threshold for a hold time
  (:class:`core.live.detector.LabelTracker`). Thresholds and holds are chosen on validation source groups,
  never on the clips a fold tests, by replaying their recorded poses through that same LabelTracker
  (:func:`scene_trace`), as operating points (:func:`operating_points`); the default is the most sensitive
  point with at most :data:`FALSE_ALERT_BUDGET` of the validation no-fight clips alerting.

Measured and not kept (``bench/fight_cv.py``, the model card): a two-person Transformer over one-second pair
windows (each person with its nearest other person, NTU-style two-person input, trained by multiple-instance
learning on the clip labels) reached a cross-validated clip ROC-AUC of about 0.67-0.73, below the hand-made
floor; the skeleton-only scene vectors reach about 0.80 (with :class:`models.scene_mlp.SceneMLP`, the recipe
before the motion features: ``{"model": "scene_mlp", "motion": False, "gate": True}``), scene + motion vectors
0.86. A bone stream (``{"bones": True}``, :func:`core.scene.bone_features`) gave 0.868 and balanced accuracy 0.774
against the shipped 0.866 / 0.775 in the same folds (2026-12-04): no gain, so it is off in :data:`RECIPE`.

Splits follow source videos (``source_group`` of ``fight/surv_fight_sources.csv``): clips of one source video
share camera, scene and often people, so a split by clip would let the model recognise the scene.
"""

from __future__ import annotations

import csv
import hashlib
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from .cache import SkeletonCache
from .layouts import to_common
from .scene import SceneBuffer, scene_size
from .training import TrainingError

#: Class names of fight models (index = class id).
FIGHT_LABELS = ("normal", "fight")
#: Largest share of validation no-fight clips that may raise an alert at the default operating point.
FALSE_ALERT_BUDGET = 0.10

#: The shipped recipe (see the module docstring): scene vectors over ``span_s`` seconds, ``rate`` vectors per
#: second of each clip in training; SceneMLP settings; ``epochs`` over batches of ``batch_clips`` clips (no
#: early stopping: the validation groups choose the alert operating points); Gaussian noise of ``noise`` standard
#: deviations on the standardised vectors; ``extra_weight``: how many fight-dataset clips one hard-negative scene
#: weighs; hold times tried by the calibration. ``motion``: the scene vectors also hold optical-flow statistics
#: (:mod:`core.motion`); ``gate``: no score while nobody in the window has company (the motion model judges scenes
#: whose people the pose model missed, so it is not gated); ``forest``: the ExtraTrees settings of
#: ``scene_forest`` (``model_config`` is ``scene_mlp``'s).
RECIPE: dict = {
    "model": "scene_forest", "span_s": 1.0, "rate": 15.0, "motion": True, "gate": False,
    "forest": {"trees": 100, "min_samples_leaf": 20, "max_features": 0.3},
    "model_config": {"hidden": 64, "layers": 2, "dropout": 0.2, "members": 3},
    "epochs": 60, "batch_clips": 16, "lr": 1e-3, "weight_decay": 1e-3, "noise": 0.05, "extra_weight": 8.0,
    "smooth_windows": 10, "holds_s": [0.0, 0.2, 0.4, 0.6, 0.8, 1.0],
}


# ---------------------------------------------------------------------------------------- clips
@dataclass
class FightClip:
    """One labelled clip and its recorded poses.

    Attributes:
        name: file name; path: the video; label: 1 fight, 0 no fight; group: split unit (source video).
        cache: its poses (:func:`core.live.record.record_live_poses`), None until loaded.
        extra: True for a hard negative that is not part of the fight dataset (always in training, never
            in a cross-validation test fold).
        motion: ``(F, M)`` float32 per-frame motion features (:func:`core.motion.video_motion`), None until loaded.
    """

    name: str
    path: Path
    label: int
    group: str
    cache: SkeletonCache | None = None
    extra: bool = False
    motion: np.ndarray | None = None


def surveillance_clips(shared: str | Path) -> list[FightClip]:
    """The Surveillance Camera Fight Dataset clips of ``shared`` (``data/videos/fight/fi*.mp4`` and
    ``data/videos/normal/nofi*.mp4``, labels and source groups from ``fight/surv_fight_sources.csv``; a clip
    without a source group is its own group).

    Raises:
        FileNotFoundError: the sources file is missing.
    """
    root = Path(shared) / "data" / "videos"
    src = root / "fight" / "surv_fight_sources.csv"
    out = []
    with open(src, newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            label = 1 if row["label"] == "fight" else 0
            folder = "fight" if label else "normal"
            group = (row.get("source_group") or "").strip() or f"clip:{row['clip']}"
            p = root / folder / row["clip"]
            if p.is_file():
                out.append(FightClip(row["clip"], p, label, f"surv:{group}"))
    return out


#: Extra no-fight scenes of ``shared/data/videos`` used as hard negatives (crowds, a shop).
HARD_NEGATIVES = ("normal/openpose_examples_video.avi", "normal/vtest_pets2009_480x360.avi",
                  "normal/stock_shop_browsing_normal.mp4", "theft/stock_cctv_shoplifting_candy.mp4")


def hard_negative_clips(shared: str | Path) -> list[FightClip]:
    """The :data:`HARD_NEGATIVES` that exist under ``shared/data/videos`` (label 0, ``extra=True``)."""
    root = Path(shared) / "data" / "videos"
    return [FightClip(Path(r).name, root / r, 0, f"extra:{Path(r).stem}", extra=True)
            for r in HARD_NEGATIVES if (root / r).is_file()]


def load_poses(clips: Sequence[FightClip], cfg=None, progress: Callable[[int, int, str], None] | None = None,
               motion: bool = True) -> list[FightClip]:
    """Record (or read from the cache) the live poses of every clip (:func:`core.live.record.record_live_poses`)
    and, with ``motion``, its per-frame motion features (:func:`core.motion.video_motion`, cached too).

    Returns the clips with ``cache`` (and ``motion``) set. Raises VideoError/ModelError as the live detector."""
    from .live.record import record_live_poses
    from .motion import video_motion

    out = []
    for i, c in enumerate(clips):
        if progress:
            progress(i, len(clips), c.name)
        cache = c.cache or record_live_poses(c.path, cfg)
        mot = c.motion if c.motion is not None or not motion else video_motion(c.path, cache)
        out.append(replace(c, cache=cache, motion=mot))
    return out


def clip_vectors(cache: SkeletonCache, span_s: float = 1.0, rate: float = 15.0, motion: np.ndarray | None = None,
                 gate: bool = True, bones: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """The scene vectors of a clip in training: the clip's frames fed in order to a :class:`SceneBuffer` (as live),
    one scene vector at the latest frame at or before every ``1 / rate`` seconds from ``span_s`` on (one vector
    per frame at most; one at the last frame for a clip shorter than ``span_s``), kept, with ``gate``, only where
    the window holds a frame with two or more people.

    Args:
        motion: ``(F, M)`` float32 per-frame motion features of the clip (:func:`core.motion.video_motion`), or
            None for skeleton-only vectors.
        bones: append the bone stream (:func:`core.scene.bone_features`).

    Returns:
        ``vectors (N, scene_size(motion is not None, bones))`` float32 and ``times (N,)`` float64 seconds.
    """
    buf = SceneBuffer(span_s, motion=motion is not None, bones=bones)
    fps = cache.fps
    end = (cache.frame_count - 1) / fps if cache.frame_count else 0.0
    targets = list(np.arange(span_s, end + 1e-9, 1.0 / rate)) if end >= span_s else [end]
    vecs, times, k = [], [], 0
    for f in range(cache.frame_count):
        t = f / fps
        buf.add_poses(cache.poses(f), motion[f] if motion is not None and f < len(motion) else None)
        nxt = (f + 1) / fps if f + 1 < cache.frame_count else np.inf
        if k < len(targets) and targets[k] < nxt - 1e-9:  # the latest frame at or before the next sample time
            if not gate or buf.multi_person():
                vecs.append(buf.features(t))
                times.append(t)
            while k < len(targets) and targets[k] < nxt - 1e-9:
                k += 1
    v = (np.stack(vecs).astype(np.float32) if vecs
         else np.zeros((0, scene_size(motion is not None, bones)), np.float32))
    return v, np.asarray(times, np.float64)


# ---------------------------------------------------------------------------------------- training
@dataclass
class FightModel:
    """A trained scene model and its settings (turned into a checkpoint by :meth:`checkpoint`)."""

    model: object
    recipe: dict
    model_config: dict
    metrics: dict = field(default_factory=dict)
    operating_points: list[dict] = field(default_factory=list)
    default_point: int = 0

    def checkpoint(self, data_hash: str = "", notes: dict | None = None):
        """A :class:`core.classify.Checkpoint` (format 2) of this model with its alert operating points."""
        from .classify import Checkpoint

        r = self.recipe
        spec = {"normalisation": "none", "velocity": False, "score": False, "scene": True,
                "span_s": float(r["span_s"]), "rate": float(r["rate"]), "motion": bool(r.get("motion", False)),
                "gate": bool(r.get("gate", True)), "bones": bool(r.get("bones", False))}
        pts = self.operating_points or [{"threshold": 0.5, "hold_s": 0.0, "tpr": 0.0, "fpr": 0.0, "name": "1"}]
        alert = {"operating_points": pts, "default": int(self.default_point), "smooth_windows": int(r["smooth_windows"]),
                 "scene_labels": ["fight"], "false_alert_budget": FALSE_ALERT_BUDGET}
        return Checkpoint(r["model"], dict(self.model_config), list(FIGHT_LABELS), 1, 1, "none",
                          {k: v.detach().clone() for k, v in self.model.state_dict().items()}, "common13",
                          {**self.metrics, **(notes or {})}, features=spec,
                          in_channels=scene_size(bool(r.get("motion", False)), bool(r.get("bones", False))),
                          data_hash=data_hash, train_config=json.loads(json.dumps(r)),
                          created=time.strftime("%Y-%m-%dT%H:%M:%S%z"), fps=None, alert=alert)


def data_hash(clips: Sequence[FightClip]) -> str:
    """SHA-256 over the clips' names, labels, groups and pose arrays."""
    h = hashlib.sha256()
    for c in clips:
        h.update(f"{c.name}|{c.label}|{c.group};".encode())
        if c.cache is not None:
            h.update(np.ascontiguousarray(c.cache.keypoints).tobytes())
    return h.hexdigest()


def train_fight_model(clips: Sequence[FightClip], recipe: dict | None = None, seed: int = 0,
                      on_epoch: Callable[[dict], None] | None = None, stop: Callable[[], bool] | None = None
                      ) -> FightModel:
    """Train a scene (fight) model on labelled clips (see the module docstring).

    Args:
        clips: training clips with ``cache`` set (both classes).
        recipe: :data:`RECIPE` with overrides; seed: seeds torch and numpy (same data + seed: same model).
        on_epoch: called with ``{"epoch", "epochs", "loss", "elapsed_s"}`` after each epoch; stop: returns True to
            stop after the current epoch.

    Returns:
        The :class:`FightModel` (without operating points: :func:`train_calibrated` adds them).

    Raises:
        TrainingError: a class without clips that have two people at once (a gated recipe), or a motion recipe
            and a clip without its motion features.
    """
    import torch

    import models

    r = {**RECIPE, **(recipe or {})}
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    use_motion, gate, bones = bool(r.get("motion", False)), bool(r.get("gate", True)), bool(r.get("bones", False))
    bags, labels, weights = [], [], []
    for c in clips:
        if use_motion and c.motion is None:
            raise TrainingError(f"{c.name}: the recipe uses motion features and this clip has none (load_poses)")
        v, _t = clip_vectors(c.cache, float(r["span_s"]), float(r["rate"]), c.motion if use_motion else None, gate,
                             bones)
        if len(v):
            bags.append(v)
            labels.append(int(c.label))
            weights.append(float(r.get("extra_weight", 1.0)) if c.extra else 1.0)
    labels = np.asarray(labels)
    if len(set(labels.tolist())) < 2:
        raise TrainingError("fight training needs fight and no-fight clips in which two people are seen at once")
    if r["model"] == "scene_forest":
        return train_forest(bags, labels, weights, r, seed)
    cfg = {"num_classes": len(FIGHT_LABELS), "in_channels": scene_size(use_motion, bones), "num_joints": 1,
           **r["model_config"]}
    model = models.build_model(r["model"], cfg)
    allv = np.concatenate(bags)
    model.set_standardisation(torch.from_numpy(allv.mean(0)), torch.from_numpy(allv.std(0)))
    std = torch.from_numpy(np.maximum(allv.std(0), 1e-6))
    tensors = [torch.from_numpy(b) for b in bags]
    opt = torch.optim.AdamW(model.parameters(), lr=float(r["lr"]), weight_decay=float(r["weight_decay"]))
    pos_w = float((labels == 0).sum()) / max(float((labels == 1).sum()), 1.0)
    epochs = int(r["epochs"])
    t0 = time.monotonic()
    for epoch in range(1, epochs + 1):
        model.train()
        tot = 0.0
        order = rng.permutation(len(bags))
        for sel in np.array_split(order, max(1, len(order) // int(r["batch_clips"]))):
            losses = []
            for i in sel:
                x = tensors[i] + float(r["noise"]) * std * torch.randn_like(tensors[i])
                y = torch.full((len(x),), int(labels[i]), dtype=torch.long)
                loss = torch.nn.functional.cross_entropy(model(x), y)
                losses.append(loss * (pos_w if labels[i] else 1.0) * weights[i])
            loss = torch.stack(losses).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            tot += float(loss.detach()) * len(sel)
        ev = {"epoch": epoch, "epochs": epochs, "loss": tot / len(bags), "elapsed_s": round(time.monotonic() - t0, 1)}
        if on_epoch:
            on_epoch(ev)
        if stop and stop():
            break
    model.eval()
    metrics = {"train_clips": len(bags), "train_vectors": int(len(allv)), "epochs_run": epoch,
               "train_time_s": round(time.monotonic() - t0, 1)}
    return FightModel(model, r, cfg, metrics)


def train_forest(bags: list[np.ndarray], labels: np.ndarray, weights: list[float], r: dict, seed: int
                 ) -> FightModel:
    """The ``scene_forest`` branch of :func:`train_fight_model`: scikit-learn's ExtraTrees on every vector, each
    clip weighing the same (its vectors share the clip's weight), the classes balanced, then converted to a
    :class:`models.scene_forest.SceneForest`.

    Args:
        bags: one ``(N_i, F)`` float32 array of vectors per clip; labels: ``(clips,)`` 0/1; weights: each clip's
            weight (``extra_weight`` for a hard negative, else 1); r: the recipe (:data:`RECIPE` with overrides,
            ``forest`` settings); seed: the forest's random state.

    Returns:
        The :class:`FightModel` (``model.probabilities(x)``: ``(N, 2)`` class probabilities).
    """
    from sklearn.ensemble import ExtraTreesClassifier

    from models.scene_forest import SceneForest

    t0 = time.monotonic()
    fo = {**RECIPE["forest"], **(r.get("forest") or {})}
    pos_w = float((labels == 0).sum()) / max(float((labels == 1).sum()), 1.0)
    X = np.concatenate(bags)
    y = np.concatenate([np.full(len(b), lab) for b, lab in zip(bags, labels)])
    w = np.concatenate([np.full(len(b), wt * (pos_w if lab else 1.0) / len(b))
                        for b, lab, wt in zip(bags, labels, weights)])
    et = ExtraTreesClassifier(int(fo["trees"]), min_samples_leaf=int(fo["min_samples_leaf"]),
                              max_features=float(fo["max_features"]), random_state=seed, n_jobs=1)
    et.fit(X, y, sample_weight=w)
    model = SceneForest.from_sklearn(et, len(FIGHT_LABELS), X.shape[1]).eval()
    cfg = {"num_classes": len(FIGHT_LABELS), "in_channels": int(X.shape[1]), "num_joints": 1,
           **SceneForest.config_of(et)}
    metrics = {"train_clips": len(bags), "train_vectors": int(len(X)), "epochs_run": 1,
               "train_time_s": round(time.monotonic() - t0, 1)}
    return FightModel(model, r, cfg, metrics)


# ---------------------------------------------------------------------------------------- scene scores + alerts
def scene_trace(classifier, cache: SkeletonCache, live_cfg=None, motion: np.ndarray | None = None
                ) -> tuple[np.ndarray, np.ndarray]:
    """The live scene score of a clip: its recorded poses replayed frame by frame through the live detector's
    :class:`~core.live.detector.LabelTracker` (the same scene buffer, smoothing and gating as live).

    Args:
        classifier: a :class:`core.classify.TrackClassifier` of a scene (fight) model.
        cache: the clip's poses; live_cfg: :class:`LiveConfig` (None: defaults).
        motion: ``(F, M)`` per-frame motion features (a motion model; None: :func:`core.motion.motion_for` of
            the cache's video).

    Returns:
        ``times (F,)`` float64 seconds and ``scores (F,)`` float32: the scene's fight score in each frame
        (0 while no frame of the last second holds two people).
    """
    from .live.detector import LabelTracker, LiveConfig

    lt = LabelTracker(classifier, live_cfg or LiveConfig(classifier=None), cache.fps)
    if lt.scene_motion and motion is None:
        from .motion import motion_for

        motion = motion_for(cache)
    times = np.arange(cache.frame_count, dtype=np.float64) / cache.fps
    scores = np.zeros(cache.frame_count, np.float32)
    for f in range(cache.frame_count):
        lt.update(cache.poses(f), motion[f] if lt.scene_motion and f < len(motion) else None)
        scores[f] = lt.scene_score
    return times, scores


def first_alert(times: np.ndarray, scores: np.ndarray, threshold: float, hold_s: float) -> float | None:
    """Time (s) of the first alert of a scene trace: the first frame at which the score has been at or above
    ``threshold`` for ``hold_s`` seconds (consecutive frames); None: no alert."""
    since = None
    for t, s in zip(times, scores):
        if s >= threshold:
            since = t if since is None else since
            if t - since >= hold_s - 1e-9:
                return float(t)
        else:
            since = None
    return None


def operating_points(traces: Sequence[tuple[np.ndarray, np.ndarray]], labels: Sequence[int],
                     holds_s: Sequence[float] = (0.0, 0.2, 0.4, 0.6, 0.8), budget: float = FALSE_ALERT_BUDGET
                     ) -> tuple[list[dict], int]:
    """Alert operating points of validation clips: for each hold time and each candidate threshold, the share of
    fight clips alerted (``tpr``) and of no-fight clips alerting (``fpr``).

    Kept: the points on the upper-left frontier (no other point has a higher ``tpr`` at the same or a lower
    ``fpr``), ordered from the least to the most sensitive, each ``{"threshold", "hold_s", "tpr", "fpr", "name"}``.
    The default is the most sensitive point with ``fpr <= budget`` (the least sensitive point when none is).

    Returns:
        ``(points, default index)``.

    Raises:
        ValueError: no fight or no no-fight clip.
    """
    labels = np.asarray(labels)
    if not (labels == 1).any() or not (labels == 0).any():
        raise ValueError("operating points need fight and no-fight validation clips")
    cands = []
    allscores = np.unique(np.concatenate([s for _, s in traces] + [np.zeros(1, np.float32)]))
    grid = np.unique(np.clip(np.round(np.quantile(allscores, np.linspace(0, 1, 200)), 3), 0.05, 0.995))
    for hold in holds_s:
        for th in grid:
            alerted = np.array([first_alert(t, s, float(th), float(hold)) is not None for t, s in traces])
            cands.append({"threshold": float(th), "hold_s": float(hold),
                          "tpr": float(alerted[labels == 1].mean()), "fpr": float(alerted[labels == 0].mean())})
    # frontier: for each fpr, the best tpr; then strictly increasing tpr with fpr
    cands.sort(key=lambda p: (p["fpr"], -p["tpr"], -p["threshold"], p["hold_s"]))
    front = []
    for p in cands:
        if not front or p["tpr"] > front[-1]["tpr"]:
            front.append(p)
    for i, p in enumerate(front):
        p["name"] = f"{i + 1}"
    ok = [i for i, p in enumerate(front) if p["fpr"] <= budget + 1e-9]
    return front, (ok[-1] if ok else 0)


# ---------------------------------------------------------------------------------------- the floor
#: Names of :func:`clip_features` (the hand-made baseline of the fight issue: limb speeds, person count,
#: closest-pair distance, box overlap).
CLIP_FEATURES = ("wrist_speed_mean", "wrist_speed_p90", "ankle_speed_mean", "ankle_speed_p90", "persons_mean",
                 "persons_max", "closest_pair_min", "closest_pair_mean", "box_iou_mean", "box_iou_max")


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    ua = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return float(inter / ua) if ua > 0 else 0.0


def clip_features(cache: SkeletonCache) -> np.ndarray:
    """Ten hand-made clip features (:data:`CLIP_FEATURES`) — the floor a learned model must beat.

    Speeds are joint displacements between consecutive detections of a track in box heights per second; the
    closest-pair distance is the smallest box-centre distance of two people in a frame, in box heights (mean of
    the two); box overlap is the largest IoU of two boxes in a frame. Frames with fewer than two people give no
    pair values (a clip with none gets distance 10 and overlap 0).

    Returns:
        ``(10,)`` float64.
    """
    from .layouts import COMMON_JOINTS

    j = {n: i for i, n in enumerate(COMMON_JOINTS)}
    wr, an = [j["WRIST_LEFT"], j["WRIST_RIGHT"]], [j["ANKLE_LEFT"], j["ANKLE_RIGHT"]]
    ws, ans = [], []
    for tid in cache.track_ids():
        frames, kps, box = cache.track(int(tid))
        if len(frames) < 2:
            continue
        c = to_common(kps, cache.layout)
        h = np.maximum(box[:, 3] - box[:, 1], 1.0)
        dt = np.diff(frames) / cache.fps
        for sel, acc in ((wr, ws), (an, ans)):
            ok = (c[1:, sel, 2] > 0) & (c[:-1, sel, 2] > 0)
            d = np.linalg.norm(c[1:, sel, :2] - c[:-1, sel, :2], axis=-1) / h[1:, None] / dt[:, None]
            acc.extend(d[ok].tolist())
    counts = cache.persons_per_frame()
    dists, ious = [], []
    for f in range(cache.frame_count):
        a, b = int(cache.offsets[f]), int(cache.offsets[f + 1])
        if b - a < 2:
            continue
        bx = cache.bbox[a:b]
        cen = (bx[:, :2] + bx[:, 2:]) / 2
        hh = np.maximum(bx[:, 3] - bx[:, 1], 1.0)
        best_d, best_i = np.inf, 0.0
        for p in range(len(bx)):
            for q in range(p + 1, len(bx)):
                best_d = min(best_d, float(np.linalg.norm(cen[p] - cen[q]) / ((hh[p] + hh[q]) / 2)))
                best_i = max(best_i, _iou(bx[p], bx[q]))
        dists.append(best_d)
        ious.append(best_i)
    q = lambda v, f: float(f(v)) if len(v) else 0.0  # noqa: E731
    return np.array([q(ws, np.mean), q(ws, lambda v: np.percentile(v, 90)), q(ans, np.mean),
                     q(ans, lambda v: np.percentile(v, 90)), float(counts.mean()) if len(counts) else 0.0,
                     float(counts.max()) if len(counts) else 0.0, q(dists, np.min) if dists else 10.0,
                     q(dists, np.mean) if dists else 10.0, q(ious, np.mean), q(ious, np.max)], np.float64)


def train_calibrated(clips: Sequence[FightClip], recipe: dict | None = None, seed: int = 0, folds: int = 4,
                     live_cfg=None, budget: float = FALSE_ALERT_BUDGET,
                     progress: Callable[[str], None] | None = None) -> FightModel:
    """Train on all ``clips`` and choose the alert operating points by cross-validation inside them: ``folds``
    models, each trained without one part of the source groups, replay that part (:func:`scene_trace`); the
    pooled traces of every held-out part give the operating points (:func:`operating_points`) of the final model,
    which is trained on all clips. Every fight-dataset clip is thus calibrated on by a model that did not see its
    source video, and the final model uses all the data.

    Raises:
        TrainingError: fewer than ``folds`` source groups with both classes overall, or one class missing.
    """
    import tempfile

    from sklearn.model_selection import StratifiedGroupKFold

    from .classify import TrackClassifier, save_checkpoint

    r = {**RECIPE, **(recipe or {})}
    idx = [i for i, c in enumerate(clips) if not c.extra]
    extra = [i for i, c in enumerate(clips) if c.extra]
    y = np.array([clips[i].label for i in idx])
    groups = np.array([clips[i].group for i in idx])
    if len(set(y.tolist())) < 2 or len(set(groups.tolist())) < folds:
        raise TrainingError(f"fight training needs both classes and at least {folds} source groups")
    traces, labels = [], []
    sgk = StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=seed)
    for k, (tr, va) in enumerate(sgk.split(np.zeros(len(idx)), y, groups)):
        if progress:
            progress(f"calibration model {k + 1} of {folds}")
        fm = train_fight_model([clips[idx[i]] for i in tr] + [clips[i] for i in extra], r, seed=seed + k)
        with tempfile.TemporaryDirectory() as d:
            clf = TrackClassifier(save_checkpoint(fm.checkpoint(), Path(d) / "m.pt"))
        for i in va:
            traces.append(scene_trace(clf, clips[idx[i]].cache, live_cfg, clips[idx[i]].motion))
            labels.append(clips[idx[i]].label)
    if progress:
        progress("final model")
    final = train_fight_model(clips, r, seed=seed)
    pts, default = operating_points(traces, labels, r.get("holds_s", RECIPE["holds_s"]), budget)
    final.operating_points, final.default_point = pts, default
    final.metrics = {**final.metrics, "operating_point": pts[default], "calibration_clips": len(labels),
                     "calibration": f"{folds}-fold by source group inside the training clips",
                     "false_alert_budget": budget}
    return final

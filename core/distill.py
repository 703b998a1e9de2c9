"""Knowledge distillation of a video (RGB or fusion) teacher into a skeleton-only student.

The student (``stgcn``, ``lstm`` or ``transformer``: the per-track skeleton models the live detector runs) learns
from three losses on the same windows of labelled clips (:mod:`core.rgb.clips`):

- the **task loss**: class-weighted cross-entropy with the clip's label (weight ``alpha``);
- **logit distillation**: ``T^2 · KL(softmax(z_teacher / T) ‖ softmax(z_student / T))`` on temperature-softened
  logits (weight ``beta``, temperature ``temperature``) — Hinton, Vinyals and Dean, "Distilling the Knowledge in a
  Neural Network", NIPS Deep Learning Workshop 2015 (arXiv:1503.02531); the ``T^2`` keeps its gradients on the
  scale of the task loss;
- **feature matching** (hints): the mean squared error between the student's pooled features (the input of its
  last linear layer) and the teacher's (the RGB model's pooled features, or the fusion model's fused hidden layer),
  through a learned linear regressor where the widths differ (the identity where they match) — Romero, Ballas,
  Kahou, Chassang, Gatta and Bengio, "FitNets: Hints for Thin Deep Nets", ICLR 2015 (arXiv:1412.6550). The
  teacher's features are standardised per dimension over the training windows first, so the loss does not depend
  on their scale. (The two networks' inner blocks do not correspond — 3D video blocks vs graph or recurrent
  blocks over joints — so only the pooled features are matched.)

The teacher is frozen and runs once per window (no augmentation), so distillation costs one teacher pass per
window plus a skeleton training. Each window's student input is the person's skeleton window ending at the
window's last frame (:func:`core.rgb.clips.skeleton_input` kind ``track``: the clip's track, or the track seen
most in a whole-frame clip), ``window`` samples at ``fps`` per second — what the live path feeds the saved
student (:meth:`core.classify.Checkpoint.step_for`). The student checkpoint is an ordinary skeleton checkpoint
(format 2; ``train_config["distillation"]`` names the teacher, its hash and the loss weights).

Splits, seeding, early stopping on the validation macro-F1, the time limit, events and checkpointing follow
:class:`core.training.Trainer`.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from . import config
from .choices import DISTILL_STUDENTS
from .errors import ModelError
from .features import feature_channels, feature_spec, make_features
from .layouts import COMMON_JOINTS
from .training import (FitLoop, TrainingError, augment, classification_metrics, data_warnings,
                       split_groups)

#: Distillation options as shipped (``distill`` in ``resources/default.yaml``; ``overrides`` of :class:`Distiller`
#: replace them). :func:`resolve_distill_config` uses the settings in force (project and CLI overrides).
DEFAULTS: dict = config.section("distill")
#: Skeleton students (:data:`core.choices.DISTILL_STUDENTS`).
STUDENTS = DISTILL_STUDENTS


def resolve_distill_config(student: str, overrides: dict | None = None) -> dict:
    """The ``distill`` settings in force (:data:`DEFAULTS` as shipped) with ``overrides`` (None values ignored;
    ``features`` and ``model_config`` merged).

    Raises:
        TrainingError: unknown student or option, a negative weight, a temperature <= 0.
    """
    import models

    if student not in STUDENTS:
        raise TrainingError(f"the student must be a skeleton model ({', '.join(STUDENTS)}), not '{student}'")
    cfg = json.loads(json.dumps(config.section("distill")))
    o = {k: v for k, v in (overrides or {}).items() if v is not None}
    cfg["features"] = {**cfg["features"], **(o.pop("features", None) or {})}
    cfg["model_config"] = {**models.DEFAULT_CONFIGS.get(student, {}), **(o.pop("model_config", None) or {})}
    unknown = set(o) - set(cfg)
    if unknown:
        raise TrainingError(f"unknown distillation option(s) {', '.join(sorted(unknown))}")
    cfg.update(o)
    if min(float(cfg["alpha"]), float(cfg["beta"]), float(cfg["gamma"])) < 0 or float(cfg["temperature"]) <= 0:
        raise TrainingError("loss weights must be >= 0 and the temperature > 0")
    if float(cfg["alpha"]) + float(cfg["beta"]) + float(cfg["gamma"]) <= 0:
        raise TrainingError("at least one loss weight must be above 0")
    try:
        cfg["features"] = feature_spec(cfg["features"])
    except ValueError as e:
        raise TrainingError(str(e)) from None
    if student == "stgcn" and int(cfg["window"]) < 9:
        cfg["model_config"].setdefault("temporal_kernel", 3)
    cfg["student"] = student
    return cfg


def load_teacher(path: str | os.PathLike):
    """The teacher: a :class:`core.rgb.infer.VideoClassifier`.

    Raises:
        ModelError: unreadable, or not a video (RGB or fusion) model — one line naming what it is.
    """
    from .classify import load_checkpoint
    from .rgb.infer import VideoClassifier

    ck = load_checkpoint(path)
    if not ck.is_video:
        kind = "a scene (fight) model" if ck.is_scene else f"a skeleton model ({ck.model_name})"
        raise ModelError(f"the teacher must be an RGB or fusion model; {Path(path).name} is {kind}")
    return VideoClassifier(path)


def teacher_outputs(teacher, windows: np.ndarray, skeleton: np.ndarray | None, batch: int = 16
                    ) -> tuple[np.ndarray, np.ndarray]:
    """The frozen teacher's logits ``(N, K)`` and pooled features ``(N, D)`` (float32) of RGB windows
    ``(N, T, H, W, 3)`` uint8 (and a fusion teacher's raw skeleton inputs)."""
    import torch

    from .rgb.clips import to_model_input
    from .rgb.train import skeleton_batch

    m = teacher.model
    m.eval()
    logits, feats = [], []
    with torch.no_grad():
        for b in range(0, len(windows), batch):
            x = to_model_input(windows[b:b + batch])
            if teacher.video.get("kind") == "fusion":
                sk = torch.from_numpy(skeleton_batch(skeleton[b:b + batch], teacher.video["skeleton"]))
                f = m.embed(x, sk)
                z = m.head(f)
            else:
                f = m.embed(x)
                z = m.head(m.drop(f))
            logits.append(z.numpy())
            feats.append(f.numpy())
    return np.concatenate(logits).astype(np.float32), np.concatenate(feats).astype(np.float32)


def distillation_loss(student_logits, teacher_logits, student_feat, teacher_feat, target, alpha: float, beta: float,
                      gamma: float, temperature: float, weight=None):
    """The three-part loss of the module docstring.

    Args:
        student_logits, teacher_logits: ``(N, K)``; student_feat: ``(N, D)`` (already projected);
        teacher_feat: ``(N, D)`` (standardised); target: ``(N,)`` int64; weight: class weights ``(K,)`` or None.

    Returns:
        ``(total, parts)``: a scalar tensor and ``{"task", "kd", "feature"}`` floats.
    """
    import torch.nn.functional as F

    t = float(temperature)
    task = F.cross_entropy(student_logits, target, weight=weight)
    kd = F.kl_div(F.log_softmax(student_logits / t, -1), F.softmax(teacher_logits / t, -1),
                  reduction="batchmean") * t * t
    feat = F.mse_loss(student_feat, teacher_feat)
    total = alpha * task + beta * kd + gamma * feat
    return total, {"task": float(task.detach()), "kd": float(kd.detach()), "feature": float(feat.detach())}


class Distiller(FitLoop):
    """Distil a video teacher into a skeleton student (see the module docstring).

    Args:
        teacher: path of an RGB or fusion checkpoint.
        data: :class:`core.rgb.clips.ClipData` with ``cache`` (skeletons) set on every clip.
        student: ``stgcn``, ``lstm`` or ``transformer``.
        overrides: options replacing :data:`DEFAULTS`.
        out_dir: where the student's ``model.pt`` (best so far) and ``metrics.json`` go (None: no files).
        seed: seeds torch, the split, batch order and augmentation.
        split: ``(train, val)`` clip indices (None: by group, :func:`core.training.split_groups`).
        callbacks: ``{event: [fn(distiller, payload)]}`` (:data:`core.training.EVENTS`).
        progress: ``(done, total, text)`` while the teacher runs over the clips.

    Raises (from the constructor):
        ModelError: a teacher that is not a video model; TrainingError: a single class, clips without skeletons,
        no window, bad options; ClipDataError, VideoError: unreadable clips.
    """

    def __init__(self, teacher: str | os.PathLike, data, student: str = "stgcn", overrides: dict | None = None,
                 out_dir: str | os.PathLike | None = None, seed: int = 0,
                 split: tuple[Sequence[int], Sequence[int]] | None = None,
                 callbacks: dict[str, list[Callable]] | None = None,
                 progress: Callable[[int, int, str], None] | None = None):
        from .rgb.clips import decode_clip, skeleton_input, take_window, window_starts
        from .rgb.train import stride_samples

        self.cfg = resolve_distill_config(student, overrides)
        self.cfg["seed"] = self.seed = int(seed)
        self.teacher_path = Path(teacher)
        self.teacher = load_teacher(teacher)
        if list(self.teacher.label_names) != list(data.label_names):
            missing = [n for n in data.label_names if n not in self.teacher.label_names]
            if missing:
                raise TrainingError(f"the teacher does not know the class(es) {', '.join(missing)} of the data "
                                    f"(teacher: {', '.join(self.teacher.label_names)})")
        self.data = data
        self.out_dir = Path(out_dir) if out_dir is not None else None
        self._init_loop(callbacks)
        self.warnings: list[str] = list(data.warnings)
        present = sorted({c.label for c in data.clips if c.label >= 0})
        if len(present) < 2:
            raise TrainingError("the data has a single class; a classifier needs at least two")
        if any(c.cache is None for c in data.clips):
            raise TrainingError("distillation needs the skeletons of every clip (the student's input)")
        if split is None:
            shim = [SimpleNamespace(group=c.group, labels=np.array([c.label])) for c in data.clips]
            split = split_groups(shim, float(self.cfg["val_fraction"]), seed)
        tv = self.teacher.video
        tk = [self.teacher.label_names.index(n) for n in data.label_names]  # teacher class of each data class
        t_frames, t_fps = int(tv["frames"]), float(tv["fps"])
        spec = {"kind": "track", "window": int(self.cfg["window"]), "fps": float(self.cfg["fps"])}
        parts = {"train": ([], [], [], [], []), "val": ([], [], [], [], [])}
        todo = [("train", int(i)) for i in split[0]] + [("val", int(i)) for i in split[1]]
        for n, (which, i) in enumerate(todo):
            clip = data.clips[i]
            if progress:
                progress(n, len(todo), f"teacher on {clip.name}")
            frames, idx, _ = decode_clip(clip, t_fps, tuple(int(s) for s in tv["size"]))
            stride = self.cfg["train_stride_s"] if which == "train" else self.cfg["stride_s"]
            starts = window_starts(len(frames), t_frames, stride_samples(stride, t_fps))
            if len(starts) == 0:
                self.warnings.append(f"{clip.name} is shorter than half the teacher's window: left out")
                continue
            ends = idx[np.minimum(starts + t_frames - 1, len(idx) - 1)]
            wins = np.stack([take_window(frames, int(s), t_frames) for s in starts])
            tsk = None
            if tv.get("kind") == "fusion":
                tsk = np.stack([skeleton_input(clip, int(e), tv["skeleton"]) for e in ends])
            z, f = teacher_outputs(self.teacher, wins, tsk)
            sk = np.stack([skeleton_input(clip, int(e), spec) for e in ends])
            p = parts[which]
            p[0].append(sk)
            p[1].append(z[:, tk])
            p[2].append(f)
            p[3].append(np.full(len(ends), clip.label, np.int64))
            p[4].append(np.full(len(ends), i, np.int64))

        def cat(p, k, shape):
            return np.concatenate(p[k]) if p[k] else np.zeros(shape, np.float32)

        d = len(COMMON_JOINTS)
        w = int(self.cfg["window"])
        self.x_train, self.z_train, self.f_train, self.y_train, self.c_train = (
            cat(parts["train"], 0, (0, w, d, 3)), cat(parts["train"], 1, (0, len(tk))), cat(parts["train"], 2, (0, 1)),
            cat(parts["train"], 3, (0,)).astype(np.int64), cat(parts["train"], 4, (0,)).astype(np.int64))
        self.x_val, self.z_val, self.f_val, self.y_val, self.c_val = (
            cat(parts["val"], 0, (0, w, d, 3)), cat(parts["val"], 1, (0, len(tk))), cat(parts["val"], 2, (0, 1)),
            cat(parts["val"], 3, (0,)).astype(np.int64), cat(parts["val"], 4, (0,)).astype(np.int64))
        if len(np.unique(self.y_train)) < 2:
            raise TrainingError("the training split has a single class (or no window); add clips of the other classes")
        self.f_mean = self.f_train.mean(0)
        self.f_std = np.maximum(self.f_train.std(0), 1e-6)
        names = data.label_names
        self.summary = {"train": {n: int((self.y_train == k).sum()) for k, n in enumerate(names)},
                        "val": {n: int((self.y_val == k).sum()) for k, n in enumerate(names)}}
        self.warnings += data_warnings(self.summary, names)

    # -- pieces
    def _build(self):
        from .classify import build_classifier, with_graph

        self.model_config = with_graph(self.cfg["student"], {
            "num_classes": len(self.data.label_names), "in_channels": feature_channels(self.cfg["features"]),
            "num_joints": len(COMMON_JOINTS), **self.cfg["model_config"]})  # the graph is stored in the checkpoint
        return build_classifier(self.cfg["student"], self.model_config)

    def student_probs(self, model, x: np.ndarray, batch: int = 512) -> np.ndarray:
        """Softmax probabilities of the student on raw skeleton windows ``(N, T, 13, 3)``."""
        import torch

        model.eval()
        out = []
        with torch.no_grad():
            for b in range(0, len(x), batch):
                out.append(torch.softmax(model(torch.from_numpy(make_features(x[b:b + batch], self.cfg["features"]))),
                                         -1).numpy())
        return np.concatenate(out) if out else np.zeros((0, len(self.data.label_names)), np.float32)

    def evaluate(self, model) -> tuple[dict, float]:
        """Window-level metrics of the student on the validation windows (plus clip-level ``clip_accuracy``,
        ``clip_balanced_accuracy`` and ``teacher_agreement``, the share of windows where student and teacher agree)."""
        from sklearn.metrics import balanced_accuracy_score

        probs = self.student_probs(model, self.x_val)
        y = self.y_val
        m = classification_metrics(y, probs.argmax(1) if len(probs) else np.zeros(0, np.int64), self.data.label_names)
        m["windows"] = m.pop("frames")
        loss = float(-np.log(np.clip(probs[np.arange(len(y)), y], 1e-9, 1)).mean()) if len(y) else 0.0
        if len(y):
            m["teacher_agreement"] = float((probs.argmax(1) == self.z_val.argmax(1)).mean())
            clips = np.unique(self.c_val)
            cp = np.stack([probs[self.c_val == c].mean(0) for c in clips])
            cy = np.array([self.y_val[self.c_val == c][0] for c in clips])
            m["clip_accuracy"] = float((cp.argmax(1) == cy).mean())
            m["clip_balanced_accuracy"] = float(balanced_accuracy_score(cy, cp.argmax(1)))
            m["clips"] = int(len(clips))
        return m, loss

    def checkpoint(self, model, metrics: dict, epoch: int):
        """The student's :class:`core.classify.Checkpoint` (an ordinary skeleton checkpoint)."""
        from .classify import Checkpoint

        cfg = self.cfg
        h = hashlib.sha256(self.teacher_path.read_bytes()).hexdigest() if self.teacher_path.is_file() else ""
        tc = {**json.loads(json.dumps(cfg)), "model": cfg["student"], "preset": "distill",
              "distillation": {"teacher": str(self.teacher_path), "teacher_sha256": h,
                               "teacher_model": self.teacher.ckpt.model_name, "alpha": cfg["alpha"],
                               "beta": cfg["beta"], "gamma": cfg["gamma"], "temperature": cfg["temperature"],
                               "source": "Hinton et al. 2015 (KD) + Romero et al. 2015 (FitNets hints)"}}
        return Checkpoint(cfg["student"], dict(self.model_config), list(self.data.label_names), int(cfg["window"]),
                          1, cfg["features"]["normalisation"],
                          {k: v.detach().clone() for k, v in model.state_dict().items()}, "common13",
                          {**metrics, "epoch": epoch, "split": "validation (held-out videos)"},
                          features=dict(cfg["features"]), in_channels=feature_channels(cfg["features"]),
                          data_hash=self.data.data_hash, train_config=tc,
                          created=time.strftime("%Y-%m-%dT%H:%M:%S%z"), fps=float(cfg["fps"]))

    # -- the loop
    def fit(self) -> dict:
        """Distil; returns the ``done`` payload (as :meth:`core.training.Trainer.fit`, plus the last epoch's
        loss parts in ``metrics["loss_parts"]``)."""
        import torch

        cfg = self.cfg
        torch.manual_seed(self.seed)
        rng = np.random.default_rng(self.seed)
        model = self._build()
        feat: dict = {}
        model.head.register_forward_pre_hook(lambda _m, inp: feat.__setitem__("x", inp[0]))
        d_s = model.head.in_features
        d_t = self.f_train.shape[1]
        proj = torch.nn.Identity() if d_s == d_t else torch.nn.Linear(d_s, d_t)
        k = len(self.data.label_names)
        weight = None
        if cfg["class_weights"]:
            cnt = np.bincount(self.y_train, minlength=k).astype(np.float64)
            weight = torch.tensor(np.where(cnt > 0, cnt.sum() / np.maximum(cnt, 1) / max((cnt > 0).sum(), 1), 0.0),
                                  dtype=torch.float32)
        params = list(model.parameters()) + list(proj.parameters())
        opt = torch.optim.AdamW(params, lr=float(cfg["lr"]), weight_decay=float(cfg["weight_decay"]))
        epochs = int(cfg["epochs"])
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs)
        if self.out_dir is not None:
            self.out_dir.mkdir(parents=True, exist_ok=True)
        self.run_callbacks("on_start", {"model": cfg["student"], "epochs": epochs, "train_windows": int(len(self.y_train)),
                                        "val_windows": int(len(self.y_val)), "label_names": list(self.data.label_names),
                                        "summary": self.summary, "warnings": list(self.warnings),
                                        "teacher": str(self.teacher_path)})
        ft = torch.from_numpy((self.f_train - self.f_mean) / self.f_std).float()
        zt = torch.from_numpy(self.z_train)
        epoch, parts = 0, {}
        t0 = self._start_epochs()
        bs = int(cfg["batch_size"])
        for epoch in range(1, epochs + 1):
            model.train()
            order = rng.permutation(len(self.y_train))
            tot, correct, seen = 0.0, 0, 0
            sums = {"task": 0.0, "kd": 0.0, "feature": 0.0}
            for b in range(0, len(order), bs):
                if self._stop:
                    break
                idx = order[b:b + bs]
                xb = self.x_train[idx]
                if cfg["augment"]:
                    xb = augment(xb, rng)
                x = torch.from_numpy(make_features(xb, cfg["features"]))
                y = torch.from_numpy(self.y_train[idx])
                logits = model(x)
                loss, p = distillation_loss(logits, zt[idx], proj(feat["x"]), ft[idx], y, float(cfg["alpha"]),
                                            float(cfg["beta"]), float(cfg["gamma"]), float(cfg["temperature"]), weight)
                opt.zero_grad()
                loss.backward()
                torch.nn.utils.clip_grad_norm_(params, 5.0)
                opt.step()
                tot += float(loss.detach()) * len(idx)
                for kk in sums:
                    sums[kk] += p[kk] * len(idx)
                correct += int((logits.argmax(1) == y).sum())
                seen += len(idx)
            if self._stop and seen < len(order) and self._has_best:
                self.stop_reason = "stopped"
                break
            sched.step()
            parts = {kk: round(v / max(seen, 1), 5) for kk, v in sums.items()}
            metrics, val_loss = self.evaluate(model)
            if self._end_epoch(model, epoch, epochs, t0, (tot, correct, seen), metrics, val_loss,
                               extra={"loss_parts": parts}):
                break
        return self._finish(model, epoch, epochs, t0, extra_metrics={"loss_parts": parts},
                            extra_json={"teacher": str(self.teacher_path)})

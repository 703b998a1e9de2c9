"""Training of video (RGB clip) classifiers: ``r2plus1d`` and the ``fusion`` of a skeleton stream and RGB.

The same conventions as the skeleton trainer (:class:`core.training.Trainer`): a split by video (source group),
never by window (:func:`core.training.split_groups`, stratified by the group's label); seeded (torch and a
numpy ``Generator``: the same seed and data give the same metrics); class-weighted cross-entropy (each class
weighs the same); AdamW with a cosine schedule and gradient clipping; early stopping on the validation
macro-F1 and a time limit; events through callbacks registered on the trainer (``on_start``, ``on_epoch_end``,
``on_checkpoint``, ``on_done``, with the payload keys of :class:`core.training.Trainer`, so
:func:`core.training.jsonl_callbacks` and the Train panel read them unchanged) and the best checkpoint written
atomically whenever the validation macro-F1 improves.

Data (:mod:`core.rgb.clips`): every clip is decoded once at the model's rate and size. An epoch draws
``windows_per_clip`` random windows of every training clip (window starts every ``train_stride_s`` seconds), so
each clip weighs the same whatever its length; augmentation (training only): horizontal flip, brightness and
contrast jitter of ±``jitter``, a random shift of up to ``shift`` pixels (edge-padded). Validation is
window-level over all windows of the held-out clips (every ``stride_s`` seconds, as prediction), each window with
its clip's label; the metrics also hold the clip-level figures (``clip_accuracy``, ``clip_balanced_accuracy``:
the mean window probability of a clip, argmax).

A fusion model's skeleton stream sees, for every window, the skeleton input of :func:`core.rgb.clips.
skeleton_input` (the person's skeleton window with the feature spec ``skeleton.features``, or the scene vector,
standardised with the training windows' mean and standard deviation inside the scene MLP), precomputed once per
window. ``init_rgb`` (a path to an ``r2plus1d`` checkpoint of the same configuration) starts a fusion model's RGB
stream from that trained RGB model instead of from scratch (two-stream models are commonly initialised from their
single-stream networks, Feichtenhofer et al. 2016), so a fusion run needs fewer epochs.

Memory: before anything is decoded, the decoded clips' bytes and a training step's activations (measured by a
forward pass of one window with hooks, times the batch, twice for the gradients) plus the weights and the AdamW
state are compared with the memory available (``psutil``); too little gives a :class:`core.training.
TrainingError` that says how much is needed.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from .. import config
from ..errors import one_line
from ..features import feature_channels, feature_spec, make_features
from ..training import FitLoop, TrainingError, classification_metrics, data_warnings, split_groups
from .clips import ClipData, decode_clip, skeleton_input, take_window, to_model_input, window_starts

#: Presets of video models as shipped (``video_training`` in ``resources/default.yaml``: one base plus each preset's
#: overrides; see there for what each is for). :func:`resolve_video_config` uses the presets in force
#: (:func:`core.config.presets`, with project and CLI overrides).
PRESETS: dict[str, dict] = config.presets("video_training")


def resolve_video_config(model: str, preset: str = "default", overrides: dict | None = None) -> dict:
    """The full training config of a video model: the preset in force (``video_training`` of the settings), then
    ``overrides`` (``model_config`` and ``skeleton`` merged key by key; None values ignored).

    Raises:
        TrainingError: unknown model, preset or option; bad sizes.
    """
    import models

    if model not in models.VIDEO_MODELS:
        raise TrainingError(f"unknown video model '{model}'; known: {', '.join(models.VIDEO_MODELS)}")
    presets = config.presets("video_training")
    if preset not in presets:
        raise TrainingError(f"unknown preset '{preset}' for video models; known: {', '.join(presets)}")
    cfg = json.loads(json.dumps(presets[preset]))
    o = {k: v for k, v in (overrides or {}).items() if v is not None}
    base = dict(models.DEFAULT_CONFIGS.get(model, {}))
    if model == "fusion":
        base["rgb"] = {**models.DEFAULT_CONFIGS["r2plus1d"], **cfg["model_config"]}
        cfg["model_config"] = {}
    cfg["model_config"] = {**base, **cfg["model_config"], **(o.pop("model_config", None) or {})}
    cfg["skeleton"] = {**cfg["skeleton"], **(o.pop("skeleton", None) or {})}
    unknown = set(o) - set(cfg)
    if unknown:
        raise TrainingError(f"unknown training option(s) {', '.join(sorted(unknown))}")
    cfg.update(o)
    if int(cfg["frames"]) < 1 or float(cfg["fps"]) <= 0 or int(cfg["epochs"]) < 1 or int(cfg["batch_size"]) < 1:
        raise TrainingError("frames, fps, epochs and batch size must be positive")
    if len(cfg["size"]) != 2 or min(int(v) for v in cfg["size"]) < 16:
        raise TrainingError(f"frame size must be [H, W] of at least 16 pixels, not {cfg['size']}")
    if model == "fusion":
        sk = cfg["skeleton"]
        stream = cfg["model_config"].get("skeleton_model", "stgcn")
        if sk.get("kind") == "scene" and stream != "scene_mlp":
            raise TrainingError("a scene skeleton input needs the scene_mlp skeleton stream")
        if sk.get("kind") == "track":
            try:
                sk["features"] = feature_spec(sk.get("features") or {})
            except ValueError as e:
                raise TrainingError(str(e)) from None
    cfg.update(model=model, preset=preset)
    return cfg


def stride_samples(seconds: float, fps: float) -> int:
    """Samples between window starts for a stride in seconds (at least 1)."""
    return max(1, int(round(float(seconds) * float(fps))))


def skeleton_channels(spec: dict) -> int:
    """Input channels (C, or F for scene vectors) of a fusion model's skeleton stream."""
    from ..scene import SCENE_FEATURES

    return len(SCENE_FEATURES) if spec.get("kind") == "scene" else feature_channels(spec["features"])


def skeleton_batch(raw: np.ndarray, spec: dict) -> np.ndarray:
    """Model input of a batch of raw skeleton inputs: ``(N, T', 13, 3)`` pixels → ``(N, C, T', 13)`` features
    (:func:`core.features.make_features`), or ``(N, F)`` scene vectors unchanged."""
    if spec.get("kind") == "scene":
        return np.asarray(raw, np.float32)
    return make_features(np.asarray(raw, np.float32), spec["features"])


def build_video_model(cfg: dict, num_classes: int, skeleton_spec: dict | None = None):
    """The model of a video training config (see :func:`resolve_video_config`), and its full model config.

    Returns:
        ``(model, model_config)`` (the config as stored in the checkpoint, ``num_classes`` and a fusion skeleton
        stream's graph included).
    """
    import models

    from ..classify import with_graph

    mc = {"num_classes": num_classes, "in_channels": 3, **cfg["model_config"]}
    if cfg["model"] == "fusion":
        spec = skeleton_spec or cfg["skeleton"]
        sk = dict(mc.get("skeleton") or {})
        stream = mc.get("skeleton_model", "stgcn")
        sk = {**models.DEFAULT_CONFIGS.get(stream, {}), **sk, "in_channels": skeleton_channels(spec)}
        if stream != "scene_mlp":
            sk["num_joints"] = 13
        else:
            sk["num_joints"] = 1
        if stream == "stgcn" and spec.get("kind") == "track" and int(spec["window"]) < 9:
            sk.setdefault("temporal_kernel", 3)
        mc["skeleton"] = sk
    mc = with_graph(cfg["model"], mc)  # a fusion's ST-GCN stream gets the common 13-joint graph (stored with it)
    return models.build_model(cfg["model"], mc), mc


def activation_bytes(model, example) -> int:
    """Bytes of all module outputs of one forward pass of ``example`` (a tensor or a tuple of them), measured with
    forward hooks on the leaf modules (no gradients kept)."""
    import torch

    total = [0]

    def hook(_m, _i, out):
        for o in (out if isinstance(out, (tuple, list)) else (out,)):
            if isinstance(o, torch.Tensor):
                total[0] += o.numel() * o.element_size()

    handles = [m.register_forward_hook(hook) for m in model.modules() if not list(m.children())]
    try:
        with torch.no_grad():
            model.eval()
            model(*example) if isinstance(example, tuple) else model(example)
    finally:
        for h in handles:
            h.remove()
    return total[0]


def available_memory() -> int | None:
    """Bytes of memory available now (``psutil``; None when unknown)."""
    try:
        import psutil

        return int(psutil.virtual_memory().available)
    except Exception:
        return None


def check_memory(need: int, what: str, hint: str) -> None:
    """Raise :class:`TrainingError` when ``need`` bytes exceed 90 % of the memory available now."""
    have = available_memory()
    if have is not None and need > 0.9 * have:
        raise TrainingError(f"{what} needs about {need / 2**30:.1f} GiB of memory, but only {have / 2**30:.1f} GiB "
                            f"are free on this machine: {hint}")


class VideoTrainer(FitLoop):
    """Train one video classifier on :class:`core.rgb.clips.ClipData` (see the module docstring).

    Args:
        data: the clips (with ``cache`` set for a fusion model).
        model: ``r2plus1d`` or ``fusion``; preset: a key of :data:`PRESETS`; overrides: options replacing the
            preset's (see :func:`resolve_video_config`).
        out_dir: where ``model.pt`` (best so far) and ``metrics.json`` go (None: no files).
        seed: seeds torch, the split, the window draws and augmentation.
        split: ``(train, val)`` clip indices (None: a split by group, :func:`core.training.split_groups`).
        callbacks: ``{event: [fn(trainer, payload)]}`` for events in :data:`core.training.EVENTS`.
        progress: called ``(done, total, text)`` while clips are decoded.

    Attributes after :meth:`fit`: ``model``, ``metrics``, ``best_epoch``, ``stopped``, ``stop_reason``,
    ``epochs_run``, ``checkpoint_path``; from the constructor ``summary`` and ``warnings``.

    Raises (from the constructor):
        TrainingError: a single class, every clip too short for the window, too little memory, bad options;
        ClipDataError, VideoError: unreadable clips; ModelError: pretrained weights unavailable.
    """

    def __init__(self, data: ClipData, model: str = "r2plus1d", preset: str = "default",
                 overrides: dict | None = None, out_dir: str | os.PathLike | None = None, seed: int = 0,
                 split: tuple[Sequence[int], Sequence[int]] | None = None,
                 callbacks: dict[str, list[Callable]] | None = None,
                 progress: Callable[[int, int, str], None] | None = None):
        self.data = data
        self.cfg = resolve_video_config(model, preset, overrides)
        self.cfg["seed"] = self.seed = int(seed)
        self.out_dir = Path(out_dir) if out_dir is not None else None
        self._init_loop(callbacks)
        self.warnings: list[str] = list(data.warnings)
        cfg = self.cfg
        present = sorted({c.label for c in data.clips if c.label >= 0})
        if len(present) < 2:
            name = data.label_names[present[0]] if present else "none"
            raise TrainingError(f"the data has a single class ({name}); a classifier needs at least two")
        if split is None:
            shim = [SimpleNamespace(group=c.group, labels=np.array([c.label])) for c in data.clips]
            split = split_groups(shim, float(cfg["val_fraction"]), seed)
        self.train_idx, self.val_idx = [int(i) for i in split[0]], [int(i) for i in split[1]]
        self.fusion = cfg["model"] == "fusion"
        if self.fusion and any(data.clips[i].cache is None for i in self.train_idx + self.val_idx):
            raise TrainingError("a fusion model needs the skeletons of every clip")
        self._model_probe()
        self.frames: dict[int, np.ndarray] = {}
        self.index: dict[int, np.ndarray] = {}
        t, fps = int(cfg["frames"]), float(cfg["fps"])
        too_short = []
        todo = self.train_idx + self.val_idx
        for n, i in enumerate(todo):
            if progress:
                progress(n, len(todo), f"decoding {data.clips[i].name}")
            fr, idx, _vfps = decode_clip(data.clips[i], fps, tuple(cfg["size"]))
            if len(window_starts(len(fr), t, 1)) == 0:
                too_short.append(data.clips[i].name)
                continue
            self.frames[i], self.index[i] = fr, idx
        if too_short:
            self.warnings.append(f"{len(too_short)} clip(s) shorter than half the {t / fps:.2f} s window were left "
                                 f"out: {', '.join(too_short[:3])}{' …' if len(too_short) > 3 else ''}")
        self.train_idx = [i for i in self.train_idx if i in self.frames]
        self.val_idx = [i for i in self.val_idx if i in self.frames]
        if not self.train_idx:
            raise TrainingError(f"every training clip is shorter than half the model's window ({t} frames = "
                                f"{t / fps:.2f} s at {fps:g} fps); use fewer --frames or longer clips")
        ytr = np.array([data.clips[i].label for i in self.train_idx])
        if len(np.unique(ytr)) < 2:
            raise TrainingError("the training split has a single class; add clips of the other classes")
        self.train_starts = {i: window_starts(len(self.frames[i]), t, stride_samples(cfg["train_stride_s"], fps))
                             for i in self.train_idx}
        self.val_starts = {i: window_starts(len(self.frames[i]), t, stride_samples(cfg["stride_s"], fps))
                           for i in self.val_idx}
        self.skel: dict[tuple[int, int], np.ndarray] = {}
        if self.fusion:
            for i, starts in (*self.train_starts.items(), *self.val_starts.items()):
                for s in starts:
                    self.skel[(i, int(s))] = self.skeleton_of(i, int(s))
        self.summary = self.data_summary()
        self.warnings += data_warnings(self.summary, data.label_names)

    # -- data
    def skeleton_of(self, i: int, start: int) -> np.ndarray:
        """The skeleton-stream input of clip ``i``'s window starting at sample ``start``."""
        idx = self.index[i]
        end = int(idx[min(start + int(self.cfg["frames"]) - 1, len(idx) - 1)])
        return skeleton_input(self.data.clips[i], end, self.cfg["skeleton"])

    def data_summary(self) -> dict[str, dict[str, int]]:
        """Windows per class: ``{"train": {class: windows in one epoch}, "val": {class: windows}}``."""
        names = self.data.label_names
        tr = {n: 0 for n in names}
        va = {n: 0 for n in names}
        k = int(self.cfg["windows_per_clip"])
        for i in self.train_idx:
            tr[names[self.data.clips[i].label]] += k
        for i in self.val_idx:
            va[names[self.data.clips[i].label]] += len(self.val_starts[i])
        return {"train": tr, "val": va}

    def _model_probe(self) -> None:
        """Build the model once (pretrained weights are fetched here) and check the memory a run needs."""
        import torch

        cfg = self.cfg
        model, _ = build_video_model(cfg, len(self.data.label_names))
        self._pretrained_path = None
        if cfg.get("pretrained"):
            from .weights import pretrained_state_dict

            sd, self._pretrained_path = pretrained_state_dict(cfg["pretrained"])
            rgb = model.rgb if self.fusion else model
            try:
                rgb.load_backbone(sd)
            except ValueError as e:
                raise TrainingError(f"pretrained weights {cfg['pretrained']}: {e}") from None
            self._pretrained_sd = sd
        if not cfg.get("memory_check", True):
            return
        t, (h, w) = int(cfg["frames"]), (int(v) for v in cfg["size"])
        # probe a window of at most 4 x 64 x 64 and scale linearly with T x H x W (activations of a
        # convolutional network grow with the input's volume): cheap even for configurations that would not fit
        pt, ph, pw = min(t, 4), min(h, 64), min(w, 64)
        x = torch.zeros(1, 3, pt, ph, pw)
        if self.fusion:
            sk = cfg["skeleton"]
            shape = (1, skeleton_channels(sk)) if sk["kind"] == "scene" else (1, skeleton_channels(sk),
                                                                              int(sk["window"]), 13)
            act = activation_bytes(model, (x, torch.zeros(shape)))
        else:
            act = activation_bytes(model, x)
        act = int(act * (t * h * w) / (pt * ph * pw))
        params = sum(p.numel() * 4 for p in model.parameters())
        clips_bytes = 0
        for i in self.train_idx + self.val_idx:
            c = self.data.clips[i]
            if c.end is not None:
                vfps = float(getattr(c.cache, "fps", 0) or 25.0)
                clips_bytes += int((c.end - c.start + 1) / vfps * float(cfg["fps"]) + 2) * int(h) * int(w) * 3
        need = act * int(cfg["batch_size"]) * 3 + params * 4 + clips_bytes
        check_memory(need, f"training {cfg['model']} ({cfg['model_config'].get('arch', 'small')}) on batches of "
                     f"{cfg['batch_size']} clips of {t}x{h}x{w}", "use a smaller --batch-size, fewer --frames, a "
                     "smaller --size, or the small configuration")

    @staticmethod
    def init_rgb_stream(model, path) -> None:
        """Load an ``r2plus1d`` checkpoint's weights (all but its head) into a fusion model's RGB stream.

        Raises:
            ModelError: not an r2plus1d checkpoint, or one of another configuration.
        """
        from ..classify import load_checkpoint
        from ..errors import ModelError

        ck = load_checkpoint(path)
        if ck.model_name != "r2plus1d":
            raise ModelError(f"init_rgb: {Path(path).name} is a {ck.model_name} model, not r2plus1d")
        sd = {k: v for k, v in ck.state_dict.items() if not k.startswith("head.")}
        try:
            missing, unexpected = model.rgb.load_state_dict(sd, strict=False)
            if missing or unexpected:
                raise RuntimeError(f"{len(missing)} missing and {len(unexpected)} unexpected weights")
        except RuntimeError as e:
            raise ModelError(f"init_rgb: {Path(path).name} does not fit the fusion's RGB stream: "
                             f"{one_line(e, 160)}") from None

    # -- pieces
    def _augment(self, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Flip, brightness/contrast jitter and shift of uint8 windows ``(N, T, H, W, 3)`` → float32 [0, 1]."""
        cfg = self.cfg
        out = x.astype(np.float32) / 255.0
        n = len(out)
        flip = rng.random(n) < 0.5
        out[flip] = out[flip][:, :, :, ::-1]
        j = float(cfg["jitter"])
        if j > 0:
            b = rng.uniform(-j, j, n).astype(np.float32)[:, None, None, None, None]
            c = rng.uniform(1 - j, 1 + j, n).astype(np.float32)[:, None, None, None, None]
            mean = out.mean(axis=(1, 2, 3, 4), keepdims=True)
            out = np.clip((out - mean) * c + mean + b * 0.5, 0.0, 1.0)
        s = int(cfg["shift"])
        if s > 0:
            h, w = out.shape[2:4]
            pad = np.pad(out, ((0, 0), (0, 0), (s, s), (s, s), (0, 0)), mode="edge")
            dy, dx = rng.integers(0, 2 * s + 1, n), rng.integers(0, 2 * s + 1, n)
            out = np.stack([pad[k, :, dy[k]:dy[k] + h, dx[k]:dx[k] + w] for k in range(n)])
        return np.ascontiguousarray(out)

    def _inputs(self, items: list[tuple[int, int]], x_float):
        """Model inputs of windows ``[(clip, start), …]``: the RGB tensor, plus the skeleton tensor for fusion."""
        import torch

        if not self.fusion:
            return (x_float,)
        raw = np.stack([self.skel[(i, s)] for i, s in items])
        return x_float, torch.from_numpy(skeleton_batch(raw, self.cfg["skeleton"]))

    def predict_windows(self, model, items: list[tuple[int, int]], batch: int = 16) -> np.ndarray:
        """Softmax probabilities ``(N, K)`` of windows ``[(clip index, start sample), …]`` (no augmentation)."""
        import torch

        t = int(self.cfg["frames"])
        model.eval()
        out = []
        with torch.no_grad():
            for b in range(0, len(items), batch):
                part = items[b:b + batch]
                x = to_model_input(np.stack([take_window(self.frames[i], s, t) for i, s in part]))
                out.append(torch.softmax(model(*self._inputs(part, x)), -1).numpy())
        return np.concatenate(out) if out else np.zeros((0, len(self.data.label_names)), np.float32)

    def evaluate(self, model, clips: Sequence[int]) -> tuple[dict, float]:
        """Window-level metrics (plus clip-level ``clip_accuracy`` and ``clip_balanced_accuracy``) and the mean
        cross-entropy of ``model`` on the windows of ``clips``."""
        from sklearn.metrics import balanced_accuracy_score

        items = [(i, int(s)) for i in clips for s in self.val_starts.get(i, window_starts(
            len(self.frames[i]), int(self.cfg["frames"]), stride_samples(self.cfg["stride_s"], self.cfg["fps"])))]
        probs = self.predict_windows(model, items)
        y = np.array([self.data.clips[i].label for i, _ in items], np.int64)
        loss = float(-np.log(np.clip(probs[np.arange(len(y)), y], 1e-9, 1)).mean()) if len(y) else 0.0
        m = classification_metrics(y, probs.argmax(1), self.data.label_names)
        m["windows"] = m.pop("frames")
        owner = np.array([i for i, _ in items])
        clip_p = np.stack([probs[owner == i].mean(0) for i in clips]) if len(clips) else np.zeros((0, 1))
        clip_y = np.array([self.data.clips[i].label for i in clips])
        if len(clips):
            m["clip_accuracy"] = float((clip_p.argmax(1) == clip_y).mean())
            m["clip_balanced_accuracy"] = float(balanced_accuracy_score(clip_y, clip_p.argmax(1)))
            m["clips"] = len(clips)
        return m, loss

    def video_settings(self) -> dict:
        """The checkpoint's ``video`` entry (see :class:`core.classify.Checkpoint`)."""
        cfg = self.cfg
        crops = sorted({self.data.clips[i].crop for i in self.train_idx})
        return {"kind": "fusion" if self.fusion else "rgb", "frames": int(cfg["frames"]),
                "size": [int(v) for v in cfg["size"]], "fps": float(cfg["fps"]), "stride_s": float(cfg["stride_s"]),
                "crop": crops[0] if len(crops) == 1 else "mixed",
                "skeleton": dict(cfg["skeleton"]) if self.fusion else None,
                "pretrained": cfg.get("pretrained"), "windows_per_clip": int(cfg["windows_per_clip"])}

    def checkpoint(self, model, metrics: dict, epoch: int):
        """The :class:`core.classify.Checkpoint` of ``model`` with this run's settings."""
        from ..classify import Checkpoint

        cfg = self.cfg
        return Checkpoint(cfg["model"], dict(self.model_config), list(self.data.label_names), int(cfg["frames"]),
                          stride_samples(cfg["stride_s"], cfg["fps"]), "none",
                          {k: v.detach().clone() for k, v in model.state_dict().items()}, "rgb",
                          {**metrics, "epoch": epoch, "split": "validation (held-out videos)"},
                          in_channels=3, data_hash=self.data.data_hash, train_config=json.loads(json.dumps(cfg)),
                          created=time.strftime("%Y-%m-%dT%H:%M:%S%z"), fps=float(cfg["fps"]),
                          video=self.video_settings())

    # -- the loop
    def fit(self) -> dict:
        """Train; returns the ``done`` payload (as :meth:`core.training.Trainer.fit`)."""
        import torch

        cfg = self.cfg
        torch.manual_seed(self.seed)
        rng = np.random.default_rng(self.seed)
        k = len(self.data.label_names)
        model, self.model_config = build_video_model(cfg, k)
        if cfg.get("pretrained"):
            (model.rgb if self.fusion else model).load_backbone(self._pretrained_sd)
        if self.fusion and cfg.get("init_rgb"):
            self.init_rgb_stream(model, cfg["init_rgb"])
        if self.fusion and cfg["skeleton"].get("kind") == "scene":
            v = np.stack([self.skel[(i, int(s))] for i in self.train_idx for s in self.train_starts[i]])
            model.skeleton.mlp.set_standardisation(torch.from_numpy(v.mean(0)), torch.from_numpy(v.std(0)))
        ytr = np.array([self.data.clips[i].label for i in self.train_idx])
        if cfg["class_weights"]:
            cnt = np.bincount(ytr, minlength=k).astype(np.float64)
            w = np.where(cnt > 0, cnt.sum() / np.maximum(cnt, 1) / max((cnt > 0).sum(), 1), 0.0)
            weight = torch.tensor(w, dtype=torch.float32)
        else:
            weight = None
        loss_fn = torch.nn.CrossEntropyLoss(weight=weight)
        opt = torch.optim.AdamW(model.parameters(), lr=float(cfg["lr"]), weight_decay=float(cfg["weight_decay"]))
        epochs = int(cfg["epochs"])
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs)
        if self.out_dir is not None:
            self.out_dir.mkdir(parents=True, exist_ok=True)
        n_val = sum(len(v) for v in self.val_starts.values())
        per_clip = int(cfg["windows_per_clip"])
        self.run_callbacks("on_start", {"model": cfg["model"], "epochs": epochs,
                                        "train_windows": per_clip * len(self.train_idx), "val_windows": int(n_val),
                                        "label_names": list(self.data.label_names), "summary": self.summary,
                                        "warnings": list(self.warnings)})
        epoch = 0
        t0 = self._start_epochs()
        bs, t = int(cfg["batch_size"]), int(cfg["frames"])
        for epoch in range(1, epochs + 1):
            model.train()
            items = []
            for i in self.train_idx:
                st = self.train_starts[i]
                for s in rng.choice(st, size=per_clip, replace=len(st) < per_clip):
                    items.append((i, int(s)))
            order = rng.permutation(len(items))
            tot, correct, seen = 0.0, 0, 0
            for b in range(0, len(order), bs):
                if self._stop:
                    break
                part = [items[j] for j in order[b:b + bs]]
                raw = np.stack([take_window(self.frames[i], s, t) for i, s in part])
                xf = self._augment(raw, rng) if cfg["augment"] else raw.astype(np.float32) / 255.0
                x = torch.from_numpy(xf).permute(0, 4, 1, 2, 3).contiguous()
                y = torch.tensor([self.data.clips[i].label for i, _ in part], dtype=torch.long)
                logits = model(*self._inputs(part, x))
                loss = loss_fn(logits, y)
                opt.zero_grad()
                loss.backward()
                torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
                opt.step()
                tot += float(loss.detach()) * len(part)
                correct += int((logits.argmax(1) == y).sum())
                seen += len(part)
            if self._stop and seen < len(order) and self._has_best:
                self.stop_reason = "stopped"
                break
            sched.step()
            metrics, val_loss = self.evaluate(model, self.val_idx) if self.val_idx else (
                classification_metrics(np.zeros(0, np.int64), np.zeros(0, np.int64), self.data.label_names), 0.0)
            if self._end_epoch(model, epoch, epochs, t0, (tot, correct, seen), metrics, val_loss):
                break
        return self._finish(model, epoch, epochs, t0)



# ---------------------------------------------------------------------------------------- command-line options
def parse_size(text: str) -> list[int]:
    """``"112x112"`` (or ``"112"``, ``"112,96"``) → ``[H, W]`` pixels.

    Raises:
        TrainingError: not one or two integers, or one below 16 (one line naming the text).
    """
    parts = str(text).lower().replace(",", "x").split("x")
    try:
        h, w = (int(parts[0]), int(parts[-1])) if len(parts) in (1, 2) else (0, 0)
    except ValueError:
        h = w = 0
    if min(h, w) < 16:
        raise TrainingError(f"--size needs HxW of at least 16 pixels each, like 112x112 (got '{text}')")
    return [h, w]


def video_overrides(model: str, preset: str = "default", *, epochs: int | None = None, frames: int | None = None,
                    stride: int | None = None, batch_size: int | None = None, lr: float | None = None,
                    time_limit_s: float | None = None, fps: float | None = None, size: str | None = None,
                    arch: str | None = None, pretrained: str | None = None,
                    skeleton_stream: str | None = None) -> dict:
    """The overrides of :func:`resolve_video_config` for the options of ``main.py train`` (None: the preset's).

    Args:
        frames: samples per window T (``--window``).
        stride: samples between training windows (``--stride``), at the run's rate (``fps``, else the preset's):
            it becomes ``train_stride_s`` seconds.
        size: ``"HxW"`` pixels (:func:`parse_size`).
        arch: ``small`` or ``r2plus1d_18``; pretrained: ``kinetics400``, ``none`` (no weights) or a ``.pth`` file
            (implies ``r2plus1d_18``); skeleton_stream: a fusion model's skeleton stream.

    Raises:
        TrainingError: bad size, pretrained weights with the small arch, unknown model or preset.
    """
    cfg = resolve_video_config(model, preset)
    mc = {k: v for k, v in (("arch", arch), ("skeleton_model", skeleton_stream)) if v}
    if pretrained == "none":
        pretrained = ""
    if pretrained:
        if mc.get("arch", "r2plus1d_18") != "r2plus1d_18":
            raise TrainingError("--pretrained weights exist for --arch r2plus1d_18 only")
        mc["arch"] = "r2plus1d_18"
    rate = float(fps) if fps is not None else float(cfg["fps"])
    return {"epochs": epochs, "frames": frames, "train_stride_s": None if stride is None else stride / rate,
            "batch_size": batch_size, "lr": lr, "time_limit_s": time_limit_s, "fps": fps,
            "size": parse_size(size) if size else None, "pretrained": pretrained, "model_config": mc}

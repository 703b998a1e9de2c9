"""Benchmark: skeleton-only vs RGB-only vs skeleton + RGB fusion vs a distilled skeleton student. ONE JSON line.

    .venv/bin/python bench/rgb_vs_skeleton.py                         # fight (5 folds) and fall (7 folds)
    .venv/bin/python bench/rgb_vs_skeleton.py --part fight --limit 40 --epochs 2   # a quick look

**Fight** (the shared Surveillance Camera Fight Dataset clips: 123 fight, 104 no-fight, 37 source groups of
``fight/surv_fight_sources.csv``): 5-fold cross-validation **by source group** (scikit-learn StratifiedGroupKFold,
shuffled, seed 0: the folds of ``bench/fight_cv.py``). Per fold, on the other folds' clips:

- *skeleton-only*: the shipped fight recipe (:func:`core.fight.train_calibrated`: the scene model on the clips'
  recorded live poses plus the hard-negative scenes, its alert operating point from a cross-validation inside the
  training clips); a test clip's score is the highest scene score of its poses replayed through the live
  LabelTracker (:func:`core.fight.scene_trace`), "fight" when it alerts at the default operating point
  (as ``bench/fight_cv.py``, which ran the clips through the whole live detector instead of replaying poses);
- *RGB-only*: ``r2plus1d``, the small from-scratch configuration (1-s windows of 8 frames at 112 x 112, whole
  frames), :class:`core.rgb.train.VideoTrainer` with early stopping on a held-out part of the training groups;
- *fusion*: ``fusion`` of the scene-vector stream (``scene_mlp``) and the RGB stream, the RGB stream started from
  the fold's RGB model (``init_rgb``), trained end to end;
- *distilled student*: ``stgcn`` on the primary person's skeleton windows (16 samples at 15 fps, the live path's
  input), distilled from the fold's fusion model (:class:`core.distill.Distiller`: task + KL + feature loss);
- *student without teacher*: the same ``stgcn`` on the same windows with the task loss only (beta = gamma = 0): what
  the distillation itself adds.

RGB, fusion and the students score a clip by the mean fight probability of its windows (every 0.5 s); "fight" at
0.5. Reported per model: clip-level balanced accuracy, fights / no-fight clips called fight, ROC-AUC of the clip
score, per-fold balanced accuracy; parameters, checkpoint size, CPU inference time per window (median of 30 single
windows, one thread; for the skeleton models the pose estimation they need per frame is not included), training time
per fold.

**Fall** (the seven shared fall clips, labelled upright / falling / lying per track by ``bench/make_fall_project.py``,
without URFD: it has no pixels): leave-one-video-out. Clips follow the labelled person (the project's follow-track
crop, margin 0.3); windows of 8 frames at 15 fps (0.53 s). Skeleton-only is the shipped fall recipe (``stgcn``,
``main.py train --preset default``: :class:`core.training.Trainer`) on the same clips; RGB, fusion (``stgcn`` skeleton
stream + RGB), the distilled ``stgcn`` student and the student without teacher as above. Clip-level balanced accuracy
over the three classes (a clip's label: the argmax of its mean window probabilities).

All RGB figures are from-scratch small models: torchvision's Kinetics-400 r2plus1d_18 weights cannot be downloaded on
the machine these figures were made on (``--pretrained`` is not used).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

from benchenv import SHARED  # noqa: E402  (sys.path, shared data, offline)

os.environ.setdefault("YOLO_VERBOSE", "False")
os.environ.setdefault("POSEWATCH_OFFLINE", "1")


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def model_size(path: Path) -> dict:
    import torch

    from core.classify import load_checkpoint

    ck = load_checkpoint(path)
    n = sum(v.numel() for k, v in ck.state_dict.items() if isinstance(v, torch.Tensor) and v.is_floating_point()
            and not k.endswith(("running_mean", "running_var", ".mean", ".std")))
    return {"params": int(n), "file_mb": round(path.stat().st_size / 2**20, 2)}


def time_per_window(fn, n: int = 30) -> float:
    """Median milliseconds of ``fn()`` over ``n`` calls (after 3 warm-up calls)."""
    for _ in range(3):
        fn()
    ts = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        ts.append((time.perf_counter() - t0) * 1000)
    return round(statistics.median(ts), 2)


def video_time(path: Path) -> float:
    import numpy as np
    import torch

    from core.rgb.infer import VideoClassifier

    clf = VideoClassifier(path)
    t, (h, w) = clf.frames, clf.video["size"]
    win = np.zeros((1, t, h, w, 3), np.uint8)
    sk = None
    if clf.video.get("kind") == "fusion":
        spec = clf.video["skeleton"]
        sk = np.zeros((1, 16), np.float32) if spec["kind"] == "scene" else np.zeros((1, spec["window"], 13, 3), np.float32)
    torch.set_num_threads(1)
    try:
        return time_per_window(lambda: clf.predict_windows(win, sk))
    finally:
        torch.set_num_threads(2)


def skeleton_time(path: Path) -> float:
    import numpy as np
    import torch

    from core.classify import TrackClassifier

    clf = TrackClassifier(path)
    torch.set_num_threads(1)
    try:
        if clf.is_scene:
            v = np.ones((1, clf.ckpt.in_channels), np.float32)
            return time_per_window(lambda: clf.predict_scene(v))
        w = np.random.default_rng(0).uniform(0, 300, (1, clf.ckpt.window, 13, 3)).astype(np.float32)
        w[..., 2] = 1.0
        return time_per_window(lambda: clf.predict_windows(w))
    finally:
        torch.set_num_threads(2)


def clip_scores_video(path: Path, clips) -> list:
    """Mean window probabilities ``(K,)`` of each clip under a video model; zeros for a clip shorter than half the
    model's window (it refuses those: :class:`core.rgb.clips.ClipDataError`), which the fall part then leaves out
    of every model's figures."""
    import numpy as np

    from core.rgb.clips import ClipDataError
    from core.rgb.infer import VideoClassifier

    clf = VideoClassifier(path)
    out = []
    for c in clips:
        try:
            out.append(clf.predict_clip(c)[2].mean(0))
        except ClipDataError as e:
            log(f"  left out: {e}")
            out.append(np.zeros(len(clf.label_names)))
    return out


def clip_scores_student(path: Path, clips, rgb_frames: int, rgb_fps: float, stride_s: float = 0.5) -> list:
    """Mean window probabilities of a skeleton student over the windows of each clip (ending where an RGB window
    of ``rgb_frames`` at ``rgb_fps`` ends, every ``stride_s``)."""
    import numpy as np

    from core.classify import TrackClassifier
    from core.rgb.clips import sample_frames, skeleton_input, window_starts
    from core.rgb.train import stride_samples

    clf = TrackClassifier(path)
    spec = {"kind": "track", "window": clf.ckpt.window, "fps": clf.ckpt.fps}
    out = []
    for c in clips:
        end = c.cache.frame_count - 1 if c.end is None else c.end
        idx = sample_frames(c.start, end, c.cache.fps, rgb_fps)
        starts = window_starts(len(idx), rgb_frames, stride_samples(stride_s, rgb_fps))
        if len(starts) == 0:
            starts = np.zeros(1, np.int64)
        ends = idx[np.minimum(starts + rgb_frames - 1, len(idx) - 1)]
        w = np.stack([skeleton_input(c, int(e), spec) for e in ends])
        out.append(clf.predict_windows(w).mean(0))
    return out


def binary_summary(y, score, per_fold_ba: list[float]) -> dict:
    import numpy as np
    from sklearn.metrics import balanced_accuracy_score, roc_auc_score

    y, score = np.asarray(y), np.asarray(score, np.float64)
    pred = score >= 0.5
    return {"balanced_accuracy": round(float(balanced_accuracy_score(y, pred)), 3),
            "fights_called": f"{int(pred[y == 1].sum())}/{int((y == 1).sum())}",
            "nofight_called": f"{int(pred[y == 0].sum())}/{int((y == 0).sum())}",
            "roc_auc": round(float(roc_auc_score(y, score)), 3),
            "per_fold_balanced_accuracy": [round(v, 3) for v in per_fold_ba]}


def mean_or_none(v):
    v = [x for x in v if x is not None]
    return round(float(statistics.mean(v)), 2) if v else None


# ---------------------------------------------------------------------------------------- fight
def fight_part(args, tmp: Path) -> dict:
    import numpy as np
    from sklearn.metrics import balanced_accuracy_score
    from sklearn.model_selection import StratifiedGroupKFold

    from core.classify import TrackClassifier, save_checkpoint
    from core.distill import Distiller
    from core.fight import first_alert, hard_negative_clips, load_poses, scene_trace, surveillance_clips, train_calibrated
    from core.rgb.clips import ClipData, VideoClip
    from core.rgb.train import VideoTrainer

    fclips = surveillance_clips(SHARED)
    if args.limit:
        step = max(1, len(fclips) // args.limit)
        fclips = fclips[::step][: args.limit]
    hard = hard_negative_clips(SHARED)
    log(f"fight: live poses of {len(fclips) + len(hard)} clips")
    fclips, hard = load_poses(fclips), load_poses(hard)
    y = np.array([c.label for c in fclips])
    groups = np.array([c.group for c in fclips])
    folds = list(StratifiedGroupKFold(args.folds, shuffle=True, random_state=args.seed).split(np.zeros(len(y)), y, groups))
    names = ["normal", "fight"]
    vclips = [VideoClip(c.name, c.path, c.label, c.group, cache=c.cache) for c in fclips]
    rgb_over = {"epochs": args.epochs, "patience": 4, "windows_per_clip": 1, "time_limit_s": args.time_limit}
    fus_over = {"epochs": max(1, args.epochs // 2), "patience": 3, "windows_per_clip": 1, "time_limit_s": args.time_limit,
                "skeleton": {"kind": "scene", "span_s": 1.0}, "model_config": {"skeleton_model": "scene_mlp"}}
    kd_over = {"epochs": 40, "patience": 8, "time_limit_s": 300.0}
    models = ("skeleton", "rgb", "fusion", "student", "student_no_kd")
    score = {m: np.zeros(len(y)) for m in models}
    per_fold = {m: [] for m in models}
    times = {m: [] for m in models}
    paths: dict = {}
    for k, (tr, te) in enumerate(folds):
        d = tmp / f"fight{k}"
        log(f"fight fold {k}: {len(tr)} training clips, {len(te)} test clips")
        # skeleton-only: the shipped recipe
        t0 = time.monotonic()
        fm = train_calibrated([fclips[i] for i in tr] + hard, seed=args.seed)
        times["skeleton"].append(time.monotonic() - t0)
        paths["skeleton"] = save_checkpoint(fm.checkpoint(), d.with_suffix(".scene.pt"))
        clf = TrackClassifier(paths["skeleton"])
        op = fm.operating_points[fm.default_point]
        for i in te:
            tt, ss = scene_trace(clf, fclips[i].cache)
            score["skeleton"][i] = float(ss.max()) if len(ss) else 0.0
            alerted = first_alert(tt, ss, op["threshold"], op["hold_s"]) is not None
            score.setdefault("skeleton_alert", np.zeros(len(y)))[i] = float(alerted)
        log(f"  skeleton done ({times['skeleton'][-1]:.0f} s)")
        train = ClipData([vclips[i] for i in tr], names)
        # RGB
        t0 = time.monotonic()
        vt = VideoTrainer(train, "r2plus1d", "default", rgb_over, out_dir=d / "rgb", seed=args.seed)
        vt.fit()
        times["rgb"].append(time.monotonic() - t0)
        paths["rgb"] = d / "rgb" / "model.pt"
        for i, p in zip(te, clip_scores_video(paths["rgb"], [vclips[i] for i in te])):
            score["rgb"][i] = p[1]
        log(f"  rgb done ({times['rgb'][-1]:.0f} s, best epoch {vt.best_epoch})")
        # fusion, RGB stream from the fold's RGB model
        t0 = time.monotonic()
        ft = VideoTrainer(train, "fusion", "default", {**fus_over, "init_rgb": str(paths["rgb"])}, out_dir=d / "fusion",
                          seed=args.seed)
        ft.fit()
        times["fusion"].append(time.monotonic() - t0 + times["rgb"][-1])
        paths["fusion"] = d / "fusion" / "model.pt"
        for i, p in zip(te, clip_scores_video(paths["fusion"], [vclips[i] for i in te])):
            score["fusion"][i] = p[1]
        log(f"  fusion done ({time.monotonic() - t0:.0f} s)")
        # students
        for m, over in (("student", kd_over), ("student_no_kd", {**kd_over, "beta": 0.0, "gamma": 0.0})):
            t0 = time.monotonic()
            ds = Distiller(paths["fusion"], train, "stgcn", over, out_dir=d / m, seed=args.seed)
            ds.fit()
            times[m].append(time.monotonic() - t0)
            paths[m] = d / m / "model.pt"
            for i, p in zip(te, clip_scores_student(paths[m], [vclips[i] for i in te], 8, 8.0)):
                score[m][i] = p[1]
            log(f"  {m} done ({times[m][-1]:.0f} s)")
        for m in models:
            s = score["skeleton_alert"] if m == "skeleton" else score[m]
            per_fold[m].append(float(balanced_accuracy_score(y[te], s[te] >= 0.5)))
    out = {"clips": len(y), "fights": int(y.sum()), "groups": len(set(groups.tolist())), "folds": args.folds}
    for m in models:
        if m == "skeleton":
            s = binary_summary(y, score["skeleton_alert"], per_fold[m])
            s["roc_auc"] = binary_summary(y, score["skeleton"], [])["roc_auc"]
            s["note"] = "alert at the default operating point; AUC of the highest scene score"
        else:
            s = binary_summary(y, score[m], per_fold[m])
        s.update(model_size(paths[m]))
        s["cpu_ms_per_window"] = skeleton_time(paths[m]) if m in ("skeleton", "student", "student_no_kd") else \
            video_time(paths[m])
        s["train_s_per_fold"] = mean_or_none(times[m])
        out[m] = s
    return out


# ---------------------------------------------------------------------------------------- fall
def fall_part(args, tmp: Path) -> dict:
    import numpy as np
    from sklearn.metrics import balanced_accuracy_score

    from make_fall_project import iter_build_fall_project

    from core.classify import TrackClassifier
    from core.distill import Distiller
    from core.extract import run
    from core.layouts import to_common
    from core.project import Crop, Project
    from core.rgb.clips import ClipData, iter_project_clips
    from core.rgb.train import VideoTrainer
    from core.training import Trainer, load_data

    proj_dir = tmp / "fall_project"
    log("fall: building the fall project (no URFD)")
    run(iter_build_fall_project(proj_dir, urfd=False), callback=lambda p: None)
    with Project.open(proj_dir) as proj:
        for c in proj.clips():
            if c.track_id is not None:
                proj.update_clip(c.id, crop=Crop("track", margin=0.3))
    data = run(iter_project_clips(proj_dir), callback=lambda p: None)
    names = data.label_names
    clips = data.clips
    vids = sorted({c.path.name for c in clips})
    y = np.array([c.label for c in clips])
    skel_data = load_data([proj_dir], chunk_frames=0)
    log(f"fall: {len(clips)} clips of {len(vids)} videos, classes {names}: {np.bincount(y).tolist()}")
    common = {"frames": 8, "fps": 15.0, "stride_s": 0.25, "train_stride_s": 0.125, "windows_per_clip": 4,
              "time_limit_s": args.time_limit}
    rgb_over = {**common, "epochs": args.epochs, "patience": 5}
    fus_over = {**common, "epochs": max(1, args.epochs // 2), "patience": 3,
                "skeleton": {"kind": "track", "window": 8, "fps": 15.0}, "model_config": {"skeleton_model": "stgcn"}}
    kd_over = {"window": 8, "fps": 15.0, "train_stride_s": 0.125, "stride_s": 0.25, "epochs": 40, "patience": 8,
               "time_limit_s": 300.0}
    models = ("skeleton", "rgb", "fusion", "student", "student_no_kd")
    probs = {m: np.zeros((len(clips), len(names))) for m in models}
    times = {m: [] for m in models}
    per_fold = {m: [] for m in models}
    paths: dict = {}
    for k, v in enumerate(vids if not args.limit else vids[: max(2, min(len(vids), args.limit // 10 or 2))]):
        te = [i for i, c in enumerate(clips) if c.path.name == v]
        tr = [i for i, c in enumerate(clips) if c.path.name != v]
        d = tmp / f"fall{k}"
        log(f"fall fold {k}: test {v} ({len(te)} clips)")
        train = ClipData([clips[i] for i in tr], names)
        # skeleton-only: the shipped fall recipe on the same clips' tracks
        t0 = time.monotonic()
        tri = [j for j, t in enumerate(skel_data.tracks) if v not in t.name]
        sk_tracks = [skel_data.tracks[j] for j in tri]
        from core.training import TrainingData, split_groups

        sub = TrainingData(sk_tracks, skel_data.label_names)
        tr_s, va_s = split_groups(sub.tracks, 0.2, args.seed)
        trainer = Trainer(sub, "stgcn", "default", {"time_limit_s": args.time_limit}, out_dir=d / "skeleton",
                          seed=args.seed, split=(tr_s, va_s))
        trainer.fit()
        times["skeleton"].append(time.monotonic() - t0)
        paths["skeleton"] = d / "skeleton" / "model.pt"
        sclf = TrackClassifier(paths["skeleton"])
        remap = [sclf.label_names.index(n) for n in names]
        for i in te:
            c = clips[i]
            frames, kps, _ = c.cache.track(c.track_id)
            pr = sclf.predict_track(to_common(kps, c.cache.layout), frames, c.cache.fps)
            m = (frames >= c.start) & (frames <= c.end)
            probs["skeleton"][i] = pr[m].mean(0)[remap] if m.any() else 1.0 / len(names)
        log(f"  skeleton done ({times['skeleton'][-1]:.0f} s)")
        t0 = time.monotonic()
        vt = VideoTrainer(train, "r2plus1d", "default", rgb_over, out_dir=d / "rgb", seed=args.seed)
        vt.fit()
        times["rgb"].append(time.monotonic() - t0)
        paths["rgb"] = d / "rgb" / "model.pt"
        for i, p in zip(te, clip_scores_video(paths["rgb"], [clips[i] for i in te])):
            probs["rgb"][i] = p
        log(f"  rgb done ({times['rgb'][-1]:.0f} s, best epoch {vt.best_epoch})")
        t0 = time.monotonic()
        ft = VideoTrainer(train, "fusion", "default", {**fus_over, "init_rgb": str(paths["rgb"])}, out_dir=d / "fusion",
                          seed=args.seed)
        ft.fit()
        times["fusion"].append(time.monotonic() - t0 + times["rgb"][-1])
        paths["fusion"] = d / "fusion" / "model.pt"
        for i, p in zip(te, clip_scores_video(paths["fusion"], [clips[i] for i in te])):
            probs["fusion"][i] = p
        log(f"  fusion done ({time.monotonic() - t0:.0f} s)")
        for m, over in (("student", kd_over), ("student_no_kd", {**kd_over, "beta": 0.0, "gamma": 0.0})):
            t0 = time.monotonic()
            ds = Distiller(paths["fusion"], train, "stgcn", over, out_dir=d / m, seed=args.seed)
            ds.fit()
            times[m].append(time.monotonic() - t0)
            paths[m] = d / m / "model.pt"
            for i, p in zip(te, clip_scores_student(paths[m], [clips[i] for i in te], 8, 15.0, 0.25)):
                probs[m][i] = p
            log(f"  {m} done ({times[m][-1]:.0f} s)")
        for m in models:
            per_fold[m].append(float((probs[m][te].argmax(1) == y[te]).mean()))
    done = [i for i in range(len(clips)) if probs["rgb"][i].sum() > 0]  # not the clips too short for the RGB window
    out = {"clips": len(done), "clips_too_short": len(clips) - len(done), "videos": len(vids), "classes": names,
           "clips_per_class": np.bincount(y[done], minlength=len(names)).tolist()}
    for m in models:
        pred = probs[m][done].argmax(1)
        s = {"balanced_accuracy": round(float(balanced_accuracy_score(y[done], pred)), 3),
             "accuracy": round(float((pred == y[done]).mean()), 3),
             "per_video_accuracy": [round(v, 3) for v in per_fold[m]],
             "recall_per_class": {n: round(float((pred[y[done] == j] == j).mean()), 3) if (y[done] == j).any() else None
                                  for j, n in enumerate(names)}}
        s.update(model_size(paths[m]))
        s["cpu_ms_per_window"] = skeleton_time(paths[m]) if m in ("skeleton", "student", "student_no_kd") else \
            video_time(paths[m])
        s["train_s_per_fold"] = mean_or_none(times[m])
        out[m] = s
    return out


def main() -> None:
    import torch

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--part", choices=["fight", "fall", "both"], default="both")
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--epochs", type=int, default=12, help="RGB epochs (fusion: half; early stopping in both)")
    ap.add_argument("--time-limit", type=float, default=1200.0, help="seconds per training run")
    ap.add_argument("--limit", type=int, default=None, help="fight: every n-th clip until this many (quick look)")
    ap.add_argument("--keep", default=None, help="keep the fold models in this folder")
    args = ap.parse_args()
    torch.set_num_threads(min(2, os.cpu_count() or 1))
    t0 = time.monotonic()
    out: dict = {"bench": "rgb_vs_skeleton", "machine": f"{platform.machine()} {os.cpu_count()} cores, CPU only",
                 "date": time.strftime("%Y-%m-%d"), "torch": torch.__version__, "seed": args.seed,
                 "rgb_config": "small from-scratch R(2+1)D (no pretrained weights)", "epochs": args.epochs}
    with tempfile.TemporaryDirectory(prefix="rgb-vs-skel-") as t:
        tmp = Path(args.keep or t)
        tmp.mkdir(parents=True, exist_ok=True)
        if args.part in ("fight", "both"):
            out["fight"] = fight_part(args, tmp)
            log("fight: " + json.dumps(out["fight"]))
        if args.part in ("fall", "both"):
            out["fall"] = fall_part(args, tmp)
            log("fall: " + json.dumps(out["fall"]))
    out["seconds"] = round(time.monotonic() - t0, 1)
    print(json.dumps(out))


if __name__ == "__main__":
    main()

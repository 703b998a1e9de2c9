"""Model-assisted labelling: a classifier's predictions as proposed clips, and what to label next.

Pipeline for one video (no Qt; the GUI runs :func:`iter_compute` in a background worker and stores on its thread)::

    clf = TrackClassifier("fall_default.pt"); cache = the video's SkeletonCache
    computed = run(iter_compute(clf, cache))        # per-track probabilities + runs of one non-normal label
    store(project, video.id, computed)              # SQLite, keyed by the checkpoint's SHA-256
    project.suggestions(video.id, computed.model_hash)

* Per-track models: every detection of a track gets the class probabilities of its predict-rule window
  (:meth:`core.classify.TrackClassifier.predict_track`); a window the model cannot judge (:func:`core.classify.judgeable`)
  gets a row of NaN. Scene (fight) models: the whole frame gets the live scene score of every frame
  (:func:`core.fight.scene_trace`), probabilities ``[1 - s, s]`` on the normal and scene classes; track key None.
* A suggestion is a run of detections whose smoothed probabilities (moving mean over ``suggest.smooth_frames``
  detections) pick the same non-normal label (argmax; for a scene model: scene score at or above the model's
  operating threshold), gaps up to ``suggest.max_gap_frames`` frames bridged, at least ``suggest.min_frames`` long.
* Accepting makes it a human clip with the model's name, hash and probability as its provenance
  (:func:`accept` / :func:`unaccept`, the two halves of an undoable edit); rejecting records it as reviewed, and
  optionally as a "normal" hard-negative clip (:func:`reject` / :func:`unreject`).
* :func:`rank_unlabelled` ranks stretches of tracks no human clip covers by the models' uncertainty (normalised
  entropy or 1 - margin of the smoothed probabilities) plus, where several models were run on a video, their
  disagreement (total-variation distance between their smoothed probabilities).

Frames are 0-based with inclusive ends; probabilities float32 in [0, 1].
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import config
from .errors import PoseWatchError
from .extract import Cancelled, Progress

#: Label names taken as "normal" (no suggestion is made for them), in order of preference.
NORMAL_NAMES = ("normal", "upright", "no fight", "no_fight", "nofight")


class SuggestError(PoseWatchError):
    """Suggestions cannot be made: the model does not fit the project (one line saying why)."""


def settings() -> dict:
    """The ``suggest`` settings in force (``smooth_frames``, ``min_frames``, ``max_gap_frames``, ``nudge_frames``,
    ``stretch_frames``, ``uncertainty``, ``advance_to_next_video``)."""
    return config.section("suggest")


_HASHES: dict[tuple[str, int, int], str] = {}


def model_hash(path: str | os.PathLike) -> str:
    """SHA-256 (hex, 64 characters) of a checkpoint file's bytes (memoised by path, size and mtime).

    Raises:
        SuggestError: the file cannot be read.
    """
    p = Path(path)
    try:
        st = p.stat()
        key = (str(p.resolve()), st.st_size, st.st_mtime_ns)
        if key not in _HASHES:
            h = hashlib.sha256()
            with open(p, "rb") as fh:
                for block in iter(lambda: fh.read(1 << 20), b""):
                    h.update(block)
            _HASHES[key] = h.hexdigest()
    except OSError as e:
        raise SuggestError(f"cannot read checkpoint {p}: {e.strerror or e}") from None
    return _HASHES[key]


def model_name(clf) -> str:
    """Display name of a :class:`core.classify.TrackClassifier`: its file name without extension."""
    return Path(clf.path).stem


def normal_index(label_names: list[str], clf=None) -> int:
    """Class index of the "normal" label: the first of :data:`NORMAL_NAMES` present; for a scene model the class
    that is not its event label; else 0."""
    low = [n.lower() for n in label_names]
    for n in NORMAL_NAMES:
        if n in low:
            return low.index(n)
    if clf is not None and clf.is_scene:
        k = clf.scene_index
        return next((i for i in range(len(label_names)) if i != k), 0)
    return 0


def check_taxonomy(clf, taxonomy: list[str]) -> None:
    """Refuse an RGB clip model (suggestions are per track), a classifier whose input layout is not ``common13``, or
    one with a label (other than its normal class, which is never suggested) that is neither in the project's
    taxonomy (``taxonomy``: label names) nor mapped onto it by ``labels.model_labels`` (:func:`core.config.model_label`).

    Raises:
        SuggestError: one line naming the mismatch.
    """
    name = Path(clf.path).name
    if getattr(clf, "is_video", False):
        raise SuggestError(f"{name} is an RGB clip model: suggestions come from a skeleton or scene classifier")
    if clf.ckpt.layout != "common13":
        raise SuggestError(f"{name}: input layout '{clf.ckpt.layout}' is not the common 13-joint layout (common13)")
    normal = normal_index(list(clf.label_names), clf)
    missing = [n for i, n in enumerate(clf.label_names) if i != normal and config.model_label(n, taxonomy) is None]
    if missing:
        raise SuggestError(f"{name}: label(s) {', '.join(missing)} not in the project's taxonomy "
                           f"({', '.join(taxonomy)}): add them, or use a model of this project's labels")


# ====================================================================================== probabilities
def _judged_mask(clf, frames: np.ndarray, kps13: np.ndarray, fps: float) -> np.ndarray:
    from .classify import judgeable, track_windows, window_coverage

    step = clf.ckpt.step_for(fps)
    idx, index = track_windows(frames, clf.ckpt.window, step)
    ok = np.array([judgeable(kps13[w], window_coverage(frames, w, clf.ckpt.window, step)) for w in idx], bool)
    return ok[index]


def iter_probabilities(clf, cache, cancel=None):
    """Task generator: the class probabilities of every detection of every track of a video.

    Args:
        clf: a :class:`core.classify.TrackClassifier` (per-track or scene model).
        cache: the video's :class:`core.cache.SkeletonCache`.
        cancel: polled once per track (True: stop with :class:`core.extract.Cancelled`).

    Yields:
        :class:`core.extract.Progress` (tracks done of all).

    Returns:
        ``{track_id: (frames (L,) int64, probs (L, K) float32)}``; a scene model gives one entry ``None`` (the whole
        frame) with every frame. Rows of NaN: windows the model cannot judge.
    """
    from .layouts import to_common

    k = len(clf.label_names)
    if clf.is_scene:
        from .fight import scene_trace

        yield Progress(0, 1, f"scene scores ({model_name(clf)})")
        _t, s = scene_trace(clf, cache)
        pr = np.zeros((len(s), k), np.float32)
        pr[:, clf.scene_index] = s
        other = normal_index(clf.label_names, clf)
        if other != clf.scene_index:
            pr[:, other] = 1.0 - s
        yield Progress(1, 1, "scene scores")
        return {None: (np.arange(len(s), dtype=np.int64), pr)}
    tids = [int(t) for t in cache.track_ids()]
    out = {}
    for i, tid in enumerate(tids):
        if cancel is not None and cancel():
            raise Cancelled("suggestions cancelled")
        yield Progress(i, len(tids), f"suggestions: person #{tid} ({model_name(clf)})")
        frames, kps, _ = cache.track(tid)
        frames = np.asarray(frames, np.int64)
        kps13 = to_common(kps, cache.layout).astype(np.float32)
        pr = clf.predict_track(kps13, frames, cache.fps).astype(np.float32)
        pr[~_judged_mask(clf, frames, kps13, cache.fps)] = np.nan
        out[tid] = (frames, pr)
    yield Progress(len(tids), len(tids), "suggestions")
    return out


def smooth(probs: np.ndarray, n: int) -> np.ndarray:
    """Centred moving mean of ``probs (L, K)`` over ``n`` rows (NaN rows ignored; a row whose neighbourhood is all
    NaN stays NaN). Returns ``(L, K)`` float32."""
    p = np.asarray(probs, np.float64)
    if n <= 1 or len(p) == 0:
        return p.astype(np.float32)
    ok = ~np.isnan(p[:, 0])
    v = np.where(ok[:, None], p, 0.0)
    lo = np.maximum(np.arange(len(p)) - (n - 1) // 2, 0)
    hi = np.minimum(np.arange(len(p)) + n // 2 + 1, len(p))
    cv = np.concatenate([np.zeros((1, p.shape[1])), np.cumsum(v, 0)])
    co = np.concatenate([[0.0], np.cumsum(ok)])
    num = cv[hi] - cv[lo]
    den = (co[hi] - co[lo])[:, None]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / np.maximum(den, 1e-12), np.nan).astype(np.float32)


def runs(frames: np.ndarray, probs: np.ndarray, label_names: list[str], normal: int, threshold: float | None = None,
         k_event: int | None = None, smooth_frames: int = 5, min_frames: int = 8, max_gap_frames: int = 3,
         centre_frames: int = 0) -> list[tuple[int, int, str, float]]:
    """Runs of one non-normal label in one track's probabilities.

    Args:
        frames: ``(L,)`` int frame of each detection (increasing); probs: ``(L, K)`` float32 (NaN rows: not judged).
        label_names: K class names; normal: index of the normal class (never suggested).
        threshold, k_event: for a scene model: a detection is ``k_event`` when its smoothed probability reaches
            ``threshold`` (else normal); None: argmax.
        smooth_frames: moving-mean length (detections); min_frames: shortest run kept (frames);
        max_gap_frames: frames of another label (or not judged) bridged inside a run. Frames in which the track
            has no detection at all are bridged however many they are: the tracker kept the person's identity across
            them, and a missed detection says nothing against the label (Fall04's man lying on track 28 was
            proposed as two runs around a 5-frame gap in his detections).
        centre_frames: half the frames a window spans. ``probs[i]`` judges the window that *ends* at detection ``i``
            (as live); a proposed clip should cover where the behaviour is, so each detection takes the window
            centred on it — the one ending ``centre_frames`` later (the last window for the track's last frames).
            Without it, every proposal starts and ends half a window late (a 16-sample fall window at 30 fps:
            ~0.25 s; the 1-s fight scene window: ~0.7 s). The first half window of a track has no complete window
            centred on it (the windows ending there are the live warm-up, still filling), so its detections take
            the first complete window, the one ending ``2 * centre_frames`` after the track's first frame — as
            the last half window takes the last window. Without it, a fight that fills a clip from its first frame
            was proposed from 0.5-0.7 s in (bench/labelling_effort.py, 2026-12-03).

    Returns:
        ``(start, end, label, mean probability of that label over the run's judged detections)``, by start.
    """
    frames = np.asarray(frames, np.int64)
    if len(frames) == 0:
        return []
    sp = smooth(probs, smooth_frames)
    raw = np.asarray(probs, np.float32)
    if centre_frames > 0:
        ahead = np.searchsorted(frames, frames + int(centre_frames), "left")
        first_full = np.searchsorted(frames, frames[0] + 2 * int(centre_frames), "left")
        ahead = np.minimum(np.maximum(ahead, first_full), len(frames) - 1)
        sp, raw = sp[ahead], raw[ahead]
    judged = ~np.isnan(sp[:, 0])
    if k_event is not None and threshold is not None:
        lab = np.where(judged & (np.nan_to_num(sp[:, k_event]) >= threshold), k_event, normal)
    else:
        lab = np.where(judged, np.argmax(np.nan_to_num(sp, nan=-1.0), 1), normal)
    out: list[tuple[int, int, str, float]] = []
    for k in sorted(set(lab.tolist()) - {normal}):
        pos = np.flatnonzero(lab == k)
        # a cut where detections of another label (or not judged) lie between two of this label, over more than
        # max_gap_frames frames; consecutive detections of the track (pos one apart) are never cut
        cut = np.flatnonzero((np.diff(frames[pos]) > max_gap_frames + 1) & (np.diff(pos) > 1))
        for seg in np.split(pos, cut + 1):
            a, b = int(frames[seg[0]]), int(frames[seg[-1]])
            if b - a + 1 < min_frames:
                continue
            vals = raw[seg, k]
            out.append((a, b, label_names[k], float(np.nanmean(vals)) if np.isfinite(vals).any() else 0.0))
    return sorted(out, key=lambda r: (r[0], r[1]))


def window_frames(clf, fps: float) -> int:
    """Frames of video one judgement of ``clf`` looks at, at ``fps``: a per-track model's window
    (``(T - 1) * step + 1``, :func:`core.classify.track_windows`); a scene model's ``span_s`` seconds plus the
    ``smooth_windows`` frames its score is averaged over."""
    if clf.is_scene:
        n = int((clf.ckpt.alert or {}).get("smooth_windows", 5))
        return int(round(float(clf.ckpt.feature_spec["span_s"]) * float(fps or 30.0))) + n
    return (int(clf.ckpt.window) - 1) * clf.ckpt.step_for(fps) + 1


@dataclass
class Computed:
    """What :func:`iter_compute` found for one video: the model (``model_hash``, ``model_name``, ``label_names``),
    ``probs`` as :func:`iter_probabilities` returns, ``runs`` ``(track_id or None, start, end, label, prob)``, and
    the tracks judged: ``skeletons`` (skeleton key) with ``track_edits`` in effect."""

    model_hash: str
    model_name: str
    label_names: list[str]
    probs: dict
    runs: list[tuple] = field(default_factory=list)
    skeletons: str = ""
    track_edits: tuple = ()


def iter_compute(clf, cache, cancel=None, opts: dict | None = None, taxonomy: list[str] | None = None):
    """Task generator (for :class:`gui.workers.GeneratorWorker` or :func:`core.extract.run`): a video's suggestions
    by ``clf`` on its skeletons ``cache``; nothing is stored (see :func:`store`).

    Args:
        opts: ``suggest`` settings (None: :func:`settings`).
        taxonomy: the project's label names: each run's label becomes the project label it stands for
            (:func:`core.config.model_label`, e.g. the fall model's ``falling`` → ``fall``); None: the model's names.

    Yields:
        :class:`core.extract.Progress`. Returns: :class:`Computed`.

    Raises:
        SuggestError: the checkpoint file cannot be read; Cancelled.
    """
    o = opts or settings()
    probs = yield from iter_probabilities(clf, cache, cancel)
    names = list(clf.label_names)
    normal = normal_index(names, clf)
    thr = clf.scene_threshold() if clf.is_scene else None
    k_ev = clf.scene_index if clf.is_scene else None
    half = window_frames(clf, cache.fps) // 2
    found = []
    for tid, (frames, pr) in probs.items():
        for a, b, lab, p in runs(frames, pr, names, normal, thr, k_ev, o["smooth_frames"], o["min_frames"],
                                 o["max_gap_frames"], half):
            found.append((tid, a, b, (config.model_label(lab, taxonomy) or lab) if taxonomy is not None else lab, p))
    found.sort(key=lambda r: (r[1], -1 if r[0] is None else r[0]))
    from .track_edits import skeleton_key

    return Computed(model_hash(clf.path), model_name(clf), names, probs, found, skeleton_key(cache),
                    tuple(getattr(cache, "track_edits", ())))


def store(project, video_id: int, computed: Computed):
    """Store ``computed`` as the suggestion set of ``video_id`` (replacing that model's earlier one).
    Returns the :class:`core.project.SuggestionSet`."""
    return project.store_suggestion_set(video_id, computed.model_hash, computed.model_name, computed.label_names,
                                        computed.probs, computed.runs, computed.skeletons, computed.track_edits)


def iter_video_suggestions(project, video, clf, backend: str = "yolo", recompute: bool = False, cancel=None):
    """Task generator: the suggestions of ``clf`` for a project video, stored in the project. Stored suggestions of
    the same model (same checkpoint hash) are reused without inference unless ``recompute`` or stale (judged on
    tracks an undo took back; track edits made since are followed by the stored set); skeletons come from the
    project (computed with ``backend`` on first use).

    Yields:
        :class:`core.extract.Progress`. Returns: ``list[core.project.Suggestion]``.

    Raises:
        SuggestError: the model's labels or layout do not fit the taxonomy; VideoError, ModelError, CacheError.
    """
    check_taxonomy(clf, project.label_names())
    h = model_hash(clf.path)
    stored = project.suggestion_sets(video.id, h)
    if not recompute and stored and not stored[0].stale:
        return project.suggestions(video.id, h)
    cache = yield from project.iter_skeletons(video, backend, cancel=cancel)
    computed = yield from iter_compute(clf, cache, cancel, taxonomy=project.label_names())
    store(project, video.id, computed)
    return project.suggestions(video.id, h)


def iter_project_suggestions(folder, model_path, backend: str = "yolo", recompute: bool = False, cancel=None,
                             video_ids=None):
    """Task generator: a model's suggestions for every video of a project (pre-annotating the whole project, so
    that review can go from one video's suggestions to the next's). Opens its own connection to the project, so
    it may run in a background thread while the window keeps its own; videos with stored suggestions of the same
    model are skipped unless ``recompute`` (see :func:`iter_video_suggestions`); moved or deleted videos are left
    out.

    Args:
        folder: the project folder; model_path: the checkpoint; backend: pose backend for skeletons not computed
            yet; cancel: polled between videos and inside each; video_ids: only these videos (None: all).

    Yields:
        :class:`core.extract.Progress` (videos done of all).

    Returns:
        ``{video_id: number of suggestions}``.

    Raises:
        SuggestError: the model does not fit the project's taxonomy (before anything is computed);
        ModelError, VideoError, CacheError.
    """
    from .classify import TrackClassifier
    from .project import Project

    clf = TrackClassifier(model_path)
    out: dict[int, int] = {}
    with Project.open(Path(folder)) as proj:
        check_taxonomy(clf, proj.label_names())
        videos = [v for v in proj.videos() if (video_ids is None or v.id in set(video_ids))
                  and (v.kind == "skeletons" or Path(v.path).exists())]
        for i, v in enumerate(videos):
            if cancel is not None and cancel():
                raise Cancelled("suggestions cancelled")
            name = v.name or Path(v.path).name
            yield Progress(i, len(videos), f"suggestions for {name}")
            gen = iter_video_suggestions(proj, v, clf, backend, recompute=recompute, cancel=cancel)
            try:
                while True:
                    step = next(gen)  # the video's own progress (skeletons, tracks) inside the per-video line
                    yield Progress(i, len(videos), f"{name}: {step.message}")
            except StopIteration as stop:
                out[v.id] = len(stop.value)
        yield Progress(len(videos), len(videos), "suggestions for every video")
    return out


# ====================================================================================== review
def provenance_note(s) -> str:
    """The note of a clip accepted from suggestion ``s``: model, short hash and mean probability."""
    return f"suggested by {s.model_name} ({s.model_hash[:12]}), p={s.prob:.2f}"


def covered(project, s) -> list:
    """The other open suggestions that ``s`` (a :class:`core.project.Suggestion`, with its frames as they are now)
    covers: same video, model, track (or whole frame) and label, frames inside ``s.start..s.end``. A model whose
    label flickers proposes one behaviour as several runs; once the first is stretched over the rest and accepted,
    the rest say nothing new (bench/labelling_effort.py, 2026-12-04: Fall01's man lying, proposed as two runs with
    10 frames judged upright between them)."""
    return [o for o in project.suggestions(s.video_id, s.model_hash, status="open")
            if o.id != s.id and o.track_id == s.track_id and o.label == s.label
            and o.start >= s.start and o.end <= s.end]


def absorbed(project, suggestion_id: int) -> list:
    """The suggestions that accepting ``suggestion_id`` closed with it (:func:`covered` ones, now ``accepted`` into
    the same clip), itself left out; empty while it is not accepted."""
    s = project.suggestion(suggestion_id)
    if s.status != "accepted" or s.clip_id is None:
        return []
    return [o for o in project.suggestions(s.video_id, s.model_hash, status="accepted")
            if o.id != s.id and o.clip_id == s.clip_id]


def accept(project, suggestion_id: int, annotator: str = "", clip=None):
    """Accept a suggestion: it becomes a clip (frames, track, label as the suggestion has them now) with the model's
    name, hash and probability as provenance; the suggestion is marked ``accepted``, and so are the open ones it
    :func:`covered` (into the same clip; :func:`absorbed` lists them). ``clip``: re-insert this clip (same id; the
    redo of an undone accept). One transaction. Returns the :class:`core.project.Clip`.

    Raises:
        ProjectError: unknown suggestion, not open, or an invalid clip (e.g. a label removed meanwhile).
    """
    from .project import ProjectError

    s = project.suggestion(suggestion_id)
    if s.status != "open":
        raise ProjectError(f"suggestion {suggestion_id} is already {s.status}")
    inside = covered(project, s)
    with project.batch():
        if clip is None:
            clip = project.add_clip(s.video_id, s.start, s.end, s.label, s.track_id, None, annotator,
                                    provenance_note(s))
        else:
            clip = project.restore_clip(clip)
        project.set_clip_provenance(clip.id, s.model_name, s.model_hash, s.prob, s.id)
        project.update_suggestion(s.id, status="accepted", clip_id=clip.id)
        for o in inside:
            project.update_suggestion(o.id, status="accepted", clip_id=clip.id)
    return clip


def unaccept(project, suggestion_id: int):
    """Undo :func:`accept`: delete the clip made from the suggestion (returned, for a redo) and reopen it and the
    suggestions it :func:`absorbed`."""
    s = project.suggestion(suggestion_id)
    others = absorbed(project, suggestion_id)
    with project.batch():
        clip = project.delete_clip(s.clip_id)
        project.remove_clip_provenance(clip.id)
        for o in others:
            project.update_suggestion(o.id, status="open", clip_id=None)
        project.update_suggestion(s.id, status="open", clip_id=None)
    return clip


def reject(project, suggestion_id: int, as_normal: bool = False, annotator: str = "", clip=None):
    """Reject a suggestion (recorded as reviewed). ``as_normal``: also add its frames as a clip of the project's
    "normal" label (a hard negative; the first of :data:`NORMAL_NAMES` in the taxonomy). ``clip``: re-insert this
    hard-negative clip (a redo). Returns the hard-negative :class:`core.project.Clip` or None.

    Raises:
        ProjectError: unknown or already reviewed suggestion; ``as_normal`` without a normal label in the taxonomy.
    """
    from .project import ProjectError

    s = project.suggestion(suggestion_id)
    if s.status != "open":
        raise ProjectError(f"suggestion {suggestion_id} is already {s.status}")
    names = project.label_names()
    with project.batch():
        if as_normal:
            normal = next((n for n in names if n.lower() in NORMAL_NAMES), None)
            if normal is None:
                raise ProjectError(f"no normal label in the taxonomy ({', '.join(names)}) for a hard negative")
            if clip is None:
                clip = project.add_clip(s.video_id, s.start, s.end, normal, s.track_id, None, annotator,
                                        f"hard negative: rejected {provenance_note(s)}")
            else:
                clip = project.restore_clip(clip)
        project.update_suggestion(s.id, status="rejected", clip_id=clip.id if as_normal else None)
    return clip if as_normal else None


def unreject(project, suggestion_id: int):
    """Undo :func:`reject`: delete its hard-negative clip, if any (returned), and reopen the suggestion."""
    s = project.suggestion(suggestion_id)
    with project.batch():
        clip = project.delete_clip(s.clip_id) if s.clip_id is not None else None
        project.update_suggestion(s.id, status="open", clip_id=None)
    return clip


# ====================================================================================== label next
@dataclass(frozen=True)
class Stretch:
    """An unlabelled stretch of a track worth labelling: frames ``start..end`` (inclusive) of ``track_id`` (None:
    whole frame) in video ``video_id``; ``score = uncertainty + disagreement`` (each in [0, 1], means over the
    stretch); ``models``: how many models judged it."""

    video_id: int
    track_id: int | None
    start: int
    end: int
    score: float
    uncertainty: float
    disagreement: float
    models: int


def uncertainty(probs: np.ndarray, measure: str = "entropy") -> np.ndarray:
    """Per-row uncertainty of ``probs (L, K)``: ``"entropy"`` (normalised by log K) or ``"margin"``
    (1 - (top1 - top2)); in [0, 1], NaN for NaN rows. Returns ``(L,)`` float64.

    Raises:
        ValueError: unknown measure.
    """
    p = np.asarray(probs, np.float64)
    k = p.shape[1]
    if measure == "entropy":
        q = np.clip(p, 1e-12, 1.0)
        return -(q * np.log(q)).sum(1) / np.log(max(k, 2))
    if measure == "margin":
        s = np.sort(p, 1)
        return 1.0 - (s[:, -1] - (s[:, -2] if k > 1 else 0.0))
    raise ValueError(f"unknown uncertainty measure '{measure}' (entropy or margin)")


def rank_unlabelled(project, video_ids=None, model_hashes=None, opts: dict | None = None,
                    memo: dict | None = None, limit: int | None = None) -> list[Stretch]:
    """Rank the project's unlabelled stretches of tracks by the stored models' uncertainty and disagreement.

    For every video with stored suggestion sets (optionally only ``video_ids`` / ``model_hashes``), every track
    (and the whole frame of a scene model): the frames no human clip of that track (or of the whole frame) covers
    and no reviewed suggestion covers, cut into stretches of ``suggest.stretch_frames``; each scored by the mean of
    its per-frame uncertainty (mean over the models judging the frame, :func:`uncertainty` of the smoothed
    probabilities, measure ``suggest.uncertainty``) plus disagreement (mean total-variation distance between pairs
    of models, over the union of their label names). Nothing is computed by a model here: run
    :func:`iter_video_suggestions` first.

    Args:
        memo: a dict the caller keeps between calls (the GUI's Label next): the per-frame uncertainty of each
            video's stored sets is kept there and reused while those sets are unchanged, so a call after a clip
            edit only redoes the coverage (Label next in a 100,000-frame project: ~220 → ~30 ms for the whole
            action; bench/project_scale.py).
        limit: return only the best ``limit`` stretches (None: all).

    Returns:
        :class:`Stretch` list, best first (score descending, then video and first frame).
    """
    o = opts or settings()
    w = max(1, int(o["stretch_frames"]))
    shortest = min(int(o["min_frames"]), w)
    tids: list = []  # the track of each block of candidates
    cols: list[list[np.ndarray]] = [[] for _ in range(8)]  # video, track index, start, end, score, u, d, models
    vids = [v for v in project.videos() if video_ids is None or v.id in set(video_ids)]
    for v in vids:
        sets = [s for s in project.suggestion_sets(v.id) if model_hashes is None or s.model_hash in model_hashes]
        if not sets:
            continue
        key = ("uncertainty", v.id, str(project.folder), v.frame_count,
               tuple((s.id, s.created, s.later_edits) for s in sets),
               o["smooth_frames"], o["uncertainty"])
        per_track = memo.get(key) if memo is not None else None
        if per_track is None:
            per_track = _track_uncertainty(project, sets, v.frame_count, o)
            if memo is not None:
                for k in [k for k in memo if k[:3] == key[:3]]:
                    del memo[k]  # an older set of this video
                memo[key] = per_track
        n = v.frame_count
        covered_all = np.zeros(n, bool)
        clips = project.clips(v.id)
        for c in clips:
            if c.track_id is None:
                covered_all[c.start:c.end + 1] = True
        reviewed = [s for s in project.suggestions(v.id) if s.status != "open"]
        for tid, (unc_mean, dis, m_count) in per_track.items():
            cov = covered_all.copy()
            for c in clips:
                if c.track_id == tid:
                    cov[c.start:c.end + 1] = True
            for s in reviewed:
                if s.track_id == tid:
                    cov[s.start:s.end + 1] = True
            idx = np.flatnonzero((m_count > 0) & ~cov)
            if not len(idx):
                continue
            # stretches: runs of consecutive frames, cut every w frames (all at once, not one at a time)
            seg_start = np.r_[0, np.flatnonzero(np.diff(idx) > 1) + 1]
            seg_of = np.repeat(np.arange(len(seg_start)), np.diff(np.r_[seg_start, len(idx)]))
            first = np.flatnonzero((np.arange(len(idx)) - seg_start[seg_of]) % w == 0)
            length = np.diff(np.r_[first, len(idx)])
            u = np.add.reduceat(unc_mean[idx], first) / length
            d = np.add.reduceat(dis[idx], first) / length
            models = np.maximum.reduceat(m_count[idx], first)
            ok = length >= shortest  # a sliver between labelled frames is not a stretch
            k = int(ok.sum())
            tids.append(tid)
            found = (np.full(k, v.id), np.full(k, len(tids) - 1), idx[first][ok], idx[first + length - 1][ok],
                     (u + d)[ok], u[ok], d[ok], models[ok])
            for col, a in zip(cols, found):
                col.append(a)
    if not tids:
        return []
    vid, ti, start, end, score, u, d, models = (np.concatenate(c) for c in cols)
    order = np.lexsort((start, vid, -score))[:limit]  # stable: ties keep the order found
    return [Stretch(int(vid[i]), tids[int(ti[i])], int(start[i]), int(end[i]), float(score[i]), float(u[i]),
                    float(d[i]), int(models[i])) for i in order.tolist()]


def _track_uncertainty(project, sets, n: int, o: dict) -> dict:
    """Per track (None: whole frame) of one video's suggestion ``sets``: ``(uncertainty (n,), disagreement (n,),
    models judging (n,))`` float64/float64/int64 over its ``n`` frames (uncertainty NaN where no model judged)."""
    union = sorted({name for s in sets for name in s.label_names})
    dense_of: dict = {}
    for s in sets:
        for tid, (frames, pr) in project.suggestion_probs(s.id).items():
            dense = np.full((n, len(union)), np.nan)
            sp = smooth(pr, o["smooth_frames"])
            keep = frames < n
            cols = [union.index(name) for name in s.label_names]
            dense[np.ix_(frames[keep], cols)] = sp[keep]
            others = [j for j in range(len(union)) if j not in cols]
            if others:
                dense[np.ix_(frames[keep], others)] = 0.0
            dense[frames[keep][np.isnan(sp[keep, 0])]] = np.nan
            dense_of.setdefault(tid, []).append(dense)
    out = {}
    for tid, dens in dense_of.items():
        stack = np.stack(dens)  # (M, n, U)
        seen = ~np.isnan(stack[..., 0])  # (M, n)
        m_count = seen.sum(0)
        unc = np.stack([np.where(seen[i], uncertainty(np.nan_to_num(stack[i]), o["uncertainty"]), np.nan)
                        for i in range(len(stack))])
        unc_mean = np.where(m_count > 0, np.nansum(np.where(seen, unc, 0.0), 0) / np.maximum(m_count, 1), np.nan)
        dis = np.zeros(n)
        if len(stack) > 1:
            tot, cnt = np.zeros(n), np.zeros(n)
            for i in range(len(stack)):
                for j in range(i + 1, len(stack)):
                    both = seen[i] & seen[j]
                    tv = 0.5 * np.abs(np.nan_to_num(stack[i]) - np.nan_to_num(stack[j])).sum(1)
                    tot += np.where(both, tv, 0.0)
                    cnt += both
            dis = np.where(cnt > 0, tot / np.maximum(cnt, 1), 0.0)
        out[tid] = (unc_mean, dis, m_count)
    return out

"""Alerts into training data: file a live alert's clip into a labelling project.

An alert of the live detector (:class:`core.live.AlertEvent`, or its line of ``events.jsonl`` as a dict) comes with
a short clip (``pre_s`` before to ``post_s`` after the alert frame) and, since this version, two sidecars
(:func:`core.live.detector.alert_sidecars`): the same frames without the overlay (``<stem>.raw.mp4``) and the poses
the detector had on them (``<stem>.skeletons.npz``, a :class:`core.cache.SkeletonCache` in the clip's pixels).

* :func:`file_alert` — a person reviewed the alert: **Confirm** adds the clip to the project as a video with a clip
  of the alert's label on the alert's track (annotator :data:`CONFIRM_ANNOTATOR`); **Dismiss** adds it with a clip
  of the project's "normal" label on that track (a reviewed hard negative, annotator :data:`DISMISS_ANNOTATOR`).
* :func:`file_alert_suggestion` — nobody reviewed it yet (``main.py detect --project``): the clip is added as a
  video with the alert as an *open suggestion* of the detector's model, reviewed later like any other suggestion
  (:mod:`core.suggest`, the labeller's Suggestions panel: accept, reject, reject as normal).
* :func:`undo_filing` takes a filing back (the GUI's undo).

The video that is filed is the raw clip where it exists (no overlay: fit for RGB models too), else the overlay clip.
It is copied into ``<project>/alerts/`` (the project stays self-contained when the events folder is cleaned). The
detector's poses are stored as that video's skeleton cache under the key the project's labeller and exporter look
up for the detector's pose backend (so nothing is recomputed); the cache's ``meta["source"]`` says they came from
the live detector (its backend and inference width in ``meta["detector"]``). Without the poses sidecar (a clip of
an older PoseWatch) the skeletons are computed when the video is first opened, and the clip covers the whole frame
(``track_id`` None: the detector's track IDs are not those of a new extraction).

Crash safety: the copy is written under a temporary name and renamed, then every database change of one filing is
one committed SQLite transaction (:meth:`core.project.Project.batch`): killing the process leaves the filing either
wholly done or not at all (at worst an unreferenced copy in ``alerts/``, reused by the next filing of that alert).
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .config import model_label
from .errors import PoseWatchError
from .files import atomic_path
from .project import Project, ProjectError

#: Annotator of a clip filed by Confirm in the live view's event log.
CONFIRM_ANNOTATOR = "live-confirm"
#: Annotator of a hard-negative clip filed by Dismiss.
DISMISS_ANNOTATOR = "live-dismiss"
#: Folder of the project that receives the filed clips.
ALERTS_DIR = "alerts"
#: Label added to the taxonomy for a Dismiss when the project has no "normal" label.
DEFAULT_NORMAL = "normal"
#: Model name prefix of the suggestion sets :func:`file_alert_suggestion` stores.
DETECTOR_MODEL_PREFIX = "live detector"


@dataclass(frozen=True)
class Filing:
    """What one filing did (enough to undo it).

    Attributes:
        video_id: the project video of the alert's clip; added_video: it was new to the project.
        clip_id: the clip made (Confirm / Dismiss), or None (a suggestion).
        suggestion_id: the open suggestion made (:func:`file_alert_suggestion`), or None.
        label: the label of the clip or suggestion; track_id: its track (None: whole frame).
        start, end: its frames in the filed video, inclusive; confirmed: True (Confirm), False (Dismiss),
        None (a suggestion); skeletons: the detector's poses were stored as the video's skeleton cache.
    """

    video_id: int
    added_video: bool
    clip_id: int | None
    suggestion_id: int | None
    label: str
    track_id: int | None
    start: int
    end: int
    confirmed: bool | None
    skeletons: bool


def _field(event: Any, name: str, default=None):
    if isinstance(event, dict):
        return event.get({"frame_index": "frame"}.get(name, name), event.get(name, default))
    return getattr(event, name, default)


def read_events(path: str | os.PathLike) -> list[dict]:
    """The alerts of an ``events.jsonl`` file, one dict per line (blank lines skipped).

    Raises:
        PoseWatchError: the file cannot be read, or a line is not JSON (its line number).
    """
    out = []
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError as e:
        raise PoseWatchError(f"cannot read events file {path}: {e.strerror or e}") from None
    for i, line in enumerate(lines, 1):
        if line.strip():
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError as e:
                raise PoseWatchError(f"{path}, line {i}: not JSON ({e.msg})") from None
    return out


def _prepare(project: Project, event: Any):
    """Copy the alert's clip into the project, add it as a video and store the detector's poses as its cache.

    Returns ``(video, added, cache or None)``."""
    from .cache import SkeletonCache, cache_path, video_key
    from .live.detector import alert_sidecars

    clip = _field(event, "clip")
    if not clip:
        raise ProjectError("this alert has no clip (the detector ran without an events folder)")
    raw, skel = alert_sidecars(clip)
    source = raw if raw.is_file() else Path(clip)
    if not Path(clip).is_file() and not raw.is_file():
        raise ProjectError(f"the alert's clip {Path(clip).name} is not written yet (it is written once the "
                           "post-alert seconds have passed) or was removed")
    key = video_key(source)
    dest_dir = project.folder / ALERTS_DIR
    dest = dest_dir / f"{Path(clip).stem}_{key[:8]}.mp4"
    try:
        dest_dir.mkdir(exist_ok=True)
        if not dest.is_file():
            with atomic_path(dest) as tmp:
                shutil.copyfile(source, tmp)
    except OSError as e:
        raise ProjectError(f"cannot copy the alert's clip into {dest_dir}: {e.strerror or e}") from None
    added = project.video_by_hash(video_key(dest)) is None
    video = project.add_video(dest)
    cache = None
    if skel.is_file():
        try:
            cache = SkeletonCache.load(skel)
        except PoseWatchError:
            cache = None  # unreadable sidecar: the skeletons are computed when the video is opened
    if cache is not None:
        from .pose import DEFAULT_BACKEND, BACKENDS, estimator_settings

        backend = str((cache.meta.get("detector") or {}).get("backend") or DEFAULT_BACKEND)
        if backend not in BACKENDS:
            backend = DEFAULT_BACKEND
        try:
            settings = dict(estimator_settings(backend), width=None)
        except (ValueError, PoseWatchError):
            cache = None
        else:
            target = cache_path(dest, settings, project.skeleton_dir)
            if not target.is_file():
                meta = dict(cache.meta, video=str(dest), settings=settings, source="live detector")
                type(cache)(meta, cache.frame, cache.track_id, cache.bbox, cache.score, cache.keypoints,
                            cache.offsets).save(target)
    return video, added, cache


def _span(video, cache, event) -> tuple[int, int, int | None]:
    """Frames (inclusive) and track of the alert's track in the filed clip; the whole clip without poses."""
    import numpy as np

    last = video.frame_count - 1
    tid = _field(event, "track_id")
    if cache is None or tid is None:
        return 0, last, None
    frames, _kp, _box = cache.track(int(tid))
    frames = frames[frames <= last]
    if len(frames) == 0:
        return 0, last, None
    return int(np.min(frames)), int(np.max(frames)), int(tid)


def _check_not_filed(project: Project, video_id: int) -> None:
    done = [c for c in project.clips(video_id) if c.annotator in (CONFIRM_ANNOTATOR, DISMISS_ANNOTATOR)]
    if done:
        how = "confirmed" if done[0].annotator == CONFIRM_ANNOTATOR else "dismissed"
        raise ProjectError(f"this alert is already filed in the project ({how}, clip {done[0].id})")


def _normal_label(project: Project) -> str:
    from .suggest import NORMAL_NAMES

    names = project.label_names()
    found = next((n for n in names if n.lower() in NORMAL_NAMES), None)
    if found is None:
        project.add_label(DEFAULT_NORMAL)
        found = DEFAULT_NORMAL
    return found


def file_alert(project: Project, event: Any, confirm: bool, annotator: str | None = None) -> Filing:
    """File a reviewed alert into ``project``: Confirm (``confirm=True``) adds a clip of the alert's label on the
    alert's track, Dismiss (``False``) a clip of the project's normal label there (a hard negative). The alert's
    label is the project label it stands for where the taxonomy lacks the model's own name (``labels.model_labels``:
    the fall model's ``falling`` files as ``fall``); that label (Confirm) or ``normal`` (Dismiss, when the taxonomy
    has no normal label) is added to the taxonomy if still missing. One committed transaction.

    Args:
        project: the open project.
        event: a :class:`core.live.AlertEvent` or a dict of ``events.jsonl`` (``clip``, ``track_id``, ``label``,
            ``prob``, ``frame``, ``camera``).
        confirm: True: the alert was right; False: a false alarm.
        annotator: the clips' annotator (default :data:`CONFIRM_ANNOTATOR` / :data:`DISMISS_ANNOTATOR`).

    Returns:
        The :class:`Filing`.

    Raises:
        ProjectError: no clip or not written yet, already filed, the copy or the database write failed.
        VideoError: the clip cannot be read.
    """
    label = str(_field(event, "label") or "")
    if confirm and not label:
        raise ProjectError("this alert has no label")
    video, added, cache = _prepare(project, event)
    with project.batch():
        _check_not_filed(project, video.id)
        if confirm:
            clip_label = model_label(label, project.label_names()) or label  # e.g. the fall model's falling → fall
            if clip_label not in project.label_names():
                project.add_label(clip_label)
        else:
            clip_label = _normal_label(project)
        start, end, tid = _span(video, cache, event)
        who = annotator or (CONFIRM_ANNOTATOR if confirm else DISMISS_ANNOTATOR)
        note = (f"live alert {label} p={float(_field(event, 'prob', 0.0)):.2f} at frame {_field(event, 'frame_index')}"
                + (f", camera {_field(event, 'camera')}" if _field(event, "camera") else "")
                + ("" if confirm else ": dismissed (false alarm)"))
        clip = project.add_clip(video.id, start, end, clip_label, tid, None, who, note)
    return Filing(video.id, added, clip.id, None, clip_label, tid, start, end, bool(confirm), cache is not None)


def file_alert_suggestion(project: Project, event: Any, model_path: str | os.PathLike | None = None,
                          model_name: str | None = None) -> Filing:
    """File an unreviewed alert into ``project``: its clip becomes a video with the alert as an *open* suggestion
    of the detector's model on the alert's track (reviewed later in the labeller's Suggestions panel, or
    ``main.py suggest``). One committed transaction. Filing the same alert again replaces its suggestion.

    Why a suggestion and not a clip with annotator "detector": a detector's alert is a prediction, not a label.
    Frigate keeps every detection as an unreviewed "review item" until a person marks it reviewed, and Label Studio
    keeps model output as *predictions* apart from *annotations*, never counting them as ground truth. Filing
    alerts as confirmed clips would train the next model on its predecessor's mistakes (false alarms as positives);
    as suggestions they cost one keypress each to confirm or dismiss, and until then nothing trains on them.

    Args:
        project: the open project; event: as in :func:`file_alert`.
        model_path: the detector's classifier checkpoint (its SHA-256 keys the suggestion set; None: the alert's
            label stands in for a model hash).
        model_name: display name (default ``"live detector: <checkpoint file name>"``).

    Returns:
        The :class:`Filing` (``suggestion_id`` set, ``clip_id`` None).

    Raises:
        ProjectError, VideoError: as :func:`file_alert`; SuggestError: the checkpoint cannot be read.
    """
    import hashlib

    import numpy as np

    label = str(_field(event, "label") or "")
    if not label:
        raise ProjectError("this alert has no label")
    if model_path is not None:
        from .suggest import model_hash

        mhash = model_hash(model_path)
        name = model_name or f"{DETECTOR_MODEL_PREFIX}: {Path(model_path).name}"
    else:
        mhash = hashlib.sha256(f"{DETECTOR_MODEL_PREFIX}:{label}".encode()).hexdigest()
        name = model_name or DETECTOR_MODEL_PREFIX
    video, added, cache = _prepare(project, event)
    prob = float(_field(event, "prob", 0.0) or 0.0)
    with project.batch():
        label = model_label(label, project.label_names()) or label  # e.g. the fall model's falling → fall
        if label not in project.label_names():
            project.add_label(label)
        start, end, tid = _span(video, cache, event)
        frames = np.arange(start, end + 1)
        probs = np.full((len(frames), 1), prob, np.float32)
        project.store_suggestion_set(video.id, mhash, name, [label], {tid: (frames, probs)},
                                     [(tid, start, end, label, prob)])
        # the run just stored, or the reviewed suggestion it repeats (a refiled alert keeps its review)
        mine = [s for s in project.suggestions(video.id, mhash) if s.track_id == tid and s.label == label]
        sid = min(mine, key=lambda s: (abs(s.start - start) + abs(s.end - end), s.id)).id
    return Filing(video.id, added, None, sid, label, tid, start, end, None, cache is not None)


def file_events(project: Project, events: str | os.PathLike, model_path: str | os.PathLike | None = None
                ) -> list[Filing]:
    """:func:`file_alert_suggestion` for every alert of an ``events.jsonl`` file, in order (each its own
    transaction, so an interrupted run keeps the alerts filed so far; running it again refiles them in place).

    Raises:
        PoseWatchError: the events file cannot be read; ProjectError, VideoError: as :func:`file_alert_suggestion`.
    """
    return [file_alert_suggestion(project, ev, model_path) for ev in read_events(events)]


def undo_filing(project: Project, filing: Filing) -> None:
    """Take back a filing: delete its clip or its suggestion set (one transaction). The video stays in the project
    (without clips it is not training data; filing the alert again reuses it).

    Raises:
        ProjectError: the clip or suggestion no longer exists.
    """
    with project.batch():
        if filing.clip_id is not None:
            project.delete_clip(filing.clip_id)
        if filing.suggestion_id is not None:
            s = project.suggestion(filing.suggestion_id)
            project.delete_suggestion_set(s.video_id, s.model_hash)  # the set of this one alert clip

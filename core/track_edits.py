"""Track and keypoint edits over the immutable skeleton cache (issue 12, model-assisted labelling).

The skeleton cache of a video (:class:`core.cache.SkeletonCache`) is never rewritten. What a labeller fixes is
stored in the project as a list of edits, and :func:`apply_edits` turns the cached tracks plus the edits into the
tracks every consumer sees (overlay, timeline rows, per-track clips, follow-track crops, export, training)::

    edited = apply_edits(cache, [TrackEdit("merge", 9, 5), TrackEdit("split", 5, 130, frame=200)],
                         [KeypointEdit(frame=40, track=9, joint=10, x=210.0, y=388.0)])
    edited.track_ids()              # the edited track IDs
    edited.base is cache            # the cache as extracted

Track edits, applied in order, each to the track IDs the previous ones left:

- ``merge``: track ``track`` joins track ``other`` (its rows take ``other``'s ID). Refused when the two tracks are
  ever in the same frame (a person is never twice in one frame).
- ``split``: the rows of ``track`` from frame ``frame`` on become the new track ``other``.
- ``delete``: the rows of ``track`` are dropped (a spurious detection).
- ``rename``: ``track`` gets the unused ID ``other``.

Keypoint edits address a row of the *cache as extracted* (its frame and original track ID), so later track edits
never detach a correction from its joint. A corrected joint gets the edited ``x, y`` and ``score`` (1 for a moved
joint, 0 for a deleted one) and is flagged in :attr:`EditedSkeletons.corrected`.

Pure functions of numpy arrays; no Qt, no database (:mod:`core.project_edits` stores the edits).
"""

from __future__ import annotations

import collections
import weakref
from dataclasses import dataclass, field

import numpy as np

from .cache import SkeletonCache, distinct_ids, presence_runs, settings_key
from .errors import PoseWatchError

TRACK_EDIT_KINDS = ("merge", "split", "delete", "rename")


class TrackEditError(PoseWatchError):
    """An edit that cannot apply to the tracks (one line saying why, e.g. the frames where two tracks overlap)."""


@dataclass(frozen=True)
class TrackEdit:
    """One edit of the tracks.

    Attributes:
        kind: ``"merge"``, ``"split"``, ``"delete"`` or ``"rename"``.
        track: the track edited (its ID before this edit).
        other: merge: the track it joins (keeps its ID); split: the ID of the part from ``frame`` on; rename: the
            new ID; delete: None.
        frame: split: the first frame (0-based) of the new part; else None.
        id: database id (None before it is stored).
    """

    kind: str
    track: int
    other: int | None = None
    frame: int | None = None
    id: int | None = field(default=None, compare=False)

    def describe(self) -> str:
        """One line for the undo history: ``merge #9 into #5``."""
        if self.kind == "merge":
            return f"merge track #{self.track} into #{self.other}"
        if self.kind == "split":
            return f"split track #{self.track} at frame {self.frame} (new #{self.other})"
        if self.kind == "delete":
            return f"delete track #{self.track}"
        return f"rename track #{self.track} to #{self.other}"


@dataclass(frozen=True)
class KeypointEdit:
    """A corrected joint of one person in one frame.

    Attributes:
        frame: 0-based frame.
        track: the person's track ID in the cache as extracted (not the edited ID; see :attr:`EditedSkeletons.rows`).
        joint: joint index in the cache's layout (0..V-1).
        x, y: position in pixels of the original video.
        score: 1.0 for a placed joint, 0.0 for a deleted one.
    """

    frame: int
    track: int
    joint: int
    x: float
    y: float
    score: float = 1.0


@dataclass
class EditedSkeletons(SkeletonCache):
    """A :class:`~core.cache.SkeletonCache` with the project's edits applied (same array layout).

    Attributes:
        base: the cache as extracted (never modified).
        rows: ``(N,)`` int64: for each row here, its row in :attr:`base`.
        corrected: ``(N, V)`` bool: the joints a keypoint edit set.
        track_edits, keypoint_edits: the edits applied (tuples, in order).
        skipped: one line per stored edit that no longer applied and was left out.
    """

    base: SkeletonCache | None = field(default=None, repr=False)
    rows: np.ndarray | None = field(default=None, repr=False)
    corrected: np.ndarray | None = field(default=None, repr=False)
    track_edits: tuple = ()
    keypoint_edits: tuple = ()
    skipped: tuple = ()

    def source_track(self, row: int) -> int:
        """The original (cache) track ID of row ``row``."""
        return int(self.base.track_id[self.rows[row]])


def corrected_in_frame(cache: SkeletonCache, frame: int) -> dict[int, np.ndarray]:
    """The corrected joints of each person of ``frame``: ``{track ID: (V,) bool}`` (empty for a cache without
    keypoint edits or a frame out of range); the ``corrected`` argument of :func:`core.overlay.draw_overlay`."""
    mask = getattr(cache, "corrected", None)
    if mask is None or not mask.any() or not 0 <= frame < cache.frame_count:
        return {}
    a, b = int(cache.offsets[frame]), int(cache.offsets[frame + 1])
    return {int(cache.track_id[r]): mask[r] for r in range(a, b) if mask[r].any()}


def base_of(cache: SkeletonCache) -> SkeletonCache:
    """The cache as extracted behind ``cache`` (``cache`` itself when it carries no edits)."""
    base = getattr(cache, "base", None)
    return base if base is not None else cache


def skeleton_key(cache: SkeletonCache) -> str:
    """16 hex characters naming the cache's extraction settings (model, backend, width; or the import format):
    edits are stored under it, so they only ever apply to the tracks they were made on."""
    return settings_key(base_of(cache).meta.get("settings") or {})


def frame_runs(frames: np.ndarray, limit: int = 4) -> str:
    """Sorted frame indices as ranges: ``"120–135, 140"`` (at most ``limit`` ranges, then ``"…"``)."""
    starts, ends = presence_runs(np.unique(np.asarray(frames, np.int64)))
    parts = [f"{a}" if a == b else f"{a}–{b}" for a, b in zip(starts.tolist(), ends.tolist())]
    return ", ".join(parts[:limit]) + (f", … ({len(parts)} stretches)" if len(parts) > limit else "")


def _frames_of(frame: np.ndarray, ids: np.ndarray, track: int) -> np.ndarray:
    return frame[ids == track]


def _shared_frames(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Sorted frames ``(K,)`` in both ``a`` and ``b`` (non-negative frame indices): one pass over a table of frames
    (``np.intersect1d`` sorts both: ~28 ms for two 100,000-frame tracks, ``bench/project_scale.py``)."""
    if not len(a) or not len(b):
        return np.zeros(0, np.int64)
    seen = np.zeros(int(max(a.max(), b.max())) + 1, bool)
    seen[a] = True
    return np.unique(b[seen[b]])


def check_track_edit(frame: np.ndarray, ids: np.ndarray, edit: TrackEdit) -> None:
    """Raise :class:`TrackEditError` when ``edit`` cannot apply to rows with ``frame`` ``(N,)`` and current track
    ``ids`` ``(N,)`` (-1: a deleted row)."""
    if edit.kind not in TRACK_EDIT_KINDS:
        raise TrackEditError(f"unknown track edit '{edit.kind}' (one of {', '.join(TRACK_EDIT_KINDS)})")
    mine = _frames_of(frame, ids, edit.track)
    if not len(mine):
        raise TrackEditError(f"there is no track #{edit.track}")
    if edit.kind == "delete":
        return
    if edit.other is None:
        raise TrackEditError(f"{edit.kind} of track #{edit.track} needs a second track ID")
    other = int(edit.other)
    if edit.kind == "merge":
        if other == edit.track:
            raise TrackEditError(f"track #{edit.track} cannot be merged with itself")
        theirs = _frames_of(frame, ids, other)
        if not len(theirs):
            raise TrackEditError(f"there is no track #{other}")
        both = _shared_frames(mine, theirs)
        if len(both):
            raise TrackEditError(f"tracks #{edit.track} and #{other} overlap in frame(s) {frame_runs(both)}: "
                                 "a merge needs tracks that are never in the same frame (split one first)")
        return
    if other < 0:
        raise TrackEditError(f"track IDs are >= 0 (got #{other})")
    if other != edit.track and (ids == other).any():
        raise TrackEditError(f"track #{other} already exists: merge into it instead")
    if edit.kind == "rename":
        if other == edit.track:
            raise TrackEditError(f"track #{edit.track} already has that ID")
        return
    # split
    if other == edit.track:
        raise TrackEditError("the new part of a split needs a new track ID")
    if edit.frame is None or not mine.min() < int(edit.frame) <= mine.max():
        raise TrackEditError(f"split track #{edit.track} at a frame after its first ({int(mine.min())}) and up to "
                             f"its last ({int(mine.max())}); got {edit.frame}")


def _apply_one(frame: np.ndarray, ids: np.ndarray, edit: TrackEdit) -> np.ndarray:
    out = ids.copy()
    sel = ids == edit.track
    if edit.kind == "delete":
        out[sel] = -1
    elif edit.kind in ("merge", "rename"):
        out[sel] = int(edit.other)
    else:
        out[sel & (frame >= int(edit.frame))] = int(edit.other)
    return out


def retrack_rows(frame: np.ndarray, ids: np.ndarray, edits) -> np.ndarray:
    """Track IDs of rows after ``edits`` (in order), for rows that are not a cache's: e.g. a model's stored
    per-detection probabilities judged before the edits. Edits that do not apply change nothing (no checks).

    Args:
        frame: ``(N,)`` int frames; ids: ``(N,)`` int track IDs; edits: :class:`TrackEdit` sequence.

    Returns:
        ``(N,)`` int64 track IDs (-1: the row's track was deleted).
    """
    frame = np.asarray(frame, np.int64)
    ids = np.asarray(ids, np.int64)
    for e in edits:
        ids = _apply_one(frame, ids, e)
    return ids


def retrack(track: int, frame: int, edits) -> int | None:
    """The track ID that ``track`` at ``frame`` has after ``edits`` (None: deleted); a stored suggestion follows
    the track its first frame is on, as a clip does (:meth:`core.project.Project.add_track_edit`)."""
    t = int(retrack_rows(np.array([frame]), np.array([track]), edits)[0])
    return None if t < 0 else t


#: Track IDs already worked out by :func:`edited_track_ids`: ``{(id(base), edits): (weakref to base, frame (N,)
#: int64, ids (N,) int64 read-only)}``, the most recent last. Each edit, undo and redo of the labeller asks for the
#: IDs after the stored edits, one more or one fewer; replaying every edit over every row each time cost ~5 ms per
#: call on 300,000 rows (``bench/project_scale.py``), looking up the longest known prefix costs one edit.
_IDS_MEMO: "collections.OrderedDict[tuple, tuple]" = collections.OrderedDict()
_IDS_MEMO_SIZE = 8


def _memo_get(base: SkeletonCache, edits: tuple):
    hit = _IDS_MEMO.get((id(base), edits))
    if hit is None or hit[0]() is not base:
        return None
    _IDS_MEMO.move_to_end((id(base), edits))
    return hit


def _memo_put(base: SkeletonCache, edits: tuple, frame: np.ndarray, ids: np.ndarray) -> None:
    ids.flags.writeable = False
    _IDS_MEMO[(id(base), edits)] = (weakref.ref(base), frame, ids)
    _IDS_MEMO.move_to_end((id(base), edits))
    while len(_IDS_MEMO) > _IDS_MEMO_SIZE:
        _IDS_MEMO.popitem(last=False)


def edited_track_ids(cache: SkeletonCache, edits, strict: bool = True) -> tuple[np.ndarray, list[str]]:
    """The track ID of every row of the cache as extracted after ``edits`` (in order).

    The result for a base and a sequence of edits that all applied is remembered (the last few, per process), and
    a call starts from the longest remembered prefix of its edits: an edit, its undo and its redo each cost one
    edit's work.

    Args:
        cache: the cache (its :func:`base_of` is used).
        edits: :class:`TrackEdit` sequence.
        strict: raise on an edit that does not apply; False: leave it out and say so in the returned lines.

    Returns:
        ``ids (N,)`` int64, read-only (-1: a deleted row), and the lines naming the edits left out.

    Raises:
        TrackEditError: (strict) an edit does not apply, e.g. a merge of tracks that overlap in time.
    """
    base = base_of(cache)
    edits = tuple(edits)
    start, frame, ids = 0, None, None
    for k in range(len(edits), -1, -1):
        hit = _memo_get(base, edits[:k])
        if hit is not None:
            start, frame, ids = k, hit[1], hit[2]
            break
    if ids is None:
        frame = base.frame.astype(np.int64)
        ids = base.track_id.astype(np.int64)
        _memo_put(base, (), frame, ids)
    skipped: list[str] = []
    for k in range(start, len(edits)):
        e = edits[k]
        try:
            check_track_edit(frame, ids, e)
        except TrackEditError as err:
            if strict:
                raise
            skipped.append(f"{e.describe()} left out: {err}")
            continue
        ids = _apply_one(frame, ids, e)
        if not skipped:  # a prefix whose edits all applied
            _memo_put(base, edits[:k + 1], frame, ids)
    return ids, skipped


def apply_edits(cache: SkeletonCache, track_edits=(), keypoint_edits=(), strict: bool = False,
                editable: bool = False, reuse: "EditedSkeletons | None" = None) -> EditedSkeletons:
    """The tracks of ``cache`` with the edits applied (a new object; ``cache`` and its arrays are not modified).

    Args:
        cache: a :class:`~core.cache.SkeletonCache` (an :class:`EditedSkeletons` is re-edited from its base).
        track_edits: :class:`TrackEdit` list, applied in order.
        keypoint_edits: :class:`KeypointEdit` list (joints of rows deleted by a track edit are ignored).
        strict: raise on a stored edit that does not apply (False: leave it out, listed in ``skipped``).
        editable: give the result its own writable keypoints array even without keypoint edits (a copy, made
            once, e.g. while a video loads in the background), so that later edits passed with ``reuse`` never
            copy it; the frame, box and score arrays are copied with it (7 MB for 300,000 rows) and closed up
            in place by a later delete.
        reuse: the previous edited skeletons of the same base (what the labeller shows). When it keeps the same
            rows (no row deleted or restored) and owns its keypoints, its keypoints and ``corrected`` arrays are
            taken over and only the joints whose correction changed are rewritten: an edit costs what it changes,
            not a copy of every joint of the video (61 MB and ~160 ms on 100,000 frames with 3 people on 2 cores,
            ``bench/project_scale.py``). When the edit only deletes rows of it (a delete), its arrays are closed up
            in place. The tracks the edit left alone keep their rows (same rows) and presence runs. ``reuse`` must
            not be used afterwards (its arrays are the result's).

    Returns:
        :class:`EditedSkeletons`: ``frame (N,)`` int32 sorted, ``track_id (N,)`` int32, ``bbox (N, 4)`` float32,
        ``score (N,)`` float32, ``keypoints (N, V, 3)`` float32 (pixels, score), ``offsets (F + 1,)`` int64, and
        ``rows``/``corrected`` mapping back to the base.

    Raises:
        TrackEditError: (strict) an edit does not apply.
    """
    base = base_of(cache)
    ids, skipped = edited_track_ids(base, track_edits, strict)
    keep = np.arange(len(ids), dtype=np.int64) if not len(ids) or int(ids.min()) >= 0 else np.flatnonzero(ids >= 0)
    kedits = tuple(keypoint_edits)
    # No row deleted (the usual case: merges, splits, renames, joint moves): the unchanged arrays are read-only
    # views of the base instead of copies — on a 100,000-frame video with 3 people a copy of every array made
    # each edit take over a second (bench/project_scale.py); the keypoints are copied only when joints are
    # corrected (or ``editable``), and then once (``reuse``).
    every = len(keep) == len(ids)
    # reuse has the same rows: with every row kept, the same count says it (its rows are distinct base rows)
    related = reuse is not None and base_of(reuse) is base and reuse.rows is not None
    same_rows = related and (len(reuse.rows) == len(keep) if every else np.array_equal(reuse.rows, keep))

    def take(a: np.ndarray) -> np.ndarray:
        if not every:
            return a[keep]
        v = a.view()
        v.flags.writeable = False
        return v

    old: dict = {}
    owned = related and reuse.corrected is not None and reuse.keypoints.flags.writeable
    pos = _rows_within(reuse.rows, keep, len(ids)) if owned and not same_rows else None
    # rows restored to what is shown (a delete's undo) into the room its close-up left: opened up in place
    grow = _rows_within(keep, reuse.rows, len(ids)) if owned and not same_rows and pos is None else None
    room = _room(reuse, len(keep)) if grow is not None else None
    # the other per-row arrays go with the keypoints: owned (writable copies) where the keypoints are, so that a
    # later delete closes them up in place too; else read-only views of the base (or gathered, when rows go)
    rest: tuple | None = None
    if owned and same_rows:
        kp, corrected = reuse.keypoints, reuse.corrected
        old = {(e.frame, e.track, e.joint): e for e in reuse.keypoint_edits}
        if all(a.flags.writeable for a in (reuse.frame, reuse.bbox, reuse.score)):
            rest = (reuse.frame, reuse.bbox, reuse.score)
    elif pos is not None:  # rows deleted from what is shown (a spurious track): closed up in place
        kp, corrected = _close_up(reuse.keypoints, pos), _close_up(reuse.corrected, pos)
        old = {(e.frame, e.track, e.joint): e for e in reuse.keypoint_edits}
        rest = tuple(_close_up(a, pos) if a.flags.writeable else a[pos] for a in (reuse.frame, reuse.bbox,
                                                                                 reuse.score))
    elif room is not None:
        new_rows = np.ones(len(keep), bool)
        new_rows[grow] = False
        fill = np.flatnonzero(new_rows)  # positions of the restored rows
        arrays = []
        for buf, src in zip(room, (base.keypoints, None, base.frame, base.bbox, base.score)):
            a = _open_up(buf, grow, len(keep))
            a[fill] = False if src is None else src[keep[fill]]
            arrays.append(a)
        kp, corrected, *rest_list = arrays
        rest = tuple(rest_list)
        # corrections of restored rows are written again (they were not in the buffer)
        in_reuse = np.zeros(len(base.frame), bool)
        in_reuse[reuse.rows] = True
        old = {(e.frame, e.track, e.joint): e for e in reuse.keypoint_edits
               if (r := base.row_of(int(e.frame), int(e.track))) is not None and in_reuse[r]}
    else:
        own = bool(kedits or editable)
        kp = base.keypoints.copy() if own and every else take(base.keypoints)  # take() copies when rows go
        corrected = np.zeros(kp.shape[:2], bool)
        if own:
            rest = tuple(a.copy() if every else a[keep] for a in (base.frame, base.bbox, base.score))
    frame, bbox, score = rest if rest is not None else (take(base.frame), take(base.bbox), take(base.score))
    if kedits or old:
        skipped += _apply_keypoints(base, keep, kp, corrected, kedits, old)
    if every:
        offsets = take(base.offsets)
    else:
        counts = np.bincount(frame, minlength=base.frame_count)[: base.frame_count] if len(keep) else \
            np.zeros(base.frame_count, np.int64)
        offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    out = EditedSkeletons(
        dict(base.meta), frame, (ids if every else ids[keep]).astype(np.int32), bbox, score, kp, offsets, base=base,
        rows=keep.astype(np.int64, copy=False), corrected=corrected, track_edits=tuple(track_edits),
        keypoint_edits=kedits, skipped=tuple(skipped))
    if related:
        # a track whose rows kept their ID keeps its presence runs, and with the same rows its rows (a joint move:
        # every track; a split or a delete: all but the tracks edited) — not searched again (bench/project_scale.py)
        if same_rows:
            before, after = reuse.track_id, out.track_id
        else:  # rows deleted or restored: compare per row of the base
            before = np.full(len(base.frame), -1, np.int64)
            before[reuse.rows] = reuse.track_id
            after = ids
        changed = before != after
        if same_rows and not changed.any():
            out.keep_track_index(reuse, None)
        else:
            gone_from, came_to = _ids_in(before[changed]), _ids_in(after[changed])
            shown = set(reuse.track_ids().tolist())
            unchanged = shown - set(gone_from) - set(came_to)
            out.keep_track_index(reuse, unchanged, rows=same_rows)
            # the track IDs after: the unchanged ones, those rows came to, and those that kept unchanged rows
            still = [t for t in gone_from if t not in came_to and len(reuse.track_rows(t)) >
                     int(np.count_nonzero(before[changed] == t))]
            out.set_track_ids(sorted(unchanged | set(came_to) | set(still)))
    return out


def _rows_within(rows: np.ndarray, keep: np.ndarray, n_base: int | None = None) -> np.ndarray | None:
    """Positions ``(len(keep),)`` int64 of the sorted base rows ``keep`` within the sorted base rows ``rows`` when
    every one is there (rows were only deleted); else None. ``n_base``: the base's row count — ``rows`` with all
    of them are ``0..n_base-1``, and the positions are ``keep`` itself (a delete from, or its undo to, every row:
    no search over 300,000 rows)."""
    if not len(keep) or len(keep) >= len(rows):
        return None
    if n_base is not None and len(rows) == n_base:
        return keep
    pos = np.searchsorted(rows, keep)
    if int(pos[-1]) >= len(rows) or not np.array_equal(rows[pos], keep):
        return None
    return pos


def _close_up(a: np.ndarray, pos: np.ndarray, chunk: int = 8192) -> np.ndarray:
    """``a[pos]`` written over ``a`` itself and returned as its first ``len(pos)`` rows (a view): no new array,
    and rows before the first deleted one are not touched: a spurious track's delete moves only the rows after it
    (a copy of every joint of a 100,000-frame video with 3 people cost ~25 ms, ``bench/project_scale.py``).
    ``pos`` is strictly increasing, so ``pos[i] >= i``: a chunk reads rows no earlier chunk has overwritten."""
    n = len(pos)
    moved = np.flatnonzero(pos != np.arange(n))
    for a0 in range(int(moved[0]) if len(moved) else n, n, chunk):
        a1 = min(n, a0 + chunk)
        a[a0:a1] = a[pos[a0:a1]]  # the right side is gathered into a temporary first
    return a[:n]


def _room(reuse: "EditedSkeletons", n: int) -> list[np.ndarray] | None:
    """The buffers behind ``reuse``'s keypoints, corrected, frame, bbox and score when each is a writable prefix of
    an array with room for ``n`` rows (what :func:`_close_up` leaves); else None."""
    out = []
    for a in (reuse.keypoints, reuse.corrected, reuse.frame, reuse.bbox, reuse.score):
        b = a.base if a.base is not None else a
        if (not a.flags.writeable or not isinstance(b, np.ndarray) or not b.flags.c_contiguous
                or not b.flags.writeable or b.shape[1:] != a.shape[1:] or b.dtype != a.dtype or len(b) < n
                or a.__array_interface__["data"][0] != b.__array_interface__["data"][0]):
            return None
        out.append(b)
    return out


def _open_up(buf: np.ndarray, pos: np.ndarray, n: int, chunk: int = 8192) -> np.ndarray:
    """The inverse of :func:`_close_up`: rows ``0..len(pos)-1`` of ``buf`` moved to rows ``pos`` (strictly
    increasing, ``pos[i] >= i``), from the last one back, so that no row is overwritten before it moved. Returns
    ``buf[:n]``; the rows not in ``pos`` are left for the caller to fill."""
    k = len(pos)
    moved = np.flatnonzero(pos != np.arange(k))
    first = int(moved[0]) if len(moved) else k
    for a1 in range(k, first, -chunk):
        a0 = max(first, a1 - chunk)
        buf[pos[a0:a1]] = buf[a0:a1].copy()
    return buf[:n]


def _ids_in(ids: np.ndarray) -> list[int]:
    """The distinct track IDs in ``ids (N,)`` ints, -1 (a deleted row) left out (a count per ID: faster than
    ``np.unique``)."""
    return distinct_ids(ids[ids >= 0]).tolist()  # -1: a deleted row


def _apply_keypoints(base: SkeletonCache, keep: np.ndarray, kp: np.ndarray, corrected: np.ndarray, kedits: tuple,
                     old: dict) -> list[str]:
    """Write the keypoint edits into ``kp``/``corrected`` (rows ``keep`` of ``base``), in place. ``old``: the edits
    already written there (``{(frame, track, joint): KeypointEdit}``): those no longer in ``kedits`` get the base's
    joint back, those unchanged are not rewritten. Returns the lines naming edits left out."""
    skipped: list[str] = []
    v = kp.shape[1] if kp.ndim == 3 else 0
    every = len(keep) == len(base.frame)
    pos = None
    if not every:
        pos = np.full(len(base.frame), -1, np.int64)
        pos[keep] = np.arange(len(keep))

    def row(f: int, track: int) -> int | None:
        r = base.row_of(f, int(track))
        if r is None:
            return None
        return r if pos is None else (int(pos[r]) if pos[r] >= 0 else None)

    new = {(int(e.frame), int(e.track), int(e.joint)): e for e in kedits}
    for key, e in old.items():  # corrections taken back: the joint as extracted
        if key in new:
            continue
        f, t, j = key
        if 0 <= f < base.frame_count and 0 <= j < v and (r := row(f, t)) is not None:
            kp[r, j] = base.keypoints[r if pos is None else keep[r], j]
            corrected[r, j] = False
    for key, e in new.items():
        f, t, j = key
        if not 0 <= f < base.frame_count or not 0 <= j < v:
            skipped.append(f"keypoint edit of frame {f}, track #{t}, joint {j} left out: not in these skeletons")
            continue
        if old.get(key) == e:
            continue
        r = row(f, t)
        if r is None:
            continue
        kp[r, j] = (float(e.x), float(e.y), float(e.score))
        corrected[r, j] = True
    return skipped


def track_span(cache: SkeletonCache, track_id: int) -> tuple[int, int] | None:
    """First and last frame of a track, or None if it is not there."""
    f = cache.frame[cache.track_id == track_id]
    return (int(f.min()), int(f.max())) if len(f) else None


def previous_track(cache: SkeletonCache, track_id: int) -> int | None:
    """The track that ends last before ``track_id`` starts (the candidate for "merge with the track that ends just
    before": one person whose track broke, e.g. #5 then #9), or None. Ties go to the lower ID."""
    span = track_span(cache, track_id)
    if span is None:
        return None
    best, best_end = None, -1
    for t in np.unique(cache.track_id).tolist():
        if t == track_id:
            continue
        s = track_span(cache, int(t))
        if s is not None and s[1] < span[0] and s[1] > best_end:
            best, best_end = int(t), s[1]
    return best


def new_track_id(cache: SkeletonCache) -> int:
    """An ID no track of ``cache`` (edited or as extracted) has: one more than the largest."""
    ids = [int(cache.track_id.max()) if len(cache.track_id) else 0]
    base = base_of(cache)
    if len(base.track_id):
        ids.append(int(base.track_id.max()))
    return max(ids) + 1


def interpolate_keypoints(keys: list[KeypointEdit], frames) -> list[KeypointEdit]:
    """Joint positions between corrected keyframes of one joint of one track, by linear interpolation.

    Args:
        keys: corrected :class:`KeypointEdit` of the same ``track`` and ``joint`` (two or more, any order; deleted
            joints, score 0, are not keyframes).
        frames: the frames to fill (those strictly between the first and last keyframe are used).

    Returns:
        One :class:`KeypointEdit` (score 1) per frame filled, in frame order.

    Raises:
        ValueError: fewer than two keyframes, or keyframes of different tracks or joints.
    """
    keys = sorted((k for k in keys if k.score > 0), key=lambda k: k.frame)
    if len(keys) < 2:
        raise ValueError("interpolation needs two corrected keyframes of the joint")
    if len({(k.track, k.joint) for k in keys}) != 1:
        raise ValueError("keyframes of different tracks or joints")
    kf = np.array([k.frame for k in keys], np.float64)
    xs = np.array([k.x for k in keys], np.float64)
    ys = np.array([k.y for k in keys], np.float64)
    out = []
    for f in sorted({int(f) for f in frames}):
        if kf[0] < f < kf[-1] and f not in set(kf.astype(int).tolist()):
            out.append(KeypointEdit(f, keys[0].track, keys[0].joint, float(np.interp(f, kf, xs)),
                                    float(np.interp(f, kf, ys)), 1.0))
    return out


def interpolate_track(cache: EditedSkeletons, track_id: int) -> list[KeypointEdit]:
    """Propagate the corrected joints of one (edited) track to the frames between its corrected keyframes: for
    each joint corrected (moved, score > 0) in two or more frames of the track, every frame strictly between the
    first and the last where the track is seen and the joint is not corrected gets the linear interpolation of
    the keyframes around it (:func:`interpolate_keypoints`; CVAT's and SLEAP's keyframe interpolation, per joint).

    Args:
        cache: the edited skeletons shown (:class:`EditedSkeletons`, with its keypoint edits).
        track_id: the track, by its edited ID (a merged track's keyframes may lie on either of its cache tracks).

    Returns:
        The new :class:`KeypointEdit` list (addressed by cache track, as stored; score 1), empty when no joint of
        the track has two keyframes.
    """
    edits = [e for e in getattr(cache, "keypoint_edits", ()) or ()]
    if not edits or cache.rows is None:
        return []
    base = base_of(cache)
    rows = cache.track_rows(int(track_id))
    if not len(rows):
        return []
    frames = cache.frame[rows].astype(np.int64)
    done = {(int(e.frame), int(e.joint)) for e in edits
            if (r := cache.row_of(int(e.frame), int(track_id))) is not None and cache.source_track(r) == int(e.track)}
    keys: dict[int, list[KeypointEdit]] = {}
    for e in edits:
        if e.score <= 0 or (int(e.frame), int(e.joint)) not in done:
            continue
        keys.setdefault(int(e.joint), []).append(KeypointEdit(e.frame, int(track_id), e.joint, e.x, e.y, e.score))
    out: list[KeypointEdit] = []
    for joint, kf in sorted(keys.items()):
        if len(kf) < 2:
            continue
        for k in interpolate_keypoints(kf, frames.tolist()):
            if (k.frame, joint) in done:
                continue  # a deleted joint stays deleted
            r = int(rows[np.searchsorted(frames, k.frame)])
            out.append(KeypointEdit(k.frame, int(base.track_id[cache.rows[r]]), joint, k.x, k.y, 1.0))
    return out

"""The project's track and keypoint edits (issue 12): tables, storage and the edited skeletons of a video.

The edits of a video are stored per skeleton key (:func:`core.track_edits.skeleton_key`: the extraction settings of
the cache they were made on), so edits made on the YOLO tracks never apply to the MediaPipe ones. Each call commits
before it returns (:class:`core.project.Project`'s rule), so a killed window loses no edit it showed.

:class:`ProjectEditsMixin` is part of :class:`core.project.Project`; it uses the project's connection and
transactions and nothing else of it.
"""

from __future__ import annotations

import json
import time

from .track_edits import (
    KeypointEdit,
    TrackEdit,
    TrackEditError,
    apply_edits,
    base_of,
    edited_track_ids,
    skeleton_key,
)

#: Schema 1 → 2: the edit tables (kept in this one block; see :data:`core.project.MIGRATIONS`).
EDITS_SCHEMA = """
CREATE TABLE IF NOT EXISTS track_edits (
    id INTEGER PRIMARY KEY, video_id INTEGER NOT NULL REFERENCES videos(id) ON DELETE CASCADE,
    skeletons TEXT NOT NULL, kind TEXT NOT NULL, track INTEGER NOT NULL, other INTEGER, frame INTEGER,
    moved_clips TEXT NOT NULL DEFAULT '[]', annotator TEXT NOT NULL DEFAULT '', created REAL NOT NULL);
CREATE INDEX IF NOT EXISTS track_edits_video ON track_edits(video_id, skeletons, id);
CREATE TABLE IF NOT EXISTS keypoint_edits (
    video_id INTEGER NOT NULL REFERENCES videos(id) ON DELETE CASCADE, skeletons TEXT NOT NULL,
    frame INTEGER NOT NULL, track INTEGER NOT NULL, joint INTEGER NOT NULL,
    x REAL NOT NULL, y REAL NOT NULL, score REAL NOT NULL, annotator TEXT NOT NULL DEFAULT '', modified REAL NOT NULL,
    PRIMARY KEY (video_id, skeletons, frame, track, joint));
"""


class ProjectEditsMixin:
    """Track and keypoint edits of a project's videos (mixed into :class:`core.project.Project`)."""

    # ------------------------------------------------------------------ reading
    def track_edits(self, video_id: int, key: str) -> list[TrackEdit]:
        """The track edits of a video's skeletons ``key`` (:func:`~core.track_edits.skeleton_key`), in order."""
        rows = self._conn.execute("SELECT id, kind, track, other, frame FROM track_edits WHERE video_id=? AND "
                                  "skeletons=? ORDER BY id", (video_id, key)).fetchall()
        return [TrackEdit(k, t, o, f, i) for i, k, t, o, f in rows]

    def keypoint_edits(self, video_id: int, key: str) -> list[KeypointEdit]:
        """The keypoint corrections of a video's skeletons ``key``, by frame, track and joint."""
        rows = self._conn.execute("SELECT frame, track, joint, x, y, score FROM keypoint_edits WHERE video_id=? AND "
                                  "skeletons=? ORDER BY frame, track, joint", (video_id, key)).fetchall()
        return [KeypointEdit(*r) for r in rows]

    def edited_skeletons(self, video, cache, editable: bool = False, reuse=None):
        """``cache`` (a video's skeletons as extracted or imported) with the project's edits of it applied.

        Args:
            editable, reuse: see :func:`core.track_edits.apply_edits` (the labeller loads with ``editable`` and
                passes what it shows as ``reuse`` after each edit, so an edit never copies the video's joints).

        Returns:
            :class:`core.track_edits.EditedSkeletons` (stored edits that no longer apply are left out and listed
            in its ``skipped``).
        """
        base = base_of(cache)
        key = skeleton_key(base)
        return apply_edits(base, self.track_edits(video.id, key), self.keypoint_edits(video.id, key),
                           editable=editable, reuse=reuse)

    # ------------------------------------------------------------------ track edits
    def add_track_edit(self, video_id: int, cache, edit: TrackEdit, annotator: str = "") -> TrackEdit:
        """Store a track edit of the video's skeletons ``cache`` (after the stored ones) and move the video's clips
        with it: a merge or rename moves the clips of ``edit.track`` to ``edit.other``; a split moves those that
        start at or after ``edit.frame``. Committed before returning.

        Returns:
            The edit with its database ``id``.

        Raises:
            TrackEditError: it does not apply (e.g. a merge of tracks that overlap in time, naming the frames), or
                a deleted track still has clips.
        """
        base = base_of(cache)
        key = skeleton_key(base)
        edits = self.track_edits(video_id, key)
        edited_track_ids(base, edits + [edit], strict=True)
        rows = self._conn.execute("SELECT id, start_frame FROM clips WHERE video_id=? AND track_id=?",
                                  (video_id, int(edit.track))).fetchall()
        if edit.kind == "delete" and rows:
            clips = self.clips(video_id, tracks=[edit.track])
            raise TrackEditError(f"track #{edit.track} has {len(clips)} clip(s) "
                                 f"({', '.join(f'{c.label} {c.start}–{c.end}' for c in clips[:3])}): delete them or "
                                 "move them to another track first")
        if edit.kind == "split":
            rows = [r for r in rows if r[1] >= int(edit.frame)]
        moved = [] if edit.kind == "delete" else [cid for cid, _start in rows]
        with self._tx() as c:
            cur = c.execute("INSERT INTO track_edits (video_id, skeletons, kind, track, other, frame, moved_clips, "
                            "annotator, created) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                            (video_id, key, edit.kind, int(edit.track), None if edit.other is None else int(edit.other),
                             None if edit.frame is None else int(edit.frame), json.dumps(moved), annotator,
                             time.time()))
            c.executemany("UPDATE clips SET track_id=?, modified=? WHERE id=?",
                          [(int(edit.other), time.time(), cid) for cid in moved])
        return TrackEdit(edit.kind, edit.track, edit.other, edit.frame, cur.lastrowid)

    def remove_track_edit(self, edit_id: int) -> TrackEdit:
        """Take back a track edit (the undo of :meth:`add_track_edit`): the clips it moved go back to their track.
        Only the last edit of its video's skeletons may be taken back. Committed before returning.

        Raises:
            TrackEditError: no such edit, or later edits of the same skeletons exist.
        """
        r = self._conn.execute("SELECT video_id, skeletons, kind, track, other, frame, moved_clips FROM track_edits "
                               "WHERE id=?", (edit_id,)).fetchone()
        if r is None:
            raise TrackEditError(f"no track edit with id {edit_id}")
        video_id, key, kind, track, other, frame, moved = r
        later = self._conn.execute("SELECT COUNT(*) FROM track_edits WHERE video_id=? AND skeletons=? AND id>?",
                                   (video_id, key, edit_id)).fetchone()[0]
        if later:
            raise TrackEditError(f"{later} later track edit(s) of this video depend on it: take them back first")
        with self._tx() as c:
            c.execute("DELETE FROM track_edits WHERE id=?", (edit_id,))
            c.executemany("UPDATE clips SET track_id=?, modified=? WHERE id=? AND track_id=?",
                          [(track, time.time(), cid, other) for cid in json.loads(moved)])
        return TrackEdit(kind, track, other, frame)

    # ------------------------------------------------------------------ keypoint edits
    def set_keypoint_edits(self, video_id: int, key: str, edits, annotator: str = "") -> None:
        """Store (or replace) keypoint corrections of the video's skeletons ``key``; one transaction.

        Args:
            edits: :class:`~core.track_edits.KeypointEdit` list (frame, cache track ID, joint, x, y in pixels,
                score in [0, 1]).

        Raises:
            TrackEditError: a negative frame or joint, a score outside [0, 1], or a coordinate that is not finite.
        """
        import math

        rows = []
        for e in edits:
            if int(e.frame) < 0 or int(e.joint) < 0:
                raise TrackEditError(f"keypoint edit at frame {e.frame}, joint {e.joint}: both must be >= 0")
            if not 0.0 <= float(e.score) <= 1.0 or not (math.isfinite(e.x) and math.isfinite(e.y)):
                raise TrackEditError(f"keypoint edit at frame {e.frame}, joint {e.joint}: bad position or score")
            rows.append((video_id, key, int(e.frame), int(e.track), int(e.joint), float(e.x), float(e.y),
                         float(e.score), annotator, time.time()))
        with self._tx() as c:
            c.executemany("INSERT OR REPLACE INTO keypoint_edits (video_id, skeletons, frame, track, joint, x, y, "
                          "score, annotator, modified) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)

    def clear_keypoint_edits(self, video_id: int, key: str, where) -> None:
        """Remove the corrections of ``where``: ``(frame, cache track ID, joint)`` triples; one transaction."""
        with self._tx() as c:
            c.executemany("DELETE FROM keypoint_edits WHERE video_id=? AND skeletons=? AND frame=? AND track=? AND "
                          "joint=?", [(video_id, key, int(f), int(t), int(j)) for f, t, j in where])

"""Track and keypoint editing in the labelling mode (issue 12): presents the edits of :mod:`core.track_edits`.

:class:`TrackEditor` adds to the Label menu, the video's right-click menu (on a person) and the timeline rows'
right-click menu: merge a track into another, merge with the track that ends just before (one key, ``M``), split a
track at the play head, delete a spurious track, give a track another ID; and on the video: drag a joint to move it,
delete a wrong joint, and propagate corrected joints to the frames between their keyframes (``Alt+I``). Every edit
is an undoable command on the labelling undo stack that commits to the project (:mod:`core.project_edits`) before
it returns; afterwards the open video's skeletons are the cached ones with the
project's edits applied (:class:`core.track_edits.EditedSkeletons`), so the overlay, the timeline rows, the clips'
tracks and crops, export and training all see the same tracks. The decisions (what may be merged, which track ends
just before, what a split makes) are core's; this module only asks and shows.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QObject, QPoint, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QInputDialog, QMenu

from core.errors import PoseWatchError
from core.layouts import get_layout
from core.track_edits import (
    EditedSkeletons,
    KeypointEdit,
    TrackEdit,
    base_of,
    interpolate_track,
    new_track_id,
    previous_track,
    skeleton_key,
    track_span,
)

from .commands import LabelCommand


class TrackEditCommand(LabelCommand):
    """One track edit (:class:`core.track_edits.TrackEdit`) of a video's skeletons; undo takes it back (and the clips
    it moved go back to their track)."""

    def __init__(self, project, notify, report, video_id: int, cache, edit: TrackEdit, annotator: str = ""):
        super().__init__(project, notify, report, edit.describe())
        self.video_id, self.cache, self.edit, self.annotator = video_id, base_of(cache), edit, annotator
        self.stored: TrackEdit | None = None

    def _do(self) -> None:
        self.stored = self.project.add_track_edit(self.video_id, self.cache, self.edit, self.annotator)
        self._notify("tracks", self.stored)

    def _undo(self) -> None:
        self.project.remove_track_edit(self.stored.id)
        self._notify("tracks-undone", self.edit)


class KeypointEditCommand(LabelCommand):
    """Keypoint corrections (:class:`core.track_edits.KeypointEdit`); undo restores what was stored before (the
    earlier correction of the joint, or none)."""

    def __init__(self, project, notify, report, video_id: int, key: str, edits: list[KeypointEdit],
                 old: list[KeypointEdit | None], text: str, annotator: str = ""):
        super().__init__(project, notify, report, text)
        self.video_id, self.key, self.edits, self.old, self.annotator = video_id, key, edits, old, annotator

    def _do(self) -> None:
        self.project.set_keypoint_edits(self.video_id, self.key, self.edits, self.annotator)
        self._notify("keypoints", self.edits)

    def _undo(self) -> None:
        gone = [(e.frame, e.track, e.joint) for e, o in zip(self.edits, self.old) if o is None]
        self.project.clear_keypoint_edits(self.video_id, self.key, gone)
        self.project.set_keypoint_edits(self.video_id, self.key, [o for o in self.old if o is not None],
                                        self.annotator)
        self._notify("keypoints", self.old)


class TrackEditor(QObject):
    """Track and keypoint edits of the open project video (``labeller.track_editor``).

    Use it from code as the menus do::

        ed = window.labelling.track_editor
        ed.merge_with_previous(9)          # #9 joins the track that ends just before it starts
        ed.split_track(5, frame=130)       # frames 130… of #5 become a new track
        ed.move_joint(40, 5, 10, 212.0, 388.0)   # frame 40, person #5, joint 10 (layout index) to x, y pixels

    Args:
        state: the app state (project, project video, skeletons, frame, overlay).
        host: the window's host (errors, messages, actions).
        labeller: the labelling mode (its undo stack, annotator, selected track, video view and timeline).

    Signals:
        menu_shown(QMenu): a right-click menu was opened (tests trigger its actions).
    """

    menu_shown = Signal(object)

    def __init__(self, state, host, labeller):
        super().__init__(labeller)
        self.state, self.host, self.labeller = state, host, labeller
        self.view, self.timeline = labeller.view, labeller.timeline
        self.menu: QMenu | None = None
        reg = host.actions
        a = host.add_action
        reg.add_separator("Label")
        a("merge_previous_track", "&Merge with the track that ends just before", lambda: self.merge_with_previous(),
          "Label")
        a("split_track", "S&plit the track at the play head", lambda: self.split_track(), "Label")
        a("delete_track", "Delete the trac&k", lambda: self.delete_track(), "Label")
        a("rename_track", "Change the track's &ID…", lambda: self.rename_track_dialog(), "Label")
        a("interpolate_joints", "&Interpolate corrected joints between keyframes", lambda: self.interpolate_joints(),
          "Label")
        self.view.set_handle_finder(self.joint_at)
        self.view.handle_dragged.connect(self._on_handle_dragged)
        self.view.context_requested.connect(self._on_view_context)
        self.timeline.row_context_requested.connect(self._on_row_context)
        state.events.skeletons.connect(lambda *_: self._update_enabled())
        state.events.project_video.connect(lambda *_: self._update_enabled())
        labeller.track_changed.connect(lambda *_: self._update_enabled())
        self._update_enabled()

    # ================================================================ helpers
    @property
    def cache(self):
        """The open video's skeletons as shown (with the project's edits), or None."""
        return self.state.skeletons

    def _ready(self) -> bool:
        lab = self.labeller
        if lab.project is None or lab.video is None:
            self.host.report_error("open a video of a project first: track edits are stored in the project")
            return False
        if self.cache is None:
            self.host.report_error("the video's skeletons are not ready yet (Poses → Compute skeletons)")
            return False
        if not isinstance(self.cache, EditedSkeletons):  # set from outside the project: shown with its edits
            self.state.skeletons = lab.project.edited_skeletons(lab.video, self.cache, editable=True)
        return True

    def _track(self, track_id: int | None) -> int | None:
        t = self.labeller.selected_track if track_id is None else int(track_id)
        if t is None:
            self.host.report_error("choose a person first (click them in the video or their timeline row)")
        return t

    def _push(self, cmd: LabelCommand) -> bool:
        cmd.batch = self.timeline.batch
        try:
            cmd.apply()
        except PoseWatchError as e:
            self.host.report_error(str(e))
            return False
        self.labeller.undo_stack.push(cmd)
        self.host.show_message(cmd.text(), 5000)
        return True

    def _notify(self, kind: str, obj) -> None:
        """After every committed edit, undo or redo: show the edited tracks and the clips that moved with them.
        ``kind``: ``"tracks"`` (obj: the stored edit), ``"tracks-undone"`` (obj: the edit taken back) or
        ``"keypoints"`` (obj: the corrections now stored)."""
        lab = self.labeller
        if lab.project is not None and lab.video is not None and self.cache is not None:
            selected = lab.selected_track
            tracks = kind != "keypoints"
            if tracks:
                lab.select_track(None)  # the timeline keeps a row for the selected track: not for one edited away
            # what is shown is handed over: its joints are patched in place, not copied (apply_edits' reuse)
            self.state.skeletons = lab.project.edited_skeletons(lab.video, self.cache, reuse=self.cache)
            if tracks:
                lab.reload_clips([t for t in (obj.track, obj.other) if t is not None])  # the clips that moved
                ids = {int(t) for t in self.state.skeletons.track_ids()}
                if kind == "tracks" and obj.kind in ("merge", "rename") and selected == obj.track:
                    selected = obj.other
                lab.select_track(selected if selected in ids else None)
        lab.edited.emit(kind, obj)

    def _update_enabled(self) -> None:
        ok = self.labeller.video is not None and self.cache is not None
        sel = ok and self.labeller.selected_track is not None
        for name in ("merge_previous_track", "split_track", "delete_track", "rename_track", "interpolate_joints"):
            self.host.actions[name].setEnabled(sel)

    # ================================================================ track edits
    def edit_tracks(self, edit: TrackEdit) -> bool:
        """Apply one track edit (undoable, committed). Refusals (e.g. tracks that overlap in time) are reported in
        one line and change nothing. Returns True when applied."""
        if not self._ready():
            return False
        lab = self.labeller
        return self._push(TrackEditCommand(lab.project, self._notify, self.host.report_error, lab.video.id,
                                           self.cache, edit, lab.annotator))

    def merge_tracks(self, track_id: int, into: int) -> bool:
        """Merge track ``track_id`` into track ``into`` (which keeps its ID)."""
        return self.edit_tracks(TrackEdit("merge", int(track_id), int(into)))

    def merge_with_previous(self, track_id: int | None = None) -> bool:
        """Merge ``track_id`` (default: the selected one) into the track that ends last before it starts."""
        if not self._ready() or (t := self._track(track_id)) is None:
            return False
        prev = previous_track(self.cache, t)
        if prev is None:
            self.host.report_error(f"no track ends before track #{t} starts (frame {track_span(self.cache, t)[0]})"
                                   if track_span(self.cache, t) else f"there is no track #{t}")
            return False
        return self.merge_tracks(t, prev)

    def split_track(self, track_id: int | None = None, frame: int | None = None) -> bool:
        """Split ``track_id`` (default: the selected one) at ``frame`` (default: the play head): its frames from
        there on become a new track."""
        if not self._ready() or (t := self._track(track_id)) is None:
            return False
        f = self.state.frame_index if frame is None else int(frame)
        return self.edit_tracks(TrackEdit("split", t, new_track_id(self.cache), frame=f))

    def delete_track(self, track_id: int | None = None) -> bool:
        """Delete ``track_id`` (default: the selected one), e.g. a spurious detection."""
        if not self._ready() or (t := self._track(track_id)) is None:
            return False
        return self.edit_tracks(TrackEdit("delete", t))

    def rename_track(self, track_id: int | None, new_id: int) -> bool:
        """Give ``track_id`` (None: the selected one) the unused ID ``new_id``."""
        if not self._ready() or (t := self._track(track_id)) is None:
            return False
        return self.edit_tracks(TrackEdit("rename", t, int(new_id)))

    def rename_track_dialog(self, track_id: int | None = None) -> QInputDialog | None:
        """Ask for the track's new ID (non-blocking); returns the dialog."""
        if not self._ready() or (t := self._track(track_id)) is None:
            return None
        dlg = QInputDialog(self.host.parent_widget)
        dlg.setWindowTitle("Change the track's ID")
        dlg.setLabelText(f"New ID of track #{t}:")
        dlg.setInputMode(QInputDialog.InputMode.IntInput)
        dlg.setIntRange(0, 10_000_000)
        dlg.setIntValue(new_track_id(self.cache))
        dlg.intValueSelected.connect(lambda v: self.rename_track(t, v))
        dlg.open()
        self.rename_dialog = dlg
        return dlg

    # ================================================================ keypoints
    def joint_at(self, x: float, y: float, tolerance: float):
        """The joint shown nearest ``x, y`` (frame pixels) within ``tolerance``: ``(frame, track ID, joint)`` or
        None (no project video, no skeletons, or the skeleton layer is off)."""
        cache = self.cache
        f = self.state.frame_index
        if (self.labeller.video is None or cache is None or not self.state.overlay.skeleton
                or not 0 <= f < cache.frame_count):
            return None
        a, b = int(cache.offsets[f]), int(cache.offsets[f + 1])
        if a == b:
            return None
        kp = cache.keypoints[a:b]
        d = np.hypot(kp[:, :, 0] - x, kp[:, :, 1] - y)
        d[kp[:, :, 2] < self.state.overlay.min_score] = np.inf
        r, j = np.unravel_index(int(np.argmin(d)), d.shape)
        if not d[r, j] <= tolerance:
            return None
        return (f, int(cache.track_id[a + r]), int(j))

    def _keypoint_command(self, frame: int, track_id: int, joints: list[int], xy: list[tuple[float, float, float]],
                          text: str) -> bool:
        if not self._ready():
            return False
        cache = self.cache
        row = cache.row_of(frame, track_id)
        if row is None:
            self.host.report_error(f"track #{track_id} is not in frame {frame}")
            return False
        raw = cache.source_track(row)
        stored = {(e.frame, e.track, e.joint): e for e in cache.keypoint_edits}
        edits = [KeypointEdit(int(frame), raw, int(j), float(x), float(y), float(s)) for j, (x, y, s) in zip(joints, xy)]
        old = [stored.get((e.frame, e.track, e.joint)) for e in edits]
        lab = self.labeller
        return self._push(KeypointEditCommand(lab.project, self._notify, self.host.report_error, lab.video.id,
                                              skeleton_key(cache), edits, old, text, lab.annotator))

    def _joint_name(self, joint: int) -> str:
        try:
            return get_layout(self.cache.layout).joints[joint].lower()
        except (KeyError, IndexError, ValueError):
            return f"joint {joint}"

    def move_joint(self, frame: int, track_id: int, joint: int, x: float, y: float) -> bool:
        """Move a joint of person ``track_id`` in ``frame`` to ``x, y`` (pixels); its score becomes 1 and it is
        marked as corrected (undoable, committed)."""
        return self._keypoint_command(frame, track_id, [joint], [(x, y, 1.0)],
                                      f"move {self._joint_name(joint) if self.cache else joint} of #{track_id} "
                                      f"in frame {frame}")

    def delete_joint(self, frame: int, track_id: int, joint: int) -> bool:
        """Delete a wrong joint (score 0, marked as corrected; undoable, committed)."""
        if not self._ready():
            return False
        row = self.cache.row_of(frame, track_id)
        x, y = (0.0, 0.0) if row is None else (float(self.cache.keypoints[row, joint, 0]),
                                               float(self.cache.keypoints[row, joint, 1]))
        return self._keypoint_command(frame, track_id, [joint], [(x, y, 0.0)],
                                      f"delete {self._joint_name(joint)} of #{track_id} in frame {frame}")

    def interpolate_joints(self, track_id: int | None = None) -> bool:
        """Fill the frames between the corrected keyframes of each joint of ``track_id`` (default: the selected
        person) by linear interpolation (:func:`core.track_edits.interpolate_track`): one undoable edit; the
        filled joints are marked as corrected. Says so when no joint has two keyframes."""
        if not self._ready() or (t := self._track(track_id)) is None:
            return False
        edits = interpolate_track(self.cache, t)
        if not edits:
            self.host.report_error(f"no joint of #{t} is corrected in two frames: move it in a frame before and "
                                   "one after, then interpolate")
            return False
        stored = {(e.frame, e.track, e.joint): e for e in self.cache.keypoint_edits}
        old = [stored.get((e.frame, e.track, e.joint)) for e in edits]
        frames = sorted({e.frame for e in edits})
        lab = self.labeller
        return self._push(KeypointEditCommand(lab.project, self._notify, self.host.report_error, lab.video.id,
                                              skeleton_key(self.cache), edits, old,
                                              f"interpolate {len(edits)} joint position(s) of #{t} in frames "
                                              f"{frames[0]}–{frames[-1]}", lab.annotator))

    def _on_handle_dragged(self, key, x: float, y: float) -> None:
        frame, track_id, joint = key
        self.move_joint(frame, track_id, joint, x, y)

    # ================================================================ right-click menus
    def track_menu(self, track_id: int, frame: int, joint: tuple[int, int, int] | None = None) -> QMenu:
        """The right-click menu of person ``track_id`` at ``frame`` (and of a joint ``(frame, track, joint)``)."""
        cache = self.cache
        m = QMenu(self.host.parent_widget)
        m.addSection(f"Person #{track_id}")
        prev = previous_track(cache, track_id)
        act = m.addAction(f"Merge with #{prev}, the track that ends just before" if prev is not None
                          else "Merge with the track that ends just before (none)")
        act.setEnabled(prev is not None)
        act.triggered.connect(lambda: self.merge_tracks(track_id, prev))
        into = m.addMenu("Merge into")
        mine = set(cache.frame[cache.track_id == track_id].tolist())
        for t in (int(v) for v in cache.track_ids()):
            if t == track_id:
                continue
            a = into.addAction(f"#{t}")
            overlap = len(mine & set(cache.frame[cache.track_id == t].tolist()))
            if overlap:
                a.setText(f"#{t} (in {overlap} of the same frames)")
            a.triggered.connect(lambda _=False, t=t: self.merge_tracks(track_id, t))
        m.addAction(f"Split at frame {frame}").triggered.connect(lambda: self.split_track(track_id, frame))
        m.addAction("Delete this track").triggered.connect(lambda: self.delete_track(track_id))
        m.addAction("Change its ID…").triggered.connect(lambda: self.rename_track_dialog(track_id))
        m.addAction("Interpolate corrected joints between keyframes").triggered.connect(
            lambda: self.interpolate_joints(track_id))
        if joint is not None:
            m.addSeparator()
            f, t, j = joint
            m.addAction(f"Delete joint {self._joint_name(j)}").triggered.connect(lambda: self.delete_joint(f, t, j))
        return m

    def _popup(self, menu: QMenu, pos: QPoint) -> None:
        self.menu = menu
        self.menu_shown.emit(menu)
        menu.popup(pos)

    def _on_view_context(self, x: float, y: float, pos: QPoint) -> None:
        cache = self.cache
        f = self.state.frame_index
        if self.labeller.video is None or cache is None or not 0 <= f < cache.frame_count:
            return
        hits = [p for p in cache.poses(f).persons if p.bbox[0] <= x <= p.bbox[2] and p.bbox[1] <= y <= p.bbox[3]]
        joint = self.joint_at(x, y, 8.0 / max(self.view.zoom, 1e-6))
        if joint is not None:
            track_id = joint[1]
        elif hits:
            track_id = min(hits, key=lambda q: (q.bbox[2] - q.bbox[0]) * (q.bbox[3] - q.bbox[1])).track_id
        else:
            return
        self.labeller.select_track(track_id)
        self._popup(self.track_menu(track_id, f, joint), pos)

    def _on_row_context(self, track_id, frame: int, pos: QPoint) -> None:
        if track_id is None or self.cache is None or self.labeller.video is None:
            return
        self.labeller.select_track(track_id)
        self._popup(self.track_menu(int(track_id), int(frame)), pos)

    def actions(self) -> list[QAction]:
        """The menu actions (Label menu) this editor registered."""
        return [self.host.actions[n] for n in ("merge_previous_track", "split_track", "delete_track",
                                                "rename_track", "interpolate_joints")]

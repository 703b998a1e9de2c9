"""Undoable labelling edits: one :class:`~PySide6.QtGui.QUndoCommand` per edit.

Every ``redo()`` and ``undo()`` calls one :class:`core.project.Project` method, which validates the
edit and commits it to the database before returning, so the database always holds exactly what
the window shows and killing the process at any moment loses no edit that was shown.

The first execution happens in :meth:`LabelCommand.apply`, *before* the command is pushed on the
stack, so an invalid edit (a :class:`~core.project.ProjectError`) is reported and never enters the
undo history. If a later undo/redo fails (the database changed in between, e.g. a label was
removed), the command reports the error and marks itself obsolete, which removes it from the stack.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext

from PySide6.QtGui import QUndoCommand

from core.errors import PoseWatchError
from core.project import Clip, Crop, Label, Project

#: Fields of a clip an :class:`UpdateClipCommand` may change.
CLIP_FIELDS = ("start", "end", "label", "track_id", "crop", "note", "annotator")


def describe_crop(crop: Crop | None) -> str:
    """Short text for a crop: ``none``, ``rect 10,20-200,300`` or ``track +20%``."""
    if crop is None:
        return "none"
    if crop.kind == "rect" and crop.rect is not None:
        x1, y1, x2, y2 = (int(round(v)) for v in crop.rect)
        return f"rect {x1},{y1}–{x2},{y2}"
    return f"follow track, margin {crop.margin:g}"


class LabelCommand(QUndoCommand):
    """Base class: a labelling edit against ``project``.

    Args:
        project: the open project.
        notify: called after every successful do/undo with ``(kind, clip_or_label)``:
            ``("clip", Clip)`` when a clip was added or changed, ``("clip-removed", Clip)``,
            ``("taxonomy", None)`` when labels changed.
        report: called with a one-line message when a later undo/redo fails.
        text: the undo-history text.
    """

    def __init__(self, project: Project, notify: Callable[[str, object], None], report: Callable[[str], None],
                 text: str):
        super().__init__(text)
        self.project = project
        self._notify = notify
        self._report = report
        self._applied = False
        #: context manager factory wrapped around every do/undo (the labeller sets the timeline's ``batch``, so the
        #: several notifications of one edit repaint it once)
        self.batch: Callable[[], AbstractContextManager] = nullcontext

    # subclasses implement these two; they raise PoseWatchError on an invalid edit
    def _do(self) -> None:
        raise NotImplementedError

    def _undo(self) -> None:
        raise NotImplementedError

    def apply(self) -> None:
        """Execute the edit the first time (before pushing). Raises PoseWatchError if invalid."""
        with self.batch():
            self._do()
        self._applied = True

    def redo(self) -> None:  # noqa: D401 (Qt override)
        """Re-execute (the push's own call is skipped: :meth:`apply` already did it)."""
        if self._applied:
            self._applied = False
            return
        self._guard(self._do)

    def undo(self) -> None:  # noqa: D401 (Qt override)
        """Revert the edit in the database."""
        self._guard(self._undo)

    def _guard(self, fn) -> None:
        try:
            with self.batch():
                fn()
        except PoseWatchError as e:
            self.setObsolete(True)  # QUndoStack drops an obsolete command after undo/redo
            self._report(f"cannot {'undo' if fn == self._undo else 'redo'} '{self.text()}': {e}")


class AddClipCommand(LabelCommand):
    """Add a clip; undo deletes it, redo restores it with the same id."""

    def __init__(self, project, notify, report, video_id: int, start: int, end: int, label: str,
                 track_id: int | None = None, crop: Crop | None = None, annotator: str = "", note: str = ""):
        who = "whole frame" if track_id is None else f"person #{track_id}"
        super().__init__(project, notify, report, f"add {label} {start}–{end} ({who})")
        self._args = dict(video_id=video_id, start=start, end=end, label=label, track_id=track_id, crop=crop,
                          annotator=annotator, note=note)
        self.clip: Clip | None = None

    def _do(self) -> None:
        if self.clip is None:
            self.clip = self.project.add_clip(**self._args)
        else:
            self.clip = self.project.restore_clip(self.clip)
        self._notify("clip", self.clip)

    def _undo(self) -> None:
        self.clip = self.project.delete_clip(self.clip.id)
        self._notify("clip-removed", self.clip)


class DeleteClipCommand(LabelCommand):
    """Delete a clip; undo restores it (same id, same times) with :meth:`Project.restore_clip`."""

    def __init__(self, project, notify, report, clip_id: int):
        c = project.clip(clip_id)
        super().__init__(project, notify, report, f"delete {c.label} {c.start}–{c.end}")
        self.clip_id = clip_id
        self.clip: Clip = c

    def _do(self) -> None:
        self.clip = self.project.delete_clip(self.clip_id)
        self._notify("clip-removed", self.clip)

    def _undo(self) -> None:
        self.clip = self.project.restore_clip(self.clip)
        self._notify("clip", self.clip)


class UpdateClipCommand(LabelCommand):
    """Change fields of a clip (range, label, track, crop, note); undo writes the old values back.

    Args:
        changes: ``{field: new value}`` with fields from :data:`CLIP_FIELDS`.
    """

    def __init__(self, project, notify, report, clip_id: int, text: str = "", **changes):
        bad = set(changes) - set(CLIP_FIELDS)
        if bad:
            raise ValueError(f"unknown clip fields {sorted(bad)}")
        old = project.clip(clip_id)
        super().__init__(project, notify, report, text or f"edit clip {clip_id}")
        self.clip_id = clip_id
        self.new = dict(changes)
        self.old = {k: getattr(old, k) for k in changes}

    def _write(self, values: dict) -> None:
        c = self.project.update_clip(self.clip_id, **values)
        self._notify("clip", c)

    def _do(self) -> None:
        self._write(self.new)

    def _undo(self) -> None:
        self._write(self.old)


class AddLabelCommand(LabelCommand):
    """Append a label to the taxonomy; undo removes it (only while no clip uses it)."""

    def __init__(self, project, notify, report, name: str, colour: str, hotkey: str = ""):
        super().__init__(project, notify, report, f"add label {name}")
        self.args = (name, colour, hotkey)
        self.label: Label | None = None

    def _do(self) -> None:
        self.label = self.project.add_label(*self.args)
        self._notify("taxonomy", None)

    def _undo(self) -> None:
        self.project.remove_label(self.label.name)
        self._notify("taxonomy", None)


class UpdateLabelCommand(LabelCommand):
    """Rename, recolour or re-key a label (clips follow a rename); undo restores the old values."""

    def __init__(self, project, notify, report, name: str, new_name: str | None = None, colour: str | None = None,
                 hotkey: str | None = None):
        old = next((lab for lab in project.labels() if lab.name == name), None)
        super().__init__(project, notify, report, f"edit label {name}")
        self.name = name
        self.new = dict(new_name=new_name, colour=colour, hotkey=hotkey)
        self.old = None if old is None else dict(colour=old.colour, hotkey=old.hotkey)

    def _do(self) -> None:
        if self.old is None:
            self.project.update_label(self.name)  # raises: not in the taxonomy
        self.project.update_label(self.name, **self.new)
        self._notify("taxonomy", None)

    def _undo(self) -> None:
        current = self.new["new_name"] or self.name
        self.project.update_label(current, new_name=self.name if current != self.name else None, **self.old)
        self._notify("taxonomy", None)


class RemoveLabelCommand(LabelCommand):
    """Remove an unused label; undo puts it back at its former position (class indices restored)."""

    def __init__(self, project, notify, report, name: str):
        super().__init__(project, notify, report, f"remove label {name}")
        self.name = name
        self.label = next((lab for lab in project.labels() if lab.name == name), None)

    def _do(self) -> None:
        self.project.remove_label(self.name)
        self._notify("taxonomy", None)

    def _undo(self) -> None:
        self.label = self.project.restore_label(self.label)
        self._notify("taxonomy", None)

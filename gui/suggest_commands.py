"""Undoable reviews of model suggestions (:mod:`core.suggest`): accept, reject, nudge, relabel.

Each is a :class:`gui.commands.LabelCommand` on the labeller's undo stack; ``redo``/``undo`` call one
:mod:`core.suggest` / :class:`core.project.Project` function that commits before returning. Besides the clip
notifications of :mod:`gui.commands` they notify ``("suggestion", Suggestion)`` after every change of a suggestion.
"""

from __future__ import annotations

from core import suggest
from core.project import Clip

from .commands import LabelCommand


class AcceptSuggestionCommand(LabelCommand):
    """Accept a suggestion: it becomes a human clip with the model's provenance, and the open suggestions of the same
    track and label inside its frames are closed with it (:func:`core.suggest.covered`); undo deletes the clip and
    reopens them all, redo brings the same clip (same id) back."""

    def __init__(self, project, notify, report, suggestion_id: int, annotator: str = ""):
        s = project.suggestion(suggestion_id)
        super().__init__(project, notify, report, f"accept suggestion {s.label} {s.start}–{s.end} ({s.model_name})")
        self.suggestion_id, self.annotator = suggestion_id, annotator
        self.clip: Clip | None = None
        self.absorbed: list = []  # the suggestions the last accept closed with it

    def _do(self) -> None:
        self.clip = suggest.accept(self.project, self.suggestion_id, self.annotator, clip=self.clip)
        self.absorbed = suggest.absorbed(self.project, self.suggestion_id)
        self._notify("suggestion", self.project.suggestion(self.suggestion_id))
        for o in self.absorbed:
            self._notify("suggestion", o)
        self._notify("clip", self.clip)

    def _undo(self) -> None:
        self.clip = suggest.unaccept(self.project, self.suggestion_id)  # reopens self.absorbed too
        self._notify("clip-removed", self.clip)
        for o in self.absorbed:  # before the accepted one, whose reopening selects it
            self._notify("suggestion", self.project.suggestion(o.id))
        self._notify("suggestion", self.project.suggestion(self.suggestion_id))


class RejectSuggestionCommand(LabelCommand):
    """Reject a suggestion (reviewed), optionally adding its frames as a "normal" hard-negative clip; undo reopens
    it (and deletes that clip)."""

    def __init__(self, project, notify, report, suggestion_id: int, as_normal: bool = False, annotator: str = ""):
        s = project.suggestion(suggestion_id)
        how = " as normal" if as_normal else ""
        super().__init__(project, notify, report, f"reject suggestion {s.label} {s.start}–{s.end}{how}")
        self.suggestion_id, self.as_normal, self.annotator = suggestion_id, as_normal, annotator
        self.clip: Clip | None = None

    def _do(self) -> None:
        self.clip = suggest.reject(self.project, self.suggestion_id, self.as_normal, self.annotator, clip=self.clip)
        self._notify("suggestion", self.project.suggestion(self.suggestion_id))
        if self.clip is not None:
            self._notify("clip", self.clip)

    def _undo(self) -> None:
        clip = suggest.unreject(self.project, self.suggestion_id)
        if clip is not None:
            self._notify("clip-removed", clip)
        self._notify("suggestion", self.project.suggestion(self.suggestion_id))


class UpdateSuggestionCommand(LabelCommand):
    """Change an open suggestion's ``start``, ``end`` and/or ``label`` before accepting it; undo writes the old
    values back."""

    def __init__(self, project, notify, report, suggestion_id: int, text: str, **changes):
        bad = set(changes) - {"start", "end", "label"}
        if bad:
            raise ValueError(f"unknown suggestion fields {sorted(bad)}")
        old = project.suggestion(suggestion_id)
        super().__init__(project, notify, report, text)
        self.suggestion_id = suggestion_id
        self.new = dict(changes)
        self.old = {k: getattr(old, k) for k in changes}

    def _write(self, values: dict) -> None:
        self._notify("suggestion", self.project.update_suggestion(self.suggestion_id, **values))

    def _do(self) -> None:
        self._write(self.new)

    def _undo(self) -> None:
        self._write(self.old)

"""Model suggestions in the labelling mode (issue 12): the loaded classifier proposes clips, the user reviews them.

:class:`Suggester` (``window.suggestions``) presents and delegates; every decision is in :mod:`core.suggest`:

* When the classifier (:attr:`core.state.AppState.classifier`), the open project video or its skeletons change, the
  suggestions of that model for that video are read from the project (keyed by the checkpoint's SHA-256), or
  computed in the background (:class:`gui.workers.GeneratorWorker` over :func:`core.suggest.iter_compute`, progress
  in the status bar) and stored. A model whose labels are not in the project's taxonomy gives none (said once).
* They lie hatched on the timeline's suggestion layer. Keys (``shortcuts`` in the settings; defaults)::

      N / Shift+N            next / previous suggestion (the player seeks to it, its row is selected)
      A                      accept: it becomes a human clip (provenance: model, hash, probability)
      X / Shift+X            reject / reject and add it as a "normal" hard-negative clip
      Alt+Left / Alt+Right   move its start earlier / later (suggest.nudge_frames)
      Alt+Shift+Left/Right   move its end earlier / later
      Shift+R                give it the chosen label
      drag an edge           of the selected suggestion on the timeline: its new start or end
      Ctrl+J                 label next: the most uncertain unlabelled stretch of the project, marked in and out

  Accept, reject, nudge and relabel are commands on the labeller's undo stack (:mod:`gui.suggest_commands`). After
  an accept or reject the next open suggestion is selected and shown; after a video's last one, the next video with
  open suggestions is opened (``suggest.advance_to_next_video``).
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from core import suggest
from core.errors import PoseWatchError
from core.project import Suggestion
from core.state import AppState

from .host import Host
from .suggest_commands import AcceptSuggestionCommand, RejectSuggestionCommand, UpdateSuggestionCommand
from .workers import GeneratorWorker

log = logging.getLogger(__name__)

#: the status bar's line once the last open suggestion of the loaded model in the project is reviewed
ALL_REVIEWED = "every suggestion of this model in the project is reviewed"


class Suggester(QObject):
    """Suggestions of the loaded classifier for the open project video, and their review.

    Args:
        state: the app state (project, project video, skeletons, classifier, frame).
        host: the window's :class:`gui.host.Host` (actions, messages, errors).
        labeller: the labelling controller (:class:`gui.labelling.Labeller`): its timeline, undo stack, track
            selection and project videos.

    Signals:
        suggestions_changed(object): the open suggestions shown (``list[Suggestion]``), after a load, a computation
            or a review.
        selection_changed(object): the selected :class:`~core.project.Suggestion`, or None.
        computing_changed(bool): a background computation started (True) or ended (False).
    """

    suggestions_changed = Signal(object)
    selection_changed = Signal(object)
    computing_changed = Signal(bool)

    def __init__(self, state: AppState, host: Host, labeller):
        super().__init__(host)
        self.state, self.host, self.labeller = state, host, labeller
        self.timeline = labeller.timeline
        self._open: dict[int, Suggestion] = {}
        self._selected: int | None = None
        self._model_hash: str | None = None
        self._gen = 0
        self._worker: GeneratorWorker | None = None
        self._refused: str | None = None
        self._rank_memo: dict = {}  # Label next: per-frame uncertainty of the stored sets (core.suggest.rank_unlabelled)
        self._all_worker: GeneratorWorker | None = None  # compute_all()
        self._arrive: int = 0  # jump() opened another video: select its first (+1) or last (-1) suggestion when shown
        self._build_actions()
        state.events.classifier.connect(lambda *_a: self.refresh())
        state.events.skeletons.connect(lambda *_a: self.refresh())
        labeller.video_changed.connect(lambda *_a: self.refresh())
        labeller.project_changed.connect(lambda *_a: self.refresh())
        labeller.edited.connect(self._on_edited)
        self.timeline.suggestion_clicked.connect(self.select)
        self.timeline.suggestion_edge_dragged.connect(lambda sid, a, b: self.set_range(a, b, sid))
        self._update_enabled()

    # ================================================================ construction
    def _build_actions(self) -> None:
        a = self.host.add_action
        reg = self.host.actions
        reg.add_separator("Label")
        self.menu = reg.submenu("Label", "suggestions", "&Suggestions")
        items = [
            ("next_suggestion", "&Next suggestion", lambda: self.jump(1)),
            ("prev_suggestion", "&Previous suggestion", lambda: self.jump(-1)),
            ("accept_suggestion", "&Accept suggestion", lambda: self.accept()),
            ("reject_suggestion", "&Reject suggestion", lambda: self.reject()),
            ("reject_suggestion_normal", "Reject as &normal (hard negative)", lambda: self.reject(as_normal=True)),
            ("suggestion_start_earlier", "Start earlier", lambda: self.nudge("start", -1)),
            ("suggestion_start_later", "Start later", lambda: self.nudge("start", 1)),
            ("suggestion_end_earlier", "End earlier", lambda: self.nudge("end", -1)),
            ("suggestion_end_later", "End later", lambda: self.nudge("end", 1)),
            ("relabel_suggestion", "Give it the chosen &label", lambda: self.relabel()),
            ("recompute_suggestions", "Re&compute suggestions", lambda: self.refresh(recompute=True)),
            ("suggest_all_videos", "Compute suggestions for &every video", lambda: self.compute_all()),
        ]
        for name, text, slot in items:
            self.menu.addAction(a(name, text, slot))
        a("label_next", "Label ne&xt (most uncertain)", lambda: self.label_next(), "Label")

    # ================================================================ read-only API
    @property
    def suggestions(self) -> list[Suggestion]:
        """The open suggestions of the open video for the loaded model, by start frame."""
        return sorted(self._open.values(), key=lambda s: (s.start, -1 if s.track_id is None else s.track_id, s.id))

    @property
    def selected(self) -> Suggestion | None:
        """The selected suggestion, or None."""
        return self._open.get(self._selected)

    @property
    def model_hash(self) -> str | None:
        """SHA-256 of the classifier whose suggestions are shown (None: none shown)."""
        return self._model_hash

    @property
    def is_computing(self) -> bool:
        """True while suggestions are computed in the background."""
        return self._worker is not None

    @property
    def worker(self) -> GeneratorWorker | None:
        """The running computation, or None."""
        return self._worker

    # ================================================================ loading / computing
    def refresh(self, recompute: bool = False) -> None:
        """Show the loaded model's suggestions for the open video: read them from the project, or compute them in
        the background (``recompute``: compute even if stored; the selected suggestion is selected again once they
        are stored if it is still open, as :meth:`core.project.Project.store_suggestion_set` keeps its ID)."""
        self._gen += 1
        if self._worker is not None:
            self._worker.cancel()
            self._set_worker(None)
        proj, v, clf, cache = self.state.project, self.state.project_video, self.state.classifier, self.state.skeletons
        if proj is None or v is None or clf is None or cache is None:
            self._show([], None)
            return
        try:
            suggest.check_taxonomy(clf, proj.label_names())
            h = suggest.model_hash(clf.path)
        except PoseWatchError as e:
            self._show([], None)
            if self._refused != str(e):  # said once per model and taxonomy, not at every video
                self._refused = str(e)
                self.host.show_message(f"no suggestions: {e}", 10000)
            return
        self._refused = None
        stored = proj.suggestion_sets(v.id, h)
        if not recompute and stored and not stored[0].stale:  # stale: judged on tracks an undo took back
            self._show(proj.suggestions(v.id, h, status="open"), h)
            return
        keep = self._selected  # selected again once computed, if still open (a recompute keeps open IDs)
        self._show([], None)
        gen = self._gen
        w = GeneratorWorker(suggest.iter_compute, clf, cache, taxonomy=proj.label_names())
        w.progress.connect(lambda d, t, m: self.host.show_message(f"{m} ({d}/{t})" if t > 0 else m, 3000))
        w.finished.connect(lambda res, g=gen, vid=v.id, k=keep: self._on_computed(g, vid, res, k))
        w.failed.connect(lambda msg, g=gen: self._on_failed(g, msg))
        w.done.connect(lambda wk=w: self._set_worker(None) if self._worker is wk else None)
        self._set_worker(w)
        w.start()

    def _set_worker(self, w: GeneratorWorker | None) -> None:
        was = self._worker is not None
        self._worker = w
        if was != (w is not None):
            self.computing_changed.emit(w is not None)

    def _on_computed(self, gen: int, video_id: int, computed: suggest.Computed, keep: int | None = None) -> None:
        proj = self.state.project
        if gen != self._gen or proj is None:
            return  # the model, the video or the project changed meanwhile
        try:
            suggest.store(proj, video_id, computed)
        except PoseWatchError as e:
            self.host.report_error(f"suggestions not stored: {e}")
            return
        shown = proj.suggestions(video_id, computed.model_hash, status="open")
        if keep is not None and self._selected is None:
            self._selected = keep  # _show drops it if the recompute closed it
        self._show(shown, computed.model_hash)
        self.host.show_message(f"{len(shown)} suggestion(s) from {computed.model_name}: N / Shift+N to review" if shown
                               else f"no suggestions from {computed.model_name} for this video", 6000)

    def _on_failed(self, gen: int, message: str) -> None:
        if gen == self._gen:
            self.host.report_error(f"suggestions failed: {message}")

    def _show(self, suggestions: list[Suggestion], model_hash: str | None) -> None:
        self._open = {s.id: s for s in suggestions}
        self._model_hash = model_hash
        if self._selected not in self._open:
            self._selected = None
        colours = {lab.name: lab.colour for lab in self.state.project.labels()} if self.state.project else {}
        self.timeline.set_suggestions(list(self._open.values()), colours)
        self.timeline.select_suggestion(self._selected)
        self._update_enabled()
        self.suggestions_changed.emit(self.suggestions)
        if self._selected is None and not self._arrive:
            self._prefetch_after(None)  # N shows the first one
        if self._arrive and model_hash is not None:  # jump() opened this video for its suggestions
            items, direction = self.suggestions, self._arrive
            self._arrive = 0
            if items:
                self.select((items[0] if direction > 0 else items[-1]).id, seek=True)

    # ================================================================ the whole project
    def compute_all(self) -> GeneratorWorker | None:
        """Compute the loaded model's suggestions for every video of the project in the background (progress in
        the status bar; videos already done by this model are skipped), so that review goes on from one video to
        the next (:meth:`jump`). Returns the worker (None: no project or no model)."""
        proj, clf = self.state.project, self.state.classifier
        if proj is None or clf is None:
            self.host.report_error("open a project and load a classifier first (Poses → Load classifier…)")
            return None
        if self._all_worker is not None:
            self.host.show_message("suggestions for every video are being computed", 4000)
            return self._all_worker
        w = GeneratorWorker(suggest.iter_project_suggestions, proj.folder, clf.path, self.state.backend)
        w.progress.connect(lambda d, t, m: self.host.show_message(f"{m} (video {d + 1 if d < t else d}/{t})"
                                                                  if t > 0 else m, 5000))
        w.finished.connect(self._on_all_computed)
        w.failed.connect(lambda msg: self.host.report_error(f"suggestions failed: {msg}"))
        w.done.connect(lambda wk=w: setattr(self, "_all_worker", None) if self._all_worker is wk else None)
        self._all_worker = w
        w.start()
        return w

    def _on_all_computed(self, counts: dict) -> None:
        self.host.show_message(f"{sum(counts.values())} suggestion(s) in {len(counts)} video(s): N to review", 8000)
        self.refresh()

    @property
    def all_worker(self) -> GeneratorWorker | None:
        """The running :meth:`compute_all`, or None."""
        return self._all_worker

    def _next_video(self, direction: int) -> int | None:
        """The next (previous) project video after the open one with open suggestions of the loaded model."""
        proj, clf = self.state.project, self.state.classifier
        if proj is None or clf is None:
            return None
        try:
            h = self._model_hash or suggest.model_hash(clf.path)
        except PoseWatchError:
            return None
        with_open = {s.video_id for s in proj.suggestions(model_hash=h, status="open")}
        order = [v.id for v in proj.videos()]
        cur = self.state.project_video.id if self.state.project_video is not None else None
        if cur in order:
            i = order.index(cur)
            order = order[i + 1:] if direction > 0 else order[:i][::-1]
        elif direction < 0:
            order = order[::-1]
        return next((v for v in order if v in with_open and v != cur), None)

    def _on_edited(self, kind: str, obj) -> None:
        if kind != "suggestion" or self.state.project_video is None:
            return
        if obj.video_id != self.state.project_video.id:
            # an undo (or redo) of a review in a video the review has since left: say where it happened
            try:
                name = self.state.project.video(obj.video_id).name
            except (PoseWatchError, AttributeError):
                name = f"video {obj.video_id}"
            back = " — Shift+N goes back to it" if obj.status == "open" else ""
            self.host.show_message(f"{name}: suggestion {obj.label} {obj.start}–{obj.end} is {obj.status} "
                                   f"again{back}", 8000)
            return
        if obj.model_hash != self._model_hash:
            return
        if obj.status == "open":
            self._open[obj.id] = obj
        else:
            self._open.pop(obj.id, None)
        self._show(list(self._open.values()), self._model_hash)
        if obj.status == "open":
            self.select(obj.id)

    # ================================================================ review
    def select(self, suggestion_id: int | None, seek: bool = False, note: str = "") -> None:
        """Select an open suggestion (None: none); ``seek``: show its first frame. Its row becomes the selected
        track; the status bar names its label, frames, probability and model (after ``note``)."""
        s = self._open.get(suggestion_id)
        self._selected = None if s is None else s.id
        self.timeline.select_suggestion(self._selected)
        if s is not None:
            if seek:
                self.labeller.seek(s.start)
            self._prefetch_after(s)
            self._open_ahead_after(s)
            self.labeller.select_track(s.track_id)
            who = "whole frame" if s.track_id is None else f"person #{s.track_id}"
            n = self.suggestions.index(s) + 1
            self.host.show_message(f"{note}suggestion {n}/{len(self._open)}: {s.label} {s.start}–{s.end} ({who}), "
                                   f"p={s.prob:.2f}, {s.model_name}", 8000)
        self._update_enabled()
        self.selection_changed.emit(s)

    def jump(self, direction: int) -> Suggestion | None:
        """Select the next (``+1``) or previous (``-1``) open suggestion and seek to it: after the selected one,
        else from the play head. Past this video's last (first) one, the next (previous) video of the project with
        open suggestions of the loaded model is opened and its first (last) suggestion selected once shown (a
        review queue over the project, as CVAT's and Label Studio's "next task"; :meth:`compute_all` fills it).
        Returns the suggestion selected here (None: none now — no more, or another video is opening)."""
        items = self.suggestions
        s = None
        if items:
            cur = self.selected
            if cur is not None:
                i = items.index(cur) + (1 if direction > 0 else -1)
                s = items[i] if 0 <= i < len(items) else None
            else:
                f = self.state.frame_index
                s = (next((x for x in items if x.start >= f), None) if direction > 0
                     else next((x for x in reversed(items) if x.start < f), None))
        if s is None:
            vid = self._next_video(direction)
            if vid is None:
                self.host.show_message("no more suggestions that way" if items else
                                       "no open suggestions for this video", 4000)
                return None
            self._arrive = 1 if direction > 0 else -1
            if not self.labeller.open_project_video(vid):
                self._arrive = 0
            return None
        self.select(s.id, seek=True)
        return s

    def _after(self, s: Suggestion | None) -> Suggestion | None:
        """The open suggestion an accept or reject of ``s`` selects next (None: the first one), or None."""
        return next((x for x in self.suggestions if s is None or (x.start, x.id) > (s.start, s.id)), None)

    def _prefetch_after(self, s: Suggestion | None) -> None:
        """Have the video decode ahead the first frame of :meth:`_after` ``s``, the one an accept or reject (or N)
        shows next: seeking there then costs no decoding on the GUI thread."""
        nxt = self._after(s)
        if nxt is not None:
            self.state.prefetch(nxt.start)

    def _open_ahead_after(self, s: Suggestion) -> None:
        """If ``s`` is the video's last open suggestion, the next key of the review most likely opens the next project
        video with open ones (``N`` past it, :meth:`jump`; or its accept or reject, :meth:`_after_review`): have that
        video opened ahead in the background (:meth:`core.state.AppState.open_ahead`), so that the key does not open
        the file on the GUI thread (20-25 ms)."""
        if self._after(s) is not None or not suggest.settings().get("advance_to_next_video", True):
            return
        vid = self._next_video(1)
        if vid is None:
            return
        try:
            v = self.state.project.video(vid)
        except PoseWatchError:
            return
        if v.kind != "skeletons" and Path(v.path).is_file():
            self.state.open_ahead(v.path)

    def _target(self) -> Suggestion | None:
        s = self.selected
        if s is None:
            self.host.report_error("select a suggestion first (N)")
        return s

    def _after_review(self, reviewed: Suggestion, note: str = "") -> None:
        """Select the open suggestion after ``reviewed``. Past the video's last one, with
        ``suggest.advance_to_next_video`` (default on), open the next project video that has open suggestions of
        this model and select its first, as Label Studio's label stream opens the next task after a submit. Off,
        or with none left, nothing is selected. ``note`` goes before the next one's status line."""
        nxt = self._after(reviewed)
        if nxt is not None:
            self.select(nxt.id, seek=True, note=note)
            return
        self.select(None)
        if self.suggestions or not suggest.settings().get("advance_to_next_video", True):
            return  # open suggestions before it remain in this video: N / Shift+N reach them
        vid = self._next_video(1)
        if vid is None:
            self.host.show_message(ALL_REVIEWED, 8000)
            return
        self._arrive = 1
        if not self.labeller.open_project_video(vid):
            self._arrive = 0

    def accept(self) -> bool:
        """Accept the selected suggestion (undoable): a clip with its frames, track and label; its provenance
        (model name, hash, probability) is kept with the clip. Then the next open suggestion is selected."""
        s = self._target()
        if s is None:
            return False
        cmd = AcceptSuggestionCommand(*self.labeller.command_args(), s.id, self.labeller.annotator)
        if not self.labeller.push(cmd):
            return False
        closed = len(cmd.absorbed)
        what = f"{closed} more suggestion{'s' if closed > 1 else ''} inside its clip closed with it"
        if closed:  # said on its own until the next one's line (which repeats it) or "every … reviewed" replaces it
            self.host.show_message(f"accepted {s.label} {s.start}–{s.end}; {what}", 8000)
        self._after_review(s, f"accepted; {what} · " if closed else "")
        return True

    def reject(self, as_normal: bool = False) -> bool:
        """Reject the selected suggestion (undoable; recorded as reviewed); ``as_normal``: also add its frames as a
        clip of the taxonomy's normal label (a hard negative). Then the next open suggestion is selected."""
        s = self._target()
        if s is None:
            return False
        cmd = RejectSuggestionCommand(*self.labeller.command_args(), s.id, as_normal, self.labeller.annotator)
        if not self.labeller.push(cmd):
            return False
        self._after_review(s)
        return True

    def nudge(self, edge: str, direction: int) -> bool:
        """Move the selected suggestion's ``edge`` (``"start"`` or ``"end"``) by ``direction`` ×
        ``suggest.nudge_frames`` frames (undoable; it never gets shorter than one frame)."""
        s = self._target()
        if s is None:
            return False
        step = int(suggest.settings()["nudge_frames"]) * (1 if direction > 0 else -1)
        n = self.state.frame_count or 1
        if edge == "start":
            new = min(max(0, s.start + step), s.end)
            changes, text = {"start": new}, f"suggestion start → {new}"
        else:
            new = max(min(n - 1, s.end + step), s.start)
            changes, text = {"end": new}, f"suggestion end → {new}"
        if new == getattr(s, edge):
            return False
        ok = self.labeller.push(UpdateSuggestionCommand(*self.labeller.command_args(), s.id, text, **changes))
        if ok:
            self.labeller.seek(new)
        return ok

    def set_range(self, start: int, end: int, suggestion_id: int | None = None) -> bool:
        """Give the selected suggestion (or ``suggestion_id``) the frames ``start..end`` (inclusive; undoable), as a
        drag of its edge on the timeline does. A range outside the video or with ``end < start`` is refused in the
        status bar and changes nothing."""
        s = self._open.get(suggestion_id) if suggestion_id is not None else self._target()
        if s is None:
            return False
        n = self.state.frame_count or 1
        if not 0 <= start <= end < n:
            self.host.report_error(f"a suggestion needs 0 ≤ start ≤ end < {n} (got {start}–{end})")
            return False
        if (start, end) == (s.start, s.end):
            return False
        ok = self.labeller.push(UpdateSuggestionCommand(*self.labeller.command_args(), s.id,
                                                        f"suggestion {start}–{end}", start=start, end=end))
        if ok:
            self.labeller.seek(start if start != s.start else end)
        return ok

    def relabel(self, label: str | None = None) -> bool:
        """Give the selected suggestion ``label`` (default: the labeller's chosen label), undoable."""
        s = self._target()
        label = label or self.labeller.current_label
        if s is None or not label:
            return False
        return self.labeller.push(UpdateSuggestionCommand(*self.labeller.command_args(), s.id,
                                                          f"suggestion {s.id} → {label}", label=label))

    def label_next(self) -> suggest.Stretch | None:
        """Jump to the project's most uncertain unlabelled stretch (:func:`core.suggest.rank_unlabelled` over the
        stored suggestions of every model): open its video, seek to its start, select its track and mark its frames
        in and out, so that a label key and Enter label it (or the marks are moved first). Returns it (None:
        nothing ranked — no video has suggestions yet)."""
        proj = self.state.project
        if proj is None:
            self.host.report_error("open or create a project first (File → New project…)")
            return None
        ranked = suggest.rank_unlabelled(proj, memo=self._rank_memo, limit=1)
        if not ranked:
            self.host.show_message("nothing to rank: open videos with a classifier loaded (or run "
                                   "main.py suggest) to compute suggestions first", 8000)
            return None
        top = ranked[0]
        v = self.state.project_video
        if v is None or v.id != top.video_id:
            if not self.labeller.open_project_video(top.video_id):
                return None
        self.labeller.seek(top.start)
        self.labeller.select_track(top.track_id)
        self.labeller.mark_in(top.start)
        self.labeller.mark_out(top.end)
        who = "whole frame" if top.track_id is None else f"person #{top.track_id}"
        self.host.show_message(f"label next: frames {top.start}–{top.end} ({who}) marked, uncertainty "
                               f"{top.uncertainty:.2f}, disagreement {top.disagreement:.2f}: a label key and Enter "
                               f"label them", 8000)
        return top

    def _update_enabled(self) -> None:
        acts = self.host.actions
        has = bool(self._open)
        sel = self._selected is not None
        review = has or (self.state.project is not None and self.state.classifier is not None)  # other videos'
        for name in ("next_suggestion", "prev_suggestion"):
            acts[name].setEnabled(review)
        for name in ("accept_suggestion", "reject_suggestion", "reject_suggestion_normal", "suggestion_start_earlier",
                     "suggestion_start_later", "suggestion_end_earlier", "suggestion_end_later", "relabel_suggestion"):
            acts[name].setEnabled(sel)
        acts["recompute_suggestions"].setEnabled(self.state.project_video is not None
                                                 and self.state.classifier is not None)
        acts["label_next"].setEnabled(self.state.project is not None)
        acts["suggest_all_videos"].setEnabled(self.state.project is not None and self.state.classifier is not None)

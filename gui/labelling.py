"""Labelling in the main window: a project, the timeline, undoable clip edits, crops, the taxonomy.

:class:`Labeller` is the glue between the app state (:class:`core.state.AppState`: the open video, frame,
skeletons, project and the open video's project entry), the widgets of the labelling mode
(:class:`gui.timeline.TimelineWidget`, the panels of :mod:`gui.label_panels`) and the project store
:class:`core.project.Project`. It gets the state, the window's :class:`gui.host.Host` (errors, messages,
actions, docks) and the video view and timeline widgets; it does not know the main window.

Every edit is a command of :mod:`gui.commands` on :attr:`Labeller.undo_stack`; its ``redo``/``undo`` call a
project method that commits at once, so there is no "save" step and killing the process loses nothing that
was shown.

Workflow (keys work while the video or the timeline has the focus)::

    I / O          mark the first / last frame of a clip (the play head's frame)
    1 … 9          choose the label (the taxonomy's hotkeys)
    click a person in the video, or a timeline row: choose the track (or the whole frame)
    Enter          commit the marked range as a clip of the chosen row with the chosen label
    drag an edge   change start / end;  Delete: delete the selected clip;  R: relabel it
    C              crop tool: drag a rectangle on the video;  Shift+C: crop to the tracked person
    Ctrl+Z / Ctrl+Shift+Z / Ctrl+Y   undo / redo
    M              merge the selected track with the track that ends just before it (gui/track_editing.py;
                   right-click a person or a timeline row: merge into…, split here, delete, change the ID)
    drag a joint   move it (marked as corrected);  right-click a joint: delete it

Frame convention: 0-based, inclusive end (a clip marked I at frame 10 and O at frame 20 has 11
frames, 10..20).
"""

from __future__ import annotations

import getpass
import logging
import os
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QAction, QColor, QIcon, QKeySequence, QPixmap, QUndoStack
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QToolBar,
    QUndoView,
    QVBoxLayout,
    QWidget,
)

from core import config
from core.cache import SkeletonCache
from core.errors import PoseWatchError
from core.project import Clip, Crop, Project, Video, check_new_project_folder
from core.state import AppState
from core.video import Frame, VideoInfo, VideoSource

from .commands import (
    AddClipCommand,
    AddLabelCommand,
    DeleteClipCommand,
    LabelCommand,
    RemoveLabelCommand,
    UpdateClipCommand,
    UpdateLabelCommand,
    describe_crop,
)
from .label_panels import ClipPanel, TaxonomyPanel, VideosPanel
from .host import Host
from .timeline import TimelineWidget
from .video_view import VideoView

log = logging.getLogger(__name__)

RECENT_PROJECTS_KEY = "recent_projects"
ANNOTATOR_KEY = "annotator"
MAX_RECENT_PROJECTS = 10


def default_annotator() -> str:
    """The OS user name (``annotator`` if it cannot be found)."""
    try:
        return getpass.getuser() or "annotator"
    except Exception:  # noqa: BLE001 - no user name in this environment
        return "annotator"


class SkeletonCanvas(VideoSource):
    """Black frames of a fixed size for an imported skeleton sequence (no pixels to show).

    Args:
        video: the project entry (kind ``skeletons``).
        width, height: canvas size in pixels.
    """

    def __init__(self, video: Video, width: int, height: int):
        self.info = VideoInfo(f"skeletons:{video.name or video.hash}", "folder", float(video.fps or 30.0),
                              int(video.frame_count), int(width), int(height))
        self._image = np.zeros((int(height), int(width), 3), np.uint8)

    def read(self, index: int) -> Frame:
        """A black frame (the overlay draws the skeletons on it)."""
        from core.errors import VideoError

        if not 0 <= index < self.info.frame_count:
            raise VideoError(f"frame {index} out of range 0..{self.info.frame_count - 1}")
        return Frame(index, index / self.info.fps, self._image)

    def frames(self, start: int = 0, stop: int | None = None, step: int = 1):
        """Yield black frames ``start..stop``."""
        for i in range(start, self.info.frame_count if stop is None else min(stop, self.info.frame_count), step):
            yield self.read(i)


def canvas_size(video: Video, cache: SkeletonCache | None) -> tuple[int, int]:
    """Canvas size for an imported sequence: its recorded frame size, else the keypoints' extent."""
    if video.width > 0 and video.height > 0:
        return video.width, video.height
    if cache is not None:
        w, h = int(cache.meta.get("width") or 0), int(cache.meta.get("height") or 0)
        if w > 0 and h > 0:
            return w, h
        if len(cache.keypoints):
            xy = cache.keypoints[..., :2].reshape(-1, 2)
            xy = xy[np.isfinite(xy).all(axis=1)]
            if len(xy):
                mx = np.ceil(xy.max(axis=0) * 1.05).astype(int)
                return max(64, int(mx[0])), max(64, int(mx[1]))
    return 640, 480


def _colour_icon(colour: str) -> QIcon:
    pm = QPixmap(12, 12)
    pm.fill(QColor(colour))
    return QIcon(pm)


class NewProjectDialog(QDialog):
    """File > New project…: a folder path to type (a new folder is created) or to browse to (an empty one).
    A folder that holds files or a project is refused in the dialog, which stays open (never ``exec()``: open
    it with :meth:`open`).

    Signals:
        chosen(str): an acceptable folder (absolute path) was confirmed.
    """

    chosen = Signal(str)

    def __init__(self, parent: QWidget | None = None, start: str = ""):
        super().__init__(parent)
        self.setWindowTitle("New project")
        self.path_edit = QLineEdit(start)
        self.path_edit.setPlaceholderText("a new folder, or an empty one")
        self.path_edit.setMinimumWidth(420)
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        row = QHBoxLayout()
        row.addWidget(self.path_edit, 1)
        row.addWidget(browse)
        self.message = QLabel("The project's database and skeleton caches go into this folder; it must be new "
                              "or empty.")
        self.message.setWordWrap(True)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Create")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addWidget(QLabel("Project folder"))
        lay.addLayout(row)
        lay.addWidget(self.message)
        lay.addWidget(self.buttons)

    def _browse(self) -> None:
        d = QFileDialog.getExistingDirectory(self, "Project folder (or the folder to create it in)",
                                             self.path_edit.text().strip())
        if d:
            self.path_edit.setText(d)

    def accept(self) -> None:  # noqa: D401 (Qt override)
        """Check the folder; a refused one leaves the dialog open with the reason in red."""
        text = self.path_edit.text().strip()
        if not text:
            self._refuse("type a folder path, or browse to an empty folder")
            return
        try:
            folder = check_new_project_folder(text)
        except PoseWatchError as e:
            self._refuse(str(e))
            return
        super().accept()
        self.chosen.emit(str(folder))

    def _refuse(self, reason: str) -> None:
        self.message.setText(reason)
        self.message.setStyleSheet("color: #b00020;")


class Labeller(QObject):
    """The labelling mode (``window.labelling``).

    Use it from code (e.g. a benchmark)::

        win = MainWindow(settings, show_dialogs=False)
        win.labelling.open_project(folder)      # or new_project(folder)
        win.open_video(path)                    # added to the project; its clips on the timeline
        win.labelling.commit_clip(10, 20, "fall")   # one undoable, committed edit
        win.timeline.redraw()                   # full timeline rebuild + repaint

    Args:
        state: the app state (the project, the open video, its frame and skeletons).
        host: the window's :class:`gui.host.Host`.
        view: the video view (person clicks, crop rectangles, markers).
        timeline: the timeline under the video.
        area: the widget holding view and timeline; Enter, Delete and Backspace act on clips only while the focus
            is inside it.

    Signals:
        project_changed(object): a project was opened (the :class:`Project`) or closed (None).
        video_changed(object): the open video's project entry (:class:`Video`) or None.
        selection_changed(object): the selected :class:`Clip` or None.
        track_changed(object): the selected row: a track ID, or None for the whole frame.
        marks_changed(object, object): the in and out frames (None where unset).
        edited(str, object): after every committed edit, undo or redo: ``("clip", Clip)``,
            ``("clip-removed", Clip)``, ``("taxonomy", None)``, ``("suggestion", Suggestion)``, and from the
            track editor ``("tracks", TrackEdit)``, ``("tracks-undone", TrackEdit)``, ``("keypoints", edits)``.
    """

    project_changed = Signal(object)
    video_changed = Signal(object)
    selection_changed = Signal(object)
    track_changed = Signal(object)
    marks_changed = Signal(object, object)
    edited = Signal(str, object)

    def __init__(self, state: AppState, host: Host, view: VideoView, timeline: TimelineWidget, area: QWidget):
        super().__init__(host)
        self.state, self.host, self.view, self.timeline, self.area = state, host, view, timeline, area
        self.undo_stack = QUndoStack(self)
        self._pending_video: Video | None = None
        self._canvas: str | None = None  # name of the imported sequence shown on a blank canvas
        self._clips: dict[int, Clip] = {}
        self._counts: dict[int, int] = {}
        self._in: int | None = None
        self._out: int | None = None
        self._label: str | None = None
        self._selected: int | None = None
        self._track: int | None = None
        self._tracks: list[int] = []
        self._presence: dict[int, tuple] = {}  # what the timeline's track rows show (SkeletonCache.track_presence)
        self.label_actions: dict[str, QAction] = {}
        self._build_actions()
        self._build_widgets()
        self._connect()
        from .track_editing import TrackEditor

        self.track_editor = TrackEditor(state, host, self)  # track and keypoint edits (issue 12)
        from .agreement_panel import AgreementPanel

        self.agreement_panel = AgreementPanel(state, host)  # View > Agreement of annotators (issue 12)
        self.agreement_panel.seek_requested.connect(self.go_to)
        self._update_enabled()

    # ================================================================ construction
    def _build_actions(self) -> None:
        reg, area = self.host.actions, self.area
        a = self.host.add_action
        a("new_project", "&New project…", self._new_project_dialog, "File", section="project")
        a("open_project", "Open &project…", self._open_project_dialog, "File", section="project")
        self.recent_projects_menu = reg.submenu("File", "recent_projects", "Open recent pro&ject", "project")
        self.recent_projects_menu.aboutToShow.connect(self._rebuild_recent_projects)
        a("close_project", "Close pro&ject", self.close_project, "File", section="project")
        a("relink", "&Relink moved videos…", self._relink_dialog, "File", section="project")
        reg.add_separator("File", "project")
        a("import", "&Import skeletons…", self.show_import_dialog, "File", section="project")
        a("export", "E&xport training data…", self.show_export_dialog, "File", section="project")
        reg.menu("Label", "&Label")
        undo = self.undo_stack.createUndoAction(self, "&Undo")
        redo = self.undo_stack.createRedoAction(self, "&Redo")
        a("undo", "&Undo", menu="Label", action=undo)
        a("redo", "&Redo", menu="Label", action=redo)
        reg.add_separator("Label")
        a("mark_in", "Mark &in", lambda: self.mark_in(), "Label")
        a("mark_out", "Mark &out", lambda: self.mark_out(), "Label")
        a("clear_marks", "Clear &marks", self.clear_marks, "Label", widget=area)
        a("commit_clip", "&Commit clip", lambda: self.commit_clip(), "Label", widget=area)
        reg.add_separator("Label")
        a("delete_clip", "&Delete clip", lambda: self.delete_clip(), "Label", widget=area)
        a("relabel_clip", "&Relabel clip with the chosen label", lambda: self.relabel_clip(), "Label")
        a("next_clip", "Next clip", lambda: self.jump_to_clip(1), "Label")
        a("prev_clip", "Previous clip", lambda: self.jump_to_clip(-1), "Label")
        reg.add_separator("Label")
        a("crop_tool", "C&rop tool (draw a rectangle)", self.set_crop_tool, "Label", checkable=True)
        a("crop_track", "Crop to the &tracked person", lambda: self.crop_to_track(), "Label")
        a("clear_crop", "Remove the clip's cro&p", lambda: self.set_crop(None), "Label")
        reg.add_separator("Label")
        self.choose_menu = reg.submenu("Label", "choose", "C&hoose label")
        self._rebuild_recent_projects()

    def _build_widgets(self) -> None:
        acts = self.host.actions
        self.videos_panel = VideosPanel()
        self.clip_panel = ClipPanel()
        self.taxonomy_panel = TaxonomyPanel()
        self.history = QUndoView(self.undo_stack)
        self.history.setEmptyLabel("(project opened)")
        right = Qt.DockWidgetArea.RightDockWidgetArea
        self.docks = {"clip": self.host.add_dock("clip", "Clip", self.clip_panel, right, scrollable=True),
                      "videos": self.host.add_dock("videos", "Project", self.videos_panel, right, scrollable=True)}
        self.docks["labels"] = self.host.add_dock("labels", "Labels", self.taxonomy_panel, right, tabify_with="videos",
                                                  scrollable=True)
        self.docks["history"] = self.host.add_dock("history", "History", self.history, right, tabify_with="labels")
        self.docks["videos"].raise_()
        self._docks_widened = False

        tb = QToolBar("Labelling")
        tb.setObjectName("labelling_toolbar")
        tb.setMovable(False)
        tb.addWidget(QLabel(" Label "))
        self.label_box = QComboBox()
        self.label_box.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.label_box.setToolTip("Label of the next clip (number keys)")
        self.label_box.setMinimumContentsLength(10)
        self.label_box.currentTextChanged.connect(self._on_label_box)
        tb.addWidget(self.label_box)
        for name in ("mark_in", "mark_out", "commit_clip"):
            tb.addAction(acts[name])
        acts["mark_in"].setText("In")
        acts["mark_out"].setText("Out")
        acts["commit_clip"].setText("Commit")
        tb.addSeparator()
        tb.addAction(acts["crop_tool"])
        acts["crop_tool"].setText("Crop")
        tb.addSeparator()
        tb.addWidget(QLabel(" Annotator "))
        self.annotator_edit = QLineEdit(str(self.host.settings.value(ANNOTATOR_KEY, "") or default_annotator()))
        self.annotator_edit.setMaximumWidth(140)
        self.annotator_edit.setToolTip("Your name, stored with every clip you make")
        self.annotator_edit.editingFinished.connect(self._save_annotator)
        tb.addWidget(self.annotator_edit)
        self.marks_label = QLabel()
        tb.addWidget(self.marks_label)
        self.host.add_toolbar(tb, new_row=True)
        tb.hide()
        self.toolbar = tb

    def _connect(self) -> None:
        tl = self.timeline
        self.state.events.frame.connect(self._on_frame)
        self.state.events.skeletons.connect(self._on_skeletons)
        self.state.project_written.connect(self._on_project_written)
        tl.seek_requested.connect(self._seek)
        tl.row_selected.connect(self.select_track)
        tl.clip_clicked.connect(self.select_clip)
        tl.edge_dragged.connect(lambda cid, s, e: self.set_clip_range(s, e, cid))
        self.view.clicked.connect(self._on_video_clicked)
        self.view.rect_drawn.connect(self._on_rect_drawn)
        vp = self.videos_panel
        vp.open_requested.connect(self.open_project_video)
        vp.add_requested.connect(lambda: self.host.actions["open"].trigger())  # the window's File > Open video…
        vp.relink_requested.connect(self._relink_dialog)
        cp = self.clip_panel
        cp.relabel_requested.connect(lambda name: self.relabel_clip(name))
        cp.range_requested.connect(lambda s, e: self.set_clip_range(s, e))
        cp.track_requested.connect(lambda t: self.set_clip_track(t))
        cp.note_requested.connect(lambda text: self.set_note(text))
        cp.crop_rect_requested.connect(lambda r: self.set_crop(Crop("rect", tuple(r))))
        cp.crop_track_requested.connect(lambda m: self.crop_to_track(margin=m))
        cp.crop_clear_requested.connect(lambda: self.set_crop(None))
        cp.invalid_input.connect(self.host.report_error)
        tp = self.taxonomy_panel
        tp.add_requested.connect(self.add_label)
        tp.update_requested.connect(lambda n, nn, c, k: self.update_label(n, new_name=nn, colour=c, hotkey=k))
        tp.remove_requested.connect(self.remove_label)
        self.undo_stack.indexChanged.connect(lambda _i: self._update_enabled())

    # ================================================================ state (read-only API)
    @property
    def project(self) -> Project | None:
        """The open project (:attr:`core.state.AppState.project`), or None."""
        return self.state.project

    @property
    def video(self) -> Video | None:
        """The open video's project entry (:attr:`core.state.AppState.project_video`), or None (no project, or the
        video could not be added)."""
        return self.state.project_video

    @property
    def in_point(self) -> int | None:
        """The marked first frame, or None."""
        return self._in

    @property
    def out_point(self) -> int | None:
        """The marked last frame (inclusive), or None."""
        return self._out

    @property
    def current_label(self) -> str | None:
        """The label the next clip gets."""
        return self._label

    @property
    def selected_clip(self) -> Clip | None:
        """The selected clip (as last written), or None."""
        return self._clips.get(self._selected)

    @property
    def selected_track(self) -> int | None:
        """The selected row's track ID (None: the whole frame)."""
        return self._track

    @property
    def annotator(self) -> str:
        """The name stored with new clips (QSettings ``annotator``, default the OS user)."""
        return self.annotator_edit.text().strip() or default_annotator()

    def clips(self) -> list[Clip]:
        """Clips of the open video, by start frame (from the window's copy of the database)."""
        return sorted(self._clips.values(), key=lambda c: (c.start, c.id))

    def clips_at(self, frame: int) -> list[Clip]:
        """Clips of the open video containing ``frame`` (an indexed query of the project)."""
        if self.project is None or self.video is None:
            return []
        return self.project.clips_in_range(self.video.id, frame, frame)

    # ================================================================ projects
    def new_project(self, folder: str | os.PathLike) -> bool:
        """Create a project in ``folder`` (a new or empty folder; default taxonomy) and open it; the open video
        joins it. A folder holding files is refused (reported)."""
        try:
            proj = Project.create(folder)
        except PoseWatchError as e:
            self.host.report_error(str(e))
            return False
        self._set_project(proj)
        return True

    def open_project(self, folder: str | os.PathLike) -> bool:
        """Open the project in ``folder``. A database of a newer PoseWatch, a missing project or a
        corrupt file are reported (one line); the current project stays open then."""
        try:
            proj = Project.open(folder)
        except PoseWatchError as e:
            self.host.report_error(str(e))
            return False
        self._set_project(proj)
        return True

    def close_project(self) -> None:
        """Close the project (everything is already saved); the video stays open in the player."""
        proj = self.state.project
        if proj is None:
            return
        self.set_crop_tool(False)
        self.undo_stack.clear()
        self._set_video(None)
        self.state.project = None
        proj.close()
        try:
            config.use_project(None)  # the project's settings (posewatch.yaml) no longer apply
        except PoseWatchError as e:
            self.host.report_error(str(e))
        for d in self.docks.values():
            d.hide()
        self.toolbar.hide()
        self.timeline.hide()
        self._rebuild_label_actions()
        self._update_enabled()
        self.project_changed.emit(None)

    def _set_project(self, proj: Project) -> None:
        if self.state.project is not None:
            self.close_project()
        try:
            config.use_project(proj.folder)  # its posewatch.yaml, if any, over the defaults
        except PoseWatchError as e:
            self.host.report_error(f"project settings ignored: {e}")
        self.state.project = proj
        self.undo_stack.clear()
        self._counts = {}
        for v in proj.videos():
            self._counts[v.id] = len(proj.clips(v.id))
        self._add_recent_project(str(proj.folder))
        self._reload_taxonomy()
        for name in ("videos", "clip", "labels", "history"):
            self.docks[name].show()
        self.docks["videos"].raise_()
        if not self._docks_widened:  # once: room for the project list's lines ("name — N frames, M clips")
            self._docks_widened = True
            self.host.widen_dock("clip", 60 * self.clip_panel.fontMetrics().averageCharWidth())
        self.toolbar.show()
        self.timeline.show()
        self.project_changed.emit(proj)
        if self._canvas is not None and self.state.video_path == self._canvas:
            self.state.close_video()  # an imported sequence of the previous project
        if self.state.video_path is not None:
            # the open video joins the project; its skeletons come from the project folder now (the window
            # observes the project entry and reloads them)
            self.on_video_opened(self.state.video_path)
        else:
            first = next((v for v in proj.videos() if v.kind == "skeletons" or Path(v.path).exists()), None)
            if first is not None:
                self.open_project_video(first.id)
        self._refresh_videos()
        missing = proj.missing_videos()
        if missing:
            self.host.show_message(f"{len(missing)} video(s) of this project were moved or deleted: "
                                   "File → Relink moved videos… finds them by content", 15000)
        else:
            self.host.show_message(f"project {proj.folder} opened: {len(proj.videos())} videos, "
                                   f"{proj.clip_count()} clips")
        self._update_enabled()

    def open_project_video(self, video_id: int) -> bool:
        """Open a video (or imported skeleton sequence) of the project."""
        p = self.state.project
        if p is None:
            return False
        try:
            v = p.video(video_id)
        except PoseWatchError as e:
            self.host.report_error(str(e))
            return False
        if v.kind == "skeletons":
            try:
                cache = p.edited_skeletons(v, SkeletonCache.load(p.imported_skeletons_path(v)), editable=True)
            except PoseWatchError as e:
                self.host.report_error(f"{v.name}: {e}")
                return False
            self._pending_video = v
            name = f"{v.name} (skeletons)"
            ok = self._open(lambda: self.state.open_source(SkeletonCanvas(v, *canvas_size(v, cache)), name, cache))
            self._canvas = name if ok else self._canvas
        else:
            if not Path(v.path).exists():
                self.host.report_error(f"{v.name or v.path} was moved or deleted ({v.path}): "
                                       "use Relink… to find it by content")
                return False
            self._pending_video = v
            ok = self._open(lambda: self.state.open_video(v.path))
        self._pending_video = None
        self.view.setFocus()
        return ok

    def go_to(self, video_id: int, frame: int) -> bool:
        """Show frame ``frame`` of the project video ``video_id`` (opened first if another one is open)."""
        if self.video is None or self.video.id != video_id:
            if not self.open_project_video(video_id):
                return False
        self._seek(frame)
        return True

    def _open(self, opener) -> bool:
        try:
            opener()
        except PoseWatchError as e:
            self.host.report_error(str(e))
            return False
        return True

    def _seek(self, frame: int) -> None:
        try:
            self.state.seek(frame, wait=False)  # the window shows the image once decoded (MainWindow._finish_seek)
        except PoseWatchError as e:
            self.host.report_error(str(e))

    def relink(self, folders: list[str | os.PathLike]) -> dict[int, str]:
        """Look for the project's moved videos under ``folders`` (by content hash); returns
        ``{video_id: new path}`` and reports how many were found."""
        if self.state.project is None:
            self.host.report_error("open a project first")
            return {}
        try:
            found = self.state.project.relink([os.fspath(f) for f in folders])
        except (PoseWatchError, OSError) as e:
            self.host.report_error(f"relink failed: {e}")
            return {}
        left = len(self.state.project.missing_videos())
        self._refresh_videos()
        self.host.show_message(f"relinked {len(found)} video(s)" + (f"; {left} still missing" if left else ""), 10000)
        return found

    def new_project_dialog(self) -> NewProjectDialog:
        """Open the New project dialog (non-blocking; a confirmed folder becomes the project). Returns it."""
        self.project_dialog = NewProjectDialog(self.host.parent_widget)
        self.project_dialog.chosen.connect(self.new_project)
        self.project_dialog.open()
        return self.project_dialog

    def _new_project_dialog(self) -> None:
        self.new_project_dialog()

    def _open_project_dialog(self) -> None:
        folder = QFileDialog.getExistingDirectory(self.host.parent_widget, "Open project folder")
        if folder:
            self.open_project(folder)

    def _relink_dialog(self) -> None:
        folder = QFileDialog.getExistingDirectory(self.host.parent_widget,
                                                  "Relink: folder to search for the moved videos")
        if folder:
            self.relink([folder])

    # ---------------------------------------------------------------- recent projects
    def recent_projects(self) -> list[str]:
        """Recently opened project folders, newest first."""
        v = self.host.settings.value(RECENT_PROJECTS_KEY, [])
        if not v:
            return []
        if isinstance(v, str):
            v = [v]
        return [str(p) for p in v][:MAX_RECENT_PROJECTS]

    def _add_recent_project(self, folder: str) -> None:
        self.host.settings.setValue(RECENT_PROJECTS_KEY, [folder] + [p for p in self.recent_projects() if p != folder])
        self.host.settings.sync()
        self._rebuild_recent_projects()

    def rebuild_recent_projects(self) -> None:
        """Fill the *Open recent project* menu (also done each time it is shown)."""
        self._rebuild_recent_projects()

    def _rebuild_recent_projects(self) -> None:
        m = getattr(self, "recent_projects_menu", None)
        if m is None:
            return
        m.clear()
        for i, p in enumerate(self.recent_projects()):
            act = m.addAction(f"&{(i + 1) % 10} {Path(p).name}")
            act.setToolTip(p)
            act.triggered.connect(lambda _=False, q=p: self.open_project(q))
        if not self.recent_projects():
            m.addAction("(none)").setEnabled(False)

    # ================================================================ videos (called by the window)
    def on_video_opened(self, path: str) -> None:
        """A video was opened (``path``): add it to the project (if one is open) and show its clips. The window calls
        it before it loads the skeletons, so that they are the project's."""
        if path != self._canvas:
            self._canvas = None
        v, self._pending_video = self._pending_video, None
        proj = self.state.project
        # opened from the project (open_project_video): its entry is known, no second open of the file to find it
        known = v is not None and v.kind == "video" and Path(v.path) == Path(path).expanduser().resolve()
        if proj is not None and not known and (v is None or v.kind != "skeletons"):
            try:
                v = proj.add_video(path)  # the entry of a video already in the project
            except PoseWatchError as e:
                self.host.report_error(f"not added to the project: {e}")
                v = None
            except OSError as e:
                self.host.report_error(f"not added to the project: {path}: {e.strerror or e}")
                v = None
            if v is not None and v.id not in self._counts:
                self._counts[v.id] = 0
        self._set_video(v if proj is not None else None)
        self._refresh_videos()

    def on_video_closed(self) -> None:
        """The video was closed."""
        self._canvas = None
        self._set_video(None)

    def _set_video(self, v: Video | None) -> None:
        self._clips = {}
        self._in = self._out = None
        self._selected = None
        self._track = None
        self._tracks, self._presence = [], {}
        self.timeline.clear()
        proj = self.state.project
        if v is not None and proj is not None:
            self._clips = {c.id: c for c in proj.clips(v.id)}
            self.timeline.set_frame_count(self.state.frame_count or v.frame_count)
            self.timeline.set_clips(list(self._clips.values()), self._colours())
            self.timeline.set_playhead(max(0, self.state.frame_index))
        self.timeline.set_marks(None, None)
        self.timeline.select_row(None)
        self.state.project_video = v
        self._after_selection()
        self._update_marks_label()
        self._update_enabled()
        self.video_changed.emit(v)

    def _refresh_videos(self) -> None:
        p = self.project
        if p is None:
            return
        vids = p.videos()
        missing = {v.id for v in p.missing_videos()}
        self.videos_panel.set_videos(vids, self._counts, missing, self.video.id if self.video else None)

    def _on_skeletons(self, cache: SkeletonCache | None) -> None:
        if self.video is None or cache is None:
            return
        tids = [int(t) for t in cache.track_ids()]
        presence = {t: cache.track_presence(t) for t in tids}
        shown = self._presence
        same = tids == self._tracks and shown.keys() == presence.keys() and all(  # a joint moved: no row changes
            presence[t] is shown[t] for t in tids)
        self._tracks, self._presence = tids, presence
        if not same:
            self.timeline.set_tracks(tids, presence)
        self._after_selection()

    # ================================================================ marks, label, track, selection
    def mark_in(self, frame: int | None = None) -> None:
        """Mark the clip's first frame (default: the play head's frame)."""
        if not self._require_video():
            return
        self._in = self.state.frame_index if frame is None else int(frame)
        self._marks_changed()

    def mark_out(self, frame: int | None = None) -> None:
        """Mark the clip's last frame, inclusive (default: the play head's frame)."""
        if not self._require_video():
            return
        self._out = self.state.frame_index if frame is None else int(frame)
        self._marks_changed()

    def clear_marks(self) -> None:
        """Forget the in and out marks."""
        self._in = self._out = None
        self._marks_changed()

    def _marks_changed(self) -> None:
        self.timeline.set_marks(self._in, self._out)
        self._update_marks_label()
        self.marks_changed.emit(self._in, self._out)

    def _update_marks_label(self) -> None:
        fmt = lambda v: "–" if v is None else str(v)  # noqa: E731
        row = "whole frame" if self._track is None else f"person #{self._track}"
        self.marks_label.setText(f"  in {fmt(self._in)}  out {fmt(self._out)}  ·  {row} ")

    def choose_label(self, name: str) -> bool:
        """Make ``name`` the label of the next clip. Reports a label that is not in the taxonomy."""
        if self.project is None:
            self.host.report_error("open or create a project first (File → New project…)")
            return False
        names = self.project.label_names()
        if name not in names:
            self.host.report_error(f"label '{name}' is not in the taxonomy ({', '.join(names)})")
            return False
        self._label = name
        if self.label_box.currentText() != name:
            self.label_box.setCurrentText(name)
        self.host.show_message(f"label: {name}", 3000)
        return True

    def _on_label_box(self, name: str) -> None:
        if name and name != self._label and self.project is not None and name in self.project.label_names():
            self._label = name

    def select_track(self, track_id: int | None) -> None:
        """Select the row of ``track_id`` (None: whole frame): new clips belong to it."""
        self._track = None if track_id is None else int(track_id)
        self.timeline.select_row(self._track)
        self._update_marks_label()
        self._update_markers()
        self.track_changed.emit(self._track)

    def select_clip(self, clip_id: int | None) -> None:
        """Select a clip of the open video (None: no selection); shows it in the clip panel."""
        self._selected = clip_id if clip_id in self._clips else None
        self.timeline.select_clip(self._selected)
        self._after_selection()

    def _after_selection(self) -> None:
        clip = self.selected_clip
        labels = self.project.labels() if self.project is not None else []
        self.clip_panel.show_clip(clip, labels, self._tracks, self.state.frame_count or 1, self.state.fps)
        self._update_markers()
        self._update_enabled()
        self.selection_changed.emit(clip)

    def jump_to_clip(self, direction: int) -> None:
        """Select the next (``+1``) or previous (``-1``) clip by start frame and seek to its start."""
        clips = self.clips()
        if not clips:
            return
        f = self.state.frame_index
        if direction > 0:
            c = next((c for c in clips if c.start > f), None)
        else:
            c = next((c for c in reversed(clips) if c.start < f), None)
        if c is not None:
            self._seek(c.start)
            self.select_clip(c.id)

    def _on_video_clicked(self, x: float, y: float) -> None:
        cache = self.state.skeletons
        f = self.state.frame_index
        if self.video is None or cache is None or not 0 <= f < cache.frame_count:
            return
        hits = [p for p in cache.poses(f).persons if p.bbox[0] <= x <= p.bbox[2] and p.bbox[1] <= y <= p.bbox[3]]
        if hits:
            p = min(hits, key=lambda q: (q.bbox[2] - q.bbox[0]) * (q.bbox[3] - q.bbox[1]))
            self.select_track(p.track_id)
            self.host.show_message(f"person #{p.track_id} selected: new clips belong to this track", 4000)

    def _on_frame(self, frame: Frame | None) -> None:
        if self.video is not None and frame is not None:
            self.timeline.set_playhead(frame.index)
            self._update_markers()

    def _update_markers(self) -> None:
        """Show the selected clip's crop and the selected person on the video."""
        view = self.view
        clip = self.selected_clip
        crop_rect, caption = None, ""
        if clip is not None and clip.crop is not None:
            if clip.crop.kind == "rect" and clip.crop.rect is not None:
                crop_rect, caption = clip.crop.rect, f"crop of clip {clip.id}"
            elif clip.crop.kind == "track" and clip.track_id is not None:
                box = self._track_box(clip.track_id)
                if box is not None:
                    m = clip.crop.margin
                    bw, bh = box[2] - box[0], box[3] - box[1]
                    crop_rect = (box[0] - m * bw, box[1] - m * bh, box[2] + m * bw, box[3] + m * bh)
                    caption = f"crop of clip {clip.id} (follows #{clip.track_id})"
        view.set_marker("crop", crop_rect, "#00e5ff", caption, dashed=True)
        person = self._track_box(self._track) if self._track is not None and self.video is not None else None
        view.set_marker("person", person, "#ffeb3b", f"#{self._track}" if person is not None else "")

    def _track_box(self, track_id: int) -> tuple[float, float, float, float] | None:
        cache = self.state.skeletons
        f = self.state.frame_index
        if cache is None or not 0 <= f < cache.frame_count:
            return None
        a, b = int(cache.offsets[f]), int(cache.offsets[f + 1])
        rows = np.flatnonzero(cache.track_id[a:b] == track_id)
        if not len(rows):
            return None
        return tuple(float(v) for v in cache.bbox[a + rows[0]])

    # ================================================================ edits (each one undoable)
    def _notify(self, kind: str, obj) -> None:
        """Called by the commands after every committed do/undo: keep the views in step."""
        if kind == "clip":
            clip: Clip = obj
            new = clip.id not in self._clips
            if self.video is not None and clip.video_id == self.video.id:
                self._clips[clip.id] = clip
                self.timeline.update_clip(clip)
                self.select_clip(clip.id)  # the clip just edited (or brought back) is the selected one
            if new:
                self._counts[clip.video_id] = self._counts.get(clip.video_id, 0) + 1
                self._refresh_videos()
        elif kind == "clip-removed":
            clip = obj
            if self.video is not None and clip.video_id == self.video.id and clip.id in self._clips:
                del self._clips[clip.id]
                self.timeline.update_clip(None, clip.id)
                if clip.id == self._selected:
                    self.select_clip(None)
            self._counts[clip.video_id] = max(0, self._counts.get(clip.video_id, 0) - 1)
            self._refresh_videos()
        elif kind == "taxonomy":
            self._reload_taxonomy()
        self.edited.emit(kind, obj)

    def _push(self, cmd: LabelCommand) -> bool:
        cmd.batch = self.timeline.batch
        try:
            cmd.apply()
        except PoseWatchError as e:
            self.host.report_error(str(e))
            return False
        self.undo_stack.push(cmd)
        self.host.show_message(cmd.text(), 4000)
        return True

    def _cmd_args(self):
        return (self.project, self._notify, self.host.report_error)

    def command_args(self) -> tuple:
        """``(project, notify, report)``: the first arguments of a :class:`gui.commands.LabelCommand` whose edits
        this labeller shows (for other controllers' commands, e.g. :mod:`gui.suggest_commands`)."""
        return self._cmd_args()

    def push(self, cmd: LabelCommand) -> bool:
        """Apply ``cmd`` and put it on :attr:`undo_stack`; an invalid edit is reported and not pushed."""
        return self._push(cmd)

    def seek(self, frame: int) -> None:
        """Show ``frame`` (a decoding error is reported)."""
        self._seek(frame)

    def _require_project(self) -> bool:
        if self.project is None:
            self.host.report_error("open or create a project first (File → New project…)")
            return False
        return True

    def _require_video(self) -> bool:
        if not self._require_project():
            return False
        if self.video is None:
            self.host.report_error("open a video of the project first (double-click it in the Project list)")
            return False
        return True

    def _target(self, clip_id: int | None) -> int | None:
        cid = self._selected if clip_id is None else clip_id
        if cid is None:
            self.host.report_error("select a clip first (click it on the timeline)")
        return cid

    def commit_clip(self, start: int | None = None, end: int | None = None, label: str | None = None,
                    track_id=...) -> Clip | None:
        """Add a clip (one undoable, committed edit): ``start..end`` (default: the in and out marks;
        the play head if no out mark), ``label`` (default: the chosen one) on the selected row.

        Returns:
            The new clip, or None (the reason is reported: no marks, end before start, frames past the
            video's end, a label not in the taxonomy).
        """
        if not self._require_video():
            return None
        start = self._in if start is None else int(start)
        if start is None:
            self.host.report_error("mark the clip's first frame with I (and its last with O) first")
            return None
        end = (self._out if self._out is not None else self.state.frame_index) if end is None else int(end)
        label = label or self._label
        if not label:
            self.host.report_error("choose a label first (its number key)")
            return None
        track = self._track if track_id is ... else track_id
        cmd = AddClipCommand(*self._cmd_args(), self.video.id, start, end, label, track, None, self.annotator)
        if not self._push(cmd):
            return None
        self.clear_marks()
        self.select_clip(cmd.clip.id)
        return cmd.clip

    def delete_clip(self, clip_id: int | None = None) -> bool:
        """Delete the selected clip (or ``clip_id``); undo restores it."""
        if not self._require_project() or (cid := self._target(clip_id)) is None:
            return False
        try:
            cmd = DeleteClipCommand(*self._cmd_args(), cid)
        except PoseWatchError as e:
            self.host.report_error(str(e))
            return False
        return self._push(cmd)

    def _update(self, clip_id: int | None, text: str, **changes) -> bool:
        if not self._require_project() or (cid := self._target(clip_id)) is None:
            return False
        try:
            cmd = UpdateClipCommand(*self._cmd_args(), cid, text=text.format(id=cid), **changes)
        except PoseWatchError as e:
            self.host.report_error(str(e))
            return False
        return self._push(cmd)

    def set_clip_range(self, start: int, end: int, clip_id: int | None = None) -> bool:
        """Move a clip's start and end frames (inclusive); end before start is reported."""
        return self._update(clip_id, f"frames {int(start)}–{int(end)} for clip {{id}}", start=int(start), end=int(end))

    def relabel_clip(self, label: str | None = None, clip_id: int | None = None) -> bool:
        """Give a clip ``label`` (default: the chosen label)."""
        label = label or self._label
        if not label:
            self.host.report_error("choose a label first (its number key)")
            return False
        return self._update(clip_id, f"relabel clip {{id}} as {label}", label=label)

    def set_clip_track(self, track_id: int | None, clip_id: int | None = None) -> bool:
        """Attach a clip to a track (None: the whole frame)."""
        who = "whole frame" if track_id is None else f"person #{track_id}"
        return self._update(clip_id, f"clip {{id}} → {who}", track_id=None if track_id is None else int(track_id))

    def set_note(self, note: str, clip_id: int | None = None) -> bool:
        """Change a clip's note."""
        return self._update(clip_id, "note of clip {id}", note=str(note))

    def set_crop(self, crop: Crop | None, clip_id: int | None = None) -> bool:
        """Set a clip's crop (None removes it); a rectangle outside the frame is reported."""
        if crop is not None and crop.kind == "rect" and crop.rect is not None:
            crop = Crop("rect", tuple(float(round(v)) for v in crop.rect), crop.margin)
        return self._update(clip_id, f"crop of clip {{id}}: {describe_crop(crop)}", crop=crop)

    def crop_to_track(self, margin: float | None = None, clip_id: int | None = None) -> bool:
        """Crop a clip to its tracked person with ``margin`` (default: the clip panel's)."""
        m = self.clip_panel.margin_box.value() if margin is None else float(margin)
        return self.set_crop(Crop("track", None, m), clip_id)

    def set_crop_tool(self, on: bool) -> None:
        """Switch the crop tool on (dragging on the video sets the selected clip's crop) or off."""
        on = bool(on) and self.video is not None
        act = self.host.actions["crop_tool"]
        if act.isChecked() != on:
            act.blockSignals(True)
            act.setChecked(on)
            act.blockSignals(False)
        self.view.set_crop_mode(on)
        if on:
            self.host.show_message("crop tool: drag a rectangle on the video for the selected clip", 6000)

    def _on_rect_drawn(self, x1: float, y1: float, x2: float, y2: float) -> None:
        self.set_crop_tool(False)
        self.set_crop(Crop("rect", (x1, y1, x2, y2)))

    # ---------------------------------------------------------------- taxonomy
    def add_label(self, name: str, colour: str = "#888888", hotkey: str = "") -> bool:
        """Append a label (undoable). A hotkey that is already a shortcut of the window is refused."""
        if not self._require_project() or not self._hotkey_free(hotkey):
            return False
        return self._push(AddLabelCommand(*self._cmd_args(), name, colour, hotkey))

    def update_label(self, name: str, new_name: str | None = None, colour: str | None = None,
                     hotkey: str | None = None) -> bool:
        """Rename, recolour or re-key a label (undoable)."""
        if not self._require_project() or (hotkey is not None and not self._hotkey_free(hotkey)):
            self.taxonomy_panel.set_labels(self.project.labels() if self.project else [])
            return False
        ok = self._push(UpdateLabelCommand(*self._cmd_args(), name, new_name, colour, hotkey))
        if not ok:
            self.taxonomy_panel.set_labels(self.project.labels())
        return ok

    def remove_label(self, name: str) -> bool:
        """Remove a label no clip uses (undoable: it comes back at the end of the taxonomy)."""
        if not self._require_project():
            return False
        return self._push(RemoveLabelCommand(*self._cmd_args(), name))

    def _hotkey_free(self, hotkey: str) -> bool:
        if not hotkey:
            return True
        seq = QKeySequence(hotkey)
        if seq.isEmpty() or seq.count() != 1:
            self.host.report_error(f"hotkey '{hotkey}' is not a single key")
            return False
        owner = self.host.actions.shortcut_owner(seq)
        if owner is not None and not owner.startswith("label:"):  # another label's hotkey: the project says so
            text = self.host.actions[owner].text().replace("&", "")
            self.host.report_error(f"hotkey '{hotkey}' is already the shortcut of '{text}'")
            return False
        return True

    def _colours(self) -> dict[str, str]:
        return {lab.name: lab.colour for lab in self.project.labels()} if self.project else {}

    def _reload_taxonomy(self) -> None:
        p = self.project
        labels = p.labels() if p else []
        names = [lab.name for lab in labels]
        if self._label not in names:
            self._label = names[0] if names else None
        self.label_box.blockSignals(True)
        self.label_box.clear()
        for lab in labels:
            self.label_box.addItem(_colour_icon(lab.colour), lab.name)
        if self._label:
            self.label_box.setCurrentText(self._label)
        self.label_box.blockSignals(False)
        self.taxonomy_panel.set_labels(labels)
        self._rebuild_label_actions()
        if p is not None and self.video is not None:
            # a rename changes the clips' label names: read them again
            self._clips = {c.id: c for c in p.clips(self.video.id)}
            self.timeline.set_clips(list(self._clips.values()), self._colours())
        self._after_selection()

    def _rebuild_label_actions(self) -> None:
        for name in self.label_actions:
            self.host.actions.remove(f"label:{name}")
        self.label_actions = {}
        self.choose_menu.clear()
        if self.state.project is None:
            return
        for lab in self.state.project.labels():
            act = self.host.add_action(f"label:{lab.name}", lab.name, lambda _=False, n=lab.name: self.choose_label(n),
                                       shortcuts=(lab.hotkey,) if lab.hotkey else (), icon=_colour_icon(lab.colour))
            self.choose_menu.addAction(act)
            self.label_actions[lab.name] = act

    # ================================================================ window state
    def _save_annotator(self) -> None:
        self.host.settings.setValue(ANNOTATOR_KEY, self.annotator)
        self.host.settings.sync()

    def _update_enabled(self) -> None:
        has_p = self.project is not None
        has_v = has_p and self.video is not None
        sel = has_v and self._selected is not None
        acts = self.host.actions
        for name in ("close_project", "relink", "import", "export"):
            acts[name].setEnabled(has_p)
        for name in ("mark_in", "mark_out", "clear_marks", "commit_clip", "next_clip", "prev_clip", "crop_tool"):
            acts[name].setEnabled(has_v)
        for name in ("delete_clip", "relabel_clip", "crop_track", "clear_crop"):
            acts[name].setEnabled(sel)
        for act in self.label_actions.values():
            act.setEnabled(has_p)

    def show_export_dialog(self) -> None:
        """Export training data (see :mod:`gui.transfer_dialogs`)."""
        from .transfer_dialogs import ExportDialog

        if not self._require_project():
            return
        self.export_dialog = ExportDialog(self.host, self.project, self.state.backend)
        self.export_dialog.show()

    def show_import_dialog(self) -> None:
        """Import skeleton files into the project (see :mod:`gui.transfer_dialogs`)."""
        from .transfer_dialogs import ImportDialog

        if not self._require_project():
            return
        self.import_dialog = ImportDialog(self.host, self.project)
        self.import_dialog.imported.connect(self.reload_project)
        self.import_dialog.show()

    def reload_clips(self, tracks=None) -> None:
        """Read the open video's clips again (after a track edit moved some to another track); only those of
        ``tracks`` (track IDs; None: all). The taxonomy, the video list and the other videos are left as they are."""
        p = self.project
        if p is None or self.video is None:
            return
        if tracks is None:
            self._clips = {c.id: c for c in p.clips(self.video.id)}
        else:
            tracks = {int(t) for t in tracks}
            now = p.clip_tracks(self.video.id, tracks)  # a track edit changes a clip's track (and modified) only
            shown = {i for i, c in self._clips.items() if c.track_id in tracks}
            if shown <= now.keys() and now.keys() <= self._clips.keys():
                for i, (t, modified) in now.items():
                    c = self._clips[i]
                    if c.track_id != t:
                        self._clips[i] = c.moved_to(t, modified)
            else:  # clips came or went (another connection wrote): read those tracks' clips again
                self._clips = {i: c for i, c in self._clips.items() if c.track_id not in tracks}
                self._clips.update((c.id, c) for c in p.clips(self.video.id, tracks=tracks))
        self.timeline.set_clips(list(self._clips.values()), self._colours())
        self._after_selection()

    def _on_project_written(self) -> None:
        """Another part of the app wrote to the project (an alert filed from the live view): the video list, the
        clip counts and the open video's clips are read again."""
        self.reload_project()
        self.reload_clips()

    def reload_project(self, *_args) -> None:
        """Read videos, taxonomy and the open video's clips again (after another connection, e.g.
        an import, wrote to the project). The undo history stays valid: clip ids do not change."""
        p = self.project
        if p is None:
            return
        self._counts = {v.id: len(p.clips(v.id)) for v in p.videos()}
        self._reload_taxonomy()
        self._refresh_videos()

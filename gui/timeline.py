"""The labelling timeline: labelled segments of one video, one row per track plus a whole-frame row.

Model suggestions (:mod:`core.suggest`) lie on their own layer in the same rows: hatched, with a dashed outline,
under the human clips (:meth:`TimelineWidget.set_suggestions`).

Drawn with pyqtgraph. Frame ``f`` occupies ``[f, f + 1)`` on the x axis, so a clip ``start..end``
(inclusive) is the rectangle ``x = start .. end + 1``; row ``r`` occupies ``y = r .. r + 1`` (row 0,
the top row, is the whole frame; rows 1… are tracks, by track ID).

Scale: all clips of a row are painted by one item (:class:`SegmentLayer`) from numpy arrays, and it
paints only the clips that intersect the exposed rectangle (found with a binary search on the sorted
start frames), so a play-head step repaints a few pixels and touches a handful of clips however many
there are. Hit tests (click, edge drag) use the same binary search. The widget never queries the
project: the labelling controller hands it the clips of the open video after each edit.

Mouse: click seeks (and selects the row and the clip under the cursor), dragging a clip's left or
right edge changes its start or end (snapped to whole frames; :attr:`TimelineWidget.edge_dragged`
fires once, on release; the selected suggestion's edges likewise,
:attr:`TimelineWidget.suggestion_edge_dragged`, so that a proposal is fitted before it is accepted),
dragging elsewhere scrubs, the wheel zooms the frame axis, the middle button pans, and the red play
head can be dragged.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
import shiboken6
from PySide6.QtCore import QPoint, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QPen
from PySide6.QtWidgets import (
    QGraphicsItem,
    QGraphicsRectItem,
    QHBoxLayout,
    QScrollBar,
    QWidget,
)

from core import config
from core.project import Clip

#: Pixel height of one row.
ROW_HEIGHT_PX = 22
#: Rows shown at once; more rows scroll (scroll bar on the right).
MAX_VISIBLE_ROWS = 7
#: How close (screen pixels) the mouse must be to a clip edge to drag it.
EDGE_TOLERANCE_PX = 6
#: Name of the whole-frame row.
WHOLE_FRAME = "whole frame"
#: Fill of clips whose label is not in the colour map.
UNKNOWN_COLOUR = config.get("labels.unknown_colour")


def _pen(colour, width: float = 1.0, style=Qt.PenStyle.SolidLine) -> QPen:
    p = QPen(QColor(colour))
    p.setCosmetic(True)  # width in screen pixels whatever the zoom
    p.setWidthF(width)
    p.setStyle(style)
    return p


#: rectangles narrower than this many device pixels are drawn filled in their outline's colour, without the outline
#: or the pattern (which could not be seen at that width): with 2,000 clips and 228 suggestions of a 100,000-frame
#: video in view, the dashed, hatched suggestions cost more to draw than all the clips (bench/project_scale.py)
NARROW_PX = 4


class SegmentLayer(pg.GraphicsObject):
    """Many axis-aligned rectangles ``x0..x1`` in rows, drawn by one item from arrays.

    Each rectangle ``i`` covers ``x = x0[i] .. x1[i]`` and ``y = row[i] + y0 .. row[i] + y1`` and is
    filled with ``colours[colour[i]]``. :meth:`paint` draws only the rectangles that intersect the
    exposed area, found by binary search on the sorted ``x0``.
    """

    def __init__(self, y0: float = 0.12, y1: float = 0.82, fill_alpha: int = 200, outline: bool = True,
                 pattern: Qt.BrushStyle = Qt.BrushStyle.SolidPattern, dashed: bool = False):
        super().__init__()
        self._pattern, self._dashed = pattern, dashed
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemUsesExtendedStyleOption)
        self._y0, self._y1 = y0, y1
        self._fill_alpha, self._outline = fill_alpha, outline
        self._x0 = np.zeros(0)
        self._x1 = np.zeros(0)
        self._row = np.zeros(0, np.int64)
        self._colour = np.zeros(0, np.int64)
        self._maxlen = 0.0
        self._rows = 1
        self._extent = 1.0
        self._brushes: list[QBrush] = []
        self._pens: list[QPen] = []
        self.painted = 0  #: rectangles in the area of the last paint (to check that only visible ones are drawn)
        self.drawn = 0  #: rectangles the last paint drew for them (adjacent sub-pixel ones merged)
        self._drawn: tuple | None = None  # (exposed area, count, [(colour, rects)]) of the last paint

    def set_segments(self, x0: np.ndarray, x1: np.ndarray, row: np.ndarray, colour: np.ndarray,
                     colours: Sequence[str], n_rows: int, extent: float) -> None:
        """Replace the rectangles.

        Args:
            x0, x1: ``(N,)`` float left and right edges (x1 > x0), in frames.
            row: ``(N,)`` int row of each rectangle.
            colour: ``(N,)`` int index into ``colours``.
            colours: ``#rrggbb`` fill colours.
            n_rows: number of rows (for the bounding box).
            extent: largest x (the video's frame count).
        """
        order = np.argsort(np.asarray(x0, np.float64), kind="stable")
        self.prepareGeometryChange()
        self._x0 = np.asarray(x0, np.float64)[order]
        self._x1 = np.asarray(x1, np.float64)[order]
        self._row = np.asarray(row, np.int64)[order]
        self._colour = np.asarray(colour, np.int64)[order]
        self._maxlen = float((self._x1 - self._x0).max()) if len(self._x0) else 0.0
        self._rows = max(1, int(n_rows))
        self._extent = max(1.0, float(extent))
        self._brushes, self._pens, self._narrow_brushes = [], [], []
        self._drawn = None
        for c in colours:
            fill = QColor(c)
            fill.setAlpha(self._fill_alpha)
            self._brushes.append(QBrush(fill, self._pattern))
            if not self._outline:
                self._pens.append(QPen(Qt.PenStyle.NoPen))
                self._narrow_brushes.append(QBrush(fill))
            elif self._dashed:  # suggestions: the label's colour, dashed, so they never look like human clips
                self._pens.append(_pen(QColor(c).lighter(130), 1.5, Qt.PenStyle.DashLine))
                self._narrow_brushes.append(QBrush(QColor(c).lighter(130)))
            else:
                self._pens.append(_pen(QColor(c).darker(160)))
                self._narrow_brushes.append(QBrush(QColor(c).darker(160)))
        self.update()

    def __len__(self) -> int:
        return len(self._x0)

    def indices_in(self, left: float, right: float) -> np.ndarray:
        """Sorted positions (into the layer's sorted arrays) of rectangles overlapping ``x = left..right``."""
        i0 = int(np.searchsorted(self._x0, left - self._maxlen, "left"))
        i1 = int(np.searchsorted(self._x0, right, "right"))
        idx = np.arange(i0, i1)
        return idx[self._x1[i0:i1] > left]

    def boundingRect(self) -> QRectF:  # noqa: N802 (Qt override)
        """All rows, frames ``0..extent``."""
        return QRectF(0.0, 0.0, self._extent, float(self._rows))

    def paint(self, p, opt, widget=None) -> None:  # noqa: D401 (Qt override)
        """Draw the rectangles intersecting the exposed area, one ``drawRects`` call per colour. Rectangles of one
        row and colour less than a pixel apart are drawn as one (level of detail: with a long video in view,
        2,000 clips are a few hundred pixels; zoomed in nothing merges). :attr:`painted` counts the rectangles in
        the area, :attr:`drawn` what was drawn for them."""
        r = opt.exposedRect if opt is not None else QRectF()
        if r.isEmpty():
            r = self.boundingRect()
        pixel = 1.0 / max(abs(p.transform().m11()), 1e-9)  # one device pixel, in frames
        key = (r.left(), r.right(), r.top(), r.bottom(), round(pixel, 9))
        if self._drawn is None or self._drawn[0] != key:  # the same area repainted: the rectangles as last time
            idx = self.indices_in(r.left(), r.right())
            if len(idx):
                rows = self._row[idx]
                idx = idx[(rows + self._y1 > r.top()) & (rows + self._y0 < r.bottom())]
            h = self._y1 - self._y0
            cols = self._colour[idx]
            per_colour, drawn = [], 0
            for c in np.unique(cols).tolist():
                x0, x1, row = _merge_runs(self._x0[idx[cols == c]], self._x1[idx[cols == c]],
                                          self._row[idx[cols == c]], pixel)
                w = x1 - x0
                narrow = w < NARROW_PX * pixel  # too narrow for an outline or a pattern to show
                parts = []
                for sel in (~narrow, narrow):
                    rects = np.empty((int(sel.sum()), 4), np.float64)  # QRectF's layout: x, y, width, height
                    rects[:, 0], rects[:, 1], rects[:, 3] = x0[sel], row[sel] + self._y0, h
                    rects[:, 2] = np.maximum(w[sel], pixel) if sel is narrow else w[sel]  # at least a pixel wide
                    parts.append(rects)
                per_colour.append((c, *parts))
                drawn += len(x0)
            self._drawn = (key, len(idx), drawn, per_colour)
        _key, self.painted, self.drawn, per_colour = self._drawn
        no_pen = QPen(Qt.PenStyle.NoPen)
        for c, wide, narrow in per_colour:
            p.setPen(self._pens[c])
            p.setBrush(self._brushes[c])
            draw_rects(p, wide)
            if len(narrow):  # filled in the outline's colour, without outline or pattern: a fraction of the cost
                p.setPen(no_pen)
                p.setBrush(self._narrow_brushes[c])
                draw_rects(p, narrow)


def draw_rects(painter, rects: np.ndarray) -> None:
    """Draw ``rects (N, 4)`` float64 C-contiguous ``x, y, width, height`` with one ``QPainter.drawRects(const
    QRectF *, int)`` call on the array's memory — QRectF is four doubles — instead of a list of N QRectF objects
    (building that list and the binding's copy of it cost ~8 ms a repaint for 2,000 clips,
    ``bench/project_scale.py``). The same technique as pyqtgraph's ``Qt.internals.PrimitiveArray`` (its
    BarGraphItem and ScatterPlotItem; PySide6 ≥ 6.4.3 takes a pointer and a count)."""
    n = len(rects)
    if not n:
        return
    if rects.dtype != np.float64 or rects.shape[1:] != (4,) or not rects.flags.c_contiguous:
        raise ValueError("rects must be a C-contiguous (N, 4) float64 array")
    painter.drawRects(shiboken6.wrapInstance(rects.ctypes.data, QRectF), n)


def _merge_runs(x0: np.ndarray, x1: np.ndarray, row: np.ndarray, gap: float
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rectangles ``x0..x1`` ``(N,)`` float of rows ``row`` ``(N,)`` int merged where, in the same row, one starts
    less than ``gap`` after the ones before it end. Returns ``(x0, x1, row)`` of the merged ones."""
    if len(x0) < 2:
        return x0, x1, row
    order = np.lexsort((x0, row))
    x0, x1, row = x0[order], x1[order], row[order]
    shift = row.astype(np.float64) * (float(max(x1.max(), 1.0)) * 4 + 4 * gap + 8)  # rows never touch
    reach = np.maximum.accumulate(x1 + shift)
    new = np.r_[True, (x0[1:] + shift[1:]) > reach[:-1] + gap]
    starts = np.flatnonzero(new)
    return x0[starts], np.maximum.reduceat(x1, starts), row[starts]


class _TimelineViewBox(pg.ViewBox):
    """Routes left clicks and drags to the timeline (edge drag / scrub); other buttons pan and zoom."""

    def __init__(self, timeline: TimelineWidget):
        super().__init__(enableMenu=False)
        self._timeline = timeline

    def mouseClickEvent(self, ev) -> None:  # noqa: N802 (pyqtgraph override)
        if ev.button() == Qt.MouseButton.LeftButton:
            ev.accept()
            p = self.mapSceneToView(ev.scenePos())
            self._timeline.click_at(p.x(), p.y())
        elif ev.button() == Qt.MouseButton.RightButton:
            ev.accept()
            p = self.mapSceneToView(ev.scenePos())
            self._timeline.context_at(p.x(), p.y(), ev.screenPos().toPoint())
        else:
            super().mouseClickEvent(ev)

    def mouseDragEvent(self, ev, axis=None) -> None:  # noqa: N802 (pyqtgraph override)
        if ev.button() != Qt.MouseButton.LeftButton:
            super().mouseDragEvent(ev, axis)
            return
        ev.accept()
        tl = self._timeline
        if ev.isStart():
            p0 = self.mapSceneToView(ev.buttonDownScenePos(Qt.MouseButton.LeftButton))
            tl.begin_drag(p0.x(), p0.y(), self.edge_tolerance())
        p = self.mapSceneToView(ev.scenePos())
        if ev.isFinish():
            tl.end_drag(p.x())
        else:
            tl.move_drag(p.x())

    def hoverEvent(self, ev) -> None:  # noqa: N802 (pyqtgraph override)
        if ev.isExit():
            self.unsetCursor()
            return
        p = self.mapSceneToView(ev.scenePos())
        if self._timeline.draggable_edge_at(p.x(), p.y(), self.edge_tolerance()):
            self.setCursor(Qt.CursorShape.SizeHorCursor)
        else:
            self.unsetCursor()

    def edge_tolerance(self) -> float:
        """:data:`EDGE_TOLERANCE_PX` in frames at the current zoom."""
        return EDGE_TOLERANCE_PX * self.viewPixelSize()[0]


class _Playhead(pg.InfiniteLine):
    """The play head: dragged, it scrubs — except where a clip's edge or the selected suggestion's edge lies under
    the press. Selecting a clip or suggestion seeks to its first frame, so the play head sits on its start edge;
    the drag then goes on to the view box (:meth:`TimelineWidget.begin_drag`), which moves that edge."""

    def __init__(self, timeline: "TimelineWidget", **kw):
        super().__init__(**kw)
        self._timeline = timeline

    def mouseDragEvent(self, ev) -> None:  # noqa: N802 (pyqtgraph override)
        if ev.isStart() and ev.button() == Qt.MouseButton.LeftButton:
            vb = self.getViewBox()
            p = vb.mapSceneToView(ev.buttonDownScenePos(Qt.MouseButton.LeftButton))
            if self._timeline.draggable_edge_at(p.x(), p.y(), vb.edge_tolerance()):
                ev.ignore()  # pyqtgraph offers the drag to the next item under the press: the view box
                return
        super().mouseDragEvent(ev)


@dataclass
class _Drag:
    clip_id: int | None  # None: scrubbing (or a suggestion's edge)
    edge: str = ""  # "start" | "end"
    start: int = 0
    end: int = 0
    suggestion_id: int | None = None  # the selected suggestion's edge is dragged
    row: int = 0


class TimelineWidget(QWidget):
    """Clips of one video on a frame axis, one row per track plus the whole-frame row.

    Feed it with :meth:`set_frame_count`, :meth:`set_tracks`, :meth:`set_clips` and move the play head
    with :meth:`set_playhead` (O(1)); :meth:`redraw` rebuilds and repaints everything (what a
    benchmark times).

    Signals:
        seek_requested(int): the user clicked or scrubbed to a frame.
        row_selected(object): the user picked a row: a track ID, or None for the whole frame.
        clip_clicked(object): the user clicked a clip (its id) or empty space (None).
        edge_dragged(int, int, int): a clip edge was dragged: ``(clip_id, new_start, new_end)``
            (frames, inclusive end; not validated — the controller validates through the project).
        row_context_requested(object, int, QPoint): a right click on a row: ``(track ID or None for the whole
            frame, frame, global screen position for a menu)``.
        suggestion_clicked(object): the user clicked a model suggestion (its id) where no clip lies.
        suggestion_edge_dragged(int, int, int): an edge of the selected suggestion was dragged:
            ``(suggestion_id, new_start, new_end)`` (frames, inclusive end; not validated).
    """

    seek_requested = Signal(int)
    row_selected = Signal(object)
    clip_clicked = Signal(object)
    edge_dragged = Signal(int, int, int)
    row_context_requested = Signal(object, int, QPoint)
    suggestion_clicked = Signal(object)
    suggestion_edge_dragged = Signal(int, int, int)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._frame_count = 1
        self._tracks: list[int] = []
        self._presence: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        self._clips: dict[int, Clip] = {}
        self._colours: dict[str, str] = {}
        self._row_of: dict[int | None, int] = {None: 0}
        self._selected_clip: int | None = None
        self._selected_track: int | None = None
        self._marks: tuple[int | None, int | None] = (None, None)
        self._playhead = 0
        self._drag: _Drag | None = None
        self._row_names: list[str] = []  # the row axis' names as last set (_rebuild)
        self._batch, self._pending = 0, False  # batch(): depth, and whether a rebuild waits for its end
        # per-clip arrays (clip order = self._ids), rebuilt by _rebuild()
        self._ids = np.zeros(0, np.int64)
        self._start = np.zeros(0, np.int64)
        self._end = np.zeros(0, np.int64)
        self._row = np.zeros(0, np.int64)

        self.viewbox = _TimelineViewBox(self)
        self.plot = pg.PlotWidget(viewBox=self.viewbox, enableMenu=False, background="#202124")
        self.plot.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.plot.hideButtons()
        self.plot.setMouseTracking(True)
        pi = self.plot.getPlotItem()
        pi.setContentsMargins(0, 2, 6, 0)
        pi.getAxis("left").setWidth(96)
        # one name per row: never let pyqtgraph drop row names to save space
        pi.getAxis("left").setStyle(textFillLimits=[(0, 1.5)], hideOverlappingLabels=False)
        pi.getAxis("bottom").setHeight(24)
        pi.getAxis("bottom").setLabel(None)
        vb = self.viewbox
        vb.setMouseEnabled(x=True, y=False)
        vb.invertY(True)
        vb.enableAutoRange(False)
        vb.setDefaultPadding(0.0)

        self._row_band = QGraphicsRectItem()
        self._row_band.setPen(QPen(Qt.PenStyle.NoPen))
        self._row_band.setBrush(QBrush(QColor(255, 255, 255, 28)))
        self._row_band.setZValue(-10)
        self.presence = SegmentLayer(y0=0.86, y1=0.96, fill_alpha=150, outline=False)
        self.presence.setZValue(-5)
        self.segments = SegmentLayer()
        self.segments.setZValue(0)
        #: the model's open suggestions: hatched, dashed outline, under the human clips
        self.suggestion_layer = SegmentLayer(y0=0.06, y1=0.88, fill_alpha=230, pattern=Qt.BrushStyle.BDiagPattern,
                                             dashed=True)
        self.suggestion_layer.setZValue(-1)
        self._suggestions: dict = {}
        self._suggestion_colours: dict[str, str] = {}
        self._selected_suggestion: int | None = None
        self._suggestion_outline = QGraphicsRectItem()
        self._suggestion_outline.setPen(_pen("#ffffff", 2.0, Qt.PenStyle.DashLine))
        self._suggestion_outline.setBrush(QBrush(Qt.BrushStyle.NoBrush))
        self._suggestion_outline.setZValue(4)
        self._suggestion_outline.hide()
        self._selection = QGraphicsRectItem()
        self._selection.setPen(_pen("#ffeb3b", 2.5))
        self._selection.setBrush(QBrush(Qt.BrushStyle.NoBrush))
        self._selection.setZValue(5)
        self._selection.hide()
        self._region = pg.LinearRegionItem(values=(0, 1), movable=False, brush=QColor(100, 181, 246, 45),
                                           pen=_pen("#64b5f6", 0))
        self._region.setZValue(-8)
        self._region.hide()
        self._in_line = pg.InfiniteLine(angle=90, pen=_pen("#64b5f6", 2), label="I",
                                        labelOpts={"position": 0.92, "color": "#64b5f6"})
        self._out_line = pg.InfiniteLine(angle=90, pen=_pen("#64b5f6", 2, Qt.PenStyle.DashLine), label="O",
                                         labelOpts={"position": 0.92, "color": "#64b5f6"})
        for it in (self._in_line, self._out_line):
            it.setZValue(8)
            it.hide()
        self.playhead = _Playhead(self, pos=0.5, angle=90, movable=True, pen=_pen("#ff5252", 2),
                                  hoverPen=_pen("#ff8a80", 3))
        self.playhead.setZValue(10)
        self.playhead.sigDragged.connect(self._on_playhead_dragged)
        for it in (self._row_band, self.presence, self.suggestion_layer, self.segments, self._region, self._selection,
                   self._suggestion_outline, self._in_line, self._out_line, self.playhead):
            self.plot.addItem(it, ignoreBounds=True)

        self.scrollbar = QScrollBar(Qt.Orientation.Vertical)
        self.scrollbar.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.scrollbar.valueChanged.connect(self._apply_y_range)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(0)
        lay.addWidget(self.plot, 1)
        lay.addWidget(self.scrollbar)
        self._rebuild()
        self.set_frame_count(1)

    # ================================================================ data in
    def set_frame_count(self, n: int) -> None:
        """Set the video length in frames and show the whole video."""
        self._frame_count = max(1, int(n))
        vb = self.viewbox
        vb.setLimits(xMin=0, xMax=self._frame_count, minXRange=min(self._frame_count, 10))
        vb.setXRange(0, self._frame_count, padding=0)
        self._rebuild()

    @property
    def frame_count(self) -> int:
        """Video length in frames."""
        return self._frame_count

    def set_tracks(self, track_ids: Sequence[int], presence: dict[int, tuple[np.ndarray, np.ndarray]] | None = None
                   ) -> None:
        """Set the track rows (sorted; tracks of clips are added automatically).

        Args:
            track_ids: track IDs that get a row.
            presence: optional ``{track_id: (starts, ends)}`` int arrays of the frame runs (inclusive)
                where the track is seen; drawn as a thin grey bar under its row.
        """
        self._tracks = sorted({int(t) for t in track_ids})
        self._presence = dict(presence or {})
        self._rebuild()

    def set_clips(self, clips: Sequence[Clip], colours: dict[str, str]) -> None:
        """Show ``clips`` (of the open video), filled with ``colours[label]`` (``#rrggbb``)."""
        self._clips = {c.id: c for c in clips}
        self._colours = dict(colours)
        self._rebuild()

    def update_clip(self, clip: Clip | None, clip_id: int | None = None) -> None:
        """Add or replace one clip (``clip``), or remove ``clip_id`` (``clip=None``), and repaint."""
        if clip is None:
            self._clips.pop(clip_id, None)
        else:
            self._clips[clip.id] = clip
        self._rebuild()

    def set_suggestions(self, suggestions: Sequence, colours: dict[str, str]) -> None:
        """Show a model's open suggestions (:class:`core.project.Suggestion`: ``id``, ``start``, ``end``,
        ``track_id``, ``label``) on the suggestion layer: hatched in ``colours[label]`` with a dashed outline,
        under the human clips of the same row."""
        new, colours = {s.id: s for s in suggestions}, dict(colours)
        if new == self._suggestions and colours == self._suggestion_colours:
            return  # the same ones read again (a joint moved): nothing to redraw
        self._suggestions, self._suggestion_colours = new, colours
        if self._selected_suggestion not in self._suggestions:
            self._selected_suggestion = None
        self._rebuild()

    @property
    def suggestions(self) -> list:
        """The suggestions shown, by start frame."""
        return sorted(self._suggestions.values(), key=lambda s: (s.start, s.id))

    def select_suggestion(self, suggestion_id: int | None) -> None:
        """Outline suggestion ``suggestion_id`` (white, dashed; None: none)."""
        self._selected_suggestion = suggestion_id if suggestion_id in self._suggestions else None
        self._update_suggestion_outline()

    @property
    def selected_suggestion(self) -> int | None:
        """Id of the outlined suggestion, or None."""
        return self._selected_suggestion

    def _update_suggestion_outline(self) -> None:
        s = self._suggestions.get(self._selected_suggestion)
        if s is None:
            self._suggestion_outline.hide()
            return
        r = self._row_of.get(s.track_id, 0)
        self._suggestion_outline.setRect(QRectF(s.start, r + 0.02, s.end + 1 - s.start, 0.9))
        self._suggestion_outline.show()

    def clear(self) -> None:
        """No clips, no suggestions, no tracks, no marks."""
        self._suggestions, self._selected_suggestion = {}, None
        self._clips, self._tracks, self._presence = {}, [], {}
        self._marks = (None, None)
        self._selected_clip, self._selected_track = None, None
        self._rebuild()

    def redraw(self) -> None:
        """Rebuild every layer from the current clips and repaint the widget now (synchronously).

        What a benchmark times as "a full timeline redraw". The window must have been shown and
        painted once (process events after ``show()``); :attr:`SegmentLayer.painted` of
        :attr:`segments` then tells how many clips the repaint drew."""
        self._rebuild()
        self.plot.viewport().repaint()

    # ================================================================ play head, marks, selection
    def set_playhead(self, frame: int) -> None:
        """Move the play head to ``frame`` (O(1)); scrolls the view if it left the visible range."""
        self._playhead = int(frame)
        x = self._playhead + 0.5
        self.playhead.setValue(x)
        (x0, x1), _ = self.viewbox.viewRange()
        if not x0 <= x <= x1:
            w = x1 - x0
            left = min(max(0.0, x - 0.1 * w), max(0.0, self._frame_count - w))
            self.viewbox.setXRange(left, left + w, padding=0)

    def set_marks(self, in_frame: int | None, out_frame: int | None) -> None:
        """Show the in point (left edge of its frame) and out point (right edge of its frame)."""
        self._marks = (in_frame, out_frame)
        for line, v, off in ((self._in_line, in_frame, 0), (self._out_line, out_frame, 1)):
            if v is None:
                line.hide()
            else:
                line.setValue(v + off)
                line.show()
        if in_frame is not None and out_frame is not None:
            self._region.setRegion((min(in_frame, out_frame + 1), max(in_frame, out_frame + 1)))
            self._region.show()
        else:
            self._region.hide()

    @property
    def marks(self) -> tuple[int | None, int | None]:
        """``(in, out)`` frames shown (None where unset)."""
        return self._marks

    def select_clip(self, clip_id: int | None) -> None:
        """Outline clip ``clip_id`` (None: no outline)."""
        self._selected_clip = clip_id if clip_id in self._clips else None
        self._update_selection()

    def select_row(self, track_id: int | None) -> None:
        """Highlight the row of ``track_id`` (None: the whole-frame row); adds a row if needed."""
        self._selected_track = None if track_id is None else int(track_id)
        if self._selected_track is not None and self._selected_track not in self._row_of:
            self._tracks = sorted(set(self._tracks) | {self._selected_track})
            self._rebuild()
        self._update_row_band()

    @property
    def selected_clip(self) -> int | None:
        """Id of the outlined clip, or None."""
        return self._selected_clip

    @property
    def selected_track(self) -> int | None:
        """Track of the highlighted row (None: whole frame)."""
        return self._selected_track

    # ================================================================ geometry and hit tests
    @property
    def rows(self) -> list[int | None]:
        """Row contents top to bottom: ``None`` (whole frame), then track IDs."""
        return [None] + [t for t in sorted(self._row_of, key=lambda k: self._row_of[k]) if t is not None]

    def row_of_track(self, track_id: int | None) -> int:
        """Row index of a track (0 for None, the whole frame). Raises KeyError for an unknown track."""
        return self._row_of[track_id]

    def track_of_row(self, row: int) -> int | None:
        """Track of row ``row`` (None: whole frame, or outside the rows)."""
        rows = self.rows
        return rows[row] if 0 <= row < len(rows) else None

    def clip_at(self, frame: int, row: int) -> int | None:
        """Id of the clip of ``row`` that contains ``frame`` (the shortest if several), or None."""
        idx = self._row_candidates(frame, frame + 1, row)
        if not len(idx):
            return None
        best = idx[np.argmin(self._end[idx] - self._start[idx])]
        return int(self._ids[best])

    def edge_at(self, x: float, y: float, tol: float) -> tuple[int, str] | None:
        """The clip edge nearest ``x`` (frames) within ``tol`` frames in the row at ``y``:
        ``(clip_id, "start" | "end")``, or None. The selected clip wins ties."""
        row = int(np.floor(y))
        idx = self._row_candidates(x - tol, x + tol, row)
        best, best_d = None, tol
        for i in idx.tolist():
            cid = int(self._ids[i])
            for edge, ex in (("start", self._start[i]), ("end", self._end[i] + 1)):
                d = abs(x - ex)
                if d < best_d or (d <= best_d and cid == self._selected_clip):
                    best, best_d = (cid, edge), d
        return best

    def draggable_edge_at(self, x: float, y: float, tol: float) -> bool:
        """True where a drag at ``(x frames, y rows)`` moves an edge (:meth:`begin_drag`): a clip's edge or the
        selected suggestion's within ``tol`` frames."""
        return self.edge_at(x, y, tol) is not None or self.suggestion_edge_at(x, y, tol) is not None

    def suggestion_edge_at(self, x: float, y: float, tol: float) -> tuple[int, str] | None:
        """The selected suggestion's edge nearest ``x`` (frames) within ``tol`` frames in the row at ``y``:
        ``(suggestion_id, "start" | "end")``, or None (none selected, or not near). Only the selected one can be
        dragged, so a click elsewhere on the hatched layer still seeks."""
        g = self._suggestions.get(self._selected_suggestion)
        if g is None or int(np.floor(y)) != self._row_of.get(g.track_id, -1):
            return None
        d_start, d_end = abs(x - g.start), abs(x - (g.end + 1))
        if min(d_start, d_end) >= tol:
            return None
        return g.id, "start" if d_start <= d_end else "end"

    def view_to_widget(self, x: float, y: float) -> QPoint:
        """Pixel position in :attr:`plot`'s viewport of the timeline point ``(x frames, y rows)``."""
        scene = self.viewbox.mapViewToScene(QPointF(x, y))
        return self.plot.mapFromScene(scene)

    def _row_candidates(self, left: float, right: float, row: int) -> np.ndarray:
        """Clip positions of ``row`` overlapping ``x = left..right`` (binary search on sorted starts)."""
        starts, order, maxlen = self._by_row.get(row, (None, None, 0))
        if starts is None:
            return np.zeros(0, np.int64)
        i0 = int(np.searchsorted(starts, left - maxlen, "left"))
        i1 = int(np.searchsorted(starts, right, "right"))
        cand = order[i0:i1]
        return cand[(self._end[cand] + 1 > left) & (self._start[cand] < right)]

    # ================================================================ mouse (called by the view box)
    def click_at(self, x: float, y: float) -> None:
        """A left click at ``(x frames, y rows)``: seek, select that row and the clip under it."""
        frame = min(max(int(np.floor(x)), 0), self._frame_count - 1)
        row = int(np.floor(y))
        self.seek_requested.emit(frame)
        if 0 <= row < len(self.rows):
            self.row_selected.emit(self.track_of_row(row))
            cid = self.clip_at(frame, row)
            self.clip_clicked.emit(cid)
            if cid is None:
                sid = self.suggestion_at(frame, row)
                if sid is not None:
                    self.suggestion_clicked.emit(sid)

    def suggestion_at(self, frame: int, row: int) -> int | None:
        """Id of the shortest suggestion of ``row`` containing ``frame``, or None."""
        hits = [g for g in self._suggestions.values()
                if g.start <= frame <= g.end and self._row_of.get(g.track_id, -1) == row]
        return min(hits, key=lambda g: (g.end - g.start, g.id)).id if hits else None

    def context_at(self, x: float, y: float, screen: QPoint) -> None:
        """A right click at ``(x frames, y rows)``: :attr:`row_context_requested` for that row and frame."""
        frame = min(max(int(np.floor(x)), 0), self._frame_count - 1)
        row = int(np.floor(y))
        if 0 <= row < len(self.rows):
            self.row_context_requested.emit(self.track_of_row(row), frame, screen)

    def begin_drag(self, x: float, y: float, tol: float) -> None:
        """Start a drag at ``(x, y)``: on a clip edge (within ``tol`` frames) it moves that edge, else on an edge
        of the selected suggestion that edge, elsewhere it scrubs."""
        hit = self.edge_at(x, y, tol)
        if hit is None:
            g_hit = self.suggestion_edge_at(x, y, tol)
            if g_hit is None:
                self._drag = _Drag(None)
                return
            g = self._suggestions[g_hit[0]]
            self._drag = _Drag(None, g_hit[1], g.start, g.end, suggestion_id=g.id,
                               row=self._row_of.get(g.track_id, 0))
            return
        c = self._clips[hit[0]]
        self._drag = _Drag(c.id, hit[1], c.start, c.end)
        self.select_clip(c.id)
        self.clip_clicked.emit(c.id)

    def move_drag(self, x: float) -> None:
        """The mouse moved to ``x`` during a drag: preview the new edge (snapped) or scrub."""
        d = self._drag
        if d is None:
            return
        if d.clip_id is None and d.suggestion_id is None:
            self.seek_requested.emit(min(max(int(np.floor(x)), 0), self._frame_count - 1))
            return
        snapped = int(round(x))
        if d.edge == "start":
            d.start = min(max(snapped, 0), self._frame_count - 1)
        else:
            d.end = min(max(snapped - 1, 0), self._frame_count - 1)
        if d.suggestion_id is not None:
            self._suggestion_outline.setRect(QRectF(d.start, d.row + 0.02, d.end + 1 - d.start, 0.9))
            return
        self._show_outline(d.start, d.end, self._row_of.get(self._clips[d.clip_id].track_id, 0))

    def end_drag(self, x: float) -> None:
        """Finish a drag at ``x``: emits :attr:`edge_dragged` if an edge moved."""
        self.move_drag(x)
        d, self._drag = self._drag, None
        if d is not None and d.suggestion_id is not None:
            g = self._suggestions.get(d.suggestion_id)
            if g is not None and (d.start, d.end) != (g.start, g.end):
                self.suggestion_edge_dragged.emit(d.suggestion_id, d.start, d.end)
            self._update_suggestion_outline()
            return
        if d is None or d.clip_id is None:
            return
        c = self._clips.get(d.clip_id)
        if c is not None and (d.start, d.end) != (c.start, c.end):
            self.edge_dragged.emit(d.clip_id, d.start, d.end)
        self._update_selection()

    def _on_playhead_dragged(self) -> None:
        self.seek_requested.emit(min(max(int(np.floor(self.playhead.value())), 0), self._frame_count - 1))

    # ================================================================ building the layers
    @contextmanager
    def batch(self):
        """Context manager: changes made inside (clips, tracks, suggestions, selection) rebuild the layers once, on
        leaving, instead of once per change — one labelling edit sets several of them (a track split: tracks,
        clips, suggestions and the selected row). Nestable."""
        self._batch += 1
        try:
            yield self
        finally:
            self._batch -= 1
            if self._batch == 0 and self._pending:
                self._rebuild()

    def _rebuild(self) -> None:
        if self._batch:
            self._pending = True
            return
        self._pending = False
        tracks = set(self._tracks) | {c.track_id for c in self._clips.values() if c.track_id is not None}
        tracks |= {g.track_id for g in self._suggestions.values() if g.track_id is not None}
        if self._selected_track is not None:
            tracks.add(self._selected_track)
        ordered = sorted(tracks)
        self._row_of = {None: 0, **{t: i + 1 for i, t in enumerate(ordered)}}
        n_rows = len(ordered) + 1
        clips = list(self._clips.values())
        n = len(clips)
        self._ids = np.fromiter((c.id for c in clips), np.int64, n)
        self._start = np.fromiter((c.start for c in clips), np.int64, n)
        self._end = np.fromiter((c.end for c in clips), np.int64, n)
        self._row = np.fromiter((self._row_of[c.track_id] for c in clips), np.int64, n)
        names = sorted({c.label for c in clips})
        palette = [self._colours.get(name, UNKNOWN_COLOUR) for name in names]
        index = {name: i for i, name in enumerate(names)}
        colour = np.fromiter((index[c.label] for c in clips), np.int64, n)
        self.segments.set_segments(self._start, self._end + 1, self._row, colour, palette, n_rows, self._frame_count)
        self._by_row = {}
        for r in np.unique(self._row).tolist():
            pos = np.flatnonzero(self._row == r)
            pos = pos[np.argsort(self._start[pos], kind="stable")]
            self._by_row[r] = (self._start[pos], pos, int((self._end[pos] - self._start[pos] + 1).max()))
        # track presence bars
        x0, x1, rows = [], [], []
        for t, (s, e) in self._presence.items():
            if t in self._row_of and len(s):
                x0.append(np.asarray(s, np.float64))
                x1.append(np.asarray(e, np.float64) + 1)
                rows.append(np.full(len(s), self._row_of[t], np.int64))
        if x0:
            x0c, x1c, rc = np.concatenate(x0), np.concatenate(x1), np.concatenate(rows)
        else:
            x0c = x1c = np.zeros(0)
            rc = np.zeros(0, np.int64)
        self.presence.set_segments(x0c, x1c, rc, np.zeros(len(rc), np.int64), ["#9e9e9e"], n_rows, self._frame_count)
        # model suggestions
        sg = list(self._suggestions.values())
        m = len(sg)
        snames = sorted({g.label for g in sg})
        sidx = {name: i for i, name in enumerate(snames)}
        scol = self._suggestion_colours
        self.suggestion_layer.set_segments(
            np.fromiter((g.start for g in sg), np.float64, m), np.fromiter((g.end + 1 for g in sg), np.float64, m),
            np.fromiter((self._row_of[g.track_id] for g in sg), np.int64, m),
            np.fromiter((sidx[g.label] for g in sg), np.int64, m), [scol.get(n, UNKNOWN_COLOUR) for n in snames],
            n_rows, self._frame_count)
        # rows: axis ticks, height, scroll bar
        names_by_row = [WHOLE_FRAME] + [f"person #{t}" for t in ordered]
        if names_by_row != self._row_names:  # the rows changed (a clip edit leaves them: no axis repaint, no resize)
            self._row_names = names_by_row
            self.plot.getPlotItem().getAxis("left").setTicks([[(i + 0.5, s) for i, s in enumerate(names_by_row)], []])
            visible = min(n_rows, MAX_VISIBLE_ROWS)
            self.plot.setFixedHeight(visible * ROW_HEIGHT_PX + 30)
            self.scrollbar.setRange(0, max(0, n_rows - visible))
            self.scrollbar.setPageStep(visible)
            self.scrollbar.setVisible(n_rows > visible)
            self._n_rows = n_rows
            self.viewbox.setLimits(yMin=0, yMax=n_rows)
            self._apply_y_range()
        if self._selected_clip not in self._clips:
            self._selected_clip = None
        self._update_selection()
        self._update_suggestion_outline()
        self._update_row_band()

    def _apply_y_range(self, *_):
        visible = min(self._n_rows, MAX_VISIBLE_ROWS)
        top = min(self.scrollbar.value(), self._n_rows - visible)
        self.viewbox.setYRange(top, top + visible, padding=0)

    def _show_outline(self, start: int, end: int, row: int) -> None:
        self._selection.setRect(QRectF(start, row + 0.06, end + 1 - start, 0.82))
        self._selection.show()

    def _update_selection(self) -> None:
        c = self._clips.get(self._selected_clip)
        if c is None:
            self._selection.hide()
            return
        self._show_outline(c.start, c.end, self._row_of.get(c.track_id, 0))

    def _update_row_band(self) -> None:
        r = self._row_of.get(self._selected_track, 0)
        self._row_band.setRect(QRectF(0, r, self._frame_count, 1))
        visible = min(self._n_rows, MAX_VISIBLE_ROWS)
        if not self.scrollbar.value() <= r < self.scrollbar.value() + visible:
            self.scrollbar.setValue(max(0, r - visible + 1))


"""The video canvas: a zoomable, pannable QGraphicsView showing one BGR frame at a time.

Scene coordinates are frame pixels (the frame is drawn at the scene origin, one scene unit per
image pixel), so a point or rectangle the user draws maps to frame pixels with no conversion.
Besides the frame it shows labelled marker rectangles (a clip's crop, the selected person) and, in
*crop mode*, lets the user drag a rectangle (:attr:`VideoView.rect_drawn`). Points a *handle finder* names
(the joints of the skeletons, :meth:`VideoView.set_handle_finder`) can be dragged (:attr:`VideoView.handle_dragged`);
a right click asks for a context menu (:attr:`VideoView.context_requested`).
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPoint, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import (
    QBrush,
    QColor,
    QImage,
    QMouseEvent,
    QPainter,
    QPen,
    QPixmap,
    QWheelEvent,
)
from PySide6.QtWidgets import (
    QFrame,
    QGraphicsEllipseItem,
    QGraphicsPixmapItem,
    QGraphicsRectItem,
    QGraphicsScene,
    QGraphicsSimpleTextItem,
    QGraphicsView,
)

#: Zoom limits relative to the image's pixel size (1.0 = one image pixel per screen pixel).
MIN_ZOOM = 0.05
MAX_ZOOM = 32.0
#: Factor of one zoom step (Ctrl+=, Ctrl+-, one mouse-wheel notch).
ZOOM_STEP = 1.25
#: A press and release closer than this (screen pixels) is a click, not a drag.
CLICK_DISTANCE = 4
#: A press this close to a handle (screen pixels) grabs it instead of panning.
HANDLE_DISTANCE = 8


def bgr_to_qimage(image: np.ndarray) -> tuple[QImage, np.ndarray]:
    """Wrap a BGR ``uint8`` ``(H, W, 3)`` array (or a grey ``(H, W)`` one) in a QImage without copying.

    Returns:
        ``(qimage, buffer)``: the QImage reads ``buffer``'s memory, so keep ``buffer`` alive as long
        as the QImage is used (or copy the QImage / turn it into a QPixmap first).
    """
    if image.dtype != np.uint8:
        raise ValueError(f"expected a uint8 image, got {image.dtype}")
    buf = np.ascontiguousarray(image)
    if buf.ndim == 2:
        h, w = buf.shape
        return QImage(buf.data, w, h, buf.strides[0], QImage.Format.Format_Grayscale8), buf
    if buf.ndim != 3 or buf.shape[2] != 3:
        raise ValueError(f"expected an (H, W, 3) BGR image, got shape {buf.shape}")
    h, w = buf.shape[:2]
    return QImage(buf.data, w, h, buf.strides[0], QImage.Format.Format_BGR888), buf


def qimage_to_bgr(image: QImage) -> np.ndarray:
    """Copy a QImage into a new ``(H, W, 3)`` uint8 BGR array (used to check what is on screen)."""
    img = image.convertToFormat(QImage.Format.Format_BGR888)
    h, w, bpl = img.height(), img.width(), img.bytesPerLine()
    arr = np.frombuffer(img.constBits(), np.uint8, count=bpl * h).reshape(h, bpl)
    return arr[:, : w * 3].reshape(h, w, 3).copy()


def set_overlay_layers(options, controls: dict, **layers: bool | None) -> None:
    """Switch overlay layers of ``options`` (:class:`core.overlay.OverlayOptions`) on or off and keep their
    checkable controls (``{name: QAction or QCheckBox}``) in step without re-emitting their signals.

    Args:
        layers: ``skeleton``, ``boxes``, ``ids``, ``labels`` → True/False (None leaves a layer as it is).
    """
    for name, val in layers.items():
        if val is None:
            continue
        setattr(options, name, bool(val))
        control = controls[name]
        if control.isChecked() != bool(val):
            control.blockSignals(True)
            control.setChecked(bool(val))
            control.blockSignals(False)


class VideoView(QGraphicsView):
    """Shows frames; zoom with the mouse wheel (towards the cursor) or :meth:`zoom_in` /
    :meth:`zoom_out`, drag to pan, :meth:`fit` to fit the window.

    In *fit mode* (initially, and after :meth:`fit`) the frame is refitted whenever the view is
    resized; zooming leaves fit mode.

    Signals:
        zoom_changed(float): the zoom factor (screen pixels per image pixel) changed.
        clicked(float, float): a left click (no drag) at this point, in frame pixels.
        rect_drawn(float, float, float, float): in crop mode, the user dragged the rectangle
            ``x1, y1, x2, y2`` (frame pixels, ``x1 < x2``, ``y1 < y2``; it may extend past the frame).
        handle_dragged(object, float, float): a handle (the key the handle finder gave) was dragged and dropped at
            ``x, y`` (frame pixels).
        context_requested(float, float, QPoint): a right click at ``x, y`` (frame pixels); the QPoint is the
            global screen position for a menu.
    """

    zoom_changed = Signal(float)
    clicked = Signal(float, float)
    rect_drawn = Signal(float, float, float, float)
    handle_dragged = Signal(object, float, float)
    context_requested = Signal(float, float, QPoint)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setScene(QGraphicsScene(self))
        self._item = QGraphicsPixmapItem()
        self._item.setTransformationMode(Qt.TransformationMode.SmoothTransformation)
        self.scene().addItem(self._item)
        self._image: np.ndarray | None = None
        self._qimage: QImage | None = None
        self._fit_mode = True
        self.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setResizeAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        self.setDragMode(QGraphicsView.DragMode.ScrollHandDrag)
        self.setBackgroundBrush(Qt.GlobalColor.black)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setMinimumSize(160, 120)
        self._crop_mode = False
        self._press: QPoint | None = None
        self._band_origin: QPointF | None = None
        self._band = QGraphicsRectItem()
        pen = QPen(QColor("#00e5ff"), 2, Qt.PenStyle.DashLine)
        pen.setCosmetic(True)
        self._band.setPen(pen)
        self._band.setBrush(QBrush(QColor(0, 229, 255, 40)))
        self._band.setZValue(20)
        self._band.hide()
        self.scene().addItem(self._band)
        self._markers: dict[str, tuple[QGraphicsRectItem, QGraphicsSimpleTextItem]] = {}
        self._handle_finder = None
        self._handle = None  # the key of the handle being dragged
        self._handle_item = QGraphicsEllipseItem(-5, -5, 10, 10)
        self._handle_item.setFlag(QGraphicsEllipseItem.GraphicsItemFlag.ItemIgnoresTransformations)
        hpen = QPen(QColor("#ff00ff"), 2)
        hpen.setCosmetic(True)
        self._handle_item.setPen(hpen)
        self._handle_item.setZValue(30)
        self._handle_item.hide()
        self.scene().addItem(self._handle_item)

    # -- content ----------------------------------------------------------------------------------
    def set_image(self, image: np.ndarray | None) -> None:
        """Show a BGR ``uint8`` ``(H, W, 3)`` frame (``None`` clears the view)."""
        if image is None:
            self._image = self._qimage = None
            self._item.setPixmap(QPixmap())
            return
        qimg, buf = bgr_to_qimage(image)
        size_changed = self._image is None or self._image.shape[:2] != buf.shape[:2]
        # keep the buffer the QImage points into alive as long as the QImage
        self._image, self._qimage = buf, qimg
        self._item.setPixmap(QPixmap.fromImage(qimg))
        if size_changed:
            self.scene().setSceneRect(QRectF(0, 0, buf.shape[1], buf.shape[0]))
            if self._fit_mode:
                self.fit()

    def image(self) -> np.ndarray | None:
        """The BGR array currently shown (not a copy), or None."""
        return self._image

    def pixmap_bgr(self) -> np.ndarray | None:
        """What the pixmap item really holds, converted back to a BGR array (for checks)."""
        pm = self._item.pixmap()
        return None if pm.isNull() else qimage_to_bgr(pm.toImage())

    # -- markers and crop mode ---------------------------------------------------------------------
    def set_marker(self, name: str, rect: tuple[float, float, float, float] | None, colour: str = "#ffeb3b",
                   text: str = "", dashed: bool = False) -> None:
        """Show (or with ``rect=None`` hide) the marker rectangle ``name`` at ``x1, y1, x2, y2``
        (frame pixels), outlined in ``colour`` with an optional caption above it."""
        item = self._markers.get(name)
        if rect is None:
            if item is not None:
                item[0].hide()
                item[1].hide()
            return
        if item is None:
            box, cap = QGraphicsRectItem(), QGraphicsSimpleTextItem()
            box.setZValue(10)
            cap.setZValue(11)
            cap.setFlag(QGraphicsSimpleTextItem.GraphicsItemFlag.ItemIgnoresTransformations)
            self.scene().addItem(box)
            self.scene().addItem(cap)
            item = self._markers[name] = (box, cap)
        box, cap = item
        pen = QPen(QColor(colour), 2, Qt.PenStyle.DashLine if dashed else Qt.PenStyle.SolidLine)
        pen.setCosmetic(True)
        box.setPen(pen)
        x1, y1, x2, y2 = (float(v) for v in rect)
        box.setRect(QRectF(x1, y1, x2 - x1, y2 - y1))
        box.show()
        cap.setText(text)
        cap.setBrush(QBrush(QColor(colour)))
        cap.setPos(x1, y1)
        cap.setVisible(bool(text))

    def marker(self, name: str) -> tuple[float, float, float, float] | None:
        """The rectangle of a shown marker (frame pixels), or None if hidden or unknown."""
        item = self._markers.get(name)
        if item is None or not item[0].isVisible():
            return None
        r = item[0].rect()
        return (r.left(), r.top(), r.right(), r.bottom())

    @property
    def crop_mode(self) -> bool:
        """True while left-dragging draws a rectangle instead of panning."""
        return self._crop_mode

    def set_crop_mode(self, on: bool) -> None:
        """Enter or leave crop mode (the cursor becomes a cross; dragging draws :attr:`rect_drawn`)."""
        self._crop_mode = bool(on)
        self.setDragMode(QGraphicsView.DragMode.NoDrag if on else QGraphicsView.DragMode.ScrollHandDrag)
        self.viewport().setCursor(Qt.CursorShape.CrossCursor if on else Qt.CursorShape.OpenHandCursor)
        if not on:
            self._band.hide()
            self._band_origin = None

    # -- handles ----------------------------------------------------------------------------------
    def set_handle_finder(self, finder) -> None:
        """Make points draggable: ``finder(x, y, tolerance)`` (frame pixels) returns the key of the handle nearest
        ``x, y`` within ``tolerance``, or None. A left press on a handle drags it (the view does not pan) and
        :attr:`handle_dragged` reports where it was dropped. None: no handles."""
        self._handle_finder = finder

    @property
    def dragging_handle(self):
        """The key of the handle being dragged, or None."""
        return self._handle

    def contextMenuEvent(self, event) -> None:  # noqa: N802 (Qt override)
        """A right click: :attr:`context_requested` at the point in frame pixels."""
        p = self.mapToScene(event.pos())
        self.context_requested.emit(p.x(), p.y(), event.globalPos())
        event.accept()

    # -- mouse ------------------------------------------------------------------------------------
    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802 (Qt override)
        """Remember where a click starts; grab a handle under the cursor; in crop mode start the rubber band."""
        if event.button() == Qt.MouseButton.LeftButton:
            self._press = event.position().toPoint()
            if not self._crop_mode and self._handle_finder is not None and self.zoom > 0:
                p = self.mapToScene(self._press)
                key = self._handle_finder(p.x(), p.y(), HANDLE_DISTANCE / self.zoom)
                if key is not None:
                    self._handle = key
                    self._handle_item.setPos(p)
                    self._handle_item.show()
                    event.accept()
                    return
            if self._crop_mode:
                self._band_origin = self.mapToScene(self._press)
                self._band.setRect(QRectF(self._band_origin, self._band_origin))
                self._band.show()
                event.accept()
                return
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802 (Qt override)
        """Move a grabbed handle; grow the rubber band in crop mode; pan otherwise."""
        if self._handle is not None:
            self._handle_item.setPos(self.mapToScene(event.position().toPoint()))
            event.accept()
            return
        if self._band_origin is not None:
            self._band.setRect(QRectF(self._band_origin, self.mapToScene(event.position().toPoint())).normalized())
            event.accept()
            return
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802 (Qt override)
        """Finish a rubber band (:attr:`rect_drawn`) or report a click (:attr:`clicked`)."""
        press, self._press = self._press, None
        if event.button() == Qt.MouseButton.LeftButton and self._handle is not None:
            key, self._handle = self._handle, None
            self._handle_item.hide()
            event.accept()
            pos = event.position().toPoint()
            p = self.mapToScene(pos if press is None else press)
            if press is not None and (pos - press).manhattanLength() <= CLICK_DISTANCE:
                self.clicked.emit(p.x(), p.y())
            else:
                q = self.mapToScene(pos)
                self.handle_dragged.emit(key, q.x(), q.y())
            return
        if event.button() == Qt.MouseButton.LeftButton and self._band_origin is not None:
            r = QRectF(self._band_origin, self.mapToScene(event.position().toPoint())).normalized()
            self._band_origin = None
            self._band.hide()
            event.accept()
            if r.width() >= 1 and r.height() >= 1:
                self.rect_drawn.emit(r.left(), r.top(), r.right(), r.bottom())
            return
        super().mouseReleaseEvent(event)
        if event.button() == Qt.MouseButton.LeftButton and press is not None:
            if (event.position().toPoint() - press).manhattanLength() <= CLICK_DISTANCE:
                p = self.mapToScene(press)
                self.clicked.emit(p.x(), p.y())
        if self._crop_mode:
            self.viewport().setCursor(Qt.CursorShape.CrossCursor)

    # -- zoom -------------------------------------------------------------------------------------
    @property
    def zoom(self) -> float:
        """Current zoom factor: screen pixels per image pixel."""
        return float(self.transform().m11())

    @property
    def fit_mode(self) -> bool:
        """True while the frame follows the window size."""
        return self._fit_mode

    def fit(self) -> None:
        """Fit the whole frame into the view (keeping its aspect ratio) and enter fit mode."""
        self._fit_mode = True
        rect = self.scene().sceneRect()
        if rect.isEmpty():
            return
        self.fitInView(rect, Qt.AspectRatioMode.KeepAspectRatio)
        self.zoom_changed.emit(self.zoom)

    def set_zoom(self, zoom: float) -> None:
        """Set the zoom factor (clamped to ``MIN_ZOOM..MAX_ZOOM``) and leave fit mode."""
        zoom = min(MAX_ZOOM, max(MIN_ZOOM, float(zoom)))
        self._fit_mode = False
        cur = self.zoom
        if cur > 0:
            self.scale(zoom / cur, zoom / cur)
        self.zoom_changed.emit(self.zoom)

    def zoom_in(self) -> None:
        """Zoom in one step."""
        self.set_zoom(self.zoom * ZOOM_STEP)

    def zoom_out(self) -> None:
        """Zoom out one step."""
        self.set_zoom(self.zoom / ZOOM_STEP)

    def zoom_actual_size(self) -> None:
        """One image pixel per screen pixel."""
        self.set_zoom(1.0)

    # -- Qt events --------------------------------------------------------------------------------
    def wheelEvent(self, event: QWheelEvent) -> None:  # noqa: N802 (Qt override)
        """Mouse wheel zooms towards the cursor."""
        steps = event.angleDelta().y() / 120.0
        if steps == 0:
            event.ignore()
            return
        self.set_zoom(self.zoom * ZOOM_STEP ** steps)
        event.accept()

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt override)
        """Refit on resize while in fit mode."""
        super().resizeEvent(event)
        if self._fit_mode:
            self.fit()

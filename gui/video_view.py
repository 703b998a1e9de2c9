"""The video canvas: a zoomable, pannable QGraphicsView showing one BGR frame at a time."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtGui import QImage, QPainter, QPixmap, QWheelEvent
from PySide6.QtWidgets import QFrame, QGraphicsPixmapItem, QGraphicsScene, QGraphicsView

#: Zoom limits relative to the image's pixel size (1.0 = one image pixel per screen pixel).
MIN_ZOOM = 0.05
MAX_ZOOM = 32.0
#: Factor of one zoom step (Ctrl+=, Ctrl+-, one mouse-wheel notch).
ZOOM_STEP = 1.25


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


class VideoView(QGraphicsView):
    """Shows frames; zoom with the mouse wheel (towards the cursor) or :meth:`zoom_in` /
    :meth:`zoom_out`, drag to pan, :meth:`fit` to fit the window.

    In *fit mode* (initially, and after :meth:`fit`) the frame is refitted whenever the view is
    resized; zooming leaves fit mode.

    Signals:
        zoom_changed(float): the zoom factor (screen pixels per image pixel) changed.
    """

    zoom_changed = Signal(float)

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

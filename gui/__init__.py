"""PoseWatch's Qt (PySide6) user interface. It only presents and delegates: all video, pose,
cache, overlay and classifier logic lives in :mod:`core`.

- :mod:`gui.app`: ``run_app(files)``, the QApplication set-up (including the cv2/Qt plugin-path fix).
- :mod:`gui.main_window`: :class:`~gui.main_window.MainWindow`, the player.
- :mod:`gui.video_view`: the zoomable frame view.
- :mod:`gui.workers`: runs core task generators in a QThread, progress as queued signals.
- :mod:`gui.screenshot`: ``python -m gui.screenshot VIDEO OUT.png`` for the docs.
- :mod:`gui.qtcompat`: work-arounds for bugs of the pinned PySide6, applied on import.
"""

from .qtcompat import protect_singletons

protect_singletons()

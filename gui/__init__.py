"""PoseWatch's Qt (PySide6) user interface. It only presents and delegates: all video, pose,
cache, overlay and classifier logic lives in :mod:`core`; the widgets observe and change the app state
(:class:`core.state.AppState`). See ``docs/ARCHITECTURE.md``.

- :mod:`gui.app`: ``run_app(files)``, the QApplication set-up (including the cv2/Qt plugin-path fix).
- :mod:`gui.main_window`: :class:`~gui.main_window.MainWindow`, the player and the host of the panels.
- :mod:`gui.host`: what a panel may ask of the window (:class:`~gui.host.Host`) and the one action registry.
- :mod:`gui.train_panel`, :mod:`gui.remote_panel`, :mod:`gui.live_view`: the Train, Remote worker and Live panels.
- :mod:`gui.video_view`: the zoomable frame view.
- :mod:`gui.workers`: runs core task generators in a QThread, progress as queued signals.
- :mod:`gui.labelling`: the labelling controller (projects, clips, undoable edits).
- :mod:`gui.timeline`: the pyqtgraph timeline of labelled segments, one row per track.
- :mod:`gui.commands`: the QUndoCommands; each calls a core Project method that writes at once.
- :mod:`gui.label_panels`: project, clip and taxonomy panels.
- :mod:`gui.transfer_dialogs`: export and import dialogs (run core generators in workers).
- :mod:`gui.screenshot`: ``python -m gui.screenshot VIDEO OUT.png`` for the docs.
"""

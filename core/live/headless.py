"""The live detector without a window: ``main.py detect`` and scripts.

:func:`run_detect` runs a :class:`core.live.LiveDetector` on a file, webcam or stream to its end (or until
interrupted), writes every alert to the events file (JSON lines, with snapshots and clips next to it), optionally
writes the annotated video, reports progress, alerts and notices through callbacks, and turns the detector's
error lines into one :class:`~core.errors.PoseWatchError`. :func:`run_detect_cameras` does it for several sources
at once on one shared pose model (one merged events file naming the camera).
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path
from typing import Callable

from ..errors import PoseWatchError
from .detector import AlertEvent, LiveConfig, LiveDetector, LiveResult

#: Status lines of the detector that are not worth a notice (its life cycle).
QUIET_STATUS = ("connecting", "connected", "finished", "stopped")


def run_detect(source: str | int, config: LiveConfig, events: str | os.PathLike, out_video: str | os.PathLike | None = None,
               on_progress: Callable[[int, int | None], None] | None = None,
               on_alert: Callable[[AlertEvent], None] | None = None,
               on_message: Callable[[str], None] | None = None) -> dict:
    """Run live detection on ``source`` headless and return the detector's :meth:`~LiveDetector.stats`.

    Args:
        source: a video file or frames folder, a webcam index (``0``, ``"webcam:1"``) or a stream URL.
        config: the detector's settings; ``events_file`` and ``events_dir`` are set from ``events``.
        events: the alerts file to write (JSON lines; replaced if it exists); its folder must exist.
        out_video: also write the annotated video there (mp4, the source's frame rate, original size).
        on_progress: called after every result with ``(frames done, total)`` — for a file, done counts the frames
            dropped in real time too; total is None for live sources.
        on_alert: called with every :class:`AlertEvent` (in the detector's thread).
        on_message: called with notices worth showing (reconnects, fallbacks), not the life-cycle lines.

    Returns:
        The stats dict (``frames``, ``fps``, ``dropped``, ``alerts``, …).

    Raises:
        VideoError: missing or unsupported source; ModelError: a bad classifier or pose model (before any frame);
        PoseWatchError: the events folder does not exist, or the run ended with an error (its first line).
    """
    import cv2

    from ..overlay import draw_overlay
    from ..video import open_source, parse_source

    kind, _ = parse_source(source)  # VideoError for a missing file or unsupported type
    ev_path = Path(events)
    if not ev_path.absolute().parent.is_dir():
        raise PoseWatchError(f"folder of the events file does not exist: {ev_path.absolute().parent}")
    if ev_path.exists():
        ev_path.unlink()  # a new run writes a new events file
    cfg = replace(config, events_file=str(ev_path), events_dir=str(ev_path.absolute().parent))
    det = LiveDetector(source, cfg)  # ModelError for a bad checkpoint, before any progress
    total = None
    if kind in ("file", "folder"):
        with open_source(source) as src:
            total = src.info.frame_count
    writer = None
    errors: list[str] = []
    done = 0

    def on_result(r: LiveResult) -> None:
        nonlocal writer, done
        done = r.frame_index + 1 if total else done + 1
        if on_progress is not None:
            on_progress(done, total)
        if out_video is not None:
            if writer is None:
                h, w = r.image.shape[:2]
                writer = cv2.VideoWriter(str(out_video), cv2.VideoWriter_fourcc(*"mp4v"), float(det.fps_source), (w, h))
                if not writer.isOpened():
                    errors.append(f"cannot write video {out_video} (codec 'mp4v' unavailable or folder not writable)")
                    det.stop()
                    return
            writer.write(draw_overlay(r.image, r.poses, r.labels))

    def on_status(msg: str) -> None:
        if msg.startswith("error: "):
            errors.append(msg[7:])
        elif not msg.startswith(QUIET_STATUS) and on_message is not None:
            on_message(msg)

    det.on_result, det.on_status = on_result, on_status
    if on_alert is not None:
        det.on_event = on_alert
    try:
        det.run()
    finally:
        if writer is not None:
            writer.release()
    if errors:
        raise PoseWatchError(errors[0])
    return det.stats()


def run_detect_cameras(sources: list, config: LiveConfig, events: str | os.PathLike, names: list[str] | None = None,
                       on_alert: Callable[[AlertEvent], None] | None = None,
                       on_message: Callable[[str, str], None] | None = None) -> dict[str, dict]:
    """Run live detection on several ``sources`` at once headless (:class:`core.live.multicam.MultiCameraDetector`:
    one shared pose model, each camera its own tracker, classifier state, alerts and reconnects) and return each
    camera's stats by name, in order.

    Args:
        sources: files, frames folders, webcam indices or stream URLs.
        config: the settings every camera uses; ``events_file``/``events_dir`` are set from ``events``.
        events: the merged alerts file (JSON lines naming the camera; replaced if it exists); each camera's snapshots
            and clips go to ``<its folder>/<camera>/``.
        names: camera names, in order (fewer than the sources: the rest from the sources; None: all from them).
        on_alert: called with every :class:`AlertEvent` (it names its camera).
        on_message: called with ``(camera, notice)``: reconnects, fallbacks, a camera's error (``error: …``).

    Raises:
        VideoError: a missing source or unsupported type (before anything starts); ModelError: a bad classifier or
        pose model; PoseWatchError: the events folder does not exist, or every camera ended with an error (the
        first one's line, naming the camera).
    """
    from ..video import parse_source
    from .multicam import MultiCameraDetector

    for src in sources:
        parse_source(src)  # VideoError for a missing file or unsupported type, before anything starts
    ev_path = Path(events)
    if not ev_path.absolute().parent.is_dir():
        raise PoseWatchError(f"folder of the events file does not exist: {ev_path.absolute().parent}")
    if ev_path.exists():
        ev_path.unlink()
    cfg = replace(config, events_file=str(ev_path), events_dir=str(ev_path.absolute().parent))

    def on_status(camera: str, msg: str) -> None:
        if on_message is not None and not msg.startswith(QUIET_STATUS):
            on_message(camera, msg)

    multi = MultiCameraDetector(list(sources), cfg, names, on_event=on_alert, on_status=on_status)
    multi.run()
    errors = multi.errors
    if len(errors) == len(multi.names):  # the others going on is the point; all failing is the run failing
        name, msg = next(iter(errors.items()))
        raise PoseWatchError(f"{name}: {msg}")
    stats = multi.stats()
    return {name: stats[name] for name in multi.names}

"""Video sources: a file, a folder of frame images, a webcam index or an RTSP/HTTP URL.

Frame convention everywhere in PoseWatch: 0-based frame indices; ``time_s = index / fps``.
Frames are BGR ``uint8`` arrays of shape ``(H, W, 3)`` as OpenCV decodes them.

Decoding uses OpenCV's FFmpeg backend (``cv2.VideoCapture``). Random access in files is
frame-accurate: :meth:`VideoSource.read` returns exactly the frame that sequential decoding yields
at the same index (seeking short distances forward by decoding, longer ones through FFmpeg's
keyframe seek, which the tests check against sequential decoding on the shared clips).
"""

from __future__ import annotations

import os
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

# Keep OpenCV's and FFmpeg's own logging off the console: errors reach users as VideoError lines.
os.environ.setdefault("OPENCV_LOG_LEVEL", "OFF")
os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from . import config  # noqa: E402
from .errors import VideoError  # noqa: E402

#: Video file and frame-image extensions (``file_types`` in ``resources/default.yaml``, read at start).
VIDEO_EXTENSIONS = config.extensions("video")
IMAGE_EXTENSIONS = config.extensions("image")
STREAM_PREFIXES = ("rtsp://", "rtsps://", "rtmp://", "http://", "https://", "udp://", "tcp://")

#: Seeks up to this many frames forward decode sequentially instead of asking FFmpeg to seek.
FORWARD_DECODE_LIMIT = 48


@dataclass(frozen=True)
class Frame:
    """One decoded frame.

    Attributes:
        index: 0-based frame index in the source.
        time_s: timestamp in seconds (``index / fps`` for files and folders, wall-clock since start
            for live sources).
        image: ``(H, W, 3)`` uint8 BGR.
        pending: the image is still the previously shown frame's: a seek that did not wait
            (:meth:`core.state.AppState.seek` with ``wait=False``) is decoding frame ``index`` in the background.
    """

    index: int
    time_s: float
    image: np.ndarray
    pending: bool = False


@dataclass(frozen=True)
class VideoInfo:
    """Static description of a source.

    Attributes:
        source: the path, URL or ``webcam:N`` string it was opened from.
        kind: ``"file"``, ``"folder"``, ``"webcam"`` or ``"stream"``.
        fps: frames per second (folders: the ``fps`` given when opening, default 30).
        frame_count: number of frames, or ``None`` for live sources.
        width, height: frame size in pixels.
    """

    source: str
    kind: str
    fps: float
    frame_count: int | None
    width: int
    height: int

    @property
    def seekable(self) -> bool:
        """True for files and folders, which support random access."""
        return self.kind in ("file", "folder")

    @property
    def duration_s(self) -> float | None:
        """Length in seconds, or ``None`` for live sources."""
        if self.frame_count is None or not self.fps:
            return None
        return self.frame_count / self.fps


def _natural_key(name: str):
    return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", name)]


def parse_source(spec: str | int | os.PathLike) -> tuple[str, str | int]:
    """Classify a source specification.

    Args:
        spec: a path (file or folder), a URL (``rtsp://``, ``http(s)://`` …), a webcam index
            (``0`` or ``"0"``) or ``"webcam:N"``.

    Returns:
        ``(kind, target)`` where kind is ``file|folder|webcam|stream`` and target is a path string,
        URL, or webcam index (int).

    Raises:
        VideoError: the path does not exist or has an unsupported extension.
    """
    if isinstance(spec, int):
        return "webcam", spec
    s = os.fspath(spec).strip()
    if s.isdigit():
        return "webcam", int(s)
    if s.lower().startswith("webcam:") and s[7:].isdigit():
        return "webcam", int(s[7:])
    if s.lower().startswith(STREAM_PREFIXES):
        return "stream", s
    p = Path(s).expanduser()
    if not p.exists():
        raise VideoError(f"video not found: {s}")
    if p.is_dir():
        return "folder", str(p)
    if p.suffix.lower() not in VIDEO_EXTENSIONS:
        raise VideoError(
            f"unsupported file type '{p.suffix or p.name}': expected one of {', '.join(VIDEO_EXTENSIONS)}"
        )
    return "file", str(p)


class VideoSource:
    """A readable video source. Use :func:`open_source` to create one; close it (or use ``with``).

    Sequential reading: iterate :meth:`frames`. Random access (files and folders): :meth:`read`.
    """

    info: VideoInfo

    def read(self, index: int) -> Frame:
        """Return frame ``index`` (0-based).

        Raises:
            VideoError: the source is not seekable, the index is out of range, or decoding fails.
        """
        raise NotImplementedError

    def frames(self, start: int = 0, stop: int | None = None, step: int = 1) -> Iterator[Frame]:
        """Yield frames ``start, start+step, …`` before ``stop`` (``None``: to the end / forever)."""
        raise NotImplementedError

    def prefetch(self, index: int) -> None:
        """Hint that frame ``index`` will be asked for soon (a seek the user is likely to make next): a source that
        can decodes it ahead, off the caller's thread. Never raises; the default does nothing."""

    def open_spare(self) -> None:
        """Get ready to decode ahead (:meth:`prefetch`) without delay, in the background. The default does nothing."""

    def ready(self, index: int) -> bool:
        """Whether :meth:`read` of frame ``index`` returns at once (at most two frames decoded on the caller's
        thread). The default (frames folders, blank canvases: one image per frame) is True."""
        return True

    @property
    def prefetching(self) -> bool:
        """A frame asked for with :meth:`prefetch` is still being decoded (the default: never)."""
        return False

    def close(self) -> None:
        """Release the decoder / device."""

    def __enter__(self) -> "VideoSource":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __len__(self) -> int:
        if self.info.frame_count is None:
            raise TypeError("live sources have no length")
        return self.info.frame_count


class FileSource(VideoSource):
    """A video file decoded with OpenCV/FFmpeg, with frame-accurate random access.

    :meth:`prefetch` decodes a frame ahead on a thread of its own with a second decoder of the same file; when
    :meth:`read` then asks for that frame, the two decoders trade places, so the frame is there at once and playback
    goes on from it without decoding again. A seek in a compressed video decodes every frame from the last keyframe
    or the frame shown (59 frames of a 1920x1080 clip: 58-150 ms on a 2-core CPU), which the review of suggestions
    would otherwise pay on the GUI thread at each accept. Not thread-safe otherwise: one reader thread.
    """

    def __init__(self, path: str):
        self.path = path
        self._spare: FileSource | None = None  # the second decoder (made on the prefetch thread)
        self._pf_cond = threading.Condition()
        self._pf_thread: threading.Thread | None = None
        self._pf_want: int | None = None  # the frame asked for and not yet being decoded
        self._pf_busy = False  # the thread is decoding with the spare decoder
        self._pf_ready: int | None = None  # the spare decoder's last decoded frame, ready to trade
        self._pf_doing: int | None = None  # the frame it is decoding while busy
        self._pf_closed = False
        if os.path.getsize(path) == 0:
            raise VideoError(f"video file is empty (0 bytes): {path}")
        cap = cv2.VideoCapture(path, cv2.CAP_FFMPEG)
        if not cap.isOpened():
            raise VideoError(f"cannot decode video (corrupt or truncated file, or unsupported codec): {path}")
        self._cap = cap
        fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
        count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
        ok, first = cap.read()
        if not ok or first is None:
            cap.release()
            if count <= 0:
                raise VideoError(f"video has no frames: {path}")
            raise VideoError(f"cannot decode frames (unsupported codec or corrupt data): {path}")
        self._next = 1  # index of the frame the next cap.read() returns
        self._last: Frame | None = None
        h, w = first.shape[:2]
        if fps <= 0 or not np.isfinite(fps):
            fps = 30.0
        self._first = first
        self.info = VideoInfo(path, "file", fps, max(count, 1), w, h)
        self._last = Frame(0, 0.0, first)

    def _shrink_to(self, count: int) -> None:
        # The container announced more frames than can be decoded (truncated file): trust decoding.
        self.info = VideoInfo(self.info.source, "file", self.info.fps, count, self.info.width, self.info.height)

    def _lose_position(self) -> None:
        # after a failed read the decoder's position is unknown: the next read seeks
        self._last, self._next = None, -(10**9)

    def read(self, index: int) -> Frame:
        index = int(index)
        n = self.info.frame_count or 0
        if index < 0 or index >= n:
            raise VideoError(f"frame {index} out of range 0..{n - 1}: {self.path}")
        if self._last is not None and self._last.index == index:
            return self._last
        if self._pf_thread is not None:
            self._trade(index)
            if self._last is not None and self._last.index == index:
                return self._last
        gap = index - self._next
        sought = not (0 <= gap <= FORWARD_DECODE_LIMIT)
        if sought:
            self._cap.set(cv2.CAP_PROP_POS_FRAMES, index)
            self._next = index
            gap = 0
        for _ in range(gap):
            if not self._cap.grab():
                end = self._next
                self._shrink_to(end)
                self._lose_position()
                raise VideoError(f"frame {index} cannot be decoded (file truncated at frame {end}): {self.path}")
            self._next += 1
        ok, img = self._cap.read()
        if not ok or img is None:
            if not sought:
                self._shrink_to(index)
            self._lose_position()
            raise VideoError(f"frame {index} cannot be decoded (file truncated or damaged there): {self.path}")
        if sought and int(self._cap.get(cv2.CAP_PROP_POS_FRAMES)) != index + 1:
            # FFmpeg landed elsewhere (past the decodable end of a truncated file): never return a wrong frame
            self._lose_position()
            raise VideoError(f"frame {index} cannot be decoded (file truncated or damaged there): {self.path}")
        self._next = index + 1
        self._last = Frame(index, index / self.info.fps, img)
        return self._last

    def frames(self, start: int = 0, stop: int | None = None, step: int = 1) -> Iterator[Frame]:
        n = self.info.frame_count or 0
        stop = n if stop is None else min(stop, n)
        i = start
        while i < stop:
            try:
                yield self.read(i)
            except VideoError:
                if self.info.frame_count is not None and i >= self.info.frame_count:
                    return  # the announced count was too high; decoding ended early
                raise
            i += step

    @property
    def prefetched(self) -> int | None:
        """The frame decoded ahead and ready for :meth:`read` (None: none, or still decoding)."""
        with self._pf_cond:
            return None if self._pf_busy else self._pf_ready

    @property
    def prefetching(self) -> bool:
        """A frame asked for with :meth:`prefetch` is waiting for the prefetch thread or being decoded by it."""
        with self._pf_cond:
            return self._pf_busy or self._pf_want is not None

    def ready(self, index: int) -> bool:
        """Whether :meth:`read` of frame ``index`` returns at once: it is the frame shown, the one decoded ahead, or
        at most two frames on from the decoder's position (playback, a step forward). Anything else decodes from a
        keyframe or from the frame shown (tens of milliseconds for 1080p on a 2-core CPU)."""
        index = int(index)
        if self._last is not None and self._last.index == index:
            return True
        if 0 <= index - self._next <= 1:
            return True
        return self.prefetched == index

    def prefetch(self, index: int) -> None:
        """Decode frame ``index`` ahead on the prefetch thread (started at the first call); a newer hint replaces
        one not started yet. Out-of-range indices and the frame shown are ignored; a frame that cannot be decoded
        is simply not ready (:meth:`read` then reports it)."""
        index = int(index)
        if not 0 <= index < (self.info.frame_count or 0) or (self._last is not None and self._last.index == index):
            return
        with self._pf_cond:
            doing = self._pf_doing if self._pf_busy else None
            if self._pf_closed or index in (self._pf_ready, self._pf_want, doing):
                return
            self._pf_want = index
            if self._pf_thread is None:
                self._pf_thread = threading.Thread(target=self._prefetch_loop, name="posewatch-prefetch", daemon=True)
                self._pf_thread.start()
            self._pf_cond.notify_all()

    def _trade(self, index: int) -> None:
        """Swap decoders with the spare one if it holds frame ``index``; if it is decoding that frame right now, wait
        for it first (it started earlier than a decode here would)."""
        with self._pf_cond:
            if self._pf_busy and self._pf_doing == index:
                self._pf_cond.wait_for(lambda: not self._pf_busy, timeout=10.0)
            spare = self._spare
            if self._pf_busy or self._pf_ready != index or spare is None:
                return
            self._cap, spare._cap = spare._cap, self._cap
            self._next, spare._next = spare._next, self._next
            self._last, spare._last = spare._last, self._last
            self._pf_ready = None

    def open_spare(self) -> None:
        """Open the second decoder now, on the prefetch thread, so that the first :meth:`prefetch` (or a seek that
        does not wait, :meth:`core.state.AppState.seek`) decodes at once instead of opening the file first (tens of
        milliseconds). Never raises; a no-op once started."""
        with self._pf_cond:
            if self._pf_closed or self._pf_thread is not None:
                return
            self._pf_thread = threading.Thread(target=self._prefetch_loop, name="posewatch-prefetch", daemon=True)
            self._pf_thread.start()

    def _prefetch_loop(self) -> None:
        try:
            self._spare = FileSource(self.path)
        except Exception:  # noqa: BLE001 - opened again (and reported) by the first prefetch
            self._spare = None
        while True:
            with self._pf_cond:
                while self._pf_want is None and not self._pf_closed:
                    self._pf_cond.wait()
                if self._pf_closed:
                    break
                want, self._pf_want = self._pf_want, None
                self._pf_busy, self._pf_ready, self._pf_doing = True, None, want
            ok = False
            try:
                if self._spare is None:
                    self._spare = FileSource(self.path)
                ok = self._spare.read(want).index == want
            except Exception:  # noqa: BLE001 - a hint: the reader decodes (and reports) it itself
                ok = False
            with self._pf_cond:
                self._pf_busy = False
                self._pf_ready = want if ok else None
                self._pf_cond.notify_all()
        with self._pf_cond:
            spare, self._spare = self._spare, None
        if spare is not None:
            spare.close()

    def close(self) -> None:
        with self._pf_cond:
            self._pf_closed = True
            thread = self._pf_thread
            self._pf_cond.notify_all()
        if thread is not None:
            thread.join(timeout=5.0)  # it finishes the frame it is decoding, then releases its decoder
        self._cap.release()


class FolderSource(VideoSource):
    """A folder of frame images (jpg, png, …) in natural sort order, played at ``fps``."""

    def __init__(self, path: str, fps: float = 30.0):
        self.path = path
        files = [f for f in os.listdir(path) if f.lower().endswith(IMAGE_EXTENSIONS)]
        if not files:
            raise VideoError(f"folder has no frame images ({', '.join(IMAGE_EXTENSIONS)}): {path}")
        self.files = [os.path.join(path, f) for f in sorted(files, key=_natural_key)]
        first = self._load(0)
        h, w = first.shape[:2]
        self.info = VideoInfo(path, "folder", float(fps), len(self.files), w, h)

    def _load(self, index: int) -> np.ndarray:
        img = cv2.imread(self.files[index], cv2.IMREAD_COLOR)
        if img is None:
            raise VideoError(f"cannot read image: {self.files[index]}")
        return img

    def read(self, index: int) -> Frame:
        index = int(index)
        if index < 0 or index >= len(self.files):
            raise VideoError(f"frame {index} out of range 0..{len(self.files) - 1}: {self.path}")
        return Frame(index, index / self.info.fps, self._load(index))

    def frames(self, start: int = 0, stop: int | None = None, step: int = 1) -> Iterator[Frame]:
        stop = len(self.files) if stop is None else min(stop, len(self.files))
        for i in range(start, stop, step):
            yield self.read(i)


class LiveSource(VideoSource):
    """A webcam (by index) or a network stream (RTSP/HTTP). Not seekable; ``frame_count`` is None."""

    def __init__(self, target: str | int, kind: str, open_timeout_ms: int = 5000):
        self.target = target
        if kind == "webcam":
            cap = cv2.VideoCapture(int(target))
            label = f"webcam:{target}"
            if not cap.isOpened():
                raise VideoError(f"no webcam at index {target} (not connected or in use)")
        else:
            cap = cv2.VideoCapture(
                str(target), cv2.CAP_FFMPEG,
                [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, open_timeout_ms, cv2.CAP_PROP_READ_TIMEOUT_MSEC, open_timeout_ms],
            )
            label = str(target)
            if not cap.isOpened():
                raise VideoError(f"cannot connect to stream: {target}")
        ok, first = cap.read()
        if not ok or first is None:
            cap.release()
            raise VideoError(f"{label} opened but delivered no frame")
        self._cap = cap
        self._first: np.ndarray | None = first
        fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
        if fps <= 0 or fps > 240 or not np.isfinite(fps):
            fps = 30.0
        h, w = first.shape[:2]
        self.info = VideoInfo(label, kind, fps, None, w, h)
        self._index = 0

    @property
    def frames_read(self) -> int:
        """Frames delivered so far (the index the next frame gets)."""
        return self._index

    def read(self, index: int) -> Frame:
        raise VideoError(f"{self.info.source} is a live source and cannot seek")

    def frames(self, start: int = 0, stop: int | None = None, step: int = 1) -> Iterator[Frame]:
        import time

        t0 = time.monotonic()
        while stop is None or self._index < stop:
            if self._first is not None:
                img, self._first = self._first, None
            else:
                ok, img = self._cap.read()
                if not ok or img is None:
                    raise VideoError(f"{self.info.source} stopped delivering frames (disconnected?)")
            i = self._index
            self._index += 1
            if i >= start and (i - start) % step == 0:
                yield Frame(i, time.monotonic() - t0, img)

    def close(self) -> None:
        self._cap.release()


def open_source(spec: str | int | os.PathLike, fps: float = 30.0) -> VideoSource:
    """Open a video source.

    Args:
        spec: file path (mp4, avi, webm, mov, …), folder of images, webcam index (``0``, ``"0"``,
            ``"webcam:0"``) or stream URL (``rtsp://…``, ``http://…``).
        fps: frame rate for folders of images (files and live sources report their own).

    Returns:
        A :class:`VideoSource`; close it when done.

    Raises:
        VideoError: with a one-line message for a missing path, unsupported type, corrupt,
            truncated or zero-frame file, absent webcam or unreachable stream.
    """
    kind, target = parse_source(spec)
    if kind == "file":
        return FileSource(str(target))
    if kind == "folder":
        return FolderSource(str(target), fps=fps)
    return LiveSource(target, kind)


def close_in_background(source: VideoSource) -> None:
    """Close ``source`` on a short-lived thread of its own: a file's close waits for its spare decoder's thread to
    finish the frame it is decoding (up to tens of milliseconds), which the GUI thread should not. Never raises."""
    def close() -> None:
        try:
            source.close()
        except Exception:  # noqa: BLE001 - nothing is left to tell: the source was no longer used
            pass

    threading.Thread(target=close, name="posewatch-close", daemon=True).start()


class OpeningSource:
    """:func:`open_source` run ahead on a thread of its own, for a video the user will most likely open next (the
    next project video of a review of suggestions): opening a file and decoding its first frame costs 20-25 ms on a
    2-core CPU, which :meth:`take` then no longer pays on the GUI thread. The second decoder of a file
    (:meth:`FileSource.open_spare`) is opened ahead too. OpenCV releases Python's GIL while it opens and decodes.

    Args:
        spec: what :func:`open_source` takes.
        fps: frame rate for folders of images.
    """

    def __init__(self, spec: str | int | os.PathLike, fps: float = 30.0):
        self.spec = os.fspath(spec) if isinstance(spec, os.PathLike) else spec
        self._fps = float(fps)
        self._lock = threading.Lock()
        self._source: VideoSource | None = None
        self._error: VideoError | None = None
        self._dropped = False
        self._thread = threading.Thread(target=self._open, name="posewatch-open-ahead", daemon=True)
        self._thread.start()

    def _open(self) -> None:
        try:
            src = open_source(self.spec, fps=self._fps)
        except VideoError as e:
            src, error = None, e
        except Exception as e:  # noqa: BLE001 - reported by take() as one line, as open_source would
            src, error = None, VideoError(f"cannot open {self.spec}: {e}")
        else:
            error = None
            src.open_spare()
        with self._lock:
            dropped = self._dropped
            self._source, self._error = (None, error) if dropped else (src, error)
        if dropped and src is not None:
            src.close()

    @property
    def done(self) -> bool:
        """The opening has finished (successfully or not)."""
        return not self._thread.is_alive()

    def take(self, timeout_s: float | None = 30.0) -> VideoSource:
        """The opened source (the caller owns and closes it), waiting for the opening to finish first.

        Raises:
            VideoError: what :func:`open_source` raised; or the opening took longer than ``timeout_s`` seconds, or
                this opening was taken or dropped already.
        """
        self._thread.join(timeout_s)
        with self._lock:
            if self._thread.is_alive():
                self._dropped = True  # closed by the thread when it finishes
                raise VideoError(f"opening {self.spec} took longer than {timeout_s:.0f} s")
            if self._dropped:
                raise VideoError(f"the opening ahead of {self.spec} was dropped")
            self._dropped = True
            src, error = self._source, self._error
            self._source = None
        if error is not None:
            raise error
        return src

    def drop(self) -> None:
        """Not needed after all: close the source (now, or when the thread has opened it). Never blocks or raises."""
        with self._lock:
            if self._dropped:
                return
            self._dropped = True
            src, self._source = self._source, None
        if src is not None:
            close_in_background(src)


def resize_to_width(image: np.ndarray, width: int | None) -> tuple[np.ndarray, float]:
    """Downscale ``image`` to ``width`` pixels wide, keeping the aspect ratio.

    Returns:
        ``(resized, scale)`` where ``scale = new_width / old_width`` (1.0 if ``width`` is None or
        not smaller than the image).
    """
    h, w = image.shape[:2]
    if not width or width >= w:
        return image, 1.0
    scale = width / w
    return cv2.resize(image, (width, max(1, round(h * scale))), interpolation=cv2.INTER_AREA), scale

"""Desktop side of the remote worker: a pose estimator that runs on a PoseWatch worker, a fallback
to local inference when the worker is lost, and the worker's ``/v1/info``.

Frames are downscaled to ``width`` (less to send), JPEG-encoded and sent with a sequence number;
results come back tagged with it and are checked against the frame that was sent (frame index and
sequence), then scaled back to the original frame's pixels. Nothing is ever attributed to another
frame: a result for a frame that is not waiting, or out of order, is a protocol error.
"""

from __future__ import annotations

import json
import ssl
import threading
import time
import urllib.error
import urllib.request
from collections import OrderedDict
from pathlib import Path
from typing import Callable, Iterable, Iterator
from urllib.parse import urlsplit, urlunsplit

import numpy as np

from ..pose.base import FramePoses, PoseEstimator
from ..video import resize_to_width
from ..errors import RemoteError
from . import protocol as P


def read_token(path: str | Path) -> str:
    """The token in a file (surrounding whitespace stripped).

    Raises:
        RemoteError: the file is missing, unreadable or empty.
    """
    p = Path(path).expanduser()
    try:
        tok = p.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as e:
        raise RemoteError(f"cannot read token file {p}: {getattr(e, 'strerror', None) or e}") from None
    if not tok:
        raise RemoteError(f"token file {p} is empty")
    return tok


def worker_urls(url: str) -> tuple[str, str]:
    """``(http base, ws stream URL)`` from ``ws(s)://`` or ``http(s)://host:port[/...]``.

    Raises:
        RemoteError: another scheme or no host.
    """
    u = urlsplit(url.strip())
    secure = {"ws": False, "http": False, "wss": True, "https": True}.get(u.scheme.lower())
    if secure is None or not u.hostname:
        raise RemoteError(f"worker URL must look like ws://host:port, wss://, http:// or https:// (got '{url}')")
    base = u.path.rstrip("/")
    for suffix in ("/v1/stream", "/v1/info", "/health"):
        if base.endswith(suffix):
            base = base[: -len(suffix)]
    http = urlunsplit(("https" if secure else "http", u.netloc, base, "", ""))
    ws = urlunsplit(("wss" if secure else "ws", u.netloc, base + "/v1/stream", "", ""))
    return http, ws


def ssl_context(secure: bool, cafile: str | None) -> ssl.SSLContext | None:
    """The TLS context of a secure worker URL (``cafile``: a certificate to trust besides the system's); None when
    not secure."""
    if not secure:
        return None
    ctx = ssl.create_default_context(cafile=cafile)
    return ctx


def fetch_info(url: str, token: str, timeout: float = 5.0, cafile: str | None = None) -> dict:
    """``GET {url}/v1/info`` with the bearer token.

    Args:
        url: worker URL (``ws(s)://`` or ``http(s)://host:port``).
        token: the bearer token.
        timeout: seconds.
        cafile: CA bundle or self-signed certificate to trust for ``https``/``wss`` (None: system CAs).

    Returns:
        ``{"device": "cuda"|"cpu", "gpu": str|None, "runtime", "models": {...}, "versions": {...},
        "load": {...}, "fps": float, "limits": {...}}``.

    Raises:
        RemoteError: unreachable, TLS failure, refused token (with the worker's reason), bad reply.
    """
    http, _ = worker_urls(url)
    req = urllib.request.Request(http + "/v1/info", headers={"Authorization": f"Bearer {token}"})
    ctx = ssl_context(http.startswith("https"), cafile)
    handlers = [urllib.request.ProxyHandler({})]  # direct, like the stream (use an SSH tunnel to get through)
    if ctx is not None:
        handlers.append(urllib.request.HTTPSHandler(context=ctx))
    try:
        with urllib.request.build_opener(*handlers).open(req, timeout=timeout) as r:
            return json.loads(r.read(1 << 20).decode("utf-8"))
    except urllib.error.HTTPError as e:
        raise RemoteError(f"worker at {http} refused the request: {http_reason(e.code, e.read(4096))}") from None
    except urllib.error.URLError as e:
        raise RemoteError(f"cannot reach worker at {http}: {e.reason}") from None
    except (OSError, ValueError) as e:
        raise RemoteError(f"cannot reach worker at {http}: {e}") from None


def http_reason(status: int, body: bytes | None) -> str:
    """``HTTP 403: wrong token``: a worker's refusal in one line (its JSON ``detail`` when there is one)."""
    detail = ""
    try:
        detail = json.loads(body or b"{}").get("detail", "")
    except (ValueError, AttributeError):
        pass
    return f"HTTP {status}" + (f": {detail}" if detail else "")


class RemotePoseEstimator(PoseEstimator):
    """Pose estimation, tracking (and optionally classification) on a PoseWatch worker.

    Same interface as the local estimators: :meth:`process` takes ``(H, W, 3)`` uint8 BGR and returns
    :class:`FramePoses` in pixels of that image. The worker's tracker belongs to this connection
    (:meth:`reset` resets it).

    Args:
        url: worker URL, ``ws(s)://host:port`` or ``http(s)://host:port``.
        token: bearer token.
        backend: ``yolo`` or ``mediapipe`` (the worker's model files; no path is ever sent).
        width: downscale frames to this width (pixels) before sending; None: send full size.
        classifier: a classifier *name* of the worker's registry (``fall``, ``abnormal``, or names the
            worker was started with); probabilities per track land in :attr:`last_probs`.
        timeout: seconds for connecting and for each result.
        tracker: ``bytetrack`` or ``botsort``.
        frame_rate: video fps (tracker buffer, classifier sampling step).
        jpeg_quality: 1–100.
        queue: frames the worker may queue for this stream (bounded; oldest dropped when full).
        cafile: certificate to trust for ``wss``/``https`` (e.g. the worker's self-signed cert).

    Attributes:
        last_probs: ``{track_id: (K,) float32}`` class probabilities of the last frame (classifier set).
        labels: class names of the classifier (or None).
        rtt_ms: round trip of the last frame (encode → result decoded), milliseconds.
        proc_ms: the worker's own time for the last frame (decode, inference, result JSON), milliseconds.
        decode_ms: the worker's JPEG decode of the last frame, milliseconds.
        infer_ms: the worker's pose + tracking (+ classification) time of the last frame, milliseconds.
        worker_fps: the worker's recent throughput over all streams, frames/s.
        gpu_name: the worker's GPU (None on a CPU worker).
        device: ``"cuda"`` or ``"cpu"``.

    Raises:
        RemoteError: unreachable worker, refused token (with the reason), unknown backend/classifier.
    """

    def __init__(self, url: str, token: str, backend: str = "yolo", width: int | None = None,
                 classifier: str | None = None, timeout: float = 5.0, *, tracker: str = "bytetrack",
                 frame_rate: float = 30.0, jpeg_quality: int = P.DEFAULT_JPEG_QUALITY, queue: int = P.DEFAULT_QUEUE,
                 cafile: str | None = None):
        from websockets.exceptions import InvalidStatus, WebSocketException

        from .transport import AsyncioWebSocket

        self.url = url
        self.http_url, self.ws_url = worker_urls(url)
        self.width, self.timeout, self.jpeg_quality = width, timeout, int(jpeg_quality)
        self.name = backend
        self.last_probs: dict[int, np.ndarray] = {}
        self.rtt_ms = self.proc_ms = self.decode_ms = self.infer_ms = self.worker_fps = 0.0
        self.dropped = 0
        self._seq = 0
        self._abandoned: set[int] = set()  # frames of an abandoned stream(): their results are skipped
        self._ws = None
        try:
            # one event-loop thread owns the socket and its TLS state (core.remote.transport says why)
            self._ws = AsyncioWebSocket(self.ws_url, headers={"Authorization": f"Bearer {token}"},
                                        ssl_context=ssl_context(self.ws_url.startswith("wss"), cafile),
                                        open_timeout=timeout, close_timeout=2, max_size=P.MAX_MESSAGE_BYTES,
                                        user_agent="PoseWatch").connect()
        except InvalidStatus as e:
            raise RemoteError(f"worker at {self.http_url} refused the connection: "
                              f"{http_reason(e.response.status_code, e.response.body)}") from None
        except TimeoutError:
            raise RemoteError(f"cannot reach worker at {self.http_url}: no answer within {timeout:g} s") from None
        except (OSError, WebSocketException) as e:
            raise RemoteError(f"cannot reach worker at {self.http_url}: {e}") from None
        cfg = {"type": "config", "backend": backend, "tracker": tracker, "fps": float(frame_rate),
               "classifier": classifier, "queue": int(queue)}
        try:
            self._send(json.dumps(cfg))
            ready = self._recv(timeout=max(timeout, 30.0))  # MediaPipe or a classifier may load first
        except RemoteError:
            self._close_ws()
            raise
        if ready.get("type") != "ready":
            self._close_ws()
            raise RemoteError(f"worker at {self.http_url} refused the stream: {ready.get('message', ready.get('type'))}")
        self.settings: dict = dict(ready.get("settings") or {})
        self.layout = str(ready.get("layout") or self.settings.get("layout", ""))
        self.gpu_name: str | None = ready.get("gpu")
        self.device: str = ready.get("device", "")
        self.labels: list[str] | None = ready.get("labels")
        self.queue = int(ready.get("queue", queue))

    # ------------------------------------------------------------------------------ transport
    def _send(self, data) -> None:
        from websockets.exceptions import WebSocketException

        if self._ws is None:
            raise RemoteError("remote estimator is closed")
        try:
            self._ws.send(data, timeout=max(self.timeout, 10.0))
        except TimeoutError:
            raise RemoteError(f"worker {self.http_url} took no data for {max(self.timeout, 10.0):g} s") from None
        except (OSError, WebSocketException) as e:
            raise RemoteError(f"connection to worker {self.http_url} lost: {_closed_reason(e)}") from None

    def _recv(self, timeout: float | None = None) -> dict:
        from websockets.exceptions import WebSocketException

        if self._ws is None:
            raise RemoteError("remote estimator is closed")
        try:
            raw = self._ws.recv(timeout=self.timeout if timeout is None else timeout)
        except TimeoutError:
            raise RemoteError(f"worker {self.http_url} sent no result within {self.timeout:g} s") from None
        except (OSError, WebSocketException) as e:
            raise RemoteError(f"connection to worker {self.http_url} lost: {_closed_reason(e)}") from None
        try:
            msg = json.loads(raw)
            if not isinstance(msg, dict):
                raise ValueError
        except (ValueError, TypeError):
            raise RemoteError(f"worker {self.http_url} sent an ill-formed message") from None
        return msg

    def _close_ws(self) -> None:
        if self._ws is not None:
            try:
                self._ws.close()
            except Exception:
                pass
            self._ws = None

    # ------------------------------------------------------------------------------ frames
    def _submit(self, image: np.ndarray, frame_index: int, time_s: float) -> tuple[int, float, int, float, tuple]:
        small, scale = resize_to_width(image, self.width)
        self._seq += 1
        h, w = image.shape[:2]
        self._send(P.pack_frame(P.encode_jpeg(small, self.jpeg_quality), self._seq, frame_index, time_s, w, h))
        return self._seq, scale, int(frame_index), float(time_s), (w, h)

    def _to_poses(self, msg: dict, scale: float, size: tuple[int, int]) -> FramePoses:
        try:
            persons = P.persons_from_wire(msg.get("persons") or [], self.layout, scale)
        except P.ProtocolError as e:
            raise RemoteError(f"worker {self.http_url}: {e}") from None
        fp = FramePoses(int(msg["frame_index"]), float(msg["time_s"]), self.layout, size[0], size[1], persons)
        probs = msg.get("probs")
        self.last_probs = ({int(k): np.asarray(v, np.float32) for k, v in probs.items()}
                           if isinstance(probs, dict) else {})
        self.proc_ms = float(msg.get("proc_ms", 0.0))
        self.decode_ms = float(msg.get("decode_ms", 0.0))
        self.infer_ms = float(msg.get("infer_ms", 0.0))
        self.worker_fps = float(msg.get("fps", 0.0))
        return fp

    def _check(self, msg: dict, pending) -> int | None:
        """The seq a worker message answers, checked against the frames waiting for results (None: the
        answer to a frame of an abandoned :meth:`stream`, to be skipped)."""
        kind = msg.get("type")
        seq = msg.get("seq")
        if seq in self._abandoned and kind in ("result", "dropped", "error"):
            self._abandoned.discard(seq)
            return None
        if kind == "error":
            where = f" (frame {pending[seq][2]})" if seq in pending else ""
            raise RemoteError(f"worker {self.http_url} refused a frame{where}: {msg.get('message', '')}")
        if kind not in ("result", "dropped") or seq not in pending:
            raise RemoteError(f"worker {self.http_url} answered a frame that was not sent (seq {seq!r})")
        if msg.get("frame_index") != pending[seq][2]:
            raise RemoteError(f"worker {self.http_url} mixed up frames: seq {seq} is frame {pending[seq][2]}, "
                              f"result says {msg.get('frame_index')}")
        return seq

    def process(self, image: np.ndarray, frame_index: int, time_s: float) -> FramePoses:
        """Send one frame and wait for its result.

        Args:
            image: ``(H, W, 3)`` uint8 BGR.
            frame_index: 0-based frame index.
            time_s: timestamp in seconds.

        Returns:
            :class:`FramePoses` with boxes/keypoints in pixels of ``image``.

        Raises:
            RemoteError: connection lost, timeout, the frame was refused or dropped by the worker.
        """
        t0 = time.perf_counter()
        sub = self._submit(image, frame_index, time_s)
        pending = {sub[0]: sub}
        while True:
            msg = self._recv()
            seq = self._check(msg, pending)
            if seq is None:
                continue
            if msg["type"] == "dropped":
                self.dropped += 1
                raise RemoteError(f"worker {self.http_url} dropped frame {frame_index}: {msg.get('reason', '')}")
            fp = self._to_poses(msg, sub[1], sub[4])
            self.rtt_ms = (time.perf_counter() - t0) * 1000.0
            return fp

    def stream(self, frames: Iterable[tuple[np.ndarray, int, float]], depth: int = 2
               ) -> Iterator[tuple[int, FramePoses | None]]:
        """Pipelined processing: keep up to ``depth`` frames in flight (hides network latency).

        Args:
            frames: ``(image, frame_index, time_s)`` in playback order.
            depth: frames in flight (at most the worker's queue, so none is dropped by a quiet worker).

        Yields:
            ``(frame_index, FramePoses)`` in the order sent; ``FramePoses`` is None for a frame the
            worker dropped (busy).

        Raises:
            RemoteError: connection lost, timeout, refused frame, or a result that does not match.
        """
        depth = max(1, min(int(depth), self.queue))
        pending: OrderedDict[int, tuple] = OrderedDict()
        done: dict[int, FramePoses | None] = {}
        sent_at: dict[int, float] = {}
        it = iter(frames)
        try:
            yield from self._stream(it, depth, pending, done, sent_at)
        finally:
            self._abandoned.update(s for s in pending if s not in done)

    def _stream(self, it, depth, pending, done, sent_at):
        exhausted = False
        while True:
            while not exhausted and len(pending) < depth:
                try:
                    image, fi, ts = next(it)
                except StopIteration:
                    exhausted = True
                    break
                t0 = time.perf_counter()
                sub = self._submit(image, fi, ts)
                pending[sub[0]] = sub
                sent_at[sub[0]] = t0
            if not pending:
                return
            msg = self._recv()
            seq = self._check(msg, pending)
            if seq is None:
                continue
            if seq in done:
                raise RemoteError(f"worker {self.http_url} answered frame {pending[seq][2]} twice")
            if msg["type"] == "dropped":
                self.dropped += 1
                done[seq] = None
            else:
                done[seq] = self._to_poses(msg, pending[seq][1], pending[seq][4])
                self.rtt_ms = (time.perf_counter() - sent_at[seq]) * 1000.0
            while pending and next(iter(pending)) in done:
                s, sub = pending.popitem(last=False)
                sent_at.pop(s, None)
                yield sub[2], done.pop(s)

    def reset(self) -> None:
        """Reset the worker-side tracker and classifier history of this stream (in order with frames)."""
        self._send(json.dumps({"type": "reset"}))
        self.last_probs = {}

    def describe(self) -> dict:
        """The worker's estimator settings plus the transport (``remote``, JPEG quality), so remote and
        local skeleton caches are kept apart (JPEG changes the input slightly)."""
        return dict(self.settings, remote=True, transport=f"jpeg{self.jpeg_quality}")

    def close(self) -> None:
        """Close the connection (the worker forgets this stream's state)."""
        self._close_ws()


def _closed_reason(e: Exception) -> str:
    rcvd = getattr(e, "rcvd", None)
    if rcvd is not None:
        return f"closed by the worker (code {rcvd.code}{': ' + rcvd.reason if rcvd.reason else ''})"
    return str(e) or type(e).__name__


class FallbackEstimator(PoseEstimator):
    """Remote first, local when the worker is lost; reconnects in the background with back-off.

    When the remote fails on a frame, that same frame is processed locally (so no frame is lost or
    given another frame's result), ``on_status`` says so, and reconnection is tried in a background
    thread after ``backoff[0]`` s, then ``backoff[1]`` s… (the last value repeats). Once reconnected,
    frames go to the worker again.

    Track IDs: the local tracker and a new worker connection each start their own IDs (from 1), so
    track IDs restart at every switch; consumers should treat a switch like a seek.

    Args:
        remote_factory: ``() -> RemotePoseEstimator`` (connects; raises RemoteError).
        local_factory: ``() -> PoseEstimator`` (created on first need).
        on_status: called with one-line messages (from the calling thread).
        backoff: seconds between reconnection attempts (default: ``reconnect.worker_backoff_s``, :mod:`core.config`).

    Attributes:
        using_remote: True while frames go to the worker.
        last_probs: the remote's class probabilities of the last frame (empty when local).
    """

    def __init__(self, remote_factory: Callable[[], PoseEstimator], local_factory: Callable[[], PoseEstimator],
                 on_status: Callable[[str], None] | None = None, backoff=None):
        self._remote_factory, self._local_factory = remote_factory, local_factory
        self._on_status = on_status or (lambda s: None)
        if backoff is None:
            from ..config import backoff as configured

            backoff = configured("worker")
        self.backoff = tuple(float(b) for b in backoff) or (1.0,)
        self._remote: PoseEstimator | None = None
        self._local: PoseEstimator | None = None
        self._attempt = 0
        self._next_try = 0.0
        self._thread: threading.Thread | None = None
        self._result: tuple[PoseEstimator | None, Exception | None] | None = None
        self.last_probs: dict[int, np.ndarray] = {}
        try:
            self._remote = remote_factory()
            self.name = getattr(self._remote, "name", "")
            self.layout = getattr(self._remote, "layout", "")
            self._on_status(f"using remote worker {getattr(self._remote, 'http_url', '')}".rstrip())
        except Exception as e:
            delay = self._schedule()
            self._on_status(f"remote worker unavailable: {e} — using local inference, retrying in {delay:g} s")

    @property
    def using_remote(self) -> bool:
        return self._remote is not None

    @property
    def remote(self) -> PoseEstimator | None:
        """The connected remote estimator (None while local)."""
        return self._remote

    def _schedule(self) -> float:
        delay = self.backoff[min(self._attempt, len(self.backoff) - 1)]
        self._attempt += 1
        self._next_try = time.monotonic() + delay
        return delay

    def _local_est(self) -> PoseEstimator:
        if self._local is None:
            self._local = self._local_factory()
            self.name = self.name or self._local.name
            self.layout = self.layout or self._local.layout
        return self._local

    def _poll_reconnect(self) -> None:
        if self._remote is not None:
            return
        if self._thread is not None:
            if self._thread.is_alive():
                return
            self._thread = None
            est, err = self._result or (None, RemoteError("no result"))
            self._result = None
            if est is not None:
                self._remote, self._attempt = est, 0
                self._on_status(f"remote worker reconnected: {getattr(est, 'http_url', '')} — using remote "
                                "inference (track IDs restart)")
                return
            delay = self._schedule()
            self._on_status(f"reconnecting to the remote worker failed: {err} — retrying in {delay:g} s")
            return
        if time.monotonic() >= self._next_try:
            def attempt():
                try:
                    self._result = (self._remote_factory(), None)
                except Exception as e:  # reported on the next frame
                    self._result = (None, e)

            self._thread = threading.Thread(target=attempt, name="pw-remote-reconnect", daemon=True)
            self._thread.start()

    def process(self, image: np.ndarray, frame_index: int, time_s: float) -> FramePoses:
        """Remote when connected, else local; a frame whose remote call fails is done locally."""
        self._poll_reconnect()
        if self._remote is not None:
            try:
                fp = self._remote.process(image, frame_index, time_s)
                self.last_probs = dict(getattr(self._remote, "last_probs", {}) or {})
                return fp
            except RemoteError as e:
                self._lost(e)
        self.last_probs = {}
        return self._local_est().process(image, frame_index, time_s)

    def _lost(self, err: Exception) -> None:
        rem, self._remote = self._remote, None
        try:
            rem.close()
        except Exception:
            pass
        delay = self._schedule()
        self._on_status(f"remote worker lost: {err} — using local inference, reconnecting in {delay:g} s")
        self._local_est().reset()  # local tracking starts afresh: track IDs restart

    def reset(self) -> None:
        for est in (self._remote, self._local):
            if est is not None:
                try:
                    est.reset()
                except RemoteError as e:
                    if est is self._remote:
                        self._lost(e)
        self.last_probs = {}

    def describe(self) -> dict:
        est = self._remote if self._remote is not None else self._local_est()
        return est.describe()

    def close(self) -> None:
        th = self._thread
        if th is not None:
            th.join(timeout=10)
        if self._result and self._result[0] is not None:
            self._result[0].close()
        for est in (self._remote, self._local):
            if est is not None:
                est.close()
        self._remote = self._local = None

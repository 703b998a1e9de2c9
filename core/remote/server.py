"""The PoseWatch worker: the desktop's pose pipeline served over HTTP + WebSocket (FastAPI on uvicorn).

Endpoints:

- ``GET /health`` — liveness only (``{"status": "ok"}``), no token, reveals nothing else.
- ``GET /v1/info`` — bearer token; device, GPU name, models and versions, load (clients, queued
  frames, dropped frames, CPU %, GPU memory), recent frames/s.
- ``WS /v1/stream`` — bearer token in the handshake; the protocol of :mod:`.protocol`.

Each WebSocket connection has its own tracker (and classifier history); the YOLO-pose network is
loaded once and shared (calls are serialised by a lock: one GPU, or the CPU's ONNX Runtime threads).
Frames wait in a bounded per-connection queue; when it is full the oldest waiting frame of that
stream is dropped and the client is told (``dropped`` message).

Device: CUDA when ``torch.cuda.is_available()`` (half precision; a TensorRT engine exported by
ultralytics when ``tensorrt`` is importable and ``runtime`` is ``auto``/``tensorrt``), else the
CPU with the cached ONNX export (:func:`core.pose.yolo.export_onnx`).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import hmac
import logging
import os
import platform
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from fastapi import FastAPI, Request, WebSocket
from fastapi.responses import JSONResponse

from .. import config
from ..errors import ModelError, PoseWatchError
from . import protocol as P

log = logging.getLogger("posewatch.worker")

#: Errors a connection may cause before the worker closes it (code 1008).
MAX_ERRORS_PER_CONNECTION = 20


class WorkerError(PoseWatchError):
    """Bad worker settings (token file, TLS files, classifier registry)."""


@dataclass
@config.section_defaults("worker", required=("token",))
class WorkerConfig:
    """Settings of a worker process. The defaults are ``worker.<field>`` of ``resources/default.yaml`` (with the
    overrides in force, :mod:`core.config`); the token has none.

    Attributes:
        token: the bearer token clients must send (compared with :func:`hmac.compare_digest`).
        pose_model: YOLO-pose model file name or path (chosen at start, never by a client).
        imgsz: YOLO inference size in pixels.
        device: ``"cpu"``, ``"cuda"``/``"cuda:N"`` or None (CUDA if available).
        runtime: ``"auto"`` (TensorRT on CUDA when importable, else PyTorch; ONNX on CPU), ``"onnx"``,
            ``"torch"`` or ``"tensorrt"``.
        classifiers: registry ``{name: checkpoint path}`` (defaults ``fall``/``abnormal`` are added).
        max_queue: upper bound of a connection's frame queue (frames).
        max_clients: simultaneous WebSocket streams.
        max_message_bytes: largest WebSocket message (bytes).
        max_upload_bytes: largest dataset a client may send for training (bytes; :mod:`core.remote.training`).
        runs_dir: folder of the training runs (None: ``<cache>/worker-runs``).
    """

    token: str
    pose_model: str | None
    imgsz: int
    device: str | None
    runtime: str
    classifiers: dict[str, str]
    max_queue: int
    max_clients: int
    max_message_bytes: int
    max_upload_bytes: int
    runs_dir: str | None


def parse_classifier_specs(specs: tuple[str, ...] | list[str]) -> dict[str, str]:
    """``["NAME=PATH", ...]`` → ``{name: path}``; each checkpoint is checked now.

    Raises:
        WorkerError: ill-formed spec or name; ModelError: unreadable checkpoint.
    """
    from ..classify import load_checkpoint

    out = {}
    for s in specs:
        name, sep, path = s.partition("=")
        if not sep or not name.isidentifier() or len(name) > 40 or not path:
            raise WorkerError(f"--classifier needs NAME=PATH with NAME made of letters, digits, '_' (got '{s}')")
        load_checkpoint(path)
        out[name] = str(Path(path).resolve())
    return out


def _tensorrt_available() -> bool:
    try:
        import tensorrt  # noqa: F401
    except Exception:
        return False
    return True


def export_engine(pt_path: Path, imgsz: int = 640) -> Path:
    """Export a YOLO ``.pt`` checkpoint to a half-precision TensorRT engine once (ultralytics'
    ``export(format="engine", half=True)``), cached like the ONNX export (key: checkpoint SHA-256,
    ``imgsz``, ultralytics and TensorRT versions, GPU name — engines are specific to a GPU).

    Raises:
        ModelError: the export failed.
    """
    import tensorrt
    import torch

    from ..pose.yolo import cached_export

    gpu = torch.cuda.get_device_name(0).replace(" ", "_")
    return cached_export(pt_path, "engine", imgsz, f"-trt{tensorrt.__version__}-{gpu}", label="TensorRT", half=True,
                         dynamic=False, device=0)


class WorkerState:
    """Models and counters shared by all connections of one worker process.

    Raises:
        ModelError: the pose model cannot be loaded.
    """

    def __init__(self, cfg: WorkerConfig):
        import torch

        from ..defaults import DEFAULT_CLASSIFIERS, default_classifier_path
        from ..pose.yolo import DEFAULT_MODEL, YoloPoseEstimator, yolo_settings

        self.cfg = cfg
        self.device = cfg.device or ("cuda:0" if torch.cuda.is_available() else "cpu")
        if self.device == "cuda":
            self.device = "cuda:0"
        self.gpu_name = torch.cuda.get_device_name(self.device) if self.device.startswith("cuda") else None
        model = cfg.pose_model or DEFAULT_MODEL
        self.yolo_settings = yolo_settings(model, cfg.imgsz)
        runtime = cfg.runtime
        load = model
        if runtime == "tensorrt" and not self.device.startswith("cuda"):
            raise WorkerError("--runtime tensorrt needs a CUDA GPU")
        if runtime == "tensorrt" and not _tensorrt_available():
            raise WorkerError("--runtime tensorrt needs the tensorrt package (e.g. pip install tensorrt-cu13)")
        if self.device.startswith("cuda"):
            if runtime == "tensorrt" or (runtime == "auto" and _tensorrt_available()):
                from ..modelfiles import resolve_model

                try:
                    load, runtime = str(export_engine(resolve_model(model), cfg.imgsz)), "tensorrt"
                except ModelError as e:
                    if runtime == "tensorrt":
                        raise
                    log.warning("%s — using PyTorch (half precision) instead", e)
                    runtime = "torch"
            if runtime == "auto":
                runtime = "torch"
        elif runtime == "auto":
            runtime = "onnx"
        self.runtime = runtime
        self.yolo = YoloPoseEstimator(load, imgsz=cfg.imgsz, device=self.device,
                                      runtime="torch" if runtime == "tensorrt" else runtime)
        self.model_lock = threading.Lock()
        self.registry: dict[str, str] = {}
        for name in DEFAULT_CLASSIFIERS:
            p = default_classifier_path(name)
            if p is not None:
                self.registry[name] = str(p)
        self.registry.update(cfg.classifiers)
        self._classifiers: dict[str, object] = {}
        self._clf_lock = threading.Lock()
        self.executor = ThreadPoolExecutor(max_workers=4, thread_name_prefix="pw-infer")
        self.clients = 0
        self.queued = 0
        self.frames_total = 0
        self.dropped_total = 0
        self.errors_total = 0
        self._done = collections.deque(maxlen=512)  # completion times (monotonic s) for the recent fps
        self.started = time.time()
        from ..config import cache_root
        from .training import TrainingManager

        self.training = TrainingManager(Path(cfg.runs_dir) if cfg.runs_dir else cache_root() / "worker-runs",
                                        cfg.max_upload_bytes)

    def classifier(self, name: str):
        """The shared :class:`~core.classify.TrackClassifier` of a registry name (loaded once).

        Raises:
            P.ProtocolError: not a registry name; ModelError: unreadable checkpoint.
        """
        from ..classify import TrackClassifier

        if name not in self.registry:
            raise P.ProtocolError(f"unknown classifier '{name}'; this worker has: {', '.join(self.registry) or 'none'}")
        with self._clf_lock:
            if name not in self._classifiers:
                from ..classify import load_checkpoint

                if load_checkpoint(self.registry[name]).is_video:
                    raise P.ProtocolError(f"classifier '{name}' is an RGB clip model; the stream serves per-track "
                                          "skeleton classifiers (run it with `main.py predict` where the video is)")
                clf = TrackClassifier(self.registry[name])
                if clf.is_scene:
                    raise P.ProtocolError(f"classifier '{name}' judges whole scenes; the worker serves per-track "
                                          "classifiers (run it on the desktop, with remote pose estimation)")
                self._classifiers[name] = clf
            return self._classifiers[name]

    def note_done(self) -> None:
        self.frames_total += 1
        self._done.append(time.monotonic())

    def fps(self) -> float:
        """Frames/s completed over the last 2 s (all connections)."""
        now = time.monotonic()
        recent = [t for t in self._done if now - t <= 2.0]
        if len(recent) < 2:
            return 0.0
        return (len(recent) - 1) / max(now - recent[0], 1e-3)

    def info(self) -> dict:
        """The ``/v1/info`` document."""
        import fastapi
        import torch
        import ultralytics
        import uvicorn

        from .. import __version__

        load = {"clients": self.clients, "queued": self.queued, "frames": self.frames_total,
                "dropped": self.dropped_total, "errors": self.errors_total,
                "uptime_s": round(time.time() - self.started, 1)}
        try:
            import psutil

            load["cpu_percent"] = psutil.cpu_percent(interval=None)
            load["mem_percent"] = psutil.virtual_memory().percent
        except Exception:
            pass
        if self.device.startswith("cuda"):
            load["gpu_mem_mb"] = round(torch.cuda.memory_allocated(self.device) / 2**20, 1)
        versions = {"posewatch": __version__, "python": platform.python_version(), "torch": torch.__version__,
                    "ultralytics": ultralytics.__version__, "fastapi": fastapi.__version__,
                    "uvicorn": uvicorn.__version__, "protocol": 1}
        with contextlib.suppress(Exception):
            import onnxruntime

            versions["onnxruntime"] = onnxruntime.__version__
        classifiers = {}
        for name, path in self.registry.items():
            with contextlib.suppress(Exception):
                from ..classify import load_checkpoint

                ck = load_checkpoint(path)
                classifiers[name] = {"labels": ck.label_names, "window": ck.window, "fps": ck.fps,
                                     "kind": "scene" if ck.is_scene else "skeleton"}
                if ck.is_video:  # an RGB clip model (issue 13): listed with its input; not run on the stream
                    v = ck.video
                    classifiers[name].update(kind=v["kind"], model=ck.model_name, frames=int(v["frames"]),
                                             size=list(v["size"]), window_s=round(int(v["frames"]) / float(v["fps"]), 4),
                                             stream=False)
        return {"device": "cuda" if self.device.startswith("cuda") else "cpu", "gpu": self.gpu_name,
                "runtime": self.runtime, "half": self.device.startswith("cuda"),
                "models": {"pose": dict(self.yolo_settings), "backends": list(P.BACKENDS), "classifiers": classifiers},
                "versions": versions, "load": load, "fps": round(self.fps(), 2),
                "limits": {"max_message_bytes": self.cfg.max_message_bytes, "max_queue": self.cfg.max_queue,
                           "max_clients": self.cfg.max_clients, "max_side": P.MAX_SIDE,
                           "max_upload_bytes": self.training.max_upload_bytes}}

    def close(self) -> None:
        self.training.close()
        self.executor.shutdown(wait=False, cancel_futures=True)
        self.yolo.close()


class OnlineClassifier:
    """Per-connection class probabilities of each track at its latest frame, with the offline predict
    rule (:func:`core.classify.track_windows`: the window ending at the current detection, samples
    ``step`` frames apart), so remote labels equal the player's for the same skeletons.
    """

    def __init__(self, clf, fps: float, layout: str):
        self.clf, self.layout = clf, layout
        self.step = clf.ckpt.step_for(fps)
        self.span = self.step * (clf.ckpt.window - 1)
        self.hist: dict = {}  # track id -> core.classify.TrackHistory

    def reset(self) -> None:
        self.hist.clear()

    def update(self, frame_index: int, persons, scale: float) -> dict[int, np.ndarray]:
        """Add this frame's persons (keypoints in received pixels × ``scale`` = original pixels) and
        return ``{track_id: (K,) float32 probabilities}``."""
        from ..classify import TrackHistory
        from ..layouts import to_common

        todo, ids = [], []
        for p in persons:
            kp = np.asarray(p.keypoints, np.float32).copy()
            kp[:, :2] *= scale
            h = self.hist.get(p.track_id)
            if h is None:
                h = self.hist[p.track_id] = TrackHistory(self.clf.ckpt.window, self.step)
            h.add(frame_index, to_common(kp, self.layout))
            todo.append(h.latest_window())
            ids.append(p.track_id)
        for tid in [t for t, h in self.hist.items() if h.last_frame < frame_index - 10 * max(self.span, 30)]:
            del self.hist[tid]  # long-lost tracks
        if not todo:
            return {}
        probs = self.clf.predict_windows(np.stack(todo))
        return dict(zip(ids, probs, strict=True))


class Connection:
    """One WebSocket stream: its tracker, classifier history and bounded frame queue."""

    def __init__(self, ws, state: WorkerState):
        self.ws, self.state = ws, state
        self.send_lock = asyncio.Lock()
        self.queue: collections.deque = collections.deque()
        self.cond = asyncio.Condition()
        self.closed = False
        self.errors = 0
        self.queue_size = P.DEFAULT_QUEUE
        self.estimator = None  # per-connection MediaPipe estimator
        self.tracker = None
        self.online: OnlineClassifier | None = None
        self.layout = "coco17"

    async def send(self, msg: dict) -> None:
        async with self.send_lock:
            await self.ws.send_text(P.dumps(msg))

    async def error(self, message: str, seq: int | None = None) -> bool:
        """Send an error; returns False when the connection should close (too many errors)."""
        self.errors += 1
        self.state.errors_total += 1
        msg = {"type": "error", "message": message}
        if seq is not None:
            msg["seq"] = seq
        await self.send(msg)
        if self.errors >= MAX_ERRORS_PER_CONNECTION:
            await self.ws.close(code=1008, reason="too many protocol errors")
            return False
        return True

    # ---------------------------------------------------------------------------------- config
    def _configure(self, cfg: dict) -> dict:
        """Build this connection's tracker/estimator/classifier (runs in a worker thread)."""
        from ..pose import create_estimator
        from ..pose.tracking import Tracker

        st = self.state
        clf = st.classifier(cfg["classifier"]) if cfg["classifier"] else None
        if cfg["backend"] == "yolo":
            self.tracker = Tracker(cfg["tracker"], cfg["fps"])
            # the runtime is part of the settings: fp16 TensorRT/CUDA output differs slightly from CPU ONNX
            settings = dict(st.yolo_settings, tracker=cfg["tracker"], runtime=st.runtime)
            self.layout = st.yolo.layout
        else:
            self.estimator = create_estimator("mediapipe", tracker=cfg["tracker"], frame_rate=cfg["fps"])
            settings = self.estimator.describe()
            self.layout = self.estimator.layout
        if clf is not None:
            self.online = OnlineClassifier(clf, cfg["fps"], self.layout)
        self.queue_size = min(cfg["queue"], st.cfg.max_queue)
        return {"type": "ready", "settings": settings, "device": "cuda" if st.device.startswith("cuda") else "cpu",
                "gpu": st.gpu_name, "runtime": st.runtime, "layout": self.layout, "queue": self.queue_size,
                "labels": clf.label_names if clf is not None else None}

    # ------------------------------------------------------------------------------- inference
    def _infer(self, hdr: dict, jpeg: memoryview) -> dict:
        """Decode, estimate, track and classify one frame (runs in a worker thread)."""
        from ..pose import FramePoses, Person

        t0 = time.perf_counter()
        img = P.decode_jpeg(jpeg)
        decode_ms = (time.perf_counter() - t0) * 1000.0
        h, w = img.shape[:2]
        if self.estimator is not None:
            fp = self.estimator.process(img, hdr["frame_index"], hdr["time_s"])
        else:
            st = self.state
            with st.model_lock:
                boxes, scores, kpts = st.yolo.detect(img)
            fp = FramePoses(hdr["frame_index"], hdr["time_s"], self.layout, w, h)
            for det, tid in self.tracker.update(boxes, scores, img):
                fp.persons.append(Person(tid, boxes[det], kpts[det], float(scores[det]), self.layout))
            fp.persons.sort(key=lambda p: p.track_id)
        probs = self.online.update(hdr["frame_index"], fp.persons, hdr["orig_w"] / w) if self.online is not None else None
        infer_ms = (time.perf_counter() - t0) * 1000.0 - decode_ms
        out = {"type": "result", "seq": hdr["seq"], "frame_index": hdr["frame_index"], "time_s": hdr["time_s"],
               "w": w, "h": h, "layout": self.layout, "persons": P.persons_to_wire(fp.persons)}
        if probs is not None:
            out["probs"] = {str(k): [round(float(v), 4) for v in pr] for k, pr in probs.items()}
        out["proc_ms"] = round((time.perf_counter() - t0) * 1000.0, 2)
        out["decode_ms"] = round(decode_ms, 2)
        out["infer_ms"] = round(infer_ms, 2)
        return out

    def _reset(self) -> None:
        if self.tracker is not None:
            self.tracker.reset()
        if self.estimator is not None:
            self.estimator.reset()
        if self.online is not None:
            self.online.reset()

    async def processor(self) -> None:
        loop = asyncio.get_running_loop()
        st = self.state
        while True:
            async with self.cond:
                while not self.queue and not self.closed:
                    await self.cond.wait()
                if self.closed:
                    return
                kind, hdr, jpeg = self.queue.popleft()
                if kind == "frame":
                    st.queued -= 1
            if kind == "reset":
                await loop.run_in_executor(st.executor, self._reset)
                continue
            try:
                out = await loop.run_in_executor(st.executor, self._infer, hdr, jpeg)
            except P.ProtocolError as e:
                if not await self.error(str(e), hdr["seq"]):
                    return
                continue
            except Exception as e:  # a bug or a model failure: reported on this stream, others go on
                log.exception("inference failed")
                if not await self.error(f"inference failed: {type(e).__name__}: {str(e)[:200]}", hdr["seq"]):
                    return
                continue
            st.note_done()
            out["queue"] = len(self.queue)
            out["fps"] = round(st.fps(), 2)
            await self.send(out)

    async def enqueue(self, item: tuple) -> None:
        dropped = None
        async with self.cond:
            if item[0] == "frame":
                frames = [i for i in self.queue if i[0] == "frame"]
                if len(frames) >= self.queue_size:
                    dropped = frames[0]
                    self.queue.remove(dropped)
                    self.state.queued -= 1
                    self.state.dropped_total += 1
                self.state.queued += 1
            self.queue.append(item)
            self.cond.notify()
        if dropped is not None:
            await self.send({"type": "dropped", "seq": dropped[1]["seq"], "frame_index": dropped[1]["frame_index"],
                             "reason": f"worker busy: queue of {self.queue_size} frames full, oldest frame dropped"})

    async def run(self) -> None:
        """Serve the stream until the client disconnects."""
        from starlette.websockets import WebSocketDisconnect

        loop = asyncio.get_running_loop()
        ws, st = self.ws, self.state
        task = None
        try:
            # the first message must be a valid config
            try:
                first = await asyncio.wait_for(ws.receive(), timeout=30.0)
            except asyncio.TimeoutError:
                await ws.close(code=1008, reason="no config message within 30 s")
                return
            if first["type"] == "websocket.disconnect":
                return
            try:
                if first.get("text") is None:
                    raise P.ProtocolError("the first message must be a text 'config' message")
                cfg = P.parse_text(first["text"])
                if cfg["type"] != "config":
                    raise P.ProtocolError("the first message must be a 'config' message")
                ready = await loop.run_in_executor(st.executor, self._configure, cfg)
            except (P.ProtocolError, PoseWatchError, ValueError) as e:
                await self.send({"type": "error", "message": str(e)})
                await ws.close(code=1008, reason=str(e)[:120])
                return
            await self.send(ready)
            task = asyncio.create_task(self.processor())
            while True:
                msg = await ws.receive()
                if msg["type"] == "websocket.disconnect":
                    return
                try:
                    if msg.get("bytes") is not None:
                        hdr, jpeg = P.unpack_frame(msg["bytes"])
                        await self.enqueue(("frame", hdr, jpeg))
                    else:
                        d = P.parse_text(msg.get("text") or "")
                        if d["type"] != "reset":
                            raise P.ProtocolError("'config' may only be sent once, as the first message")
                        await self.enqueue(("reset", None, None))
                except P.ProtocolError as e:
                    if not await self.error(str(e)):
                        return
        except WebSocketDisconnect:
            return
        finally:
            async with self.cond:
                self.closed = True
                st.queued -= sum(1 for i in self.queue if i[0] == "frame")
                self.queue.clear()
                self.cond.notify_all()
            if task is not None:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(task, timeout=30.0)
            if self.estimator is not None:
                self.estimator.close()


def check_auth(header: str | None, token: str) -> tuple[int, str] | None:
    """None when ``header`` is ``Bearer <token>``; else ``(HTTP status, reason)``: 401 missing/ill-formed,
    403 wrong token (constant-time comparison)."""
    if not header:
        return 401, "missing bearer token: send 'Authorization: Bearer <token>'"
    scheme, _, given = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not given.strip():
        return 401, "ill-formed Authorization header: expected 'Bearer <token>'"
    if not hmac.compare_digest(given.strip().encode(), token.encode()):
        return 403, "wrong token"
    return None


def create_app(state: WorkerState):
    """The FastAPI app of a worker (see the module docstring for the endpoints)."""
    app = FastAPI(title="PoseWatch worker", docs_url=None, redoc_url=None, openapi_url=None)
    token = state.cfg.token

    def deny(status: int, reason: str) -> JSONResponse:
        return JSONResponse({"detail": reason}, status_code=status, headers={"WWW-Authenticate": "Bearer"})

    @app.get("/health")
    async def health():
        return {"status": "ok"}

    @app.get("/v1/info")
    async def info(request: Request):
        bad = check_auth(request.headers.get("authorization"), token)
        if bad:
            return deny(*bad)
        return await asyncio.get_running_loop().run_in_executor(None, state.info)

    from .training import add_training_routes

    add_training_routes(app, state.training, lambda header: check_auth(header, token), deny)

    @app.websocket("/v1/stream")
    async def stream(ws: WebSocket):
        bad = check_auth(ws.headers.get("authorization"), token)
        if bad is None and state.clients >= state.cfg.max_clients:
            bad = (503, f"worker full: {state.cfg.max_clients} streams already connected")
        if bad:
            try:
                await ws.send_denial_response(deny(*bad))
            except RuntimeError:  # server without the denial-response extension: close with a reason
                await ws.accept()
                await ws.close(code=1008, reason=bad[1])
            return
        await ws.accept()
        state.clients += 1
        try:
            await Connection(ws, state).run()
        finally:
            state.clients -= 1

    return app


def read_token_file(path: str | os.PathLike) -> str:
    """The token in ``path`` (whitespace stripped).

    Raises:
        WorkerError: missing, unreadable or empty file.
    """
    p = Path(path)
    try:
        tok = p.read_text(encoding="utf-8").strip()
    except OSError as e:
        raise WorkerError(f"cannot read token file {p}: {e.strerror or e}") from None
    except UnicodeDecodeError:
        raise WorkerError(f"token file {p} is not UTF-8 text") from None
    if not tok:
        raise WorkerError(f"token file {p} is empty; put a long random token in it (e.g. openssl rand -hex 32)")
    if any(c.isspace() for c in tok):
        raise WorkerError(f"token file {p} holds more than one word; the token must not contain spaces")
    return tok


def serve(cfg: WorkerConfig, host: str = "127.0.0.1", port: int = 8765, tls_cert: str | None = None,
          tls_key: str | None = None, on_ready=None) -> None:
    """Load the models and serve until interrupted (blocking).

    Raises:
        WorkerError: only one of ``tls_cert``/``tls_key``, or a missing TLS file; ModelError.
    """
    import uvicorn

    if bool(tls_cert) != bool(tls_key):
        raise WorkerError("TLS needs both --tls-cert and --tls-key")
    for f in (tls_cert, tls_key):
        if f and not Path(f).is_file():
            raise WorkerError(f"TLS file not found: {f}")
    if not tls_cert and host not in ("127.0.0.1", "localhost", "::1"):
        log.warning("warning: listening on %s without TLS: the token and frames travel in clear text; "
                    "use --tls-cert/--tls-key or an SSH tunnel (docs/REMOTE_WORKER.md)", host)
    state = WorkerState(cfg)
    if on_ready is not None:
        on_ready(state)
    app = create_app(state)
    try:
        uvicorn.run(app, host=host, port=port, ws="websockets-sansio", ws_max_size=cfg.max_message_bytes,
                    ws_ping_interval=20.0, ws_ping_timeout=20.0, ssl_certfile=tls_cert, ssl_keyfile=tls_key,
                    log_level="warning", access_log=False, timeout_graceful_shutdown=5)
    finally:
        state.close()

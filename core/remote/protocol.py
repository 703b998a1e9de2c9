"""Wire format between PoseWatch and a PoseWatch worker (WebSocket ``/v1/stream``).

Client → worker:

- text ``{"type": "config", "backend": "yolo"|"mediapipe", "tracker": "bytetrack"|"botsort",
  "fps": float, "classifier": NAME|null, "queue": int}`` — must be the first message; ``classifier``
  is a *name* from the worker's registry (``fall``, ``abnormal``, names given at worker start), never
  a path. The worker answers ``{"type": "ready", ...}``.
- binary frame: ``uint32 big-endian header length`` + UTF-8 JSON header
  ``{"type": "frame", "seq": int, "frame_index": int, "time_s": float, "orig_w": int, "orig_h": int}``
  + JPEG bytes. ``seq`` increases by one per frame on a connection; ``orig_w``/``orig_h`` are the
  size of the frame before the client downscaled it (the classifier works in those pixels).
- text ``{"type": "reset"}``: forget tracker and classifier state (applied in order with frames).

Worker → client (text JSON):

- ``{"type": "result", "seq", "frame_index", "time_s", "w", "h", "layout", "persons": [{"id": track_id,
  "box": [x1, y1, x2, y2], "score": s, "kp": [[x, y, score], ...]}], "probs": {track_id: [p, ...]}
  (only with a classifier), "proc_ms": worker-side time of this frame (all of it), "decode_ms": its
  JPEG decode, "infer_ms": pose + tracking + classification, "queue": frames waiting, "fps": worker
  frames/s}`` — coordinates in pixels of the JPEG the worker received.
- ``{"type": "dropped", "seq", "frame_index", "reason"}``: the frame was dropped (queue full: the
  oldest waiting frame of that stream goes).
- ``{"type": "error", "message", "seq"?}``: a message was refused; the connection stays open unless
  the worker closes it (code 1008 after too many errors or a bad config; 1009 for oversized messages).

All validation raises :class:`ProtocolError` with a one-line reason.
"""

from __future__ import annotations

import json
import math
import struct

import numpy as np

from .. import pose as _pose

#: Largest WebSocket message either side accepts (bytes); the worker's uvicorn enforces it too.
MAX_MESSAGE_BYTES = 8 * 1024 * 1024
#: Largest JSON header of a frame message, and largest text message from a client (bytes).
MAX_HEADER_BYTES = 4096
#: Largest JPEG the worker decodes (pixels per side), checked from the JPEG header before decoding.
MAX_SIDE = 4096
#: Frames a connection may ask the worker to queue (bounded queues; the oldest are dropped).
MAX_QUEUE = 16
DEFAULT_QUEUE = 4
DEFAULT_JPEG_QUALITY = 90

BACKENDS = _pose.BACKENDS  # the registered pose backends (core.pose)
from ..choices import TRACKERS  # noqa: E402  (re-exported)
_HDR = struct.Struct(">I")


class ProtocolError(ValueError):
    """A message does not follow the protocol (the message is a complete one-line reason)."""


# ---------------------------------------------------------------------------------------------- frames
def encode_jpeg(image: np.ndarray, quality: int = DEFAULT_JPEG_QUALITY) -> bytes:
    """JPEG-encode ``(H, W, 3)`` uint8 BGR at ``quality`` (1–100)."""
    import cv2

    ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:
        raise ProtocolError("cannot JPEG-encode the frame")
    return buf.tobytes()


def jpeg_size(data: bytes | memoryview) -> tuple[int, int]:
    """``(width, height)`` from a JPEG's start-of-frame marker, without decoding it.

    Raises:
        ProtocolError: not a JPEG, or no start-of-frame marker.
    """
    b = bytes(data[:2])
    if b != b"\xff\xd8":
        raise ProtocolError("frame payload is not a JPEG (no SOI marker)")
    i, n = 2, len(data)
    while i + 4 <= n:
        if data[i] != 0xFF:
            raise ProtocolError("corrupt JPEG header")
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            i += 2
            continue
        (length,) = struct.unpack(">H", bytes(data[i + 2:i + 4]))
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            if i + 9 > n:
                break
            h, w = struct.unpack(">HH", bytes(data[i + 5:i + 9]))
            return w, h
        if marker in (0xD9, 0xDA) or length < 2:
            break
        i += 2 + length
    raise ProtocolError("JPEG has no frame header")


def decode_jpeg(data: bytes | memoryview) -> np.ndarray:
    """Decode a JPEG to ``(H, W, 3)`` uint8 BGR after checking its size from the header.

    Raises:
        ProtocolError: not a JPEG, larger than :data:`MAX_SIDE` per side, or undecodable.
    """
    import cv2

    w, h = jpeg_size(data)
    if not (0 < w <= MAX_SIDE and 0 < h <= MAX_SIDE):
        raise ProtocolError(f"frame of {w}x{h} pixels refused (at most {MAX_SIDE} per side)")
    img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if img is None or img.shape[:2] != (h, w):
        raise ProtocolError("undecodable JPEG")
    return img


def pack_frame(jpeg: bytes, seq: int, frame_index: int, time_s: float, orig_w: int, orig_h: int) -> bytes:
    """The binary frame message (see the module docstring)."""
    hdr = json.dumps({"type": "frame", "seq": int(seq), "frame_index": int(frame_index), "time_s": float(time_s),
                      "orig_w": int(orig_w), "orig_h": int(orig_h)}, separators=(",", ":")).encode()
    return _HDR.pack(len(hdr)) + hdr + jpeg


def _int(d: dict, key: str, lo: int, hi: int) -> int:
    v = d.get(key)
    if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
        raise ProtocolError(f"'{key}' must be an integer in [{lo}, {hi}]")
    return v


def _float(d: dict, key: str, lo: float, hi: float) -> float:
    v = d.get(key)
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or not lo <= v <= hi:
        raise ProtocolError(f"'{key}' must be a number in [{lo:g}, {hi:g}]")
    return float(v)


def _check_keys(d: dict, allowed: set[str], what: str) -> None:
    extra = set(d) - allowed
    if extra:
        raise ProtocolError(f"unknown field(s) in {what}: {', '.join(sorted(map(str, extra)))[:200]}")


def unpack_frame(msg: bytes | memoryview) -> tuple[dict, memoryview]:
    """Split a binary frame message into its checked header dict and the JPEG bytes.

    Raises:
        ProtocolError: short message, oversized or ill-formed header, unknown fields, bad values.
    """
    msg = memoryview(msg)
    if len(msg) < _HDR.size:
        raise ProtocolError("binary message too short for a frame header")
    (n,) = _HDR.unpack(msg[:_HDR.size])
    if n == 0 or n > MAX_HEADER_BYTES or _HDR.size + n > len(msg):
        raise ProtocolError(f"frame header length {n} invalid (at most {MAX_HEADER_BYTES} bytes)")
    try:
        hdr = json.loads(bytes(msg[_HDR.size:_HDR.size + n]).decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ProtocolError("frame header is not UTF-8 JSON") from None
    if not isinstance(hdr, dict) or hdr.get("type") != "frame":
        raise ProtocolError("frame header must be a JSON object with type 'frame'")
    _check_keys(hdr, {"type", "seq", "frame_index", "time_s", "orig_w", "orig_h"}, "frame header")
    out = {"seq": _int(hdr, "seq", 0, 2**53), "frame_index": _int(hdr, "frame_index", 0, 2**53),
           "time_s": _float(hdr, "time_s", 0.0, 1e9), "orig_w": _int(hdr, "orig_w", 1, 65535),
           "orig_h": _int(hdr, "orig_h", 1, 65535)}
    jpeg = msg[_HDR.size + n:]
    if len(jpeg) == 0:
        raise ProtocolError("frame message has no JPEG payload")
    return out, jpeg


# ------------------------------------------------------------------------------------- text messages
def parse_text(text: str) -> dict:
    """Parse and check a client text message (``config`` or ``reset``).

    Returns:
        The checked message with defaults filled in.

    Raises:
        ProtocolError: oversized, not JSON, unknown type, unknown fields, bad values.
    """
    if len(text) > MAX_HEADER_BYTES:
        raise ProtocolError(f"text message of {len(text)} characters refused (at most {MAX_HEADER_BYTES})")
    try:
        d = json.loads(text)
    except json.JSONDecodeError:
        raise ProtocolError("text message is not JSON") from None
    if not isinstance(d, dict):
        raise ProtocolError("text message must be a JSON object")
    kind = d.get("type")
    if kind == "reset":
        _check_keys(d, {"type"}, "reset")
        return {"type": "reset"}
    if kind == "config":
        _check_keys(d, {"type", "backend", "tracker", "fps", "classifier", "queue"}, "config")
        backend, tracker = d.get("backend", "yolo"), d.get("tracker", "bytetrack")
        if backend not in BACKENDS:
            raise ProtocolError(f"unknown backend {str(backend)[:40]!r}; choose one of {', '.join(BACKENDS)}")
        if tracker not in TRACKERS:
            raise ProtocolError(f"unknown tracker {str(tracker)[:40]!r}; choose one of {', '.join(TRACKERS)}")
        clf = d.get("classifier")
        if clf is not None and (not isinstance(clf, str) or not clf.isidentifier() or len(clf) > 40):
            # a registry name only: letters, digits, underscores; no path or module can be named
            raise ProtocolError("'classifier' must be a classifier name from the worker's registry (no paths)")
        return {"type": "config", "backend": backend, "tracker": tracker,
                "fps": _float(dict(d, fps=d.get("fps", 30.0)), "fps", 0.1, 1000.0), "classifier": clf,
                "queue": _int(dict(d, queue=d.get("queue", DEFAULT_QUEUE)), "queue", 1, MAX_QUEUE)}
    raise ProtocolError(f"unknown message type {str(kind)[:40]!r}")


def dumps(msg: dict) -> str:
    """Compact JSON for a worker → client message."""
    return json.dumps(msg, separators=(",", ":"))


def persons_to_wire(persons) -> list[dict]:
    """Compact form of :class:`~core.pose.Person` objects: coordinates rounded to 0.01 px, scores to 1e-4."""
    out = []
    for p in persons:
        kp = np.asarray(p.keypoints, np.float64)
        out.append({"id": int(p.track_id), "box": [round(float(v), 2) for v in p.bbox],
                    "score": round(float(p.score), 4),
                    "kp": [[round(float(x), 2), round(float(y), 2), round(float(s), 4)] for x, y, s in kp]})
    return out


def persons_from_wire(items: list, layout: str, scale: float = 1.0):
    """Rebuild :class:`~core.pose.Person` objects from :func:`persons_to_wire` output; coordinates are
    divided by ``scale`` (the client's downscale factor) to return to original pixels.

    Raises:
        ProtocolError: ill-formed person entries.
    """
    from ..pose.base import Person, rescale_person

    out = []
    try:
        for it in items:
            p = Person(int(it["id"]), np.asarray(it["box"], np.float32).reshape(4),
                       np.asarray(it["kp"], np.float32).reshape(-1, 3), float(it["score"]), layout)
            out.append(rescale_person(p, scale, inverse=True) if scale != 1.0 else p)
    except (KeyError, TypeError, ValueError):
        raise ProtocolError("ill-formed person in a result") from None
    return out

"""Alert notifications: every alert of a live detector also goes to a webhook and/or an MQTT broker.

Delivery never blocks detection: :meth:`Notifier.send` only puts the event on a bounded queue and returns. Each
sink has its own thread:

* **Webhook** (:class:`WebhookSink`): an HTTP(S) ``POST`` of the event JSON (``Content-Type: application/json``,
  UTF-8) with the headers

  - ``X-PoseWatch-Event``: a unique id of the event (the same on every retry: receivers deduplicate with it),
  - ``X-PoseWatch-Timestamp``: Unix time of the attempt in seconds,
  - ``X-PoseWatch-Signature``: ``sha256=<hex>``, the HMAC-SHA256 of ``<timestamp>.<body>`` with the shared secret
    (only with a secret; :func:`sign` computes it, :func:`verify` checks it, receivers reject old timestamps).

  A connection error, a timeout, HTTP 408, 429 or 5xx is retried after ``backoff_s`` (the setting
  ``reconnect.webhook_backoff_s``: 1, 2, 4, 8, 16 s by default; ``Retry-After`` is honoured up to 60 s); any other HTTP status, or the last failed try, gives up on that event
  with one ``warning: …`` line to ``on_status``. Events are delivered one at a time, in order.
* **MQTT** (:class:`MqttSink`, paho-mqtt): publishes the event JSON to ``topic`` (default
  ``posewatch/{camera}/alerts``: one topic per camera) with QoS 1; paho's network thread connects in the background
  and reconnects with back-off (``reconnect.mqtt_backoff_s``: 1 to 30 s), messages published while disconnected are sent once it is back.

Both queues hold at most ``queue_size`` events; when a sink is far behind (a dead server) the oldest waiting event is
dropped and reported. :meth:`Notifier.close` gives the sinks up to ``timeout`` seconds to deliver what is waiting.

Secrets (the webhook's HMAC key, the MQTT password) come from files, never from a setting's value (they would end up
in the settings file and in logs).
"""

from __future__ import annotations

import collections
import hashlib
import hmac
import json
import re
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass
from typing import Callable

from .. import config
from ..errors import PoseWatchError

#: HTTP statuses a webhook try is repeated for (others are the receiver's final answer).
RETRY_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})
SIGNATURE_HEADER = "X-PoseWatch-Signature"
TIMESTAMP_HEADER = "X-PoseWatch-Timestamp"
EVENT_HEADER = "X-PoseWatch-Event"


class NotifyError(PoseWatchError):
    """A notification setting is unusable (bad URL, unreadable secret file); raised when the detector starts."""


def sign(secret: bytes, timestamp: str, body: bytes) -> str:
    """The ``X-PoseWatch-Signature`` value: ``sha256=`` + hex HMAC-SHA256 of ``timestamp + "." + body``."""
    return "sha256=" + hmac.new(secret, timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def verify(secret: bytes, timestamp: str, body: bytes, signature: str, max_age_s: float = 300.0,
           now: float | None = None) -> bool:
    """A receiver's check: the signature matches (constant-time compare) and the timestamp is at most ``max_age_s``
    seconds from ``now`` (replays of old requests are refused)."""
    try:
        age = abs((time.time() if now is None else now) - float(timestamp))
    except ValueError:
        return False
    return age <= max_age_s and hmac.compare_digest(sign(secret, timestamp, body), signature)


def read_secret(path: str) -> bytes:
    """The first line of a secret file, stripped (bytes).

    Raises:
        NotifyError: missing, unreadable or empty file.
    """
    from pathlib import Path

    p = Path(path).expanduser()
    try:
        text = p.read_text(encoding="utf-8").strip()
    except OSError as e:
        raise NotifyError(f"cannot read secret file {p}: {e.strerror or e}") from None
    if not text or len(text.splitlines()) != 1:
        raise NotifyError(f"secret file {p} must hold one non-empty line")
    return text.encode()


def camera_name(source: str | int) -> str:
    """A short name for a live source, safe in an MQTT topic (letters, digits, ``_ . -``): ``webcam0`` for a webcam,
    the file's stem, a stream's host and path (never its user name or password)."""
    from pathlib import Path

    s = str(source)
    if re.fullmatch(r"\d+", s) or s.startswith("webcam:"):
        name = "webcam" + s.split(":")[-1]
    elif "://" in s:
        u = urllib.parse.urlsplit(s)
        name = (u.hostname or "stream") + (("-" + str(u.port)) if u.port else "") + u.path.replace("/", "-")
    else:
        name = Path(s).stem or "camera"
    return safe_topic_part(name)


def safe_topic_part(name: str) -> str:
    """``name`` with every character other than letters, digits, ``_ . -`` replaced by ``_`` (no MQTT wildcards
    ``+ #`` or level separators ``/``), at most 64 characters."""
    return (re.sub(r"[^A-Za-z0-9_.\-]", "_", name).strip("._-") or "camera")[:64]


@dataclass
class _Pending:
    event_id: str
    body: bytes
    queued_at: float


class _Stats:
    def __init__(self) -> None:
        self.sent = 0
        self.failed = 0
        self.dropped = 0
        self.lock = threading.Lock()

    def add(self, **kw: int) -> None:
        with self.lock:
            for k, v in kw.items():
                setattr(self, k, getattr(self, k) + v)

    def as_dict(self) -> dict:
        with self.lock:
            return {"sent": self.sent, "failed": self.failed, "dropped": self.dropped}


class WebhookSink:
    """POSTs events to ``url`` from its own thread, signed, retried with back-off (see the module docstring).

    Args:
        url: ``http://`` or ``https://`` URL.
        secret: HMAC key (None: unsigned).
        timeout_s: seconds for one try (connect + answer).
        backoff_s: seconds to wait after the 1st, 2nd, … failed try; ``len(backoff_s) + 1`` tries in all (None: the
            setting ``reconnect.webhook_backoff_s``).
        queue_size: events waiting at most (the oldest is dropped beyond).
        cafile: certificate to trust for an ``https`` receiver with a self-signed certificate.
        on_status: one-line warnings (called from the sink's thread).

    Raises:
        NotifyError: a URL that is not http(s).
    """

    def __init__(self, url: str, secret: bytes | None = None, timeout_s: float = 5.0,
                 backoff_s: tuple[float, ...] | None = None, queue_size: int = 100, cafile: str | None = None,
                 on_status: Callable[[str], None] | None = None):
        u = urllib.parse.urlsplit(url)
        if u.scheme not in ("http", "https") or not u.hostname:
            raise NotifyError(f"bad setting live.webhook_url = '{url}': the webhook URL must be http:// or https://host…")
        self.url, self.secret, self.timeout_s = url, secret, float(timeout_s)
        self.backoff_s = tuple(float(b) for b in (config.backoff("webhook") if backoff_s is None else backoff_s))
        self.shown = f"{u.scheme}://{u.hostname}{':' + str(u.port) if u.port else ''}{u.path}"  # no credentials
        self._ctx = None
        if u.scheme == "https":
            import ssl

            self._ctx = ssl.create_default_context(cafile=cafile)
        self._q: collections.deque[_Pending] = collections.deque()
        self._maxsize = max(1, int(queue_size))
        self._cv = threading.Condition()
        self._closing = False
        self._deadline: float | None = None
        self._busy = False
        self.on_status = on_status
        self.stats = _Stats()
        self._thread = threading.Thread(target=self._loop, name="notify-webhook", daemon=True)
        self._thread.start()

    def send(self, event: dict) -> None:
        """Queue ``event`` (JSON-serialisable) for delivery; returns at once."""
        body = json.dumps(event, ensure_ascii=False).encode("utf-8")
        with self._cv:
            if self._closing:
                return
            while len(self._q) >= self._maxsize:
                old = self._q.popleft()
                self.stats.add(dropped=1)
                self._warn(f"webhook {self.shown} is behind: dropped alert {old.event_id} (queue full)")
            self._q.append(_Pending(event.get("event_id") or uuid.uuid4().hex, body, time.monotonic()))
            self._cv.notify_all()

    def pending(self) -> int:
        """Events waiting or being delivered."""
        with self._cv:
            return len(self._q) + (1 if self._busy else 0)

    def close(self, timeout: float = 5.0) -> None:
        """Deliver what is waiting for at most ``timeout`` seconds, then stop (what is left is reported)."""
        with self._cv:
            self._closing = True
            self._deadline = time.monotonic() + max(0.0, timeout)
            self._cv.notify_all()
        self._thread.join(max(0.0, timeout) + self.timeout_s + 1.0)

    # ---- internals
    def _warn(self, msg: str) -> None:
        if self.on_status is not None:
            try:
                self.on_status(f"warning: {msg}")
            except Exception:
                pass

    def _sleep(self, seconds: float) -> bool:
        """Wait ``seconds`` (cut short at the close deadline); False when the deadline has passed."""
        with self._cv:
            end = time.monotonic() + seconds
            while True:
                now = time.monotonic()
                limit = end if self._deadline is None else min(end, self._deadline)
                if now >= limit:
                    return self._deadline is None or now < self._deadline
                self._cv.wait(limit - now)

    def _loop(self) -> None:
        while True:
            with self._cv:
                while not self._q and not self._closing:
                    self._cv.wait()
                if not self._q:
                    return
                item = self._q.popleft()
                self._busy = True
            try:
                self._deliver(item)
            finally:
                with self._cv:
                    self._busy = False
            if self._deadline is not None and time.monotonic() >= self._deadline:
                with self._cv:
                    left = len(self._q)
                    self._q.clear()
                if left:
                    self.stats.add(failed=left)
                    self._warn(f"{left} alert(s) not delivered to webhook {self.shown}: stopped")
                return

    def _try(self, item: _Pending) -> tuple[bool, bool, str, float | None]:
        """One POST: ``(delivered, retry, reason, retry_after_s)``."""
        ts = f"{time.time():.3f}"
        headers = {"Content-Type": "application/json; charset=utf-8", "User-Agent": "PoseWatch",
                   EVENT_HEADER: item.event_id, TIMESTAMP_HEADER: ts}
        if self.secret is not None:
            headers[SIGNATURE_HEADER] = sign(self.secret, ts, item.body)
        req = urllib.request.Request(self.url, data=item.body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(req, timeout=self.timeout_s, context=self._ctx) as r:
                r.read(65536)
                return True, False, f"HTTP {r.status}", None
        except urllib.error.HTTPError as e:
            after = None
            try:
                after = min(60.0, float(e.headers.get("Retry-After", "")))
            except (TypeError, ValueError):
                pass
            return False, e.code in RETRY_STATUS, f"HTTP {e.code} {e.reason}", after
        except (urllib.error.URLError, OSError, ValueError) as e:
            reason = getattr(e, "reason", None) or e
            return False, True, str(reason) or type(reason).__name__, None

    def _deliver(self, item: _Pending) -> None:
        for attempt in range(len(self.backoff_s) + 1):
            ok, retry, reason, after = self._try(item)
            if ok:
                self.stats.add(sent=1)
                return
            if not retry:
                break
            if attempt == len(self.backoff_s):
                break
            if not self._sleep(after if after is not None else self.backoff_s[attempt]):
                reason += "; stopped while retrying"
                break
        self.stats.add(failed=1)
        self._warn(f"alert {item.event_id} not delivered to webhook {self.shown} after {attempt + 1} "
                   f"tr{'y' if attempt == 0 else 'ies'}: {reason}")


class MqttSink:
    """Publishes events with paho-mqtt (QoS 1 by default) to one topic per camera.

    Args:
        url: ``mqtt://[user@]host[:1883]`` or ``mqtts://host[:8883]`` (TLS); a password in the URL is refused (use
            ``password_file``).
        topic: the topic, ``{camera}`` replaced by the camera's name (:func:`safe_topic_part`).
        camera: the camera's name.
        qos: 0, 1 or 2.
        password_file: file holding the password (with a user name in the URL or ``username``).
        cafile: certificate to trust for ``mqtts`` with a self-signed broker certificate.
        queue_size: messages paho keeps while disconnected at most.
        on_status: one-line messages (connected, lost, refused) from paho's thread.

    Raises:
        NotifyError: a bad URL, topic or QoS, an unreadable password file.
    """

    def __init__(self, url: str, topic: str = "posewatch/{camera}/alerts", camera: str = "camera", qos: int = 1,
                 username: str | None = None, password_file: str | None = None, cafile: str | None = None,
                 queue_size: int = 100, on_status: Callable[[str], None] | None = None, keepalive_s: int = 30):
        import paho.mqtt.client as mqtt

        u = urllib.parse.urlsplit(url)
        if u.scheme not in ("mqtt", "mqtts") or not u.hostname:
            raise NotifyError(f"bad setting live.mqtt_url = '{url}': the MQTT URL must be mqtt://host[:port] or "
                              "mqtts://host[:port]")
        if u.password:
            raise NotifyError("bad setting live.mqtt_url: put the MQTT password in a file (live.mqtt_password_file), "
                              "not in the URL")
        if qos not in (0, 1, 2):
            raise NotifyError(f"bad setting live.mqtt_qos = {qos!r}: MQTT QoS must be 0, 1 or 2")
        self.topic = topic.replace("{camera}", safe_topic_part(camera))
        if not self.topic or any(c in self.topic for c in "+#\0"):
            raise NotifyError(f"bad setting live.mqtt_topic = '{topic}': the MQTT topic must not be empty or hold + or #")
        self.qos = qos
        self.host, self.port = u.hostname, u.port or (8883 if u.scheme == "mqtts" else 1883)
        self.shown = f"{u.scheme}://{self.host}:{self.port}"
        self.on_status = on_status
        self.stats = _Stats()
        self._inflight: set[int] = set()
        self._cv = threading.Condition()
        self._connected = False
        self._was_connected = False
        self._client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2,
                                   client_id=f"posewatch-{safe_topic_part(camera)}-{uuid.uuid4().hex[:8]}")
        user = username or (urllib.parse.unquote(u.username) if u.username else None)
        if password_file and not user:
            raise NotifyError("bad setting live.mqtt_password_file: a password file needs a user name "
                              "(mqtt://USER@host or live.mqtt_username)")
        if user:
            pw = read_secret(password_file).decode() if password_file else None
            self._client.username_pw_set(user, pw)
        if u.scheme == "mqtts":
            self._client.tls_set(ca_certs=cafile)
        self._client.max_queued_messages_set(max(1, int(queue_size)))
        steps = config.backoff("mqtt")
        self._client.reconnect_delay_set(max(1, round(steps[0])), max(1, round(steps[-1])))  # paho: whole seconds
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = self._on_disconnect
        self._client.on_publish = self._on_publish
        self._client.connect_async(self.host, self.port, keepalive=keepalive_s)
        self._client.loop_start()

    def send(self, event: dict) -> None:
        """Publish ``event`` as JSON (returns at once; paho sends it from its thread, or once reconnected)."""
        import paho.mqtt.client as mqtt

        body = json.dumps(event, ensure_ascii=False).encode("utf-8")
        with self._cv:
            info = self._client.publish(self.topic, body, qos=self.qos)
            if info.rc == mqtt.MQTT_ERR_QUEUE_SIZE:
                self.stats.add(dropped=1)
                self._warn(f"MQTT broker {self.shown} unreachable: dropped an alert (queue full)")
                return
            if self.qos == 0 and info.rc != mqtt.MQTT_ERR_SUCCESS:
                self.stats.add(failed=1)
                return
            if self.qos == 0:
                self.stats.add(sent=1)
                return
            self._inflight.add(info.mid)

    def _on_publish(self, client, userdata, mid, reason_code=None, properties=None) -> None:
        with self._cv:
            if mid in self._inflight:
                self._inflight.discard(mid)
                self.stats.add(sent=1)
            self._cv.notify_all()

    def _on_connect(self, client, userdata, flags, reason_code, properties=None) -> None:
        if reason_code.is_failure:
            self._say(f"warning: MQTT broker {self.shown} refused the connection: {reason_code}")
            return
        self._connected = True
        self._say(f"MQTT {'reconnected to' if self._was_connected else 'connected to'} {self.shown} "
                  f"(topic {self.topic})")
        self._was_connected = True

    def _on_disconnect(self, client, userdata, flags, reason_code, properties=None) -> None:
        if self._connected:
            self._say(f"warning: MQTT broker {self.shown} lost ({reason_code}) — reconnecting")
        self._connected = False

    def _say(self, msg: str) -> None:
        if self.on_status is not None:
            try:
                self.on_status(msg)
            except Exception:
                pass

    def _warn(self, msg: str) -> None:
        self._say(f"warning: {msg}")

    def pending(self) -> int:
        """QoS 1/2 messages not yet acknowledged by the broker."""
        with self._cv:
            return len(self._inflight)

    def close(self, timeout: float = 5.0) -> None:
        """Wait at most ``timeout`` seconds for unacknowledged messages, then disconnect."""
        end = time.monotonic() + max(0.0, timeout)
        with self._cv:
            while self._inflight and time.monotonic() < end:
                self._cv.wait(min(0.1, max(0.0, end - time.monotonic())))
            left = len(self._inflight)
        if left:
            self.stats.add(failed=left)
            self._warn(f"{left} alert(s) not delivered to MQTT broker {self.shown}")
        try:
            self._client.disconnect()
        finally:
            self._client.loop_stop()


class Notifier:
    """The notification sinks of one camera, from a :class:`core.live.LiveConfig` (its ``webhook_*`` and ``mqtt_*``
    settings); :meth:`send` never blocks.

    Args:
        cfg: the live settings.
        camera: the camera's name (events and the MQTT topic carry it).
        on_status: one-line messages from the sinks' threads.

    Raises:
        NotifyError: an unusable setting (checked here, before detection starts).
    """

    def __init__(self, cfg, camera: str, on_status: Callable[[str], None] | None = None):
        self.camera = camera
        self.sinks: list = []
        try:
            if cfg.webhook_url:
                secret = read_secret(cfg.webhook_secret_file) if cfg.webhook_secret_file else None
                self.sinks.append(WebhookSink(cfg.webhook_url, secret, cfg.webhook_timeout_s,
                                              cafile=cfg.webhook_cafile,
                                              on_status=on_status))
            elif cfg.webhook_secret_file:
                raise NotifyError("bad setting live.webhook_secret_file: it needs live.webhook_url")
            if cfg.mqtt_url:
                self.sinks.append(MqttSink(cfg.mqtt_url, cfg.mqtt_topic, camera, cfg.mqtt_qos,
                                           cfg.mqtt_username, cfg.mqtt_password_file, cfg.mqtt_cafile,
                                           on_status=on_status))
        except BaseException:
            self.close(0.0)
            raise

    @property
    def active(self) -> bool:
        """True when there is at least one sink."""
        return bool(self.sinks)

    def send(self, event: dict) -> None:
        """Hand ``event`` to every sink, with a unique ``event_id`` added when it has none (returns at once)."""
        event = dict(event)
        event.setdefault("event_id", uuid.uuid4().hex)
        for s in self.sinks:
            s.send(event)

    def stats(self) -> dict:
        """``{"webhook": {"sent", "failed", "dropped"}, "mqtt": {…}}`` for the sinks there are."""
        return {("webhook" if isinstance(s, WebhookSink) else "mqtt"): s.stats.as_dict() for s in self.sinks}

    def close(self, timeout: float = 5.0) -> None:
        """Close every sink, giving them ``timeout`` seconds in all to deliver what waits."""
        end = time.monotonic() + max(0.0, timeout)
        for s in self.sinks:
            s.close(max(0.0, end - time.monotonic()))

"""core.live.notify: alert notifications to a real local HTTP server and a real local MQTT broker (mosquitto),
loopback only, and from the live detector on a real fall clip."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from core import config
from core.config import ConfigError
from core.live import LiveConfig, LiveDetector
from core.live.notify import (EVENT_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, MqttSink, Notifier, NotifyError,
                              WebhookSink, camera_name, sign, verify)
from tests.conftest import MosquittoBroker, MqttSubscriber, free_port

FAST = (0.02, 0.05, 0.1)


class Receiver:
    """A real HTTP server on 127.0.0.1 recording every POST; ``answers`` are the statuses of the first requests
    (then 200); ``hold`` makes every request wait until it is set."""

    def __init__(self, answers=(), hold: threading.Event | None = None):
        self.requests: list[dict] = []
        self.answers = list(answers)
        self.hold = hold
        self.cv = threading.Condition()
        outer = self

        class H(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if outer.hold is not None:
                    outer.hold.wait(30)
                with outer.cv:
                    outer.requests.append({"headers": self.headers, "body": body, "path": self.path})
                    code = outer.answers.pop(0) if outer.answers else 200
                    outer.cv.notify_all()
                self.send_response(code)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *a):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait_for(self, n: int, timeout: float = 20.0) -> list[dict]:
        end = time.monotonic() + timeout
        with self.cv:
            while len(self.requests) < n and time.monotonic() < end:
                self.cv.wait(0.05)
            return list(self.requests)

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    made = []

    def make(*a, **kw):
        r = Receiver(*a, **kw)
        made.append(r)
        return r

    yield make
    for r in made:
        if r.hold is not None:
            r.hold.set()
        r.close()


# ---- webhook ------------------------------------------------------------------------------------------
def test_webhook_is_signed_and_retried_after_5xx_with_the_same_event_id(receiver):
    rx = receiver(answers=[503, 500])
    status: list[str] = []
    sink = WebhookSink(rx.url, b"s3cret", backoff_s=FAST, on_status=status.append)
    event = {"label": "falling", "frame": 200, "camera": "hall", "event_id": "abc123"}
    sink.send(event)
    reqs = rx.wait_for(3)
    sink.close(5)
    assert len(reqs) == 3 and sink.stats.as_dict() == {"sent": 1, "failed": 0, "dropped": 0}
    assert {r["headers"][EVENT_HEADER] for r in reqs} == {"abc123"}
    for r in reqs:
        assert json.loads(r["body"]) == event and r["path"] == "/hook"
        ts, sig = r["headers"][TIMESTAMP_HEADER], r["headers"][SIGNATURE_HEADER]
        assert verify(b"s3cret", ts, r["body"], sig)
        assert not verify(b"wrong", ts, r["body"], sig)
        assert not verify(b"s3cret", ts, r["body"] + b" ", sig)  # a changed body does not verify
    assert not verify(b"s3cret", "1000.0", reqs[0]["body"], sign(b"s3cret", "1000.0", reqs[0]["body"]))  # too old
    assert status == []


def test_webhook_gives_up_with_one_line_after_its_tries_and_never_retries_a_4xx(receiver):
    rx = receiver(answers=[500] * 10)
    status: list[str] = []
    sink = WebhookSink(rx.url, backoff_s=FAST, on_status=status.append)
    sink.send({"n": 1})
    sink.close(10)
    assert len(rx.requests) == 4 and SIGNATURE_HEADER not in rx.requests[0]["headers"]  # no secret: unsigned
    assert len(status) == 1 and status[0].startswith("warning: alert ") and "after 4 tries: HTTP 500" in status[0]
    assert sink.stats.as_dict()["failed"] == 1

    rx2 = receiver(answers=[404])
    status.clear()
    sink = WebhookSink(rx2.url, backoff_s=FAST, on_status=status.append)
    sink.send({"n": 2})
    sink.close(10)
    assert len(rx2.requests) == 1 and len(status) == 1 and "after 1 try: HTTP 404" in status[0]


def test_webhook_unreachable_is_one_line():
    status: list[str] = []
    sink = WebhookSink(f"http://127.0.0.1:{free_port()}/x", backoff_s=(0.01,), on_status=status.append)
    sink.send({"n": 1})
    sink.close(10)
    assert len(status) == 1 and "after 2 tries" in status[0] and "refused" in status[0].lower(), status


def test_webhook_send_never_waits_for_a_slow_receiver_and_keeps_order(receiver):
    hold = threading.Event()
    rx = receiver(hold=hold)
    sink = WebhookSink(rx.url, timeout_s=30, backoff_s=FAST)
    for i in range(5):
        sink.send({"n": i})  # the receiver holds the first request: send must still return at once
    assert sink.pending() == 5 and rx.requests == []
    hold.set()
    reqs = rx.wait_for(5)
    sink.close(10)
    assert [json.loads(r["body"])["n"] for r in reqs] == [0, 1, 2, 3, 4]


def test_webhook_queue_is_bounded_oldest_dropped(receiver):
    hold = threading.Event()
    rx = receiver(hold=hold)
    status: list[str] = []
    sink = WebhookSink(rx.url, timeout_s=30, queue_size=2, on_status=status.append)
    sink.send({"n": 0})
    deadline = time.monotonic() + 10
    while sink._q and time.monotonic() < deadline:  # the thread has taken event 0 (now held by the receiver)
        time.sleep(0.01)
    for i in range(1, 5):
        sink.send({"n": i})
    hold.set()
    reqs = rx.wait_for(3)
    sink.close(10)
    assert [json.loads(r["body"])["n"] for r in reqs] == [0, 3, 4]
    assert sink.stats.as_dict()["dropped"] == 2 and sum("queue full" in s for s in status) == 2


def test_bad_settings_are_one_line(tmp_path):
    with pytest.raises(NotifyError, match="http:// or https://"):
        WebhookSink("ftp://example.org/x")
    with pytest.raises(NotifyError, match="cannot read secret file"):
        Notifier(LiveConfig(webhook_url="http://127.0.0.1:9/x", webhook_secret_file=str(tmp_path / "none")), "c")
    with pytest.raises(NotifyError, match="live.webhook_secret_file: it needs live.webhook_url"):
        Notifier(LiveConfig(webhook_secret_file=str(tmp_path / "none")), "c")
    with pytest.raises(NotifyError, match="password in a file"):
        MqttSink("mqtt://u:pw@127.0.0.1:1883")
    with pytest.raises(NotifyError, match="mqtt://host"):
        MqttSink("http://127.0.0.1:1883")
    assert camera_name("rtsp://admin:pw@10.0.0.5:554/stream1") == "10.0.0.5-554-stream1"
    assert camera_name(0) == "webcam0" and camera_name("webcam:2") == "webcam2"
    assert camera_name("/videos/shop door.mp4") == "shop_door"


# ---- MQTT -------------------------------------------------------------------------------------------------
def test_mqtt_publishes_per_camera_and_delivers_what_waited_while_the_broker_was_down(tmp_path):
    port = free_port()
    broker = MosquittoBroker(port, tmp_path / "broker", persistence=True).start()
    sub = MqttSubscriber(port, client_id="posewatch-test-sub")  # a persistent session: queued across the restart
    status: list[str] = []
    sink = MqttSink(f"mqtt://127.0.0.1:{port}", camera="shop/door #1", on_status=status.append)
    try:
        assert sink.topic == "posewatch/shop_door__1/alerts"
        sink.send({"n": 1})
        msgs = sub.wait_for(1)
        assert msgs == [("posewatch/shop_door__1/alerts", {"n": 1})]
        broker.stop()  # the broker goes away: sends still return at once, paho keeps the message
        deadline = time.monotonic() + 20
        while not any("lost" in s for s in status) and time.monotonic() < deadline:
            time.sleep(0.05)
        sink.send({"n": 2})
        assert sink.pending() == 1
        broker.start()
        msgs = sub.wait_for(2)
        assert [m[1]["n"] for m in msgs] == [1, 2]
        assert any(s.startswith("MQTT connected to") for s in status)
        assert any(s.startswith("warning: MQTT broker") and "lost" in s for s in status)
        assert any(s.startswith("MQTT reconnected to") for s in status)
    finally:
        sink.close(5)
        sub.close()
        broker.stop()
    assert sink.stats.as_dict() == {"sent": 2, "failed": 0, "dropped": 0}


# ---- from the live detector ----------------------------------------------------------------------------------
def test_detector_alerts_reach_the_webhook_and_mqtt_naming_the_camera(tmp_path, fall04, receiver):
    port = free_port()
    broker = MosquittoBroker(port, tmp_path / "broker").start()
    sub = MqttSubscriber(port)
    rx = receiver(answers=[503])  # the first try fails: retried
    secret = tmp_path / "hook.secret"
    secret.write_text("k3y\n")
    config.activate(sets=[f"reconnect.webhook_backoff_s={list(FAST)}"])  # the one back-off setting, made fast
    cfg = LiveConfig(classifier="fall", events_dir=str(tmp_path), start_frame=150, stop_frame=260, camera="hall",
                     webhook_url=rx.url, webhook_secret_file=str(secret), mqtt_url=f"mqtt://127.0.0.1:{port}")
    status: list[str] = []
    det = LiveDetector(str(fall04), cfg, on_status=status.append)
    try:
        det.start()
        assert det.join(300)
        assert det.error is None
        lines = [json.loads(x) for x in (tmp_path / "events.jsonl").read_text().splitlines()]
        assert lines and all(ln["camera"] == "hall" for ln in lines)
        reqs = rx.wait_for(len(lines) + 1)
        got = [json.loads(r["body"]) for r in reqs[1:]]
        assert [{k: v for k, v in g.items() if k != "event_id"} for g in got] == lines
        assert all(verify(b"k3y", r["headers"][TIMESTAMP_HEADER], r["body"], r["headers"][SIGNATURE_HEADER])
                   for r in reqs)
        msgs = sub.wait_for(len(lines))
        assert [m[0] for m in msgs] == ["posewatch/hall/alerts"] * len(lines)
        assert [m[1] for m in msgs] == got  # the same event, the same id, on both
        assert det.stats()["notify"] == {"webhook": {"sent": len(lines), "failed": 0, "dropped": 0},
                                         "mqtt": {"sent": len(lines), "failed": 0, "dropped": 0}}
    finally:
        config.reset()
        sub.close()
        broker.stop()


def test_notification_settings_are_checked_naming_the_key():
    try:
        for bad, key in (("live.mqtt_qos=3", "live.mqtt_qos"), ("live.webhook_timeout_s=soon", "live.webhook_timeout_s"),
                         ("reconnect.webhook_backoff_s=[-1]", "reconnect.webhook_backoff_s"),
                         ("live.webhook_sekret=x", "live.webhook_sekret")):
            with pytest.raises(ConfigError, match=key.replace(".", r"\.")) as e:
                config.activate(sets=[bad])
            assert len(str(e.value).splitlines()) == 1
        config.activate(sets=["reconnect.webhook_backoff_s=[0.5]", "live.mqtt_topic=site/{camera}"])
        sink = WebhookSink("http://127.0.0.1:9/x")
        sink.close(0.0)
        assert sink.backoff_s == (0.5,) and LiveConfig().mqtt_topic == "site/{camera}"
    finally:
        config.reset()
    assert config.backoff("webhook") == (1.0, 2.0, 4.0, 8.0, 16.0) and config.backoff("mqtt")[-1] == 30.0


def test_detector_with_a_bad_notification_setting_fails_at_start(fall04):
    det = LiveDetector(str(fall04), LiveConfig(classifier=None, mqtt_url="mqtt://127.0.0.1:1883", mqtt_qos=3))
    with pytest.raises(NotifyError, match="QoS"):
        det.start()
    assert not det.running

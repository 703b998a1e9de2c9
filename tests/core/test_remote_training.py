"""Training on the worker (core.remote.training): a real worker process on 127.0.0.1, ``main.py train --remote`` as a
real client process, a real TCP proxy between them whose connections the test cuts mid-run (the run goes on, the
client re-attaches), Stop from the client, the best checkpoint and its metrics back on the desktop."""

from __future__ import annotations

import json
import secrets
import signal
import socket
import subprocess
import sys
import threading
import urllib.error
import urllib.request

import pytest

from core.classify import TrackClassifier
from core.remote import RemoteError
from core.remote.training import RemoteTraining
from tests.conftest import ROOT, WorkerProcess, aihub_few_sequences, free_port
from tests.test_cli import cli
from tests.test_cli_train import EVENT_KEYS, aihub_subset  # noqa: F401  (fixture)


# Under pytest-xdist (--dist loadgroup) this module's tests run in one worker, so its module fixtures are made once.
pytestmark = pytest.mark.xdist_group("test_remote_training")


class Proxy:
    """A TCP proxy on 127.0.0.1 to ``target``; :meth:`cut` closes every open connection (both sides), as a dropped
    network link would, and keeps accepting new ones."""

    def __init__(self, target: int):
        self.target = target
        self.srv = socket.create_server(("127.0.0.1", 0))
        self.port = self.srv.getsockname()[1]
        self.conns: list[socket.socket] = []
        self.lock = threading.Lock()
        self.cuts = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                a, _ = self.srv.accept()
            except OSError:
                return
            b = socket.create_connection(("127.0.0.1", self.target))
            with self.lock:
                self.conns += [a, b]
            for x, y in ((a, b), (b, a)):
                threading.Thread(target=self._pump, args=(x, y), daemon=True).start()

    @staticmethod
    def _pump(src, dst):
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def cut(self):
        with self.lock:
            conns, self.conns = self.conns, []
            self.cuts += 1
        for s in conns:
            try:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")  # RST
                s.close()
            except OSError:
                pass

    def close(self):
        self.cut()
        self.srv.close()


@pytest.fixture(scope="module")
def worker(tmp_path_factory):
    d = tmp_path_factory.mktemp("train-worker")
    token = d / "token"
    token.write_text(secrets.token_hex(16))
    w = WorkerProcess(free_port(), token, d / "worker.log", "--max-upload-mb", "1").start()
    yield w
    w.stop()


def _events(text: str) -> list[dict]:
    return [json.loads(ln) for ln in text.splitlines() if ln.strip()]


def test_train_remote_streams_the_events_survives_a_dropped_link_stops_and_brings_the_checkpoint_back(
        worker, aihub_subset, tmp_path):  # noqa: F811
    proxy = Proxy(worker.port)
    out = tmp_path / "run"
    p = subprocess.Popen([sys.executable, str(ROOT / "main.py"), "train", "--remote", f"ws://127.0.0.1:{proxy.port}",
                          "--token-file", str(worker.token_file), "--data", str(aihub_subset), "--preset", "default",
                          "--epochs", "500", "--time-limit", "600", "--out", str(out), "--events", "jsonl"],
                         cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    ev: list[dict] = []
    try:
        for line in p.stdout:  # read to the end (the client's stderr is a few lines: no pipe fills up)
            ev.append(json.loads(line))
            epochs = [e for e in ev if e["event"] == "epoch_end"]
            if len(epochs) == 1 and proxy.cuts == 0:
                proxy.cut()  # the link drops: the run goes on on the worker, the client re-attaches
                # Stop at once, while the client has no stream: what the Train panel's Stop does to its child. (Sent
                # later, after the re-attach, the worker may be epochs ahead of the replayed events and a loaded
                # machine let it end by early stopping first.)
                p.send_signal(signal.SIGTERM)
        p.wait(180)
        err = p.stderr.read()
    finally:
        if p.poll() is None:
            p.kill()
        proxy.close()
    assert p.returncode == 0, err
    rest = ""
    assert ev[0]["event"] == "start" and ev[-1]["event"] == "done"
    for e in ev:
        assert set(e) - {"event"} == EVENT_KEYS[e["event"]], e  # the same events as a local run
    epochs = [e["epoch"] for e in ev if e["event"] == "epoch_end"]
    assert epochs == list(range(1, len(epochs) + 1)) and 1 <= len(epochs) < 500  # none lost, none twice
    done = ev[-1]
    assert done["stopped"] is True and done["stop_reason"] == "stopped", (done["stop_reason"], done["epochs_run"], err)
    assert done["path"] == str(out / "model.pt")
    assert "connection to the worker lost" in err and "re-attached to training run" in err
    assert "worker-runs" not in rest + "".join(json.dumps(e) for e in ev)  # no path on the worker leaks out
    clf = TrackClassifier(out / "model.pt")
    best = max(e["val_macro_f1"] for e in ev if e["event"] == "checkpoint")
    assert clf.ckpt.metrics["macro_f1"] == pytest.approx(best)
    assert json.loads((out / "metrics.json").read_text())["stopped"] is True
    assert not list(out.glob("*.part"))

    run_id = err.split("training run ", 1)[1].split()[0]
    r = cli("train", "--remote", worker.url, "--token-file", worker.token_file, "--attach", run_id,
            "--out", tmp_path / "again", "--events", "jsonl")  # a client that died re-attaches: the whole stream again
    assert r.returncode == 0, r.stderr
    assert [e["event"] for e in _events(r.stdout)] == [e["event"] for e in ev]
    assert (tmp_path / "again" / "model.pt").read_bytes() == (out / "model.pt").read_bytes()


def test_requests_need_the_token_respect_the_limits_and_never_name_a_path(worker, tmp_path):
    base = f"http://127.0.0.1:{worker.port}"

    def post(path, data=b"x", headers=None):
        req = urllib.request.Request(base + path, data=data, method="POST", headers=headers or {})
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                return r.status, json.loads(r.read())
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read())

    tok = {"Authorization": f"Bearer {worker.token_file.read_text().strip()}"}
    assert post("/v1/train")[0] == 401
    assert post("/v1/train", headers={"Authorization": "Bearer nope"})[0] == 403
    code, body = post("/v1/train?data=/etc/passwd", headers=tok)
    assert code == 400 and body["detail"].startswith("unknown option 'data'")
    code, body = post("/v1/train?model=../../x", headers=tok)
    assert code == 400 and "must be a name" in body["detail"]
    code, body = post("/v1/train?model=resnet", headers=tok)
    assert code == 400 and "unknown model 'resnet'" in body["detail"]
    code, body = post("/v1/train?epochs=0", headers=tok)
    assert code == 400 and "out of range" in body["detail"]
    # the worker takes at most 1 MiB: refused by the announced length, before the body is read (a client sending the
    # 2 MiB would see its upload cut; RemoteTraining.start checks the size against /v1/info's limits first)
    code, body = post("/v1/train", data=b"\0" * 64, headers={**tok, "Content-Length": str(2 * 2**20)})
    assert code == 413 and "limit" in body["detail"]

    client = RemoteTraining(worker.url, worker.token_file.read_text().strip())
    with pytest.raises(RemoteError, match="HTTP 404: no training run"):
        client.status("0123456789abcdef")
    with pytest.raises(RemoteError, match="HTTP 404"):
        client.status("..%2F..%2Fetc")
    (tmp_path / "big.csv").write_bytes(b"\0" * (2 * 2**20))
    with pytest.raises(RemoteError, match="larger than the worker's limit of 1048576 bytes"):
        client.start(tmp_path / "big.csv")
    bad = RemoteTraining(worker.url, "wrong")
    with pytest.raises(RemoteError, match="HTTP 403: wrong token"):
        bad.start(aihub_few_sequences(tmp_path / "few.csv"))

    r = cli("train", "--remote", worker.url, "--token-file", worker.token_file, "--data", tmp_path / "a.csv",
            tmp_path / "b.csv", "--out", tmp_path / "o")
    assert r.returncode == 2 and r.stderr.strip() == ("error: with --remote give one dataset: an export's dataset.pt or "
                                                      "skeletons.csv, a skeleton CSV, or a project folder")
    (tmp_path / "junk.csv").write_text("not,a\nskeleton,file\n")
    r = cli("train", "--remote", worker.url, "--token-file", worker.token_file, "--data", tmp_path / "junk.csv",
            "--out", tmp_path / "o2", "--preset", "quick")
    assert r.returncode == 2 and r.stderr.strip().splitlines()[-1].startswith("error: worker: ")
    r = cli("train", "--remote", f"ws://127.0.0.1:{free_port()}", "--token-file", worker.token_file, "--data",
            tmp_path / "few.csv", "--out", tmp_path / "o3")
    assert r.returncode == 2 and r.stderr.strip().startswith("error: cannot reach worker at http://127.0.0.1:")

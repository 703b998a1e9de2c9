"""Training on the worker: the desktop sends a dataset (an export's bytes, never a path), the worker trains in a child
process (``main.py train --events jsonl``, the same event stream as a local run) and keeps the run going whatever
happens to the connection; the client streams the events, can stop the run, re-attach after a drop, and downloads
the best checkpoint with its metrics.

HTTP API (bearer token on every request, as the rest of the worker; JSON errors ``{"detail": …}``):

=========================================  ====================================================================
``POST /v1/train?model=&preset=&…``        body: the dataset file's bytes (a ``dataset.pt`` export, or a skeleton
                                           CSV: PoseWatch, AI-Hub, URFD); options (all optional): ``model``,
                                           ``preset``, ``epochs``, ``window``, ``stride``, ``batch_size``, ``lr``,
                                           ``time_limit``, ``seed``. → 201 ``{"run": ID}``. 400 a bad option,
                                           411 no Content-Length, 413 larger than ``--max-upload-mb``,
                                           409 a run is already going (one at a time: one GPU).
``GET /v1/train/ID``                       ``{"run", "state": running|stopping|done|failed, "events": n,
                                           "created", "metrics"}``
``GET /v1/train/ID/events?after=N``        the events from the (N+1)-th on, one JSON object a line, as they come;
                                           an empty line every 10 s keeps the connection alive; the response ends
                                           after the run's last event (``done`` or ``error``).
``POST /v1/train/ID/stop``                 SIGTERM to the child: it finishes the batch, keeps the best checkpoint
                                           and sends ``done`` with ``stop_reason: stopped``. → 202.
``GET /v1/train/ID/checkpoint``            the best checkpoint so far (``model.pt``); 404 before the first.
``GET /v1/train/ID/metrics``               ``metrics.json`` once the run has ended.
=========================================  ====================================================================

Nothing a client sends names a file on the worker: the dataset arrives as bytes and is stored under the worker's
own run folder (``<cache>/worker-runs/<ID>``, the ID 16 random hex digits), options are checked against a fixed
list, and the events a client gets carry file *names* (``model.pt``), not the worker's paths. The last
:data:`KEEP_RUNS` finished runs are kept; older ones are deleted when a new run starts.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

from fastapi import Request  # noqa: E402  (module level: FastAPI resolves the routes' annotations here)

from ..errors import RemoteError

#: Finished runs kept on the worker (their data, checkpoint and events).
KEEP_RUNS = 5
#: Default upper bound of an uploaded dataset (bytes).
MAX_UPLOAD_BYTES = 512 * 2**20
_RUN_ID = re.compile(r"^[0-9a-f]{16}$")
#: Options a client may give, with their types and bounds.
OPTIONS: dict[str, tuple[type, float | None, float | None]] = {
    "model": (str, None, None), "preset": (str, None, None), "epochs": (int, 1, 10000), "window": (int, 1, 1024),
    "stride": (int, 1, 1024), "batch_size": (int, 1, 65536), "lr": (float, 1e-8, 10.0),
    "time_limit": (float, 1.0, 7 * 86400.0), "seed": (int, -2**31, 2**31 - 1)}


# ============================================================================ worker side
def check_options(query: dict[str, str]) -> dict:
    """Validated training options from a request's query (strings) → ``{name: value}``.

    Raises:
        ValueError: an unknown option, a value of the wrong type or out of range, an unknown model or preset
            (the message names it).
    """
    out: dict = {}
    for k, v in query.items():
        if k not in OPTIONS:
            raise ValueError(f"unknown option '{k}'; known: {', '.join(OPTIONS)}")
        typ, lo, hi = OPTIONS[k]
        try:
            val = typ(v)
        except (TypeError, ValueError):
            raise ValueError(f"option {k} must be {typ.__name__}, got '{v}'") from None
        if typ is not str and ((lo is not None and val < lo) or (hi is not None and val > hi)):
            raise ValueError(f"option {k} = {v} is out of range [{lo:g}, {hi:g}]")
        if typ is str and not re.fullmatch(r"[A-Za-z0-9_\-]{1,40}", val):
            raise ValueError(f"option {k} must be a name, got '{v}'")
        out[k] = val
    from ..training import TrainingError, resolve_config

    try:
        resolve_config(out.get("model", "lstm"), out.get("preset", "default"), {})
    except TrainingError as e:
        raise ValueError(str(e)) from None
    return out


def _main_script() -> Path:
    """``main.py`` (the CLI whose ``train`` command runs a training)."""
    import importlib.util

    spec = importlib.util.find_spec("main")
    if spec is not None and spec.origin and Path(spec.origin).name == "main.py":
        return Path(spec.origin)
    return Path(__file__).resolve().parents[2] / "main.py"


def _scrub(event: dict) -> dict:
    """The event with every ``path`` reduced to its file name (the worker's folders stay on the worker)."""
    if isinstance(event.get("path"), str):
        event["path"] = Path(event["path"]).name
    return event


@dataclass
class TrainingRun:
    """One run on the worker: its folder, child process and events (guarded by ``cv``)."""

    id: str
    folder: Path
    options: dict
    created: float = field(default_factory=time.time)
    proc: subprocess.Popen | None = None
    events: list[dict] = field(default_factory=list)
    state: str = "running"
    cv: threading.Condition = field(default_factory=threading.Condition)

    @property
    def finished(self) -> bool:
        return self.state in ("done", "failed")

    def status(self) -> dict:
        with self.cv:
            done = next((e for e in reversed(self.events) if e.get("event") == "done"), None)
            return {"run": self.id, "state": self.state, "events": len(self.events), "created": self.created,
                    "options": self.options, "metrics": done.get("metrics") if done else None}


class TrainingManager:
    """The worker's training runs (one running at a time).

    Args:
        root: folder of the run folders (created).
        max_upload_bytes: largest dataset accepted.
    """

    def __init__(self, root: Path, max_upload_bytes: int = MAX_UPLOAD_BYTES):
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.max_upload_bytes = int(max_upload_bytes)
        self.runs: dict[str, TrainingRun] = {}
        self.lock = threading.Lock()

    def get(self, run_id: str) -> TrainingRun | None:
        """The run with this id (None: unknown or ill-formed id)."""
        if not _RUN_ID.match(run_id or ""):
            return None
        with self.lock:
            return self.runs.get(run_id)

    def busy(self) -> TrainingRun | None:
        with self.lock:
            return next((r for r in self.runs.values() if not r.finished), None)

    def new_run(self, options: dict) -> TrainingRun:
        """A new run's folder (older finished runs beyond :data:`KEEP_RUNS` are deleted)."""
        with self.lock:
            done = sorted((r for r in self.runs.values() if r.finished), key=lambda r: r.created)
            for r in done[:max(0, len(done) - KEEP_RUNS + 1)]:
                shutil.rmtree(r.folder, ignore_errors=True)
                self.runs.pop(r.id, None)
            run_id = secrets.token_hex(8)
            folder = self.root / run_id
            folder.mkdir()
            run = TrainingRun(run_id, folder, options)
            self.runs[run_id] = run
            return run

    def discard(self, run: TrainingRun) -> None:
        with self.lock:
            self.runs.pop(run.id, None)
        shutil.rmtree(run.folder, ignore_errors=True)

    def launch(self, run: TrainingRun, data_file: Path) -> None:
        """Start the child ``main.py train --events jsonl`` and a thread collecting its events."""
        o = run.options
        args = [sys.executable, str(_main_script()), "train", "--data", str(data_file), "--out", str(run.folder / "out"),
                "--events", "jsonl", "--model", o.get("model", "lstm"), "--preset", o.get("preset", "default")]
        for k, flag in (("epochs", "--epochs"), ("window", "--window"), ("stride", "--stride"),
                        ("batch_size", "--batch-size"), ("lr", "--lr"), ("time_limit", "--time-limit"),
                        ("seed", "--seed")):
            if k in o:
                args += [flag, str(o[k])]
        err = open(run.folder / "stderr.log", "wb")
        try:
            run.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=err, stdin=subprocess.DEVNULL,
                                        cwd=str(run.folder), env=dict(os.environ, PYTHONUNBUFFERED="1"))
        finally:
            err.close()
        threading.Thread(target=self._collect, args=(run,), name=f"train-{run.id}", daemon=True).start()

    def _collect(self, run: TrainingRun) -> None:
        log = open(run.folder / "events.jsonl", "a", encoding="utf-8")
        terminal = False
        try:
            for raw in run.proc.stdout:
                try:
                    ev = json.loads(raw)
                except ValueError:
                    continue  # a stray print: not an event
                if not isinstance(ev, dict) or "event" not in ev:
                    continue
                ev = _scrub(ev)
                log.write(json.dumps(ev) + "\n")
                log.flush()
                terminal = terminal or ev["event"] in ("done", "error")
                with run.cv:
                    run.events.append(ev)
                    run.cv.notify_all()
            rc = run.proc.wait()
            with run.cv:
                if not terminal:
                    tail = ""
                    try:
                        lines = (run.folder / "stderr.log").read_text(errors="replace").strip().splitlines()
                        tail = lines[-1][:200] if lines else ""
                    except OSError:
                        pass
                    ev = {"event": "error", "message": f"training process ended with status {rc}"
                                                      + (f": {tail}" if tail else "")}
                    run.events.append(ev)
                    log.write(json.dumps(ev) + "\n")
                last = run.events[-1]["event"] if run.events else "error"
                run.state = "done" if last == "done" else "failed"
                run.cv.notify_all()
        finally:
            log.close()

    def stop(self, run: TrainingRun) -> None:
        """SIGTERM the child (the trainer stops after the batch and keeps its best checkpoint)."""
        with run.cv:
            if run.finished or run.proc is None or run.proc.poll() is not None:
                return
            run.state = "stopping"
        run.proc.send_signal(signal.SIGTERM)

    def close(self) -> None:
        """Stop every running child (worker shutdown): SIGTERM, then SIGKILL after 10 s."""
        with self.lock:
            runs = list(self.runs.values())
        for r in runs:
            if r.proc is not None and r.proc.poll() is None:
                r.proc.send_signal(signal.SIGTERM)
        for r in runs:
            if r.proc is not None:
                try:
                    r.proc.wait(10)
                except subprocess.TimeoutExpired:
                    r.proc.kill()


def add_training_routes(app, manager: TrainingManager, check_auth: Callable[[str | None], tuple[int, str] | None],
                        deny: Callable) -> None:
    """Register the ``/v1/train`` endpoints (see the module docstring) on the worker's FastAPI ``app``.

    Args:
        check_auth: the worker's check of an ``Authorization`` header (None: allowed, else ``(status, reason)``).
        deny: makes the refusal response of ``(status, reason)``.
    """
    from fastapi.responses import FileResponse, JSONResponse, StreamingResponse

    def refuse(status: int, detail: str) -> JSONResponse:
        return JSONResponse({"detail": detail}, status_code=status)

    def authorised(request: Request):
        bad = check_auth(request.headers.get("authorization"))
        return deny(*bad) if bad else None

    def find(run_id: str):
        run = manager.get(run_id)
        return run, (None if run is not None else refuse(404, f"no training run '{run_id[:40]}' on this worker"))

    @app.post("/v1/train")
    async def start(request: Request):
        if (bad := authorised(request)) is not None:
            return bad
        try:
            options = check_options(dict(request.query_params))
        except ValueError as e:
            return refuse(400, str(e))
        length = request.headers.get("content-length")
        if length is None or not length.isdigit():
            return refuse(411, "send the dataset with a Content-Length")
        if int(length) > manager.max_upload_bytes:
            return refuse(413, f"dataset of {int(length)} bytes is larger than this worker's limit of "
                               f"{manager.max_upload_bytes} bytes")
        if int(length) == 0:
            return refuse(400, "empty dataset")
        if (other := manager.busy()) is not None:
            return refuse(409, f"a training run is already going on this worker ({other.id})")
        run = manager.new_run(options)
        part = run.folder / "upload.part"
        size, head = 0, b""
        try:
            with open(part, "wb") as f:
                async for chunk in request.stream():
                    size += len(chunk)
                    if size > manager.max_upload_bytes or size > int(length):
                        manager.discard(run)
                        return refuse(413, "dataset larger than announced or than this worker's limit")
                    if len(head) < 4:
                        head += chunk[:4]
                    f.write(chunk)
        except Exception:
            manager.discard(run)
            raise
        if size != int(length):
            manager.discard(run)
            return refuse(400, f"dataset cut short: {size} of {length} bytes")
        data = run.folder / ("data.pt" if head.startswith(b"PK\x03\x04") else "data.csv")
        os.replace(part, data)
        await asyncio.get_running_loop().run_in_executor(None, manager.launch, run, data)
        return JSONResponse({"run": run.id}, status_code=201)

    @app.get("/v1/train/{run_id}")
    async def status(run_id: str, request: Request):
        if (bad := authorised(request)) is not None:
            return bad
        run, missing = find(run_id)
        return missing or run.status()

    @app.get("/v1/train/{run_id}/events")
    async def events(run_id: str, request: Request, after: int = 0):
        if (bad := authorised(request)) is not None:
            return bad
        run, missing = find(run_id)
        if missing:
            return missing
        if after < 0:
            return refuse(400, "after must be >= 0")

        async def lines():
            i, last = after, time.monotonic()
            while True:
                with run.cv:
                    new, finished, n = run.events[i:], run.finished, len(run.events)
                for ev in new:
                    yield json.dumps(ev) + "\n"
                    last = time.monotonic()
                i += len(new)
                if finished and i >= n:
                    return
                if time.monotonic() - last >= 10.0:
                    yield "\n"  # keep-alive: lets both ends notice a dead connection
                    last = time.monotonic()
                await asyncio.sleep(0.2)

        return StreamingResponse(lines(), media_type="application/x-ndjson")

    @app.post("/v1/train/{run_id}/stop")
    async def stop(run_id: str, request: Request):
        if (bad := authorised(request)) is not None:
            return bad
        run, missing = find(run_id)
        if missing:
            return missing
        manager.stop(run)
        return JSONResponse(run.status(), status_code=202)

    @app.get("/v1/train/{run_id}/checkpoint")
    async def checkpoint(run_id: str, request: Request):
        if (bad := authorised(request)) is not None:
            return bad
        run, missing = find(run_id)
        if missing:
            return missing
        p = run.folder / "out" / "model.pt"
        if not p.is_file():
            return refuse(404, "no checkpoint yet")
        return FileResponse(p, media_type="application/octet-stream", filename="model.pt")

    @app.get("/v1/train/{run_id}/metrics")
    async def metrics(run_id: str, request: Request):
        if (bad := authorised(request)) is not None:
            return bad
        run, missing = find(run_id)
        if missing:
            return missing
        p = run.folder / "out" / "metrics.json"
        with run.cv:
            ended = bool(run.events) and run.events[-1].get("event") == "done"  # metrics.json is written before it
        if not ended or not p.is_file():
            return refuse(404, "no metrics yet: the run has not ended")
        return JSONResponse(json.loads(p.read_text()))


# ============================================================================ desktop side
class RemoteTraining:
    """The desktop's side of a training run on a worker.

    Args:
        url: the worker (``ws(s)://`` or ``http(s)://host:port``).
        token: its bearer token.
        cafile: certificate to trust for a self-signed ``https``/``wss`` worker.
        timeout: seconds for one request; an event stream that is silent for this long (the worker sends a
            keep-alive every 10 s) counts as dropped.

    Raises (every method):
        RemoteError: one line — unreachable worker, refused token, a refusal with the worker's reason.
    """

    def __init__(self, url: str, token: str, cafile: str | None = None, timeout: float = 30.0):
        from .client import ssl_context, worker_urls

        self.http, _ = worker_urls(url)
        self.token = token
        self.timeout = float(timeout)
        handlers: list = [urllib.request.ProxyHandler({})]
        ctx = ssl_context(self.http.startswith("https"), cafile)
        if ctx is not None:
            handlers.append(urllib.request.HTTPSHandler(context=ctx))
        self._opener = urllib.request.build_opener(*handlers)

    def _open(self, method: str, path: str, data=None, headers: dict | None = None, timeout: float | None = None):
        from .client import http_reason

        req = urllib.request.Request(self.http + path, data=data, method=method,
                                     headers={"Authorization": f"Bearer {self.token}", **(headers or {})})
        try:
            return self._opener.open(req, timeout=timeout or self.timeout)
        except urllib.error.HTTPError as e:
            raise RemoteError(f"worker at {self.http} refused the request: {http_reason(e.code, e.read(4096))}") from None
        except urllib.error.URLError as e:
            raise RemoteError(f"cannot reach worker at {self.http}: {e.reason}") from None
        except (OSError, ValueError) as e:
            raise RemoteError(f"cannot reach worker at {self.http}: {e}") from None

    def _json(self, method: str, path: str, **kw) -> dict:
        with self._open(method, path, **kw) as r:
            return json.loads(r.read(1 << 22).decode("utf-8"))

    def start(self, dataset: str | os.PathLike, options: dict | None = None) -> str:
        """Upload ``dataset`` (a ``dataset.pt`` export or a skeleton CSV; :func:`dataset_file`) and start training
        with ``options`` (:data:`OPTIONS`; None values left out); returns the run id.

        Raises:
            RemoteError: the worker is unreachable or refuses (wrong token, bad option, too large, a run going on).
        """
        from urllib.parse import urlencode

        p = Path(dataset)
        size = p.stat().st_size
        # The token first, with a request without a body: a worker refuses a wrong token before reading an upload
        # and closes the connection, which the client would only see as a broken pipe halfway through sending it.
        limit = self._json("GET", "/v1/info").get("limits", {}).get("max_upload_bytes")
        if limit is not None and size > int(limit):
            raise RemoteError(f"dataset {p.name} of {size} bytes is larger than the worker's limit of {int(limit)} "
                              "bytes (main.py worker --max-upload-mb)")
        q = urlencode({k: v for k, v in (options or {}).items() if v is not None})
        with open(p, "rb") as f:
            out = self._json("POST", "/v1/train" + (f"?{q}" if q else ""), data=f,
                             headers={"Content-Type": "application/octet-stream", "Content-Length": str(size)},
                             timeout=max(self.timeout, 600.0))
        return out["run"]

    def status(self, run_id: str) -> dict:
        """``GET /v1/train/ID``."""
        return self._json("GET", f"/v1/train/{run_id}")

    def stop(self, run_id: str) -> dict:
        """Ask the worker to stop the run (it still sends ``done``, with the best checkpoint)."""
        return self._json("POST", f"/v1/train/{run_id}/stop", data=b"")

    def events(self, run_id: str, after: int = 0, reconnect_s: float = 600.0,
               on_status: Callable[[str], None] | None = None,
               backoff_s: tuple[float, ...] = (1.0, 2.0, 4.0, 8.0, 15.0)) -> Iterator[dict]:
        """The run's events from the (``after`` + 1)-th on, until its ``done`` or ``error`` event.

        A dropped connection (reset, timeout, the worker restarting its network) is re-attached with back-off
        from the last event received, for at most ``reconnect_s`` seconds in a row; ``on_status`` hears about it.
        The run goes on on the worker meanwhile.

        Raises:
            RemoteError: the worker refused (unknown run, token) or stayed unreachable for ``reconnect_s``.
        """
        import http.client

        n, failures, down_since = after, 0, None
        while True:
            try:
                r = self._open("GET", f"/v1/train/{run_id}/events?after={n}")
            except RemoteError as e:
                if "refused the request" in str(e):
                    raise
                err: Exception = e
            else:
                if down_since is not None and on_status is not None:
                    on_status(f"re-attached to training run {run_id} on {self.http}")
                failures, down_since = 0, None
                try:
                    with r:
                        for raw in r:
                            if not raw.strip():
                                continue
                            ev = json.loads(raw)
                            n += 1
                            yield ev
                            if ev.get("event") in ("done", "error"):
                                return
                    err = RemoteError("the worker ended the event stream early")
                except (OSError, http.client.HTTPException, ValueError) as e:
                    err = e
            now = time.monotonic()
            down_since = down_since or now
            if now - down_since > reconnect_s:
                raise RemoteError(f"lost training run {run_id} on {self.http}: no connection for {reconnect_s:g} s "
                                  f"({err}); it may still be running: re-attach later") from None
            wait = backoff_s[min(failures, len(backoff_s) - 1)]
            failures += 1
            if on_status is not None:
                on_status(f"connection to the worker lost ({err}); re-attaching in {wait:g} s")
            time.sleep(wait)

    def download(self, run_id: str, out_dir: str | os.PathLike) -> Path:
        """The run's best checkpoint into ``out_dir/model.pt`` and, once it has ended, ``metrics.json`` (each
        written to a temporary name, then renamed); returns the checkpoint's path.

        Raises:
            RemoteError: no checkpoint (the worker's reason), unreachable; PoseWatchError: ``out_dir`` unwritable.
        """
        from ..errors import PoseWatchError

        out = Path(out_dir)
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise PoseWatchError(f"cannot create {out}: {e.strerror or e}") from None
        for name, required in (("checkpoint", True), ("metrics", False)):
            target = out / ("model.pt" if name == "checkpoint" else "metrics.json")
            tmp = target.with_name(target.name + ".part")
            try:
                with self._open("GET", f"/v1/train/{run_id}/{name}") as r, open(tmp, "wb") as f:
                    shutil.copyfileobj(r, f, 1 << 20)
                os.replace(tmp, target)
            except RemoteError:
                tmp.unlink(missing_ok=True)
                if required:
                    raise
            except OSError as e:
                tmp.unlink(missing_ok=True)
                raise PoseWatchError(f"cannot write {target}: {e.strerror or e}") from None
        return out / "model.pt"


def dataset_file(paths: list[str], tmp: Path) -> Path:
    """The one file to send for ``paths``: a ``dataset.pt`` or skeleton CSV as it is, an export folder's
    ``dataset.pt``/``skeletons.csv``, or a project exported to a skeleton CSV in ``tmp``.

    Raises:
        PoseWatchError: several inputs, or none usable.
    """
    from ..errors import PoseWatchError

    if len(paths) != 1:
        raise PoseWatchError("with --remote give one dataset: an export's dataset.pt or skeletons.csv, a skeleton "
                             "CSV, or a project folder")
    p = Path(paths[0])
    if not p.exists():
        raise PoseWatchError(f"training data not found: {p}")
    if p.is_file():
        return p
    if any(p.glob("*.sqlite")):
        from ..exporting import CSV_NAME, iter_export
        from ..extract import run
        from ..project import Project

        with Project.open(p) as proj:
            run(iter_export(proj, tmp / "export", ("csv",)), callback=lambda _p: None)
        return tmp / "export" / CSV_NAME
    for cand in (p / "dataset.pt", p / "skeletons.csv"):
        if cand.is_file():
            return cand
    raise PoseWatchError(f"{p} is neither a PoseWatch project nor an export folder")

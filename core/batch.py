"""Batch extraction: the skeleton cache of every video of a folder or project, on a Ray cluster or in this process.

One video is one unit of work (tracking needs the frames of a video in order, on one estimator):

* **Ray** (:func:`iter_extract_batch` with ``engine="ray"``): one Ray task per video, on a local Ray started in this
  process (``address=None``; ``num_cpus`` CPUs, one per task) or on an existing cluster (``address``: ``HOST:PORT``
  of the head's GCS, ``ray://HOST:10001`` for Ray Client, or ``auto``). A task reads the video (locally: by path; on
  a cluster the driver ships the file's bytes through Ray's object store, since the nodes do not share this
  machine's disk), runs pose estimation and tracking on every frame and returns the
  :class:`~core.cache.SkeletonCache`; **the driver writes it** atomically into the cache the player reads (so
  results never depend on a node's disk). A task whose worker process dies (killed, out of memory, node lost) is
  retried once by Ray (``max_retries=1``), then reported. Frame progress comes from the tasks through a small
  progress actor. ``gpus_per_task`` reserves GPUs per task (e.g. 0.25: four videos share one GPU); with 0 the
  tasks run on the CPU.
* **Local** (``engine="local"``): the videos one after another in this process with one estimator (the GUI's
  default, no Ray).
* **Remote worker** (``engine="remote"`` with ``remote``, a :class:`core.state.RemoteWorker`): the videos one after
  another in this process, their frames posed on the worker (:func:`core.remote.factory.estimator_factory`: local
  inference while the worker is unreachable). The caches are keyed by the worker's settings (as the player's remote
  extraction, :meth:`core.state.AppState.skeleton_task`), so a video cached by the worker before is found then.

Resumable: a video whose cache already exists (same content hash, same pose settings) is skipped without loading a
model or starting Ray. A video that fails (unreadable, truncated to nothing, a task error) is reported with its
one-line reason and the others go on; a cache that cannot be written (a full disk) is reported for that video and
leaves nothing half-written (:meth:`core.cache.SkeletonCache.save`).
"""

from __future__ import annotations

import os
import socket
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Generator

from .cache import SkeletonCache, cache_dir, cache_path, video_key
from .errors import PoseWatchError, describe_error, one_line
from .extract import Cancelled, Progress

#: Seconds between two frame-progress reports of a task.
REPORT_EVERY_S = 0.5


class BatchError(PoseWatchError):
    """A batch cannot run at all: nothing to do, no such folder or project, Ray unreachable or unusable."""


@dataclass
class BatchItem:
    """One video of a batch.

    Attributes:
        video: its path; name: shown name (the file name).
        status: ``"pending"``, ``"running"``, ``"cached"`` (skipped: already computed), ``"done"`` or ``"failed"``.
        reason: the one-line reason of a failure.
        frames: frames of the video (announced; the extracted count once done); done_frames: frames posed so far.
        attempts: Ray tasks started for it (2 after a retry).
        seconds: wall time of its extraction; cache: the cache file (cached or done).
    """

    video: str
    name: str
    status: str = "pending"
    reason: str = ""
    frames: int = 0
    done_frames: int = 0
    attempts: int = 0
    seconds: float = 0.0
    cache: str | None = None


@dataclass
class BatchProgress(Progress):
    """:class:`core.extract.Progress` over frames (``done``/``total``: frames of all videos, cached ones included),
    with the videos: ``videos_done`` (cached, done or failed) of ``videos_total``, and every :class:`BatchItem`."""

    videos_done: int = 0
    videos_total: int = 0
    items: list[BatchItem] = field(default_factory=list)


@dataclass
class BatchReport:
    """What a batch did: its items (in the order given), and the engine (``"local"``, ``"ray (local, 2 CPUs)"``,
    ``"ray (cluster at HOST:PORT: …)"``)."""

    items: list[BatchItem]
    engine: str

    def count(self, status: str) -> int:
        return sum(1 for it in self.items if it.status == status)

    def summary(self) -> str:
        """One line: ``10 videos: 7 computed, 2 already cached, 1 failed``."""
        return (f"{len(self.items)} video(s): {self.count('done')} computed, {self.count('cached')} already cached, "
                f"{self.count('failed')} failed")


# ============================================================================ finding the videos
def find_videos(target: str | os.PathLike) -> tuple[list[Path], Path | None]:
    """The videos of ``target`` and the cache root to use.

    A project folder (holding ``project.db``): its video entries (imported skeleton sequences have nothing to
    extract), cache root ``<project>/skeletons``. Any other folder: its video files (recursively, sorted; frames
    folders are opened one by one with the player), cache root None (the per-user cache the player reads).

    Raises:
        BatchError: no such folder, or no video in it.
    """
    p = Path(target).expanduser()
    if not p.is_dir():
        raise BatchError(f"not a folder or project: {p}")
    from .project import DB_NAME, Project

    if (p / DB_NAME).is_file():
        with Project.open(p) as proj:
            return project_videos(proj)
    from .video import VIDEO_EXTENSIONS

    vids = sorted(f for f in p.rglob("*") if f.is_file() and f.suffix.lower() in VIDEO_EXTENSIONS
                  and not any(part.startswith(".") for part in f.relative_to(p).parts))
    if not vids:
        raise BatchError(f"no video files ({', '.join(VIDEO_EXTENSIONS)}) in {p}")
    return vids, None


def project_videos(project) -> tuple[list[Path], Path]:
    """The videos of an open :class:`core.project.Project` to extract (imported skeleton sequences have nothing to
    extract) and its cache root (``<project>/skeletons``, where the player looks for the project's skeletons).

    Raises:
        BatchError: the project has no videos to extract.
    """
    vids = [Path(v.path) for v in project.videos() if v.kind == "video"]
    if not vids:
        raise BatchError(f"project {project.folder} has no videos to extract")
    return vids, project.skeleton_dir


# ============================================================================ one video (runs in a Ray task)
def _extract_one(video: str, backend: str, width: int | None, estimator_kwargs: dict, data: bytes | None = None,
                 report: Callable[[int, int | None], None] | None = None) -> SkeletonCache:
    """Pose-estimate every frame of ``video`` (or of ``data``, the file's bytes, written to a temporary file).

    Raises:
        PoseWatchError: unreadable video, missing model …
    """
    import tempfile

    from .extract import iter_extract
    from .pose import create_estimator
    from .video import open_source

    tmp_dir = None
    path = video
    if data is not None:
        tmp_dir = tempfile.mkdtemp(prefix="posewatch-batch-")
        path = os.path.join(tmp_dir, Path(video).name)
        with open(path, "wb") as f:
            f.write(data)
    try:
        with open_source(path) as src:
            fps = src.info.fps
        est = create_estimator(backend, frame_rate=fps, **estimator_kwargs)
        try:
            gen = iter_extract(path, est, width)
            last = 0.0
            while True:
                try:
                    p = next(gen)
                except StopIteration as stop:
                    cache = stop.value
                    break
                now = time.monotonic()
                if report is not None and now - last >= REPORT_EVERY_S:
                    last = now
                    report(p.done, p.total)
        finally:
            est.close()
        cache.meta["video"] = str(video)
        return cache
    finally:
        if tmp_dir is not None:
            import shutil

            shutil.rmtree(tmp_dir, ignore_errors=True)


def _ray_task(key: str, video: str, backend: str, width: int | None, estimator_kwargs: dict, data, progress):
    """The body of a Ray task: ``{"cache": SkeletonCache}`` or ``{"error": one line}`` (a dead worker is Ray's to
    retry)."""
    import ray

    progress.started.remote(key, os.getpid(), socket.gethostname())
    if data is not None and not isinstance(data, bytes):
        data = ray.get(data)
    try:
        cache = _extract_one(video, backend, width, estimator_kwargs, data,
                             lambda d, t: progress.update.remote(key, d, t))
        return {"cache": cache}
    except PoseWatchError as e:
        return {"error": str(e)}
    except Exception as e:  # a bug or a library error: one line, the other videos go on
        return {"error": f"internal error: {describe_error(e, 200)}"}


class _ProgressState:
    """The progress actor's state: per video key, the frames done and the tasks started (pid, host)."""

    def __init__(self):
        self.frames: dict[str, tuple[int, int | None]] = {}
        self.starts: dict[str, list[tuple[int, str]]] = {}

    def started(self, key: str, pid: int, host: str) -> None:
        self.starts.setdefault(key, []).append((pid, host))
        self.frames[key] = (0, self.frames.get(key, (0, None))[1])

    def update(self, key: str, done: int, total: int | None) -> None:
        self.frames[key] = (done, total)

    def snapshot(self) -> dict:
        return {"frames": dict(self.frames), "starts": {k: list(v) for k, v in self.starts.items()}}


# ============================================================================ Ray set-up
def check_address(address: str, timeout: float = 5.0) -> None:
    """Fail fast, in one line, when nothing listens at a Ray address (``HOST:PORT`` or ``ray://HOST:PORT``; ``auto``
    is left to Ray).

    Raises:
        BatchError: an ill-formed address, or no answer at it within ``timeout`` seconds.
    """
    if address == "auto":
        return
    hostport = address.split("://", 1)[1] if address.startswith("ray://") else address
    host, sep, port = hostport.rpartition(":")
    if not sep or not host or not port.isdigit():
        raise BatchError(f"Ray address must be HOST:PORT, ray://HOST:PORT or auto, got '{address}'")
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout).close()
    except OSError as e:
        raise BatchError(f"no Ray cluster at {address}: {e.strerror or e}") from None


def start_ray(address: str | None, num_cpus: int | None) -> tuple[bool, str]:
    """Connect to a Ray cluster at ``address``, or start a local Ray of ``num_cpus`` CPUs in this process (None:
    all cores) whose workers get this process's ``POSEWATCH_*`` and ``YOLO_*`` settings; nothing when Ray is
    already initialised here. Returns ``(started_here, description)``; whoever started it calls
    ``ray.shutdown()``.

    Raises:
        BatchError: unreachable, refused, or a Ray version mismatch (one line).
    """
    import logging

    import ray

    if ray.is_initialized():
        res = ray.cluster_resources()
        return False, f"ray (already running, {int(res.get('CPU', 0))} CPUs, {res.get('GPU', 0):g} GPUs)"
    if address:
        check_address(address)
    env = {k: v for k, v in os.environ.items()
           if k.startswith(("POSEWATCH_", "YOLO_")) and not (address and k == "POSEWATCH_CACHE_DIR")}
    try:
        if address:
            ray.init(address=address, logging_level=logging.ERROR, log_to_driver=False,
                     runtime_env={"env_vars": {k: v for k, v in env.items() if k.startswith("YOLO_")}})
        else:  # the local workers inherit this process's environment (POSEWATCH_*, YOLO_*)
            ray.init(num_cpus=num_cpus or os.cpu_count() or 1, include_dashboard=False, logging_level=logging.ERROR,
                     log_to_driver=False)
    except Exception as e:  # ConnectionError, RuntimeError (version mismatch), ValueError …
        msg = one_line(e, 300)
        raise BatchError(f"cannot {'connect to Ray at ' + address if address else 'start Ray'}: {msg}") from None
    res = ray.cluster_resources()
    where = f"cluster at {address}" if address else "local"
    return True, (f"ray ({where}: {len(ray.nodes())} node(s), {int(res.get('CPU', 0))} CPUs, "
                  f"{res.get('GPU', 0):g} GPUs)")


# ============================================================================ the batch
def iter_extract_batch(videos: list[str | os.PathLike], backend: str = "yolo", width: int | None = None,
                       root: Path | None = None, engine: str = "ray", address: str | None = None,
                       num_cpus: int | None = None, gpus_per_task: float = 0.0,
                       cancel: Callable[[], bool] | None = None,
                       on_progress_state: Callable[[dict], None] | None = None,
                       remote=None, on_status: Callable[[str, bool | None], None] | None = None,
                       **estimator_kwargs) -> Generator[BatchProgress, None, BatchReport]:
    """Compute the skeleton cache of every video (see the module docstring).

    Args:
        videos: video files or frames folders (:func:`find_videos`).
        backend, width, estimator_kwargs: the pose settings (as :func:`core.extract.iter_load_or_extract`; they make
            the cache key, so the player finds the results).
        root: cache root (None: the per-user cache, :func:`core.cache.cache_dir`).
        engine: ``"ray"``, ``"local"`` or ``"remote"`` (needs ``remote``).
        address: a Ray cluster (None: a local Ray started here and shut down at the end).
        num_cpus: CPUs of the local Ray (None: all).
        gpus_per_task: GPUs reserved per Ray task (0: tasks run on the CPU).
        cancel: polled about twice a second; True cancels the running tasks and raises :class:`Cancelled`.
        on_progress_state: called with the progress actor's snapshot (``{"frames": {key: (done, total)},
            "starts": {key: [(pid, host), …]}}``) each time it is read (diagnostics and tests).
        remote: the worker of ``engine="remote"`` (:class:`core.state.RemoteWorker`: ``url``, ``token``, ``cafile``).
        on_status: ``engine="remote"``: called (from the driving thread) with a one-line status and whether frames
            go to the worker, at every switch between worker and local inference.

    Yields:
        :class:`BatchProgress` (about twice a second while tasks run).

    Returns:
        :class:`BatchReport`.

    Raises:
        BatchError: an unusable engine or Ray (unreachable, refused); Cancelled.
    """
    from .pose import estimator_settings
    from .video import open_source

    if engine not in ("ray", "local", "remote"):
        raise BatchError(f"unknown engine '{engine}': ray, local or remote")
    if engine == "remote" and remote is None:
        raise BatchError("engine 'remote' needs a remote worker (connect to one first)")
    if gpus_per_task < 0:
        raise BatchError("gpus_per_task must not be negative")
    kw = dict(estimator_kwargs)
    if engine == "ray" and gpus_per_task == 0 and backend == "yolo":
        kw.setdefault("device", "cpu")  # no GPU reserved: do not take one
    settings = dict(estimator_settings(backend, **kw), width=width)  # ModelError before anything runs
    items: list[BatchItem] = []
    todo: list[tuple[BatchItem, str, Path]] = []
    seen: set[str] = set()
    for v in videos:
        it = BatchItem(str(v), Path(v).name)
        items.append(it)
        try:
            key = video_key(v)
            with open_source(v) as src:
                if not src.info.seekable:
                    raise PoseWatchError(f"{v} is a live source; extraction needs a file or folder")
                it.frames = int(src.info.frame_count or 0)
        except OSError as e:
            it.status, it.reason = "failed", f"cannot read {v}: {e.strerror or e}"
            continue
        except PoseWatchError as e:
            it.status, it.reason = "failed", str(e)
            continue
        path = cache_path(v, settings, root)
        if path.is_file():
            try:
                c = SkeletonCache.load(path)
                it.status, it.cache, it.frames, it.done_frames = "cached", str(path), c.frame_count, c.frame_count
                continue
            except PoseWatchError:
                pass  # unreadable: compute afresh
        if key in seen:  # the same content twice: computed once
            it.status, it.reason = "cached", "same content as another video of the batch"
            continue
        seen.add(key)
        todo.append((it, key, path))

    def progress(message: str) -> BatchProgress:
        done_v = sum(1 for it in items if it.status in ("cached", "done", "failed"))
        frames = sum(it.frames for it in items if it.status != "failed")
        done_f = sum(min(it.done_frames, it.frames) if it.frames else it.done_frames
                     for it in items if it.status != "failed")
        return BatchProgress(done_f, frames or None, message, done_v, len(items), items)

    if not todo:
        yield progress("nothing to compute")
        return BatchReport(items, "none (everything cached)")
    if engine == "local":
        return (yield from _run_local(todo, progress, backend, width, kw, cancel))
    if engine == "remote":
        return (yield from _run_remote(todo, progress, backend, width, kw, root, remote, on_status, cancel))
    return (yield from _run_ray(todo, progress, backend, width, kw, address, num_cpus, gpus_per_task, cancel,
                                on_progress_state))


def _finish(it: BatchItem, cache: SkeletonCache, path: Path, settings_expected: dict, t0: float) -> None:
    if cache.meta.get("settings") != settings_expected:
        it.status = "failed"
        it.reason = ("the worker's pose settings differ from this machine's (another model file or version): "
                     f"{cache.meta.get('settings')}")
        return
    try:
        cache.save(path)
    except PoseWatchError as e:
        it.status, it.reason = "failed", str(e)
        return
    it.status, it.cache, it.seconds = "done", str(path), time.monotonic() - t0
    it.frames = it.done_frames = cache.frame_count
    if "truncated_at" in cache.meta:
        it.reason = f"ends early: only {cache.meta['truncated_at']} frames could be decoded"


def _run_local(todo, progress, backend, width, kw, cancel) -> Generator[BatchProgress, None, BatchReport]:
    from .extract import iter_extract
    from .pose import create_estimator

    for it, _key, path in todo:
        if cancel is not None and cancel():
            raise Cancelled("batch cancelled")
        it.status, t0 = "running", time.monotonic()
        yield progress(f"extracting {it.name}")
        try:
            from .video import open_source

            with open_source(it.video) as src:
                fps = src.info.fps
            est = create_estimator(backend, frame_rate=fps, **kw)
            try:
                gen = iter_extract(it.video, est, width, cancel)
                while True:
                    try:
                        p = next(gen)
                    except StopIteration as stop:
                        cache = stop.value
                        break
                    it.done_frames = p.done
                    if p.done % 10 == 0:
                        yield progress(f"extracting {it.name}")
            finally:
                est.close()
            settings = dict(est.describe(), width=width)
            _finish(it, cache, path, settings, t0)
        except Cancelled:
            it.status = "pending"
            raise
        except PoseWatchError as e:
            it.status, it.reason = "failed", str(e)
        yield progress(f"{it.status} {it.name}")
    return BatchReport([*progress("").items], "local")


def _run_remote(todo, progress, backend, width, kw, root, remote, on_status, cancel
                ) -> Generator[BatchProgress, None, BatchReport]:
    from .extract import iter_skeletons
    from .remote.factory import estimator_factory
    from .video import open_source

    for it, _key, _path in todo:
        if cancel is not None and cancel():
            raise Cancelled("batch cancelled")
        it.status, t0 = "running", time.monotonic()
        yield progress(f"extracting {it.name} (remote worker)")
        try:
            with open_source(it.video) as src:
                fps = src.info.fps
            factory = estimator_factory(remote, {"backend": backend, "frame_rate": fps, **kw}, {"width": width},
                                        on_status=on_status)
            gen = iter_skeletons(it.video, backend, width, estimator_factory=factory, root=root, cancel=cancel)
            posed = False
            while True:
                try:
                    p = next(gen)
                except StopIteration as stop:
                    cache = stop.value
                    break
                if p.done:
                    posed = True
                    it.done_frames = p.done
                    if p.done % 10 == 0:
                        yield progress(f"extracting {it.name} (remote worker)")
            it.status = "done" if posed else "cached"
            it.seconds = time.monotonic() - t0
            it.frames = it.done_frames = cache.frame_count
            if "truncated_at" in cache.meta:
                it.reason = f"ends early: only {cache.meta['truncated_at']} frames could be decoded"
        except Cancelled:
            it.status = "pending"
            raise
        except PoseWatchError as e:
            it.status, it.reason = "failed", str(e)
        yield progress(f"{it.status} {it.name}")
    return BatchReport([*progress("").items], f"remote worker at {remote.url}")


def _run_ray(todo, progress, backend, width, kw, address, num_cpus, gpus_per_task, cancel, on_state
             ) -> Generator[BatchProgress, None, BatchReport]:
    import ray

    started, engine = start_ray(address, num_cpus)
    from .pose import estimator_settings

    settings = dict(estimator_settings(backend, **kw), width=width)
    ship = bool(address)  # a cluster's nodes do not see this machine's files
    try:
        actor = ray.remote(num_cpus=0)(_ProgressState).remote()
        task = ray.remote(_ray_task).options(num_cpus=1, num_gpus=gpus_per_task, max_retries=1,
                                             retry_exceptions=False)
        res = ray.cluster_resources()
        slots = max(1, int(res.get("CPU", 1)))
        if gpus_per_task > 0:
            slots = max(1, min(slots, int(res.get("GPU", 0) / gpus_per_task) or 1))
        queue = list(todo)
        running: dict = {}  # ObjectRef -> (item, key, path, t0)
        yield progress(f"{engine}: {len(queue)} video(s) to compute")
        while queue or running:
            if cancel is not None and cancel():
                for ref in running:
                    ray.cancel(ref, force=True)
                raise Cancelled("batch cancelled")
            while queue and len(running) < 2 * slots:  # a few queued ahead, not all shipped at once
                it, key, path = queue.pop(0)
                data = None
                if ship:
                    try:
                        data = ray.put(Path(it.video).read_bytes())
                    except OSError as e:
                        it.status, it.reason = "failed", f"cannot read {it.video}: {e.strerror or e}"
                        continue
                running[task.remote(key, it.video, backend, width, kw, data, actor)] = (it, key, path, time.monotonic())
            ready, _ = ray.wait(list(running), num_returns=1, timeout=REPORT_EVERY_S)
            for ref in ready:
                it, key, path, t0 = running.pop(ref)
                try:
                    out = ray.get(ref)
                except ray.exceptions.RayError as e:
                    out = {"error": _ray_reason(e)}
                if "error" in out:
                    it.status, it.reason = "failed", out["error"]
                else:
                    _finish(it, out["cache"], path, settings, t0)
            try:
                snap = ray.get(actor.snapshot.remote(), timeout=10)
            except ray.exceptions.RayError:
                snap = None
            if snap is not None:
                if on_state is not None:
                    on_state(snap)
                for it, key, _p, _t in running.values():
                    done, total = snap["frames"].get(key, (0, None))
                    it.done_frames, it.attempts = done, len(snap["starts"].get(key, ()))
                    it.status = "running" if it.attempts else "pending"
                    if total:
                        it.frames = total
                for it, key, _p in todo:
                    if it.status in ("done", "failed"):
                        it.attempts = max(it.attempts, len(snap["starts"].get(key, ())))
            yield progress(f"{sum(1 for v in running.values() if v[0].status == 'running')} running")
        return BatchReport([*progress("").items], engine)
    finally:
        if started:
            ray.shutdown()


def _ray_reason(e: Exception) -> str:
    """One line for a Ray failure of a task (after its retry)."""
    import ray

    if isinstance(e, ray.exceptions.WorkerCrashedError):
        return "the Ray worker died while extracting (twice: retried once)"
    if isinstance(e, ray.exceptions.OutOfMemoryError):
        return "the Ray worker ran out of memory (retried once)"
    if isinstance(e, ray.exceptions.NodeDiedError):
        return "the Ray node died while extracting"
    if isinstance(e, ray.exceptions.TaskCancelledError):
        return "cancelled"
    return f"Ray task failed: {describe_error(e, 200)}"


def run_batch(gen: Generator[BatchProgress, None, BatchReport], stream=None) -> BatchReport:
    """Drive a batch with two tqdm bars on ``stream`` (stderr): videos and frames; failures are printed as they
    happen (``failed: NAME: reason``)."""
    import sys

    from tqdm import tqdm

    stream = stream or sys.stderr
    vbar = fbar = None
    told: set[int] = set()
    lock = threading.Lock()
    try:
        while True:
            try:
                p = next(gen)
            except StopIteration as stop:
                return stop.value
            with lock:
                if vbar is None:
                    vbar = tqdm(total=p.videos_total, desc="videos", unit="video", file=stream, dynamic_ncols=True,
                                position=0)
                    fbar = tqdm(total=p.total, desc="frames", unit="frame", file=stream, dynamic_ncols=True,
                                position=1, mininterval=0.5)
                for k, it in enumerate(p.items):
                    if it.status == "failed" and k not in told:
                        told.add(k)
                        vbar.write(f"failed: {it.name}: {it.reason}", file=stream)
                if p.total and fbar.total != p.total:
                    fbar.total = p.total
                vbar.update(p.videos_done - vbar.n)
                fbar.update(max(0, p.done - fbar.n))
                vbar.set_postfix_str(p.message, refresh=False)
    finally:
        for b in (fbar, vbar):
            if b is not None:
                b.close()

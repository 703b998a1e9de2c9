"""core.batch and ``main.py extract-batch``: a local Ray of 2 CPUs in this process, real clips, real worker deaths
(SIGKILL of the task's process), a real full disk (a tiny tmpfs), and the player's cache lookup afterwards."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess

import numpy as np
import pytest

from core.batch import BatchError, find_videos, iter_extract_batch, run_batch, start_ray
from core.cache import SkeletonCache, cache_path
from core.extract import iter_load_or_extract, run
from core.pose import estimator_settings
from tests.conftest import free_port, shared_path
from tests.test_cli import cli

# Under pytest-xdist (--dist loadgroup) this module's tests run in one worker, so its module fixtures are made once.
pytestmark = pytest.mark.xdist_group("test_batch")


CLIPS = ("nofi102.mp4", "nofi103.mp4", "nofi104.mp4")  # 20 frames each, 640x360, 10 fps


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    d = tmp_path_factory.mktemp("videos")
    for name in CLIPS:
        shutil.copy(shared_path("data", "videos", "normal", name), d / name)
    (d / "sub").mkdir()
    shutil.copy(shared_path("data", "videos", "fight", "fi133.mp4"), d / "sub" / "fi133.mp4")
    (d / "broken.mp4").write_bytes(b"not a video at all")
    return d


@pytest.fixture(scope="module")
def ray_batch(folder, tmp_path_factory):
    """One batch on a local Ray of 2 CPUs: nofi103's worker is killed once (retried, computed), nofi104's on both
    tries (reported); the broken file fails with its reason."""
    import ray

    root = tmp_path_factory.mktemp("skeletons")
    videos, _ = find_videos(folder)
    from core.modelfiles import resolve_model
    from core.pose.yolo import export_onnx

    export_onnx(resolve_model("yolo11n-pose.pt"))  # once here (the session's cache), not in two workers at once
    started, engine = start_ray(None, 2)
    killed: dict[str, list[int]] = {}
    keys = {}
    from core.cache import video_key

    for v in videos:
        keys[video_key(v)] = v.name
    want_kills = {"nofi103.mp4": 1, "nofi104.mp4": 2}

    def on_state(snap):
        for key, starts in snap["starts"].items():
            name = keys[key]
            for pid, _host in starts:
                done = killed.setdefault(name, [])
                if len(done) < want_kills.get(name, 0) and pid not in done:
                    done.append(pid)
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
    try:
        report = run_batch(iter_extract_batch(videos, "yolo", root=root, engine="ray", on_progress_state=on_state))
    finally:
        if started:
            ray.shutdown()
    return report, root, killed, engine


def test_find_videos_in_a_folder_and_a_project(folder, tmp_path):
    vids, root = find_videos(folder)
    assert [v.name for v in vids] == ["broken.mp4", "nofi102.mp4", "nofi103.mp4", "nofi104.mp4", "fi133.mp4"]
    assert root is None
    from core.project import Project

    with Project.create(tmp_path / "proj") as p:
        p.add_video(folder / "nofi102.mp4")
    vids, root = find_videos(tmp_path / "proj")
    assert [v.name for v in vids] == ["nofi102.mp4"] and root == tmp_path / "proj" / "skeletons"
    with pytest.raises(BatchError, match="not a folder"):
        find_videos(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(BatchError, match="no video files"):
        find_videos(tmp_path / "empty")


def test_ray_batch_retries_a_dead_worker_once_reports_failures_and_the_rest_go_on(ray_batch, folder):
    report, root, killed, engine = ray_batch
    assert engine.startswith("ray (local: 1 node(s), 2 CPUs")
    by = {it.name: it for it in report.items}
    assert by["broken.mp4"].status == "failed" and by["broken.mp4"].reason.startswith("cannot decode video")
    assert len(killed["nofi103.mp4"]) == 1 and by["nofi103.mp4"].status == "done" and by["nofi103.mp4"].attempts == 2
    assert len(killed["nofi104.mp4"]) == 2 and by["nofi104.mp4"].status == "failed"
    assert "died" in by["nofi104.mp4"].reason and "retried once" in by["nofi104.mp4"].reason
    for name in ("nofi102.mp4", "nofi103.mp4", "fi133.mp4"):
        it = by[name]
        assert it.status == "done" and it.frames == 20 and it.done_frames == 20, (name, it)
        c = SkeletonCache.load(it.cache)
        assert c.frame_count == 20 and c.meta["complete"]
    assert report.summary() == "5 video(s): 3 computed, 0 already cached, 2 failed"
    assert not list(root.rglob("*.tmp*"))  # nothing half-written


def test_ray_results_are_the_players_cache_and_equal_local_extraction(ray_batch, folder):
    _report, root, _k, _e = ray_batch
    video = folder / "nofi102.mp4"
    seen = []
    cache = run(iter_load_or_extract(video, "yolo", root=root), callback=seen.append)
    assert seen == []  # found in the cache: no model loaded, no frame posed
    assert cache_path(video, dict(estimator_settings("yolo"), width=None), root).is_file()
    from core.extract import iter_extract
    from core.pose import create_estimator

    est = create_estimator("yolo", frame_rate=10.0, device="cpu")
    try:
        local = run(iter_extract(video, est), callback=lambda p: None)
    finally:
        est.close()
    assert np.array_equal(local.offsets, cache.offsets) and np.array_equal(local.track_id, cache.track_id)
    np.testing.assert_allclose(local.keypoints, cache.keypoints, atol=1e-2)


def test_cli_resumes_from_the_cache_and_reports_bad_input_in_one_line(ray_batch, folder, tmp_path):
    _report, root, _k, _e = ray_batch
    done = tmp_path / "done"
    done.mkdir()
    for name in ("nofi102.mp4", "broken.mp4"):
        shutil.copy(folder / name, done / name)
    r = cli("extract-batch", done, "--out", root)  # everything computable is cached: Ray is not even started
    assert r.returncode == 1, r.stderr
    assert "failed: broken.mp4: cannot decode video" in r.stderr
    assert r.stderr.strip().splitlines()[-1].startswith("2 video(s): 0 computed, 1 already cached, 1 failed")

    r = cli("extract-batch", folder, "--out", tmp_path / "new", "--ray-address", f"127.0.0.1:{free_port()}")
    assert r.returncode == 2 and r.stderr.strip().splitlines() == [
        next(ln for ln in r.stderr.splitlines() if ln.startswith("error: no Ray cluster at 127.0.0.1:"))]
    assert "refused" in r.stderr.lower() and "Traceback" not in r.stderr
    r = cli("extract-batch", tmp_path / "nowhere")
    assert r.returncode == 2 and r.stderr.strip() == f"error: not a folder or project: {tmp_path / 'nowhere'}"
    r = cli("extract-batch", folder, "--local", "--gpus-per-task", "1")
    assert r.returncode == 2 and "--local runs without Ray" in r.stderr


@pytest.fixture
def tiny_disk(tmp_path):
    """A 16 KiB tmpfs: too small for a skeleton cache (needs root; skipped where mounting is not allowed)."""
    d = tmp_path / "tiny"
    d.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16k", "tmpfs", str(d)], capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs for the full-disk test: {r.stderr.strip()}")
    try:
        yield d
    finally:
        subprocess.run(["umount", str(d)], check=False)


def test_full_disk_reports_the_video_and_leaves_nothing_half_written(tiny_disk, folder):
    gen = iter_extract_batch([folder / "nofi102.mp4", folder / "broken.mp4"], "yolo", root=tiny_disk, engine="local")
    report = run(gen, callback=lambda p: None)
    it = report.items[0]
    assert it.status == "failed" and it.reason.startswith("cannot write skeleton cache") \
        and "No space left on device" in it.reason, it.reason
    assert [p for p in tiny_disk.rglob("*") if p.is_file()] == []
    assert report.items[1].status == "failed"


def test_remote_engine_without_a_worker_goes_on_locally(folder, tmp_path):
    """engine="remote": a worker that cannot be reached falls back to local inference (the status says so), the
    broken file is reported, the cache is written under the key the player's extraction uses; a second run finds
    it."""
    from core.state import RemoteWorker

    statuses: list[str] = []
    worker = RemoteWorker(f"ws://127.0.0.1:{free_port()}", "token", backoff=(30.0,))
    videos = [folder / "nofi102.mp4", folder / "broken.mp4"]
    report = run(iter_extract_batch(videos, "yolo", root=tmp_path, engine="remote", remote=worker,
                                    on_status=lambda text, _on: statuses.append(text)), callback=lambda p: None)
    assert [it.status for it in report.items] == ["done", "failed"], report.items
    assert report.engine.startswith("remote worker at ws://127.0.0.1:")
    assert statuses and statuses[0].startswith("remote worker unavailable")
    assert [SkeletonCache.load(p).frame_count for p in tmp_path.rglob("*.npz")] == [20]
    again = run(iter_extract_batch(videos[:1], "yolo", root=tmp_path, engine="remote", remote=worker),
                callback=lambda p: None)
    assert again.items[0].status == "cached"


def test_remote_engine_needs_a_worker():
    with pytest.raises(BatchError, match="needs a remote worker"):
        next(iter_extract_batch(["x.mp4"], "yolo", engine="remote"))

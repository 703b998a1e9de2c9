"""Benchmark: the remote-worker path on loopback (or against a worker given with --url).

Measures, on frames of the 6-person street clip already downscaled to 640 px width (the resize is
the same work locally and remotely, so it is left out):

- per-frame overhead of the remote path: one client, one frame at a time; overhead = round trip
  (JPEG encode → send → worker → result decoded) minus the worker's own inference time (pose +
  tracking, as the worker reports it) — i.e. encode + transfer + queue hand-offs + decode + JSON both ways.
  Target: under 10 ms at 640 px. Also the client-side JPEG encode and decode times alone and the
  JPEG size.
- worker throughput, frames/s: 1 client and 4 clients at once, each streaming the frames with two in
  flight (:meth:`RemotePoseEstimator.stream`); every client must get every result.

By default a worker process is started here on 127.0.0.1 (CUDA if available, else CPU) and stopped
at the end. Prints one JSON line.

    POSEWATCH_MODEL_DIR=../shared/models POSEWATCH_OFFLINE=1 YOLO_OFFLINE=1 .venv/bin/python bench/worker.py
    .venv/bin/python bench/worker.py --url wss://gpu-host:8765 --token-file token --cafile cert.pem
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import numpy as np

from benchenv import ROOT, SHARED  # noqa: E402  (sys.path, shared data, offline)
os.environ.setdefault("POSEWATCH_OFFLINE", "1")
CLIP = SHARED / "data/videos/normal/openpose_examples_video.avi"


def start_worker(token_file: Path) -> tuple[subprocess.Popen, str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "main.py", "worker", "--host", "127.0.0.1", "--port", str(port),
                             "--token-file", str(token_file)], cwd=ROOT, stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit(f"error: worker exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2):
                return proc, f"ws://127.0.0.1:{port}"
        except OSError:
            time.sleep(0.3)
    proc.kill()
    sys.exit("error: worker did not start within 300 s")


def pct(values, q) -> float:
    return round(float(np.percentile(values, q)), 2)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--frames", type=int, default=60, help="frames of the street clip per client")
    ap.add_argument("--width", type=int, default=640)
    ap.add_argument("--quality", type=int, default=90, help="JPEG quality")
    ap.add_argument("--url", default=None, help="use this worker instead of starting one on loopback")
    ap.add_argument("--token-file", default=None)
    ap.add_argument("--cafile", default=None)
    args = ap.parse_args()

    from core.remote import RemotePoseEstimator, fetch_info, read_token
    from core.remote import protocol as P
    from core.video import open_source, resize_to_width

    with open_source(CLIP) as src:
        fps = src.info.fps
        frames = [(resize_to_width(f.image, args.width)[0], f.index, f.time_s) for f in src.frames(0, args.frames)]

    proc = None
    tmp = tempfile.TemporaryDirectory()
    if args.url:
        url, token = args.url, read_token(args.token_file)
    else:
        token = secrets.token_hex(16)
        tf = Path(tmp.name) / "token"
        tf.write_text(token)
        proc, url = start_worker(tf)
    try:
        info = fetch_info(url, token, cafile=args.cafile)
        kw = dict(frame_rate=fps, jpeg_quality=args.quality, cafile=args.cafile, timeout=120)

        # client-side JPEG work alone
        enc, dec, size = [], [], []
        for img, _, _ in frames:
            t = time.perf_counter()
            data = P.encode_jpeg(img, args.quality)
            enc.append((time.perf_counter() - t) * 1000)
            t = time.perf_counter()
            P.decode_jpeg(data)
            dec.append((time.perf_counter() - t) * 1000)
            size.append(len(data))

        # overhead: one frame at a time
        over, rtt, infer = [], [], []
        with RemotePoseEstimator(url, token, **kw) as est:
            est.process(*frames[0])  # warm-up
            est.reset()
            for img, i, t in frames:
                est.process(img, i, t)
                rtt.append(est.rtt_ms)
                infer.append(est.infer_ms)
                over.append(est.rtt_ms - est.infer_ms)

        def run_clients(n: int) -> dict:
            got, errors = {}, []

            def client(k):
                try:
                    with RemotePoseEstimator(url, token, **kw) as est:
                        got[k] = [fi for fi, fp in est.stream(frames, depth=2) if fp is not None]
                except Exception as e:
                    errors.append(repr(e))

            threads = [threading.Thread(target=client, args=(k,)) for k in range(n)]
            t0 = time.perf_counter()
            for th in threads:
                th.start()
            for th in threads:
                th.join()
            wall = time.perf_counter() - t0
            complete = not errors and all(got.get(k) == [f[1] for f in frames] for k in range(n))
            return {"clients": n, "fps": round(n * len(frames) / wall, 2),
                    "fps_per_client": round(len(frames) / wall, 2), "complete_and_ordered": complete,
                    **({"errors": errors} if errors else {})}

        tp1, tp4 = run_clients(1), run_clients(4)
    finally:
        if proc is not None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
        tmp.cleanup()

    print(json.dumps({
        "bench": "worker", "date": time.strftime("%Y-%m-%d"), "machine": platform.node(), "cpus": os.cpu_count(),
        "worker": "loopback" if proc is not None else "remote", "device": info["device"], "gpu": info["gpu"],
        "runtime": info["runtime"], "width": args.width, "jpeg_quality": args.quality, "frames": len(frames),
        "clip": CLIP.name, "jpeg_kb_mean": round(float(np.mean(size)) / 1024, 1),
        "encode_ms_p50": pct(enc, 50), "decode_ms_p50": pct(dec, 50),
        "overhead_ms_min": round(float(np.min(over)), 2), "overhead_ms_p50": pct(over, 50),
        "overhead_ms_p95": pct(over, 95), "target_overhead_ms": 10.0,
        "rtt_ms_p50": pct(rtt, 50), "worker_infer_ms_p50": pct(infer, 50),
        "throughput_1_client": tp1, "throughput_4_clients": tp4}))


if __name__ == "__main__":
    main()

"""Model files: where they are looked for, how they are downloaded and checked.

Resolution order for a model name (e.g. ``yolo11n-pose.pt``): an existing path given directly;
then each directory of :func:`core.config.model_dirs` (``POSEWATCH_MODEL_DIR`` first, then the
per-user cache ``<cache>/models``). If the file is in none of them and it is a known model, it is
downloaded from its official URL into the per-user cache with a progress bar, to a temporary name,
checked (SHA-256 where the publisher's file is pinned, or the SHA-256 prefix the publisher puts in the
file name, as PyTorch Hub files do; otherwise size and bundle structure) and only then renamed into place. ``POSEWATCH_OFFLINE=1`` forbids downloads.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import threading
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from . import config
from .errors import ModelError
from .files import atomic_path

#: Held around every ``torch.onnx.export`` in this process (the classifiers' in-memory exports,
#: :meth:`core.classify.TrackClassifier.use_onnx`, and ultralytics' YOLO export, :func:`core.pose.yolo.cached_export`):
#: the exporter keeps its state in process-wide globals, and two exports at once — the cameras of a multi-camera
#: detector load their models on their own threads — fail with "GLOBALS.in_onnx_export must be True".
ONNX_EXPORT_LOCK = threading.RLock()


@dataclass(frozen=True)
class ModelSpec:
    """A downloadable model file.

    Attributes:
        name: file name (``yolo11n-pose.pt``).
        url: official download URL.
        sha256: expected SHA-256 hex digest, or ``None`` where the publisher does not publish one
            (then the download is checked by size and structure).
        zip_members: for ``.task`` bundles (zip files), member names that must be present.
        sha256_prefix: the leading hex digits of the SHA-256 that the publisher pins (PyTorch Hub files carry
            them in their name, ``r2plus1d_18-91a641e6.pth``, and ``torch.hub`` checks only those); used where
            the full digest is not known.
    """

    name: str
    url: str
    sha256: str | None = None
    zip_members: tuple[str, ...] = ()
    sha256_prefix: str | None = None


_MP = "https://storage.googleapis.com/mediapipe-models/pose_landmarker"
KNOWN_MODELS: dict[str, ModelSpec] = {
    s.name: s
    for s in (
        # Ultralytics YOLO11n-pose (COCO-17), release v8.3.0 asset; digest of the official file.
        ModelSpec(
            "yolo11n-pose.pt",
            "https://github.com/ultralytics/assets/releases/download/v8.3.0/yolo11n-pose.pt",
            "869e83fcdffdc7371fa4e34cd8e51c838cc729571d1635e5141e3075e9319dc0",
        ),
        # MediaPipe PoseLandmarker bundles (Google publishes no checksums for these).
        ModelSpec(
            "pose_landmarker_lite.task",
            f"{_MP}/pose_landmarker_lite/float16/1/pose_landmarker_lite.task",
            None,
            ("pose_detector.tflite", "pose_landmarks_detector.tflite"),
        ),
        ModelSpec(
            "pose_landmarker_full.task",
            f"{_MP}/pose_landmarker_full/float16/1/pose_landmarker_full.task",
            None,
            ("pose_detector.tflite", "pose_landmarks_detector.tflite"),
        ),
        # torchvision's R(2+1)D-18 Kinetics-400 weights (R2Plus1D_18_Weights.KINETICS400_V1, BSD-3-Clause code;
        # the weights were trained on Kinetics-400): URL and SHA-256 prefix as published in torchvision 0.29's
        # torchvision/models/video/resnet.py.
        ModelSpec(
            "r2plus1d_18-91a641e6.pth",
            "https://download.pytorch.org/models/r2plus1d_18-91a641e6.pth",
            sha256_prefix="91a641e6",
        ),
    )
}

ProgressFn = Callable[[int, int | None], None]
"""Progress callback: ``(bytes_done, bytes_total_or_None)``."""


def sha256_file(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    """SHA-256 hex digest of a file."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def verify_model_file(path: Path, spec: ModelSpec | None) -> None:
    """Check a model file against its spec (digest or bundle structure).

    Raises:
        ModelError: the file is empty, fails its checksum, or is not a valid bundle.
    """
    if not path.is_file() or path.stat().st_size == 0:
        raise ModelError(f"model file is empty or missing: {path}")
    if spec is None:
        return
    if spec.sha256 is not None:
        digest = sha256_file(path)
        if digest != spec.sha256:
            raise ModelError(f"model file {path} is corrupt: SHA-256 {digest[:12]}… does not match the official {spec.sha256[:12]}…")
    elif spec.sha256_prefix is not None:
        digest = sha256_file(path)
        if not digest.startswith(spec.sha256_prefix):
            raise ModelError(f"model file {path} is corrupt: SHA-256 {digest[:12]}… does not start with the "
                             f"official {spec.sha256_prefix}")
    if spec.zip_members:
        try:
            with zipfile.ZipFile(path) as z:
                names = set(z.namelist())
        except (zipfile.BadZipFile, OSError):
            raise ModelError(f"model file {path} is corrupt: not a MediaPipe .task bundle") from None
        missing = [m for m in spec.zip_members if m not in names]
        if missing:
            raise ModelError(f"model file {path} is corrupt: bundle lacks {', '.join(missing)}")


def download(spec: ModelSpec, dest_dir: Path, progress: ProgressFn | None = None, url: str | None = None) -> Path:
    """Download ``spec`` into ``dest_dir`` atomically (temporary name, check, rename).

    Args:
        spec: what to download.
        dest_dir: target directory (created if missing).
        progress: optional callback ``(bytes_done, bytes_total)``; without one a tqdm bar is shown.
        url: override of ``spec.url`` (mirrors; tests serve local copies over 127.0.0.1).

    Returns:
        Path of the verified file.

    Raises:
        ModelError: network failure, short read, or failed check (the partial file is removed).
    """
    dest_dir.mkdir(parents=True, exist_ok=True)
    final = dest_dir / spec.name
    base = os.environ.get("POSEWATCH_MODEL_URL_BASE")  # a mirror serving the same file names
    src = url or (f"{base.rstrip('/')}/{spec.name}" if base else spec.url)
    bar = None
    try:
        with atomic_path(final) as tmp:  # a failed or partial download leaves nothing behind
            try:
                with urllib.request.urlopen(src, timeout=30) as resp, open(tmp, "wb") as out:
                    total = resp.headers.get("Content-Length")
                    total = int(total) if total else None
                    if progress is None:
                        from tqdm import tqdm

                        bar = tqdm(total=total, unit="B", unit_scale=True, desc=f"downloading {spec.name}")
                    done = 0
                    while block := resp.read(1 << 16):
                        out.write(block)
                        done += len(block)
                        if bar is not None:
                            bar.update(len(block))
                        else:
                            progress(done, total)
            except Exception as e:  # network errors of every kind: one clear line
                raise ModelError(f"cannot download {spec.name} from {src}: {e}") from None
            if total is not None and done != total:
                raise ModelError(f"download of {spec.name} ended early ({done} of {total} bytes)")
            verify_model_file(tmp, spec)
        return final
    finally:
        if bar is not None:
            bar.close()


def resolve_model(name_or_path: str | os.PathLike, progress: ProgressFn | None = None,
                  allow_download: bool | None = None) -> Path:
    """Find a model file, downloading a known one on first use.

    Args:
        name_or_path: a path to a file, or a model file name such as ``yolo11n-pose.pt``.
        progress: passed to :func:`download`.
        allow_download: default: not :func:`core.config.offline`.

    Returns:
        The path of a verified model file.

    Raises:
        ModelError: not found (and not downloadable), corrupt, or the download failed.
    """
    p = Path(name_or_path).expanduser()
    spec = KNOWN_MODELS.get(p.name)
    if str(name_or_path) != p.name:  # a path, not a bare model name
        if not p.is_file():
            raise ModelError(f"model file not found: {p}")
        verify_model_file(p, spec)
        return p
    for d in config.model_dirs():
        cand = d / p.name
        if cand.is_file():
            verify_model_file(cand, spec)
            return cand
    if spec is None:
        where = ", ".join(str(d) for d in config.model_dirs())
        raise ModelError(f"model '{p.name}' not found in {where} and it is not a known downloadable model")
    if allow_download is None:
        allow_download = not config.offline()
    if not allow_download:
        raise ModelError(f"model '{p.name}' is not in {config.model_dirs()[0]} and downloads are disabled (POSEWATCH_OFFLINE=1)")
    return download(spec, config.cache_root() / "models", progress)


def copy_into_cache(path: Path, subdir: str) -> Path:
    """Copy ``path`` into ``<cache>/<subdir>/`` (if not already there) and return the copy's path.

    Used where a tool writes outputs next to its input (ultralytics' export) and the model
    directory may be read-only.
    """
    d = config.cache_root() / subdir
    d.mkdir(parents=True, exist_ok=True)
    dst = d / path.name
    if not dst.exists() or dst.stat().st_size != path.stat().st_size:
        with atomic_path(dst) as tmp:
            shutil.copy2(path, tmp)
    return dst

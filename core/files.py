"""Writing files so that a reader never sees half of one: write under a temporary name in the same folder, then
rename over the target (``os.replace``, atomic on POSIX and Windows). A crash, a kill or an error leaves either
the old file or the new one, and no temporary file behind.

    with atomic_path(out) as tmp:       # tmp: a hidden, unique name next to out, with out's suffix
        np.savez(tmp, …)                # or torch.save, cv2.VideoWriter, df.to_csv, shutil.copyfile …
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any, Iterator

from .errors import PoseWatchError


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, suffix: str | None = None) -> Iterator[Path]:
    """A temporary path next to ``path``; when the block ends without an exception it replaces ``path``,
    otherwise it is removed and the exception propagates (an ``OSError`` as a one-line :class:`PoseWatchError`).

    Args:
        path: the file to write; its folder must exist.
        suffix: suffix of the temporary name (default: ``path``'s, so writers that choose a format by the name —
            ``np.savez``, ``cv2.VideoWriter`` — write the right one).

    Yields:
        The temporary path (an empty file exists there; writers overwrite it).

    Raises:
        PoseWatchError: the folder is missing or not writable, or writing failed (``cannot write PATH: reason``).
    """
    path = Path(path)
    try:
        fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.",
                                    suffix=f".tmp{path.suffix if suffix is None else suffix}")
    except OSError as e:
        raise PoseWatchError(f"cannot write {path}: {e.strerror or e}") from None
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        os.replace(tmp, path)
    except OSError as e:
        tmp.unlink(missing_ok=True)
        raise PoseWatchError(f"cannot write {path}: {e.strerror or e}") from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_text(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically; returns the path.

    Raises:
        PoseWatchError: see :func:`atomic_path`.
    """
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


def write_json(path: str | os.PathLike, obj: Any, **dumps_kwargs) -> Path:
    """Write ``obj`` as JSON (``json.dumps(obj, **dumps_kwargs)``) to ``path`` atomically; returns the path."""
    return write_text(path, json.dumps(obj, **dumps_kwargs))


def write_csv(df, path: str | os.PathLike, **to_csv_kwargs) -> Path:
    """Write a pandas DataFrame as CSV (``index=False`` unless given) to ``path`` atomically; returns the path.

    Raises:
        PoseWatchError: the output folder does not exist, or writing failed.
    """
    path = Path(path)
    if not path.absolute().parent.is_dir():
        raise PoseWatchError(f"output folder does not exist: {path.absolute().parent}")
    to_csv_kwargs.setdefault("index", False)
    with atomic_path(path) as tmp:
        df.to_csv(tmp, **to_csv_kwargs)
    return path

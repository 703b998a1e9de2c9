"""Build the fall-detection training project: the URFD pose CSV plus the seven shared fall clips, labelled
upright / falling / lying (URFD's three classes, in URFD's class order).

    POSEWATCH_MODEL_DIR=../shared/models POSEWATCH_OFFLINE=1 YOLO_OFFLINE=1 \\
        .venv/bin/python bench/make_fall_project.py OUT_FOLDER [--no-urfd] [--video NAME ...] [--trace]

The project (``OUT_FOLDER``, which must not exist yet; it is built under a temporary name and renamed
when complete) has the taxonomy ``upright, falling, lying`` (class ids 0, 1, 2 as in the URFD CSV), the
30 URFD sequences imported with their own labels (:mod:`core.importing`), and the fall videos of
``<shared>/data/videos/fall`` with their skeletons extracted by the default backend (YOLO11n-pose +
ByteTrack, full-size frames: the same cache the player uses) and labelled with clips.

How the fall clips were labelled
--------------------------------
``shared/README.md`` gives only rough times (Fall01 falls at ~4.3-5.3 s, Fall04 at ~6.0-7.5 s,
aswinajith at ~2.6-3.3 s, the others "in roughly the last third"). The intervals in :data:`FALLS` were
set from the skeletons: the hip height (image y of the mid-point of the two hips) of the main person over
time, printed by ``--trace``. ``falling`` runs from the first frame where the hip leaves its standing
level for good to the last frame before the hip reaches the level where it stays while the person is on
the ground; frames before are ``upright``, frames after are ``lying``. :func:`suggest_fall` states that
rule in numbers (5 % / 90 % of the standing-to-ground drop) and the table is its output, except where the
trace shows the rule misled by noise (listed in each entry's note): aswinajith's start (72, the person is
still walking in, so the "standing level" is noisy), Fall02's start (116; the hip drifts 5 px from 99 on
without falling) and Fall03's end (the person is lost at frame 101, before reaching the ground: all its
tracked frames after the onset are ``falling``). Where the README's rough times and the trace disagree,
the trace wins (Fall01 124-147 vs ~129-159: the hip is on the ground from 148, the box only turns wide
at 171; Fall04 174-203 vs ~174-217).

Which person is labelled: the tracker fragments the fallen person's identity (a new track ID once they
lie down, sometimes a brief duplicate box), and Fall02 has a second, seated person. Clips are therefore
per track, on the main person's tracks only (:data:`FALLS` ``tracks``, read from the trace: the
tracks that follow the falling person's box; duplicates overlapping the main track in the same frames and
small boxes of other objects are left out) — never whole-frame, which would label the seated person
in Fall02 as falling. Every (label interval × main track) with detections becomes one clip spanning that
track's frames inside the interval. The track IDs are those of the default extraction settings; if a
listed track is missing (other settings, another tracker version), the build stops with an error instead
of labelling the wrong person. Fall03 and Fall02 lose the person once they lie down (no detections), so
they contribute (almost) no ``lying`` frames.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Generator, Sequence

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
SHARED = Path(os.environ.get("POSEWATCH_SHARED", ROOT.parent / "shared"))

from core.errors import PoseWatchError  # noqa: E402
from core.extract import Progress, run  # noqa: E402
from core.config import label_colour  # noqa: E402
from core.importing import URFD_LABELS  # noqa: E402
from core.layouts import COMMON_JOINTS, to_common  # noqa: E402

FALL_DIR = SHARED / "data" / "videos" / "fall"
URFD_CSV = SHARED / "data" / "skeleton" / "urfd" / "pose_urfd_3classes.csv"
TAXONOMY = tuple((name, label_colour(name), str(i + 1)) for i, name in enumerate(URFD_LABELS))
ANNOTATOR = "make_fall_project"


@dataclass(frozen=True)
class FallAnnotation:
    """The labelling of one fall video (frames 0-based, inclusive).

    Attributes:
        tracks: track IDs of the main (falling) person under the default extraction settings.
        fall_start, fall_end: first and last frame labelled ``falling``; earlier frames are ``upright``,
            later ones ``lying``.
        note: what the trace shows.
    """

    tracks: tuple[int, ...]
    fall_start: int
    fall_end: int
    note: str


#: Labelling of the shared fall clips (see the module docstring for how it was set).
FALLS: dict[str, FallAnnotation] = {
    "aswinajith_falling.mp4": FallAnnotation(
        (7,), 72, 97, "30 fps; enters at frame 38; hip ~260 px until 72 (rule: 76, noisy standing level while "
                      "walking in), ~390-400 px from 98 (box w/h 0.6 -> 4); track 6 is a one-frame blip"),
    "thanhnc58_Fall01.mp4": FallAnnotation(
        (1,), 124, 147, "30 fps; hip ~390 px until 123, on the ground (607-640 px) from 148, box turns wide "
                        "(w/h 1.7) at 171; tracks 3, 6 are 1-2 frame blips"),
    "thanhnc58_Fall02.mp4": FallAnnotation(
        (1, 9), 116, 127, "29 fps; hip 374-379 px until 115 (rule: 99, a 5 px drift), ~495-510 px from 128; track 1 "
                          "ends at 132, track 9 (140-141) is the person lying, then no detection; track 2 is "
                          "the seated person, track 7 a duplicate box (83-88)"),
    "thanhnc58_Fall03.mp4": FallAnnotation(
        (1,), 80, 101, "29 fps; hip ~363 px until 79, 503 px at 100; the person is not detected after frame "
                       "101, before reaching the ground (no lying frames)"),
    "thanhnc58_Fall04.mp4": FallAnnotation(
        (1, 24, 28), 174, 203, "29 fps; hip ~372 px until 173, ~665 px at 204-213 (track 24), ~640 px from 223 "
                               "(track 28); track 29 duplicates track 28's person, tracks 2, 23, 25 are other "
                               "boxes"),
    "thanhnc58_Fall05.mp4": FallAnnotation(
        (1, 4), 149, 171, "29 fps; hip ~385 px until 148, ~630 px at 172-179 (track 1 ends at 179), ~676 px "
                          "lying (track 4, 190-220)"),
    "thanhnc58_Fall06.mp4": FallAnnotation(
        (1,), 170, 201, "29 fps; hip ~295 px until 169, 476 px at 188-197 (kneeling, head below hips), "
                        "~540 px from 202 and stays"),
}


def hip_trace(cache, tracks: Sequence[int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Hip height of the main person over time.

    Args:
        cache: the video's :class:`core.cache.SkeletonCache`.
        tracks: the main person's track IDs (where two are present in one frame, the larger box wins).

    Returns:
        ``frames (K,)`` int64 frame indices with a detection, ``hip_y (K,)`` float64 image y (pixels,
        down) of the hip mid-point, ``aspect (K,)`` float64 box width / height.
    """
    rows = np.flatnonzero(np.isin(cache.track_id, list(tracks)))
    box = cache.bbox[rows].astype(np.float64)
    area = (box[:, 2] - box[:, 0]) * (box[:, 3] - box[:, 1])
    frames = cache.frame[rows].astype(np.int64)
    order = np.lexsort((-area, frames))
    rows, frames, box = rows[order], frames[order], box[order]
    first = np.concatenate([[True], frames[1:] != frames[:-1]])
    rows, frames, box = rows[first], frames[first], box[first]
    kp = to_common(cache.keypoints[rows], cache.layout)
    hips = [COMMON_JOINTS.index("HIP_LEFT"), COMMON_JOINTS.index("HIP_RIGHT")]
    hip_y = kp[:, hips, 1].astype(np.float64).mean(axis=1)
    aspect = (box[:, 2] - box[:, 0]) / np.maximum(box[:, 3] - box[:, 1], 1e-6)
    return frames, hip_y, aspect


def suggest_fall(frames: np.ndarray, hip_y: np.ndarray, fps: float) -> tuple[int, int]:
    """The falling interval the labelling rule finds in a hip trace (for checking :data:`FALLS`).

    Standing level = median hip y over the first second of the trace; lying level = median over its last
    ten detections. Falling starts after the last frame whose hip is within 5 % of the standing-to-lying
    drop from the standing level (among frames before the hip first passes half the drop) and ends before
    the first frame within 10 % of the lying level.

    Args:
        frames: ``(K,)`` frame indices; hip_y: ``(K,)`` pixels; fps: frames per second.

    Returns:
        ``(fall_start, fall_end)`` frame indices (inclusive).
    """
    stand = float(np.median(hip_y[frames < frames[0] + fps]))
    lie = float(np.median(hip_y[-10:]))
    drop = lie - stand
    half = int(np.argmax(hip_y > stand + 0.5 * drop))
    before = np.flatnonzero(hip_y[:half] <= stand + 0.05 * drop)
    start = int(frames[before[-1]] + 1) if len(before) else int(frames[0])
    after = np.flatnonzero(hip_y[half:] >= lie - 0.1 * drop)
    end = int(frames[half + after[0]] - 1) if len(after) else int(frames[-1])
    return start, max(start, end)


def label_intervals(ann: FallAnnotation, frame_count: int) -> list[tuple[str, int, int]]:
    """``[(label, first, last), ...]`` for upright / falling / lying over a video of ``frame_count`` frames."""
    out = [("upright", 0, ann.fall_start - 1), ("falling", ann.fall_start, ann.fall_end),
           ("lying", ann.fall_end + 1, frame_count - 1)]
    return [(lab, a, min(b, frame_count - 1)) for lab, a, b in out if a <= min(b, frame_count - 1)]


def fall_clips(cache, ann: FallAnnotation, frame_count: int) -> list[tuple[str, int, int, int]]:
    """Clips ``(label, start, end, track_id)`` of one fall video: one per label interval and main track
    with detections in it, spanning that track's frames inside the interval.

    Raises:
        PoseWatchError: a listed main track is not in the cache (other extraction settings).
    """
    clips = []
    for tid in ann.tracks:
        rows = np.flatnonzero(cache.track_id == tid)
        if len(rows) == 0:
            raise PoseWatchError(f"{cache.meta.get('video', '?')}: track {tid} of the falling person is not in the "
                                 "skeletons; they were extracted with other settings than the default ones")
        f = np.sort(cache.frame[rows])
        for label, a, b in label_intervals(ann, frame_count):
            inside = f[(f >= a) & (f <= b)]
            if len(inside):
                clips.append((label, int(inside[0]), int(inside[-1]), int(tid)))
    return sorted(clips, key=lambda c: (c[1], c[3]))


def iter_build_fall_project(folder: str | os.PathLike, videos: Sequence[str] | None = None, urfd: bool = True,
                            fall_dir: Path = FALL_DIR, urfd_csv: Path = URFD_CSV,
                            cancel: Callable[[], bool] | None = None) -> Generator[Progress, None, dict]:
    """Build the fall project in ``folder`` (generator, see :mod:`core.extract`).

    Args:
        folder: the project folder to create; must not exist. Built under a temporary name next to it
            and renamed when complete.
        videos: file names from :data:`FALLS` (default: all seven).
        urfd: also import the URFD pose CSV.
        fall_dir, urfd_csv: where the shared fall videos and the URFD CSV are.
        cancel: polled during pose extraction.

    Returns:
        Summary dict: ``folder``, ``videos`` (name → ``{"clips": n, "frames": {label: n}}``),
        ``urfd`` (the import summary line or None), ``label_names``.

    Raises:
        PoseWatchError: ``folder`` exists, a video or the CSV is missing or unreadable, a main track is
            missing; nothing is left behind.
    """
    from core.importing import iter_import
    from core.project import Project

    folder = Path(folder).expanduser().resolve()
    if folder.exists():
        raise PoseWatchError(f"{folder} already exists; choose a new folder for the fall project")
    names = list(videos) if videos is not None else list(FALLS)
    unknown = [n for n in names if n not in FALLS]
    if unknown:
        raise PoseWatchError(f"no labelling for {', '.join(unknown)}; known: {', '.join(FALLS)}")
    missing = [str(fall_dir / n) for n in names if not (fall_dir / n).is_file()]
    if urfd and not Path(urfd_csv).is_file():
        missing.append(str(urfd_csv))
    if missing:
        raise PoseWatchError(f"missing shared data: {', '.join(missing)} (set POSEWATCH_SHARED)")
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=folder.name + ".tmp-", dir=folder.parent))
    summary: dict = {"folder": str(folder), "videos": {}, "urfd": None, "label_names": list(URFD_LABELS)}
    try:
        project = Project.create(tmp, taxonomy=TAXONOMY)
        try:
            if urfd:
                report = yield from iter_import(project, [urfd_csv])
                summary["urfd"] = report.summary()
            for i, name in enumerate(names):
                yield Progress(i, len(names), f"labelling {name}")
                video = project.add_video(fall_dir / name)
                cache = yield from project.iter_skeletons(video, cancel=cancel)
                clips = fall_clips(cache, FALLS[name], video.frame_count)
                frames: dict[str, int] = {lab: 0 for lab in URFD_LABELS}
                with project.batch():
                    for label, a, b, tid in clips:
                        project.add_clip(video.id, a, b, label, track_id=tid, annotator=ANNOTATOR,
                                         note=f"hip-height trace, bench/make_fall_project.py: {FALLS[name].note}")
                        frames[label] += int(np.count_nonzero((cache.track_id == tid) & (cache.frame >= a)
                                                              & (cache.frame <= b)))
                summary["videos"][name] = {"clips": len(clips), "frames": frames}
            yield Progress(len(names), len(names), "done")
        finally:
            project.close()
        os.replace(tmp, folder)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return summary


def print_trace(names: Sequence[str], fall_dir: Path = FALL_DIR, step: int = 4) -> None:
    """Print each video's hip trace (every ``step``-th detection), its table entry and the suggested interval."""
    from core.extract import iter_load_or_extract

    for name in names:
        cache = run(iter_load_or_extract(fall_dir / name, "yolo"), callback=lambda p: None)
        ann = FALLS[name]
        frames, hip, aspect = hip_trace(cache, ann.tracks)
        print(f"== {name}: {cache.frame_count} frames at {cache.fps:.2f} fps; tracks {ann.tracks}; "
              f"table falling {ann.fall_start}-{ann.fall_end}; rule suggests {suggest_fall(frames, hip, cache.fps)}")
        for f, h, a in list(zip(frames, hip, aspect))[::step]:
            print(f"  frame {f:4d}  {f / cache.fps:5.2f} s  hip_y {h:6.1f}  box w/h {a:4.2f}")


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out", nargs="?", help="project folder to create")
    ap.add_argument("--no-urfd", action="store_true", help="only the fall videos")
    ap.add_argument("--video", action="append", help="only this fall video (repeatable)")
    ap.add_argument("--trace", action="store_true", help="print the hip traces used for the labels, build nothing")
    args = ap.parse_args(argv)
    try:
        if args.trace:
            print_trace(args.video or list(FALLS))
            return 0
        if not args.out:
            ap.error("OUT folder required")
        s = run(iter_build_fall_project(args.out, args.video, urfd=not args.no_urfd), desc="fall project")
    except PoseWatchError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"fall project: {s['folder']}")
    if s["urfd"]:
        print(f"  URFD: {s['urfd']}")
    for name, v in s["videos"].items():
        print(f"  {name}: {v['clips']} clips, frames {v['frames']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

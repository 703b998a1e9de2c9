"""The player's labels from the fight (scene) model, per frame: in order and in a shuffled order.

The player labels each person of the frame shown with :meth:`core.classify.TrackClassifier.scene_labels`, on the GUI
thread: playback and a drag along the timeline ask for the frames in order, a click or a scrub for frames far
apart. For each shared fight clip below (skeletons and motion features cached first, not timed) this times
``scene_labels`` for every frame in order, then, on a second classifier, for every frame in a shuffled order (seed
0); mean and max milliseconds a frame. Run it on two versions of the code (a ``git worktree``) to compare them.
Prints one JSON line.

    python bench/scene_labels.py
"""

from __future__ import annotations

import json
import platform
import time

from benchenv import SHARED  # noqa: F401  (sys.path, shared data, offline)

CLIPS = ["fi145.mp4", "fi090.mp4", "fi077.mp4"]


def main() -> None:
    import numpy as np

    from core.classify import TrackClassifier
    from core.defaults import default_classifier_path
    from core.extract import iter_load_or_extract, run
    from core.motion import iter_video_motion

    ckpt = default_classifier_path("fight")
    out = {"bench": "scene_labels", "date": time.strftime("%Y-%m-%d"),
           "machine": f"{platform.machine()} {platform.processor() or ''}".strip(), "clips": {}}
    for name in CLIPS:
        video = SHARED / "data" / "videos" / "fight" / name
        cache = run(iter_load_or_extract(video, "yolo"), callback=lambda _p: None)
        motion = run(iter_video_motion(video, cache), callback=lambda _p: None)
        row = {"frames": cache.frame_count}
        for order in ("in_order", "shuffled"):
            clf = TrackClassifier(ckpt)
            clf.set_motion(cache, motion)
            frames = range(cache.frame_count) if order == "in_order" else \
                np.random.default_rng(0).permutation(cache.frame_count)
            times = []
            for f in frames:
                t0 = time.perf_counter()
                clf.scene_labels(cache, int(f))
                times.append(time.perf_counter() - t0)
            row[order] = {"mean_ms": round(1000 * float(np.mean(times[1:])), 2),
                          "max_ms": round(1000 * float(np.max(times[1:])), 2)}  # the first one warms the model up
        out["clips"][name] = row
    print(json.dumps(out))


if __name__ == "__main__":
    main()

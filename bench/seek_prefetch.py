"""A seek in the player with and without the frame decoded ahead (``core.video.FileSource.prefetch``), side by side.

The review of suggestions seeks at each accept to the next proposal's first frame; in a compressed video a seek
decodes every frame from the one shown (or from a keyframe) to the one asked for, on the GUI thread. The
suggestion panel asks the video to decode that frame ahead (:meth:`core.state.AppState.prefetch`) while the
annotator looks at the current one. For each shared clip below, and each jump (frames ahead of the frame shown),
this times ``AppState.seek`` from the same starting frame, alternately: *cold* (the frame not decoded ahead) and
*ahead* (``prefetch`` called, and the frame ready: as after a person's pause of a second), ``--repeats`` times each;
median and max milliseconds. Prints one JSON line.

    python bench/seek_prefetch.py [--repeats 5]
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time

from benchenv import SHARED  # noqa: F401  (sys.path, shared data, offline)

CLIPS = ["fight/fi090.mp4",  # 1920x1080, 56 frames
         "fight/fi077.mp4",  # 1920x1080, 84 frames
         "fall/thanhnc58_Fall04.mp4",  # 406x720, 288 frames
         "theft/stock_cctv_shoplifting_candy.mp4"]
JUMPS = (25, 50)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    from core.state import AppState

    out = {"bench": "seek_prefetch", "date": time.strftime("%Y-%m-%d"),
           "machine": f"{platform.machine()} {platform.processor() or ''}".strip(), "repeats": args.repeats,
           "clips": {}}
    for rel in CLIPS:
        path = SHARED / "data" / "videos" / rel
        st = AppState()
        st.open_video(path)
        info = st.video_info
        row = {"size": f"{info.width}x{info.height}", "frames": info.frame_count}
        for jump in JUMPS:
            start = 2
            target = min(start + jump, info.frame_count - 1)
            times = {"cold": [], "ahead": []}
            for _ in range(args.repeats):
                for mode in ("cold", "ahead"):
                    st.seek(start)
                    st.seek(start + 1)  # the main decoder sits just after the frame shown, as in playback
                    if mode == "ahead":
                        st.prefetch(target)
                        end = time.monotonic() + 30
                        while st.prefetched != target and time.monotonic() < end:
                            time.sleep(0.005)
                    t0 = time.perf_counter()
                    st.seek(target)
                    times[mode].append(1000 * (time.perf_counter() - t0))
                    assert st.frame.index == target
            row[f"jump{jump}"] = {m: {"median_ms": round(statistics.median(v), 2), "max_ms": round(max(v), 2)}
                                  for m, v in times.items()}
        st.close_video()
        out["clips"][rel] = row
    print(json.dumps(out))


if __name__ == "__main__":
    main()

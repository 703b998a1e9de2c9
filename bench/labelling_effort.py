"""Labelling effort with and without model suggestions (issue 12), in a real (offscreen) PoseWatch window.

A scripted annotator labels shared clips to their known labels twice, each time in a fresh project:

* **scratch**: per clip: click the timeline at its first frame in its row (seeks, selects the track), ``I``, click
  at its last frame, ``O``, the label's number key, ``Enter`` — 6 actions.
* **suggest**: the loaded model's suggestions are computed for every video (Label ▸ Suggestions ▸ Compute for
  every video, a background worker; not an action, its wall time is reported), then review goes through the
  project: ``N`` opens the first video with suggestions and selects its first; for each suggestion: if it overlaps a
  known clip of its track that no accepted one covers yet, fix its label if wrong (number key + ``Shift+R``), move
  each edge that is more than ``--tolerance-s`` off by nudges (``Alt[+Shift]+Left/Right``, ``suggest.nudge_frames``
  a press) while that takes at most 3 presses, else drag that edge of the proposal on the timeline (one mouse drag
  each), then accept (``A``, which selects the next one, and since 2026-12-04 closes the open suggestions of the
  same track and label its clip covers: :func:`core.suggest.covered`); otherwise reject (``X``). Past a video's
  last suggestion the accept or reject opens the next video that has some (``suggest.advance_to_next_video``;
  before 2026-12-03 an ``N`` did, and edges were dragged after the accept; ``--no-advance``), and the annotator
  stops once the status bar says the project's last one is reviewed. Known clips no suggestion covered are then
  labelled as in *scratch* (opening their video: one action).

Every key press is a real key event to the focused widget, every click and drag real mouse events on the timeline;
each is timed: its response (wall time until the window has processed it; for a drag the window's time handling
its events, without the scripted mouse's pauses) and, since 2026-12-06, its picture (until a sought frame's image
is shown: seeks no longer wait for the decoder, ``AppState.seek(wait=False)``). Opening a video by hand (one
double-click in the Project list) is counted as one action. ``--think-ms N`` waits N ms before each action
(untimed, the window processing events), as a person pauses to look: what the window does in the background
meanwhile (a frame decoded ahead for the next suggestion) then shows in the times.

Data (held out from the shipped models' training): the fight clips of source groups surv:6 and surv:40 (the shipped
``fight_default.pt`` was trained on all other groups; model card), one whole-frame ``fight`` clip each (the whole
clip is the fight), and the 13 no-fight clips of those groups (nothing to label: not opened from scratch, but a
false proposal there costs its review; ``--no-nofights`` leaves them out, as the first runs did);
``thanhnc58_Fall02.mp4`` (the fall model's validation video; model card), its ``falling`` and ``lying`` clips on
the falling person's tracks from ``bench/make_fall_project.py`` (``upright`` is not labelled in either condition:
no model proposes the normal class). With ``--fall-models DIR`` all seven shared fall videos are labelled
instead, each in its own project and reviewed with the fall model ``bench/fall_holdout.py --keep DIR`` trained
without it (URFD and the six other videos, the shipped model's recipe); the scratch condition then labels the same
seven.

Prints one JSON line. ``--fights N`` limits the fight clips (default: all 9).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("POSEWATCH_OFFLINE", "1")
os.environ.setdefault("YOLO_OFFLINE", "1")

SHARED = Path(os.environ.get("POSEWATCH_SHARED", ROOT.parent / "shared")).resolve()
FIGHT_TEST = ["fi026.mp4", "fi027.mp4", "fi028.mp4", "fi029.mp4", "fi030.mp4", "fi144.mp4", "fi145.mp4", "fi146.mp4",
              "fi147.mp4"]
#: the no-fight clips of the same two source groups: nothing to label there, but a model's false proposals on them
#: cost a review (``N``, ``X``) that labelling from scratch does not
NOFIGHT_TEST = ["nofi057.mp4", "nofi058.mp4", "nofi059.mp4", "nofi060.mp4", "nofi109.mp4", "nofi110.mp4",
                "nofi111.mp4", "nofi112.mp4", "nofi113.mp4", "nofi114.mp4", "nofi115.mp4", "nofi116.mp4",
                "nofi117.mp4"]
FALL_TEST = ["thanhnc58_Fall02.mp4"]


def wait_for(app, cond, timeout_s: float = 120.0) -> None:
    """Process events until ``cond()`` is true. Raises TimeoutError."""
    end = time.monotonic() + timeout_s
    while not cond():
        if time.monotonic() > end:
            raise TimeoutError("the window did not get there in time")
        app.processEvents()
        time.sleep(0.01)


class Annotator:
    """Drives the window with real input events; counts and times them."""

    def __init__(self, win, qt, think_ms: int = 0):
        self.win, self.qt = win, qt
        self.think_ms = int(think_ms)
        self.actions: list[tuple[str, float, float]] = []  # (name, response s, picture shown s)
        self._released = 0.0  # when a drag's mouse button was released (perf_counter s)

    def _start(self) -> float:
        """The annotator's pause before an action (``--think-ms``; not timed: the window processes events meanwhile,
        as while a person looks at the frame), then the action's start time (``perf_counter`` seconds)."""
        if self.think_ms > 0:
            self.qt["QTest"].qWait(self.think_ms)
        return time.perf_counter()

    def _done(self, name: str, t0: float, busy: float | None = None) -> None:
        """Record an action: its response (from ``t0`` until the window has processed its events; for a drag,
        ``busy``, the window's time handling its press and moves, plus the release's: not the scripted mouse's
        pauses) and, where it seeks, the time until the
        sought frame's picture is shown (a seek that does not wait decodes it in the background: ``state.seeking``).
        """
        app, state = self.qt["app"], self.win.state
        app.processEvents()
        t = time.perf_counter() - t0
        t_busy = t if busy is None else busy + time.perf_counter() - self._released  # + the release's handling
        deadline = time.perf_counter() + 10.0
        while getattr(state, "seeking", False) and time.perf_counter() < deadline:  # never before 2026-12-06
            self.qt["QTest"].qWait(1)
        picture = time.perf_counter() - (t0 if busy is None else self._released)
        self.actions.append((name, t_busy, picture))
        if t_busy > 0.05 or picture > 0.05:
            log(f"  {name}: {1000 * t_busy:.0f} ms (picture {1000 * picture:.0f} ms)")

    def key(self, key, mod=None, name: str = "") -> None:
        QTest, Qt = self.qt["QTest"], self.qt["Qt"]
        t0 = self._start()
        w = self.qt["app"].focusWidget() or self.win.view
        QTest.keyClick(w, key, mod if mod is not None else Qt.KeyboardModifier.NoModifier)
        self._done(name or f"key {key}", t0)

    def _tl_point(self, frame: float, row: int):
        tl = self.win.timeline
        tl.set_playhead(int(frame))  # scrolled into view, as a user scrolls before clicking (no action)
        self.qt["app"].processEvents()
        return tl.view_to_widget(frame + 0.5, row + 0.5)

    def click_timeline(self, frame: int, row: int) -> None:
        QTest, Qt = self.qt["QTest"], self.qt["Qt"]
        p = self._tl_point(frame, row)
        t0 = self._start()
        vp = self.win.timeline.plot.viewport()
        QTest.mouseClick(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, p)
        self._done("click timeline", t0)

    def drag_edge(self, clip, edge: str, to_frame: int, row: int) -> None:
        """Drag the edge of a clip (or of the selected suggestion) on the timeline to ``to_frame`` (its new first
        frame, or its new last frame)."""
        from PySide6.QtCore import QEvent, QPointF
        from PySide6.QtGui import QMouseEvent

        Qt, app = self.qt["Qt"], self.qt["app"]
        tl = self.win.timeline
        x0 = clip.start if edge == "start" else clip.end + 1
        x1 = to_frame if edge == "start" else to_frame + 1
        p0, p1 = tl.view_to_widget(x0, row + 0.5), tl.view_to_widget(x1, row + 0.5)
        vp = tl.plot.viewport()
        left, none = Qt.MouseButton.LeftButton, Qt.MouseButton.NoButton

        def send(kind, pos, button, buttons):
            app.sendEvent(vp, QMouseEvent(kind, QPointF(pos), QPointF(vp.mapToGlobal(pos)), button, buttons,
                                          Qt.KeyboardModifier.NoModifier))

        busy = 0.0

        def timed(kind, pos, button, buttons):
            nonlocal busy
            t = time.perf_counter()
            send(kind, pos, button, buttons)
            busy += time.perf_counter() - t

        t0 = self._start()
        timed(QEvent.Type.MouseButtonPress, p0, left, left)
        for i in range(1, 7):
            self.qt["QTest"].qWait(15)
            timed(QEvent.Type.MouseMove, p0 + (p1 - p0) * (i / 6), none, left)
        self.qt["QTest"].qWait(15)
        self._released = time.perf_counter()
        send(QEvent.Type.MouseButtonRelease, p1, left, none)
        self._done("drag edge", t0, busy)

    def count(self, name: str, t: float = 0.0) -> None:
        self.actions.append((name, t, t))


def truths(kind: str, name: str, cache) -> list[tuple[str, int, int, int | None]]:
    """Known clips ``(label, start, end, track or None)`` of a test clip."""
    if kind == "fight":
        return [] if name in NOFIGHT_TEST else [("fight", 0, cache.frame_count - 1, None)]
    import make_fall_project as mfp

    ann = mfp.FALLS[name]
    return [(lab, a, b, t) for lab, a, b, t in mfp.fall_clips(cache, ann, cache.frame_count) if lab != "upright"]


VERBOSE = False


def log(msg: str) -> None:
    """One review decision or slow action on stderr (``--verbose``)."""
    if VERBOSE:
        print(msg, file=sys.stderr, flush=True)


def held_out_fall_model(folder: Path, video: str) -> Path:
    """The model ``bench/fall_holdout.py --keep folder`` trained without ``video``: ``folder/model_<stem>/model.pt``.

    Raises:
        SystemExit: it is not there.
    """
    path = folder / f"model_{Path(video).stem}" / "model.pt"
    if not path.is_file():
        raise SystemExit(f"error: no held-out fall model for {video}: {path} is missing (run bench/fall_holdout.py "
                         f"--normal '' --keep {folder})")
    return path


def scratch(ann: Annotator, lab, clips, hotkeys) -> None:
    Qt = ann.qt["Qt"]
    for label, a, b, tid in clips:
        row = ann.win.timeline.row_of_track(tid)
        ann.click_timeline(a, row)
        ann.key(Qt.Key.Key_I, name="I")
        ann.click_timeline(b, row)
        ann.key(Qt.Key.Key_O, name="O")
        ann.key(getattr(Qt.Key, f"Key_{hotkeys[label]}"), name="label key")
        ann.key(Qt.Key.Key_Return, name="Enter")
    made = {(c.label, c.start, c.end, c.track_id) for c in lab.clips()}
    assert made >= set(clips), (made, clips)


def review_project(ann: Annotator, win, app, clips_of: dict, hotkeys, tol_of: dict) -> dict:
    """The *suggest* condition over a whole project: ``N`` opens the first video with open suggestions and selects
    its first; each suggestion is reviewed (see the module docstring); past a video's last one ``N`` opens the next
    video that has some. Known clips no accepted suggestion covered are then labelled from scratch (opening their
    video: one action). ``clips_of``: ``{video_id: known clips}``; ``tol_of``: ``{video_id: tolerance in frames}``."""
    from core import suggest
    from gui.suggestions import ALL_REVIEWED

    Qt = ann.qt["Qt"]
    S = win.suggestions
    step = int(suggest.settings()["nudge_frames"])
    done: dict[int, set[int]] = {v: set() for v in clips_of}
    stats = {"suggestions": len(win.state.project.suggestions(status="open")), "accepted": 0, "rejected": 0}

    def settle(before) -> None:
        if S.selected is None and win.state.project_video is not None and win.state.project_video.id != before:
            # the key opened the next video: its first suggestion is selected once its skeletons are shown
            wait_for(app, lambda: S.selected is not None or (not S.is_computing and S.model_hash and not S.suggestions))

    def next_suggestion() -> bool:
        before = win.state.project_video.id if win.state.project_video is not None else None
        ann.key(Qt.Key.Key_N, name="N")
        settle(before)
        return S.selected is not None

    ok = next_suggestion()
    while ok:
        s = S.selected
        vid = s.video_id
        clips = clips_of[vid]
        tol = tol_of[vid]
        match = next((i for i, (lab, a, b, t) in enumerate(clips)
                      if i not in done[vid] and t == s.track_id and s.start <= b and s.end >= a), None)
        log(f"{Path(win.state.project_video.path).name if win.state.project_video else '?'}: suggestion {s.label} "
            f"{s.start}-{s.end} track {s.track_id} p={s.prob:.2f} -> "
            + ("reject" if match is None else f"accept as {clips[match]}"))
        if match is None:
            ann.key(Qt.Key.Key_X, name="X reject")  # past a video's last one, the next video opens
            stats["rejected"] += 1
            settle(vid)
        else:
            label, a, b, tid = clips[match]
            if s.label != label:
                ann.key(getattr(Qt.Key, f"Key_{hotkeys[label]}"), name="label key")
                ann.key(Qt.Key.Key_R, Qt.KeyboardModifier.ShiftModifier, name="Shift+R")
            for edge, want in (("start", a), ("end", b)):
                off = want - getattr(S.selected, edge)
                presses = math.ceil(max(0, abs(off) - tol) / step)
                if 0 < presses <= 3:
                    mods = Qt.KeyboardModifier.AltModifier | (Qt.KeyboardModifier.ShiftModifier if edge == "end"
                                                              else Qt.KeyboardModifier.NoModifier)
                    for _ in range(presses):
                        ann.key(Qt.Key.Key_Right if off > 0 else Qt.Key.Key_Left, mods, name="nudge")
            row = win.timeline.row_of_track(tid)
            for edge, want in (("start", a), ("end", b)):
                if abs(getattr(S.selected, edge) - want) > tol:  # too far to nudge: drag the proposal's edge
                    ann.drag_edge(S.selected, edge, want, row)
            sid = S.selected.id
            ann.key(Qt.Key.Key_A, name="A accept")
            stats["accepted"] += 1
            done[vid].add(match)
            clip = win.state.project.clip(win.state.project.suggestion(sid).clip_id)
            assert abs(clip.start - a) <= tol and abs(clip.end - b) <= tol, (clip, clips[match])
            settle(vid)
        # the status bar says when the last one of the project is reviewed: no N to find out
        ok = S.selected is not None or (win.statusBar().currentMessage() != ALL_REVIEWED and next_suggestion())
    missed = {v: [c for i, c in enumerate(clips_of[v]) if i not in done[v]] for v in clips_of}
    stats["missed"] = sum(len(m) for m in missed.values())
    # closed by an accept whose clip covers them (core.suggest.covered): no key pressed for them
    stats["closed_with_an_accept"] = len(win.state.project.suggestions(status="accepted")) - stats["accepted"]
    for v, todo in missed.items():
        if not todo:
            continue
        log(f"video {v}: missed {todo}")
        if win.state.project_video is None or win.state.project_video.id != v:
            win.labelling.open_project_video(v)
            wait_for(app, lambda: win.state.skeletons is not None)
            ann.count("open video")
        win.view.setFocus()
        scratch(ann, win.labelling, todo, hotkeys)
    return stats


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--fights", type=int, default=len(FIGHT_TEST))
    ap.add_argument("--tolerance-s", type=float, default=0.2)
    ap.add_argument("--no-nofights", action="store_true",
                    help="leave out the test groups' 13 no-fight clips (the 2026-12-02 runs did)")
    ap.add_argument("--fall-models", default=None, metavar="DIR",
                    help="held-out fall models from `bench/fall_holdout.py --keep DIR` (DIR/model_<clip>/model.pt): "
                         "label all seven shared fall videos, each reviewed with the model trained without it")
    ap.add_argument("--no-advance", action="store_true",
                    help="suggest.advance_to_next_video off: N opens the next video (the flow before 2026-12-03)")
    ap.add_argument("--verbose", action="store_true",
                    help="each suggestion's review, each missed clip and each action over 50 ms on stderr")
    ap.add_argument("--only", choices=("fight", "fall"), default=None, help="one of the two data sets")
    ap.add_argument("--think-ms", type=int, default=0,
                    help="the annotator's pause before each action (not timed; default 0: keys back to back)")
    args = ap.parse_args()
    global VERBOSE
    VERBOSE = args.verbose
    if (SHARED / "models").is_dir():
        os.environ.setdefault("POSEWATCH_MODEL_DIR", str(SHARED / "models"))

    from gui.app import prepare_qt_environment

    prepare_qt_environment()
    from PySide6.QtCore import QSettings, Qt
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication

    from core import config
    from core.defaults import default_classifier_path
    from core.extract import iter_load_or_extract, run
    from core.project import Project
    from gui.main_window import CLASSIFIER_KEY, MainWindow

    import make_fall_project as mfp

    if args.no_advance:
        config.activate(sets=["suggest.advance_to_next_video=false"])
    app = QApplication.instance() or QApplication([])
    qt = {"app": app, "QTest": QTest, "Qt": Qt}
    tmp = Path(tempfile.mkdtemp(prefix="pw-effort-"))
    settings = QSettings(str(tmp / "s.ini"), QSettings.Format.IniFormat)
    settings.setValue(CLASSIFIER_KEY, "none")
    win = MainWindow(settings, show_dialogs=False)
    win.resize(1366, 768)
    win.show()
    QTest.qWaitForWindowExposed(win)

    nofights = [] if args.no_nofights else [SHARED / "data/videos/normal" / n for n in NOFIGHT_TEST]
    fall_names = sorted(mfp.FALLS) if args.fall_models else FALL_TEST
    fall_paths = [SHARED / "data/videos/fall" / n for n in fall_names]
    if args.fall_models:  # one project per fall video, reviewed with the model that did not see it
        fall_groups = [([p], held_out_fall_model(Path(args.fall_models), p.name)) for p in fall_paths]
    else:
        fall_groups = [(fall_paths, default_classifier_path("fall"))]
    fight_paths = [SHARED / "data/videos/fight" / n for n in FIGHT_TEST[:args.fights]] + nofights
    datasets = [("fight", [(fight_paths, default_classifier_path("fight"))],
                 [("normal", "#4caf50", "1"), ("fight", "#f44336", "2")]),
                ("fall", fall_groups,
                 [("upright", "#8bc34a", "1"), ("falling", "#ff5722", "2"), ("lying", "#3f51b5", "3")])]
    result = {"bench": "labelling_effort", "machine": f"{platform.node()} {platform.processor() or platform.machine()}",
              "cpus": os.cpu_count(), "date": time.strftime("%Y-%m-%d"), "tolerance_s": args.tolerance_s,
              "advance_to_next_video": not args.no_advance, "think_ms": args.think_ms,
              "fall_models": "held out per video (bench/fall_holdout.py --keep)" if args.fall_models
              else "shipped fall_default.pt",
              "datasets": {}}
    total = {"scratch": 0, "suggest": 0}
    for kind, groups, taxonomy in datasets:
        if args.only not in (None, kind):
            continue
        hotkeys = {n: k for n, _c, k in taxonomy}
        paths = [p for g, _m in groups for p in g]
        caches = {p.name: run(iter_load_or_extract(p, "yolo"), callback=lambda _p: None) for p in paths}
        per = {}
        for mode in ("scratch", "suggest"):
            actions: list[tuple[str, float, float]] = []
            compute_s, stats = 0.0, []
            for gi, (gpaths, model) in enumerate(groups):
                folder = tmp / f"{kind}-{mode}-{gi}"
                with Project.create(folder, taxonomy) as proj:
                    for p in gpaths:
                        proj.add_video(p)
                win.close_video()  # else the open video joins the new project
                assert win.labelling.open_project(folder)
                if mode == "suggest":
                    win.load_classifier(model)
                else:
                    win.unload_classifier()
                ann = Annotator(win, qt, args.think_ms)
                videos = list(zip(win.state.project.videos(), gpaths, strict=True))
                if mode == "scratch":
                    for v, path in videos:
                        if not truths(kind, path.name, caches[path.name]):
                            continue  # nothing to label (a no-fight clip): not opened, as in review
                        win.labelling.open_project_video(v.id)
                        wait_for(app, lambda: win.state.skeletons is not None)
                        ann.count("open video")
                        win.view.setFocus()
                        scratch(ann, win.labelling, truths(kind, path.name, caches[path.name]), hotkeys)
                else:
                    wait_for(app, lambda: win.state.classifier is not None
                             and Path(win.state.classifier.path).resolve() == Path(model).resolve())
                    t0 = time.perf_counter()
                    worker = win.suggestions.compute_all()  # Label ▸ Suggestions ▸ Compute for every video
                    wait_for(app, lambda: win.suggestions.all_worker is None, 600)
                    compute_s += time.perf_counter() - t0
                    win.view.setFocus()
                    clips_of = {v.id: truths(kind, path.name, caches[path.name]) for v, path in videos}
                    tol_of = {v.id: int(round(args.tolerance_s * caches[path.name].fps)) for v, path in videos}
                    stats.append(review_project(ann, win, app, clips_of, hotkeys, tol_of))
                    assert worker is not None
                actions += ann.actions
                win.labelling.close_project()
            times = [t for n, t, _p in actions if n != "open video"]
            pictures = [p for n, _t, p in actions if n != "open video"]
            per[mode] = {"actions": len(actions), "clips": sum(len(truths(kind, n, c)) for n, c in caches.items()),
                         "median_action_ms": round(1000 * sorted(times)[len(times) // 2], 1) if times else None,
                         "max_action_ms": round(1000 * max(times), 1) if times else None,
                         "actions_over_50ms": sum(t > 0.05 for t in times),
                         "median_picture_ms": round(1000 * sorted(pictures)[len(pictures) // 2], 1) if pictures
                         else None,
                         "max_picture_ms": round(1000 * max(pictures), 1) if pictures else None,
                         "pictures_over_50ms": sum(p > 0.05 for p in pictures),
                         "by_kind": {k: sum(1 for n, _t, _p in actions if n == k)
                                     for k in sorted({n for n, _t, _p in actions})}}
            if mode == "suggest":
                per[mode]["suggestion_compute_s"] = round(compute_s, 1)
                per[mode]["suggestions"] = {k: sum(s[k] for s in stats) for k in ("suggestions", "accepted",
                                                                                  "rejected", "missed",
                                                                                  "closed_with_an_accept")}
            total[mode] += len(actions)
        per["ratio"] = round(per["suggest"]["actions"] / per["scratch"]["actions"], 3)
        result["datasets"][kind] = dict(videos=[p.name for p in paths], **per)
    result["actions"] = total
    result["ratio"] = round(total["suggest"] / total["scratch"], 3)
    result["target_ratio"] = round(1 / 3, 3)
    result["target_met"] = result["ratio"] <= 1 / 3 + 1e-9
    win.close()
    from gui.workers import wait_for_all

    wait_for_all(60_000)
    print(json.dumps(result))


if __name__ == "__main__":
    main()

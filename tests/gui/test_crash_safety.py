"""Killing the labelling window at any moment loses no committed edit.

A real child process (``crash_session.py``: the real MainWindow, offscreen, a real project in
tmp_path and a real video) makes labelling edits through the GUI's own code path (keys and undo
commands) and prints a line after each committed edit; the test SIGKILLs it mid-way, reopens the
project with :meth:`core.project.Project.open` and checks that the database holds exactly the
state after the last edit reported committed (or, if the kill came during the next edit, that
edit too and nothing else), and that SQLite finds the file consistent.
"""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from core.project import Project
from tests.conftest import copy_skeletons

SCRIPT = Path(__file__).with_name("crash_session.py")


def _clip_state():
    import importlib.util

    spec = importlib.util.spec_from_file_location("crash_session", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.clip_state


clip_state = _clip_state()


def run_and_kill(folder: Path, video: Path, seed: int, kill_after: int, log: Path) -> list[str]:
    """Run a session, SIGKILL it after ``kill_after`` COMMITTED lines; return every line it printed."""
    with open(log, "w") as err:
        proc = subprocess.Popen([sys.executable, str(SCRIPT), str(folder), str(video), "1000", str(seed)],
                                stdout=subprocess.PIPE, stderr=err, text=True, bufsize=1)
        lines, committed = [], 0
        try:
            for line in proc.stdout:
                lines.append(line.rstrip("\n"))
                if line.startswith("COMMITTED"):
                    committed += 1
                    if committed >= kill_after:
                        os.kill(proc.pid, signal.SIGKILL)
                        break
                if line.startswith(("FAILED", "DONE")):
                    break
            lines += proc.stdout.read().splitlines()  # what it printed before it died
            proc.wait(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert not any(ln.startswith("FAILED") for ln in lines), lines[-3:] + [log.read_text()[-2000:]]
    assert proc.returncode == -signal.SIGKILL, f"not killed mid-way: rc={proc.returncode}, {lines[-2:]}"
    assert "DONE" not in lines
    return lines


def check_database(folder: Path, lines: list[str]) -> tuple[int, str]:
    """Compare the reopened project with the session's report; returns (edits committed, how it ended)."""
    states: dict[int, list] = {}
    begins: dict[int, tuple[str, str]] = {}
    for ln in lines:
        kind, k, rest = (ln.split(" ", 2) + ["", ""])[:3]
        if kind == "BEGIN":
            op, target = rest.split(" ")
            begins[int(k)] = (op, target)
        elif kind == "COMMITTED":
            states[int(k)] = json.loads(rest)
    assert states, "no edit was committed before the kill"
    last_k = max(states)
    expected = states[last_k]

    db = folder / "project.sqlite"
    conn = sqlite3.connect(db)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
    finally:
        conn.close()
    with Project.open(folder) as p:
        got = [list(r) for r in json.loads(json.dumps(clip_state(p)))]
    if got == expected:
        return len(states), "db == last committed state"
    # the kill came during the next edit, after its commit but before its line was printed
    pending = [k for k in begins if k > last_k]
    assert pending, f"an edit reported committed is missing: last committed #{last_k}"
    op, target = begins[max(pending)]
    by_id_exp = {r[0]: r for r in expected}
    by_id_got = {r[0]: r for r in got}
    changed = {i for i in by_id_exp.keys() | by_id_got.keys() if by_id_exp.get(i) != by_id_got.get(i)}
    if target == "new":
        assert len(changed) == 1 and changed <= by_id_got.keys() - by_id_exp.keys(), (op, changed)
    else:
        assert changed == {int(target)}, (op, target, changed)
    return len(states), f"db == last committed state + the in-flight '{op}'"


def test_killing_the_window_mid_session_loses_no_committed_edit(tmp_path, shared_dir):
    video = shared_dir / "data" / "videos" / "fight" / "fi001.mp4"
    if not video.is_file():
        pytest.skip(f"shared test data not found: {video}")
    folder = tmp_path / "proj"
    outcomes = []
    for seed in (11, 12, 13):  # kill, reopen and go on editing, three times
        kill_after = random.Random(seed).randrange(20, 120)
        lines = run_and_kill(folder, video, seed, kill_after, tmp_path / f"session{seed}.log")
        n, how = check_database(folder, lines)
        assert n >= kill_after
        outcomes.append(how)
    with Project.open(folder) as p:
        assert p.clip_count() > 0
    print(outcomes)


def test_a_track_merge_and_a_keypoint_correction_survive_kill_9(tmp_path, shared_dir, _session_cache):
    """The window merges #36 into #33 (the M key) and drags a joint, then is SIGKILLed: both are in the project."""
    from core.extract import iter_load_or_extract, run
    from core.track_edits import skeleton_key

    video = shared_dir / "data" / "videos" / "fight" / "fi001.mp4"
    if not video.is_file():
        pytest.skip(f"shared test data not found: {video}")
    cache = run(iter_load_or_extract(video, "yolo"), callback=lambda p: None)
    folder = tmp_path / "proj"
    with Project.create(folder) as p:
        copy_skeletons(video, p)
        v = p.add_video(video)
        clip = p.add_clip(v.id, 28, 52, "assault", track_id=36)
    log = tmp_path / "edits.log"
    with open(log, "w") as err:
        proc = subprocess.Popen([sys.executable, str(SCRIPT), str(folder), str(video), "edits", "36", "30"],
                                stdout=subprocess.PIPE, stderr=err, text=True, bufsize=1)
        reported = {}
        try:
            for line in proc.stdout:
                if line.startswith("FAILED"):
                    break
                if line.startswith("COMMITTED"):
                    _, what, rest = line.split(" ", 2)
                    reported[what] = json.loads(rest)
                    if what == "keypoint":
                        os.kill(proc.pid, signal.SIGKILL)
                        break
            proc.wait(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert proc.returncode == -signal.SIGKILL, (reported, log.read_text()[-2000:])
    assert reported["merge"] == [["merge", 36, 33]] and len(reported["keypoint"]) == 1
    conn = sqlite3.connect(folder / "project.sqlite")
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        conn.close()
    with Project.open(folder) as p:
        key = skeleton_key(cache)
        assert [[e.kind, e.track, e.other] for e in p.track_edits(v.id, key)] == reported["merge"]
        assert [[e.frame, e.track, e.joint, e.x, e.y, e.score] for e in p.keypoint_edits(v.id, key)] == \
            reported["keypoint"]
        assert p.clip(clip.id).track_id == 33
        edited = run(p.iter_skeletons(v, "yolo"), callback=lambda q: None)
        f, t, j, x, y, _s = reported["keypoint"][0]
        row = edited.row_of(f, t)
        assert 36 not in edited.track_ids() and edited.corrected[row, j] and tuple(edited.keypoints[row, j]) == (x, y, 1)

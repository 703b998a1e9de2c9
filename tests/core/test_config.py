"""resources/default.yaml and core.config: every default where it was, overrides per project and from the CLI,
one clear line for a bad value."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import asdict, dataclass

import pytest

from core import config
from core.config import ConfigError
from core.defaults import package_resources_dir
from tests.conftest import ROOT

# The defaults as they were written in ten modules before resources/default.yaml (must not change).
OLD_LIVE = dict(width=640, backend="yolo", classifier="fall", smooth_windows=5, enter_prob=0.6, exit_prob=0.4,
                alert_hold_s=0.3, normal_labels=("normal", "upright"), pre_s=2.0, post_s=2.0, events_dir=None,
                sound=False, queue_size=1, realtime=None, events_file=None, imgsz=640, multicam_imgsz=None,
                precision="int8",
                pose_model=None, tracker="bytetrack", threads=None, pose_workers=None, multicam_max_batch=1,
                classify_every=1,
                classifier_threads=1, stitch_s=1.0, repeat_s=10.0, fall_labels=("falling", "lying"),
                fall_aspect_gain=1.8, min_kp_score=0.4, fall_window_s=3.0, pace_fps=None, loop=False, start_frame=0,
                stop_frame=None, device=None, sensitivity=None, scene_threshold=None, scene_hold_s=None,
                # alert notifications (core.live.notify)
                camera=None, webhook_url=None, webhook_secret_file=None, webhook_timeout_s=5.0, webhook_cafile=None,
                mqtt_url=None, mqtt_topic="posewatch/{camera}/alerts", mqtt_qos=1, mqtt_username=None,
                mqtt_password_file=None, mqtt_cafile=None, notify_close_s=5.0,
                motion_gate="auto", motion_threshold=30, motion_pixels=10, motion_refresh_s=1.0)
_BASE = {"window": 16, "stride": 2, "epochs": 40, "batch_size": 64, "lr": 2e-3, "weight_decay": 1e-4, "patience": 10,
         "val_fraction": 0.2, "chunk_frames": 100, "augment": True, "class_weights": True,
         "features": {"normalisation": "hip_torso", "velocity": True, "score": False}, "time_limit_s": 240.0,
         "max_train_windows": None, "model_config": {}}
OLD_PRESETS = {
    "default": _BASE,
    "quick": {**_BASE, "stride": 4, "epochs": 2, "time_limit_s": 60.0, "max_train_windows": 512},
    "seed": {**_BASE, "stride": 16, "epochs": 60, "batch_size": 32, "lr": 1e-3, "weight_decay": 0.0, "patience": 15,
             "augment": False, "class_weights": False,
             "features": {"normalisation": "minmax", "velocity": False, "score": False}},
}
OLD_SHORTCUTS = {
    "open": ("Ctrl+O",), "open_folder": ("Ctrl+Shift+O",), "load_classifier": ("Ctrl+L",),
    "unload_classifier": ("Ctrl+Shift+L",), "compute_skeletons": ("Ctrl+E",), "cancel_skeletons": ("Esc",),
    "quit": ("Ctrl+Q",), "play": ("Space",), "prev_frame": ("Left",), "next_frame": ("Right",),
    "back_second": ("Shift+Left",), "forward_second": ("Shift+Right",), "first_frame": ("Home",), "last_frame": ("End",),
    "slower": ("[",), "faster": ("]",), "goto_frame": ("Ctrl+G",), "skeleton": ("S",), "boxes": ("B",), "ids": ("T",),
    "labels": ("L",), "fit": ("F", "Ctrl+0"), "zoom_in": ("Ctrl+=", "Ctrl++"), "zoom_out": ("Ctrl+-",),
    "actual_size": ("Ctrl+1",), "new_project": ("Ctrl+Shift+N",), "open_project": ("Ctrl+Shift+P",),
    "export": ("Ctrl+Shift+E",), "import": ("Ctrl+Shift+I",), "mark_in": ("I",), "mark_out": ("O",),
    "clear_marks": ("Backspace",), "commit_clip": ("Return", "Enter"), "delete_clip": ("Delete",),
    "relabel_clip": ("R",), "crop_tool": ("C",), "crop_track": ("Shift+C",), "next_clip": ("Ctrl+Right",),
    "prev_clip": ("Ctrl+Left",), "undo": ("Ctrl+Z",), "redo": ("Ctrl+Shift+Z", "Ctrl+Y"), "live": ("Ctrl+Shift+D",),
}


@pytest.fixture(autouse=True)
def _fresh_settings():
    config.reset()
    yield
    config.reset()


def test_every_shipped_value_has_the_right_type():
    """default.yaml read as an override of itself: every key is known and every value passes its type check."""
    tree = config.activate([package_resources_dir() / config.DEFAULT_FILE])
    assert tree == config.defaults()


def test_the_defaults_are_those_the_code_had():
    from core.features import DEFAULT_FEATURES
    from core.live import BACKOFF_S, LiveConfig
    from core.project import DEFAULT_TAXONOMY
    from core.remote.server import WorkerConfig
    from core.training import AUGMENT, PRESETS
    from core.video import IMAGE_EXTENSIONS, VIDEO_EXTENSIONS

    assert asdict(LiveConfig()) == OLD_LIVE
    assert asdict(WorkerConfig(token="t")) == dict(token="t", pose_model=None, imgsz=640, device=None, runtime="auto",
                                                   classifiers={}, max_queue=16, max_clients=8,
                                                   max_message_bytes=8 * 1024 * 1024,
                                                   max_upload_bytes=512 * 2**20, runs_dir=None)
    assert PRESETS == config.presets() == OLD_PRESETS
    assert PRESETS["default"]["features"] == DEFAULT_FEATURES
    assert AUGMENT == {"scale": (0.9, 1.1), "rotate_deg": 10.0, "flip_p": 0.5, "dropout_p": 0.05}
    assert DEFAULT_TAXONOMY == (("normal", "#4caf50", "1"), ("theft", "#ff9800", "2"), ("assault", "#f44336", "3"),
                                ("vandalism", "#9c27b0", "4"), ("fall", "#2196f3", "5"))
    assert {k: config.shortcuts()[k] for k in OLD_SHORTCUTS} == OLD_SHORTCUTS  # new actions may add their own
    assert BACKOFF_S == config.backoff("source") == (1.0, 2.0, 4.0, 8.0)
    assert config.backoff("worker") == (1.0, 2.0, 4.0, 8.0, 15.0)
    assert VIDEO_EXTENSIONS == (".mp4", ".avi", ".webm", ".mov", ".mkv", ".m4v", ".mpg", ".mpeg", ".wmv")
    assert IMAGE_EXTENSIONS == (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")
    assert config.file_filter("training_data") == ("Training data (*.pt *.csv);;PoseWatch export (*.pt);;"
                                                    "Skeleton CSV (*.csv);;All files (*)")
    assert config.file_filter("checkpoint") == "PoseWatch classifiers (*.pt *.pth);;All files (*)"
    assert config.get("remote.url") == "ws://127.0.0.1:8765"
    # one colour table: the importer's labels and the taxonomy's agree
    assert [config.label_colour(n) for n in ("upright", "falling", "lying", "nope")] == [
        "#8bc34a", "#ff5722", "#3f51b5", "#888888"]


@pytest.mark.parametrize("setting,message", [
    ("live.enter_prob=x", "bad setting live.enter_prob = 'x' (from --set live.enter_prob): Input should be a valid number"),
    ("live.enterprob=0.5", "unknown setting live.enterprob (from --set live.enterprob)"),
    ("training.presets.quick.epochs=0", "bad setting training.presets.quick.epochs = 0"),
    ("training.base.lr=-1", "bad setting training.base.lr = -1"),
    ("labels.colours.fall=red", "bad setting labels.colours[fall] = 'red'"),
    ("reconnect.worker_backoff_s=[1, -2]", "bad setting reconnect.worker_backoff_s[1] = -2"),
    ("shortcuts.play=Space", "bad setting shortcuts.play = 'Space'"),
    ("worker.token=abc", "unknown setting worker.token"),
    ("nope=1", "unknown setting nope"),
    ("live", "--set needs KEY=VALUE"),
])
def test_a_bad_value_is_one_line_naming_the_key(setting, message):
    with pytest.raises(ConfigError) as e:
        config.activate(sets=[setting])
    assert str(e.value).startswith(message) and "\n" not in str(e.value)
    from core.live import LiveConfig

    assert LiveConfig().enter_prob == 0.6  # nothing changed


def test_overrides_from_the_cli_and_the_project_reach_the_code(tmp_path):
    from core.live import LiveConfig
    from core.project import Project
    from core.training import resolve_config

    mine = tmp_path / "mine.yaml"
    mine.write_text("live:\n  enter_prob: 0.7\n  normal_labels: [normal]\ntraining:\n  presets:\n"
                    "    tiny: {epochs: 1, window: 8}\n")
    config.activate([mine], ["live.enter_prob=0.8"])  # --set wins over --config
    assert LiveConfig().enter_prob == 0.8 and LiveConfig().normal_labels == ("normal",)
    assert LiveConfig(enter_prob=0.5).enter_prob == 0.5  # explicit arguments win over settings
    cfg = resolve_config("lstm", "tiny")
    assert cfg["epochs"] == 1 and cfg["window"] == 8 and cfg["stride"] == 2  # one base plus the preset's overrides

    folder = tmp_path / "proj"
    Project.create(folder).close()
    (folder / config.PROJECT_FILE).write_text("labels:\n  taxonomy:\n    - {name: walking, hotkey: w}\n"
                                              "training:\n  presets:\n    quick: {epochs: 3}\n")
    config.use_project(folder)
    assert resolve_config("lstm", "quick")["epochs"] == 3 and LiveConfig().enter_prob == 0.8  # both layers
    with Project.create(tmp_path / "p2") as p:
        assert [(lab.name, lab.hotkey) for lab in p.labels()] == [("walking", "w")]
    (folder / config.PROJECT_FILE).write_text("live: {alert_hold_s: soon}\n")
    with pytest.raises(ConfigError, match=r"bad setting live.alert_hold_s = 'soon' \(in .*posewatch.yaml\)"):
        config.use_project(folder)
    assert resolve_config("lstm", "quick")["epochs"] == 3  # the previous settings stay in force
    config.use_project(None)
    assert resolve_config("lstm", "quick")["epochs"] == 2


def test_cli_settings_and_a_bad_one(tmp_path, fall04):
    run = lambda *a: subprocess.run([sys.executable, str(ROOT / "main.py"), *a], capture_output=True, text=True,  # noqa: E731
                                    timeout=300, cwd=str(ROOT))
    r = run("--set", "live.enter_prob=high", "detect", str(fall04), "--events", str(tmp_path / "e.jsonl"))
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert r.stderr.strip() == ("error: bad setting live.enter_prob = 'high' (from --set live.enter_prob): "
                                "Input should be a valid number, unable to parse string as a number")
    bad = tmp_path / "bad.yaml"
    bad.write_text("live: [1, 2\n")
    r = run("--config", str(bad), "extract", str(fall04), "--out", str(tmp_path / "o.csv"))
    assert r.returncode == 2 and r.stderr.startswith(f"error: {bad} is not valid YAML (line ")


def test_a_dataclass_takes_its_defaults_from_one_place():
    with pytest.raises(ConfigError, match="has a default in the code; it belongs in default.yaml"):
        @dataclass
        @config.section_defaults("live")
        class Twice:
            width: int | None = 640

    with pytest.raises(ConfigError, match=r"Partial.shine has no default: add live.shine"):
        @dataclass
        @config.section_defaults("live")
        class Partial:
            width: int | None
            sound: bool
            shine: bool

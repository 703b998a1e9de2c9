"""PoseWatch command line: ``python main.py [COMMAND] …`` (no command: open the GUI).

Commands:
    gui      open the PoseWatch window (optionally with a video)
    extract  estimate and track poses in a video; write one CSV row per person per frame
    extract-batch  the skeleton cache of every video of a folder or project, one video per Ray task
    render   write the video with the overlay the GUI draws (skeletons, boxes, IDs, labels)
    import   read skeleton CSVs (AI-Hub, URFD, PoseWatch) into a project as labelled clips
    export   write a project's labelled clips as training data (skeleton CSV, tensors, clip videos, frames)
    train    train a classifier: skeletons (lstm, transformer, stgcn) or RGB clips (r2plus1d, fusion)
    distill  train a skeleton student against an RGB or fusion teacher (knowledge distillation)
    evaluate frame-level metrics of a classifier checkpoint on labelled skeletons
    predict  label every row of a skeleton CSV, or every track and frame of a video, with a checkpoint
    detect   run the live detector headless on a file, webcam or stream; alerts to a JSONL file
    worker   serve pose estimation to PoseWatch desktops (the remote GPU worker; see docs/REMOTE_WORKER.md)
    suggest  compute a model's suggestions for a project's videos; print the unlabelled stretches to label next
    calibrate-int8  make the INT8 calibration table of a YOLO-pose checkpoint from a few clips

Errors users can cause (missing or corrupt files, bad options) print one line on stderr and exit
with status 2; no traceback.
"""

from __future__ import annotations

import os
import sys

import click

from core.choices import (DISTILL_STUDENTS, EXPORT_FORMATS, IMAGE_FORMATS, MODEL_NAMES, NORMALISATIONS, PRECISIONS,
                          RGB_ARCHS, RUNTIMES, SKELETON_STREAMS, TRACKERS, VIDEO_MODEL_NAMES)
from core.pose import BACKENDS, DEFAULT_BACKEND

EXIT_USER_ERROR = 2


def _fail(msg: str) -> None:
    click.echo(f"error: {msg}", err=True)
    sys.exit(EXIT_USER_ERROR)


class _Group(click.Group):
    """Click group that turns PoseWatch's expected errors into one line on stderr."""

    def invoke(self, ctx):
        from core.errors import PoseWatchError

        try:
            return super().invoke(ctx)
        except PoseWatchError as e:
            _fail(str(e))
        except KeyboardInterrupt:
            _fail("interrupted")


_backend_opt = click.option("--backend", type=click.Choice(list(BACKENDS)), default=DEFAULT_BACKEND, show_default=True,
                            help="Pose backend: YOLO-pose (COCO-17, multi-person) or MediaPipe PoseLandmarker (33 landmarks).")
_model_opt = click.option("--pose-model", default=None,
                          help="Pose model file name or path (default: yolo11n-pose.pt / pose_landmarker_lite.task).")
_width_opt = click.option("--width", type=click.IntRange(min=32), default=None,
                          help="Downscale frames to this width (pixels) before inference; results stay in original pixels.")
_tracker_opt = click.option("--tracker", type=click.Choice(TRACKERS), default=TRACKERS[0], show_default=True)
_device_opt = click.option("--device", default=None, help="cpu, cuda or cuda:N (default: CUDA if available).")


def _estimator_kwargs(backend: str, pose_model: str | None, tracker: str, device: str | None) -> dict:
    kw: dict = {"tracker": tracker}
    if pose_model:
        kw["model"] = pose_model
    if device and backend == "yolo":
        kw["device"] = device
    return kw


def _use_project_settings(folder) -> bool:
    """Put ``folder``'s ``posewatch.yaml`` in force when ``folder`` is a project; True if it is one."""
    from pathlib import Path

    from core import config
    from core.project import DB_NAME

    if not (Path(folder) / DB_NAME).is_file():
        return False
    config.use_project(folder)
    return True


def _load_skeletons(video: str, backend: str, width: int | None, kw: dict):
    from core.extract import iter_load_or_extract, run

    cache = run(iter_load_or_extract(video, backend, width, **kw), desc="poses")
    if "truncated_at" in cache.meta:
        click.echo(f"warning: {video} ends early: only {cache.meta['truncated_at']} frames could be decoded", err=True)
    return cache


@click.group(cls=_Group, invoke_without_command=True, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="posewatch")
@click.option("--config", "config_files", multiple=True, type=click.Path(dir_okay=False), metavar="FILE",
              help="Settings file (YAML, keys as in resources/default.yaml) over the defaults; repeatable.")
@click.option("--set", "settings", multiple=True, metavar="KEY=VALUE",
              help="One setting over the defaults and --config files, e.g. --set live.enter_prob=0.7; repeatable.")
@click.pass_context
def cli(ctx: click.Context, config_files: tuple[str, ...], settings: tuple[str, ...]) -> None:
    """PoseWatch: skeleton-based abnormal-behaviour detection in video.

    Defaults come from resources/default.yaml; a project folder's posewatch.yaml overrides them for that
    project, and --config / --set override both."""
    from core import config

    config.reset()  # one invocation's settings: the defaults, then --config files, then --set
    config.activate(config_files, settings)
    if ctx.invoked_subcommand is None:
        ctx.invoke(gui)


@cli.command()
@click.argument("video", required=False)
def gui(video: str | None) -> None:
    """Open the PoseWatch window (optionally opening VIDEO)."""
    from gui.app import run_app

    sys.exit(run_app([video] if video else []))


@cli.command()
@click.argument("video")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False), help="Output CSV path.")
@_backend_opt
@_model_opt
@_width_opt
@_tracker_opt
@_device_opt
@click.option("--remote", default=None, metavar="URL",
              help="Run pose estimation on a PoseWatch worker (ws://host:port, wss://, http(s)://); see docs/REMOTE_WORKER.md.")
@click.option("--token-file", default=None, type=click.Path(dir_okay=False), help="File holding the worker's token (with --remote).")
@click.option("--cafile", default=None, type=click.Path(dir_okay=False),
              help="Certificate to trust for a wss:// worker with a self-signed certificate (with --remote).")
def extract(video: str, out: str, backend: str, pose_model: str | None, width: int | None, tracker: str,
            device: str | None, remote: str | None, token_file: str | None, cafile: str | None) -> None:
    """Estimate and track poses in VIDEO; write SKELETONS.csv (one row per person per frame).

    Columns: frame, time_s, track_id, bbox_x1..bbox_y2 (pixels), score, then <JOINT>_X, <JOINT>_Y,
    <JOINT>_SCORE for every joint of the backend's skeleton layout. Results are cached, so a second
    run on the same video and settings needs no inference. With --remote the work runs on a
    PoseWatch worker (frames are sent JPEG-encoded; the worker's pose model is used).
    """
    from core.extract import write_csv

    if remote:
        cache = _remote_skeletons(video, remote, token_file, cafile, backend, pose_model, width, tracker, device)
    elif token_file or cafile:
        raise click.UsageError("--token-file and --cafile need --remote")
    else:
        cache = _load_skeletons(video, backend, width, _estimator_kwargs(backend, pose_model, tracker, device))
    write_csv(cache, out)
    n = cache.persons_per_frame()
    click.echo(f"wrote {out}: {int(n.sum())} rows, {cache.frame_count} frames, {len(cache.track_ids())} tracks, "
               f"layout {cache.layout}", err=True)


# --- remote worker (issue 6) -------------------------------------------------------------------------
def _remote_skeletons(video: str, url: str, token_file: str | None, cafile: str | None, backend: str,
                      pose_model: str | None, width: int | None, tracker: str, device: str | None):
    from core.extract import run
    from core.remote import RemotePoseEstimator, read_token
    from core.remote.extract import iter_load_or_extract_remote
    from core.video import open_source

    if not token_file:
        raise click.UsageError("--remote needs --token-file FILE (the worker's bearer token)")
    if pose_model or device:
        raise click.UsageError("--pose-model and --device are chosen by the worker (see `main.py worker`), not with --remote")
    token = read_token(token_file)
    with open_source(video) as src:  # a bad video fails before connecting
        fps = src.info.fps
    with RemotePoseEstimator(url, token, backend, width=width, tracker=tracker, frame_rate=fps, cafile=cafile,
                             timeout=30.0) as est:
        where = f"{est.device}" + (f", {est.gpu_name}" if est.gpu_name else "")
        click.echo(f"remote worker {est.http_url} ({where})", err=True)
        cache = run(iter_load_or_extract_remote(video, est), desc="poses (remote)")
    if "truncated_at" in cache.meta:
        click.echo(f"warning: {video} ends early: only {cache.meta['truncated_at']} frames could be decoded", err=True)
    return cache


# --- extract-batch: a folder or project on Ray (issue 14) ------------------------------------------------
@cli.command("extract-batch")
@click.argument("target")
@click.option("--out", "out", default=None, type=click.Path(file_okay=False),
              help="Skeleton-cache folder (default: the project's skeletons/ for a project, else the per-user cache "
                   "the player reads).")
@click.option("--ray-address", default=None, metavar="ADDR",
              help="An existing Ray cluster: HOST:PORT of its head, ray://HOST:10001 (Ray Client) or auto "
                   "(default: a local Ray started here). See docs/REMOTE_WORKER.md.")
@click.option("--gpus-per-task", type=click.FloatRange(min=0), default=0.0, show_default=True,
              help="GPUs reserved per video (e.g. 0.25: four videos share a GPU); 0: tasks run on the CPU.")
@click.option("--cpus", type=click.IntRange(min=1), default=None,
              help="CPUs of the local Ray, one video each (default: all cores; ignored with --ray-address).")
@click.option("--local", "in_process", is_flag=True, help="No Ray: the videos one after another in this process.")
@_backend_opt
@_model_opt
@_width_opt
@_tracker_opt
def extract_batch_cmd(target: str, out: str | None, ray_address: str | None, gpus_per_task: float, cpus: int | None,
                      in_process: bool, backend: str, pose_model: str | None, width: int | None, tracker: str) -> None:
    """Compute the skeleton cache of every video of TARGET (a folder, searched recursively, or a project), one
    video per Ray task. Videos already cached are skipped, so an interrupted batch resumes where it stopped; a video
    that fails is reported with its reason and the others go on (exit status 1 when any failed)."""
    from pathlib import Path

    from core.batch import find_videos, iter_extract_batch, run_batch

    if in_process and (ray_address or gpus_per_task):
        raise click.UsageError("--local runs without Ray: drop --ray-address and --gpus-per-task")
    videos, root = find_videos(target)
    if out:
        root = Path(out)
    kw = _estimator_kwargs(backend, pose_model, tracker, None)
    report = run_batch(iter_extract_batch(videos, backend, width, root, engine="local" if in_process else "ray",
                                          address=ray_address, num_cpus=cpus, gpus_per_task=gpus_per_task, **kw))
    for it in report.items:
        if it.status == "done" and it.reason:
            click.echo(f"warning: {it.name}: {it.reason}", err=True)
    retried = [it.name for it in report.items if it.attempts > 1 and it.status == "done"]
    if retried:
        click.echo(f"retried after a worker died: {', '.join(retried)}", err=True)
    click.echo(f"{report.summary()} ({report.engine}); cache: {root or 'per-user cache'}", err=True)
    if report.count("failed"):
        sys.exit(1)


@cli.command("worker")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on (0.0.0.0: all interfaces; prefer an SSH tunnel or TLS then).")
@click.option("--port", type=click.IntRange(1, 65535), default=8765, show_default=True)
@click.option("--token-file", required=True, type=click.Path(dir_okay=False),
              help="File holding the bearer token clients must send (e.g. `openssl rand -hex 32 > token`).")
@click.option("--tls-cert", default=None, type=click.Path(dir_okay=False), help="TLS certificate (PEM); with --tls-key.")
@click.option("--tls-key", default=None, type=click.Path(dir_okay=False), help="TLS private key (PEM).")
@_model_opt
@click.option("--imgsz", type=click.IntRange(min=32), default=None,
              help="YOLO inference size (pixels; default: the setting worker.imgsz, 640).")
@click.option("--device", default=None, help="cpu, cuda or cuda:N (default: CUDA if available).")
@click.option("--runtime", type=click.Choice(RUNTIMES), default=None,
              help="auto (the setting worker.runtime): TensorRT (half) on CUDA when tensorrt is installed, else "
                   "PyTorch half; ONNX Runtime on CPU.")
@click.option("--classifier", "classifiers", multiple=True, metavar="NAME=PATH",
              help="Add a classifier clients may ask for by NAME (repeatable); 'fall' and 'abnormal' are built in.")
@click.option("--max-clients", type=click.IntRange(min=1), default=None, help="Simultaneous streams (default: 8).")
@click.option("--max-queue", type=click.IntRange(1, 16), default=None,
              help="Most frames one stream may queue; beyond it the oldest are dropped (default: 16).")
@click.option("--max-message-mb", type=click.FloatRange(0.1, 64), default=None,
              help="Largest WebSocket message accepted (MiB; default: 8).")
@click.option("--max-upload-mb", type=click.FloatRange(0.001, 65536), default=None,
              help="Largest dataset a client may send for training on this worker (MiB; default: the setting "
                   "worker.max_upload_bytes, 512 MiB).")
def worker_cmd(host: str, port: int, token_file: str, tls_cert: str | None, tls_key: str | None,
               pose_model: str | None, imgsz: int | None, device: str | None, runtime: str | None,
               classifiers: tuple[str, ...], max_clients: int | None, max_queue: int | None,
               max_message_mb: float | None, max_upload_mb: float | None) -> None:
    """Serve pose estimation, tracking and classification to PoseWatch desktops (the remote GPU worker).

    HTTP GET /health and /v1/info, WebSocket /v1/stream; every request but /health needs
    `Authorization: Bearer <token>`. See docs/REMOTE_WORKER.md.
    """
    from core.remote.server import WorkerConfig, parse_classifier_specs, read_token_file, serve

    from core import config

    given = {"pose_model": pose_model, "imgsz": imgsz, "device": device, "runtime": runtime, "max_queue": max_queue,
             "max_clients": max_clients,
             "max_message_bytes": None if max_message_mb is None else int(max_message_mb * 2**20),
             "max_upload_bytes": None if max_upload_mb is None else int(max_upload_mb * 2**20)}
    cfg = WorkerConfig(token=read_token_file(token_file),  # options not given: the settings (worker.*)
                       classifiers={**config.get("worker.classifiers"), **parse_classifier_specs(classifiers)},
                       **{k: v for k, v in given.items() if v is not None})
    scheme = "https" if tls_cert else "http"

    def ready(state) -> None:
        gpu = f", {state.gpu_name}" if state.gpu_name else ""
        click.echo(f"PoseWatch worker on {scheme}://{host}:{port} ({state.device}{gpu}, {state.runtime}; "
                   f"classifiers: {', '.join(state.registry) or 'none'})", err=True)

    serve(cfg, host, port, tls_cert, tls_key, on_ready=ready)
# --- end remote worker ---------------------------------------------------------------------------------


@cli.command()
@click.argument("video")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False), help="Output video path (.mp4 or .avi).")
@click.option("--classifier", default=None,
              help="Classifier checkpoint for the labels, or a shipped one: abnormal, fall, fight (without one the overlay "
                   "says 'no model').")
@click.option("--no-skeleton", is_flag=True, help="Do not draw skeletons.")
@click.option("--no-boxes", is_flag=True, help="Do not draw boxes.")
@click.option("--no-ids", is_flag=True, help="Do not draw track IDs.")
@click.option("--no-labels", is_flag=True, help="Do not draw labels.")
@_backend_opt
@_model_opt
@_width_opt
@_tracker_opt
@_device_opt
def render(video: str, out: str, classifier: str | None, no_skeleton: bool, no_boxes: bool, no_ids: bool,
           no_labels: bool, backend: str, pose_model: str | None, width: int | None, tracker: str,
           device: str | None) -> None:
    """Write VIDEO with the overlay the GUI draws to ANNOTATED.mp4."""
    from core.classify import TrackClassifier
    from core.extract import iter_render, run
    from core.overlay import OverlayOptions, draw_overlay

    from core.defaults import resolve_classifier

    clf = TrackClassifier(resolve_classifier(classifier)) if classifier else None  # fail early on a bad checkpoint
    cache = _load_skeletons(video, backend, width, _estimator_kwargs(backend, pose_model, tracker, device))
    opts = OverlayOptions(skeleton=not no_skeleton, boxes=not no_boxes, ids=not no_ids, labels=not no_labels)

    def draw(image, poses):
        labels = clf.labels_for_frame(cache, poses.frame_index) if clf else None
        return draw_overlay(image, poses, labels, opts)

    fourcc = "MJPG" if out.lower().endswith(".avi") else "mp4v"
    run(iter_render(video, cache, out, draw, fourcc), desc="render")
    click.echo(f"wrote {out}", err=True)


def _parse_split(text: str) -> tuple[float, float, float]:
    from core.exporting import ExportError, check_ratios

    try:
        parts = [float(v) for v in text.replace(" ", "").split(",")]
    except ValueError:
        raise ExportError(f"--split needs three numbers like 0.7,0.15,0.15 (train, val, test), got '{text}'") from None
    return check_ratios(parts)


@cli.command("export")
@click.option("--project", "project_dir", required=True, type=click.Path(file_okay=False), help="Project folder.")
@click.option("--format", "formats", multiple=True, type=click.Choice(EXPORT_FORMATS),
              help="What to write (repeatable; default: csv and pt): the skeleton CSV, the dataset.pt tensors, "
                   "one cropped video per clip, or every frame of each clip as an image.")
@click.option("--out", "out", required=True, type=click.Path(), help="Output folder (must not exist yet).")
@click.option("--window", type=click.IntRange(min=1), default=16, show_default=True, help="Frames per training window.")
@click.option("--stride", type=click.IntRange(min=1), default=16, show_default=True, help="Frames between window starts.")
@click.option("--normalisation", type=click.Choice(NORMALISATIONS), default="none", show_default=True,
              help="Per-window normalisation of the tensors.")
@click.option("--split", "split", default="0.7,0.15,0.15", show_default=True,
              help="Train,val,test fractions of the videos (the split is by video).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the train/val/test split.")
@click.option("--image-format", type=click.Choice(IMAGE_FORMATS), default=IMAGE_FORMATS[0], show_default=True,
              help="Image format of --format frames (png is lossless).")
@_backend_opt
@click.option("--overwrite", is_flag=True, help="Replace OUT if it exists (once the new export is complete).")
def export_cmd(project_dir: str, formats: tuple[str, ...], out: str, window: int, stride: int, normalisation: str,
               split: str, seed: int, image_format: str, backend: str, overwrite: bool) -> None:
    """Export a project's labelled clips as training data into the folder OUT.

    Writes skeletons.csv (the PoseWatch skeleton CSV: one row per person per frame of each clip),
    dataset.pt ((N, C, T, V) windows, labels, split), clips/<label>/*.mp4 (cropped clip videos),
    frames/<label>/<clip>/*.png and split.json (videos per split). Built in a temporary folder and
    renamed when complete.
    """
    from core.dataset_summary import dataset_summary
    from core.exporting import iter_export
    from core.extract import run
    from core.project import Project

    ratios = _parse_split(split)
    with Project.open(project_dir) as proj:
        _use_project_settings(proj.folder)
        for line in dataset_summary(proj, window, stride, ratios, seed).lines():  # what is about to be exported
            click.echo(line, err=True)
        summary = run(iter_export(proj, out, formats or ("csv", "pt"), window=window, stride=stride,
                                  normalisation=normalisation, ratios=ratios, seed=seed, image_format=image_format,
                                  backend=backend, overwrite=overwrite), desc="export")
    for w in summary.warnings:
        click.echo(f"warning: {w}", err=True)
    for cid, why in summary.skipped_clips.items():
        click.echo(f"skipped clip {cid}: {why}", err=True)
    click.echo(summary.describe(), err=True)


@cli.command("summary")
@click.option("--project", "project_dir", required=True, type=click.Path(file_okay=False), help="Project folder.")
@click.option("--window", type=click.IntRange(min=1), default=16, show_default=True, help="Frames per training window.")
@click.option("--stride", type=click.IntRange(min=1), default=16, show_default=True, help="Frames between window starts.")
@click.option("--split", "split", default="0.7,0.15,0.15", show_default=True,
              help="Train,val,test fractions of the videos (as export splits them).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the train/val/test split.")
@click.option("--json", "as_json", is_flag=True, help="Print the counts as one JSON object.")
def summary_cmd(project_dir: str, window: int, stride: int, split: str, seed: int, as_json: bool) -> None:
    """A project's dataset before training or export: clips, frames and windows per label, clips per annotator,
    clips and windows per split (whole videos, as export splits them), and warnings (a split lacking a label)."""
    import dataclasses
    import json

    from core.dataset_summary import dataset_summary
    from core.project import Project

    with Project.open(project_dir) as proj:
        s = dataset_summary(proj, window, stride, _parse_split(split), seed)
    if as_json:
        click.echo(json.dumps(dataclasses.asdict(s)))
    else:
        for line in s.lines():
            click.echo(line)


@cli.command("agreement")
@click.option("--project", "project_dir", required=True, type=click.Path(file_okay=False), help="Project folder.")
@click.option("--annotators", nargs=2, default=None, metavar="A B",
              help="The two annotators to compare (default: the first two of the first video that has two).")
@click.option("--max-stretches", type=click.IntRange(min=0), default=20, show_default=True,
              help="Disagreeing stretches to list.")
def agreement_cmd(project_dir: str, annotators: tuple[str, str] | None, max_stretches: int) -> None:
    """Inter-annotator agreement: frame-level Cohen's kappa per label and overall, segment-level F1 at IoU >= 0.5,
    per video and over all videos both annotators labelled, and the stretches where they disagree."""
    from core.agreement import agreement
    from core.project import Project

    with Project.open(project_dir) as proj:
        report = agreement(proj, *(annotators or (None, None)))
    for line in report.lines(max_stretches):
        click.echo(line)


@cli.command("import")
@click.option("--project", "project_dir", required=True, type=click.Path(file_okay=False),
              help="Project folder (created if it does not exist).")
@click.option("--label", default=None,
              help="Label of files without labels (raw AI-Hub CSVs without a label column); added to the taxonomy "
                   "if missing.")
@click.argument("files", nargs=-1, required=True)
def import_cmd(project_dir: str, label: str | None, files: tuple[str, ...]) -> None:
    """Import skeleton CSV FILES into a project as labelled clips with their skeletons.

    Formats are detected per file: AI-Hub processed (datavalid.csv) and raw (datasample.csv), URFD
    (pose_urfd_3classes.csv) and PoseWatch's own skeleton CSV (from export). Every file is checked
    before anything is written (a new project is created only then); importing a file twice adds
    nothing.
    """
    from pathlib import Path

    from core.extract import run
    from core.importing import iter_import, iter_read
    from core.project import Project

    _use_project_settings(project_dir)
    parsed = run(iter_read(files, label), desc="read")
    with Project.open_or_create(Path(project_dir)) as proj:
        report = run(iter_import(proj, parsed), desc="import")
        folder = proj.folder
    for w in report.warnings:
        click.echo(f"warning: {w}", err=True)
    click.echo(f"{report.summary()} into {folder}", err=True)


@cli.command("suggest")
@click.option("--project", "project_dir", required=True, type=click.Path(file_okay=False),
              help="The project folder.")
@click.option("--model", default=None,
              help="Classifier checkpoint, or a shipped kind (fall, fight, abnormal). Default: the first shipped model "
                   "whose labels are all in the project's taxonomy.")
@_backend_opt
@click.option("--top", type=click.IntRange(min=1), default=20, show_default=True, help="Stretches printed.")
@click.option("--recompute", is_flag=True, help="Compute again even where the model's suggestions are stored.")
def suggest_cmd(project_dir: str, model: str | None, backend: str, top: int, recompute: bool) -> None:
    """Compute and store a model's suggestions for every video of a project, then print the unlabelled stretches
    to label next, most uncertain first (uncertainty of the stored models, plus their disagreement where several
    were run). A model whose layout or labels do not fit the project's taxonomy is refused before anything is
    computed or stored."""
    from pathlib import Path

    from core import suggest
    from core.classify import TrackClassifier
    from core.defaults import DEFAULT_CLASSIFIERS, resolve_classifier
    from core.extract import run
    from core.project import Project

    _use_project_settings(project_dir)
    with Project.open(Path(project_dir)) as proj:
        taxonomy = proj.label_names()
        if model is None:
            fits = [k for k in DEFAULT_CLASSIFIERS
                    if set(_checkpoint_labels(resolve_classifier(k))) <= set(taxonomy)]
            if not fits:
                _fail(f"no shipped model's labels fit the taxonomy ({', '.join(taxonomy)}): pass --model")
            model = fits[0]
        clf = TrackClassifier(resolve_classifier(model))
        suggest.check_taxonomy(clf, taxonomy)
        videos = [v for v in proj.videos() if v.kind == "skeletons" or Path(v.path).exists()]
        for v in videos:
            found = run(suggest.iter_video_suggestions(proj, v, clf, backend, recompute=recompute), desc=v.name)
            click.echo(f"{v.name}: {len(found)} suggestion(s) from {suggest.model_name(clf)}", err=True)
        ranked = suggest.rank_unlabelled(proj)
        names = {v.id: v for v in proj.videos()}
        click.echo("rank\tvideo\ttrack\tframes\tseconds\tscore\tuncertainty\tdisagreement\tmodels")
        for i, s in enumerate(ranked[:top], 1):
            v = names[s.video_id]
            fps = v.fps or 1.0
            who = "whole" if s.track_id is None else str(s.track_id)
            click.echo(f"{i}\t{v.name}\t{who}\t{s.start}-{s.end}\t{s.start / fps:.2f}-{(s.end + 1) / fps:.2f}\t"
                       f"{s.score:.3f}\t{s.uncertainty:.3f}\t{s.disagreement:.3f}\t{s.models}")
        if not ranked:
            click.echo("nothing to rank: every judged frame is labelled", err=True)


def _checkpoint_labels(path) -> list[str]:
    from core.classify import load_checkpoint

    return list(load_checkpoint(path).label_names)


def _emit_error(events: str, msg: str) -> None:
    if events == "jsonl":
        import json

        click.echo(json.dumps({"event": "error", "message": msg}))
    _fail(msg)


@cli.command("train")
@click.option("--data", "data", default=None,
              help="Training data: AI-Hub/URFD/PoseWatch skeleton CSV, an export's dataset.pt, or a project folder "
                   "(more files may follow as arguments: --data A.csv B.csv). Required unless --attach.")
@click.argument("more_data", nargs=-1)
@click.option("--model", "model", default="lstm", show_default=True,
              help=f"Model: {', '.join(MODEL_NAMES)} (lstm, transformer, stgcn: skeletons; r2plus1d, fusion: RGB clips).")
@click.option("--preset", default="default", show_default=True,
              help="Training preset: default, quick or seed (video models: default, quick or kinetics).")
@click.option("--out", "out", required=True, type=click.Path(file_okay=False), help="Output folder (model.pt, metrics.json).")
@click.option("--epochs", type=click.IntRange(min=1), default=None, help="Maximum epochs (default: the preset's).")
@click.option("--window", type=click.IntRange(min=1), default=None, help="Frames per window T (default: the preset's).")
@click.option("--stride", type=click.IntRange(min=1), default=None, help="Detections between training windows.")
@click.option("--batch-size", type=click.IntRange(min=1), default=None)
@click.option("--lr", type=float, default=None, help="Learning rate.")
@click.option("--time-limit", type=float, default=None, help="Stop after about this many seconds of training.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed (same seed and data: same metrics).")
@click.option("--events", type=click.Choice(["tqdm", "jsonl"]), default="tqdm", show_default=True,
              help="Progress as a bar on stderr, or one JSON event per line on stdout (for the GUI).")
@click.option("--fps", type=click.FloatRange(min=0.1), default=None,
              help="Video models: frames per second sampled from the clips (default: the preset's, 8).")
@click.option("--size", default=None, metavar="HxW", help="Video models: frame size (default: the preset's, 112x112).")
@click.option("--arch", type=click.Choice(RGB_ARCHS), default=None,
              help="Video models: the small from-scratch R(2+1)D, or torchvision's r2plus1d_18.")
@click.option("--pretrained", default=None, metavar="kinetics400|none|FILE",
              help="Video models: backbone weights (kinetics400: torchvision's, downloaded on first use; r2plus1d_18).")
@click.option("--skeleton-stream", type=click.Choice(SKELETON_STREAMS), default=None,
              help="Fusion models: the skeleton stream (scene_mlp: the scene vector, the fight model's input).")
@click.option("--remote", default=None, metavar="URL",
              help="Train on a PoseWatch worker (ws(s):// or http(s)://host:port): the dataset is sent to it, the run "
                   "goes on there if the connection drops, the best checkpoint comes back into OUT.")
@click.option("--token-file", default=None, type=click.Path(dir_okay=False), help="The worker's token (with --remote).")
@click.option("--cafile", default=None, type=click.Path(dir_okay=False),
              help="Certificate to trust for a wss:// or https:// worker with a self-signed certificate.")
@click.option("--attach", default=None, metavar="RUN",
              help="With --remote: re-attach to run RUN on the worker (printed when it started) instead of starting one.")
def train_cmd(data: str, more_data: tuple[str, ...], model: str, preset: str, out: str, epochs: int | None,
              window: int | None, stride: int | None, batch_size: int | None, lr: float | None,
              time_limit: float | None, seed: int, events: str, fps: float | None, size: str | None,
              arch: str | None, pretrained: str | None, skeleton_stream: str | None, remote: str | None,
              token_file: str | None, cafile: str | None, attach: str | None) -> None:
    """Train a classifier; write OUT/model.pt (the best checkpoint so far, always on disk)
    and OUT/metrics.json (validation on held-out sequences or videos). SIGTERM stops after the current batch
    and keeps the best checkpoint (with --remote: the worker's run is stopped the same way). Video models (r2plus1d,
    fusion) train on the clips of a project, an export folder with clips/, or a folder of videos per label; --window
    is then the frames per window."""
    from pathlib import Path

    if data is None and not attach:
        raise click.UsageError("Missing option '--data'.")
    if remote or token_file or cafile or attach:
        if not (remote and token_file):
            raise click.UsageError("--remote URL and --token-file FILE go together (--cafile and --attach need them)")
        if model in VIDEO_MODEL_NAMES:
            skeleton = ", ".join(m for m in MODEL_NAMES if m not in VIDEO_MODEL_NAMES)
            raise click.UsageError(f"--remote trains the skeleton models ({skeleton}); {model} trains locally")
        _train_remote(remote, token_file, cafile, attach, [data, *more_data], out, events,
                      {"model": model, "preset": preset, "epochs": epochs, "window": window, "stride": stride,
                       "batch_size": batch_size, "lr": lr, "time_limit": time_limit, "seed": seed})
        return

    import torch

    from core.errors import PoseWatchError
    from core.training import Trainer, jsonl_callbacks, load_data, resolve_config, stop_on_sigterm, tqdm_callbacks

    torch.set_num_threads(min(2, os.cpu_count() or 1))
    if model in VIDEO_MODEL_NAMES:
        return _train_video([data, *more_data], model, preset, out, events, seed, {
            "epochs": epochs, "frames": window, "stride": stride, "batch_size": batch_size, "lr": lr,
            "time_limit_s": time_limit, "fps": fps, "size": size, "arch": arch, "pretrained": pretrained,
            "skeleton_stream": skeleton_stream})
    if any(v is not None for v in (fps, size, arch, pretrained, skeleton_stream)):
        raise click.UsageError("--fps, --size, --arch, --pretrained and --skeleton-stream are options of the video "
                               "models (r2plus1d, fusion)")
    try:
        # a project's posewatch.yaml (e.g. its presets) counts for training on it (the first project named)
        next((d for d in (data, *more_data) if _use_project_settings(d)), None)
        overrides = {"epochs": epochs, "window": window, "stride": stride, "batch_size": batch_size, "lr": lr,
                     "time_limit_s": time_limit}
        cfg = resolve_config(model, preset, overrides)
        if Path(out).exists() and not Path(out).is_dir():
            raise PoseWatchError(f"--out {out} is a file; give a folder")
        ds = load_data([data, *more_data], chunk_frames=int(cfg["chunk_frames"]))
        cbs = jsonl_callbacks() if events == "jsonl" else tqdm_callbacks()
        trainer = Trainer(ds, model, preset, overrides, out_dir=out, seed=seed, callbacks=cbs)
        if events != "jsonl":  # the GUI gets these in the start event
            _echo_data_summary(trainer.summary, trainer.warnings)
        with stop_on_sigterm(trainer):
            done = trainer.fit()
    except PoseWatchError as e:
        _emit_error(events, str(e))
    except Exception as e:  # a bug: the event stream still ends with an error event; traceback on stderr
        if events == "jsonl":
            import json

            from core.errors import one_line

            msg = one_line(e, 200)
            click.echo(json.dumps({"event": "error", "message": f"internal error: {type(e).__name__}: {msg}"}))
        raise
    if events != "jsonl":
        m = done["metrics"]
        click.echo(f"{'stopped' if done['stopped'] else 'done'}: validation macro-F1 {m.get('macro_f1', 0):.3f}, "
                   f"accuracy {m.get('accuracy', 0):.3f} (epoch {m.get('best_epoch')}); wrote {done['path']}", err=True)
        why = {"early_stopping": "stopped early: no better validation macro-F1 for the preset's patience",
               "time_limit": "stopped at the time limit", "stopped": "stopped on request"}.get(done["stop_reason"])
        if why:
            click.echo(f"{why}, after {done['epochs_run']} of {done['epochs']} epochs", err=True)


# --- video (RGB clip) models and distillation (issue 13) ------------------------------------------------
def _finish_run(events: str, done: dict) -> None:
    if events == "jsonl":
        return
    m = done["metrics"]
    extra = f", clip balanced accuracy {m['clip_balanced_accuracy']:.3f}" if "clip_balanced_accuracy" in m else ""
    click.echo(f"{'stopped' if done['stopped'] else 'done'}: validation macro-F1 {m.get('macro_f1', 0):.3f}, "
               f"accuracy {m.get('accuracy', 0):.3f}{extra} (epoch {m.get('best_epoch')}); wrote {done['path']}",
               err=True)
    why = {"early_stopping": "stopped early: no better validation macro-F1 for the preset's patience",
           "time_limit": "stopped at the time limit", "stopped": "stopped on request"}.get(done["stop_reason"])
    if why:
        click.echo(f"{why}, after {done['epochs_run']} of {done['epochs']} epochs", err=True)


def _run_guarded(events: str, fn):
    """Run ``fn()``; PoseWatch errors end as one line (and an ``error`` event with --events jsonl)."""
    from core.errors import PoseWatchError, one_line

    try:
        return fn()
    except PoseWatchError as e:
        _emit_error(events, str(e))
    except Exception as e:
        if events == "jsonl":
            import json

            click.echo(json.dumps({"event": "error", "message": f"internal error: {type(e).__name__}: "
                                                                f"{one_line(e, 200)}"}))
        raise


def _clip_run(data: list[str], out: str, events: str, skeletons: bool, make, what: tuple[str, str]) -> dict:
    """Load the clips of ``data``, build the run (``make(clips, callbacks)``: a VideoTrainer or a Distiller), show
    its data summary and fit it (SIGTERM stops after the current batch)."""
    from pathlib import Path

    from core.errors import PoseWatchError
    from core.extract import run
    from core.rgb.clips import iter_load_clips
    from core.training import jsonl_callbacks, stop_on_sigterm, tqdm_callbacks

    if Path(out).exists() and not Path(out).is_dir():
        raise PoseWatchError(f"--out {out} is a file; give a folder")
    # a project's posewatch.yaml (e.g. its presets) counts for training on it (the first project named)
    next((d for d in data if _use_project_settings(d)), None)
    quiet = (lambda p: None) if events == "jsonl" else None
    clips = run(iter_load_clips(data, skeletons=skeletons), desc="clips", callback=quiet)
    trainer = make(clips, jsonl_callbacks() if events == "jsonl" else tqdm_callbacks())
    if events != "jsonl":
        _echo_data_summary(trainer.summary, trainer.warnings, what=what)
    with stop_on_sigterm(trainer):
        return trainer.fit()


def _train_video(data: list[str], model: str, preset: str, out: str, events: str, seed: int, options: dict) -> None:
    from core.rgb.train import VideoTrainer, video_overrides

    def go():
        overrides = video_overrides(model, preset, **options)
        return _clip_run(data, out, events, model == "fusion",
                         lambda clips, cbs: VideoTrainer(clips, model, preset, overrides, out_dir=out, seed=seed,
                                                         callbacks=cbs),
                         ("train windows/epoch", "validation windows"))

    _finish_run(events, _run_guarded(events, go))


@cli.command("distill")
@click.option("--teacher", required=True, type=click.Path(dir_okay=False), help="RGB or fusion checkpoint (the teacher).")
@click.option("--student", type=click.Choice(DISTILL_STUDENTS), default=DISTILL_STUDENTS[0], show_default=True,
              help="The skeleton model to train.")
@click.option("--data", "data", required=True,
              help="Clips: a project folder, an export folder with clips/, or a folder of videos per label.")
@click.argument("more_data", nargs=-1)
@click.option("--out", "out", required=True, type=click.Path(file_okay=False), help="Output folder (model.pt, metrics.json).")
@click.option("--alpha", type=click.FloatRange(min=0), default=None, help="Weight of the task loss (default: distill.alpha, 1).")
@click.option("--beta", type=click.FloatRange(min=0), default=None,
              help="Weight of the logit KL divergence (default: distill.beta, 1).")
@click.option("--gamma", type=click.FloatRange(min=0), default=None,
              help="Weight of the feature MSE (default: distill.gamma, 1).")
@click.option("--temperature", type=click.FloatRange(min=0.01), default=None,
              help="Softening temperature (default: distill.temperature, 4).")
@click.option("--window", type=click.IntRange(min=1), default=None,
              help="Student window T in samples (default: distill.window, 16).")
@click.option("--fps", type=click.FloatRange(min=0.1), default=None,
              help="Student samples per second (default: distill.fps, 15).")
@click.option("--epochs", type=click.IntRange(min=1), default=None)
@click.option("--lr", type=float, default=None)
@click.option("--time-limit", type=float, default=None, help="Stop after about this many seconds of training.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--events", type=click.Choice(["tqdm", "jsonl"]), default="tqdm", show_default=True)
def distill_cmd(teacher: str, student: str, data: str, more_data: tuple[str, ...], out: str, alpha: float | None,
                beta: float | None, gamma: float | None, temperature: float | None, window: int | None,
                fps: float | None, epochs: int | None, lr: float | None, time_limit: float | None, seed: int,
                events: str) -> None:
    """Distil an RGB or fusion TEACHER into a skeleton-only STUDENT for the live path: task cross-entropy +
    KL divergence on temperature-softened logits (Hinton et al. 2015) + MSE between pooled features through a
    learned projection (FitNets, Romero et al. 2015). Writes OUT/model.pt, an ordinary skeleton checkpoint.
    Defaults: the distill section of the settings."""
    import torch

    from core.distill import Distiller, load_teacher

    torch.set_num_threads(min(2, os.cpu_count() or 1))
    overrides = {"alpha": alpha, "beta": beta, "gamma": gamma, "temperature": temperature, "window": window,
                 "fps": fps, "epochs": epochs, "lr": lr, "time_limit_s": time_limit}

    def go():
        load_teacher(teacher)  # a wrong kind of checkpoint fails before any data is read
        return _clip_run([data, *more_data], out, events, True,
                         lambda clips, cbs: Distiller(teacher, clips, student, overrides, out_dir=out, seed=seed,
                                                      callbacks=cbs),
                         ("train windows", "validation windows"))

    _finish_run(events, _run_guarded(events, go))


def _train_remote(url: str, token_file: str, cafile: str | None, attach: str | None, data: list[str], out: str,
                  events: str, options: dict) -> None:
    """``train --remote``: send the dataset, stream the worker's events (printed as a local run prints them),
    stop the worker's run on SIGTERM/Ctrl+C, and download the best checkpoint and metrics into ``out``."""
    import signal
    import tempfile
    from pathlib import Path

    from core.errors import PoseWatchError
    from core.remote import read_token
    from core.remote.training import RemoteTraining, dataset_file
    from core.training import jsonl_callbacks, tqdm_callbacks

    if Path(out).exists() and not Path(out).is_dir():
        raise PoseWatchError(f"--out {out} is a file; give a folder")
    client = RemoteTraining(url, read_token(token_file), cafile=cafile)
    try:
        if attach:
            run_id = attach
            client.status(run_id)  # an unknown run fails here, in one line
        else:
            with tempfile.TemporaryDirectory(prefix="posewatch-remote-train-") as tmp:
                run_id = client.start(dataset_file(data, Path(tmp)), options)
        click.echo(f"training run {run_id} on {client.http} (re-attach with --attach {run_id})", err=True)
        cbs = jsonl_callbacks() if events == "jsonl" else tqdm_callbacks()
        names = {"start": "on_start", "epoch_end": "on_epoch_end", "checkpoint": "on_checkpoint", "done": "on_done"}
        state = {"stop": False}

        def ask_stop(*_a) -> None:  # runs in the main thread, between two reads of the event stream
            if not state["stop"]:
                state["stop"] = True
                try:
                    client.stop(run_id)
                    click.echo(f"stopping run {run_id} on the worker (it keeps the best checkpoint)", err=True)
                except PoseWatchError as e:
                    click.echo(f"warning: could not stop the run: {e}", err=True)

        old = {sig: signal.signal(sig, ask_stop) for sig in (signal.SIGTERM, signal.SIGINT)}
        done = None
        try:
            for ev in client.events(run_id, on_status=lambda m: click.echo(m, err=True)):
                kind = ev.get("event")
                if kind == "error":
                    _emit_error(events, f"worker: {ev.get('message', 'training failed')}")
                if kind == "done":
                    done = ev
                    path = client.download(run_id, out)
                    ev = dict(ev, path=str(path))
                elif kind == "checkpoint":
                    ev = dict(ev, path=str(Path(out) / "model.pt"))
                payload = {k: v for k, v in ev.items() if k != "event"}
                for fn in cbs.get(names.get(kind, ""), []):
                    fn(None, payload)
                if kind == "start" and events != "jsonl":
                    _echo_data_summary(payload.get("summary", {"train": {}, "val": {}}), payload.get("warnings", []))
        finally:
            for sig, h in old.items():
                signal.signal(sig, h)
    except PoseWatchError as e:
        _emit_error(events, str(e))
    if done is None:
        _emit_error(events, "the worker ended the run without a result")
    if events != "jsonl":
        m = done.get("metrics", {})
        click.echo(f"{'stopped' if done.get('stopped') else 'done'} on the worker: validation macro-F1 "
                   f"{m.get('macro_f1', 0):.3f}, accuracy {m.get('accuracy', 0):.3f} (epoch {m.get('best_epoch')}); "
                   f"wrote {Path(out) / 'model.pt'}", err=True)


def _echo_data_summary(summary: dict, warnings: list[str],
                       what: tuple[str, str] = ("train windows", "validation frames")) -> None:
    """Windows per class and split, and the data warnings, on stderr before a training run."""
    names = list(summary["train"])
    w = max([len(n) for n in names] + [5])
    a, b = len(what[0]), len(what[1])
    click.echo(f"{'class':<{w}}  {what[0]}  {what[1]}", err=True)
    for n in names:
        click.echo(f"{n:<{w}}  {summary['train'][n]:>{a}}  {summary['val'].get(n, 0):>{b}}", err=True)
    for msg in warnings:
        click.echo(f"warning: {msg}", err=True)


@cli.command("evaluate")
@click.option("--model", "model", required=True, type=click.Path(dir_okay=False), help="Classifier checkpoint.")
@click.option("--data", "data", required=True, help="Labelled skeletons (CSV, dataset.pt or project folder).")
@click.argument("more_data", nargs=-1)
@click.option("--out", "out", default=None, type=click.Path(dir_okay=False), help="Also write the metrics JSON here.")
def evaluate_cmd(model: str, data: str, more_data: tuple[str, ...], out: str | None) -> None:
    """Frame-level metrics (accuracy, macro-F1, per-class precision/recall, confusion matrix) of a
    checkpoint on labelled skeletons, as JSON on stdout."""
    import json

    from core.classify import load_checkpoint
    from core.training import evaluate_checkpoint, load_data

    load_checkpoint(model)  # fail early on a bad checkpoint
    metrics = evaluate_checkpoint(model, load_data([data, *more_data], chunk_frames=0))
    text = json.dumps(metrics)
    if out:
        from core.files import write_text

        write_text(out, text)
    click.echo(text)
    click.echo(f"macro-F1 {metrics['macro_f1']:.3f}, accuracy {metrics['accuracy']:.3f} on {metrics['frames']} frames",
               err=True)


@cli.command("predict")
@click.option("--model", "model", required=True, help="Classifier checkpoint, or a shipped one: abnormal, fall, fight.")
@click.option("--input", "input_path", required=True, help="Skeleton CSV (AI-Hub, URFD, PoseWatch) or a video.")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False), help="Output CSV.")
@_backend_opt
@_model_opt
@_width_opt
@_tracker_opt
@_device_opt
@click.option("--crop", default=None, metavar="X1,Y1,X2,Y2",
              help="RGB clip models: classify this rectangle of the frame (pixels) instead of the full frame.")
@click.option("--stride-s", type=click.FloatRange(min=0.01), default=None,
              help="RGB clip models: seconds between window starts (default: the checkpoint's).")
def predict_cmd(model: str, input_path: str, out: str, backend: str, pose_model: str | None, width: int | None,
                tracker: str, device: str | None, crop: str | None, stride_s: float | None) -> None:
    """Predict labels with a checkpoint. A skeleton CSV is written back row by row with pred_label (the
    ids of the input's label column), pred_label_name and pred_prob; a video gives one row per track
    and frame (frame, time_s, track_id, pred_label, pred_label_name, pred_prob). An RGB clip model (r2plus1d,
    fusion) labels a video by sliding windows: one row per window (track_id -1 for the whole frame, start_frame,
    end_frame, start_s, end_s, pred_label, pred_label_name, pred_prob, p_<class>)."""
    from pathlib import Path

    from core.classify import load_checkpoint
    from core.defaults import resolve_classifier
    from core.files import write_csv
    from core.training import TrainingError, predict_cache, predict_skeleton_csv

    model = str(resolve_classifier(model))
    ck = load_checkpoint(model)
    if not Path(out).absolute().parent.is_dir():
        raise TrainingError(f"output folder does not exist: {Path(out).absolute().parent}")
    if ck.is_video:  # an RGB clip model: one row per sliding window
        from core.rgb.infer import predict_video_csv

        kw = _estimator_kwargs(backend, pose_model, tracker, device)
        r = predict_video_csv(model, input_path, out, crop, stride_s,
                              skeletons=lambda: _load_skeletons(input_path, backend, width, kw))
        click.echo(f"wrote {out}: {r['windows']} window(s) of {r['window_s']:.2f} s; "
                   + ", ".join(f"{k} {v}" for k, v in r["counts"].items()), err=True)
        return
    if crop or stride_s:
        raise click.UsageError("--crop and --stride-s are options of RGB clip models (r2plus1d, fusion)")
    if input_path.lower().endswith(".csv"):
        r = predict_skeleton_csv(model, input_path, out)
        click.echo(f"wrote {out}: {r['rows']} rows, {r['sequences']} sequence(s); "
                   + ", ".join(f"{k} {v}" for k, v in r["counts"].items()), err=True)
        return
    cache = _load_skeletons(input_path, backend, width, _estimator_kwargs(backend, pose_model, tracker, device))
    df = predict_cache(model, cache)
    write_csv(df, out)
    click.echo(f"wrote {out}: {len(df)} rows, {df['track_id'].nunique()} track(s)", err=True)


@cli.command("detect")
@click.argument("sources", nargs=-1, required=True)
@click.option("--model", "model", default=None,
              help="Classifier: a checkpoint path, or 'fall' / 'fight' / 'abnormal' for the shipped defaults (default: "
                   "the setting live.classifier, fall).")
@click.option("--sensitivity", default=None,
              help="A scene (fight) model's alert operating point by name (see its model card; default: the "
                   "checkpoint's, at most 1 in 10 validation no-fight clips alerting).")
@click.option("--events", "events", required=True, type=click.Path(dir_okay=False),
              help="Alerts file (JSON lines); snapshots (.jpg) and clips (.mp4) are saved next to it.")
@click.option("--realtime", is_flag=True,
              help="Play a file at its frame rate like a camera, dropping frames when inference falls behind.")
@click.option("--width", type=click.IntRange(min=32), default=None,
              help="Downscale frames to this width (pixels) before inference (default: live.width, 640).")
@click.option("--imgsz", type=click.IntRange(min=32), default=None,
              help="Detector input size (pixels; default: live.imgsz, 640; with several sources "
                   "live.multicam_imgsz where set).")
@click.option("--precision", type=click.Choice(PRECISIONS), default=None,
              help="YOLO pose model precision on the CPU: INT8 (shipped calibration table; faster) or float32 "
                   "(default: live.precision, int8).")
@click.option("--pose-workers", "pose_workers", type=click.IntRange(min=1), default=None,
              help="Pose threads taking frames in turn (default: 2 on 2 or more cores).")
@click.option("--hold", "hold", type=click.FloatRange(min=0), default=None,
              help="Seconds an abnormal label must hold before an alert (default: live.alert_hold_s).")
@click.option("--out-video", default=None, type=click.Path(dir_okay=False),
              help="Also write the annotated video (mp4; one source only).")
@click.option("--camera", "cameras", multiple=True, metavar="NAME",
              help="Camera name for events and the MQTT topic, one per source in order (default: from the source).")
@click.option("--webhook", default=None, metavar="URL",
              help="Also POST every alert's JSON to this http(s) URL (default: the setting live.webhook_url).")
@click.option("--webhook-secret-file", default=None, type=click.Path(dir_okay=False),
              help="File with the HMAC-SHA256 key of the webhook's X-PoseWatch-Signature header.")
@click.option("--mqtt", "mqtt_url", default=None, metavar="URL",
              help="Also publish every alert to this broker (mqtt://[user@]host[:1883], mqtts://…), topic "
                   "live.mqtt_topic (posewatch/<camera>/alerts).")
@click.option("--tracker", type=click.Choice(TRACKERS), default=None, help="Person tracker (default: live.tracker).")
@click.option("--project", "project_dir", default=None, type=click.Path(file_okay=False),
              help="Also file every alert's clip into this labelling project as an open suggestion of the detector "
                   "(reviewed later: accept, reject, reject as normal; core.alert_review).")
def detect_cmd(sources: tuple[str, ...], model: str | None, sensitivity: str | None, events: str, realtime: bool,
               width: int | None, imgsz: int | None, precision: str | None, pose_workers: int | None,
               hold: float | None, out_video: str | None, cameras: tuple[str, ...], webhook: str | None,
               webhook_secret_file: str | None, mqtt_url: str | None, tracker: str | None,
               project_dir: str | None) -> None:
    """Run the live detector headless on SOURCE... (files, webcam indices or stream URLs; several run at once on
    one shared pose model): every alert (an abnormal label held for the hold time) becomes one JSON line in EVENTS
    (time_s, frame, track_id, label, prob, wall_time, snapshot, clip, camera). Without --realtime every frame of a
    file is processed."""
    if len(cameras) > len(sources):
        raise click.UsageError(f"{len(cameras)} --camera names for {len(sources)} source(s)")
    if len(sources) > 1 and out_video:
        raise click.UsageError("--out-video takes one source")
    from core.live import LiveConfig

    given = {"classifier": model, "width": width, "imgsz": imgsz, "precision": precision, "tracker": tracker,
             "pose_workers": pose_workers, "sensitivity": sensitivity, "alert_hold_s": hold, "scene_hold_s": hold,
             "webhook_url": webhook, "webhook_secret_file": webhook_secret_file, "mqtt_url": mqtt_url}
    if imgsz is not None:
        given["multicam_imgsz"] = imgsz  # a size given is the size, however many sources
    cfg = LiveConfig(realtime=realtime, **{k: v for k, v in given.items() if v is not None})
    project = None
    if project_dir is not None:
        from core.project import Project

        project = Project.open(project_dir)  # ProjectError (one line) before any frame
    try:
        if len(sources) > 1:
            _detect_cameras(list(sources), list(cameras), cfg, events)
        else:
            _detect_one(sources[0], list(cameras), cfg, events, out_video)
        if project is not None:
            from core.alert_review import file_events
            from core.live.detector import resolve_classifier

            filed = file_events(project, events, resolve_classifier(cfg.classifier))
            click.echo(f"filed {len(filed)} alert(s) into {project.folder} as open suggestions", err=True)
    finally:
        if project is not None:
            project.close()


def _detect_one(video: str, cameras: list[str], cfg, events: str, out_video: str | None) -> None:
    """``detect`` with one source (:func:`core.live.headless.run_detect`), with a progress bar."""
    from tqdm import tqdm

    from core.live.headless import run_detect

    if cameras:
        cfg.camera = cameras[0]
    bar = None

    def progress(done: int, total: int | None) -> None:
        nonlocal bar
        if bar is None:
            bar = tqdm(total=total, desc="detect", unit="frame", file=sys.stderr, leave=False, dynamic_ncols=True)
        bar.update(max(0, done - bar.n))  # frames dropped with --realtime count too

    def say(text: str) -> None:
        (bar.write if bar is not None else click.echo)(text, file=sys.stderr)

    def alert(e) -> None:
        say(f"alert: {e.label} ({e.prob:.2f}) track {e.track_id} at {e.time_s:.2f} s (frame {e.frame_index})")

    try:
        s = run_detect(video, cfg, events, out_video, on_progress=progress, on_alert=alert, on_message=say)
    finally:
        if bar is not None:
            bar.close()
    click.echo(f"{s['frames']} frames, {s['fps']:.1f} frames/s, {s['dropped']} dropped, {s['alerts']} alert(s); "
               f"wrote {events}" + (f" and {out_video}" if out_video else ""), err=True)


def _detect_cameras(sources: list[str], cameras: list[str], cfg, events: str) -> None:
    """``detect`` with several sources (:func:`core.live.headless.run_detect_cameras`): one line per camera."""
    from core.live.headless import run_detect_cameras

    def alert(e) -> None:
        click.echo(f"alert: {e.camera}: {e.label} ({e.prob:.2f}) track {e.track_id} at {e.time_s:.2f} s "
                   f"(frame {e.frame_index})", err=True)

    stats = run_detect_cameras(sources, cfg, events, cameras or None, on_alert=alert,
                               on_message=lambda camera, text: click.echo(f"{camera}: {text}", err=True))
    for name, s in stats.items():
        click.echo(f"{name}: {s['frames']} frames, {s['fps']:.1f} frames/s, {s['dropped']} dropped, "
                   f"{s['alerts']} alert(s)", err=True)
    click.echo(f"wrote {events}", err=True)


# --- calibrate-int8: INT8 calibration tables for YOLO-pose checkpoints (core.pose.int8) ---
@cli.command("calibrate-int8")
@click.argument("videos", nargs=-1, required=True)
@_model_opt
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False),
              help="Calibration table to write (.json); name it <model>.int8.json next to the .pt to have it used.")
@click.option("--frames-per-video", type=click.IntRange(min=1), default=12, show_default=True,
              help="Frames taken from each video.")
@click.option("--every", type=click.IntRange(min=1), default=7, show_default=True, help="Frames between those taken.")
@click.option("--width", type=click.IntRange(min=32), default=640, show_default=True,
              help="Downscale frames to this width (pixels), as extraction does.")
def calibrate_int8_cmd(videos: tuple[str, ...], pose_model: str | None, out: str, frames_per_video: int, every: int,
                       width: int) -> None:
    """Make the INT8 calibration table of a YOLO-pose checkpoint from VIDEO... (clips like the scenes to be watched,
    ~10 of them), then check that the INT8 model builds with it. Use it with
    core.pose.int8.int8_model(model, calibration=TABLE) or save it as <model>.int8.json next to the .pt."""
    from core.pose.int8 import calibrate, int8_model, read_table

    model = pose_model or "yolo11n-pose.pt"
    path = calibrate(model, list(videos), out, frames_per_video=frames_per_video, every=every, width=width)
    built = int8_model(model, calibration=path)
    n = read_table(path)["posewatch"]["frames"]
    click.echo(f"wrote {path} ({n} frames from {len(videos)} video(s)); INT8 model: {built}", err=True)


if __name__ == "__main__":
    os.environ.setdefault("YOLO_VERBOSE", "False")
    cli()

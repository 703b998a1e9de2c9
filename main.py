"""PoseWatch command line: ``python main.py [COMMAND] …`` (no command: open the GUI).

Commands:
    gui      open the PoseWatch window (optionally with a video)
    extract  estimate and track poses in a video; write one CSV row per person per frame
    render   write the video with the overlay the GUI draws (skeletons, boxes, IDs, labels)
    import   read skeleton CSVs (AI-Hub, URFD, PoseWatch) into a project as labelled clips
    export   write a project's labelled clips as training data (skeleton CSV, tensors, clip videos, frames)

Errors users can cause (missing or corrupt files, bad options) print one line on stderr and exit
with status 2; no traceback.
"""

from __future__ import annotations

import os
import sys

import click

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


_backend_opt = click.option("--backend", type=click.Choice(["yolo", "mediapipe"]), default="yolo", show_default=True,
                            help="Pose backend: YOLO-pose (COCO-17, multi-person) or MediaPipe PoseLandmarker (33 landmarks).")
_model_opt = click.option("--pose-model", default=None,
                          help="Pose model file name or path (default: yolo11n-pose.pt / pose_landmarker_lite.task).")
_width_opt = click.option("--width", type=click.IntRange(min=32), default=None,
                          help="Downscale frames to this width (pixels) before inference; results stay in original pixels.")
_tracker_opt = click.option("--tracker", type=click.Choice(["bytetrack", "botsort"]), default="bytetrack", show_default=True)
_device_opt = click.option("--device", default=None, help="cpu, cuda or cuda:N (default: CUDA if available).")


def _estimator_kwargs(backend: str, pose_model: str | None, tracker: str, device: str | None) -> dict:
    kw: dict = {"tracker": tracker}
    if pose_model:
        kw["model"] = pose_model
    if device and backend == "yolo":
        kw["device"] = device
    return kw


def _load_skeletons(video: str, backend: str, width: int | None, kw: dict):
    from core.extract import iter_load_or_extract, run

    cache = run(iter_load_or_extract(video, backend, width, **kw), desc="poses")
    if "truncated_at" in cache.meta:
        click.echo(f"warning: {video} ends early: only {cache.meta['truncated_at']} frames could be decoded", err=True)
    return cache


@click.group(cls=_Group, invoke_without_command=True, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="posewatch")
@click.pass_context
def cli(ctx: click.Context) -> None:
    """PoseWatch: skeleton-based abnormal-behaviour detection in video."""
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
def extract(video: str, out: str, backend: str, pose_model: str | None, width: int | None, tracker: str,
            device: str | None) -> None:
    """Estimate and track poses in VIDEO; write SKELETONS.csv (one row per person per frame).

    Columns: frame, time_s, track_id, bbox_x1..bbox_y2 (pixels), score, then <JOINT>_X, <JOINT>_Y,
    <JOINT>_SCORE for every joint of the backend's skeleton layout. Results are cached, so a second
    run on the same video and settings needs no inference.
    """
    from core.extract import write_csv

    cache = _load_skeletons(video, backend, width, _estimator_kwargs(backend, pose_model, tracker, device))
    write_csv(cache, out)
    n = cache.persons_per_frame()
    click.echo(f"wrote {out}: {int(n.sum())} rows, {cache.frame_count} frames, {len(cache.track_ids())} tracks, "
               f"layout {cache.layout}", err=True)


@cli.command()
@click.argument("video")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False), help="Output video path (.mp4 or .avi).")
@click.option("--classifier", default=None, type=click.Path(dir_okay=False),
              help="Classifier checkpoint for the labels (without one the overlay says 'no model').")
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

    clf = TrackClassifier(classifier) if classifier else None  # fail early on a bad checkpoint
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
@click.option("--format", "formats", multiple=True, type=click.Choice(["csv", "pt", "clips", "frames"]),
              help="What to write (repeatable; default: csv and pt): the skeleton CSV, the dataset.pt tensors, "
                   "one cropped video per clip, or every frame of each clip as an image.")
@click.option("--out", "out", required=True, type=click.Path(), help="Output folder (must not exist yet).")
@click.option("--window", type=click.IntRange(min=1), default=16, show_default=True, help="Frames per training window.")
@click.option("--stride", type=click.IntRange(min=1), default=16, show_default=True, help="Frames between window starts.")
@click.option("--normalisation", type=click.Choice(["none", "minmax", "hip_torso"]), default="none", show_default=True,
              help="Per-window normalisation of the tensors.")
@click.option("--split", "split", default="0.7,0.15,0.15", show_default=True,
              help="Train,val,test fractions of the videos (the split is by video).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the train/val/test split.")
@click.option("--image-format", type=click.Choice(["png", "jpg"]), default="png", show_default=True,
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
    from core.exporting import iter_export
    from core.extract import run
    from core.project import Project

    ratios = _parse_split(split)
    with Project.open(project_dir) as proj:
        summary = run(iter_export(proj, out, formats or ("csv", "pt"), window=window, stride=stride,
                                  normalisation=normalisation, ratios=ratios, seed=seed, image_format=image_format,
                                  backend=backend, overwrite=overwrite), desc="export")
    for w in summary.warnings:
        click.echo(f"warning: {w}", err=True)
    for cid, why in summary.skipped_clips.items():
        click.echo(f"skipped clip {cid}: {why}", err=True)
    click.echo(summary.describe(), err=True)


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

    parsed = run(iter_read(files, label), desc="read")
    with Project.open_or_create(Path(project_dir)) as proj:
        report = run(iter_import(proj, parsed), desc="import")
        folder = proj.folder
    for w in report.warnings:
        click.echo(f"warning: {w}", err=True)
    click.echo(f"{report.summary()} into {folder}", err=True)


if __name__ == "__main__":
    os.environ.setdefault("YOLO_VERBOSE", "False")
    cli()

"""The fixed choices users pick from (CLI ``click.Choice`` lists, GUI combo boxes), in one light module: each
owning module imports its list from here, and the CLI reads them without loading OpenCV or PyTorch.

Pose backends are a registry, not a fixed list: :data:`core.pose.BACKENDS`.
"""

from __future__ import annotations

#: Person trackers (ultralytics ByteTrack, BoT-SORT; :mod:`core.pose.tracking`).
TRACKERS: tuple[str, ...] = ("bytetrack", "botsort")
#: What ``export`` writes (:func:`core.exporting.iter_export`).
EXPORT_FORMATS: tuple[str, ...] = ("csv", "pt", "clips", "frames")
#: Image formats of exported frames.
IMAGE_FORMATS: tuple[str, ...] = ("png", "jpg")
#: Per-window normalisation of skeleton features (:mod:`core.features`).
NORMALISATIONS: tuple[str, ...] = ("none", "minmax", "hip_torso")
#: YOLO-pose precisions on the CPU (:class:`core.pose.yolo_onnx.OnnxPoseEstimator`).
PRECISIONS: tuple[str, ...] = ("int8", "fp32")
#: Inference runtimes of the remote worker (:class:`core.remote.server.WorkerConfig`).
RUNTIMES: tuple[str, ...] = ("auto", "onnx", "torch", "tensorrt")
#: Classifier architectures (the registry :data:`models.MODELS`; listed here so that choosing one loads no torch).
MODEL_NAMES: tuple[str, ...] = ("lstm", "transformer", "stgcn", "r2plus1d", "fusion")
#: The classifiers of RGB clips (:data:`models.VIDEO_MODELS`: they train on a project's video clips, an export's
#: clips/ or a folder of videos per label).
VIDEO_MODEL_NAMES: tuple[str, ...] = ("r2plus1d", "fusion")
#: Architectures of the R(2+1)D clip model (:data:`models.r2plus1d.ARCHS`): the small from-scratch one, torchvision's.
RGB_ARCHS: tuple[str, ...] = ("small", "r2plus1d_18")
#: Skeleton streams of a fusion model (:data:`models.fusion.SKELETON_STREAMS`; scene_mlp: the scene vector).
SKELETON_STREAMS: tuple[str, ...] = ("stgcn", "lstm", "transformer", "scene_mlp")
#: Skeleton students of distillation (:data:`core.distill.STUDENTS`: the per-track models the live path runs).
DISTILL_STUDENTS: tuple[str, ...] = ("stgcn", "lstm", "transformer")

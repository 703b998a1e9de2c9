"""A lean YOLO-pose estimator: ONNX Runtime called directly, without ultralytics' predictor around it (the
live pipeline's pose backend on the CPU).

The model is ultralytics' own ONNX export of the YOLO-pose checkpoint (:func:`core.pose.yolo.export_onnx`,
dynamic input size, cached per checkpoint hash). Pre-processing (letterbox to ``imgsz`` on the longest side,
padded to a multiple of 32 only — the "rectangular" inference ultralytics uses for dynamic models), the
decoding of the ``(1, 5 + 3 V, N)`` output (cx, cy, w, h, person confidence, then x, y, visibility of each
keypoint, already decoded by the exported head) and the class-agnostic NMS (IoU 0.7, ultralytics' default)
follow ``ultralytics.models.yolo.pose.PosePredictor``; tracking is the same ultralytics ByteTrack/BoT-SORT
as every other backend (:class:`core.pose.tracking.Tracker`). What it saves is the per-call overhead of the
ultralytics predictor (tensor conversions, result objects), and it lets the caller set ONNX Runtime's
intra-op thread count (``bench/live.py`` measures both).
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from ..choices import PRECISIONS
from ..errors import ModelError, one_line
from ..modelfiles import resolve_model, sha256_file
from .base import FramePoses, PoseEstimator, track_detections
from .letterbox import letterbox, letterbox_blob
from .tracking import Tracker
from .yolo import DEFAULT_MODEL, export_onnx

__all__ = ["OnnxPoseEstimator", "letterbox", "letterbox_blob", "with_pooled_output"]

#: Name of the graph output :func:`with_pooled_output` adds.
POOLED_OUTPUT = "pooled_features"


def with_pooled_output(model, layer: int = 10):
    """An ultralytics YOLO ONNX graph (float, or the QDQ INT8 model of :func:`core.pose.int8.int8_model`) with one
    more output, :data:`POOLED_OUTPUT`: the global average over space of block ``model.<layer>``'s output
    (``(B, C)`` float32; for YOLO11n-pose layer 10, the C2PSA block at stride 32, C = 256). The pose output
    stays output 0, so :class:`OnnxPoseEstimator` decodes it unchanged; pooling costs one small node.

    The block's output is the one tensor made inside ``/model.<layer>/`` (its dequantized copy in an INT8 graph)
    that nodes outside the block read, constants aside.

    Args:
        model: an ``onnx.ModelProto`` or the path of an ``.onnx`` file; layer: the block index.

    Returns:
        A new ``onnx.ModelProto`` (the input is not changed).

    Raises:
        ModelError: the graph has no such block, or the block's output is not one tensor.
    """
    import onnx
    from onnx import TensorProto, helper

    m = onnx.ModelProto()
    m.CopyFrom(model if isinstance(model, onnx.ModelProto) else onnx.load(str(model)))
    prefix = f"/model.{int(layer)}/"
    inside = {o for n in m.graph.node if n.name.startswith(prefix) and n.op_type != "Constant" for o in n.output}
    read_outside = {i for n in m.graph.node if not n.name.startswith(prefix) for i in n.input if i in inside}
    if len(read_outside) != 1:
        raise ModelError(f"cannot find the output of block model.{layer} in this ONNX graph "
                         f"({len(read_outside)} candidate tensors)")
    src = read_outside.pop()
    m.graph.node.extend([helper.make_node("GlobalAveragePool", [src], [POOLED_OUTPUT + "_4d"], name="pooled_gap"),
                         helper.make_node("Flatten", [POOLED_OUTPUT + "_4d"], [POOLED_OUTPUT], name="pooled_flat",
                                          axis=1)])
    m.graph.output.append(helper.make_tensor_value_info(POOLED_OUTPUT, TensorProto.FLOAT, None))
    return m


class OnnxPoseEstimator(PoseEstimator):
    """YOLO-pose on ONNX Runtime (CPU), multi-person COCO-17 keypoints, tracked.

    Args:
        model: YOLO-pose ``.pt`` name/path (exported to ONNX once, cached) or an ``.onnx`` path.
        imgsz: inference size in pixels of the longest side (multiple of 32).
        conf: minimum person confidence in [0, 1].
        iou: NMS IoU threshold.
        tracker: ``bytetrack`` or ``botsort``.
        frame_rate: video fps (the tracker's lost-track buffer).
        threads: ONNX Runtime intra-op threads (None or 0: ONNX Runtime's default, one per core).
        precision: ``"fp32"`` (the float export) or ``"int8"``: the static INT8 model of
            :func:`core.pose.int8.int8_model` with its shipped calibration table (about 22 % faster on CPUs with
            AVX512-VNNI; on x86 CPUs without VNNI it runs ONNX Runtime's exact kernels, ``exact_kernels``, at about
            float speed, see :mod:`core.pose.int8`; needs a ``.pt`` with a table, i.e. ``yolo11n-pose.pt``).
        pooled_layer: also compute the spatial average of this block's feature map with every call
            (:func:`with_pooled_output`; :meth:`detect_batch_pooled`); None: no extra output.

    Raises:
        ModelError: missing/corrupt model, failed export, or not a pose model; ``precision="int8"`` with an
            ``.onnx`` path or a model without a calibration table; an unknown precision.
    """

    name = "yolo"
    layout = "coco17"

    def __init__(self, model: str = DEFAULT_MODEL, imgsz: int = 640, conf: float = 0.25, iou: float = 0.7,
                 tracker: str = "bytetrack", frame_rate: float = 30.0, threads: int | None = None,
                 precision: str = "fp32", pooled_layer: int | None = None):
        import onnxruntime as ort

        if precision not in PRECISIONS:
            raise ModelError(f"unknown precision '{precision}' ({' or '.join(sorted(PRECISIONS))})")
        path = resolve_model(model)
        self.model_name = path.name
        self._sha = sha256_file(path)[:16]
        self.precision = precision
        so = ort.SessionOptions()
        self.exact_kernels = False
        if precision == "int8":
            from .int8 import exact_kernels, int8_model

            onnx_path = int8_model(path)
            self.exact_kernels = exact_kernels(so)
        else:
            onnx_path = export_onnx(path) if path.suffix == ".pt" else Path(path)
        if threads:
            so.intra_op_num_threads = int(threads)
        so.inter_op_num_threads = 1
        self.pooled_layer = None if pooled_layer is None else int(pooled_layer)
        try:
            graph = (str(onnx_path) if self.pooled_layer is None
                     else with_pooled_output(onnx_path, self.pooled_layer).SerializeToString())
            self.session = ort.InferenceSession(graph, so, providers=["CPUExecutionProvider"])
        except ModelError:
            raise
        except Exception as e:
            raise ModelError(f"cannot load pose model {onnx_path}: {one_line(e, 160)}") from None
        inp, first = self.session.get_inputs()[0], self.session.get_outputs()[0]
        self._input, self._output = inp.name, first.name
        out = first.shape
        nk = out[1] if isinstance(out[1], int) else 56
        if (nk - 5) % 3 or nk < 8:
            raise ModelError(f"{path.name} is not a YOLO-pose model (output has {nk} channels)")
        self.num_kpts = (nk - 5) // 3
        self.imgsz, self.conf, self.iou, self.threads = int(imgsz), float(conf), float(iou), threads
        self.tracker_kind = tracker
        self.tracker = Tracker(tracker, frame_rate)

    @property
    def input_name(self) -> str:
        """Name of the model's input tensor (``session.run(None, {input_name: blob})``)."""
        return self._input

    def describe(self) -> dict:
        """The settings that make the poses (a skeleton cache's key, :func:`core.extract.extraction_settings`).
        ``exact_kernels`` appears only where it is True (INT8 on a CPU whose kernels saturate), so the keys of
        caches made elsewhere stay as they were, and caches made with the saturating kernels are not reused."""
        d = {"backend": self.name, "layout": self.layout, "model": self.model_name, "sha": self._sha,
             "imgsz": self.imgsz, "conf": self.conf, "tracker": self.tracker_kind, "runtime": "onnx-direct",
             "precision": self.precision}
        if self.exact_kernels:
            d["exact_kernels"] = True
        return d

    def reset(self) -> None:
        self.tracker.reset()

    def detect(self, image: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Untracked detection on a BGR ``(H, W, 3)`` uint8 image.

        Returns:
            ``boxes (N, 4)`` xyxy, ``scores (N,)``, ``keypoints (N, V, 3)`` (x, y pixels of ``image``,
            visibility in [0, 1]), all float32.
        """
        return self.detect_batch([image])[0]

    def detect_batch(self, images: list[np.ndarray]) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """:meth:`detect` of several images in one ONNX Runtime call (the model's batch dimension is dynamic).
        Images whose letterboxed sizes differ are run in one call per size.

        Returns:
            one ``(boxes, scores, keypoints)`` per image, in order (see :meth:`detect`).
        """
        return self._run(images, pooled=False)[0]

    def detect_batch_pooled(self, images: list[np.ndarray]
                            ) -> tuple[list[tuple[np.ndarray, np.ndarray, np.ndarray]], np.ndarray]:
        """:meth:`detect_batch` and, from the same calls, the pooled feature map of each image
        (``(len(images), C)`` float32, :func:`with_pooled_output`).

        Raises:
            ModelError: the estimator was made without ``pooled_layer``.
        """
        if self.pooled_layer is None:
            raise ModelError("this pose estimator computes no pooled features (pooled_layer=None)")
        return self._run(images, pooled=True)

    def _run(self, images: list[np.ndarray], pooled: bool):
        preps = [letterbox_blob(im, self.imgsz) for im in images]
        out: list = [None] * len(images)
        feats: list = [None] * len(images)
        names = [self._output] + ([POOLED_OUTPUT] if pooled else [])
        by_shape: dict[tuple, list[int]] = {}
        for i, (blob, *_rest) in enumerate(preps):
            by_shape.setdefault(blob.shape, []).append(i)
        for idx in by_shape.values():
            batch = preps[idx[0]][0] if len(idx) == 1 else np.concatenate([preps[i][0] for i in idx])
            res = self.session.run(names, {self._input: batch})
            pred = res[0]  # (B, 5 + 3V, N)
            for b, i in enumerate(idx):
                _blob, r, dx, dy = preps[i]
                out[i] = self._decode(pred[b].T, r, dx, dy, images[i].shape[:2])
                if pooled:
                    feats[i] = np.asarray(res[1][b], np.float32)
        return out, (np.stack(feats) if pooled else None)

    def _decode(self, pred: np.ndarray, r: float, dx: float, dy: float, hw: tuple[int, int]
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Confidence filter, NMS and letterbox undo of one image's ``(N, 5 + 3V)`` output rows."""
        pred = pred[pred[:, 4] >= self.conf]
        v = self.num_kpts
        if len(pred) == 0:
            return np.zeros((0, 4), np.float32), np.zeros((0,), np.float32), np.zeros((0, v, 3), np.float32)
        xywh = pred[:, :4].copy()
        xywh[:, 0] -= xywh[:, 2] / 2
        xywh[:, 1] -= xywh[:, 3] / 2
        keep = cv2.dnn.NMSBoxes(xywh.tolist(), pred[:, 4].tolist(), self.conf, self.iou)
        keep = np.asarray(keep, np.int64).reshape(-1)[:300]
        pred, xywh = pred[keep], xywh[keep]
        boxes = np.concatenate([xywh[:, :2], xywh[:, :2] + xywh[:, 2:4]], axis=1)
        boxes[:, [0, 2]] = (boxes[:, [0, 2]] - dx) / r
        boxes[:, [1, 3]] = (boxes[:, [1, 3]] - dy) / r
        h, w = hw
        boxes[:, [0, 2]] = boxes[:, [0, 2]].clip(0, w)
        boxes[:, [1, 3]] = boxes[:, [1, 3]].clip(0, h)
        kpts = pred[:, 5:].reshape(-1, v, 3).copy()
        kpts[..., 0] = (kpts[..., 0] - dx) / r
        kpts[..., 1] = (kpts[..., 1] - dy) / r
        return boxes.astype(np.float32), pred[:, 4].astype(np.float32), kpts.astype(np.float32)

    def process(self, image: np.ndarray, frame_index: int, time_s: float) -> FramePoses:
        boxes, scores, kpts = self.detect(image)
        return track_detections(self.tracker, boxes, scores, kpts, image, frame_index, time_s, self.layout)

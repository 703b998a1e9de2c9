"""Static INT8 of the YOLO-pose ONNX model (ONNX Runtime QDQ), with the detection head kept in float.

Recipe (ONNX Runtime's static quantization, https://onnxruntime.ai/docs/performance/model-optimizations/quantization.html):
ultralytics' dynamic ONNX export (:func:`core.pose.yolo.export_onnx`) is pre-processed with
``onnxruntime.quantization.shape_inference.quant_pre_process(skip_symbolic_shape=True)`` — on the *dynamic*
model: symbolic shape inference fails on it, and fixing the input shape instead bakes shapes into the graph and
breaks portrait inputs — then quantized with ``quantize_static`` (QDQ format, uint8 activations, per-channel
int8 weights, MinMax ranges with a moving average). The activation ranges come from a **calibration table**,
ONNX Runtime's own calibration-cache JSON (``quantize_static(calibration_cache_path=...)``) written by
:func:`calibrate` from a few frames of real clips; the table for ``yolo11n-pose.pt`` is shipped as
``resources/models/yolo11n-pose.int8.json`` (see the model card next to it), so no calibration clips are needed at
run time. :func:`float_nodes` lists the nodes kept in float (the reasons are in its docstring); ultralytics does the
same in its own INT8 exports: OpenVINO keeps every op of the head scope out of NNCF quantization
(``nncf.IgnoredScope``, ``ultralytics/utils/export/openvino.py``) and the TensorRT export constrains the head
(the highest ``/model.N/`` index) to float (``ultralytics/utils/export/engine.py``), both in ultralytics 8.4.

Measured on a CPU with AVX512-VNNI, 640x384 input: about 20 ms vs 25.5 ms per call with 2 ONNX Runtime threads
(~22 % faster), held-out recall of the float model's confident persons 1.0; see ``bench/int8_pose.py`` and
``docs/BENCHMARKS.md``.

**x86 CPUs without VNNI** (most laptops before Intel's 12th generation, AMD before Zen 4): ONNX Runtime multiplies
uint8 activations by int8 weights there with ``VPMADDUBSW``, which adds each pair of products in *saturating* 16-bit
arithmetic (255 · 127 · 2 = 64,770 is clamped to 32,767; ONNX Runtime's quantization docs, "When and why do I need
to try U8U8?", and ``MlasPlatformU8S8Overflow`` in its MLAS). On such a CPU (an AVX2 AMD EPYC, 2026-12-03) the
model found 10 % of the float model's persons in a fight clip. :func:`u8s8_product_ratio` tests the arithmetic
itself with a one-convolution model; where it saturates, :func:`exact_kernels` sets ONNX Runtime's
``session.x64quantprecision`` (U8U8 kernels) on the session, and the model then gives what it gives on a VNNI CPU
(the agreement figures of ``bench/int8_pose.py`` equal to the third decimal), so the fight and fall models, trained
and calibrated on VNNI poses, see the same poses everywhere. The price there: no speed over float. The docs' other
remedy, 7-bit weights (``int8_model(reduce_range=True)``), ran about a quarter faster than float there and agrees
with float as well, but its poses differ from the VNNI ones: the shipped fight model let 3 of 13 held-out no-fight
clips alert with them, against 1 of 13 with exact kernels (see ``docs/BENCHMARKS.md``).

Table file format: ONNX Runtime's calibration cache (``{"CLS": "TensorsData", "data": {tensor: {"lowest",
"highest"}}, "calibration_method": ...}``) plus one extra top-level key ``"posewatch"`` with our metadata (model
name and SHA-256 of the ``.pt``, clips, frame count, ONNX Runtime version, date). ONNX Runtime's loader
(``TensorsData.from_dict``) reads only ``data`` and ``calibration_method``, but ``quantize_static`` rewrites the
cache file it is given, so :func:`int8_model` hands it a copy without our key in a temporary folder.
"""

from __future__ import annotations

import datetime
import functools
import json
import logging
import os
import re
import tempfile
from pathlib import Path
from typing import Callable

import numpy as np

from ..errors import ModelError, one_line
from ..files import atomic_path, write_json
from ..modelfiles import resolve_model, sha256_file

TABLE_FORMAT = 1
_INDEX = re.compile(r"^/model\.(\d+)/")


def _shipped_models() -> Path:
    from ..defaults import resources_dir

    return resources_dir() / "models"


ProgressFn = Callable[[int, int, str], None]
"""Progress callback ``(done, total, message)`` (frames read, then frames run through the model)."""


def shipped_table(model_name: str) -> Path | None:
    """The calibration table shipped for a model file name (``yolo11n-pose.pt`` →
    ``resources/models/yolo11n-pose.int8.json``), or None if there is none."""
    p = _shipped_models() / f"{Path(model_name).stem}.int8.json"
    return p if p.is_file() else None


def default_table(pt: Path) -> Path | None:
    """The table :func:`int8_model` uses when none is given: ``<stem>.int8.json`` next to the checkpoint (where
    ``python main.py calibrate-int8 ... --out`` can put a user's own), else the shipped one, else None."""
    beside = pt.with_name(f"{pt.stem}.int8.json")
    return beside if beside.is_file() else shipped_table(pt.name)


def _ort_part(data: dict) -> dict:
    return {k: v for k, v in data.items() if k != "posewatch"}


def float_nodes(model) -> list[str]:
    """Names of the nodes of a (pre-processed) ultralytics YOLO-pose ONNX graph to keep in float.

    The rule, for ultralytics' node naming ``/model.N/...`` (N = module index):

    - **Head** = the module with the highest index (``/model.23/`` in yolo11n-pose). Its convolution branches
      ``cv2`` (box distribution), ``cv3`` (class) and ``cv4`` (keypoints) are quantized, except each branch's
      final convolution (``/cvK.S/cvK.S.2/``); every other head node (DFL, anchor decode, sigmoid, concat) stays
      float. Without this the decoded pixel coordinates (0-640) and the confidences (0-1) end up in one
      quantized tensor whose uint8 step (~2.5) wipes out every confidence: no person is detected at all.
    - **Attention Adds**: every ``Add`` node of a module that contains an ``/attn/`` node (the C2PSA block,
      ``/model.10/`` in yolo11n-pose). ONNX Runtime's fused ``QLinearAdd`` fails there on portrait inputs with
      "Attempting to broadcast an axis by a dimension other than 1" (ONNX Runtime 1.31).

    For yolo11n-pose this gives the same set as the measured prototype (head 23, attention module 10).

    Args:
        model: ``onnx.ModelProto``.

    Returns:
        Node names, in graph order.

    Raises:
        ModelError: the graph has no ``/model.N/`` node names (not an ultralytics export).
    """
    nodes = list(model.graph.node)
    indices = {int(m.group(1)) for n in nodes if (m := _INDEX.match(n.name))}
    if not indices:
        raise ModelError("the ONNX model is not an ultralytics YOLO export (no '/model.N/' node names)")
    head = f"/model.{max(indices)}/"
    branch = re.compile(re.escape(head) + r"(cv[234])\.(\d+)/")
    final = re.compile(re.escape(head) + r"(cv[234])\.(\d+)/\1\.\2\.2/")
    attn = {m.group(1) for n in nodes if "/attn/" in n.name and (m := _INDEX.match(n.name))}
    out = []
    for n in nodes:
        if n.name.startswith(head):
            if not branch.match(n.name) or final.match(n.name):
                out.append(n.name)
        elif n.op_type == "Add" and (m := _INDEX.match(n.name)) and m.group(1) in attn:
            out.append(n.name)
    return out


def _ort_quiet():
    logging.getLogger("onnxruntime").setLevel(logging.ERROR)


def _preprocess(onnx_path: Path, out: Path) -> None:
    from onnxruntime.quantization.shape_inference import quant_pre_process

    try:
        quant_pre_process(str(onnx_path), str(out), skip_symbolic_shape=True)
    except Exception as e:
        raise ModelError(f"cannot prepare {onnx_path.name} for INT8: {one_line(e, 200)}") from None


def _tensors_to_quantize(model, excluded: list[str]) -> set[str]:
    """Float activation tensors (inputs/outputs of quantizable nodes not in ``excluded``) that need a range,
    the way ONNX Runtime's calibrator selects them (``CalibraterBase.select_tensors_to_calibrate``)."""
    import onnx
    from onnxruntime.quantization.registry import QDQRegistry, QLinearOpsRegistry

    ops = set(QDQRegistry) | set(QLinearOpsRegistry)
    vi = {v.name: v for v in model.graph.value_info}
    vi.update({v.name: v for v in model.graph.output})
    vi.update({v.name: v for v in model.graph.input})
    init = {i.name for i in model.graph.initializer}
    skip = set(excluded)
    need = set()
    for n in model.graph.node:
        if n.op_type in ops and n.name not in skip:
            for t in list(n.input) + list(n.output):
                v = vi.get(t)
                if v is not None and t not in init and v.type.HasField("tensor_type") \
                        and v.type.tensor_type.elem_type in (onnx.TensorProto.FLOAT, onnx.TensorProto.FLOAT16):
                    need.add(t)
    return need


def read_table(path: str | os.PathLike) -> dict:
    """Read and check a calibration table written by :func:`calibrate`.

    Returns:
        The JSON object (ONNX Runtime's ``TensorsData`` fields plus ``"posewatch"`` metadata).

    Raises:
        ModelError: missing file, not JSON, or not a PoseWatch INT8 calibration table.
    """
    p = Path(path)
    try:
        table = json.loads(p.read_text())
    except FileNotFoundError:
        raise ModelError(f"INT8 calibration table not found: {p}") from None
    except (OSError, ValueError) as e:
        raise ModelError(f"INT8 calibration table {p} is unreadable or corrupt: {one_line(e, 200)}") from None
    meta = table.get("posewatch") if isinstance(table, dict) else None
    if not isinstance(meta, dict) or not isinstance(table.get("data"), dict) or "calibration_method" not in table \
            or not isinstance(meta.get("model_sha256"), str):
        raise ModelError(f"{p} is not a PoseWatch INT8 calibration table (make one with: python main.py calibrate-int8)")
    for k, v in table["data"].items():
        try:
            lo, hi = float(v["lowest"]["data"][0]), float(v["highest"]["data"][0])
        except (KeyError, TypeError, IndexError, ValueError):
            raise ModelError(f"INT8 calibration table {p} is corrupt: bad range for tensor {k}") from None
        if not (np.isfinite(lo) and np.isfinite(hi) and lo <= hi):
            raise ModelError(f"INT8 calibration table {p} is corrupt: bad range [{lo}, {hi}] for tensor {k}")
    return table


def _quantize(pre: Path, out: Path, ranges_json: Path, excluded: list[str], reader=None,
              reduce_range: bool = False) -> None:
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static

    quantize_static(str(pre), str(out), reader, quant_format=QuantFormat.QDQ, activation_type=QuantType.QUInt8,
                    weight_type=QuantType.QInt8, per_channel=True, reduce_range=reduce_range,
                    nodes_to_exclude=excluded, calibrate_method=CalibrationMethod.MinMax,
                    calibration_cache_path=str(ranges_json), extra_options={"CalibMovingAverage": True})


#: ONNX Runtime's session option for exact U8U8 kernels on x86 (``kOrtSessionOptionsAvx2PrecisionMode``).
EXACT_KERNELS_OPTION = "session.x64quantprecision"


def _probe_model(channels: int):
    """One QDQ 1x1 convolution, ``channels`` uint8 inputs of 255 times int8 weights of 127 (scales 1), its output
    quantized with a scale that maps the exact sum to 250."""
    from onnx import TensorProto, helper, numpy_helper

    exact = channels * 255 * 127
    init = [numpy_helper.from_array(np.array(1.0, np.float32), "one"),
            numpy_helper.from_array(np.array(0, np.uint8), "zero"),
            numpy_helper.from_array(np.full((1, channels, 1, 1), 127, np.int8), "w"),
            numpy_helper.from_array(np.array([1.0], np.float32), "w_scale"),
            numpy_helper.from_array(np.array([0], np.int8), "w_zero"),
            numpy_helper.from_array(np.array(exact / 250, np.float32), "y_scale")]
    nodes = [helper.make_node("QuantizeLinear", ["x", "one", "zero"], ["xq"]),
             helper.make_node("DequantizeLinear", ["xq", "one", "zero"], ["xd"]),
             helper.make_node("DequantizeLinear", ["w", "w_scale", "w_zero"], ["wd"]),
             helper.make_node("Conv", ["xd", "wd"], ["conv"]),
             helper.make_node("QuantizeLinear", ["conv", "y_scale", "zero"], ["yq"]),
             helper.make_node("DequantizeLinear", ["yq", "y_scale", "zero"], ["y"])]
    graph = helper.make_graph(nodes, "u8s8_probe", [helper.make_tensor_value_info("x", TensorProto.FLOAT,
                                                                                   [1, channels, 1, 1])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 1, 1, 1])], init)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    return model, exact


def u8s8_product_ratio(channels: int = 64, exact_kernels: bool = False) -> float:
    """What ONNX Runtime's CPU kernels make of a sum of ``channels`` products 255 · 127 (uint8 activation times
    int8 weight), as a fraction of the exact sum: 1.0 where the sums are exact (VNNI, ARM), about 0.5 where pairs of
    products saturate at 32,767 (x86 SSE4.1/AVX2/AVX-512 without VNNI).

    Args:
        channels: input channels of the probe's 1x1 convolution (3: ONNX Runtime's im2col path; a multiple of 4:
            its direct symmetric-convolution kernels).
        exact_kernels: set ONNX Runtime's ``session.x64quantprecision`` (U8U8 kernels, exact on every CPU).

    Returns:
        float in (0, 1]; the probe's output is quantized to 1/250 of the exact sum.
    """
    import onnxruntime as ort

    model, exact = _probe_model(channels)
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    if exact_kernels:
        so.add_session_config_entry(EXACT_KERNELS_OPTION, "1")
    session = ort.InferenceSession(model.SerializeToString(), so, providers=["CPUExecutionProvider"])
    y = session.run(None, {"x": np.full((1, channels, 1, 1), 255, np.float32)})[0]
    return float(y.ravel()[0]) / exact


@functools.cache
def u8s8_saturates() -> bool:
    """Whether this CPU's ONNX Runtime kernels saturate uint8 x int8 products (see the module's docstring):
    :func:`u8s8_product_ratio` below 0.95 for the im2col (3 channels) or the direct (64 channels) convolution.
    Computed once per process (a few milliseconds)."""
    return min(u8s8_product_ratio(3), u8s8_product_ratio(64)) < 0.95


def exact_kernels(so) -> bool:
    """Set :data:`EXACT_KERNELS_OPTION` on the ``onnxruntime.SessionOptions`` ``so`` where :func:`u8s8_saturates`
    (the INT8 model then computes what it computes on a VNNI CPU); elsewhere leave it unset: ONNX Runtime would
    switch VNNI CPUs to its slower U8U8 kernels too. Returns whether it was set."""
    if not u8s8_saturates():
        return False
    so.add_session_config_entry(EXACT_KERNELS_OPTION, "1")
    return True


def _pt_and_onnx(model: str | os.PathLike) -> tuple[Path, Path]:
    from .yolo import export_onnx

    pt = resolve_model(model)
    if pt.suffix != ".pt":
        raise ModelError(f"INT8 needs a YOLO-pose .pt checkpoint (it is exported and quantized here), not {pt.name}")
    return pt, export_onnx(pt)


def int8_model(model: str | os.PathLike = "yolo11n-pose.pt", calibration: str | os.PathLike | None = None,
               reduce_range: bool = False) -> Path:
    """The INT8 (QDQ) ONNX model of a YOLO-pose checkpoint, built once and cached.

    The checkpoint is resolved (:func:`core.modelfiles.resolve_model`), exported to ONNX
    (:func:`core.pose.yolo.export_onnx`), pre-processed and statically quantized with the ranges of the calibration
    table, the nodes of :func:`float_nodes` kept float, the weights in 8 bits (7 with ``reduce_range``). The result
    is cached as
    ``<cache>/int8/<pt sha>-<table sha>-ort<version>[-w7]/<stem>.int8.onnx`` (written to a temporary name, then
    renamed). The model has the float export's interface: input ``images`` (1, 3, H, W) float32 RGB in [0, 1]
    (H, W multiples of 32), output (1, 5 + 3 V, N) float32 (cx, cy, w, h in input pixels, person score [0, 1],
    then x, y, visibility of V keypoints).

    Args:
        model: YOLO-pose ``.pt`` file name or path.
        calibration: calibration table (JSON from :func:`calibrate` / ``python main.py calibrate-int8``);
            default (:func:`default_table`): ``<stem>.int8.json`` next to the checkpoint, else the table shipped
            for the model's file name (only ``yolo11n-pose.pt`` has one).
        reduce_range: weights in 7 bits instead of 8 (ONNX Runtime's other remedy for saturating CPUs; not the
            live path's, see the module's docstring: measured in ``bench/int8_pose.py``).

    Returns:
        Path of the cached INT8 ``.onnx`` file.

    Raises:
        ModelError: missing/corrupt checkpoint or failed export; no table for the model; an unreadable table;
            a table made for another checkpoint (SHA-256 differs) or lacking ranges for tensors to quantize;
            ONNX Runtime failed to quantize.
    """
    import onnx
    import onnxruntime as ort

    from ..config import cache_root

    pt = resolve_model(model)
    if pt.suffix != ".pt":
        raise ModelError(f"INT8 needs a YOLO-pose .pt checkpoint (it is exported and quantized here), not {pt.name}")
    how = (f"make one with `python main.py calibrate-int8 VIDEO... --pose-model {pt} "
           f"--out {pt.with_name(pt.stem + '.int8.json')}` (a table there is used automatically)")
    table_path = Path(calibration) if calibration is not None else default_table(pt)
    if table_path is None:
        raise ModelError(f"no INT8 calibration table for {pt.name}: {how}")
    table = read_table(table_path)
    pt_sha = sha256_file(pt)
    meta = table["posewatch"]
    if meta["model_sha256"] != pt_sha:
        raise ModelError(f"INT8 calibration table {table_path.name} was made for {meta.get('model', '?')} "
                         f"(SHA-256 {meta['model_sha256'][:12]}…), not {pt.name} ({pt_sha[:12]}…): {how}")
    key = f"{pt_sha[:16]}-{sha256_file(table_path)[:16]}-ort{ort.__version__}" + ("-w7" if reduce_range else "")
    out_dir = cache_root() / "int8" / key
    out = out_dir / f"{pt.stem}.int8.onnx"
    if out.is_file() and out.stat().st_size > 0:
        return out
    _, src = _pt_and_onnx(pt)
    out_dir.mkdir(parents=True, exist_ok=True)
    _ort_quiet()
    with tempfile.TemporaryDirectory(prefix="int8-", dir=out_dir) as tmp:
        tmp = Path(tmp)
        pre = tmp / "pre.onnx"
        _preprocess(src, pre)
        m = onnx.load(str(pre))
        excluded = float_nodes(m)
        need = _tensors_to_quantize(m, excluded)
        missing = sorted(need - set(table["data"]))
        if missing:
            raise ModelError(f"INT8 calibration table {table_path.name} does not fit {pt.name}: no ranges for "
                             f"{len(missing)} of {len(need)} tensors to quantize (e.g. {missing[0]}); {how}")
        ranges = tmp / "ranges.json"  # quantize_static rewrites this file: give it a copy without our metadata
        ranges.write_text(json.dumps(_ort_part(table)))
        with atomic_path(out) as made:
            try:
                _quantize(pre, made, ranges, excluded, reduce_range=reduce_range)
            except Exception as e:
                raise ModelError(f"ONNX Runtime cannot quantize {pt.name} to INT8: {one_line(e, 200)}") from None
    return out


class _Frames:
    """ONNX Runtime ``CalibrationDataReader`` over prepared input blobs; reports each blob handed out."""

    def __init__(self, blobs: list[np.ndarray], report: Callable[[int], None]):
        self.blobs, self.report, self.i = blobs, report, 0

    def get_next(self):
        if self.i >= len(self.blobs):
            return None
        b = self.blobs[self.i]
        self.i += 1
        self.report(self.i)
        return {"images": b}

    def rewind(self):
        self.i = 0


def calibration_frames(video: str | os.PathLike, frames_per_video: int = 12, every: int = 7,
                       width: int | None = 640) -> list[np.ndarray]:
    """Frames ``0, every, 2 every, ...`` (at most ``frames_per_video``) of a video, downscaled to ``width`` pixels
    (:func:`core.video.resize_to_width`, as the extraction does): list of ``(H, W, 3)`` uint8 BGR.

    Raises:
        VideoError: the video cannot be opened or decoded.
    """
    from ..video import open_source, resize_to_width

    with open_source(video) as src:
        stop = frames_per_video * every
        return [resize_to_width(f.image, width)[0] for f in src.frames(0, stop, every)]


def calibrate(model: str | os.PathLike, videos: list[str | os.PathLike], out_json: str | os.PathLike,
              frames_per_video: int = 12, every: int = 7, width: int | None = 640, imgsz: int = 640,
              progress: ProgressFn | None = None) -> Path:
    """Make an INT8 calibration table for a YOLO-pose checkpoint from frames of real clips.

    Each video gives frames ``0, every, 2 every, ...`` (at most ``frames_per_video``), downscaled to ``width``
    pixels and letterboxed at their natural shape (longest side ``imgsz``, padded to a multiple of 32 with grey
    114, RGB, /255: exactly what :class:`core.pose.yolo_onnx.OnnxPoseEstimator` feeds the model). ONNX Runtime's
    MinMax calibrator (moving average) records the range of every activation; the table is its calibration-cache
    JSON plus a ``"posewatch"`` key: ``format``, ``model`` (file name), ``model_sha256`` (of the ``.pt``),
    ``clips`` (``folder/name`` of each video), ``frames``, ``frames_per_video``, ``every``, ``width``, ``imgsz``,
    ``ort`` (version), ``date`` (UTC ISO 8601). Only activation ranges are stored, no images or weights.

    Args:
        model: YOLO-pose ``.pt`` name or path.
        videos: video files (people in scenes like the ones to be watched; ~10 clips of different scenes).
        out_json: table path (written to a temporary name, then renamed).
        frames_per_video, every: frames taken per video and their spacing (frames).
        width: downscale width in pixels (None: full size).
        imgsz: inference size (pixels, longest side).
        progress: ``(done, total, message)`` callback; None: a tqdm bar on stderr.

    Returns:
        ``out_json`` as a Path.

    Raises:
        ModelError: missing/corrupt checkpoint, failed export, no frames, or ONNX Runtime failed.
        VideoError: a video cannot be read.
    """
    import onnx
    import onnxruntime as ort

    from .letterbox import letterbox_blob

    pt, src = _pt_and_onnx(model)
    out_json = Path(out_json)
    bar = None
    if progress is None:
        from tqdm import tqdm

        bar = tqdm(total=len(videos) * frames_per_video, desc="reading frames", unit="frame")

        phase = ["reading frames"]

        def progress(done, total, message):
            if message != phase[0]:
                phase[0] = message
                bar.set_description(message)
                bar.reset(total)
            bar.n = done
            bar.refresh()
    try:
        blobs = []
        total = len(videos) * frames_per_video
        for v in videos:
            for f in calibration_frames(v, frames_per_video, every, width):
                blobs.append(letterbox_blob(f, imgsz)[0])
            progress(len(blobs), total, "reading frames")
        if not blobs:
            raise ModelError("no frames to calibrate on: the videos are empty")
        _ort_quiet()
        out_json.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix="calib-") as tmp:
            tmp = Path(tmp)
            pre = tmp / "pre.onnx"
            _preprocess(src, pre)
            excluded = float_nodes(onnx.load(str(pre)))
            ranges = tmp / "ranges.json"
            reader = _Frames(blobs, lambda i: progress(i, len(blobs), "calibrating"))
            try:  # quantize_static calibrates, writes the ranges, then quantizes (a by-product we drop)
                _quantize(pre, tmp / "int8.onnx", ranges, excluded, reader)
            except Exception as e:
                raise ModelError(f"ONNX Runtime cannot calibrate {pt.name}: {one_line(e, 200)}") from None
            table = json.loads(ranges.read_text())
        table["posewatch"] = {
            "format": TABLE_FORMAT, "model": pt.name, "model_sha256": sha256_file(pt),
            "clips": [f"{Path(v).parent.name}/{Path(v).name}" for v in videos], "frames": len(blobs),
            "frames_per_video": frames_per_video, "every": every, "width": width, "imgsz": imgsz,
            "method": "MinMax, moving average", "ort": ort.__version__,
            "date": datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0).isoformat(),
        }
        write_json(out_json, table)
        return out_json
    finally:
        if bar is not None:
            bar.close()


def _iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of one xyxy box ``a`` (4,) with boxes ``b`` (M, 4): (M,) float."""
    iw = np.clip(np.minimum(a[2], b[:, 2]) - np.maximum(a[0], b[:, 0]), 0, None)
    ih = np.clip(np.minimum(a[3], b[:, 3]) - np.maximum(a[1], b[:, 1]), 0, None)
    inter = iw * ih
    area = lambda x: (x[..., 2] - x[..., 0]) * (x[..., 3] - x[..., 1])  # noqa: E731
    return inter / (area(a) + area(b) - inter + 1e-9)


def agreement(ref: list[tuple], test: list[tuple], iou: float = 0.5, strong: float = 0.5) -> dict:
    """How well detections ``test`` reproduce detections ``ref`` (e.g. INT8 vs the float model), frame by frame.

    Each list item is one frame's ``(boxes (N, 4) xyxy px, scores (N,) [0, 1], keypoints (N, V, 3) x, y px +
    visibility)`` as returned by :meth:`core.pose.yolo_onnx.OnnxPoseEstimator.detect`. A reference person is matched
    greedily (in the reference order, highest score first after NMS) to the unused test person of highest IoU
    above ``iou``.

    Returns:
        ``recall`` (matched / reference persons), ``precision`` (matched / test persons), ``recall_conf50``
        (matched share of reference persons with score >= ``strong``), ``kpt_err_pct_median`` / ``_p95``
        (distance between matched keypoints the reference sees with visibility > 0.5, in % of the reference box
        diagonal; NaN when none), ``persons_ref``, ``persons_test``.
    """
    nref = ntest = match = nstrong = mstrong = 0
    errs = []
    for (rb, rs, rk), (tb, ts, tk) in zip(ref, test):
        nref += len(rb)
        ntest += len(tb)
        used = np.zeros(len(tb), bool)
        for i in range(len(rb)):
            nstrong += int(rs[i] >= strong)
            if not len(tb):
                continue
            ious = np.where(used, 0.0, _iou(rb[i], tb))
            j = int(np.argmax(ious))
            if ious[j] <= iou:
                continue
            used[j] = True
            match += 1
            mstrong += int(rs[i] >= strong)
            vis = rk[i, :, 2] > 0.5
            diag = float(np.hypot(rb[i, 2] - rb[i, 0], rb[i, 3] - rb[i, 1]))
            errs.extend((np.hypot(*(rk[i, vis, :2] - tk[j, vis, :2]).T) / max(diag, 1e-6) * 100).tolist())
    med = round(float(np.median(errs)), 2) if errs else float("nan")
    p95 = round(float(np.percentile(errs, 95)), 2) if errs else float("nan")
    return {"recall": round(match / max(nref, 1), 3), "precision": round(match / max(ntest, 1), 3),
            "recall_conf50": round(mstrong / max(nstrong, 1), 3), "kpt_err_pct_median": med, "kpt_err_pct_p95": p95,
            "persons_ref": nref, "persons_test": ntest}

"""Pretrained video backbones: torchvision's Kinetics-400 ``r2plus1d_18`` weights as a PoseWatch model file.

The file (``r2plus1d_18-91a641e6.pth``, 120 MB, the ``R2Plus1D_18_Weights.KINETICS400_V1`` state dict) is found
and fetched like the pose models (:func:`core.modelfiles.resolve_model`): ``POSEWATCH_MODEL_DIR`` first, then the
per-user cache; otherwise downloaded from torchvision's URL with a progress bar into the cache, to a temporary
name, checked against the SHA-256 prefix torchvision publishes (``91a641e6``, the check ``torch.hub`` makes) and
renamed into place. ``POSEWATCH_OFFLINE=1`` forbids the download with a one-line error.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import ModelError, one_line
from ..modelfiles import ProgressFn, resolve_model

#: Model-file name of the Kinetics-400 weights of ``r2plus1d_18`` (:data:`core.modelfiles.KNOWN_MODELS`).
KINETICS_R2PLUS1D_18 = "r2plus1d_18-91a641e6.pth"
#: Pretrained weights by name (``--pretrained kinetics400``): the model file and the arch it fits.
PRETRAINED = {"kinetics400": (KINETICS_R2PLUS1D_18, "r2plus1d_18")}


def pretrained_state_dict(name: str = "kinetics400", progress: ProgressFn | None = None,
                          allow_download: bool | None = None) -> tuple[dict, Path]:
    """The state dict of pretrained backbone weights (downloaded on first use, see the module docstring).

    Args:
        name: a key of :data:`PRETRAINED`, or a path to a ``.pth`` state dict of ``r2plus1d_18``.
        progress: download progress callback ``(bytes_done, bytes_total)`` (None: a tqdm bar).
        allow_download: None: unless ``POSEWATCH_OFFLINE=1``.

    Returns:
        ``(state_dict, path)``.

    Raises:
        ModelError: unknown name, not found and not downloadable (offline), failed checksum, unreadable file.
    """
    import warnings

    import torch

    file = PRETRAINED[name][0] if name in PRETRAINED else name
    if name not in PRETRAINED and not str(name).endswith((".pth", ".pt")):
        raise ModelError(f"unknown pretrained weights '{name}'; known: {', '.join(PRETRAINED)} (or a .pth file)")
    path = resolve_model(file, progress=progress, allow_download=allow_download)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            sd = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:
        raise ModelError(f"{path} is not a PyTorch state dict: {one_line(e, 120)}") from None
    if not isinstance(sd, dict) or not any(str(k).startswith("stem.") for k in sd):
        raise ModelError(f"{path} is not an r2plus1d_18 state dict (no 'stem.*' weights)")
    return sd, path

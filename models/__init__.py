"""Skeleton classifier architectures and their registry.

Every skeleton model takes ``(N, C, T, V)`` float32 input (C channels per joint, T frames, V joints) and
returns ``(N, num_classes)`` logits; the scene models ``scene_mlp`` and ``scene_forest`` take ``(N, F)`` scene-feature vectors
(:mod:`core.scene`); the video models (:data:`VIDEO_MODELS`) take RGB clips ``(N, 3, T, H, W)`` float32 in
[0, 1]: ``r2plus1d`` (:mod:`models.r2plus1d`) and ``fusion`` (:mod:`models.fusion`, RGB clips plus a skeleton
stream's input). Build them by name from a small config dict with :func:`build_model`. This package imports
only torch (and torchvision's video building blocks, part of PyTorch): a model that works on the skeleton graph
(its class has ``takes_graph = True``: ST-GCN) gets the graph in its config (``edges``, ``centre``), which
:func:`core.classify.build_classifier` supplies from :mod:`core.layouts` (also for a fusion model's skeleton
stream, its ``skeleton`` config).

Adding a classifier: write the ``nn.Module`` here (constructor ``(num_classes, in_channels, num_joints,
**options)``, forward ``(N, C, T, V) → (N, K)``), add it to :data:`MODELS` (and :data:`SKELETON_MODELS` for a
per-track model) and its small default options to :data:`DEFAULT_CONFIGS`; training (``--model NAME``),
checkpoints and the GUI's model list pick it up.
"""

from __future__ import annotations

from typing import Callable

import torch.nn as nn

from .fusion import FusionClassifier
from .lstm import SeedLSTM
from .r2plus1d import R2Plus1D
from .scene_forest import SceneForest
from .scene_mlp import SceneMLP
from .stgcn import STGCN
from .transformer import FrameTransformer

#: Model classes by registry name. Each is built as ``cls(num_classes, in_channels, num_joints=13, **config)``.
MODELS: dict[str, Callable[..., nn.Module]] = {"lstm": SeedLSTM, "transformer": FrameTransformer, "stgcn": STGCN,
                                              "scene_mlp": SceneMLP, "scene_forest": SceneForest,
                                              "r2plus1d": R2Plus1D, "fusion": FusionClassifier}

#: The models of skeleton windows ``(N, C, T, V)`` (the per-track classifiers the trainer builds).
SKELETON_MODELS: tuple[str, ...] = ("lstm", "transformer", "stgcn")
#: The models of RGB clips ``(N, 3, T, H, W)`` (``fusion`` also takes a skeleton stream's input).
VIDEO_MODELS: tuple[str, ...] = ("r2plus1d", "fusion")

#: The default ("small") config of each model: keyword arguments besides num_classes/in_channels/num_joints.
DEFAULT_CONFIGS: dict[str, dict] = {
    # the seed (yololstm) recipe: 4 stacked LSTM layers of 64 units
    "lstm": {"hidden": 64, "layers": 4, "dropout": 0.0},
    "transformer": {"d_model": 64, "heads": 4, "layers": 2, "ff": 128, "dropout": 0.1, "max_len": 256,
                    "positional": "learned", "pool": "mean"},
    "stgcn": {"channels": [64, 64, 128], "strides": None, "extra_64": False, "temporal_kernel": 9,
              "dropout": 0.0, "partition": "spatial", "edge_importance": True},
    # scene models (core.fight): input (N, F) scene features, not skeleton windows
    "scene_mlp": {"hidden": 64, "layers": 2, "dropout": 0.2, "members": 3},
    # its sizes come from the fitted forest (models.scene_forest.SceneForest.from_sklearn)
    "scene_forest": {"trees": 1, "nodes": 1, "depth": 1},
    # video models: the small from-scratch R(2+1)D (models.r2plus1d); "r2plus1d_18" is torchvision's
    "r2plus1d": {"arch": "small", "widths": [16, 32, 64, 128], "blocks": [1, 1, 1, 1], "pool": True, "dropout": 0.2},
    "fusion": {"skeleton_model": "stgcn", "hidden": 64, "dropout": 0.3, "modality_dropout": 0.2},
}


def build_model(name: str, config: dict) -> nn.Module:
    """Instantiate model ``name`` with keyword arguments ``config``.

    ``config`` must hold ``num_classes`` (and usually ``in_channels``; ``num_joints`` defaults to 13) plus
    any of the model's own options; options left out take the class defaults, which equal
    :data:`DEFAULT_CONFIGS` ``[name]``. Example: ``build_model("lstm", {"num_classes": 4, "in_channels": 5})``;
    a model with :func:`takes_graph` also needs ``edges`` and ``centre`` (see :mod:`models.stgcn`).

    Raises:
        KeyError: unknown model name (message lists the known ones).
    """
    try:
        cls = MODELS[name]
    except KeyError:
        raise KeyError(f"unknown model '{name}'; known: {', '.join(MODELS)}") from None
    return cls(**config)


def takes_graph(name: str) -> bool:
    """True when model ``name`` needs the skeleton graph (``edges``, ``centre``) in its config.

    Raises:
        KeyError: unknown model name.
    """
    try:
        return bool(getattr(MODELS[name], "takes_graph", False))
    except KeyError:
        raise KeyError(f"unknown model '{name}'; known: {', '.join(MODELS)}") from None

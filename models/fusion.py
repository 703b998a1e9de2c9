"""Late fusion of a skeleton stream and an RGB stream.

Each stream is a complete PoseWatch classifier without its last linear layer: the RGB stream an
:class:`models.r2plus1d.R2Plus1D` (its pooled features), the skeleton stream one of the skeleton models
(``stgcn``, ``lstm``, ``transformer`` on ``(N, C, T, V)`` windows of one person, or ``scene_mlp`` on ``(N, F)``
scene vectors of the whole scene, :mod:`core.scene`) with its head replaced by the identity. The two embeddings
are layer-normalised, concatenated and classified by a small head (linear → ReLU → dropout → linear): late
fusion of two-stream embeddings as in Simonyan and Zisserman, "Two-Stream Convolutional Networks for Action
Recognition in Videos" (NeurIPS 2014), here with a learned fusion head instead of score averaging, as in
Feichtenhofer, Pinz and Zisserman, "Convolutional Two-Stream Network Fusion for Video Action Recognition"
(CVPR 2016). Both streams and the head train together on the same windows.

``modality_dropout`` (training only) replaces one stream's embedding by zeros for that share of the samples
(chosen at random, never both), so the head cannot lean on one stream alone (as in ModDrop, Neverova et al.,
TPAMI 2016).
"""

from __future__ import annotations

import torch
import torch.nn as nn

from .lstm import SeedLSTM
from .r2plus1d import R2Plus1D
from .scene_mlp import SceneMLP
from .stgcn import STGCN
from .transformer import FrameTransformer

#: Skeleton models a fusion can use as its skeleton stream, by their registry names (:data:`models.MODELS`; the
#: classes are imported here rather than through the registry, which imports this module).
STREAM_CLASSES: dict[str, type[nn.Module]] = {"stgcn": STGCN, "lstm": SeedLSTM, "transformer": FrameTransformer,
                                              "scene_mlp": SceneMLP}
SKELETON_STREAMS = tuple(STREAM_CLASSES)


class _SceneEmbed(nn.Module):
    """A :class:`models.scene_mlp.SceneMLP` whose members end at their last hidden layer (mean over members)."""

    def __init__(self, mlp: nn.Module):
        super().__init__()
        for m in mlp.members:
            m[-1] = nn.Identity()
        self.mlp = mlp

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.mlp(x)


def skeleton_embedder(name: str, config: dict) -> tuple[nn.Module, int]:
    """A skeleton model of the registry without its classification head.

    Args:
        name: one of :data:`SKELETON_STREAMS`.
        config: its keyword arguments (``num_classes`` is set here to a placeholder and not used; ``stgcn`` needs the
            skeleton graph, ``edges`` and ``centre``, which :func:`core.classify.with_graph` fills in).

    Returns:
        ``(module, D)``: the module maps the model's usual input to ``(N, D)`` features.

    Raises:
        ValueError: a model that is not a skeleton stream.
    """
    if name not in STREAM_CLASSES:
        raise ValueError(f"{name!r} cannot be a fusion's skeleton stream; choose one of {', '.join(SKELETON_STREAMS)}")
    model = STREAM_CLASSES[name](**{**config, "num_classes": 2})
    if name == "scene_mlp":
        dim = model.members[0][-1].in_features
        return _SceneEmbed(model), dim
    dim = model.head.in_features
    model.head = nn.Identity()
    return model, dim


class FusionClassifier(nn.Module):
    """Skeleton + RGB late-fusion classifier (see the module docstring).

    Args:
        num_classes: output classes.
        in_channels, num_joints: ignored (registry signature; the streams have their own configs).
        rgb: keyword arguments of :class:`models.r2plus1d.R2Plus1D` (``num_classes`` not needed).
        skeleton_model: the skeleton stream, one of :data:`SKELETON_STREAMS`.
        skeleton: its keyword arguments (``in_channels``, ``num_joints`` and its own options; for ``stgcn`` the
            skeleton graph ``edges`` and ``centre``, filled in by :func:`core.classify.build_classifier`).
        hidden: width of the fusion head's hidden layer.
        dropout: dropout in the fusion head.
        modality_dropout: share of training samples that lose one stream's embedding (0 = off).

    ``forward(rgb, skeleton)``: ``rgb (N, 3, T, H, W)`` float32 in [0, 1] and the skeleton stream's input
    (``(N, C, T', V)`` windows or ``(N, F)`` scene vectors) → ``(N, num_classes)`` logits. :meth:`embed` gives the
    ``(N, hidden)`` features of the head's hidden layer.
    """

    def __init__(self, num_classes: int, in_channels: int = 3, num_joints: int = 0, rgb: dict | None = None,
                 skeleton_model: str = "stgcn", skeleton: dict | None = None, hidden: int = 64,
                 dropout: float = 0.3, modality_dropout: float = 0.0):
        super().__init__()
        rgb = {k: v for k, v in (rgb or {}).items() if k != "num_classes"}
        self.rgb = R2Plus1D(num_classes=2, **rgb)
        self.rgb.head = nn.Identity()
        self.rgb_dim = self.rgb.embed_dim
        self.skeleton_model = skeleton_model
        self.skeleton, self.skeleton_dim = skeleton_embedder(skeleton_model, dict(skeleton or {}))
        self.norm_rgb = nn.LayerNorm(self.rgb_dim)
        self.norm_skel = nn.LayerNorm(self.skeleton_dim)
        self.modality_dropout = float(modality_dropout)
        self.fuse = nn.Sequential(nn.Linear(self.rgb_dim + self.skeleton_dim, hidden), nn.ReLU(inplace=True),
                                  nn.Dropout(dropout))
        self.embed_dim = hidden
        self.head = nn.Linear(hidden, num_classes)

    def streams(self, rgb: torch.Tensor, skeleton: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The two normalised stream embeddings ``(N, D_rgb)`` and ``(N, D_skeleton)``."""
        a = self.norm_rgb(self.rgb.embed(rgb))
        b = self.norm_skel(self.skeleton(skeleton))
        if self.training and self.modality_dropout > 0:
            n = a.shape[0]
            drop = torch.rand(n, device=a.device) < self.modality_dropout
            which = torch.rand(n, device=a.device) < 0.5
            a = a * (~(drop & which)).float().unsqueeze(1)
            b = b * (~(drop & ~which)).float().unsqueeze(1)
        return a, b

    def embed(self, rgb: torch.Tensor, skeleton: torch.Tensor) -> torch.Tensor:
        """``(N, hidden)`` fused features (the input of the last linear layer)."""
        a, b = self.streams(rgb, skeleton)
        return self.fuse(torch.cat([a, b], dim=1))

    def forward(self, rgb: torch.Tensor, skeleton: torch.Tensor) -> torch.Tensor:
        """``(N, num_classes)`` logits of an RGB clip batch and the matching skeleton-stream inputs."""
        return self.head(self.embed(rgb, skeleton))

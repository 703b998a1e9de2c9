"""R(2+1)D clip classifier over RGB video windows.

Tran, Wang, Torresani, Ray, LeCun and Paluri, "A Closer Look at Spatiotemporal Convolutions for Action
Recognition", CVPR 2018 (arXiv:1711.11248): every 3D convolution ``t x k x k`` is factorised into a 2D spatial
convolution ``1 x k x k`` followed by a 1D temporal convolution ``t x 1 x 1``, with batch norm and ReLU between
them (twice the non-linearities of a 3D convolution at the same parameter count; the number of intermediate
channels ``M = t k^2 N_in N_out / (k^2 N_in + t N_out)`` keeps the parameters of the full 3D kernel).

Two configurations (``arch``):

- ``"r2plus1d_18"``: torchvision's ``r2plus1d_18`` (:class:`torchvision.models.video.VideoResNet`: the R(2+1)D
  stem, 4 stages of 2 basic blocks, 64-128-256-512 channels, 31.3 M parameters), its Kinetics-400 classifier
  replaced by a linear head over the 512-d pooled features. Its Kinetics-400 weights
  (``R2Plus1D_18_Weights.KINETICS400_V1``, clips of 16 frames at 112 x 112) are loaded with
  :meth:`R2Plus1D.load_backbone` from a state dict (PoseWatch fetches the file through
  :mod:`core.modelfiles`; this module does no I/O).
- ``"small"`` (default): the same building blocks (torchvision's ``Conv2Plus1D`` and ``BasicBlock``) in a model
  for CPUs and small data, trained from scratch: an R(2+1)D stem of ``widths[0]`` channels with spatial stride
  2, a 1 x 3 x 3 max-pool (spatial stride 2, as the ResNet stem's), then 4 stages of ``blocks[i]`` basic blocks
  (default one each: 4 blocks, each two (2+1)D convolutions with batch norm and ReLU), ``widths`` 16-32-64-128,
  stride 2 in space and time from the second stage on; global average pooling, dropout, a linear head
  (0.79 M parameters). This is the shape of the issue's reference project (an R(2+1)D network of 4 blocks, each
  with batch norm and ReLU, trained on short clips for fall / no fall).

Input ``(N, 3, T, H, W)`` float32 RGB in [0, 1] (channel order R, G, B); the model normalises it with the
Kinetics-400 mean and standard deviation (buffers ``mean``/``std``, torchvision's video presets), so pretrained
and from-scratch models take the same input. Any T >= 1 and H, W >= 16 work (adaptive pooling); the training
recipe fixes them (:mod:`core.rgb`). Output ``(N, num_classes)`` logits.
"""

from __future__ import annotations

import torch
import torch.nn as nn

#: Kinetics-400 normalisation of torchvision's video presets (R, G, B).
KINETICS_MEAN = (0.43216, 0.394666, 0.37645)
KINETICS_STD = (0.22803, 0.22145, 0.216989)
ARCHS = ("small", "r2plus1d_18")


def _midplanes(inplanes: int, planes: int, t: int = 3, k: int = 3) -> int:
    """Intermediate channels of a (2+1)D convolution with the parameter count of a ``t x k x k`` 3D one
    (Tran et al. 2018, Sec. 3.5)."""
    return max(1, (t * k * k * inplanes * planes) // (k * k * inplanes + t * planes))


class SmallStem(nn.Sequential):
    """R(2+1)D stem: 1x7x7 spatial conv (stride 1, 2, 2) → BN → ReLU → 3x1x1 temporal conv → BN → ReLU, then a
    1x3x3 max-pool with spatial stride 2. ``(N, 3, T, H, W)`` → ``(N, width, T, H/4, W/4)``."""

    def __init__(self, width: int, pool: bool = True):
        mid = _midplanes(3, width, 3, 7)
        layers = [nn.Conv3d(3, mid, (1, 7, 7), (1, 2, 2), (0, 3, 3), bias=False), nn.BatchNorm3d(mid),
                  nn.ReLU(inplace=True),
                  nn.Conv3d(mid, width, (3, 1, 1), 1, (1, 0, 0), bias=False), nn.BatchNorm3d(width),
                  nn.ReLU(inplace=True)]
        if pool:
            layers.append(nn.MaxPool3d((1, 3, 3), (1, 2, 2), (0, 1, 1)))
        super().__init__(*layers)


def _small_backbone(widths: list[int], blocks: list[int], pool: bool) -> tuple[nn.Module, int]:
    from torchvision.models.video.resnet import BasicBlock, Conv2Plus1D

    layers: list[nn.Module] = [SmallStem(widths[0], pool)]
    inp = widths[0]
    for i, (w, n) in enumerate(zip(widths, blocks)):
        stage = []
        for b in range(n):
            stride = 2 if (i > 0 and b == 0) else 1
            down = None
            if stride != 1 or inp != w:
                down = nn.Sequential(nn.Conv3d(inp, w, 1, stride=stride, bias=False), nn.BatchNorm3d(w))
            stage.append(BasicBlock(inp, w, Conv2Plus1D, stride, down))
            inp = w
        layers.append(nn.Sequential(*stage))
    layers += [nn.AdaptiveAvgPool3d(1), nn.Flatten(1)]
    return nn.Sequential(*layers), inp


class R2Plus1D(nn.Module):
    """R(2+1)D video classifier (see the module docstring for the sources and both configurations).

    Args:
        num_classes: number of output classes.
        in_channels: must be 3 (RGB).
        num_joints: ignored (the registry's signature; video models have no joints).
        arch: ``"small"`` or ``"r2plus1d_18"``.
        widths: channels of the 4 stages (``small`` only; default 16-32-64-128).
        blocks: basic blocks per stage (``small`` only; default 1-1-1-1).
        pool: max-pool after the stem (``small`` only).
        dropout: dropout before the head.

    Input ``(N, 3, T, H, W)`` float32 in [0, 1]; output ``(N, num_classes)`` logits; :meth:`embed` gives the
    pooled ``(N, D)`` features (D = ``widths[-1]``, or 512 for ``r2plus1d_18``).

    Raises:
        ValueError: unknown arch, ``in_channels != 3``, widths/blocks not of length 4, or at forward time an
            input that is not ``(N, 3, T, H, W)``.
    """

    def __init__(self, num_classes: int, in_channels: int = 3, num_joints: int = 0, arch: str = "small",
                 widths: tuple[int, ...] | list[int] = (16, 32, 64, 128),
                 blocks: tuple[int, ...] | list[int] = (1, 1, 1, 1), pool: bool = True, dropout: float = 0.2):
        super().__init__()
        if arch not in ARCHS:
            raise ValueError(f"unknown R(2+1)D arch {arch!r}; known: {', '.join(ARCHS)}")
        if in_channels != 3:
            raise ValueError(f"R(2+1)D takes RGB clips (3 channels), not {in_channels}")
        widths, blocks = [int(w) for w in widths], [int(b) for b in blocks]
        if len(widths) != 4 or len(blocks) != 4 or min(widths) < 1 or min(blocks) < 1:
            raise ValueError("widths and blocks must be 4 positive integers (one per stage)")
        self.arch = arch
        self.register_buffer("mean", torch.tensor(KINETICS_MEAN).view(1, 3, 1, 1, 1))
        self.register_buffer("std", torch.tensor(KINETICS_STD).view(1, 3, 1, 1, 1))
        if arch == "r2plus1d_18":
            from torchvision.models.video import r2plus1d_18

            self.backbone = r2plus1d_18(weights=None)
            self.embed_dim = self.backbone.fc.in_features
            self.backbone.fc = nn.Identity()
        else:
            self.backbone, self.embed_dim = _small_backbone(widths, blocks, pool)
        self.drop = nn.Dropout(dropout)
        self.head = nn.Linear(self.embed_dim, num_classes)

    def load_backbone(self, state_dict: dict) -> list[str]:
        """Load torchvision ``r2plus1d_18`` weights (e.g. Kinetics-400's) into the backbone; the file's ``fc``
        (its 400-class head) is dropped, this model's head stays as initialised.

        Args:
            state_dict: a ``VideoResNet`` state dict (keys ``stem.*``, ``layer1.*`` … ``fc.*``).

        Returns:
            the backbone keys the file did not provide (empty for the official file).

        Raises:
            ValueError: not the ``r2plus1d_18`` arch, or weights of another shape.
        """
        if self.arch != "r2plus1d_18":
            raise ValueError("pretrained backbone weights exist only for arch 'r2plus1d_18'")
        sd = {k: v for k, v in state_dict.items() if not k.startswith("fc.")}
        try:
            missing, unexpected = self.backbone.load_state_dict(sd, strict=False)
        except RuntimeError as e:
            raise ValueError(f"weights do not fit r2plus1d_18: {str(e).splitlines()[0][:160]}") from None
        if unexpected:
            raise ValueError(f"weights do not fit r2plus1d_18: unexpected keys {', '.join(unexpected[:3])}")
        return list(missing)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, 3, T, H, W)`` float32 in [0, 1] → ``(N, D)`` pooled features."""
        if x.dim() != 5 or x.shape[1] != 3:
            raise ValueError(f"expected RGB clips (N, 3, T, H, W), got {tuple(x.shape)}")
        return self.backbone((x - self.mean) / self.std)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, 3, T, H, W)`` float32 in [0, 1] → ``(N, num_classes)`` logits."""
        return self.head(self.drop(self.embed(x)))

"""ST-GCN over the 13-joint common skeleton graph.

Spatial-Temporal Graph Convolutional Network of Yan, Xiong and Lin, "Spatial Temporal Graph
Convolutional Networks for Skeleton-Based Action Recognition", AAAI 2018
(reference code: github.com/yysijie/st-gcn, ``net/st_gcn.py`` and ``net/utils/graph.py``).

What is kept from the paper: data batch-norm over the (joint, channel) input; blocks of a spatial graph
convolution (1x1 conv to K partitions, aggregation with the normalised partitioned adjacency, learnable
edge-importance masks) followed by a temporal convolution (kernel ``temporal_kernel`` over frames), each
with batch-norm, ReLU, dropout and a residual connection; global average pooling over frames and joints;
a linear head. The paper uses 9 blocks (64-64-64-64-128-128-128-256-256-256) for 300-frame clips; our
windows are 8-64 frames, so the default is 3 blocks (64-64-128, the last with temporal stride 2) and a
temporal kernel of 9 (smaller kernels via the config for very short windows).

Graph: :func:`core.layouts.common_adjacency` (bones of the 13 common joints) with self-loops. Partitioning
is the paper's **spatial configuration** strategy (K = 3: the root node, centripetal neighbours that are
closer to the body's centre of gravity, centrifugal neighbours farther from it) by default, or the
**uniform** strategy (K = 1) with ``partition="uniform"``. The common graph has no neck or pelvis joint,
so the centre of gravity is a virtual node joined to the four torso joints (both shoulders and hips): a
joint's distance to the centre is 1 + its hop distance to the nearest torso joint. Each partition matrix is
column-normalised by the degree of the full graph with self-loops (``A Λ^-1``, as ``normalize_digraph`` in
the reference code).

STEP (Banerjee et al., "STEP: Spatial Temporal Graph Convolutional Networks for Emotion Perception from
Gaits", AAAI 2020) found one extra 64-channel graph layer better than wider channels; ``extra_64=True``
inserts that extra 64-channel block (64-64-64-128) instead of widening.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn as nn

from core.layouts import COMMON_JOINTS, common_adjacency

#: Indices (in :data:`core.layouts.COMMON_JOINTS`) of the torso joints that the virtual centre joins.
TORSO = tuple(COMMON_JOINTS.index(j) for j in ("SHOULDER_LEFT", "SHOULDER_RIGHT", "HIP_LEFT", "HIP_RIGHT"))


def hop_distance(adjacency: np.ndarray) -> np.ndarray:
    """All-pairs hop distance of an unweighted graph.

    Args:
        adjacency: ``(V, V)`` symmetric 0/1 array.

    Returns:
        ``(V, V)`` float array of hop counts, ``inf`` where unreachable.
    """
    v = adjacency.shape[0]
    reach = [np.linalg.matrix_power(adjacency + np.eye(v), d) > 0 for d in range(v)]
    dist = np.full((v, v), np.inf)
    for d in range(v - 1, -1, -1):
        dist[reach[d]] = d
    return dist


def partitioned_adjacency(strategy: str = "spatial", adjacency: np.ndarray | None = None,
                          centre: tuple[int, ...] = TORSO) -> np.ndarray:
    """Normalised partitioned adjacency of the common graph, as in ST-GCN (Yan et al. 2018, Sec. 3.3/3.4).

    Args:
        strategy: ``"spatial"`` (K = 3: root, centripetal, centrifugal) or ``"uniform"`` (K = 1).
        adjacency: ``(V, V)`` 0/1 adjacency without self loops; default :func:`core.layouts.common_adjacency`.
        centre: joints adjacent to the virtual centre of gravity (spatial strategy only).

    Returns:
        ``(K, V, V)`` float32; ``out[k, j, i]`` weights the message from joint ``j`` to joint ``i``. The
        sum over ``k`` equals ``(A + I) Λ^-1`` (every column sums to 1).

    Raises:
        ValueError: unknown strategy.
    """
    a = common_adjacency() if adjacency is None else np.asarray(adjacency, np.float64)
    v = a.shape[0]
    hop = hop_distance(a)
    a_hat = ((hop <= 1)).astype(np.float64)  # neighbours and self
    norm = a_hat / a_hat.sum(axis=0, keepdims=True)  # column-normalised: A Λ^-1
    if strategy == "uniform":
        return norm[None].astype(np.float32)
    if strategy != "spatial":
        raise ValueError(f"unknown partition strategy {strategy!r}; known: spatial, uniform")
    to_centre = 1 + hop[:, list(centre)].min(axis=1)  # (V,) distance of each joint to the centre
    root, close, far = (np.zeros((v, v)) for _ in range(3))
    for i in range(v):
        for j in range(v):
            if a_hat[j, i] == 0:
                continue
            if to_centre[j] == to_centre[i]:
                root[j, i] = norm[j, i]
            elif to_centre[j] < to_centre[i]:
                close[j, i] = norm[j, i]
            else:
                far[j, i] = norm[j, i]
    return np.stack([root, close, far]).astype(np.float32)


class GraphConv(nn.Module):
    """Spatial graph convolution: ``(N, C_in, T, V)`` → ``(N, C_out, T, V)`` with K partitions."""

    def __init__(self, in_channels: int, out_channels: int, k: int):
        super().__init__()
        self.k, self.out_channels = k, out_channels
        self.conv = nn.Conv2d(in_channels, out_channels * k, kernel_size=1)

    def forward(self, x: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
        n, _, t, v = x.shape
        x = self.conv(x).view(n, self.k, self.out_channels, t, v)
        return torch.einsum("nkctv,kvw->nctw", x, a).contiguous()


class STGCNBlock(nn.Module):
    """One ST-GCN unit: graph conv → BN → ReLU → temporal conv (kernel × 1) → BN → dropout, + residual, ReLU."""

    def __init__(self, in_channels: int, out_channels: int, k: int, temporal_kernel: int = 9, stride: int = 1,
                 dropout: float = 0.0, residual: bool = True):
        super().__init__()
        if temporal_kernel % 2 != 1:
            raise ValueError(f"temporal_kernel must be odd, not {temporal_kernel}")
        self.gcn = GraphConv(in_channels, out_channels, k)
        self.tcn = nn.Sequential(
            nn.BatchNorm2d(out_channels), nn.ReLU(inplace=True),
            nn.Conv2d(out_channels, out_channels, (temporal_kernel, 1), (stride, 1), ((temporal_kernel - 1) // 2, 0)),
            nn.BatchNorm2d(out_channels), nn.Dropout(dropout, inplace=True),
        )
        if not residual:
            self.residual = None
        elif in_channels == out_channels and stride == 1:
            self.residual = nn.Identity()
        else:
            self.residual = nn.Sequential(nn.Conv2d(in_channels, out_channels, 1, (stride, 1)),
                                          nn.BatchNorm2d(out_channels))
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
        res = 0 if self.residual is None else self.residual(x)
        return self.relu(self.tcn(self.gcn(x, a)) + res)


class STGCN(nn.Module):
    """ST-GCN classifier over the 13-joint common graph (see the module docstring for sources).

    Args:
        num_classes: number of output classes.
        in_channels: C, channels per joint (the input must have exactly C channels).
        num_joints: V; must be 13 (the common graph).
        channels: output channels of the blocks, in order (default 64-64-128).
        strides: temporal stride per block (default: 2 on the last block when there are 3 or more, else 1).
        extra_64: insert one extra 64-channel block after the first (STEP's finding: better than widening).
        temporal_kernel: odd kernel size of the temporal convolutions (9 as in the paper).
        dropout: dropout in each block's temporal unit.
        partition: ``"spatial"`` (K = 3) or ``"uniform"`` (K = 1).
        edge_importance: learn a per-block multiplicative mask on the adjacency (as in the paper).

    Input ``(N, C, T, V)`` float32; output ``(N, num_classes)`` logits.

    Raises:
        ValueError: ``num_joints != 13``, bad config, or at forward time an input whose C or V differ.
    """

    def __init__(self, num_classes: int, in_channels: int = 2, num_joints: int = 13,
                 channels: tuple[int, ...] | list[int] = (64, 64, 128), strides: tuple[int, ...] | list[int] | None = None,
                 extra_64: bool = False, temporal_kernel: int = 9, dropout: float = 0.0,
                 partition: str = "spatial", edge_importance: bool = True):
        super().__init__()
        if num_joints != len(COMMON_JOINTS):
            raise ValueError(f"ST-GCN is built on the {len(COMMON_JOINTS)}-joint common graph, not {num_joints} joints")
        channels = list(channels)
        if strides is None:
            strides = [1] * len(channels)
            if len(channels) >= 3:
                strides[-1] = 2
        strides = list(strides)
        if len(strides) != len(channels):
            raise ValueError("strides and channels must have the same length")
        if extra_64:
            channels.insert(1, 64)
            strides.insert(1, 1)
        self.in_channels, self.num_joints = in_channels, num_joints
        a = torch.from_numpy(partitioned_adjacency(partition))
        self.register_buffer("A", a)
        k = a.shape[0]
        self.data_bn = nn.BatchNorm1d(in_channels * num_joints)
        blocks, prev = [], in_channels
        for i, (c, s) in enumerate(zip(channels, strides)):
            blocks.append(STGCNBlock(prev, c, k, temporal_kernel, s, dropout, residual=i > 0))
            prev = c
        self.blocks = nn.ModuleList(blocks)
        self.edge_importance = nn.ParameterList(
            [nn.Parameter(torch.ones_like(a)) for _ in blocks]) if edge_importance else None
        self.head = nn.Linear(prev, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, C, T, V)`` float32 → ``(N, num_classes)`` logits."""
        n, c, t, v = x.shape
        if c != self.in_channels or v != self.num_joints:
            raise ValueError(f"expected input (N, {self.in_channels}, T, {self.num_joints}), got {tuple(x.shape)}")
        # data BN over (V*C) features, per frame
        x = x.permute(0, 3, 1, 2).reshape(n, v * c, t)
        x = self.data_bn(x).view(n, v, c, t).permute(0, 2, 3, 1).contiguous()
        for i, block in enumerate(self.blocks):
            a = self.A if self.edge_importance is None else self.A * self.edge_importance[i]
            x = block(x, a)
        return self.head(x.mean(dim=(2, 3)))

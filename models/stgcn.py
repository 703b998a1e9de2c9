"""ST-GCN over a skeleton graph that is passed in (PoseWatch uses the 13-joint common graph).

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

Graph: the caller gives the bones (``edges``: pairs of joint indices) and the joints next to the body's
centre (``centre``); they are part of the model config, so a checkpoint carries its graph
(:func:`core.classify.build_classifier` supplies the common graph of :mod:`core.layouts`, and fills it in
for checkpoints written before the graph was stored). This package imports only torch. Partitioning is
the paper's **spatial configuration** strategy (K = 3: the root node, centripetal neighbours that are
closer to the body's centre of gravity, centrifugal neighbours farther from it) by default, or the
**uniform** strategy (K = 1) with ``partition="uniform"``. The common graph has no neck or pelvis joint,
so the centre of gravity is a virtual node joined to the ``centre`` joints (both shoulders and hips): a
joint's distance to the centre is 1 + its hop distance to the nearest centre joint. Each partition matrix
is column-normalised by the degree of the full graph with self-loops (``A Λ^-1``, as ``normalize_digraph``
in the reference code).

STEP (Banerjee et al., "STEP: Spatial Temporal Graph Convolutional Networks for Emotion Perception from
Gaits", AAAI 2020) found one extra 64-channel graph layer better than wider channels; ``extra_64=True``
inserts that extra 64-channel block (64-64-64-128) instead of widening.
"""

from __future__ import annotations

from typing import Sequence

import torch
import torch.nn as nn


def adjacency(edges: Sequence[Sequence[int]], num_joints: int) -> torch.Tensor:
    """``(V, V)`` float64 symmetric 0/1 adjacency of the bones ``edges`` (pairs of joint indices), no self loops.

    Raises:
        ValueError: an edge names a joint outside ``0..num_joints-1`` or joins a joint to itself.
    """
    a = torch.zeros(num_joints, num_joints, dtype=torch.float64)
    for e in edges:
        i, j = (int(v) for v in e)
        if not (0 <= i < num_joints and 0 <= j < num_joints) or i == j:
            raise ValueError(f"graph edge ({i}, {j}) is not a bone between two of the {num_joints} joints")
        a[i, j] = a[j, i] = 1.0
    return a


def hop_distance(adjacency: torch.Tensor) -> torch.Tensor:
    """All-pairs hop distance of an unweighted graph.

    Args:
        adjacency: ``(V, V)`` symmetric 0/1 tensor.

    Returns:
        ``(V, V)`` float64 tensor of hop counts, ``inf`` where unreachable.
    """
    a = adjacency.to(torch.float64)
    v = a.shape[0]
    step = a + torch.eye(v, dtype=torch.float64)
    reach = [torch.linalg.matrix_power(step, d) > 0 for d in range(v)]
    dist = torch.full((v, v), float("inf"), dtype=torch.float64)
    for d in range(v - 1, -1, -1):
        dist[reach[d]] = d
    return dist


def partitioned_adjacency(strategy: str, edges: Sequence[Sequence[int]], num_joints: int,
                          centre: Sequence[int] = ()) -> torch.Tensor:
    """Normalised partitioned adjacency of a skeleton graph, as in ST-GCN (Yan et al. 2018, Sec. 3.3/3.4).

    Args:
        strategy: ``"spatial"`` (K = 3: root, centripetal, centrifugal) or ``"uniform"`` (K = 1).
        edges: the bones, pairs of joint indices in ``0..num_joints-1``.
        num_joints: V.
        centre: joints adjacent to the virtual centre of gravity (spatial strategy only; at least one).

    Returns:
        ``(K, V, V)`` float32; ``out[k, j, i]`` weights the message from joint ``j`` to joint ``i``. The
        sum over ``k`` equals ``(A + I) Λ^-1`` (every column sums to 1).

    Raises:
        ValueError: unknown strategy, a bad edge, or no (or an out-of-range) centre joint for ``spatial``.
    """
    a = adjacency(edges, num_joints)
    v = num_joints
    hop = hop_distance(a)
    a_hat = (hop <= 1).to(torch.float64)  # neighbours and self
    norm = a_hat / a_hat.sum(dim=0, keepdim=True)  # column-normalised: A Λ^-1
    if strategy == "uniform":
        return norm[None].to(torch.float32)
    if strategy != "spatial":
        raise ValueError(f"unknown partition strategy {strategy!r}; known: spatial, uniform")
    centre = [int(c) for c in centre]
    if not centre or not all(0 <= c < v for c in centre):
        raise ValueError(f"the spatial partition needs centre joints in 0..{v - 1}, got {centre}")
    to_centre = 1 + hop[:, centre].min(dim=1).values  # (V,) distance of each joint to the centre
    root, close, far = (torch.zeros(v, v, dtype=torch.float64) for _ in range(3))
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
    return torch.stack([root, close, far]).to(torch.float32)


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
    """ST-GCN classifier over a skeleton graph (see the module docstring for sources).

    Args:
        num_classes: number of output classes.
        in_channels: C, channels per joint (the input must have exactly C channels).
        num_joints: V, joints of the graph.
        edges: the graph's bones, pairs of joint indices (required; stored in the model config).
        centre: joints next to the body's centre of gravity (the spatial partition's reference).
        channels: output channels of the blocks, in order (default 64-64-128).
        strides: temporal stride per block (default: 2 on the last block when there are 3 or more, else 1).
        extra_64: insert one extra 64-channel block after the first (STEP's finding: better than widening).
        temporal_kernel: odd kernel size of the temporal convolutions (9 as in the paper).
        dropout: dropout in each block's temporal unit.
        partition: ``"spatial"`` (K = 3) or ``"uniform"`` (K = 1).
        edge_importance: learn a per-block multiplicative mask on the adjacency (as in the paper).

    Input ``(N, C, T, V)`` float32; output ``(N, num_classes)`` logits.

    Raises:
        ValueError: no graph, a bad graph or config, or at forward time an input whose C or V differ.
    """

    #: the model config must carry the skeleton graph (``edges``, ``centre``)
    takes_graph = True

    def __init__(self, num_classes: int, in_channels: int = 2, num_joints: int = 13,
                 edges: Sequence[Sequence[int]] | None = None, centre: Sequence[int] = (),
                 channels: tuple[int, ...] | list[int] = (64, 64, 128), strides: tuple[int, ...] | list[int] | None = None,
                 extra_64: bool = False, temporal_kernel: int = 9, dropout: float = 0.0,
                 partition: str = "spatial", edge_importance: bool = True):
        super().__init__()
        if not edges:
            raise ValueError("ST-GCN needs its skeleton graph: edges=[(i, j), …] and centre=[…] in the model config")
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
        a = partitioned_adjacency(partition, edges, num_joints, centre)
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

"""A Transformer encoder over frames (time-series Transformer) for skeleton windows.

Each frame's joints are flattened into one token of ``C * V`` features, embedded linearly to
``d_model``, given a positional encoding, passed through a few ``nn.TransformerEncoder`` layers and
pooled (mean over frames or a learned CLS token) into a linear classification head. This follows the
standard encoder of Vaswani et al., "Attention Is All You Need" (NeurIPS 2017), used as a time-series
classifier (one token per time step), as in Zerveas et al., "A Transformer-based Framework for
Multivariate Time Series Representation Learning" (KDD 2021).
"""

from __future__ import annotations

import math

import torch
import torch.nn as nn


def sinusoidal_encoding(length: int, d_model: int) -> torch.Tensor:
    """Fixed sine/cosine positional encoding of Vaswani et al. (2017).

    Returns:
        ``(length, d_model)`` float32 tensor.
    """
    pos = torch.arange(length, dtype=torch.float32).unsqueeze(1)
    div = torch.exp(torch.arange(0, d_model, 2, dtype=torch.float32) * (-math.log(10000.0) / d_model))
    pe = torch.zeros(length, d_model)
    pe[:, 0::2] = torch.sin(pos * div)
    pe[:, 1::2] = torch.cos(pos * div)[:, : d_model // 2]
    return pe


class FrameTransformer(nn.Module):
    """Transformer encoder classifier over the frames of a skeleton window.

    Args:
        num_classes: number of output classes.
        in_channels: C, channels per joint (the input must have exactly C channels).
        num_joints: V.
        d_model: token width.
        heads: attention heads (must divide ``d_model``).
        layers: number of encoder layers.
        ff: width of each layer's feed-forward block.
        dropout: dropout inside the encoder layers and after the embedding.
        max_len: longest window T accepted (size of the learned positional table).
        positional: ``"learned"`` (a trainable ``(max_len, d_model)`` table) or ``"sinusoidal"`` (fixed).
        pool: ``"mean"`` (average of the frame tokens) or ``"cls"`` (a learned class token, prepended).

    Input ``(N, C, T, V)`` float32; output ``(N, num_classes)`` logits.

    Raises:
        ValueError: bad config (unknown ``positional``/``pool``, ``heads`` not dividing ``d_model``),
            or at forward time an input with a wrong channel/joint count or ``T > max_len``.
    """

    def __init__(self, num_classes: int, in_channels: int = 2, num_joints: int = 13, d_model: int = 64,
                 heads: int = 4, layers: int = 2, ff: int = 128, dropout: float = 0.1, max_len: int = 256,
                 positional: str = "learned", pool: str = "mean"):
        super().__init__()
        if positional not in ("learned", "sinusoidal"):
            raise ValueError(f"positional must be 'learned' or 'sinusoidal', not {positional!r}")
        if pool not in ("mean", "cls"):
            raise ValueError(f"pool must be 'mean' or 'cls', not {pool!r}")
        if d_model % heads:
            raise ValueError(f"heads ({heads}) must divide d_model ({d_model})")
        self.in_channels, self.num_joints, self.max_len = in_channels, num_joints, max_len
        self.positional, self.pool = positional, pool
        self.embed = nn.Linear(in_channels * num_joints, d_model)
        extra = 1 if pool == "cls" else 0
        if positional == "learned":
            self.pos = nn.Parameter(torch.zeros(1, max_len + extra, d_model))
            nn.init.trunc_normal_(self.pos, std=0.02)
        else:
            self.register_buffer("pos", sinusoidal_encoding(max_len + extra, d_model).unsqueeze(0), persistent=False)
        if pool == "cls":
            self.cls = nn.Parameter(torch.zeros(1, 1, d_model))
            nn.init.trunc_normal_(self.cls, std=0.02)
        self.drop = nn.Dropout(dropout)
        layer = nn.TransformerEncoderLayer(d_model, heads, dim_feedforward=ff, dropout=dropout,
                                           batch_first=True, norm_first=True)
        self.encoder = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(d_model)
        self.head = nn.Linear(d_model, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, C, T, V)`` float32 → ``(N, num_classes)`` logits."""
        n, c, t, v = x.shape
        if c != self.in_channels or v != self.num_joints:
            raise ValueError(f"expected input (N, {self.in_channels}, T, {self.num_joints}), got {tuple(x.shape)}")
        if t > self.max_len:
            raise ValueError(f"window of {t} frames exceeds the model's max_len {self.max_len}")
        tok = self.embed(x.permute(0, 2, 1, 3).reshape(n, t, c * v))  # (N, T, d_model)
        if self.pool == "cls":
            tok = torch.cat([self.cls.expand(n, -1, -1), tok], dim=1)
        tok = self.drop(tok + self.pos[:, : tok.shape[1]])
        out = self.norm(self.encoder(tok))
        pooled = out[:, 0] if self.pool == "cls" else out.mean(dim=1)
        return self.head(pooled)

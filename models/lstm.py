"""The seed LSTM baseline (yololstm): a stacked LSTM over per-frame joint coordinates."""

from __future__ import annotations

import torch
import torch.nn as nn


class SeedLSTM(nn.Module):
    """Stacked LSTM classifier, the seed project's recipe (4 layers over the 26 x/y coordinates of the
    13 common joints, 16-frame windows).

    Args:
        num_classes: number of output classes.
        in_channels: C, channels per joint used (2: x, y; 3 adds the score).
        num_joints: V.
        hidden: LSTM hidden size.
        layers: number of stacked LSTM layers.
        dropout: dropout between LSTM layers.

    Input ``(N, C_in, T, V)`` float32 with ``C_in >= in_channels`` (extra channels are ignored);
    output ``(N, num_classes)`` logits from the last time step.
    """

    def __init__(self, num_classes: int, in_channels: int = 2, num_joints: int = 13, hidden: int = 64,
                 layers: int = 4, dropout: float = 0.0):
        super().__init__()
        self.in_channels = in_channels
        self.lstm = nn.LSTM(in_channels * num_joints, hidden, num_layers=layers, batch_first=True,
                            dropout=dropout if layers > 1 else 0.0)
        self.head = nn.Linear(hidden, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, _, t, v = x.shape
        x = x[:, : self.in_channels].permute(0, 2, 3, 1).reshape(n, t, v * self.in_channels)
        out, _ = self.lstm(x)
        return self.head(out[:, -1])

"""Skeleton classifier architectures and their registry.

Every model takes ``(N, C, T, V)`` float32 input (C channels per joint, T frames, V joints) and
returns ``(N, num_classes)`` logits. Build them by name from a small config dict with
:func:`build_model`.
"""

from __future__ import annotations

from typing import Callable

import torch.nn as nn

from .lstm import SeedLSTM

MODELS: dict[str, Callable[..., nn.Module]] = {"lstm": SeedLSTM}


def build_model(name: str, config: dict) -> nn.Module:
    """Instantiate model ``name`` with keyword arguments ``config``.

    Raises:
        KeyError: unknown model name (message lists the known ones).
    """
    try:
        cls = MODELS[name]
    except KeyError:
        raise KeyError(f"unknown model '{name}'; known: {', '.join(MODELS)}") from None
    return cls(**config)

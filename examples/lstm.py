"""A bidirectional LSTM sequence tagger: (batch, time, features) → per-step scores."""
from __future__ import annotations

import torch
from torch import nn


class BiLSTMTagger(nn.Module):
    def __init__(self, features: int = 16, hidden: int = 32, tags: int = 6) -> None:
        super().__init__()
        self.lstm = nn.LSTM(features, hidden, batch_first=True, bidirectional=True)
        self.proj = nn.Linear(2 * hidden, tags)

    def forward(self, sequence: torch.Tensor) -> torch.Tensor:
        states, _ = self.lstm(sequence)
        return self.proj(states)


def build() -> nn.Module:
    torch.manual_seed(0)
    return BiLSTMTagger().eval()

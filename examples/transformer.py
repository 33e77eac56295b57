"""A small transformer encoder over token ids: embeddings, learned positions, self-attention,
mean pooling and a classifier. Input: int64 token ids of shape (batch, 32)."""
from __future__ import annotations

import torch
from torch import nn

VOCAB = 1000
MAX_LEN = 64


class TokenClassifier(nn.Module):
    def __init__(self, d_model: int = 64, heads: int = 4, layers: int = 2, num_classes: int = 4) -> None:
        super().__init__()
        self.embed = nn.Embedding(VOCAB, d_model)
        self.position = nn.Parameter(torch.randn(1, MAX_LEN, d_model) * 0.02)
        layer = nn.TransformerEncoderLayer(d_model, heads, dim_feedforward=4 * d_model, dropout=0.0,
                                           batch_first=True, norm_first=True)
        self.encoder = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(d_model)
        self.classifier = nn.Linear(d_model, num_classes)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        x = self.embed(tokens) + self.position[:, : tokens.shape[1]]
        x = self.norm(self.encoder(x))
        return self.classifier(x.mean(dim=1))


def build() -> nn.Module:
    torch.manual_seed(0)
    return TokenClassifier().eval()

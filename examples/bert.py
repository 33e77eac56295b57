"""A BERT-style encoder built from a `transformers` BertConfig (random weights, nothing downloaded),
taking token ids and an attention mask and returning the hidden states and the pooled output."""
from __future__ import annotations

import torch
from torch import nn


class BertEncoder(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        from transformers import BertConfig, BertModel

        config = BertConfig(vocab_size=500, hidden_size=64, num_hidden_layers=2, num_attention_heads=4,
                            intermediate_size=128, max_position_embeddings=64,
                            attn_implementation="eager")
        self.bert = BertModel(config, add_pooling_layer=True)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> dict[str, torch.Tensor]:
        # The additive (batch, 1, 1, seq) mask BERT always used. transformers 5 would otherwise build a
        # (batch, 1, seq, seq) mask with GatherND over 5-D index tensors, which onnx2tf 1.28.8
        # mis-converts; a 4-D mask is used as given.
        extended = (1.0 - attention_mask[:, None, None, :].to(torch.float32)) * torch.finfo(torch.float32).min
        out = self.bert(input_ids=input_ids, attention_mask=extended)
        return {"last_hidden_state": out.last_hidden_state, "pooler_output": out.pooler_output}


def build() -> nn.Module:
    torch.manual_seed(0)
    return BertEncoder().eval()

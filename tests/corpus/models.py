"""The architecture corpus: Hugging Face transformers classes as researchers hold them.

Each builder returns the class itself (keyword forward(), ModelOutput results) with a tiny config
and seeded random weights — no download — or, where marked, the ``forward(*args)`` wrapper teams
often put around such a model. Nothing here is shaped around onnx2tf: these are the library's own
classes, built as ``from_pretrained`` would build them, only smaller.
"""
from __future__ import annotations

import torch
import transformers as hf
from torch import nn

from tests.corpus.weights import informative, recalibrate_batch_norm

TEXT = dict(vocab_size=96, hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64,
            max_position_embeddings=64)
DECODER = dict(vocab_size=96, hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64,
               max_position_embeddings=64)
VISION = dict(image_size=32, patch_size=8, num_channels=3, hidden_size=32, num_hidden_layers=2,
              num_attention_heads=2, intermediate_size=64)
AUDIO = dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64,
             conv_dim=(16, 16), conv_stride=(5, 2), conv_kernel=(10, 3), num_conv_pos_embeddings=16,
             num_conv_pos_embedding_groups=2)


def _build(model_class, config, calibrate: tuple[int, ...] | None = None):
    torch.manual_seed(0)
    model = informative(model_class(config))
    if calibrate is not None:
        recalibrate_batch_norm(model, lambda images: model(pixel_values=images), calibrate)
    return model.eval()


class ArgsWrapper(nn.Module):
    """What teams write around a Hugging Face model: ``forward(*args)`` returning one tensor."""

    def __init__(self, model: nn.Module, field: str) -> None:
        super().__init__()
        self.model = model
        self.field = field

    def forward(self, *args):
        return getattr(self.model(*args), self.field)


# -- text encoders ------------------------------------------------------------------------------

def bert_sequence_classification():
    return _build(hf.BertForSequenceClassification, hf.BertConfig(**TEXT, num_labels=3))


def bert_wrapped():
    return ArgsWrapper(_build(hf.BertModel, hf.BertConfig(**TEXT)), "last_hidden_state")


def roberta_sequence_classification():
    return _build(hf.RobertaForSequenceClassification, hf.RobertaConfig(**TEXT, num_labels=2))


def distilbert_question_answering():
    return _build(hf.DistilBertForQuestionAnswering,
                  hf.DistilBertConfig(vocab_size=96, dim=32, n_layers=2, n_heads=2, hidden_dim=64,
                                      max_position_embeddings=64))


def albert_sequence_classification():
    return _build(hf.AlbertForSequenceClassification,
                  hf.AlbertConfig(**TEXT, embedding_size=16, num_labels=2))


def electra_token_classification():
    return _build(hf.ElectraForTokenClassification, hf.ElectraConfig(**TEXT, embedding_size=16, num_labels=5))


def deberta_v2_sequence_classification():
    return _build(hf.DebertaV2ForSequenceClassification,
                  hf.DebertaV2Config(**TEXT, num_labels=2, relative_attention=True, position_buckets=8,
                                     pos_att_type=["p2c", "c2p"]))


def xlm_roberta_masked_lm():
    return _build(hf.XLMRobertaForMaskedLM, hf.XLMRobertaConfig(**TEXT))


def mpnet_masked_lm():
    return _build(hf.MPNetForMaskedLM, hf.MPNetConfig(**TEXT))


# -- decoders (no KV cache) ----------------------------------------------------------------------

def gpt2_lm_head():
    return _build(hf.GPT2LMHeadModel, hf.GPT2Config(vocab_size=96, n_positions=64, n_embd=32, n_layer=2, n_head=2,
                                                    bos_token_id=0, eos_token_id=0))


def gpt_neo_causal_lm():
    return _build(hf.GPTNeoForCausalLM, hf.GPTNeoConfig(vocab_size=96, max_position_embeddings=64, hidden_size=32,
                                                         num_layers=2, attention_types=[[["global", "local"], 1]],
                                                         num_heads=2, window_size=8))


def opt_causal_lm():
    return _build(hf.OPTForCausalLM, hf.OPTConfig(vocab_size=96, hidden_size=32, num_hidden_layers=2, ffn_dim=64,
                                                  num_attention_heads=2, max_position_embeddings=64,
                                                  word_embed_proj_dim=32))


def llama_causal_lm():
    return _build(hf.LlamaForCausalLM, hf.LlamaConfig(**DECODER, num_key_value_heads=1))


def qwen2_causal_lm():
    return _build(hf.Qwen2ForCausalLM, hf.Qwen2Config(**DECODER, num_key_value_heads=1))


def mistral_causal_lm():
    return _build(hf.MistralForCausalLM, hf.MistralConfig(**DECODER, num_key_value_heads=1, sliding_window=8))


# -- seq2seq encoders ----------------------------------------------------------------------------

def t5_encoder():
    return _build(hf.T5EncoderModel, hf.T5Config(vocab_size=96, d_model=32, d_kv=16, d_ff=64, num_layers=2,
                                                 num_heads=2, relative_attention_num_buckets=8))


def bart_encoder():
    config = hf.BartConfig(vocab_size=96, d_model=32, encoder_layers=2, decoder_layers=2, encoder_attention_heads=2,
                           decoder_attention_heads=2, encoder_ffn_dim=64, decoder_ffn_dim=64,
                           max_position_embeddings=64)
    return _build(hf.BartModel, config).get_encoder()


# -- vision ----------------------------------------------------------------------------------------

def vit_image_classification():
    return _build(hf.ViTForImageClassification, hf.ViTConfig(**VISION, num_labels=10))


def vit_wrapped():
    return ArgsWrapper(_build(hf.ViTForImageClassification, hf.ViTConfig(**VISION, num_labels=10)), "logits")


def deit_image_classification():
    return _build(hf.DeiTForImageClassification, hf.DeiTConfig(**VISION, num_labels=10))


def beit_image_classification():
    return _build(hf.BeitForImageClassification, hf.BeitConfig(**VISION, num_labels=10, use_relative_position_bias=True))


def dinov2_model():
    return _build(hf.Dinov2Model, hf.Dinov2Config(image_size=32, patch_size=8, hidden_size=32, num_hidden_layers=2,
                                                  num_attention_heads=2, mlp_ratio=2))


def clip_vision_model():
    return _build(hf.CLIPVisionModel, hf.CLIPVisionConfig(**VISION))


def swin_image_classification():
    return _build(hf.SwinForImageClassification,
                  hf.SwinConfig(image_size=32, patch_size=2, embed_dim=16, depths=[1, 1], num_heads=[2, 2],
                                window_size=4, num_labels=10))


def segformer_semantic_segmentation():
    return _build(hf.SegformerForSemanticSegmentation,
                  hf.SegformerConfig(num_encoder_blocks=2, depths=[1, 1], sr_ratios=[2, 1], hidden_sizes=[16, 32],
                                     num_attention_heads=[1, 2], decoder_hidden_size=32, num_labels=4,
                                     patch_sizes=[7, 3], strides=[4, 2], mlp_ratios=[2, 2]))


def convnext_image_classification():
    return _build(hf.ConvNextForImageClassification,
                  hf.ConvNextConfig(hidden_sizes=[16, 32], depths=[1, 1], num_stages=2, num_labels=10))


def resnet_image_classification():
    return _build(hf.ResNetForImageClassification,
                  hf.ResNetConfig(embedding_size=16, hidden_sizes=[16, 32], depths=[1, 1], layer_type="basic",
                                  num_labels=10))


def mobilenet_v2_image_classification():
    return _build(hf.MobileNetV2ForImageClassification,
                  hf.MobileNetV2Config(image_size=32, depth_multiplier=0.25, num_labels=10), calibrate=(3, 32, 32))


def efficientnet_image_classification():
    return _build(hf.EfficientNetForImageClassification,
                  hf.EfficientNetConfig(image_size=32, width_coefficient=0.25, depth_coefficient=0.25,
                                        hidden_dim=320, num_labels=10), calibrate=(3, 32, 32))


# -- audio -------------------------------------------------------------------------------------------

def wav2vec2_sequence_classification():
    return _build(hf.Wav2Vec2ForSequenceClassification, hf.Wav2Vec2Config(**AUDIO, num_labels=3))


def wav2vec2_wrapped():
    return ArgsWrapper(_build(hf.Wav2Vec2Model, hf.Wav2Vec2Config(**AUDIO)), "last_hidden_state")


def hubert_model():
    return _build(hf.HubertModel, hf.HubertConfig(**AUDIO))


# -- CLIP text ---------------------------------------------------------------------------------------

def clip_text_model():
    return _build(hf.CLIPTextModel, hf.CLIPTextConfig(vocab_size=96, hidden_size=32, intermediate_size=64,
                                                      num_hidden_layers=2, num_attention_heads=2,
                                                      max_position_embeddings=64, pad_token_id=1, bos_token_id=0,
                                                      eos_token_id=2))

"""TF Serving warmup requests: a TFRecord of PredictionLog built from the validation samples.

TF Serving replays them when it loads a version (``--enable_model_warmup``), so the first real
request does not pay for graph tracing.
"""
from __future__ import annotations

from pathlib import Path

from torch2tf.inputs import validation_samples
from torch2tf.native_logs import import_tensorflow
from torch2tf.specs import SIGNATURE_KEY, TensorSpec

WARMUP_FILE = "assets.extra/tf_serving_warmup_requests"


def write_warmup_requests(path: Path, name: str, specs: list[TensorSpec], keys: dict[str, str], seed: int,
                          vocab: dict[str, int]) -> None:
    """One request per validation sample, each input under its signature key (``keys``: name → key)."""
    tf = import_tensorflow()  # first: tensorflow_serving's protos import tensorflow
    from tensorflow_serving.apis import predict_pb2, prediction_log_pb2

    path.parent.mkdir(parents=True, exist_ok=True)
    with tf.io.TFRecordWriter(str(path)) as writer:
        for sample in validation_samples(specs, seed, vocab):
            request = predict_pb2.PredictRequest()
            request.model_spec.name = name
            request.model_spec.signature_name = SIGNATURE_KEY
            for input_name, value in sample.feeds.items():
                request.inputs[keys[input_name]].CopyFrom(tf.make_tensor_proto(value))
            log = prediction_log_pb2.PredictionLog(predict_log=prediction_log_pb2.PredictLog(request=request))
            writer.write(log.SerializeToString())

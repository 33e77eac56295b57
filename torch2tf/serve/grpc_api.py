"""TF Serving's gRPC API over a model registry, from the official protos.

PredictionService (Predict, GetModelMetadata) and ModelService (GetModelStatus); refusals carry
TF Serving's status codes.
"""
from __future__ import annotations

from concurrent import futures

import numpy as np

from torch2tf.errors import ServingError
from torch2tf.native_logs import import_tensorflow
from torch2tf.serve.registry import ModelRegistry
from torch2tf.specs import SIGNATURE_KEY


def _abort(context, exc: ServingError):
    import grpc

    context.abort(getattr(grpc.StatusCode, exc.grpc_code), exc.message)


def _version_of(spec) -> int | None:
    return spec.version.value if spec.HasField("version") else None


def predict(registry: ModelRegistry, request, context, limit: int):
    tf = import_tensorflow()
    from tensorflow_serving.apis import predict_pb2

    try:
        served = registry.get(request.model_spec.name, _version_of(request.model_spec))
        outputs = served.predict({k: tensor_from_proto(v, k, served, limit) for k, v in request.inputs.items()})
    except ServingError as exc:
        _abort(context, exc)
    response = predict_pb2.PredictResponse()
    response.model_spec.name = served.name
    response.model_spec.version.value = served.version
    response.model_spec.signature_name = SIGNATURE_KEY
    for key, value in outputs.items():
        if not request.output_filter or key in request.output_filter:
            response.outputs[key].CopyFrom(tf.make_tensor_proto(value))
    return response


def tensor_from_proto(proto, name: str, served, limit: int):
    """The array a TensorProto describes, checked before it is materialized.

    A proto can declare a huge shape and carry one value (TensorFlow repeats it to fill the shape):
    the declared shape is checked against the signature and the byte limit first. A dtype other than
    the signature's is refused, as TF Serving refuses it, never cast.
    """
    tf = import_tensorflow()
    if name not in served.inputs:
        return proto  # Predict reports unknown aliases with TF Serving's message
    shape, dtype = served.inputs[name]
    try:
        got = tf.dtypes.as_dtype(proto.dtype)
    except TypeError:
        raise _invalid(f"input {name}: unknown dtype enum {proto.dtype}") from None
    if got.as_numpy_dtype != np.dtype(dtype):
        raise _invalid(f"Expects arg[{name}] to be {np.dtype(dtype).name} but {got.name} is provided")
    dims = [d.size for d in proto.tensor_shape.dim]
    if len(dims) != len(shape) or any(d < 0 or (s is not None and d != s) for d, s in zip(dims, shape)):
        raise _invalid(f"input {name}: shape {dims} does not match the signature's {['?' if d is None else d for d in shape]}")
    size = int(np.prod(dims, dtype=np.int64)) * np.dtype(dtype).itemsize
    if size > limit:
        raise ServingError(400, "INVALID_ARGUMENT",
                           f"input {name}: {dims} is {size:,} bytes, beyond the server's limit of {limit:,}")
    try:
        return tf.make_ndarray(proto)
    except Exception as exc:  # inconsistent content length, bad field for the dtype, ...
        raise _invalid(f"input {name}: malformed TensorProto: {str(exc).splitlines()[0][:200]}") from exc


def _invalid(message: str) -> ServingError:
    return ServingError(400, "INVALID_ARGUMENT", message)


def model_metadata(registry: ModelRegistry, request, context):
    from tensorflow_serving.apis import get_model_metadata_pb2

    try:
        served = registry.get(request.model_spec.name, _version_of(request.model_spec))
    except ServingError as exc:
        _abort(context, exc)
    if list(request.metadata_field) != ["signature_def"]:
        _abort(context, ServingError(400, "INVALID_ARGUMENT", "Metadata field signature_def is the only one supported"))
    response = get_model_metadata_pb2.GetModelMetadataResponse()
    response.model_spec.name = served.name
    response.model_spec.version.value = served.version
    response.metadata["signature_def"].Pack(registry.signature_def_map(served))
    return response


def model_status(registry: ModelRegistry, request, context):
    from tensorflow_serving.apis import get_model_status_pb2

    try:
        statuses = registry.status(request.model_spec.name, _version_of(request.model_spec))
    except ServingError as exc:
        _abort(context, exc)
    response = get_model_status_pb2.GetModelStatusResponse()
    states = get_model_status_pb2.ModelVersionStatus
    for entry in sorted(statuses, key=lambda e: int(e["version"])):  # gRPC lists versions ascending
        status = response.model_version_status.add(version=int(entry["version"]), state=getattr(states, entry["state"]))
        status.status.error_code = 0 if entry["status"]["error_code"] == "OK" else 2  # tensorflow.error.UNKNOWN
        status.status.error_message = entry["status"]["error_message"]
    return response


def start_grpc_server(registry: ModelRegistry, host: str, port: int, workers: int, limit: int):
    """Start serving; return (server, bound port). OSError when the address cannot be bound."""
    import_tensorflow()  # quietly, before tensorflow_serving's protos import it
    import grpc
    from tensorflow_serving.apis import model_service_pb2_grpc, prediction_service_pb2_grpc

    class Prediction(prediction_service_pb2_grpc.PredictionServiceServicer):
        def Predict(self, request, context):
            return predict(registry, request, context, limit)

        def GetModelMetadata(self, request, context):
            return model_metadata(registry, request, context)

    class Status(model_service_pb2_grpc.ModelServiceServicer):
        def GetModelStatus(self, request, context):
            return model_status(registry, request, context)

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=workers),
                         options=[("grpc.max_receive_message_length", limit), ("grpc.max_send_message_length", limit)])
    prediction_service_pb2_grpc.add_PredictionServiceServicer_to_server(Prediction(), server)
    model_service_pb2_grpc.add_ModelServiceServicer_to_server(Status(), server)
    bound = server.add_insecure_port(f"{host}:{port}")
    if bound == 0:
        raise OSError(f"cannot bind gRPC to {host}:{port}")
    server.start()
    return server, bound

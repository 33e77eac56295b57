"""TF Serving's gRPC API over a model registry, from the official protos.

PredictionService (Predict, GetModelMetadata) and ModelService (GetModelStatus); refusals carry
TF Serving's status codes.
"""
from __future__ import annotations

from concurrent import futures

from torch2tf.errors import ServingError
from torch2tf.native_logs import import_tensorflow
from torch2tf.serve.registry import SIGNATURE, ModelRegistry


def _abort(context, exc: ServingError):
    import grpc

    context.abort(getattr(grpc.StatusCode, exc.grpc_code), exc.message)


def _version_of(spec) -> int | None:
    return spec.version.value if spec.HasField("version") else None


def predict(registry: ModelRegistry, request, context):
    tf = import_tensorflow()
    from tensorflow_serving.apis import predict_pb2

    try:
        served = registry.get(request.model_spec.name, _version_of(request.model_spec))
        outputs = served.predict({k: tf.make_ndarray(v) for k, v in request.inputs.items()})
    except ServingError as exc:
        _abort(context, exc)
    response = predict_pb2.PredictResponse()
    response.model_spec.name = served.name
    response.model_spec.version.value = served.version
    response.model_spec.signature_name = SIGNATURE
    for key, value in outputs.items():
        if not request.output_filter or key in request.output_filter:
            response.outputs[key].CopyFrom(tf.make_tensor_proto(value))
    return response


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
        registry.get(request.model_spec.name, _version_of(request.model_spec))
    except ServingError as exc:
        _abort(context, exc)
    versions = registry.versions[request.model_spec.name]
    wanted = [_version_of(request.model_spec)] if request.model_spec.HasField("version") else sorted(versions)
    response = get_model_status_pb2.GetModelStatusResponse()
    for v in wanted:
        status = response.model_version_status.add(version=v, state=get_model_status_pb2.ModelVersionStatus.AVAILABLE)
        status.status.error_code = 0
    return response


def start_grpc_server(registry: ModelRegistry, host: str, port: int, workers: int, limit: int):
    """Start serving; return (server, bound port). OSError when the address cannot be bound."""
    import_tensorflow()  # quietly, before tensorflow_serving's protos import it
    import grpc
    from tensorflow_serving.apis import model_service_pb2_grpc, prediction_service_pb2_grpc

    class Prediction(prediction_service_pb2_grpc.PredictionServiceServicer):
        def Predict(self, request, context):
            return predict(registry, request, context)

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

"""torch → ONNX → TensorFlow (SavedModel, TFLite)."""

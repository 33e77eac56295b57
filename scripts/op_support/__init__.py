"""The operator support table's generator: one-node ONNX cases, measured through onnx2tf and TFLite."""

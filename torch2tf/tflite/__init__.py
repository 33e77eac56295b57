"""The .tflite flatbuffer (core): read, opcode lookup, edit, cut. LiteRT's schema is imported lazily, here.

convert finishes its files with these (PAD widening, signatures), validate builds the fp16 file's
reference with them, and the performance tooling cuts one-operator models out of a file.
"""

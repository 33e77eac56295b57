"""``python -m torch2tf``: the same command line as ``torch2tf``."""
from torch2tf.cli import entry

entry()

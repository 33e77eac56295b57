"""Rewrites for the full-integer int8 file only: its kernels differ from the float ones."""

"""Rewrites that make the TFLite file faster (XNNPACK takes more of it, fewer operators); same values."""

"""Developer tools (not shipped in the wheel)."""

"""Many conversions at once: a manifest of models, each converted by ``torch2tf convert`` in its own process.

The engines that spread the work (a local process pool, a Ray cluster) only start processes and
collect what they return; every model is converted, validated and written exactly as a single
``torch2tf convert`` would, so its verdict is the same whichever engine ran it.
"""

"""TF Serving: model repository, configs, warmup, a local server with the same API, a smoke client."""

"""Performance tooling beside validate: ``bench`` (latency, throughput, size), ``bench --profile`` (operator
by operator) and the one-operator models it times. Numbers for people; nothing here decides a verdict."""

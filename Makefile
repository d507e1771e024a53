# greenshim - build, test, demo.  `make demo` and `make check` start from a
# fresh Debian 12 machine: both run scripts/install-deps.sh first.
CC      ?= gcc
PREFIX  ?= /usr/local
BUILD   ?= build
CFLAGS  ?= -O2 -g
WARN    := -Wall -Wextra -Wno-unused-parameter -Wno-format-truncation
CPPFLAGS+= -Iinclude
# one version for the recorder, the analyzer and the scripts (they read VERSION themselves)
GS_VERSION := $(shell cat VERSION)
CPPFLAGS+= -DGS_VERSION='"$(GS_VERSION)"'
# every object and program built with CPPFLAGS gets a dependency file beside it
# (build/.../x.d, included at the end): touching a header rebuilds exactly its users
CPPFLAGS+= -MMD -MP
SHIM_CFLAGS := -std=gnu11 -fPIC -fvisibility=hidden -pthread -I/usr/local/cuda/include
ANA_CFLAGS  := -std=gnu11 -Ianalyzer

# shim/: the core (writer, lifecycle, settings, ...), shim/intercept/ (the
# interposers), shim/sources/ (energy, frequency and counter sources); docs/recorder.md
SHIM_SRC := $(wildcard shim/*.c shim/intercept/*.c shim/sources/*.c)
# MPI interposers (shim/intercept/mpi.c): compiled against the real mpi.h (Open MPI's,
# Debian libopenmpi-dev), never linked with libmpi; left out without mpi.h
MPI_CFLAGS := $(shell pkg-config --cflags ompi-c 2>/dev/null)
ifeq ($(MPI_CFLAGS),)
SHIM_SRC := $(filter-out shim/intercept/mpi.c,$(SHIM_SRC))
endif
MPICC   := $(shell command -v mpicc 2>/dev/null)
# gloo interposers (shim/intercept/gloo.cc, C++ only to read gloo's option classes):
# compiled against Debian libgloo-dev's headers, left out without them; no
# libgloo or libstdc++ at link time (inline members only; no cleanups: no personality routine)
CXX     ?= g++
ifneq ($(wildcard /usr/include/gloo/allreduce.h),)
SHIM_CXX_SRC := shim/intercept/gloo.cc
endif
# NCCL interposers (shim/intercept/nccl.c): compiled against CUDA's nccl.h, left out without it
ifeq ($(wildcard /usr/local/cuda/include/nccl.h),)
SHIM_SRC := $(filter-out shim/intercept/nccl.c,$(SHIM_SRC))
endif
# the analyzer's folders, in the order data flows (docs/analyzer.md)
ANA_DIRS := util read stages report render cmd
ANA_SRC  := analyzer/main.c $(foreach d,$(ANA_DIRS),$(wildcard analyzer/$(d)/*.c))
ANA_HDR  := $(wildcard analyzer/*.h $(ANA_DIRS:%=analyzer/%/*.h))
ANA_LIB  := $(filter-out analyzer/main.c,$(ANA_SRC))
EX_SRC   := $(wildcard examples/*.c)
UNIT_SRC := $(wildcard tests/unit/test_*.c)
FAKE_SRC := $(filter-out tests/fakes/fake_nvml.c tests/fakes/fake_cuda.c tests/fakes/fake_cupti.c tests/fakes/fake_nccl.c,$(wildcard tests/fakes/*.c))
BENCH_SRC:= $(wildcard bench/*.c)

SHIM_OBJ := $(SHIM_SRC:%.c=$(BUILD)/obj/%.o) $(SHIM_CXX_SRC:%.cc=$(BUILD)/obj/%.o)
ANA_OBJ  := $(ANA_LIB:%.c=$(BUILD)/obj/%.o)
EX_BIN   := $(EX_SRC:examples/%.c=$(BUILD)/examples/%)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
FAKE_BIN := $(FAKE_SRC:tests/fakes/%.c=$(BUILD)/fakes/%)
BENCH_BIN:= $(BENCH_SRC:bench/%.c=$(BUILD)/bench/%)

BLAS_LIBS := -lopenblas
# small C programs the end-to-end tests run (tests/e2e/src/prog_*.c)
PROG_SRC := $(wildcard tests/e2e/src/prog_*.c)
PROG_BIN := $(PROG_SRC:tests/e2e/src/%.c=$(BUILD)/progs/%)
# the interpreter `make install` puts the Python helper in reach of (Debian's torch and numpy are its)
PYTHON ?= $(firstword $(wildcard /usr/bin/python3) python3)

# GPU path test programs (tests/e2e/src/gpu_*): built only where the CUDA
# toolkit is; the fake NVML and CUDA driver always (they need nothing)
CUDA_HOME ?= /usr/local/cuda
NVCC      := $(firstword $(wildcard $(CUDA_HOME)/bin/nvcc))
GPU_BIN   := $(BUILD)/fakes/nvml/libnvidia-ml.so.1 $(BUILD)/fakes/cuda/libcuda.so.1 $(BUILD)/fakes/nccl/libnccl.so.2 \
             $(BUILD)/fakes/cupti/libcupti.so.13 \
             $(BUILD)/gpu/gpu_driver_lookup
ifneq ($(wildcard $(CUDA_HOME)/include/cupti.h),)
GPU_BIN   += $(BUILD)/gpu/gpu_attrib $(BUILD)/gpu/gpu_orphan $(BUILD)/gpu/gpu_launch_c $(BUILD)/gpu/gpu_cublas \
             $(BUILD)/gpu/gpu_nvtx $(BUILD)/gpu/gpu_nvtx_domains $(BUILD)/gpu/gpu_nvtx_names \
             $(BUILD)/gpu/gpu_launch_bench $(BUILD)/gpu/gpu_fork
ifneq ($(NVCC),)
GPU_BIN   += $(BUILD)/gpu/gpu_launch_cu
endif
endif
# the NCCL test rank (tests/e2e/test_nccl.sh): only with CUDA's nccl.h
ifneq ($(wildcard $(CUDA_HOME)/include/nccl.h),)
GPU_BIN   += $(BUILD)/gpu/nccl_ranks
endif
# the distributed tests' MPI trainer (tests/e2e/test_mpi.sh): only with mpicc
ifneq ($(MPICC),)
GPU_BIN   += $(BUILD)/mpi/mpi_train
endif
CUDA_INC  := -I$(CUDA_HOME)/include
CUDA_LIB  := -L$(CUDA_HOME)/lib64 -Wl,-rpath,$(CUDA_HOME)/lib64
CHECK_LIBS := $(shell pkg-config --libs check 2>/dev/null || echo -lcheck -lsubunit -lm -lrt -lpthread)

# (the shim's unit tests name their objects through a variable)
.SECONDEXPANSION:
.PHONY: all check demo bench install clean deps shim-objects
.PHONY: sanitize fuzz fuzz-build
all: $(BUILD)/libgreenshim.so $(BUILD)/greenshim-analyze $(BUILD)/greenshim $(EX_BIN) $(FAKE_BIN) $(BENCH_BIN) $(GPU_BIN) \
     $(PROG_BIN)

$(BUILD)/progs/%: tests/e2e/src/%.c include/greenshim.h
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 $(CFLAGS) $(WARN) -Iinclude -o $@ $< $(BLAS_LIBS)

$(BUILD)/obj/shim/%.o: shim/%.c VERSION
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(SHIM_CFLAGS) $(CFLAGS) $(WARN) -c $< -o $@

$(BUILD)/obj/analyzer/%.o: analyzer/%.c $(ANA_HDR) include/greenshim/trace.h
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(ANA_CFLAGS) $(CFLAGS) $(WARN) -c $< -o $@

$(BUILD)/obj/shim/intercept/mpi.o: SHIM_CFLAGS += $(MPI_CFLAGS)

$(BUILD)/obj/shim/%.o: shim/%.cc VERSION
	@mkdir -p $(dir $@)
	$(CXX) $(CPPFLAGS) -std=gnu++17 -fPIC -fvisibility=hidden -fno-rtti \
	    -fasynchronous-unwind-tables $(CFLAGS) -Wall -Wextra -Wno-unused-parameter -c $< -o $@

# the library's objects, for tests/house/check_shim.sh (tests/e2e/test_house_shim.sh)
shim-objects:
	@echo $(SHIM_OBJ)

$(BUILD)/libgreenshim.so: $(SHIM_OBJ)
	$(CC) -shared -pthread -o $@ $^ -ldl -Wl,-z,nodelete

$(BUILD)/greenshim-analyze: $(BUILD)/obj/analyzer/main.o $(ANA_OBJ)
	$(CC) -o $@ $^ -lm

$(BUILD)/greenshim: scripts/greenshim
	@mkdir -p $(BUILD)
	install -m 755 $< $@

$(BUILD)/examples/%: examples/%.c include/greenshim.h
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) -std=gnu11 $(CFLAGS) $(WARN) -pthread -o $@ $< $(BLAS_LIBS) -lm

$(BUILD)/bench/%: bench/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) -std=gnu11 $(CFLAGS) $(WARN) -pthread -o $@ $< $(BLAS_LIBS) -lm

$(BUILD)/fakes/%: tests/fakes/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) -std=gnu11 $(CFLAGS) $(WARN) -pthread -o $@ $< -lm

# unit tests of the shim (tests/unit/test_shim_*.c): linked with the shim objects they test
# (SHIM_UNIT_OBJ_name), not the whole library (no interposers in the test program)
SHIM_UNIT_OBJ_settings := $(BUILD)/obj/shim/settings.o $(BUILD)/obj/shim/log.o
$(BUILD)/tests/test_shim_%: tests/unit/test_shim_%.c $$(SHIM_UNIT_OBJ_$$*)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) -Ishim -std=gnu11 $(CFLAGS) $(WARN) -o $@ $< $(SHIM_UNIT_OBJ_$*) $(CHECK_LIBS) -lm -ldl -pthread

$(BUILD)/tests/%: tests/unit/%.c $(ANA_OBJ) $(wildcard tests/unit/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) -Ianalyzer -Ishim -std=gnu11 $(CFLAGS) $(WARN) -o $@ $< $(ANA_OBJ) $(CHECK_LIBS) -lm -ldl -pthread


$(BUILD)/fakes/nvml/libnvidia-ml.so.1: tests/fakes/fake_nvml.c
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 $(CFLAGS) $(WARN) -Wno-unused-parameter -fPIC -shared -Wl,-soname,libnvidia-ml.so.1 -o $@ $< -lm

$(BUILD)/fakes/cuda/libcuda.so.1: tests/fakes/fake_cuda.c
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 $(CFLAGS) $(WARN) -fPIC -shared -Wl,-soname,libcuda.so.1 -Wl,-Bsymbolic -o $@ $<

$(BUILD)/fakes/cupti/libcupti.so.13: tests/fakes/fake_cupti.c
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 $(CFLAGS) $(WARN) -fPIC -shared -Wl,-soname,libcupti.so.13 -o $@ $<

$(BUILD)/gpu/gpu_attrib: tests/e2e/src/gpu_attrib.c
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 $(CFLAGS) $(WARN) $(CUDA_INC) -o $@ $< -ldl -lm

$(BUILD)/gpu/gpu_launch_c $(BUILD)/gpu/gpu_launch_bench $(BUILD)/gpu/gpu_fork: $(BUILD)/gpu/%: tests/e2e/src/%.c
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 $(CFLAGS) $(WARN) $(CUDA_INC) -o $@ $< $(CUDA_LIB) -lcudart

$(BUILD)/gpu/gpu_orphan: tests/e2e/src/gpu_orphan.c include/greenshim.h
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 $(CFLAGS) $(WARN) $(CPPFLAGS) $(CUDA_INC) -o $@ $< -ldl

$(BUILD)/gpu/gpu_driver_lookup: tests/e2e/src/gpu_driver_lookup.c
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 $(CFLAGS) $(WARN) -o $@ $< -ldl

$(BUILD)/gpu/gpu_cublas: tests/e2e/src/gpu_cublas.c
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 $(CFLAGS) $(WARN) $(CUDA_INC) -o $@ $< $(CUDA_LIB) -lcublas -lcublasLt -lcudart

$(BUILD)/gpu/gpu_nvtx $(BUILD)/gpu/gpu_nvtx_domains $(BUILD)/gpu/gpu_nvtx_names: $(BUILD)/gpu/%: tests/e2e/src/%.c
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 $(CFLAGS) $(WARN) $(CPPFLAGS) $(CUDA_INC) -o $@ $< $(BLAS_LIBS) -ldl

$(BUILD)/fakes/nccl/libnccl.so.2: tests/fakes/fake_nccl.c
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 $(CFLAGS) $(WARN) -Wno-unused-parameter -fPIC -shared -Wl,-soname,libnccl.so.2 -o $@ $< -ldl

# linked against the fake NCCL's soname; at run time LD_LIBRARY_PATH picks the fake or the real one
$(BUILD)/gpu/nccl_ranks: tests/e2e/src/nccl_ranks.c $(BUILD)/fakes/nccl/libnccl.so.2
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 $(CFLAGS) $(WARN) $(CUDA_INC) -o $@ $< -L$(BUILD)/fakes/nccl -l:libnccl.so.2 $(BLAS_LIBS)

$(BUILD)/mpi/mpi_train: tests/e2e/src/mpi_train.c
	@mkdir -p $(dir $@)
	$(MPICC) -std=gnu11 $(CFLAGS) $(WARN) -o $@ $< $(BLAS_LIBS)

$(BUILD)/gpu/gpu_launch_cu: tests/e2e/src/gpu_launch_cu.cu
	@mkdir -p $(dir $@)
	$(NVCC) -cudart shared -o $@ $<

# ---- sanitizers and fuzzing (docs/fuzzing.md) ----
# `make check` also builds, with gcc ASan+UBSan (no clang needed): the unit
# suites (build/tests/san_*), the analyzer (build/san/greenshim-analyze, for
# tests/e2e/test_sanitized_analyzer.sh) and the fuzz target's replay driver
# (build/tests/san_fuzz_replay: every input under tests/fuzz/regressions and
# tests/fuzz/corpus).  `make fuzz SECONDS=N` runs libFuzzer (clang).
# (gcc's "undefined" leaves out float-cast-overflow, which clang's includes)
SAN_FLAGS := -fsanitize=address,undefined,float-cast-overflow -fno-sanitize-recover=all \
             -fno-omit-frame-pointer -O2 -g
SAN_ANA_OBJ := $(ANA_LIB:%.c=$(BUILD)/san/obj/%.o)
SAN_BIN := $(filter-out $(BUILD)/tests/san_shim_%,$(UNIT_SRC:tests/unit/test_%.c=$(BUILD)/tests/san_%)) $(BUILD)/tests/san_fuzz_replay \
           $(BUILD)/san/greenshim-analyze
FUZZ_CC    ?= clang
FUZZ_FLAGS := -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer -O1 -g \
              -Wno-unknown-warning-option
FUZZ_ANA_OBJ := $(ANA_SRC:%.c=$(BUILD)/fuzz/obj/%.o)
SECONDS    ?= 60
FUZZ_ARGS  ?=

$(BUILD)/san/obj/analyzer/%.o: analyzer/%.c $(ANA_HDR) include/greenshim/trace.h
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(ANA_CFLAGS) $(SAN_FLAGS) $(WARN) -c $< -o $@

$(BUILD)/san/obj/fuzz/main.o: analyzer/main.c $(ANA_HDR) include/greenshim/trace.h
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(ANA_CFLAGS) $(SAN_FLAGS) $(WARN) -Dmain=gs_analyze_main -c $< -o $@

$(BUILD)/san/greenshim-analyze: analyzer/main.c $(SAN_ANA_OBJ)
	$(CC) $(CPPFLAGS) $(ANA_CFLAGS) $(SAN_FLAGS) $(WARN) -o $@ $^ -lm

$(BUILD)/tests/san_%: tests/unit/test_%.c $(SAN_ANA_OBJ) $(wildcard tests/unit/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) -Ianalyzer -Ishim -std=gnu11 $(SAN_FLAGS) $(WARN) -o $@ $< $(SAN_ANA_OBJ) $(CHECK_LIBS) -lm -ldl -pthread

$(BUILD)/tests/san_fuzz_replay: tests/fuzz/fuzz_analyze.c tests/fuzz/replay.c $(BUILD)/san/obj/fuzz/main.o $(SAN_ANA_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) -std=gnu11 $(SAN_FLAGS) $(WARN) -o $@ $^ -lm

sanitize: $(SAN_BIN)

$(BUILD)/fuzz/obj/analyzer/main.o: analyzer/main.c $(ANA_HDR) include/greenshim/trace.h
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(CPPFLAGS) $(ANA_CFLAGS) $(FUZZ_FLAGS) $(WARN) -Dmain=gs_analyze_main -c $< -o $@

$(BUILD)/fuzz/obj/analyzer/%.o: analyzer/%.c $(ANA_HDR) include/greenshim/trace.h
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(CPPFLAGS) $(ANA_CFLAGS) $(FUZZ_FLAGS) $(WARN) -c $< -o $@

$(BUILD)/fuzz/fuzz_analyze: tests/fuzz/fuzz_analyze.c $(FUZZ_ANA_OBJ)
	$(FUZZ_CC) $(CPPFLAGS) -std=gnu11 $(FUZZ_FLAGS) $(WARN) -o $@ $^ -lm

fuzz-build: $(BUILD)/fuzz/fuzz_analyze

# the working corpus grows in build/fuzz/corpus (seeded from tests/fuzz/corpus);
# a crash, hang (-timeout) or OOM (-rss_limit_mb) leaves its input in build/fuzz/
fuzz: fuzz-build
	@mkdir -p $(BUILD)/fuzz/corpus
	$(BUILD)/fuzz/fuzz_analyze $(BUILD)/fuzz/corpus tests/fuzz/corpus tests/fuzz/regressions \
	    -dict=tests/fuzz/trace.dict -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
	    -max_total_time=$(SECONDS) -print_final_stats=1 -artifact_prefix=$(BUILD)/fuzz/ $(FUZZ_ARGS)

deps:
	@scripts/install-deps.sh

# make check builds with every core and runs JOBS tests at once (tests/run.sh)
JOBS ?= $(shell nproc 2>/dev/null || echo 1)
check: deps
	@$(MAKE) --no-print-directory -j$(JOBS) all $(UNIT_BIN)
	@$(MAKE) --no-print-directory -j$(JOBS) sanitize
	@if command -v $(FUZZ_CC) >/dev/null 2>&1; then $(MAKE) --no-print-directory -j$(JOBS) fuzz-build; fi
	@JOBS=$(JOBS) tests/run.sh

demo: deps
	@$(MAKE) --no-print-directory all
	@scripts/demo.sh

bench: all
	@bench/run.sh
	@bench/analyzer.sh

install: all
	install -d $(DESTDIR)$(PREFIX)/lib $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/include/greenshim \
	    $(DESTDIR)$(PREFIX)/share/greenshim/scripts $(DESTDIR)$(PREFIX)/share/greenshim/python \
	    $(DESTDIR)$(PREFIX)/share/greenshim/examples
	install -m 755 $(BUILD)/libgreenshim.so $(DESTDIR)$(PREFIX)/lib/
	install -m 755 $(BUILD)/greenshim-analyze $(DESTDIR)$(PREFIX)/bin/
	install -m 755 scripts/greenshim $(DESTDIR)$(PREFIX)/bin/greenshim
	install -m 644 include/greenshim.h $(DESTDIR)$(PREFIX)/include/
	install -m 644 VERSION $(DESTDIR)$(PREFIX)/share/greenshim/VERSION
	install -m 644 include/greenshim/trace.h $(DESTDIR)$(PREFIX)/include/greenshim/
	install -m 755 scripts/*.sh $(DESTDIR)$(PREFIX)/share/greenshim/scripts/
	install -m 755 scripts/apply-caps scripts/restore-caps scripts/greenshim-sweep $(DESTDIR)$(PREFIX)/share/greenshim/scripts/
	install -m 644 python/greenshim.py python/greenshim_aten.py $(DESTDIR)$(PREFIX)/share/greenshim/python/
	install -d $(DESTDIR)$(PREFIX)/share/greenshim/python/greenshim_site
	install -m 644 python/greenshim_site/sitecustomize.py $(DESTDIR)$(PREFIX)/share/greenshim/python/greenshim_site/
	install -m 755 $(EX_BIN) examples/*.py $(DESTDIR)$(PREFIX)/share/greenshim/examples/
	@# `import greenshim` without the recorder too (a no-op then, as the C header is): into the
	@# interpreter's own directory under PREFIX (Debian: PREFIX/lib/python3.X/dist-packages)
	@d=$$($(PYTHON) -c 'import sys; print(next((p for p in sys.path if p.startswith("$(PREFIX)/lib/") and p.endswith("-packages")), ""))' 2>/dev/null); \
	if [ -n "$$d" ]; then install -d "$(DESTDIR)$$d" && install -m 644 python/greenshim.py "$(DESTDIR)$$d/" && \
	    echo "installed greenshim.py in $$d ($(PYTHON))"; \
	else echo "note: $(PYTHON) has no package directory under $(PREFIX): import greenshim needs PYTHONPATH=$(PREFIX)/share/greenshim/python"; fi

clean:
	rm -rf $(BUILD)

# the dependency files of what was built before (none on a fresh tree: everything builds then)
-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)

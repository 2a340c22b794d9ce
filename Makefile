# Weft: the two commands are `make test` and `make bench`; both install what is missing first.
PYTHON ?= /usr/bin/python3
CMAKE_FLAGS ?=
JOBS ?= $(shell nproc)
NPROC := $(shell nproc)

# Results of `make bench` land in results/runs/<date>_<host>_<sha>.csv and results/plots/.
SHA := $(shell git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)$(shell git status --porcelain --untracked-files=no 2>/dev/null | grep -q . && echo -dirty)
HOST := $(shell hostname)
DATE := $(shell date -u +%F)
RUN_CSV ?= results/runs/$(DATE)_$(HOST)_$(SHA).csv
BENCH := build/release/harness/bench/weft-bench
REPS ?= 5
THREADS ?=
QUICK_PARAMS := --param tasks=100000 --param leaves=100000 --param yield_tasks=100 \
                --param yields=1000 --param pairs=10000

.PHONY: all deps build test test-plain test-asan test-tsan test-scripts lint bench bench-quick \
        micro plots format clean

all: build

deps:
	@bash scripts/install-deps.sh

# $(call cmake_build,dir,build type,extra flags)
define cmake_build
	cmake -S . -B $(1) -G Ninja -DCMAKE_BUILD_TYPE=$(2) $(3) $(CMAKE_FLAGS) >/dev/null
	ninja -C $(1) -j $(JOBS)
endef

build: deps
	$(call cmake_build,build/release,Release,-DWEFT_BUILD_TESTS=OFF)

test: deps
	$(MAKE) --no-print-directory lint test-plain test-asan test-tsan test-scripts

# Every memory order, fence and compare-exchange in variants/ and runtime/ carries a [LABEL] that
# its file's synchronization map explains (STYLE.md).
lint:
	$(PYTHON) scripts/lint_atomics.py

test-plain:
	$(call cmake_build,build/plain,RelWithDebInfo,)
	ctest --test-dir build/plain --output-on-failure -j $(JOBS)

test-asan:
	$(call cmake_build,build/asan,RelWithDebInfo,-DWEFT_SANITIZE=address)
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  ctest --test-dir build/asan --output-on-failure -j $(JOBS)

# TSan of g++ 12 cannot map its shadow memory with the kernel's 32-bit mmap randomisation:
# setarch -R runs the tests without address-space randomisation.
test-tsan:
	$(call cmake_build,build/tsan,RelWithDebInfo,-DWEFT_SANITIZE=thread)
	TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
	  setarch $$(uname -m) -R ctest --test-dir build/tsan --output-on-failure -j $(JOBS)

test-scripts:
	$(PYTHON) -m pytest -q tests/scripts

# The default sweep: every variant x every shape x threads 1..nproc x $(REPS) reps.
bench: build
	@mkdir -p results/runs results/plots
	$(BENCH) --workload=spawn_storm --shape=all --variant=all --reps=$(REPS) \
	  $(if $(THREADS),--threads=$(THREADS)) --out=$(RUN_CSV)
	$(PYTHON) scripts/plot.py --out results/plots $(RUN_CSV)
	$(PYTHON) scripts/summary.py --metric ns_per_task $(RUN_CSV)

# A smoke run of the whole pipeline at small sizes; writes under build/, not results/.
bench-quick: build
	$(BENCH) --workload=spawn_storm --shape=all --variant=all --reps=1 $(QUICK_PARAMS) \
	  --out=build/bench-quick.csv
	$(PYTHON) scripts/plot.py --out build/plots-quick build/bench-quick.csv
	$(PYTHON) scripts/summary.py --metric ns_per_task build/bench-quick.csv

# Queue micro benchmarks (Google Benchmark, every registered variant): JSON, tidy CSV, plots.
MICRO_JSON ?= results/runs/micro_$(DATE)_$(HOST)_$(SHA).json
MICRO_CSV ?= $(MICRO_JSON:.json=.csv)
micro: build
	@mkdir -p results/runs results/plots
	build/release/harness/micro/weft-micro --benchmark_min_time=0.2 --benchmark_repetitions=3 \
	  --benchmark_out=$(MICRO_JSON) --benchmark_out_format=json
	$(PYTHON) scripts/gbench_to_csv.py $(MICRO_JSON) --out $(MICRO_CSV)
	$(PYTHON) scripts/plot.py --out results/plots $(MICRO_CSV)
	$(PYTHON) scripts/summary.py --metric ns_per_iteration $(MICRO_CSV)

# Plots of the newest run in results/runs/ (or CSV=...).
plots:
	$(PYTHON) scripts/plot.py --out results/plots $(or $(CSV),$(shell ls -t results/runs/*.csv | head -1))

format:
	@command -v clang-format >/dev/null || \
	  { echo "make format: clang-format not found (apt-get install clang-format)" >&2; exit 1; }
	find runtime variants workloads harness tests -name '*.hpp' -o -name '*.cpp' | \
	  xargs clang-format -i

clean:
	rm -rf build

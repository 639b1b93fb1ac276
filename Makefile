# inferd: `make demo` serves the example models, `make test` builds and runs every test.
# Both install what they need first (scripts/install-deps.sh).

BUILD_DIR ?= build
BUILD_TYPE ?= Release
JOBS ?= $(shell nproc)
PORT ?= 8000
GRPC_PORT ?= 8001
# CI turns warnings into errors.
ifeq ($(CI),true)
WERROR := ON
else
WERROR ?= OFF
endif
CMAKE_FLAGS ?=

.PHONY: all deps deps-test deps-bench deps-peers build test demo bench bench-peers fixtures format tsa fuzz fuzz-build fuzz-smoke container-check clean

all: build

deps:
	scripts/install-deps.sh build

deps-test:
	scripts/install-deps.sh build test

deps-bench:
	scripts/install-deps.sh build test bench

$(BUILD_DIR)/CMakeCache.txt:
	cmake -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) -DINFERD_WERROR=$(WERROR) $(CMAKE_FLAGS)

build: deps-test $(BUILD_DIR)/CMakeCache.txt
	cmake --build $(BUILD_DIR) -j$(JOBS)

test: build
	cd $(BUILD_DIR) && ctest --output-on-failure -j$(JOBS)

demo: build
	@echo
	@echo "Serving examples/models on http://localhost:$(PORT) (Ctrl-C stops). Try, from another shell:"
	@echo "  curl -s localhost:$(PORT)/v2/models/breast_cancer"
	@echo "  curl -s localhost:$(PORT)/v2/models/breast_cancer/infer -d @examples/requests/breast_cancer.json"
	@echo "  curl -s localhost:$(PORT)/v2/models/diabetes/infer -d @examples/requests/diabetes.json"
	@echo "  curl -s localhost:$(PORT)/v1/models/iris:predict -d @examples/requests/iris_v1.json"
	@echo "  curl -s localhost:$(PORT)/v2/models/breast_cancer_lightgbm/infer -d @examples/requests/breast_cancer_lightgbm.json"
	@echo "  curl -s localhost:$(PORT)/v2/models/breast_cancer_mlp/infer -d @examples/requests/breast_cancer.json"
	@echo "  curl -s -X POST localhost:$(PORT)/v2/repository/index"
	@echo "  curl -s localhost:$(PORT)/metrics"
	@echo "  $(BUILD_DIR)/inferd bench 127.0.0.1:$(GRPC_PORT) --grpc --model breast_cancer --concurrency 1,8 --duration 2"
	@echo "(gRPC, the Open Inference Protocol's inference.GRPCInferenceService, on port $(GRPC_PORT))"
	@echo
	$(BUILD_DIR)/inferd serve --model-repository examples/models --http-port $(PORT) --grpc-port $(GRPC_PORT)

bench: deps-bench $(BUILD_DIR)/CMakeCache.txt
	cmake -S . -B $(BUILD_DIR) -DINFERD_BUILD_BENCH=ON > /dev/null
	cmake --build $(BUILD_DIR) -j$(JOBS)
	bench/run.sh $(BUILD_DIR)

# inferd against what users would pick instead (FastAPI, nginx, libxgboost, ONNX Runtime), in one
# run: writes docs/BENCHMARKS.md and its plots (bench/peers/run.sh).
deps-peers:
	scripts/install-deps.sh build test bench peers

bench-peers: deps-peers $(BUILD_DIR)/CMakeCache.txt
	cmake -S . -B $(BUILD_DIR) -DINFERD_BUILD_BENCH=ON > /dev/null
	cmake --build $(BUILD_DIR) -j$(JOBS)
	bench/peers/run.sh $(BUILD_DIR)

fixtures:
	scripts/install-deps.sh fixtures
	/usr/bin/python3 tools/fixtures/make_fixtures.py
	cd tools/fixtures/ort && npm ci --ignore-scripts --no-audit --no-fund
	/usr/bin/python3 tools/fixtures/make_onnx_fixtures.py
	/usr/bin/python3 tools/fixtures/make_ship_fixtures.py
	$(MAKE) build
	/usr/bin/python3 tools/fixtures/make_quant_fixtures.py $(BUILD_DIR)

format:
	clang-format -i $$(git ls-files '*.cc' '*.h')

# Thread-safety analysis: compile the libraries with clang -Wthread-safety -Werror.
tsa:
	scripts/install-deps.sh build test tsa
	cmake -S . -B build-tsa -DCMAKE_CXX_COMPILER=clang++ -DINFERD_WERROR=ON -DINFERD_BUILD_BENCH=OFF -DINFERD_BUILD_TESTS=OFF
	cmake --build build-tsa -j$(JOBS) --target inferd

# Fuzzing (clang's libFuzzer with ASan and UBSan; fuzz/README.md): every target for FUZZ_SECONDS,
# growing the committed corpora in fuzz/corpus. fuzz-smoke: a short run of each, for CI.
FUZZ_SECONDS ?= 600
FUZZ_TARGETS = v2_json_fuzz v2_binary_fuzz v1_fuzz config_fuzz csv_fuzz jwt_fuzz xgboost_fuzz lightgbm_fuzz onnx_fuzz
build-fuzz/CMakeCache.txt:
	cmake -S . -B build-fuzz -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo -DINFERD_FUZZ=ON -DINFERD_BUILD_TESTS=OFF -DINFERD_BUILD_BENCH=OFF

fuzz-build:
	scripts/install-deps.sh build fuzz
	$(MAKE) build-fuzz/CMakeCache.txt
	cmake --build build-fuzz -j$(JOBS) --target $(FUZZ_TARGETS)

fuzz: fuzz-build
	fuzz/run.sh build-fuzz $(FUZZ_SECONDS) $(FUZZ_TARGETS)

# The container image's runtime packages (deploy/runtime-packages.txt) are complete: the built
# binary serves models in a debootstrap'ed bookworm root holding only them (needs root).
container-check: build
	deploy/check-runtime.sh $(BUILD_DIR)

fuzz-smoke: fuzz-build
	fuzz/run.sh build-fuzz 10 --no-merge $(FUZZ_TARGETS)

clean:
	rm -rf $(BUILD_DIR) build-tsa build-fuzz

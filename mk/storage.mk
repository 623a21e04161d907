# Storage (issue 10): the native backend in storage/, proven by
# k8s.io/apiserver's own storage suites, and minimal-apiserver on each of its
# in-process backends side by side.

TIP_BIN ?= $(OUTPUT)/bin/tip

.PHONY: test-storage
test-storage: ## The native storage backend against k8s.io/apiserver's storage suites: in memory, on disk, and through the watch cache
	go test -count=1 ./storage/...

.PHONY: tip-minimal
tip-minimal: apply ## Build minimal-apiserver on the series tip ($(KK_TREE) with the series applied) into $(TIP_BIN)
	go run ./cmd/treemod -tree $(KK_TREE) -out $(OUTPUT)/tree.mod
	env $(GOENV_MODULE_ALONE) go build -modfile=$(OUTPUT)/tree.mod $(GOENV_BUILD_FLAGS) -tags gcp_patched -o $(TIP_BIN)/minimal-apiserver ./cmd/minimal-apiserver

.PHONY: bench-storage
bench-storage: tip-minimal ## minimal-apiserver on the series tip: embedded etcd vs kine vs native vs native in memory (median of BENCH_RUNS) -> reports/bench-storage.{md,json}
	go run ./cmd/bench-storage -bin $(TIP_BIN)/minimal-apiserver -runs $(BENCH_RUNS) -work $(OUTPUT)/bench-storage \
		-md reports/bench-storage.md -json reports/bench-storage.json

.PHONY: test-tip-server
test-tip-server: tip-minimal ## The server package's tests on the series tip, where its chain is the generic sample library (real embedded etcd)
	env $(GOENV_MODULE_ALONE) go test -count=1 -modfile=$(OUTPUT)/tree.mod $(GOENV_BUILD_FLAGS) -tags gcp_patched ./server/...

.PHONY: test-tip-storage
test-tip-storage: harness tip-minimal ## minimal-apiserver on the series tip: the scenario on every backend (etcd and kine in-process, the native backend on disk and in memory), the fault suite's kill -9 under write and watch load on the durable ones
	MINIMAL_APISERVER_BIN=$(TIP_BIN)/minimal-apiserver KUBECTL=$(BIN)/kubectl SCENARIO_OUT=$(OUTPUT)/scenario-tip \
	MINIMAL_APISERVER_STORAGES=etcd,kine,sqlite,memory MINIMAL_APISERVER_ON_SERIES=1 \
		go test -count=1 -timeout 20m -run 'TestScenarioMinimalDefaults|TestScenarioMinimalOnEachStorage' ./scenario/
	MINIMAL_APISERVER_BIN=$(TIP_BIN)/minimal-apiserver MINIMAL_APISERVER_STORAGES=etcd,kine,sqlite,memory FAULTS_OUT=$(OUTPUT)/faults-tip/results \
		go test -count=1 -timeout 20m -run 'TestKill9UnderWatchLoad' ./faults/

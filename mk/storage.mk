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

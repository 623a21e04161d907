# The generic control plane project: a patch series on a pinned k/k tree,
# depgraph to measure coupling, and a minimal server harness to prove it.
# `make help` lists every target.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

BIN     ?= $(CURDIR)/_output/bin
KK_TREE ?= $(CURDIR)/_output/kk
SERIES  := $(BIN)/series
OUTPUT  := $(CURDIR)/_output
# go commands inside the tree use a workspace file that `series tree` writes
# beside it (the tree's own go.work names two staging modules the proxy does
# not serve; see README). -trimpath keeps the build cache shared between
# copies of the tree.
# The go environments of internal/goenv, spelled out for make
# (internal/goenv's TestMakefilesAgree keeps them equal).
GOENV_BUILD_FLAGS := -buildvcs=false -trimpath
GOENV_MODULE_ALONE := GOWORK=off GOFLAGS=-mod=mod
TREE_GO := env GOWORK=$(OUTPUT)/$(notdir $(KK_TREE)).go.work GOFLAGS='$(GOENV_BUILD_FLAGS)' go

.PHONY: help
help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z0-9_.-]+:.*## / {printf "  %-18s %s\n", $$1, $$2}' $(MAKEFILE_LIST) | sort

.PHONY: series-tool
series-tool: ## Build the series tool into _output/bin
	@mkdir -p $(BIN)
	go build -o $(SERIES) ./cmd/series

.PHONY: tree
tree: series-tool ## Materialize the pinned k/k tree (patches/BASE) into _output/kk, or check KK_TREE
	$(SERIES) --tree $(KK_TREE) --output $(OUTPUT) tree

.PHONY: apply
apply: tree ## Apply the whole series (or N=<count>) on a fresh series branch of the tree
	$(SERIES) --tree $(KK_TREE) apply $(N)

.PHONY: check
check: tree ## Check the series: applies without fuzz, subjects, license headers, gofmt
	$(SERIES) --tree $(KK_TREE) check

.PHONY: refresh
refresh: series-tool ## Export the tree's series branch back into patches/
	$(SERIES) --tree $(KK_TREE) refresh

.PHONY: build
build: apply ## Build kube-apiserver and the generic sample from the patched tree into _output/bin
	@echo "[build] kube-apiserver and the generic sample from $(KK_TREE) (a cold build takes several minutes)"
	cd $(KK_TREE) && $(TREE_GO) build -ldflags='-s -w' -o $(BIN)/kube-apiserver ./cmd/kube-apiserver
	cd $(KK_TREE) && $(TREE_GO) build -ldflags='-s -w' -o $(BIN)/generic-sample ./pkg/controlplane/apiserver/samples/generic
	@ls -l $(BIN)/kube-apiserver $(BIN)/generic-sample

.PHONY: prove-tool
prove-tool: ## Build the prove tool into _output/bin
	@mkdir -p $(BIN)
	go build -o $(BIN)/prove ./cmd/prove

# prove writes its report here, under the untracked _output/, so that
# `make prove` and `make test` leave git status clean; `make reports`
# copies it into the committed reports/.
PROVE_REPORTS := $(OUTPUT)/reports
PROVE_COMMITTED := reports/prove.md reports/prove.json

.PHONY: prove
prove: tree prove-tool ## Main job: prove every prefix of the series; writes _output/reports/prove.{md,json} (make reports copies them to reports/)
	$(BIN)/prove --tree $(KK_TREE) --work $(OUTPUT)/prove --reports $(PROVE_REPORTS) $(if $(PROVE_KUBECTL),--kubectl $(PROVE_KUBECTL)) $(PROVE_FLAGS)

.PHONY: reports
reports: prove-tool ## Copy the last make prove report (_output/reports/prove.*) over the committed reports/prove.*, and say what changed
	$(BIN)/prove --copy-from $(PROVE_REPORTS) --reports $(CURDIR)/reports
	@if git rev-parse --git-dir >/dev/null 2>&1; then \
		if git diff --quiet -- $(PROVE_COMMITTED); then echo "$(PROVE_COMMITTED): unchanged"; \
		else git diff --stat -- $(PROVE_COMMITTED); echo "commit them: git commit -m '<why>' -- $(PROVE_COMMITTED)"; fi; \
	fi

SERIES_LEN = $(words $(shell grep -v '^\#' patches/series))
BENCH_SERIES = $(OUTPUT)/bench-series

.PHONY: bench-series
bench-series: tip-minimal ## kube-apiserver with the whole series vs v1.37.2; the generic, minimal, kube and workloads samples with the whole series (binaries from make prove); our minimal-apiserver on the series tip and the CRD-only server, each on embedded etcd; median of BENCH_RUNS -> reports/bench-series.{md,json}
	@test -x $(OUTPUT)/prove/bin/$(SERIES_LEN)/kube-apiserver || { echo "no kube-apiserver for all $(SERIES_LEN) patches under $(OUTPUT)/prove/bin: run make prove first"; exit 1; }
	@mkdir -p $(BENCH_SERIES)
	cp $(OUTPUT)/prove/bin/0/kube-apiserver $(BENCH_SERIES)/kube-apiserver-base
	cp $(OUTPUT)/prove/bin/$(SERIES_LEN)/kube-apiserver $(BENCH_SERIES)/kube-apiserver-series
	cp $(OUTPUT)/prove/bin/$(SERIES_LEN)/generic $(BENCH_SERIES)/generic-sample-series
	cp $(OUTPUT)/prove/bin/$(SERIES_LEN)/minimal $(BENCH_SERIES)/minimal-sample-series
	cp $(OUTPUT)/prove/bin/$(SERIES_LEN)/kube $(BENCH_SERIES)/kube-sample-series
	cp $(OUTPUT)/prove/bin/$(SERIES_LEN)/workloads $(BENCH_SERIES)/workloads-sample-series
	go build -o $(BENCH_SERIES)/bench-etcd ./cmd/etcd
	cp $(TIP_BIN)/minimal-apiserver $(BENCH_SERIES)/minimal-apiserver-series
	go build -o $(BENCH_SERIES)/example-crdonly ./cmd/examples/crdonly
	go build -o $(BENCH_SERIES)/bench-tool ./cmd/bench
	@echo "[bench-series] the minimal sample with its symbol table, to explain its size"
	@mkdir -p $(BENCH_SERIES)/symbols
	cd $(KK_TREE) && $(TREE_GO) build -o $(BENCH_SERIES)/symbols/minimal-sample-series ./pkg/controlplane/apiserver/samples/generic/minimal
	$(BENCH_SERIES)/bench-tool -bin $(BENCH_SERIES) -upstream-bin $(BENCH_SERIES) -only kube-apiserver-base,kube-apiserver-series,generic-sample-series,minimal-sample-series,kube-sample-series,workloads-sample-series,minimal-apiserver-series,example-crdonly \
		-explain minimal-sample-series=$(KK_TREE),./pkg/controlplane/apiserver/samples/generic/minimal,$(BENCH_SERIES)/symbols/minimal-sample-series \
		-explain 'minimal-apiserver-series=.,./cmd/minimal-apiserver,,-mod=mod -modfile=$(OUTPUT)/tree.mod -tags=gcp_patched' \
		-explain example-crdonly=.,./cmd/examples/crdonly \
		-runs $(or $(BENCH_RUNS),5) -work $(BENCH_SERIES)/work -md reports/bench-series.md -json reports/bench-series.json

.PHONY: test-unit
test-unit: tree ## Unit tests of the series tooling, prove, the process and env helpers, dupcode (synthetic trees and the pinned tree)
	go test ./internal/... ./cmd/series/... ./cmd/prove/... ./cmd/dupcode/...

# Each part of the project (mk/<part>.mk) brings a test-<part> target.
-include mk/*.mk
TEST_TARGETS := $(if $(wildcard mk/depgraph.mk),test-depgraph) $(if $(wildcard mk/harness.mk),test-harness) $(if $(wildcard mk/storage.mk),test-storage) $(if $(wildcard mk/faults.mk),test-faults) $(if $(wildcard mk/clients.mk),test-clients) $(if $(wildcard mk/testcontrolplane.mk),test-testcontrolplane)
# After prove, whose tip build of the native sample leaves most of the tip
# compiled in the build cache.
TEST_AFTER_PROVE := $(if $(wildcard mk/storage.mk),test-tip-server test-tip-storage)

# The harness builds kubectl of the pinned release before prove, which then
# runs its scenario with it instead of compiling kubectl from the tree.
test: PROVE_KUBECTL = $(if $(filter test-harness,$(TEST_TARGETS)),$(BIN)/kubectl)

.PHONY: test
test: verify tree check test-unit $(TEST_TARGETS) prove $(TEST_AFTER_PROVE) ## Everything CI runs: verify, series check, unit tests, depgraph, harness scenario, storage suites, the fast fault suite, then prove every patch, then the server package and minimal-apiserver on the series tip (tests; every storage backend) (writes only under _output/)

.PHONY: clean
clean: ## Remove _output (the trees, binaries and reports under it)
	rm -rf _output

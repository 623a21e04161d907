# Minimal server harness (issue 4): library in server/, binaries in cmd/,
# real-client scenario in scenario/, benchmarks in cmd/bench.

BIN     ?= $(CURDIR)/_output/bin
KK_TREE ?= $(CURDIR)/_output/kk
OUTPUT  ?= $(CURDIR)/_output
# HARNESS_TREE=1 builds the harness against $(KK_TREE) through a generated
# modfile (cmd/treemod) instead of the pinned modules in go.mod.
HARNESS_TREE ?=
# Extra build tags: gcp_patched for a tree with the patch series applied
# (see server/compat_*.go), e.g.
#   make test-harness HARNESS_TREE=1 KK_TREE=$(CURDIR)/_output/kk-dev HARNESS_TAGS=gcp_patched BIN=$(CURDIR)/_output/bin/tree
HARNESS_TAGS ?=
BENCH_RUNS ?= 5
# GOENV_MODULE_ALONE and GOENV_BUILD_FLAGS come from the top Makefile.
# Against the tree, this repository's module is built alone through the
# generated modfile that points k8s.io/kubernetes and staging at $(KK_TREE).
HARNESS_FLAGS = $(if $(HARNESS_TREE),-modfile=$(OUTPUT)/tree.mod $(GOENV_BUILD_FLAGS)) $(if $(HARNESS_TAGS),-tags $(HARNESS_TAGS))
HARNESS_GO = $(if $(HARNESS_TREE),env $(GOENV_MODULE_ALONE) go,go)
HARNESS_BUILD = $(HARNESS_GO) build $(HARNESS_FLAGS)
HARNESS_TEST = $(HARNESS_GO) test $(HARNESS_FLAGS)
HARNESS_ENV = MINIMAL_APISERVER_BIN=$(BIN)/minimal-apiserver EXAMPLE_FULL_BIN=$(BIN)/example-full \
	EXAMPLE_CRDONLY_BIN=$(BIN)/example-crdonly KUBECTL=$(BIN)/kubectl SCENARIO_OUT=$(OUTPUT)/scenario

# kubectl is stamped with the pinned release as hack/lib/version.sh does
# (gitVersion, gitMajor, gitMinor of client-go's and component-base's version
# packages); unstamped, `kubectl version` cannot parse its own version.
KK_VERSION := $(shell awk '$$1 == "k8s.io/kubernetes" {print $$2}' patches/BASE)
KK_MAJOR_MINOR := $(subst ., ,$(patsubst v%,%,$(KK_VERSION)))
KUBECTL_LDFLAGS = $(foreach p,k8s.io/client-go/pkg/version k8s.io/component-base/version,\
	-X $(p).gitVersion=$(KK_VERSION) -X $(p).gitMajor=$(word 1,$(KK_MAJOR_MINOR)) -X $(p).gitMinor=$(word 2,$(KK_MAJOR_MINOR)) -X $(p).gitTreeState=clean)

.PHONY: harness-treemod
harness-treemod: ## Write _output/tree.mod pointing k8s.io/kubernetes and staging modules at $(KK_TREE)
	go run ./cmd/treemod -tree $(KK_TREE) -out $(OUTPUT)/tree.mod

.PHONY: harness
harness: $(if $(HARNESS_TREE),harness-treemod) kubectl ## Build minimal-apiserver, the examples and kubectl into $(BIN) (HARNESS_TREE=1: against $(KK_TREE))
	$(HARNESS_BUILD) -o $(BIN)/minimal-apiserver ./cmd/minimal-apiserver
	$(HARNESS_BUILD) -o $(BIN)/example-full ./cmd/examples/full
	$(HARNESS_BUILD) -o $(BIN)/example-crdonly ./cmd/examples/crdonly
	$(HARNESS_BUILD) -o $(BIN)/example-faulty ./cmd/examples/faulty

.PHONY: kubectl
kubectl: $(if $(HARNESS_TREE),harness-treemod) ## Build kubectl of the pinned release into $(BIN): the scenario's client
	@mkdir -p $(BIN)
	$(HARNESS_BUILD) -ldflags='$(KUBECTL_LDFLAGS)' -o $(BIN)/kubectl k8s.io/kubernetes/cmd/kubectl

.PHONY: test-harness
test-harness: harness ## Test server/ and run the scenario (client-go + kubectl) on embedded etcd and kine/SQLite; bad input (kill -9: make test-faults)
	@rm -rf $(OUTPUT)/scenario
	$(HARNESS_ENV) $(HARNESS_TEST) -count=1 -timeout 30m ./server/... ./cmd/minimal-apiserver/... ./scenario/...
	go run ./cmd/scenario-report -results $(OUTPUT)/scenario -kubectl $(BIN)/kubectl \
		-md $(OUTPUT)/scenario/scenario.md -json $(OUTPUT)/scenario/scenario.json
	@cat $(OUTPUT)/scenario/scenario.md | head -20

.PHONY: scenario-report
scenario-report: harness bench-upstream ## Scenario on our servers, kube-apiserver and the upstream sample (+ SCENARIO_TARGETS="name=kubeconfig ...") -> reports/scenario.{md,json}
	@rm -rf $(OUTPUT)/scenario
	$(HARNESS_ENV) $(HARNESS_TEST) -count=1 -timeout 30m -run 'TestScenario' ./scenario/
	go run ./cmd/scenario-report -results $(OUTPUT)/scenario -kubectl $(BIN)/kubectl -upstream-bin $(BENCH_BIN) \
		-work $(OUTPUT)/scenario-upstream $(foreach t,$(SCENARIO_TARGETS),-target $(t))

BENCH_BIN ?= $(BIN)/bench

.PHONY: bench-upstream
bench-upstream: $(if $(HARNESS_TREE),harness-treemod) ## Build kube-apiserver, the upstream generic sample and etcd (v3.7.0 wrapper) into $(BENCH_BIN)
	@mkdir -p $(BENCH_BIN)
	go build -o $(BENCH_BIN)/bench-etcd ./cmd/etcd
	$(HARNESS_BUILD) -o $(BENCH_BIN)/kube-apiserver k8s.io/kubernetes/cmd/kube-apiserver
	$(HARNESS_BUILD) -o $(BENCH_BIN)/sample-generic-apiserver k8s.io/kubernetes/pkg/controlplane/apiserver/samples/generic

.PHONY: bench
bench: harness bench-upstream ## Side by side: start-to-/readyz, RSS, stripped size, create throughput (median of BENCH_RUNS) -> reports/bench.{md,json}
	go build -o $(BENCH_BIN)/bench ./cmd/bench
	$(BENCH_BIN)/bench -bin $(BIN) -upstream-bin $(BENCH_BIN) -runs $(BENCH_RUNS) -work $(OUTPUT)/bench-work \
		-md reports/bench.md -json reports/bench.json

.PHONY: count-lines
count-lines: ## Non-blank, non-comment lines of the example servers
	scripts/count-lines.sh

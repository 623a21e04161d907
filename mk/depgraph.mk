# depgraph: package-level coupling of control-plane binaries (analysis/,
# cmd/depgraph, cmd/importrule). Included by the top Makefile.

# Leave the default goal to the top Makefile whatever the include order.
_depgraph_default_goal := $(.DEFAULT_GOAL)

KK_TREE ?= $(CURDIR)/_output/kk
BIN ?= $(CURDIR)/_output/bin
GO ?= go
# Trees to diff in bench-depgraph; the head defaults to a hard-linked copy
# of the base made by the benchmark itself.
KK_BASE_TREE ?= $(KK_TREE)
KK_HEAD_TREE ?=
DEPGRAPH_BENCH_RUNS ?= 5
DEPGRAPH_VET_RULES ?= $(CURDIR)/analysis/rules/gcp-imports.yaml

DEPGRAPH_PKGS := ./analysis/... ./cmd/depgraph/... ./cmd/importrule/...

.PHONY: depgraph test-depgraph bench-depgraph vet-depgraph

depgraph: ## Build _output/bin/depgraph and _output/bin/importrule
	@mkdir -p $(BIN)
	$(GO) build -o $(BIN)/depgraph ./cmd/depgraph
	$(GO) build -o $(BIN)/importrule ./cmd/importrule

test-depgraph: ## Test depgraph; the kube-apiserver count test needs the tree in KK_TREE
	KK_TREE=$(KK_TREE) $(GO) test $(DEPGRAPH_PKGS)

bench-depgraph: depgraph ## Time depgraph against go list on KK_TREE; writes reports/bench-depgraph.md
	$(GO) run ./cmd/depgraph-bench -depgraph $(BIN)/depgraph -tree $(KK_TREE) \
		-base $(KK_BASE_TREE) $(if $(KK_HEAD_TREE),-head $(KK_HEAD_TREE)) \
		-runs $(DEPGRAPH_BENCH_RUNS) -out $(CURDIR)/reports/bench-depgraph.md

vet-depgraph: depgraph ## Demo: go vet -vettool=importrule with analysis/rules/gcp-imports.yaml on this repo
	$(GO) vet -vettool=$(BIN)/importrule -importrule.rules=$(DEPGRAPH_VET_RULES) ./...

.DEFAULT_GOAL := $(_depgraph_default_goal)

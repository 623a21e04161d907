# Test control plane (issue 13): testcontrolplane/ is its own module (no
# replace directives for its users); testcontrolplane/example is a controller
# project using it next to envtest.

TCP_DIR := $(CURDIR)/testcontrolplane
TCP_GO = cd $(1) && env GOWORK=off go
TCP_REPORTS ?= $(CURDIR)/analysis/reports
ENVTEST_ASSETS := $(OUTPUT)/envtest-assets
# The harness's binary, so that the tests do not build another.
TCP_SERVER_ENV = TESTCONTROLPLANE_SERVER=$(BIN)/minimal-apiserver

.PHONY: test-testcontrolplane
test-testcontrolplane: harness ## testcontrolplane's tests (in process, parallel; out of process on minimal-apiserver) and the example controller test; the example module replaces no k8s.io module
	cd $(TCP_DIR) && env GOWORK=off $(TCP_SERVER_ENV) go test -count=1 -timeout 20m ./...
	$(call TCP_GO,$(TCP_DIR)) vet ./...
	$(call TCP_GO,$(TCP_DIR)/example) vet ./...
	$(call TCP_GO,$(TCP_DIR)/example) test -count=1 -timeout 20m ./...
	@if $(call TCP_GO,$(TCP_DIR)/example) mod edit -json | grep -A2 '"Replace"' | grep -q '"Path": "k8s.io/'; then \
		echo "testcontrolplane/example/go.mod replaces a k8s.io module: a user of testcontrolplane must not need that"; exit 1; fi

# envtest takes kube-apiserver, etcd and kubectl from one directory; these
# are built from the pinned modules (make harness bench-upstream).
.PHONY: envtest-assets
envtest-assets: harness bench-upstream
	@mkdir -p $(ENVTEST_ASSETS)
	ln -sf $(BENCH_BIN)/kube-apiserver $(ENVTEST_ASSETS)/kube-apiserver
	ln -sf $(BENCH_BIN)/bench-etcd $(ENVTEST_ASSETS)/etcd
	ln -sf $(BIN)/kubectl $(ENVTEST_ASSETS)/kubectl

.PHONY: bench-testserver
bench-testserver: envtest-assets ## testcontrolplane (in process, and on the minimal-apiserver binary) vs envtest on binaries built from the pinned modules -> analysis/reports/testserver.{md,json}
	$(call TCP_GO,$(TCP_DIR)/example) build -o $(BIN)/bench-testserver ./cmd/bench-testserver
	cd $(TCP_DIR)/example && KUBEBUILDER_ASSETS=$(ENVTEST_ASSETS) TESTCONTROLPLANE_SERVER=$(BIN)/minimal-apiserver \
		$(BIN)/bench-testserver -crds testdata -suite 20 -json $(TCP_REPORTS)/testserver.json -md $(TCP_REPORTS)/testserver.md
	cd $(TCP_DIR)/example && env GOWORK=off KUBEBUILDER_ASSETS=$(ENVTEST_ASSETS) go test -count=1 -v -run TestWidgetController ./... 2>&1 | grep -vE "^[IWE][0-9]{4} |^[{]"; exit $${PIPESTATUS[0]}

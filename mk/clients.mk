# Client-assumption matrix (issue 12): real clients (kubectl at the pin and
# two minors back, client-go, controller-runtime, helm v3) against
# kube-apiserver, the upstream generic sample and our servers, each case
# bounded in time, every server on loopback with fresh data. Package clients/
# holds the cases and the report; cmd/clients runs them. Findings (class,
# client file:line, fix) are reviewed data in clients/findings.yaml.

CLIENTS_BIN := $(BIN)/clients
CLIENTS_OUT := $(OUTPUT)/clients
CLIENTS_REPORTS ?= $(CURDIR)/analysis/reports
# The skew kubectl: a minor two releases behind the pin (clients/kubectl-skew/go.mod).
CLIENTS_SKEW_VERSION := $(shell awk '$$1 == "require" && $$2 == "k8s.io/kubernetes" {print $$3}' clients/kubectl-skew/go.mod)
CLIENTS_SKEW_MAJOR_MINOR := $(subst ., ,$(patsubst v%,%,$(CLIENTS_SKEW_VERSION)))
CLIENTS_SKEW_LDFLAGS = $(foreach p,k8s.io/client-go/pkg/version k8s.io/component-base/version,\
	-X $(p).gitVersion=$(CLIENTS_SKEW_VERSION) -X $(p).gitMajor=$(word 1,$(CLIENTS_SKEW_MAJOR_MINOR)) -X $(p).gitMinor=$(word 2,$(CLIENTS_SKEW_MAJOR_MINOR)) -X $(p).gitTreeState=clean)
CLIENTS_HELM_VERSION := $(shell awk '$$1 == "require" && $$2 == "helm.sh/helm/v3" {print $$3}' clients/helm/go.mod)
# As helm's Makefile stamps a release.
CLIENTS_HELM_LDFLAGS = -X helm.sh/helm/v3/internal/version.version=$(CLIENTS_HELM_VERSION) \
	-X helm.sh/helm/v3/internal/version.metadata= -X helm.sh/helm/v3/internal/version.gitTreeState=clean
CLIENTS_FLAGS ?=

.PHONY: clients-bin
clients-bin: ## Build the matrix's servers (version-stamped as a release build is) and clients into $(BIN)/clients
	@mkdir -p $(CLIENTS_BIN)
	go build -o $(CLIENTS_BIN)/bench-etcd ./cmd/etcd
	go build -ldflags='$(KUBECTL_LDFLAGS)' -o $(CLIENTS_BIN)/kube-apiserver k8s.io/kubernetes/cmd/kube-apiserver
	go build -ldflags='$(KUBECTL_LDFLAGS)' -o $(CLIENTS_BIN)/sample-generic-apiserver k8s.io/kubernetes/pkg/controlplane/apiserver/samples/generic
	go build -ldflags='$(KUBECTL_LDFLAGS)' -o $(CLIENTS_BIN)/minimal-apiserver ./cmd/minimal-apiserver
	go build -o $(CLIENTS_BIN)/minimal-apiserver-unstamped ./cmd/minimal-apiserver
	go build -ldflags='$(KUBECTL_LDFLAGS)' -o $(CLIENTS_BIN)/example-crdonly ./cmd/examples/crdonly
	go build -ldflags='$(KUBECTL_LDFLAGS)' -o $(CLIENTS_BIN)/kubectl k8s.io/kubernetes/cmd/kubectl
	cd clients/kubectl-skew && $(GOENV_MODULE_ALONE) go build -ldflags='$(CLIENTS_SKEW_LDFLAGS)' -o $(CLIENTS_BIN)/kubectl-skew k8s.io/kubernetes/cmd/kubectl
	cd clients/helm && $(GOENV_MODULE_ALONE) go build -ldflags='$(CLIENTS_HELM_LDFLAGS)' -o $(CLIENTS_BIN)/helm helm.sh/helm/v3/cmd/helm
	go build -o $(CLIENTS_BIN)/clients ./cmd/clients

.PHONY: clients
clients: clients-bin ## The client-assumption matrix: every case x server -> analysis/reports/clients.{md,json} (CLIENTS_FLAGS=-only-server=...,-only-case=...)
	@rm -rf $(CLIENTS_OUT)
	$(CLIENTS_BIN)/clients -bin $(CLIENTS_BIN) -work $(CLIENTS_OUT) -findings clients/findings.yaml \
		-json $(CLIENTS_REPORTS)/clients.json -md $(CLIENTS_REPORTS)/clients.md $(CLIENTS_FLAGS)

.PHONY: clients-report
clients-report: ## Re-render analysis/reports/clients.md from clients.json and clients/findings.yaml (no servers run)
	go run ./cmd/clients -render -findings clients/findings.yaml -json $(CLIENTS_REPORTS)/clients.json -md $(CLIENTS_REPORTS)/clients.md

.PHONY: test-clients
test-clients: ## Unit tests of the matrix runner (report rendering, findings join); not the matrix itself
	go test ./clients/...

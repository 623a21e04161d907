# verify: the checks a change passes before review: gofmt, go vet, this
# repository's import rules (analysis/rules/gcp-imports.yaml, through the
# importrule vet tool) and copied code (cmd/dupcode, with the reviewed
# exemptions of analysis/rules/dupcode-allow.txt). Included by the top
# Makefile. `make verify` runs every check, then fails if any failed; each
# check is also a target of its own. Findings are printed as file:line with
# what to do.

# Leave the default goal to the top Makefile whatever the include order.
_verify_default_goal := $(.DEFAULT_GOAL)

BIN ?= $(CURDIR)/_output/bin
GO ?= go
VERIFY_IMPORT_RULES ?= $(CURDIR)/analysis/rules/gcp-imports.yaml
VERIFY_DUPCODE_ALLOW ?= analysis/rules/dupcode-allow.txt
VERIFY_CHECKS := verify-gofmt verify-vet verify-imports verify-dupcode

# The repository's Go files as the go command sees them: not under
# _output (the k/k tree), testdata, vendor or dot directories.
VERIFY_GO_FILES = find . -mindepth 1 \( -name '[._]*' -o -name testdata -o -name vendor \) -prune -o -name '*.go' -print

.PHONY: verify $(VERIFY_CHECKS)

verify: ## Before review: gofmt, go vet, import rules, copied code (all run; fails if any fails)
	@failed=""; \
	for c in $(VERIFY_CHECKS); do \
		echo "[verify] $$c"; \
		$(MAKE) -s --no-print-directory $$c || failed="$$failed $$c"; \
	done; \
	if [ -n "$$failed" ]; then echo "[verify] FAILED:$$failed (each failing check printed file:line and what to do above)"; exit 1; fi; \
	echo "[verify] OK"

verify-gofmt: ## gofmt: list Go files that are not gofmt-formatted, at their first changed line
	@status=0; \
	bad=$$($(VERIFY_GO_FILES) | sort | xargs gofmt -l) || status=1; \
	for f in $$bad; do \
		line=$$(gofmt -d "$$f" | awk '/^@@/ { n = substr($$2, 2) + 0 - 1; h = 1; next } h && /^ / { n++; next } h && /^[-+]/ { print n + 1; exit }'); \
		echo "$$f:$${line:-1}: not gofmt-formatted: run gofmt -w $$f"; \
		status=1; \
	done; \
	exit $$status

verify-vet: ## go vet ./...
	@$(GO) vet ./... || { echo "[verify] go vet: fix each file:line above ('go tool vet help' describes the checks)"; exit 1; }

verify-imports: ## Import rules of analysis/rules/gcp-imports.yaml (go vet -vettool=_output/bin/importrule)
	@mkdir -p $(BIN)
	@$(GO) build -o $(BIN)/importrule ./cmd/importrule
	@$(GO) vet -vettool=$(BIN)/importrule -importrule.rules=$(VERIFY_IMPORT_RULES) ./... || { \
		echo "[verify] import rules: each file:line above imports what its layer must not (the rule's reason says why):"; \
		echo "  move the code to a layer allowed to import it, or change the layering in analysis/rules/gcp-imports.yaml in review"; \
		exit 1; }

verify-dupcode: ## Copied code: 6+ lines of the same token shape in two places (cmd/dupcode, exemptions in analysis/rules/dupcode-allow.txt)
	@mkdir -p $(BIN)
	@$(GO) build -o $(BIN)/dupcode ./cmd/dupcode
	@$(BIN)/dupcode -allow $(VERIFY_DUPCODE_ALLOW) .

.DEFAULT_GOAL := $(_verify_default_goal)

# flashstock — `make run` starts a local dev server, `make test` runs every test.
.DEFAULT_GOAL := help
SHELL := /bin/bash

GO          ?= go
BIN         := bin/flashstock
VERSION     ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT      ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
LDFLAGS     := -X main.version=$(VERSION) -X main.commit=$(COMMIT)
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
WITHSERVICES := $(GO) run ./internal/devenv/withservices --

include docs/make-assets.mk

.PHONY: help build run test test-short lint migrate bench bench-quick clean

help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sort | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

build: assets ## build bin/flashstock
	@echo "building $(BIN) (the first build downloads Go modules and compiles everything: a minute or two)"
	@$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/flashstock
	@echo "built $(BIN)"

run: build ## serve on 127.0.0.1:8080 with a local PostgreSQL + Redis under .data/ (Ctrl-C stops all)
	./$(BIN) serve

test: assets ## run every test (-race) against throwaway PostgreSQL and Redis
	$(WITHSERVICES) $(GO) test -race -count=1 -timeout 5m ./...

bench: build ## bench suite (~5 min): scenarios + baselines side by side, audited; report in bench-results/
	./$(BIN) bench --out bench-results

bench-quick: build ## bench suite small and short (~1 min), for its audit (CI runs it); report in bench-results/quick/
	./$(BIN) bench --quick --out bench-results/quick

lint: ## gofmt check, go vet, staticcheck
	@bad=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$bad" ]; then echo "gofmt would change:"; echo "$$bad"; exit 1; fi
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...

migrate: build ## apply pending migrations (FLASHSTOCK_DATABASE_URL, else the local dev database)
	./$(BIN) migrate

clean: ## remove build output (keeps .data/)
	rm -rf bin

# 防返贫预警助手 — make test runs everything CI runs; make demo plays a whole month.
SHELL := /bin/bash
export PATH := $(PATH):/usr/local/go/bin
GO ?= go
PG_SERVER ?= postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable
export FANGPIN_TEST_PG ?= $(PG_SERVER)
export FANGPIN_TEST_REDIS ?= redis://127.0.0.1:6379/0

.PHONY: test services fmt-check vet unit build demo bench clean-testdb

test: services build fmt-check vet clean-testdb unit

services:
	@bash scripts/services.sh
	@bash scripts/chromium.sh

build:
	$(GO) build -o bin/fangpin ./cmd/fangpin

fmt-check:
	@out=$$(gofmt -l $$(find . -name '*.go' -not -path './bin/*')); \
	if [ -n "$$out" ]; then echo "gofmt 未通过：" $$out; exit 1; fi

vet:
	$(GO) vet ./...

# Tests make their own throwaway databases (fangpin_test_*); drop any a killed run left.
clean-testdb:
	@psql "$(PG_SERVER)" -qtAc "SELECT datname FROM pg_database WHERE datname LIKE 'fangpin_test_%'" | \
	  while read -r db; do [ -n "$$db" ] && psql "$(PG_SERVER)" -qc "DROP DATABASE IF EXISTS $$db WITH (FORCE)"; done; true

unit:
	$(GO) test -race -count=1 -timeout 15m ./...

bench: services
	$(GO) test -run '^$$' -bench . -benchtime 1x ./...

demo: services build
	@echo "not yet: make demo arrives with issue 8"

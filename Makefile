# 防返贫预警助手 — make test runs everything CI runs; make demo plays a whole month.
SHELL := /bin/bash
# The Go that scripts/services.sh installs (go.mod's) comes before an older one of Debian's.
export PATH := /usr/local/go/bin:$(PATH)
GO ?= go
# A server whose PostgreSQL asks for a password: set FANGPIN_TEST_PG to a URL with one
# (scripts/services.sh prints how); every target here uses it.
PG_SERVER ?= $(or $(FANGPIN_TEST_PG),postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable)
export FANGPIN_TEST_PG := $(PG_SERVER)
export FANGPIN_TEST_REDIS ?= redis://127.0.0.1:6379/0

.PHONY: test static services fmt-check vet deps-check funclen unit fuzz build demo demo-check bench clean-testdb check-ledger-pdf

# Once the binary is built and leftovers dropped, the static checks, the unit tests, the fuzz
# targets and the demo run side by side: the unit run's tail (the sequential serve tests of
# cmd/fangpin) leaves a core idle for minutes, which the others use (docs/testing.md). Each
# keeps its own databases and Redis prefix; the output of each comes whole when it ends
# (--output-sync), and any failure fails the target.
test: services build clean-testdb
	@$(MAKE) --no-print-directory -j4 --output-sync=target static unit fuzz demo-check

# gofmt, go vet and the architecture checks.
static: fmt-check vet deps-check funclen

services:
	@bash scripts/services.sh
	@bash scripts/chromium.sh

build:
	$(GO) build -o bin/fangpin ./cmd/fangpin

# fmt-check also refuses "spec §N" in Go files: comments cite what the repository holds
# (docs/*.md), not the product spec's sections.
fmt-check:
	@out=$$(gofmt -l $$(find . -name '*.go' -not -path './bin/*')); \
	if [ -n "$$out" ]; then echo "gofmt 未通过：" $$out; exit 1; fi
	@out=$$(grep -rln --include='*.go' --exclude-dir=bin '§' .); \
	if [ -n "$$out" ]; then echo "代码中引用了 spec §（请改为指向 docs/*.md）：" $$out; exit 1; fi

vet:
	$(GO) vet ./...

# The edges (handlers, notify, bot) link no store, driver or migration tool: the failure
# names the import chain that brings one in (internal/archcheck, docs/layout.md).
deps-check:
	$(GO) test -count=1 -run 'TestEdgesLinkNoStore|TestImportChain' ./internal/archcheck/

# No function outside tests over 100 lines, but for internal/archcheck/funclen_allow.txt.
funclen:
	$(GO) test -count=1 -run 'TestNoLongFunctions|TestLongFuncs' ./internal/archcheck/

# Tests make their own throwaway databases (fangpin_test_<pid>_*); drop those a killed run
# left behind, and leave alone the ones of test processes still running. Migrated test
# databases are copies of a template named by a hash of the migrations
# (fangpin_test_tmpl_<hash>, cases/postgres/pgtest): keep the current one, drop older ones.
MIGRATIONS_HASH = $(shell find cases/postgres/migrations bot/pgqueue/migrations -name '*.sql' -printf '%f %p\n' | \
  LC_ALL=C sort | cut -d' ' -f2 | xargs cat | sha256sum | cut -c1-16)
clean-testdb:
	@psql "$(PG_SERVER)" -qtAc "SELECT datname FROM pg_database WHERE datname LIKE 'fangpin_test_%'" | \
	  while read -r db; do \
	    if [ "$$db" = "fangpin_test_tmpl_$(MIGRATIONS_HASH)" ]; then continue; fi; \
	    pid=$$(echo "$$db" | sed -n 's/^fangpin_test_\([0-9]*\)_.*/\1/p'); \
	    if [ -n "$$pid" ] && kill -0 "$$pid" 2>/dev/null; then continue; fi; \
	    psql "$(PG_SERVER)" -qc "DROP DATABASE IF EXISTS $$db WITH (FORCE)"; \
	  done; true

unit:
	$(GO) test -race -count=1 -timeout 15m ./...

# Every fuzz target of the module runs for FUZZTIME (scripts/fuzz.sh: one -fuzz at a time, and
# one more run for Go 1.26's deadline race, which writes no failing input).
FUZZTIME ?= 3s
fuzz:
	@FUZZTIME=$(FUZZTIME) GO=$(GO) bash scripts/fuzz.sh

# Every benchmark once (docs/performance.md): a few minutes on 2 cores. The reminders
# benchmark runs the spec's load, 100,000 due at 09:00; FANGPIN_BENCH_REMINDERS changes it.
FANGPIN_BENCH_REMINDERS ?= 100000
# The registry benchmark imports a county's registry: 100,000 households, about 300,000 members.
FANGPIN_BENCH_HOUSEHOLDS ?= 100000
bench: services
	FANGPIN_BENCH_REMINDERS=$(FANGPIN_BENCH_REMINDERS) FANGPIN_BENCH_HOUSEHOLDS=$(FANGPIN_BENCH_HOUSEHOLDS) $(GO) test -run '^$$' -bench . -benchtime 1x -timeout 20m ./...

DEMO_DB ?= fangpin_demo
DEMO_URL ?= $(subst /postgres?,/$(DEMO_DB)?,$(PG_SERVER))

# The whole monthly cycle against the WeCom simulator, then the demo page until Ctrl-C.
# Each run starts from a fresh demo database.
demo: services build
	@psql "$(PG_SERVER)" -qc "DROP DATABASE IF EXISTS $(DEMO_DB) WITH (FORCE)" -c "CREATE DATABASE $(DEMO_DB)"
	DATABASE_URL="$(DEMO_URL)" ./bin/fangpin demo $(DEMO_ARGS)

# CI plays the demo's two months (about 15 s) on a throwaway database, with its own Redis
# prefix and ports, and fails when the demo fails; its console is shown only then. The
# database is named like the tests' (fangpin_test_<pid>_demo), so clean-testdb drops it if
# a run is killed.
demo-check: services build
	@db=fangpin_test_$$$$_demo; prefix=fangpin-demo-check-$$$$-$$RANDOM:; out=$$(mktemp -d); \
	psql "$(PG_SERVER)" -qc "CREATE DATABASE $$db" || exit 1; \
	DATABASE_URL="$(subst /postgres?,/$$db?,$(PG_SERVER))" FANGPIN_REDIS_PREFIX="$$prefix" \
	  ./bin/fangpin demo --no-serve --addr 127.0.0.1:0 --sim-addr 127.0.0.1:0 --out "$$out" >"$$out/demo.log" 2>&1; rc=$$?; \
	if [ $$rc -ne 0 ]; then cat "$$out/demo.log"; echo "fangpin demo --no-serve 失败（退出码 $$rc）"; \
	else echo "fangpin demo --no-serve 通过：$$(grep -c '' "$$out/demo.log") 行输出"; fi; \
	psql "$(PG_SERVER)" -qc "DROP DATABASE IF EXISTS $$db WITH (FORCE)"; \
	redis-cli -h 127.0.0.1 -p 6379 --scan --pattern "$$prefix*" | xargs -r redis-cli -h 127.0.0.1 -p 6379 del >/dev/null; \
	rm -rf "$$out"; exit $$rc

# Prints a generated month's ledger (36 cases with long reasons, several pages, every sheet) to
# PDF with LibreOffice and turns each page into a PNG to look at (docs/ledger.md "Printing").
# Not part of make test: LibreOffice is large, so it is installed here only when missing, with a
# CJK font (else the PDF shows empty boxes), Carlito (Calibri's metric twin: the ledger's dates
# and case numbers) and poppler-utils (pdfinfo, pdftotext, pdftoppm). The test checks the page
# count, the signature block and the end of the longest reason in the PDF's text and the header
# on every page; the XLSX, the PDF and page-NN.png are kept in bin/ledger-check/.
check-ledger-pdf:
	@SUDO=""; [ "$$(id -u)" -ne 0 ] && SUDO=sudo; pkgs=""; \
	command -v soffice >/dev/null 2>&1 || command -v libreoffice >/dev/null 2>&1 || pkgs="libreoffice-calc-nogui"; \
	fc-list :lang=zh 2>/dev/null | grep -q . || pkgs="$$pkgs fonts-wqy-microhei"; \
	fc-list 2>/dev/null | grep -q Carlito || pkgs="$$pkgs fonts-crosextra-carlito"; \
	command -v pdftoppm >/dev/null 2>&1 || pkgs="$$pkgs poppler-utils"; \
	if [ -n "$$pkgs" ]; then echo "安装 $$pkgs……" >&2; $$SUDO apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$pkgs >/dev/null; fi
	rm -rf bin/ledger-check && mkdir -p bin/ledger-check
	FANGPIN_REQUIRE_LIBREOFFICE=1 FANGPIN_LEDGER_CHECK_DIR=$(CURDIR)/bin/ledger-check \
	  $(GO) test -count=1 -run 'TestLedgerPDF|TestLedgerPrintsOnA4Landscape' -v ./cases/ledgerxlsx/
	@echo "请查看 bin/ledger-check/ 中的 PDF 和 page-*.png：每条理由完整、每页有表头和页码、表尾有签字栏。"

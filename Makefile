# All Go commands carry the duckdb_arrow tag: duckdb-go's Arrow interface
# (NewArrowFromConn) exists only under it.
TAGS    := duckdb_arrow
GO      ?= go
GOTAGS  := -tags=$(TAGS)
BIN     := bin/backtest
VENV    := .venv
PKGS    := ./...

.PHONY: all build test test-race bench bench-scale fuzz lint fmt vet interop demo cover clean

all: build

build:
	$(GO) build $(GOTAGS) -o $(BIN) ./cmd/backtest

test:
	$(GO) test $(GOTAGS) -count=1 $(PKGS)

# The packages with goroutines: the lake writers, the feed prefetcher and
# fan-out (feeds.Tee), and the sweep's worker pool and shared decodes.
test-race:
	$(GO) test $(GOTAGS) -race -count=1 ./lake/... ./feeds/...
	$(GO) test $(GOTAGS) -race -count=1 -run 'TestSweep' ./cmd/backtest

cover:
	$(GO) test $(GOTAGS) -cover ./risk/

bench:
	$(GO) test $(GOTAGS) -run='^$$' -bench=. -benchmem $(PKGS)

# The scale benchmark: 10M, 30M and 100M-quote Parquet feeds (about 4.2 GB in
# a temporary folder, deleted after), the full stack against DuckDB's bare
# Arrow scan, each measured three times in a fresh process (median), then one
# run against a 16-configuration sweep. SIZES=1M,3M for a quick look;
# FILE_QUOTES=10M writes each feed as a folder of files of whole sessions
# (at least 10 M quotes each) instead of one file.
SIZES ?= 10M,30M,100M
FILE_QUOTES ?= 0
bench-scale: build
	uptime
	$(BIN) bench --sizes $(SIZES) --file-quotes $(FILE_QUOTES)

# Every fuzz target, FUZZTIME each. A new interesting input is minimized in
# at most 20 executions: the feed targets open DuckDB for each input (~10 ms),
# and Go's default (up to 60 s of minimizing per input) shows as a stall.
FUZZTIME ?= 20s
fuzz:
	@set -e; for f in $$(grep -l '^func Fuzz' $$(git ls-files '*_test.go')); do \
	  for t in $$(sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\)(.*/\1/p' $$f); do \
	    echo "== $$t ./$$(dirname $$f)"; \
	    $(GO) test $(GOTAGS) -run '^$$' -fuzz "^$$t$$" -fuzztime $(FUZZTIME) -fuzzminimizetime 20x ./$$(dirname $$f); \
	  done; \
	done

vet:
	$(GO) vet $(GOTAGS) $(PKGS)

fmt:
	gofmt -w $$(git ls-files '*.go')

lint: vet
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

$(VENV)/.ok: tests/interop/requirements.txt
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install -q -r tests/interop/requirements.txt
	touch $@

interop: $(VENV)/.ok
	$(VENV)/bin/python -m pytest -q tests/interop

demo:
	$(GO) run $(GOTAGS) ./cmd/backtest run scenarios/spy_crash.yaml

clean:
	rm -rf bin runs

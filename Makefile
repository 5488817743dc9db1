# p1ctl — see README.md. `make test` is what CI runs (.ci/run).
GO        ?= go
BIN       ?= bin/p1ctl
FUZZTIME  ?= 10s
PKGS      := ./...

.PHONY: all build test unit fuzz lint fmt fmtcheck vet bench golden clean

all: build

build:
	$(GO) build -o $(BIN) ./cmd/p1ctl

# test: formatting, vet, the race-enabled test suite, then a bounded fuzz run.
test: fmtcheck vet unit fuzz

fmtcheck:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet $(PKGS)

unit:
	$(GO) test -race -count=1 $(PKGS)

fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzLoad$$' -fuzztime $(FUZZTIME) -fuzzminimizetime 2s ./manifests

lint: vet
	staticcheck $(PKGS)

fmt:
	gofmt -w $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')

bench:
	$(GO) test -run '^$$' -bench . -benchmem $(PKGS)

golden:
	$(GO) test ./engine/render/... ./manifests/... -update

clean:
	rm -rf bin

# penny — see README.md. Everything here needs only Go.
GO       ?= go
BIN      ?= bin/penny
PKGS     ?= ./...
# Benchmarks: BENCH selects, BENCHTIME bounds each one.
BENCH    ?= .
BENCHTIME ?= 1s

.PHONY: run build test bench vet fmt fuzz clean

## run: build and start the playground on the embedded defaults
run: build
	./$(BIN)

## build: compile the penny binary into bin/
build:
	$(GO) build -o $(BIN) .

## test: vet and run every test with the race detector
test: vet
	$(GO) test -race -count=1 -timeout 15m $(PKGS)

vet:
	$(GO) vet $(PKGS)

## bench: run the benchmarks (no tests); narrow with BENCH=Regexp PKGS=./core/...
bench:
	$(GO) test -run '^$$' -bench '$(BENCH)' -benchmem -benchtime $(BENCHTIME) $(PKGS)

fmt:
	gofmt -l -w .

clean:
	rm -rf bin

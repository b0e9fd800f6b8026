# Enroute. `make run` starts the server on the embedded store; `make demo`
# starts the live demo beside it; `make test` runs every test. `make run`
# needs Go 1.26+ and Node.js with npm (which fetches the map library).
SHELL := /bin/bash
GO ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.Version=$(VERSION)

MAILPIT_VERSION := v1.33.1
GOBIN := $(shell $(GO) env GOPATH)/bin

.PHONY: all build run demo release image test test-short vet fmt bench bench-peers clean tools web fuzz fuzz-corpus

all: build

build: web
	$(GO) build -ldflags "$(LDFLAGS)" -o bin/enroute ./cmd/enroute

## web: front-end libraries from the npm registry (pinned in package-lock.json),
## copied into static/files/vendor to be embedded; never committed
web: static/files/vendor/leaflet/leaflet.js

static/files/vendor/leaflet/leaflet.js: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	mkdir -p static/files/vendor/leaflet
	cp -R node_modules/leaflet/dist/. static/files/vendor/leaflet/
	touch $@

## run: build and start on http://127.0.0.1:8080 with the embedded SQLite store in
## ./data: your company's data, which nothing but you changes
run: build
	./bin/enroute

## demo: build and start the live demo in a data directory of its own
## (./data-demo, started afresh each time), so it never touches ./data
demo: build
	rm -rf ./data-demo
	./bin/enroute --demo --data-dir ./data-demo

## test: vet, then every test with the race detector. PostgreSQL tests need
## ENROUTE_TEST_DATABASE_URL, multi-node tests also ENROUTE_TEST_NATS_URL, the
## OwnTracks-over-MQTT tests ENROUTE_TEST_MQTT_URL (all set by .ci/run);
## without them they skip and say so.
test: web vet tools
	$(GO) test -race -count=1 -timeout 15m ./...
	@$(MAKE) --no-print-directory fuzz

## release: static binaries for linux/amd64 and linux/arm64 with the web
## assets inside, and their SHA-256 sums, in $(DIST). h3-go needs cgo: both
## are linked statically (no libc needed on the target), arm64 with Debian's
## gcc-aarch64-linux-gnu and libc6-dev-arm64-cross. Run on an amd64 host.
DIST ?= dist
RELEASE_FLAGS = -trimpath -tags netgo,osusergo -ldflags "$(LDFLAGS) -s -w -linkmode external -extldflags -static"
release: web
	rm -rf $(DIST) && mkdir -p $(DIST)
	CGO_ENABLED=1 GOOS=linux GOARCH=amd64 $(GO) build $(RELEASE_FLAGS) -o $(DIST)/enroute-$(VERSION)-linux-amd64 ./cmd/enroute
	CGO_ENABLED=1 GOOS=linux GOARCH=arm64 CC=aarch64-linux-gnu-gcc $(GO) build $(RELEASE_FLAGS) -o $(DIST)/enroute-$(VERSION)-linux-arm64 ./cmd/enroute
	cd $(DIST) && sha256sum enroute-$(VERSION)-linux-* > SHA256SUMS

## image: the container image $(IMAGE):$(VERSION) and :latest, FROM scratch
## around the amd64 release binary (nothing is pulled), with podman
IMAGE ?= enroute
image: release
	rm -rf $(DIST)/image && mkdir -p $(DIST)/image/data
	cp $(DIST)/enroute-$(VERSION)-linux-amd64 $(DIST)/image/enroute
	cp /etc/ssl/certs/ca-certificates.crt $(DIST)/image/
	podman build --format docker -t $(IMAGE):$(VERSION) -t $(IMAGE):latest -f deploy/Containerfile $(DIST)/image

## fuzz: each fuzz target explores for FUZZTIME beyond its committed corpus
## (testdata/fuzz, which every `go test` also runs); make test runs it for
## 3s each. A failure prints the input, which go test saves in testdata;
## a bare "context deadline exceeded" with no input written is Go 1.26's
## race at the fuzztime's end (fixed in Go 1.27), not a finding.
FUZZTIME ?= 3s
fuzz:
	@set -e; for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
	    echo "fuzz $$f ($$pkg, $(FUZZTIME))"; \
	    if ! out=$$($(GO) test -run '^$$' -fuzz "^$$f\$$" -fuzztime $(FUZZTIME) $$pkg 2>&1); then \
	      if echo "$$out" | grep -q 'context deadline exceeded' && ! echo "$$out" | grep -q 'Failing input written'; then \
	        echo "  stopped by Go 1.26's fuzztime race (golang/go#75804), no failing input: not a finding"; \
	      else echo "$$out"; exit 1; fi; \
	    fi; \
	  done; \
	done

## fuzz-corpus: after a long `make fuzz FUZZTIME=60s`, copy up to 40 of the
## smallest inputs each target found into its testdata/fuzz, to commit
fuzz-corpus:
	@cache=$$($(GO) env GOCACHE)/fuzz; for pkg in $$($(GO) list ./...); do \
	  dir=$$($(GO) list -f '{{.Dir}}' $$pkg); \
	  for f in $$(ls $$cache/$$pkg 2>/dev/null | grep '^Fuzz'); do \
	    mkdir -p $$dir/testdata/fuzz/$$f; \
	    ls -Sr $$cache/$$pkg/$$f | head -40 | while read -r x; do cp -n $$cache/$$pkg/$$f/$$x $$dir/testdata/fuzz/$$f/; done; \
	    echo "$$pkg $$f: $$(ls $$dir/testdata/fuzz/$$f | wc -l) inputs"; \
	  done; \
	done

## tools: what the tests run beside Enroute: mailpit (a real SMTP server),
## and Debian's packages (the list .ci/run installs: Chromium, curl, jq,
## systemd-analyze, podman, podman-compose, the arm64 cross compiler,
## Mosquitto, which .ci/run also starts);
## apt-get needs root, else the tests needing them skip and say so
TEST_PACKAGES := chromium curl jq systemd podman runc podman-compose gcc-aarch64-linux-gnu libc6-dev-arm64-cross mosquitto
tools:
	@test -x "$(GOBIN)/mailpit" || command -v mailpit >/dev/null || \
	  (echo "installing mailpit $(MAILPIT_VERSION)"; $(GO) install github.com/axllent/mailpit@$(MAILPIT_VERSION))
	@missing=$$(for p in $(TEST_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	  if [ -n "$$missing" ] && [ "$$(id -u)" = 0 ]; then \
	    echo "installing" $$missing; apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  fi

test-short: web vet
	$(GO) test -short -count=1 ./...

vet:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$unformatted" ]; then echo "gofmt needed: $$unformatted"; exit 1; fi
	$(GO) vet ./...

## bench: the micro-benchmarks beside the code
bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

## bench-peers: Enroute beside Centrifugo and Tile38 on this machine, rounds
## alternating, medians and ratios (bench/peers; never part of make test).
## It installs Centrifugo and unpacks Tile38 into bench/.peers the first time;
## PEERS_FLAGS passes flags: make bench-peers PEERS_FLAGS=-quick
PEERS_FLAGS ?=
bench-peers: build
	$(GO) run ./bench/peers $(PEERS_FLAGS)

clean:
	rm -rf bin dist

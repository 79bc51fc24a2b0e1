# govde — see README.md. `make run` starts a switch, `make test` runs everything.
GO       ?= go
BIN      := bin
CLASSIC  := vde_switch vde_plug dpipe vdeterm unixterm wirefilter vde_plug2tap vde_cryptcab slirpvde
PKGS     := ./...
# Packages whose tests start real processes, namespaces or the real VDE
# tools: run without the race detector (it slows the peers' timing tests).
INTEROP  := ./interop/...
UNIT     := $(shell $(GO) list ./... 2>/dev/null | grep -v /interop)
STATICCHECK := $(shell $(GO) env GOPATH)/bin/staticcheck

.PHONY: all build run deps test unit interop lint fmt bench clean

all: build

build:
	@mkdir -p $(BIN)
	$(GO) build -trimpath -o $(BIN)/vde ./cmd/vde
	@for n in $(CLASSIC); do ln -sf vde $(BIN)/$$n; done

# Start a switch with the default settings (control dir /var/run/vde.ctl as
# root, /tmp/vde.ctl otherwise) and its console on this terminal.
run: build
	$(BIN)/vde_switch

# Test peers: the real VDE tools and friends, installed when root.
DEPS_BINS := vde_switch vde_plug dpipe unixcmd vdeterm wirefilter vde_plug2tap iperf3 ip socat script setpriv unshare runuser busybox
deps:
	@missing=""; for b in $(DEPS_BINS); do command -v $$b >/dev/null 2>&1 || missing="$$missing $$b"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing test peers (missing:$$missing)"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq vde2 iperf3 iproute2 socat util-linux bsdutils busybox >/dev/null; \
	  else echo "warning: missing test peers:$$missing (not root: interop tests will skip, or fail with CI=true)"; fi; \
	fi
	@[ -e /usr/include/libvdeplug.h ] || { if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "installing libvdeplug-dev (bench/clients)"; apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libvdeplug-dev >/dev/null; \
	  else echo "warning: libvdeplug.h missing (apt-get install libvdeplug-dev): bench/compare.sh needs it"; fi; }
	@[ -x $(STATICCHECK) ] || GOFLAGS= $(GO) install honnef.co/go/tools/cmd/staticcheck@latest

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)
	$(STATICCHECK) $(PKGS)

unit:
	$(GO) test -race -timeout 10m $(UNIT)

interop: build
	$(GO) test -count=1 -timeout 15m $(INTEROP)

test: deps lint unit interop

bench: build
	bench/gobench.sh
	bench/compare.sh
	bench/fstp_failover.sh
	bench/chain_bench.sh
	bench/tap_iperf.sh
	bench/cryptcab_bench.sh
	bench/slirp_iperf.sh

clean:
	rm -rf $(BIN)

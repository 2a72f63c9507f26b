# tend: one binary, one test command.
GO ?= go

.PHONY: build shim test bench apibench scalebench nodebench podstartbench runcstartbench vet

build: shim
	$(GO) build -o bin/tend ./cmd/tend

# The slim binary tend carries and runs as containers' shims and init
# (kubelet/runc/shim): built first, so that tend embeds it. A plain
# `go build ./cmd/tend` works too, with slower container starts.
SHIM := kubelet/runc/shim/embedded/bin/tend-shim
shim:
	$(GO) build -trimpath -ldflags='-s -w' -o $(SHIM) ./kubelet/runc/shim/tend-shim

# Every test: unit, in-process server, and end-to-end with the real kubectl.
test: shim
	$(GO) vet ./...
	$(GO) test -count=1 -timeout 60m ./...

vet:
	$(GO) vet ./...

# Go benchmarks (storage, apiserver, scheduler, tendtest start-up).
bench:
	$(GO) test -run '^$$' -bench . -benchmem ./apiserver/... ./controllers/scheduler/... ./tendtest/

# The apiserver against ../shared/bench/apibench, upstream's yardstick.
apibench:
	test/bench/apibench.sh

# The controllers scaling a Deployment from 0 to 10,000 replicas.
scalebench:
	$(GO) run ./test/bench/scale

# Pod startup with real containers (root; in a network namespace of its own).
podstartbench: shim
	$(GO) run ./test/bench/podstart -pods 50 -starting 5

# tend's container start against `runc run` of the same bundle (root;
# installs Debian's runc package for the comparison when it is missing).
runcstartbench: shim
	command -v runc >/dev/null || (apt-get update -qq && apt-get install -y -qq runc)
	$(GO) run ./test/bench/runcstart -n 30

# Hollow nodes: the scheduler's pods/s for 10,000 pods on 1,000 and 5,000
# nodes, the agent's memory per node, and a 10,000-replica Deployment from
# apply to Running on 1,000 nodes.
nodebench: shim
	$(GO) run ./test/bench/nodes -nodes 1000 -pods 10000 -mode schedule
	$(GO) run ./test/bench/nodes -nodes 5000 -pods 10000 -mode schedule
	$(GO) run ./test/bench/nodes -nodes 1000 -pods 10000 -mode deployment

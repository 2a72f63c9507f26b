# tend: one binary, one test command.
GO ?= go

.PHONY: build test bench apibench scalebench nodebench podstartbench runcstartbench vet

build:
	$(GO) build -o bin/tend ./cmd/tend

# Every test: unit, in-process server, and end-to-end with the real kubectl.
test:
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

# Hollow nodes: the scheduler's pods/s for 10,000 pods on 1,000 and 5,000
# nodes, the agent's memory per node, and a 10,000-replica Deployment from
# apply to Running on 1,000 nodes.
# Pod startup with real containers (root; in a network namespace of its own).
podstartbench:
	$(GO) run ./test/bench/podstart -pods 50 -starting 5

# tend's container start against `runc run` of the same bundle (root;
# installs Debian's runc package for the comparison when it is missing).
runcstartbench:
	command -v runc >/dev/null || (apt-get update -qq && apt-get install -y -qq runc)
	$(GO) run ./test/bench/runcstart -n 30

nodebench:
	$(GO) run ./test/bench/nodes -nodes 1000 -pods 10000 -mode schedule
	$(GO) run ./test/bench/nodes -nodes 5000 -pods 10000 -mode schedule
	$(GO) run ./test/bench/nodes -nodes 1000 -pods 10000 -mode deployment

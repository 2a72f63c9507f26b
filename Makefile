# tend: one binary, one test command.
GO ?= go

.PHONY: build test bench apibench scalebench vet

build:
	$(GO) build -o bin/tend ./cmd/tend

# Every test: unit, in-process server, and end-to-end with the real kubectl.
test:
	$(GO) vet ./...
	$(GO) test -count=1 -timeout 60m ./...

vet:
	$(GO) vet ./...

# Go benchmarks (storage, apiserver, tendtest start-up).
bench:
	$(GO) test -run '^$$' -bench . -benchmem ./apiserver/... ./tendtest/

# The apiserver against ../shared/bench/apibench, upstream's yardstick.
apibench:
	test/bench/apibench.sh

# The controllers scaling a Deployment from 0 to 10,000 replicas.
scalebench:
	$(GO) run ./test/bench/scale

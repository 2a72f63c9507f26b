# tend: one binary, one test command.
GO ?= go

.PHONY: build test bench vet

build:
	$(GO) build -o bin/tend ./cmd/tend

# Every test: unit, in-process server, and end-to-end with the real kubectl.
test:
	$(GO) vet ./...
	$(GO) test -count=1 -timeout 60m ./...

vet:
	$(GO) vet ./...

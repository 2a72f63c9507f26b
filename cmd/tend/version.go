package main

import (
	"context"
	"fmt"
	"runtime/debug"
)

// version is set at build time with -ldflags "-X main.version=..."; otherwise the
// module version is used.
var version = ""

func runVersion(ctx context.Context, args []string) error {
	v := version
	if v == "" {
		if bi, ok := debug.ReadBuildInfo(); ok {
			v = bi.Main.Version
		}
	}
	if v == "" || v == "(devel)" {
		v = "dev"
	}
	fmt.Printf("tend %s (Kubernetes API v1.37)\n", v)
	return nil
}

package main

import (
	"context"
	"fmt"
	"runtime/debug"
)

// version is set at build time with -ldflags "-X main.version=..."; otherwise the
// module version is used.
var version = ""

// tendVersion is tend's version: the linked-in one, the module's, or "dev".
func tendVersion() string {
	v := version
	if v == "" {
		if bi, ok := debug.ReadBuildInfo(); ok {
			v = bi.Main.Version
		}
	}
	if v == "" || v == "(devel)" {
		v = "dev"
	}
	return v
}

func runVersion(ctx context.Context, args []string) error {
	fmt.Printf("tend %s (Kubernetes API v1.37)\n", tendVersion())
	return nil
}

package main

import (
	"fmt"
	"os"

	// libcontainer's container init needs its cgo half (namespaces are
	// joined before the Go runtime starts) and the device rules manager.
	_ "github.com/opencontainers/cgroups/devices"
	"github.com/opencontainers/runc/libcontainer"
	_ "github.com/opencontainers/runc/libcontainer/nsenter"

	"github.com/tendhq/tend/kubelet/runc/shim"
)

// runInternal runs the commands tend re-executes itself as for the real
// container runtime, which no one types: `tend init` (a container's init,
// libcontainer's) and `tend shim` (a container's keeper). It reports false
// for any other command. (The third, `tend pause`, a pod's sandbox
// process, never reaches Go: package runc runs it from a C constructor.)
func runInternal(args []string) bool {
	if len(args) < 2 {
		return false
	}
	switch args[1] {
	case "init":
		libcontainer.Init() // never returns
	case "shim":
		exitWith(shim.Run(args[2:]))
	}
	return false
}

func exitWith(err error) {
	if err != nil {
		fmt.Fprintf(os.Stderr, "tend %s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
	os.Exit(0)
}

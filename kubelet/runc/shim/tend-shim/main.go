// Command tend-shim is the slim binary tend runs as a container's shim and
// init: `tend-shim shim ...` (shim.Run) and `tend-shim init` (libcontainer's
// container init, which libcontainer runs from the binary the shim runs).
// tend carries it inside itself (package embedded, built by `make shim`);
// a tend built without it runs itself in both roles, paying the start-up of
// a large binary (tens of milliseconds) twice per container.
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

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "tend-shim is run by tend, as `tend-shim shim ...` or `tend-shim init`")
		os.Exit(2)
	}
	switch os.Args[1] {
	case "init":
		libcontainer.Init() // never returns
	case "shim":
		if err := shim.Run(os.Args[2:]); err != nil {
			fmt.Fprintf(os.Stderr, "tend-shim: %v\n", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	fmt.Fprintf(os.Stderr, "tend-shim: unknown command %q\n", os.Args[1])
	os.Exit(2)
}

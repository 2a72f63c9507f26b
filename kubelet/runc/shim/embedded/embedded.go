// Package embedded carries the slim tend-shim binary inside tend, when the
// build put it there: `make shim` (which `make build` and `make test` run)
// builds ../tend-shim to bin/tend-shim before tend is compiled.
package embedded

import (
	"embed"
	"io/fs"
)

//go:embed all:bin
var bin embed.FS

// Shim returns the tend-shim binary built into this tend, or nil when tend
// was built without one (a plain `go build`).
func Shim() []byte {
	b, err := fs.ReadFile(bin, "bin/tend-shim")
	if err != nil {
		return nil
	}
	return b
}

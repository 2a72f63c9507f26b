// Package shim is a container's keeper: the process that starts one
// container with runc's libcontainer, outlives the kubelet that asked for
// it, writes the container's output to its log in the CRI format and
// records how the container ended (Run, Start, ReadExit, Alive).
//
// The package is kept small on purpose: the binary that runs a shim also
// runs every container's init (libcontainer re-executes the binary it runs
// in), so whatever it imports is paid for at every container start. The
// slim binary in tend-shim imports only this package and libcontainer;
// package embedded carries it inside tend.
package shim

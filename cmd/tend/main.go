// Command tend is the one binary of tend: the server, its components, and tools.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"sort"
	"syscall"
)

// command is one subcommand.
type command struct {
	summary string
	run     func(ctx context.Context, args []string) error
}

func commands() map[string]command {
	return map[string]command{
		"server":             {"run everything a single machine needs: etcd, the apiserver and the rest", runServer},
		"apiserver":          {"run the API server alone", runAPIServer},
		"controller-manager": {"run the controllers (ReplicaSet, Deployment, garbage collector, ...)", runControllerManager},
		"scheduler":          {"run the scheduler alone", runScheduler},
		"agent":              {"join a server as one node, or as many hollow ones", runAgent},
		"kubelet":            {"run the node agent's kubelet alone", runAgent},
		"images":             {"import, list, pull and remove a node's images", runImages},
		"version":            {"print tend's version", runVersion},
	}
}

func usage(w *os.File) {
	fmt.Fprintln(w, "usage: tend COMMAND [flags]\n\ncommands:")
	cmds := commands()
	names := make([]string, 0, len(cmds))
	for n := range cmds {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-12s %s\n", n, cmds[n].summary)
	}
	fmt.Fprintln(w, "\nRun 'tend COMMAND -h' for a command's flags.")
}

func main() {
	runInternal(os.Args)
	if len(os.Args) < 2 || os.Args[1] == "-h" || os.Args[1] == "--help" || os.Args[1] == "help" {
		usage(os.Stdout)
		return
	}
	cmd, ok := commands()[os.Args[1]]
	if !ok {
		fmt.Fprintf(os.Stderr, "tend: unknown command %q\n\n", os.Args[1])
		usage(os.Stderr)
		os.Exit(2)
	}
	raiseFileLimit()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := cmd.run(ctx, os.Args[2:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return
		}
		fmt.Fprintf(os.Stderr, "tend %s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
}

// raiseFileLimit lifts the limit on open files as far as the system allows
// (as a service manager's LimitNOFILE would): an apiserver holds a connection
// per watch, and a thousand nodes watch. Go itself only raises the soft limit
// to the hard one; root may raise the hard one too. Failing leaves the limit
// as it was.
func raiseFileLimit() {
	var lim syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim) != nil {
		return
	}
	want := uint64(1 << 20)
	if b, err := os.ReadFile("/proc/sys/fs/nr_open"); err == nil {
		var n uint64
		if _, err := fmt.Sscan(string(b), &n); err == nil && n > 0 {
			want = min(want, n)
		}
	}
	if lim.Max >= want {
		lim.Cur = max(lim.Cur, want)
		_ = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim)
		return
	}
	if syscall.Setrlimit(syscall.RLIMIT_NOFILE, &syscall.Rlimit{Cur: want, Max: want}) != nil {
		lim.Cur = lim.Max
		_ = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim)
	}
}

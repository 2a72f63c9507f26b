// Command testapp is the program inside tend's test images: one small static
// binary (standard library only, no cgo) whose commands exercise what a
// container runtime must get right: exit codes, environment, files, signals,
// probes, logs, DNS, connectivity, CPU and memory.
//
//	testapp COMMAND [ARGS...]
//
// Commands (output goes to stdout, errors to stderr; any error exits 1):
//
//	serve [--port 8080] [--bind ADDR] [--hostname-file PATH] [--state-dir /tmp]
//	      [--term-delay D] [--ignore-term]
//	                      an HTTP server, below
//	sleep DURATION        sleeps (a Go duration, seconds, or "infinity"); prints nothing
//	exit CODE             exits with CODE (0-255); inside sh -c it ends the script
//	true, false           exit 0, exit 1
//	env                   the environment, sorted KEY=VALUE lines
//	cat [FILE...]         the files' contents, one after the other (- or none: stdin)
//	write PATH CONTENT... writes the CONTENT words joined by spaces (no newline added)
//	resolve NAME          the addresses of NAME (net.DefaultResolver), one a line
//	connect HOST:PORT [TIMEOUT]
//	                      dials TCP (default timeout 5s); prints "connected"
//	burn-cpu DURATION     keeps every CPU busy for DURATION
//	alloc MIB             allocates and touches MIB MiB, prints "allocated MIB MiB",
//	                      then sleeps forever holding it
//	id                    "uid=U gid=G groups=G1,G2"
//	hostname              the kernel's host name
//	log N [INTERVAL]      lines "line 1" … "line N", INTERVAL apart; every third
//	                      line (3, 6, …) goes to stderr instead of stdout
//	echo [-n] ARGS...     the arguments joined by spaces
//	sh -c SCRIPT          runs SCRIPT's commands in this process, below
//	tar cf - PATH...      writes PATHs (files and directories) as a tar stream to stdout
//	tar -xmf - [-C DIR]   extracts a tar stream from stdin into DIR (default .), as
//	                      `kubectl cp` runs it; also xf, and -m is accepted and ignored
//
// serve's endpoints (replies are text/plain; a missing or bad parameter is a 400):
//
//	/                     the host name, or --hostname-file's trimmed content
//	/env                  the environment, sorted KEY=VALUE lines
//	/file?path=P          P's content; 404 if it does not exist
//	/write?path=P&data=D  writes D to P: "wrote N bytes to P"
//	/exit?code=N          replies "exiting with code N", then exits with N
//	/healthz              200 "ok", or 500 while STATE_DIR/unhealthy exists
//	/readyz               200 "ready", or 503 while STATE_DIR/unready exists
//	/resolve?name=N       N's addresses, one a line; 502 if it fails
//	/connect?addr=H:P[&timeout=D]  200 "connected", or 502 and the error
//
// serve prints "listening on ADDR" once it accepts connections. On SIGTERM
// it prints "SIGTERM", keeps serving for --term-delay, finishes the requests
// in flight (http.Server.Shutdown), prints "stopped" and exits 0; with
// --ignore-term it prints "SIGTERM ignored" and carries on. --state-dir
// (default /tmp) lets tests on the host keep their marker files apart.
//
// sh -c is a tiny shell over these commands: `;`, newlines and `&&`; words,
// quotes and backslashes as in sh; no expansions ($, backquotes), pipes,
// `||`, redirections, `&`, subshells or comments (each refused with an
// error); `/bin/echo` is echo and a leading `testapp` word is dropped; a
// failing command prints its error and the script goes on; `exit N` ends it.
//
// Started as sh (a link named sh, e.g. /bin/sh in the test image), the
// program is `testapp sh`, so `sh -c 'echo hi; cat /etc/hostname'` works;
// started as tar, it is `testapp tar`.
//
// Signals: serve handles SIGTERM itself (see serve.go). Every other command,
// on SIGTERM or SIGINT, prints the signal's name ("SIGTERM") and exits with
// 128+signal (143 for SIGTERM), the status a shell reports for a process
// killed by it; this holds even as PID 1, where an unhandled SIGTERM would
// be ignored by the kernel.
//
// Started as PID 1, it reaps every child that is reparented to it, so the
// zombies of processes started with `exec` into its container do not pile up.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

func main() {
	a := &app{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr}
	if os.Getpid() == 1 {
		reapChildren()
	}
	a.handleSignals()
	args := os.Args[1:]
	if base := filepath.Base(os.Args[0]); base == "sh" || base == "tar" {
		args = append([]string{base}, args...)
	}
	os.Exit(a.main(args))
}

// app is the program's state: where it reads and writes, and who handles SIGTERM.
type app struct {
	stdin          io.Reader
	stdout, stderr io.Writer

	mu     sync.Mutex
	onTerm func(os.Signal) // nil: print the signal's name and exit 128+signal
}

// main runs args as a command and returns the process's exit status.
func (a *app) main(args []string) int {
	if len(args) == 0 {
		fmt.Fprint(a.stderr, usage)
		return 1
	}
	err := a.run(args)
	var code exitCode
	switch {
	case err == nil:
		return 0
	case errors.As(err, &code):
		return int(code)
	default:
		fmt.Fprintf(a.stderr, "testapp: %v\n", err)
		return 1
	}
}

// run runs one command. Its error says which command failed; an exitCode
// error asks to end the process with that status.
func (a *app) run(args []string) error {
	cmd, ok := a.command(args[0])
	if !ok {
		return fmt.Errorf("unknown command %q (commands: %s)", args[0], strings.Join(commandNames, ", "))
	}
	if err := cmd(args[1:]); err != nil {
		var code exitCode
		if errors.As(err, &code) {
			return err
		}
		return fmt.Errorf("%s: %w", args[0], err)
	}
	return nil
}

var commandNames = []string{
	"serve", "sleep", "exit", "true", "false", "env", "cat", "write", "resolve", "connect",
	"burn-cpu", "alloc", "id", "hostname", "log", "echo", "sh", "tar",
}

func (a *app) command(name string) (func([]string) error, bool) {
	switch name {
	case "serve":
		return a.serve, true
	case "sleep":
		return a.sleep, true
	case "exit":
		return a.exit, true
	case "true":
		return func([]string) error { return nil }, true
	case "false":
		return func([]string) error { return exitCode(1) }, true
	case "env":
		return a.env, true
	case "cat":
		return a.cat, true
	case "write":
		return a.write, true
	case "resolve":
		return a.resolve, true
	case "connect":
		return a.connect, true
	case "burn-cpu":
		return a.burnCPU, true
	case "alloc":
		return a.alloc, true
	case "id":
		return a.id, true
	case "hostname":
		return a.hostname, true
	case "log":
		return a.log, true
	case "echo":
		return a.echo, true
	case "sh":
		return a.sh, true
	case "tar":
		return a.tar, true
	}
	return nil, false
}

const usage = `usage: testapp COMMAND [ARGS...]

  serve [--port 8080] [--bind ADDR] [--hostname-file PATH] [--state-dir /tmp]
        [--term-delay D] [--ignore-term]
  sleep DURATION | exit CODE | true | false | env | cat [FILE...] | write PATH CONTENT...
  resolve NAME | connect HOST:PORT [TIMEOUT] | burn-cpu DURATION | alloc MIB
  id | hostname | log N [INTERVAL] | echo [-n] ARGS... | sh -c SCRIPT
`

// exitCode is an error that ends the process with this status and prints nothing.
type exitCode int

func (c exitCode) Error() string { return "exit status " + strconv.Itoa(int(c)) }

// handleSignals routes SIGTERM and SIGINT to the handler the running command
// set, or to the default: print the name, exit 128+signal.
func (a *app) handleSignals() {
	ch := make(chan os.Signal, 4)
	signal.Notify(ch, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		for sig := range ch {
			a.mu.Lock()
			h := a.onTerm
			a.mu.Unlock()
			if h != nil {
				h(sig)
				continue
			}
			fmt.Fprintln(a.stdout, signalName(sig))
			code := 1
			if s, ok := sig.(syscall.Signal); ok {
				code = 128 + int(s)
			}
			os.Exit(code)
		}
	}()
}

// setTermHandler makes h handle SIGTERM and SIGINT until the returned
// function restores the previous handler.
func (a *app) setTermHandler(h func(os.Signal)) (restore func()) {
	a.mu.Lock()
	prev := a.onTerm
	a.onTerm = h
	a.mu.Unlock()
	return func() {
		a.mu.Lock()
		a.onTerm = prev
		a.mu.Unlock()
	}
}

func signalName(sig os.Signal) string {
	switch sig {
	case syscall.SIGTERM:
		return "SIGTERM"
	case syscall.SIGINT:
		return "SIGINT"
	}
	return sig.String()
}

// parseDuration reads a Go duration ("1.5s", "2m") or a number of seconds ("3", "0.2").
func parseDuration(s string) (time.Duration, error) {
	if d, err := time.ParseDuration(s); err == nil {
		if d < 0 {
			return 0, fmt.Errorf("negative duration %q", s)
		}
		return d, nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || !(f >= 0 && f <= float64(1<<62)/float64(time.Second)) { // also refuses NaN
		return 0, fmt.Errorf("invalid duration %q: want a Go duration (1.5s) or seconds (3)", s)
	}
	return time.Duration(f * float64(time.Second)), nil
}

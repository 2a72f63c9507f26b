package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"
)

// want checks the number of arguments a command got; most < 0 is no limit.
func want(args []string, least, most int, usage string) error {
	if len(args) < least || (most >= 0 && len(args) > most) {
		return fmt.Errorf("usage: %s", usage)
	}
	return nil
}

func (a *app) sleep(args []string) error {
	if err := want(args, 1, 1, "sleep DURATION|infinity"); err != nil {
		return err
	}
	if args[0] == "infinity" || args[0] == "inf" {
		forever(nil)
	}
	d, err := parseDuration(args[0])
	if err != nil {
		return err
	}
	time.Sleep(d)
	return nil
}

// forever blocks for good, keeping keep reachable so the collector leaves it alone.
func forever(keep []byte) {
	for {
		time.Sleep(time.Hour)
		runtime.KeepAlive(keep)
	}
}

func (a *app) exit(args []string) error {
	if err := want(args, 0, 1, "exit [CODE]"); err != nil {
		return err
	}
	if len(args) == 0 {
		return exitCode(0)
	}
	n, err := strconv.Atoi(args[0])
	if err != nil || n < 0 || n > 255 {
		return fmt.Errorf("invalid exit code %q: want 0-255", args[0])
	}
	return exitCode(n)
}

func (a *app) env(args []string) error {
	if err := want(args, 0, 0, "env"); err != nil {
		return err
	}
	env := os.Environ()
	slices.Sort(env)
	for _, kv := range env {
		fmt.Fprintln(a.stdout, kv)
	}
	return nil
}

// cat prints every file it can ("-" is stdin, as is no file at all) and
// fails at the end if one could not be read.
func (a *app) cat(args []string) error {
	if len(args) == 0 {
		args = []string{"-"}
	}
	var errs []error
	for _, p := range args {
		if p == "-" {
			if _, err := io.Copy(a.stdout, a.stdin); err != nil {
				errs = append(errs, fmt.Errorf("stdin: %w", err))
			}
			continue
		}
		b, err := os.ReadFile(p)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if _, err := a.stdout.Write(b); err != nil {
			return err
		}
	}
	return errors.Join(errs...)
}

func (a *app) write(args []string) error {
	if err := want(args, 1, -1, "write PATH CONTENT..."); err != nil {
		return err
	}
	data := strings.Join(args[1:], " ")
	if err := os.WriteFile(args[0], []byte(data), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "wrote %d bytes to %s\n", len(data), args[0])
	return nil
}

func (a *app) resolve(args []string) error {
	if err := want(args, 1, 1, "resolve NAME"); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	addrs, err := lookup(ctx, args[0])
	if err != nil {
		return err
	}
	for _, addr := range addrs {
		fmt.Fprintln(a.stdout, addr)
	}
	return nil
}

// lookup resolves name with net.DefaultResolver, addresses sorted.
func lookup(ctx context.Context, name string) ([]string, error) {
	addrs, err := net.DefaultResolver.LookupHost(ctx, name)
	if err != nil {
		return nil, err
	}
	slices.Sort(addrs)
	return addrs, nil
}

const defaultConnectTimeout = 5 * time.Second

func (a *app) connect(args []string) error {
	if err := want(args, 1, 2, "connect HOST:PORT [TIMEOUT]"); err != nil {
		return err
	}
	timeout := defaultConnectTimeout
	if len(args) == 2 {
		var err error
		if timeout, err = parseDuration(args[1]); err != nil {
			return err
		}
	}
	if err := dial(context.Background(), args[0], timeout); err != nil {
		return err
	}
	fmt.Fprintln(a.stdout, "connected")
	return nil
}

// dial opens a TCP connection to addr and closes it again.
func dial(ctx context.Context, addr string, timeout time.Duration) error {
	d := net.Dialer{Timeout: timeout}
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	return c.Close()
}

func (a *app) burnCPU(args []string) error {
	if err := want(args, 1, 1, "burn-cpu DURATION"); err != nil {
		return err
	}
	d, err := parseDuration(args[0])
	if err != nil {
		return err
	}
	// GOMAXPROCS follows a cgroup CPU limit; spin on every CPU regardless,
	// so the limit, not the program, caps the usage.
	n := runtime.NumCPU()
	runtime.GOMAXPROCS(n)
	deadline := time.Now().Add(d)
	done := make(chan struct{})
	for range n {
		go func() {
			defer func() { done <- struct{}{} }()
			for x := 0; ; x++ {
				if x&0xffff == 0 && !time.Now().Before(deadline) {
					return
				}
			}
		}()
	}
	for range n {
		<-done
	}
	fmt.Fprintf(a.stdout, "burned %d CPUs for %v\n", n, d)
	return nil
}

func (a *app) alloc(args []string) error {
	if err := want(args, 1, 1, "alloc MIB"); err != nil {
		return err
	}
	mib, err := strconv.Atoi(args[0])
	if err != nil || mib < 0 || mib > 1<<20 {
		return fmt.Errorf("invalid size %q: want MiB, 0-1048576", args[0])
	}
	buf := make([]byte, mib<<20)
	// Fresh pages are mapped lazily: write one byte in each to make them resident.
	for i := 0; i < len(buf); i += 4096 {
		buf[i] = 1
	}
	fmt.Fprintf(a.stdout, "allocated %d MiB\n", mib)
	forever(buf)
	return nil
}

func (a *app) id(args []string) error {
	if err := want(args, 0, 0, "id"); err != nil {
		return err
	}
	groups, err := os.Getgroups()
	if err != nil {
		return err
	}
	gs := make([]string, len(groups))
	for i, g := range groups {
		gs[i] = strconv.Itoa(g)
	}
	fmt.Fprintf(a.stdout, "uid=%d gid=%d groups=%s\n", os.Getuid(), os.Getgid(), strings.Join(gs, ","))
	return nil
}

func (a *app) hostname(args []string) error {
	if err := want(args, 0, 0, "hostname"); err != nil {
		return err
	}
	h, err := os.Hostname()
	if err != nil {
		return err
	}
	fmt.Fprintln(a.stdout, h)
	return nil
}

func (a *app) log(args []string) error {
	if err := want(args, 1, 2, "log N [INTERVAL]"); err != nil {
		return err
	}
	n, err := strconv.Atoi(args[0])
	if err != nil || n < 0 {
		return fmt.Errorf("invalid count %q", args[0])
	}
	var interval time.Duration
	if len(args) == 2 {
		if interval, err = parseDuration(args[1]); err != nil {
			return err
		}
	}
	for i := 1; i <= n; i++ {
		if i > 1 {
			time.Sleep(interval)
		}
		w := a.stdout
		if i%3 == 0 {
			w = a.stderr
		}
		fmt.Fprintf(w, "line %d\n", i)
	}
	return nil
}

func (a *app) echo(args []string) error {
	end := "\n"
	if len(args) > 0 && args[0] == "-n" {
		args, end = args[1:], ""
	}
	_, err := io.WriteString(a.stdout, strings.Join(args, " ")+end)
	return err
}

// Package cluster starts tend's components as separate processes for the
// benchmark commands under test/bench, measures them, and stops them by PID.
package cluster

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// Cluster is a temporary directory with a tend binary and the processes
// started from it.
type Cluster struct {
	Dir   string // removed by Close
	Tend  string // the binary
	procs []*Proc
}

// Proc is one running component.
type Proc struct {
	Name string
	Cmd  *exec.Cmd
	Port int // its metrics port, if it has one
	done chan struct{}
}

// New makes the directory and, when tend is empty, builds ./cmd/tend into it
// (run it from the module's root).
func New(tend string) (*Cluster, error) {
	dir, err := os.MkdirTemp("", "tend-bench-")
	if err != nil {
		return nil, err
	}
	c := &Cluster{Dir: dir, Tend: tend}
	if tend == "" {
		c.Tend = filepath.Join(dir, "tend")
		build := exec.Command("go", "build", "-o", c.Tend, "./cmd/tend")
		build.Stdout, build.Stderr = os.Stdout, os.Stderr
		if err := build.Run(); err != nil {
			os.RemoveAll(dir)
			return nil, fmt.Errorf("building tend: %w", err)
		}
	}
	return c, nil
}

// Close stops every process, newest first, and removes the directory.
func (c *Cluster) Close() {
	for i := len(c.procs) - 1; i >= 0; i-- {
		c.procs[i].Stop()
	}
	os.RemoveAll(c.Dir)
}

// Start runs `tend ARGS...`, its output in DIR/NAME.log.
func (c *Cluster) Start(name string, args ...string) (*Proc, error) {
	log, err := os.Create(filepath.Join(c.Dir, name+".log"))
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(c.Tend, args...)
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		log.Close()
		return nil, err
	}
	p := &Proc{Name: name, Cmd: cmd, done: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		log.Close()
		close(p.done)
	}()
	c.procs = append(c.procs, p)
	return p, nil
}

// StartComponent runs `tend COMMAND --kubeconfig DATA/KUBECONFIG.kubeconfig
// --metrics-bind-address 127.0.0.1:PORT ARGS...` on a free port.
func (c *Cluster) StartComponent(command, kubeconfig string, args ...string) (*Proc, error) {
	port, err := FreePort()
	if err != nil {
		return nil, err
	}
	p, err := c.Start(command, append([]string{command,
		"--kubeconfig", filepath.Join(c.Dir, "data", kubeconfig+".kubeconfig"),
		"--metrics-bind-address", "127.0.0.1:" + strconv.Itoa(port)}, args...)...)
	if p != nil {
		p.Port = port
	}
	return p, err
}

// StartAPIServer runs `tend apiserver` on a free port and returns an admin
// client once it is ready.
func (c *Cluster) StartAPIServer(ctx context.Context, qps float32, args ...string) (*rest.Config, kubernetes.Interface, error) {
	return c.StartServing(ctx, "apiserver", qps, args...)
}

// StartServing runs `tend COMMAND` (apiserver or server) with DIR/data as
// its data directory on a free port, and returns an admin client once it
// is ready.
func (c *Cluster) StartServing(ctx context.Context, command string, qps float32, args ...string) (*rest.Config, kubernetes.Interface, error) {
	port, err := FreePort()
	if err != nil {
		return nil, nil, err
	}
	if _, err := c.Start(command, append([]string{command, "--data-dir", filepath.Join(c.Dir, "data"),
		"--secure-port", strconv.Itoa(port)}, args...)...); err != nil {
		return nil, nil, err
	}
	kubeconfig := filepath.Join(c.Dir, "data", "admin.kubeconfig")
	if err := Poll(10*time.Second, func() (bool, error) {
		_, err := os.Stat(kubeconfig)
		return err == nil, nil
	}); err != nil {
		return nil, nil, fmt.Errorf("waiting for %s: %w", kubeconfig, err)
	}
	rc, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return nil, nil, err
	}
	rc.QPS, rc.Burst = qps, int(2*qps)
	cs, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return nil, nil, err
	}
	err = Poll(30*time.Second, func() (bool, error) {
		b, err := cs.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx)
		return err == nil && string(b) == "ok", nil
	})
	return rc, cs, err
}

// Stop ends the process by its PID: SIGINT, then SIGKILL after 10 s.
func (p *Proc) Stop() {
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.Cmd.Process.Signal(os.Interrupt)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		_ = p.Cmd.Process.Kill()
		<-p.done
	}
}

// RSS reads a field of the process's /proc status in KiB: "VmRSS" now,
// "VmHWM" the peak. -1 when it cannot.
func (p *Proc) RSS(field string) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.Cmd.Process.Pid))
	if err != nil {
		return -1
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, field+":") {
			f := strings.Fields(l)
			n, _ := strconv.Atoi(f[1])
			return n
		}
	}
	return -1
}

// Files is how many files (sockets included) the process has open; -1 when
// it cannot tell.
func (p *Proc) Files() int {
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", p.Cmd.Process.Pid))
	if err != nil {
		return -1
	}
	return len(fds)
}

// Poll calls f every 20 ms until it says true, an error after timeout.
func Poll(timeout time.Duration, f func() (bool, error)) error {
	deadline := time.Now().Add(timeout)
	for {
		ok, err := f()
		if ok {
			return nil
		}
		if time.Now().After(deadline) {
			if err == nil {
				err = fmt.Errorf("not after %v", timeout)
			}
			return err
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// FreePort is a TCP port free on loopback now.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Percentile is the p-th (0..1) of d, rounded to 100 µs.
func Percentile(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	i := int(p*float64(len(s))+0.5) - 1
	i = max(0, min(i, len(s)-1))
	return s[i].Round(100 * time.Microsecond)
}

// Procs lists the processes started, oldest first.
func (c *Cluster) Procs() []*Proc { return c.procs }

// CPU is the process's user plus system CPU time so far, from /proc; 0 when
// it cannot be read.
func (p *Proc) CPU() time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.Cmd.Process.Pid))
	if err != nil {
		return 0
	}
	// The fields after the command name, which is in parentheses.
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 13 {
		return 0
	}
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(utime+stime) * time.Second / 100 // USER_HZ is 100 on Linux
}

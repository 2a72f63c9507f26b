package podnet

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/nftables"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// Everything here runs "nodes" and "pods" in network namespaces the test
// makes; the host's namespace is only ever read, to check that it is left
// as it was.

const timeout = 10 * time.Second

// threadNetNS returns the inode of the network namespace of the calling
// goroutine's thread.
func threadNetNS() (uint64, error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var st unix.Stat_t
	if err := unix.Stat(fmt.Sprintf("/proc/self/task/%d/ns/net", unix.Gettid()), &st); err != nil {
		return 0, err
	}
	return st.Ino, nil
}

// guardHost skips the test when it cannot make namespaces, records the
// host's namespace and what of it this package could touch, and at the
// end checks that the test goroutine is still in it and that it is
// unchanged. It returns the host namespace's inode.
func guardHost(t *testing.T) uint64 {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to make network namespaces")
	}
	host, err := threadNetNS()
	if err != nil {
		t.Fatal(err)
	}
	var st unix.Stat_t
	if err := unix.Stat("/proc/self/ns/net", &st); err != nil {
		t.Fatal(err)
	}
	if st.Ino != host {
		t.Fatalf("the test goroutine's thread is in network namespace %d, the process's main thread in %d: refusing to run", host, st.Ino)
	}
	before := hostSnapshot(t)
	t.Cleanup(func() {
		if now, err := threadNetNS(); err != nil || now != host {
			t.Errorf("network namespace of the test goroutine's thread = %d, %v; want the host's, %d", now, err, host)
		}
		if after := hostSnapshot(t); after != before {
			t.Errorf("the host's network namespace changed:\nbefore:\n%s\nafter:\n%s", before, after)
		}
	})
	return host
}

// hostSnapshot describes what of the host namespace this package could
// have touched: its bridges, veths, inet nftables tables, unreachable
// routes and ip_forward.
func hostSnapshot(t *testing.T) string {
	t.Helper()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var lines []string
	links, err := netlink.LinkList()
	if err != nil {
		t.Fatalf("list the host's links: %v", err)
	}
	for _, l := range links {
		if l.Type() == "bridge" || l.Type() == "veth" {
			lines = append(lines, fmt.Sprintf("link %s %s %q", l.Type(), l.Attrs().Name, l.Attrs().Alias))
		}
	}
	routes, err := netlink.RouteListFiltered(unix.AF_INET, &netlink.Route{Type: unix.RTN_UNREACHABLE, Table: unix.RT_TABLE_MAIN},
		netlink.RT_FILTER_TYPE|netlink.RT_FILTER_TABLE)
	if err != nil {
		t.Fatalf("list the host's routes: %v", err)
	}
	for _, r := range routes {
		lines = append(lines, fmt.Sprintf("route unreachable %s", r.Dst))
	}
	conn, err := nftables.New()
	if err != nil {
		t.Fatal(err)
	}
	tables, err := conn.ListTablesOfFamily(nftables.TableFamilyINet)
	if err != nil {
		t.Fatalf("list the host's nftables tables: %v", err)
	}
	for _, tb := range tables {
		lines = append(lines, "table inet "+tb.Name)
	}
	fwd, err := os.ReadFile("/proc/sys/net/ipv4/ip_forward")
	if err != nil {
		t.Fatal(err)
	}
	lines = append(lines, "ip_forward "+strings.TrimSpace(string(fwd)))
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// newNS makes an anonymous network namespace, closed at the end of the
// test (the kernel deletes it and all in it when the last reference
// goes). No thread is left in it.
func newNS(t *testing.T, host uint64) netns.NsHandle {
	t.Helper()
	type result struct {
		ns  netns.NsHandle
		err error
	}
	c := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := netns.Get()
		if err != nil {
			runtime.UnlockOSThread()
			c <- result{err: err}
			return
		}
		defer orig.Close()
		ns, err := netns.New()
		if err != nil {
			c <- result{err: err} // thread stays locked: it dies
			return
		}
		if err := netns.Set(orig); err != nil {
			ns.Close()
			c <- result{err: err} // thread stays locked: it dies
			return
		}
		runtime.UnlockOSThread()
		c <- result{ns: ns}
	}()
	r := <-c
	if r.err != nil {
		t.Fatalf("make a network namespace: %v", r.err)
	}
	var st unix.Stat_t
	if err := unix.Fstat(int(r.ns), &st); err != nil || st.Ino == host {
		r.ns.Close()
		t.Fatalf("new network namespace has inode %d, %v; the host's is %d", st.Ino, err, host)
	}
	t.Cleanup(func() { r.ns.Close() })
	return r.ns
}

// inNS runs fn on a thread of its own moved into ns, and back after. fn
// must not call t.Fatal.
func inNS(ns netns.NsHandle, fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := netns.Get()
		if err != nil {
			runtime.UnlockOSThread()
			errc <- err
			return
		}
		defer orig.Close()
		if orig.Equal(ns) {
			runtime.UnlockOSThread()
			errc <- errors.New("refusing to run in the namespace the thread is already in (the host's?)")
			return
		}
		if err := netns.Set(ns); err != nil {
			errc <- err // thread stays locked: it dies
			return
		}
		ferr := fn()
		if err := netns.Set(orig); err != nil {
			errc <- errors.Join(ferr, err) // thread stays locked: it dies
			return
		}
		runtime.UnlockOSThread()
		errc <- ferr
	}()
	return <-errc
}

// node is a Network in a namespace of its own.
type node struct {
	t   *testing.T
	ns  netns.NsHandle
	net *Network
}

func newNode(t *testing.T, host uint64, cfg Config) *node {
	t.Helper()
	n, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &node{t: t, ns: newNS(t, host), net: n}
}

func (nd *node) do(fn func(ctx context.Context, n *Network) error) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return inNS(nd.ns, func() error { return fn(ctx, nd.net) })
}

func (nd *node) setup() {
	nd.t.Helper()
	if err := nd.do(func(ctx context.Context, n *Network) error { return n.Setup(ctx) }); err != nil {
		nd.t.Fatalf("Setup() = %v", err)
	}
}

func (nd *node) attach(p *pod) {
	nd.t.Helper()
	if err := nd.do(func(ctx context.Context, n *Network) error { return n.Attach(ctx, p.attachment()) }); err != nil {
		nd.t.Fatalf("Attach(%s) = %v", p.id, err)
	}
}

func (nd *node) setHostPorts(p *pod, ports ...HostPort) error {
	return nd.do(func(ctx context.Context, n *Network) error { return n.SetHostPorts(ctx, p.id, p.ip, ports) })
}

// handle returns a netlink handle in the namespace.
func nlHandle(t *testing.T, ns netns.NsHandle) *netlink.Handle {
	t.Helper()
	h, err := netlink.NewHandleAt(ns, unix.NETLINK_ROUTE)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.Close)
	return h
}

// pod is a network namespace standing for a pod sandbox.
type pod struct {
	id string
	ns netns.NsHandle
	ip netip.Addr
}

func newPod(t *testing.T, host uint64, id, ip string) *pod {
	return &pod{id: id, ns: newNS(t, host), ip: netip.MustParseAddr(ip)}
}

// path names the namespace by the test's open file descriptor of it.
func (p *pod) path() string { return fmt.Sprintf("/proc/%d/fd/%d", os.Getpid(), int(p.ns)) }

func (p *pod) attachment() Attachment {
	return Attachment{PodID: p.id, NetNS: p.path(), IP: p.ip}
}

// serveTCP listens on addr in ns and answers each connection with name
// (or, if name is empty, the client's address as the server sees it) and
// a newline, until the test ends.
func serveTCP(t *testing.T, ns netns.NsHandle, addr, name string) {
	t.Helper()
	var ln net.Listener
	if err := inNS(ns, func() (err error) {
		ln, err = net.Listen("tcp4", addr)
		return err
	}); err != nil {
		t.Fatalf("listen on %s: %v", addr, err)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			_ = c.SetDeadline(time.Now().Add(timeout))
			answer := name
			if answer == "" {
				answer = c.RemoteAddr().(*net.TCPAddr).IP.String()
			}
			_, _ = io.WriteString(c, answer+"\n")
			_ = c.Close()
		}
	}()
	t.Cleanup(func() {
		_ = ln.Close()
		wg.Wait()
	})
}

// serveUDP answers each datagram to addr in ns with name.
func serveUDP(t *testing.T, ns netns.NsHandle, addr, name string) {
	t.Helper()
	var pc net.PacketConn
	if err := inNS(ns, func() (err error) {
		pc, err = net.ListenPacket("udp4", addr)
		return err
	}); err != nil {
		t.Fatalf("listen on udp %s: %v", addr, err)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		buf := make([]byte, 64)
		for {
			_, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			_, _ = pc.WriteTo([]byte(name), from)
		}
	}()
	t.Cleanup(func() {
		_ = pc.Close()
		wg.Wait()
	})
}

// dialTCP connects from ns to addr and returns the line it answers.
func dialTCP(ns netns.NsHandle, addr string) (string, error) {
	var line string
	err := inNS(ns, func() error {
		d := net.Dialer{Timeout: timeout}
		c, err := d.Dial("tcp4", addr)
		if err != nil {
			return err
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(timeout))
		line, err = bufio.NewReader(c).ReadString('\n')
		line = strings.TrimSuffix(line, "\n")
		return err
	})
	return line, err
}

// askUDP sends a datagram from ns to addr and returns the answer.
func askUDP(ns netns.NsHandle, addr string) (string, error) {
	var answer string
	err := inNS(ns, func() error {
		c, err := net.Dial("udp4", addr)
		if err != nil {
			return err
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(timeout))
		if _, err := c.Write([]byte("?")); err != nil {
			return err
		}
		buf := make([]byte, 64)
		k, err := c.Read(buf)
		answer = string(buf[:k])
		return err
	})
	return answer, err
}

package nodeipam

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/tendhq/tend/controllers"
	"github.com/tendhq/tend/informers"
	"github.com/tendhq/tend/tendtest"
)

func cidrs(t *testing.T, ss ...string) []*net.IPNet {
	t.Helper()
	var out []*net.IPNet
	for _, s := range ss {
		_, n, err := net.ParseCIDR(s)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, n)
	}
	return out
}

func TestValidate(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatalf("DefaultConfig().Validate() = %v; want nil", err)
	}
	for _, tc := range []struct {
		name    string
		cfg     func(*Config)
		wantErr string // "" for valid
	}{
		{"dual stack", func(c *Config) { c.ClusterCIDRs = cidrs(t, "10.42.0.0/16", "fd42::/48") }, ""},
		{"ipv6 only", func(c *Config) { c.ClusterCIDRs = cidrs(t, "fd42::/48") }, ""},
		{"none", func(c *Config) { c.ClusterCIDRs = nil }, "at least one"},
		{"nil", func(c *Config) { c.ClusterCIDRs = []*net.IPNet{nil} }, "is nil"},
		{"three", func(c *Config) { c.ClusterCIDRs = cidrs(t, "10.42.0.0/16", "fd42::/48", "10.43.0.0/16") }, "at most two"},
		{"two ipv4", func(c *Config) { c.ClusterCIDRs = cidrs(t, "10.42.0.0/16", "10.43.0.0/16") }, "one IP family"},
		{"mask equal to the cluster's", func(c *Config) { c.NodeCIDRMaskSize = 16 }, "must be longer"},
		{"mask shorter than the cluster's", func(c *Config) { c.NodeCIDRMaskSize = 8 }, "must be longer"},
		{"mask longer than an address", func(c *Config) { c.NodeCIDRMaskSize = 33 }, "longer than an 32-bit address"},
		{"too many blocks", func(c *Config) { c.ClusterCIDRs = cidrs(t, "fd42::/32") }, "more than the 2^24"},
		{"host bits", func(c *Config) {
			c.ClusterCIDRs = []*net.IPNet{{IP: net.ParseIP("10.42.1.0"), Mask: net.CIDRMask(16, 32)}}
		}, "did you mean 10.42.0.0/16"},
		{"bad mask", func(c *Config) {
			c.ClusterCIDRs = []*net.IPNet{{IP: net.ParseIP("10.42.0.0").To4(), Mask: net.IPMask{255, 0, 255, 0}}}
		}, "not canonical"},
	} {
		cfg := DefaultConfig()
		tc.cfg(&cfg)
		err := cfg.Validate()
		switch {
		case tc.wantErr == "" && err != nil:
			t.Errorf("%s: Validate() = %v; want nil", tc.name, err)
		case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
			t.Errorf("%s: Validate() = %v; want an error saying %q", tc.name, err, tc.wantErr)
		}
	}
}

// env is a test cluster and a way to run the allocator against it.
type env struct {
	t       *testing.T
	ctx     context.Context
	cluster *tendtest.Cluster
	client  kubernetes.Interface
	rec     *controllers.Recorder
	reg     *prometheus.Registry
}

func newEnv(t *testing.T) *env {
	t.Helper()
	c := tendtest.Start(t, tendtest.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	client := c.Client()
	rec := controllers.NewRecorder(client, "node-controller", controllers.RecorderOptions{Host: "test", Logf: t.Logf})
	go rec.Run(ctx)
	return &env{t: t, ctx: ctx, cluster: c, client: client, rec: rec, reg: prometheus.NewRegistry()}
}

// start runs an allocator with cfg until the returned stop is called (or
// the test ends).
func (e *env) start(cfg Config) (stop func()) {
	e.t.Helper()
	ctx, cancel := context.WithCancel(e.ctx)
	f, err := informers.NewFactory(e.cluster.RESTConfig(), informers.FactoryOptions{})
	if err != nil {
		e.t.Fatal(err)
	}
	c, err := New(f, e.client, e.rec, cfg, controllers.Options{Workers: 2, Logf: e.t.Logf, Registerer: e.reg})
	if err != nil {
		e.t.Fatalf("New: %v", err)
	}
	f.Start(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { _ = c.Run(ctx) })
	stop = func() {
		cancel()
		wg.Wait()
	}
	e.t.Cleanup(stop)
	return stop
}

func (e *env) createNode(name, podCIDR string) {
	e.t.Helper()
	n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if podCIDR != "" {
		n.Spec.PodCIDR, n.Spec.PodCIDRs = podCIDR, []string{podCIDR}
	}
	if _, err := e.client.CoreV1().Nodes().Create(e.ctx, n, metav1.CreateOptions{}); err != nil {
		e.t.Fatalf("creating node %s: %v", name, err)
	}
}

func (e *env) deleteNode(name string) {
	e.t.Helper()
	if err := e.client.CoreV1().Nodes().Delete(e.ctx, name, metav1.DeleteOptions{}); err != nil {
		e.t.Fatalf("deleting node %s: %v", name, err)
	}
}

// waitPodCIDR waits for the node to have a podCIDR and returns it, checking
// that podCIDRs agrees.
func (e *env) waitPodCIDR(name string) string {
	e.t.Helper()
	var got string
	tendtest.Eventually(e.t, 10*time.Second, func() string {
		n, err := e.client.CoreV1().Nodes().Get(e.ctx, name, metav1.GetOptions{})
		if err != nil {
			return fmt.Sprintf("getting node %s: %v", name, err)
		}
		if n.Spec.PodCIDR == "" {
			return fmt.Sprintf("node %s has no podCIDR", name)
		}
		if !slices.Equal(n.Spec.PodCIDRs, []string{n.Spec.PodCIDR}) {
			return fmt.Sprintf("node %s podCIDRs = %v; want [%s]", name, n.Spec.PodCIDRs, n.Spec.PodCIDR)
		}
		got = n.Spec.PodCIDR
		return ""
	})
	return got
}

// events returns the messages of the events with reason about node name.
func (e *env) events(name, reason string) []string {
	e.t.Helper()
	l, err := e.client.CoreV1().Events(metav1.NamespaceDefault).List(e.ctx, metav1.ListOptions{})
	if err != nil {
		e.t.Fatalf("listing events: %v", err)
	}
	var out []string
	for _, ev := range l.Items {
		if ev.InvolvedObject.Kind == "Node" && ev.InvolvedObject.Name == name && ev.Reason == reason {
			out = append(out, ev.Message)
		}
	}
	return out
}

func TestAllocateExhaustAndReuse(t *testing.T) {
	e := newEnv(t)
	cfg := DefaultConfig()
	cfg.ClusterCIDRs = cidrs(t, "10.42.0.0/22") // four /24s
	e.start(cfg)

	got := map[string]string{}
	for _, name := range []string{"a", "b", "c"} {
		e.createNode(name, "")
	}
	for _, name := range []string{"a", "b", "c"} {
		got[name] = e.waitPodCIDR(name)
	}
	seen := map[string]string{}
	for name, cidr := range got {
		p, err := netip.ParsePrefix(cidr)
		if err != nil || p.Bits() != 24 || !netip.MustParsePrefix("10.42.0.0/22").Contains(p.Addr()) {
			t.Errorf("node %s podCIDR = %s; want a /24 of 10.42.0.0/22", name, cidr)
		}
		if other, dup := seen[cidr]; dup {
			t.Errorf("nodes %s and %s both have podCIDR %s", name, other, cidr)
		}
		seen[cidr] = name
	}

	// The fourth block goes to d; e finds the range full.
	e.createNode("d", "")
	e.waitPodCIDR("d")
	e.createNode("e", "")
	tendtest.Eventually(t, 10*time.Second, func() string {
		msgs := e.events("e", ReasonCIDRNotAvailable)
		if len(msgs) == 0 {
			return "no CIDRNotAvailable event about node e"
		}
		if want := "Node e status is now: CIDRNotAvailable"; msgs[0] != want {
			return fmt.Sprintf("CIDRNotAvailable message = %q; want %q", msgs[0], want)
		}
		return ""
	})
	if n, _ := e.client.CoreV1().Nodes().Get(e.ctx, "e", metav1.GetOptions{}); n.Spec.PodCIDR != "" {
		t.Fatalf("node e podCIDR = %s with the range full; want none", n.Spec.PodCIDR)
	}

	// Deleting b frees its block, and e, waiting, gets it.
	e.deleteNode("b")
	if cidr := e.waitPodCIDR("e"); cidr != got["b"] {
		t.Errorf("node e podCIDR = %s; want deleted node b's %s", cidr, got["b"])
	}
	if v := e.gauge("node_ipam_controller_cidrset_usage_cidrs", "10.42.0.0/22"); v != 1 {
		t.Errorf("node_ipam_controller_cidrset_usage_cidrs = %v; want 1", v)
	}
	if v := e.gauge("node_ipam_controller_cirdset_max_cidrs", "10.42.0.0/22"); v != 4 {
		t.Errorf("node_ipam_controller_cirdset_max_cidrs = %v; want 4", v)
	}
}

// gauge returns the value of the registry's gauge name for clusterCIDR.
func (e *env) gauge(name, clusterCIDR string) float64 {
	e.t.Helper()
	mfs, err := e.reg.Gather()
	if err != nil {
		e.t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "clusterCIDR" && l.GetValue() == clusterCIDR {
					return m.GetGauge().GetValue()
				}
			}
		}
	}
	e.t.Fatalf("no metric %s{clusterCIDR=%q}", name, clusterCIDR)
	return 0
}

func TestExistingPodCIDRsSurviveRestart(t *testing.T) {
	e := newEnv(t)
	// Set before the allocator starts: the first block, and one outside the
	// range, which is left alone.
	e.createNode("pre", "10.42.0.0/24")
	e.createNode("outside", "192.168.7.0/24")

	stop := e.start(DefaultConfig())
	e.createNode("a", "")
	if got := e.waitPodCIDR("a"); got != "10.42.1.0/24" {
		t.Errorf("node a podCIDR = %s; want 10.42.1.0/24 (10.42.0.0/24 is node pre's)", got)
	}
	stop()

	// Created while no allocator runs; the next one must not hand out pre's
	// or a's block although its search starts from the beginning.
	e.createNode("b", "")
	e.start(DefaultConfig())
	if got := e.waitPodCIDR("b"); got != "10.42.2.0/24" {
		t.Errorf("node b podCIDR = %s after a restart; want 10.42.2.0/24", got)
	}
	for name, want := range map[string]string{"pre": "10.42.0.0/24", "outside": "192.168.7.0/24", "a": "10.42.1.0/24"} {
		n, err := e.client.CoreV1().Nodes().Get(e.ctx, name, metav1.GetOptions{})
		if err != nil || n.Spec.PodCIDR != want {
			t.Errorf("node %s podCIDR = %q, %v; want %s unchanged", name, n.Spec.PodCIDR, err, want)
		}
	}
}

func TestDeletedBeforeAllocation(t *testing.T) {
	// A node deleted around the time its block is written leaks nothing:
	// with two blocks in the range, two later nodes still get them.
	e := newEnv(t)
	cfg := DefaultConfig()
	cfg.ClusterCIDRs = cidrs(t, "10.42.0.0/23")
	e.start(cfg)
	e.createNode("gone", "")
	e.deleteNode("gone")
	tendtest.Eventually(t, 10*time.Second, func() string {
		if _, err := e.client.CoreV1().Nodes().Get(e.ctx, "gone", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			return fmt.Sprintf("node gone: %v; want NotFound", err)
		}
		return ""
	})
	e.createNode("x", "")
	e.createNode("y", "")
	x, y := e.waitPodCIDR("x"), e.waitPodCIDR("y")
	if x == y {
		t.Errorf("nodes x and y both have podCIDR %s", x)
	}
}

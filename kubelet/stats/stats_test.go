package stats

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	statsv1alpha1 "k8s.io/kubelet/pkg/apis/stats/v1alpha1"
	testingclock "k8s.io/utils/clock/testing"

	"github.com/tendhq/tend/kubelet"
	"github.com/tendhq/tend/kubelet/simulated"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// simulatedNode runs, on a simulated runtime with a fake clock, pod ns/p
// with containers a (250m, 64Mi) and b (100m, 16Mi), a container c that
// exited, and an older not-ready sandbox of a pod of the same name.
func simulatedNode(t *testing.T) (*simulated.Runtime, *testingclock.FakeClock) {
	t.Helper()
	clock := testingclock.NewFakeClock(t0)
	r := simulated.New(simulated.Config{StartDelay: -1, Clock: clock})
	ctx := context.Background()
	if err := r.UpdatePodCIDR(ctx, "10.42.0.0/24"); err != nil {
		t.Fatal(err)
	}
	old, err := r.RunPodSandbox(ctx, kubelet.SandboxConfig{PodUID: "old", Namespace: "ns", Name: "p", IP: "10.42.0.3"})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.StopPodSandbox(ctx, old); err != nil {
		t.Fatal(err)
	}
	clock.Step(time.Second)
	ann := map[string]string{simulated.CPU: "250m", simulated.Memory: "64Mi", simulated.CPU + ".b": "100m", simulated.Memory + ".b": "16Mi",
		simulated.ExitAfter + ".c": "1s"}
	sb, err := r.RunPodSandbox(ctx, kubelet.SandboxConfig{PodUID: "uid", Namespace: "ns", Name: "p", IP: "10.42.0.2", Annotations: ann})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"b", "a", "c"} {
		id, err := r.CreateContainer(ctx, sb, kubelet.ContainerConfig{Spec: &corev1.Container{Name: name, Image: "nginx"}})
		if err != nil {
			t.Fatal(err)
		}
		if err := r.StartContainer(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	clock.Step(10 * time.Second)
	return r, clock
}

func TestSummaryOfASimulatedNode(t *testing.T) {
	rt, clock := simulatedNode(t)
	p, err := New(Config{NodeName: "n1", Runtime: rt, Clock: clock, StartTime: t0})
	if err != nil {
		t.Fatal(err)
	}
	s, err := p.Summary(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Pods) != 1 {
		t.Fatalf("Summary has %d pods; want 1 (the old sandbox of ns/p is left out): %+v", len(s.Pods), s.Pods)
	}
	pod := s.Pods[0]
	if got, want := pod.PodRef, (statsv1alpha1.PodReference{Namespace: "ns", Name: "p", UID: "uid"}); got != want {
		t.Errorf("PodRef = %+v; want %+v", got, want)
	}
	var names []string
	for _, c := range pod.Containers {
		names = append(names, c.Name)
	}
	if got, want := strings.Join(names, ","), "a,b"; got != want {
		t.Fatalf("containers = %s; want %s (the exited one left out)", got, want)
	}
	a, b := pod.Containers[0], pod.Containers[1]
	for _, c := range []struct {
		what      string
		got, want uint64
	}{
		{"a nanocores", *a.CPU.UsageNanoCores, 250_000_000},
		{"a core-nanoseconds", *a.CPU.UsageCoreNanoSeconds, 2_500_000_000},
		{"a working set", *a.Memory.WorkingSetBytes, 64 << 20},
		{"b nanocores", *b.CPU.UsageNanoCores, 100_000_000},
		{"pod nanocores", *pod.CPU.UsageNanoCores, 350_000_000},
		{"pod core-nanoseconds", *pod.CPU.UsageCoreNanoSeconds, 3_500_000_000},
		{"pod working set", *pod.Memory.WorkingSetBytes, 80 << 20},
		{"node nanocores", *s.Node.CPU.UsageNanoCores, 350_000_000},
		{"node working set", *s.Node.Memory.WorkingSetBytes, 80 << 20},
	} {
		if c.got != c.want {
			t.Errorf("%s = %d; want %d", c.what, c.got, c.want)
		}
	}
	if got, want := s.Node.NodeName, "n1"; got != want {
		t.Errorf("NodeName = %q; want %q", got, want)
	}
	if !a.StartTime.Time.Equal(t0.Add(time.Second)) {
		t.Errorf("a's StartTime = %v; want %v", a.StartTime, t0.Add(time.Second))
	}
}

// fakeRuntime is a runtime of one pod whose one container's counters the
// test sets, or whose listing fails.
type fakeRuntime struct {
	mu      sync.Mutex
	started time.Time
	stats   kubelet.ContainerStats
	listErr error
}

func (f *fakeRuntime) ListPodSandboxes(context.Context, types.UID) ([]kubelet.SandboxStatus, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.listErr != nil {
		return nil, f.listErr
	}
	return []kubelet.SandboxStatus{{ID: "sb", PodUID: "u", Namespace: "ns", Name: "p", State: kubelet.SandboxReady, CreatedAt: f.started}}, nil
}

func (f *fakeRuntime) ListContainers(context.Context, types.UID) ([]kubelet.ContainerStatus, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return []kubelet.ContainerStatus{{ID: "c1", SandboxID: "sb", PodUID: "u", Name: "app", Image: "img", State: kubelet.ContainerRunning, StartedAt: f.started}}, nil
}

func (f *fakeRuntime) Stats(context.Context, string) (kubelet.ContainerStats, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.stats, nil
}

func (f *fakeRuntime) set(at time.Time, cpu, mem uint64) {
	f.mu.Lock()
	f.stats = kubelet.ContainerStats{Timestamp: at, CPUUsageCoreNanoSeconds: cpu, MemoryWorkingSetBytes: mem}
	f.mu.Unlock()
}

func TestCPURateFromTwoSamples(t *testing.T) {
	f := &fakeRuntime{started: t0}
	clock := testingclock.NewFakeClock(t0)
	p, err := New(Config{NodeName: "n", Runtime: f, Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		what  string
		after time.Duration // since t0
		cpu   uint64
		want  uint64
	}{
		{"first: the average since the start", 10 * time.Second, 5e9, 5e8},
		{"2s later: the rate since the last sample", 12 * time.Second, 7e9, 1e9},
		{"0.5s later: under MinWindow, the last rate", 12*time.Second + 500*time.Millisecond, 7e9 + 1, 1e9},
		{"1s after the last sample", 13 * time.Second, 7e9 + 2e8, 2e8},
		{"a read older than the last sample (a concurrent request): the last rate", 12*time.Second + 900*time.Millisecond, 7e9 + 1e8, 2e8},
		{"counter back to 1s of CPU: a restart, the average since the start", 20 * time.Second, 4e9, 2e8},
	}
	for _, st := range steps {
		at := t0.Add(st.after)
		clock.SetTime(at)
		f.set(at, st.cpu, 1)
		s, err := p.Summary(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if got := *s.Pods[0].Containers[0].CPU.UsageNanoCores; got != st.want {
			t.Errorf("%s: UsageNanoCores = %d; want %d", st.what, got, st.want)
		}
	}
}

func TestProcNode(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("stat", "cpu  100 5 50 1000 20 3 2 1 7 0\ncpu0 100 5 50 1000 20 3 2 1 7 0\nintr 1 2\nbtime 1700000000\n")
	write("meminfo", "MemTotal:        1000 kB\nMemFree:          400 kB\nMemAvailable:     700 kB\nInactive(file):   100 kB\nAnonPages:        250 kB\n")
	now := t0
	u, err := ProcNode{Dir: dir, Now: func() time.Time { return now }}.ReadNode(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := NodeUsage{Timestamp: t0, StartTime: time.Unix(1700000000, 0),
		CPUUsageCoreNanoSeconds: (100 + 5 + 50 + 3 + 2 + 1) * 10_000_000,
		MemoryUsageBytes:        600 << 10, MemoryWorkingSetBytes: 500 << 10, MemoryAvailableBytes: 500 << 10, MemoryRSSBytes: 250 << 10}
	if u != want {
		t.Errorf("ReadNode = %+v; want %+v", u, want)
	}
	write("stat", "cpu 1 2\n")
	if _, err := (ProcNode{Dir: dir}).ReadNode(context.Background()); err == nil {
		t.Errorf("ReadNode of a short cpu line succeeded; want an error")
	}
}

func TestProcNodeOfThisMachine(t *testing.T) {
	if _, err := os.Stat("/proc/stat"); err != nil {
		t.Skip("no /proc")
	}
	rt, clock := simulatedNode(t)
	p, err := New(Config{NodeName: "n", Runtime: rt, Clock: clock, Node: ProcNode{}})
	if err != nil {
		t.Fatal(err)
	}
	s, err := p.Summary(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if *s.Node.CPU.UsageCoreNanoSeconds == 0 || *s.Node.Memory.WorkingSetBytes == 0 || s.Node.StartTime.IsZero() {
		t.Errorf("node stats of this machine = cpu %d, working set %d, start %v; want all set",
			*s.Node.CPU.UsageCoreNanoSeconds, *s.Node.Memory.WorkingSetBytes, s.Node.StartTime)
	}
}

func TestSummaryHandler(t *testing.T) {
	rt, clock := simulatedNode(t)
	p, _ := New(Config{NodeName: "n1", Runtime: rt, Clock: clock})
	mux := http.NewServeMux()
	Install(mux, p, nil)
	srv := httptest.NewServer(mux)
	defer srv.Close()

	for _, c := range []struct {
		method, query string
		code          int
	}{
		{http.MethodGet, "", 200},
		{http.MethodGet, "?only_cpu_and_memory=true", 200},
		{http.MethodGet, "?only_cpu_and_memory=maybe", 400},
		{http.MethodPost, "", 405},
	} {
		req, _ := http.NewRequest(c.method, srv.URL+SummaryPath+c.query, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != c.code {
			t.Errorf("%s %s%s = %d; want %d (%s)", c.method, SummaryPath, c.query, resp.StatusCode, c.code, body)
			continue
		}
		if c.code != 200 {
			continue
		}
		var s statsv1alpha1.Summary
		if err := json.Unmarshal(body, &s); err != nil {
			t.Fatalf("decoding the summary: %v", err)
		}
		if len(s.Pods) != 1 || len(s.Pods[0].Containers) != 2 || s.Node.NodeName != "n1" {
			t.Errorf("GET %s%s = %s; want node n1 with one pod of two containers", SummaryPath, c.query, body)
		}
	}
}

// scrape gets url and parses its Prometheus text.
func scrape(t *testing.T, url string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s = %d", url, resp.StatusCode)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parsing %s: %v", url, err)
	}
	return fams
}

// series returns the values of a family by their labels, as
// "name{k=v,...}" (labels sorted as Prometheus sorts them).
func series(fams map[string]*dto.MetricFamily) map[string]float64 {
	out := map[string]float64{}
	for name, f := range fams {
		for _, m := range f.Metric {
			var ls []string
			for _, l := range m.Label {
				ls = append(ls, l.GetName()+"="+l.GetValue())
			}
			v := m.GetGauge().GetValue() + m.GetCounter().GetValue() + m.GetUntyped().GetValue()
			out[name+"{"+strings.Join(ls, ",")+"}"] = v
		}
	}
	return out
}

func TestResourceMetrics(t *testing.T) {
	rt, clock := simulatedNode(t)
	p, _ := New(Config{NodeName: "n1", Runtime: rt, Clock: clock})
	mux := http.NewServeMux()
	Install(mux, p, nil)
	srv := httptest.NewServer(mux)
	defer srv.Close()

	fams := scrape(t, srv.URL+ResourceMetricsPath)
	got := series(fams)
	start := float64(t0.Add(time.Second).Unix())
	for name, want := range map[string]float64{
		"node_cpu_usage_seconds_total{}":                                     3.5,
		"node_memory_working_set_bytes{}":                                    80 << 20,
		"container_cpu_usage_seconds_total{container=a,namespace=ns,pod=p}":  2.5,
		"container_cpu_usage_seconds_total{container=b,namespace=ns,pod=p}":  1,
		"container_memory_working_set_bytes{container=a,namespace=ns,pod=p}": 64 << 20,
		"container_start_time_seconds{container=a,namespace=ns,pod=p}":       start,
		"pod_cpu_usage_seconds_total{namespace=ns,pod=p}":                    3.5,
		"pod_memory_working_set_bytes{namespace=ns,pod=p}":                   80 << 20,
		"scrape_error{}":          0,
		"resource_scrape_error{}": 0,
	} {
		if v, ok := got[name]; !ok || v != want {
			t.Errorf("%s = %v (present %v); want %v", name, v, ok, want)
		}
	}
	if n := len(got); n != 12 {
		t.Errorf("%d series; want 12: %v", n, got)
	}
	if ts := fams["container_cpu_usage_seconds_total"].Metric[0].GetTimestampMs(); ts != clock.Now().UnixMilli() {
		t.Errorf("container_cpu_usage_seconds_total has timestamp %d; want the sample's, %d", ts, clock.Now().UnixMilli())
	}

	failing := &fakeRuntime{listErr: errors.New("runtime down")}
	fp, _ := New(Config{NodeName: "n2", Runtime: failing})
	var logged []string
	fsrv := httptest.NewServer(ResourceMetricsHandler(fp, func(format string, args ...any) { logged = append(logged, fmt.Sprintf(format, args...)) }))
	defer fsrv.Close()
	got = series(scrape(t, fsrv.URL))
	if got["scrape_error{}"] != 1 || got["resource_scrape_error{}"] != 1 || len(got) != 2 {
		t.Errorf("resource metrics of a failing runtime = %v; want only scrape_error 1 and resource_scrape_error 1", got)
	}
	if len(logged) != 1 || !strings.Contains(logged[0], "runtime down") {
		t.Errorf("logged %q; want the runtime's error", logged)
	}
	resp, err := http.Get(fsrv.URL + "/x") // the same handler: still metrics
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	ssrv := httptest.NewServer(SummaryHandler(fp))
	defer ssrv.Close()
	resp, err = http.Get(ssrv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 500 {
		t.Errorf("summary of a failing runtime = %d; want 500", resp.StatusCode)
	}
}

func TestContainerMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := NewContainerMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	rt, clock := simulatedNode(t)
	p1, _ := New(Config{NodeName: "n1", Runtime: rt, Clock: clock})
	f := &fakeRuntime{started: t0}
	f.set(t0.Add(time.Minute), 3e9, 1000)
	p2, _ := New(Config{NodeName: "n2", Runtime: f})
	m.Add(p1)
	remove := m.Add(p2)
	// A broken node is left out, the others still reported.
	m.Add(must(New(Config{NodeName: "n3", Runtime: &fakeRuntime{listErr: errors.New("down")}})))

	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, f := range fams {
		got[f.GetName()+"/count"] = float64(len(f.Metric))
		for _, m := range f.Metric {
			labels := map[string]string{}
			for _, l := range m.Label {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["pod"] == "p" && labels["container"] == "app" {
				got[f.GetName()] = m.GetCounter().GetValue() + m.GetGauge().GetValue()
				if labels["id"] != "c1" || labels["image"] != "img" || labels["namespace"] != "ns" {
					t.Errorf("%s labels = %v; want id c1, image img, namespace ns", f.GetName(), labels)
				}
			}
		}
	}
	for name, want := range map[string]float64{
		"container_cpu_usage_seconds_total/count":  3,
		"container_memory_working_set_bytes/count": 3,
		"container_cpu_usage_seconds_total":        3,
		"container_memory_working_set_bytes":       1000,
	} {
		if got[name] != want {
			t.Errorf("%s = %v; want %v", name, got[name], want)
		}
	}
	remove()
	fams, _ = reg.Gather()
	for _, f := range fams {
		if n := len(f.Metric); n != 2 {
			t.Errorf("after removing a node, %s has %d series; want 2", f.GetName(), n)
		}
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func TestNewValidates(t *testing.T) {
	if _, err := New(Config{}); err == nil || !strings.Contains(err.Error(), "NodeName") || !strings.Contains(err.Error(), "Runtime") {
		t.Errorf("New(Config{}) = %v; want an error naming NodeName and Runtime", err)
	}
}

// BenchmarkSummary reads the summary of a hollow node running 110 pods (the
// default pod limit) of two containers.
func BenchmarkSummary(b *testing.B) {
	r := simulated.New(simulated.Config{StartDelay: -1})
	ctx := context.Background()
	if err := r.UpdatePodCIDR(ctx, "10.42.0.0/24"); err != nil {
		b.Fatal(err)
	}
	for i := range 110 {
		sb, err := r.RunPodSandbox(ctx, kubelet.SandboxConfig{PodUID: types.UID(fmt.Sprint("uid-", i)), Namespace: "ns", Name: fmt.Sprint("p-", i),
			IP: fmt.Sprintf("10.42.0.%d", i+2), Annotations: map[string]string{simulated.CPU: "100m", simulated.Memory: "10Mi"}})
		if err != nil {
			b.Fatal(err)
		}
		for _, name := range []string{"app", "sidecar"} {
			id, err := r.CreateContainer(ctx, sb, kubelet.ContainerConfig{Spec: &corev1.Container{Name: name, Image: "nginx"}})
			if err != nil {
				b.Fatal(err)
			}
			if err := r.StartContainer(ctx, id); err != nil {
				b.Fatal(err)
			}
		}
	}
	p, _ := New(Config{NodeName: "n", Runtime: r})
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.Summary(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

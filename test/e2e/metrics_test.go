package e2e

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// sample is one line of the Prometheus text format.
type sample struct {
	name   string
	labels map[string]string
	value  float64
}

var (
	sampleLine = regexp.MustCompile(`^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)(?: \d+)?$`)
	labelPair  = regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"`)
)

// parseMetrics reads the Prometheus text exposition format.
func parseMetrics(t *testing.T, text string) []sample {
	t.Helper()
	var out []sample
	for _, l := range strings.Split(text, "\n") {
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		m := sampleLine.FindStringSubmatch(l)
		if m == nil {
			t.Errorf("/metrics: malformed line %q", l)
			continue
		}
		v, err := strconv.ParseFloat(m[3], 64)
		if err != nil {
			t.Errorf("/metrics: bad value in %q: %v", l, err)
			continue
		}
		s := sample{name: m[1], labels: map[string]string{}, value: v}
		for _, p := range labelPair.FindAllStringSubmatch(m[2], -1) {
			s.labels[p[1]] = p[2]
		}
		out = append(out, s)
	}
	return out
}

// find returns the samples called name whose labels include want.
func find(samples []sample, name string, want map[string]string) []sample {
	var out []sample
next:
	for _, s := range samples {
		if s.name != name {
			continue
		}
		for k, v := range want {
			if s.labels[k] != v {
				continue next
			}
		}
		out = append(out, s)
	}
	return out
}

func sum(samples []sample) float64 {
	var n float64
	for _, s := range samples {
		n += s.value
	}
	return n
}

// TestMetrics reads /metrics through kubectl get --raw after known traffic.
func TestMetrics(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	k := s.kubectl(t)
	k.ok(t, "create", "namespace", "metered")
	const created = 3
	for i := range created {
		k.ok(t, "create", "configmap", fmt.Sprintf("m%d", i), "-n", "metered", "--from-literal=a=b")
	}
	k.ok(t, "get", "configmaps", "-n", "metered")
	k.fails(t, "get", "configmap", "missing", "-n", "metered")

	metrics := func(t *testing.T) []sample {
		t.Helper()
		text := k.ok(t, "get", "--raw", "/metrics")
		return parseMetrics(t, text)
	}
	m := metrics(t)

	configmaps := map[string]string{"group": "", "version": "v1", "resource": "configmaps"}
	with := func(base map[string]string, kv ...string) map[string]string {
		out := map[string]string{}
		for k, v := range base {
			out[k] = v
		}
		for i := 0; i+1 < len(kv); i += 2 {
			out[kv[i]] = kv[i+1]
		}
		return out
	}

	t.Run("apiserver_request_total", func(t *testing.T) {
		for _, c := range []struct {
			labels  map[string]string
			atLeast float64
		}{
			{with(configmaps, "verb", "POST", "code", "201", "scope", "namespace"), created},
			{with(configmaps, "verb", "LIST", "code", "200", "scope", "namespace"), 1},
			{with(configmaps, "verb", "GET", "code", "404", "scope", "resource"), 1},
			{map[string]string{"group": "", "version": "v1", "resource": "namespaces", "verb": "POST", "code": "201", "scope": "cluster"}, 1},
		} {
			if got := sum(find(m, "apiserver_request_total", c.labels)); got < c.atLeast {
				t.Errorf("apiserver_request_total%v = %v; want at least %v", c.labels, got, c.atLeast)
			}
		}
	})

	t.Run("apiserver_request_duration_seconds", func(t *testing.T) {
		post := with(configmaps, "verb", "POST")
		if got := sum(find(m, "apiserver_request_duration_seconds_count", post)); got < created {
			t.Errorf("apiserver_request_duration_seconds_count%v = %v; want at least %d", post, got, created)
		}
		inf := find(m, "apiserver_request_duration_seconds_bucket", with(post, "le", "+Inf"))
		if got := sum(inf); got < created {
			t.Errorf("apiserver_request_duration_seconds_bucket%v = %v; want at least %d", with(post, "le", "+Inf"), got, created)
		}
		if len(find(m, "apiserver_request_duration_seconds_sum", post)) == 0 {
			t.Errorf("no apiserver_request_duration_seconds_sum%v", post)
		}
	})

	t.Run("etcd_request_duration_seconds", func(t *testing.T) {
		if got := sum(find(m, "etcd_request_duration_seconds_count", map[string]string{"type": "configmaps"})); got < created {
			t.Errorf("etcd_request_duration_seconds_count{type=configmaps} = %v; want at least %d (one per create)", got, created)
		}
	})

	t.Run("apiserver_storage_objects", func(t *testing.T) {
		eventually(t, "apiserver_storage_objects counts the ConfigMaps and namespaces", func() (bool, string) {
			m := metrics(t)
			cms := sum(find(m, "apiserver_storage_objects", map[string]string{"resource": "configmaps"}))
			nss := sum(find(m, "apiserver_storage_objects", map[string]string{"resource": "namespaces"}))
			return cms >= created && nss >= 5, fmt.Sprintf("configmaps %v (want >= %d), namespaces %v (want >= 5)", cms, created, nss)
		})
	})

	t.Run("apiserver_registered_watchers", func(t *testing.T) {
		watchers := func() float64 {
			var n float64
			for _, s := range metrics(t) {
				if s.name == "apiserver_registered_watchers" && (s.labels["resource"] == "configmaps" || s.labels["kind"] == "ConfigMap") {
					n += s.value
				}
			}
			return n
		}
		before := watchers()
		w := k.start(t, "get", "configmaps", "-n", "metered", "-w")
		w.waitFor(t, "the watch", func(out string) bool { return strings.Contains(out, "m0") })
		eventually(t, "apiserver_registered_watchers counts the open watch", func() (bool, string) {
			n := watchers()
			return n >= before+1, fmt.Sprintf("configmaps watchers %v; want at least %v", n, before+1)
		})
		w.stop()
		eventually(t, "apiserver_registered_watchers drops when the watch ends", func() (bool, string) {
			n := watchers()
			return n <= before, fmt.Sprintf("configmaps watchers %v; want %v", n, before)
		})
	})
}

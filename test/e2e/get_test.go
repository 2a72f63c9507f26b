package e2e

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// getFixture is what TestGet reads: pods with labels to select on, a
// Deployment with two containers, a few ConfigMaps, and a second namespace.
func getFixture() string {
	var b strings.Builder
	b.WriteString(`apiVersion: v1
kind: Namespace
metadata:
  name: store
---
apiVersion: v1
kind: Namespace
metadata:
  name: other
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: store
spec:
  # No replicas: the controllers would add pods that match the selectors below.
  replicas: 0
  selector:
    matchLabels:
      app: web
      tier: front
  template:
    metadata:
      labels:
        app: web
        tier: front
    spec:
      containers:
      - name: nginx
        image: registry.local/nginx:1.27
      - name: logger
        image: registry.local/logger
`)
	pod := func(ns, name, labels string) {
		fmt.Fprintf(&b, `---
apiVersion: v1
kind: Pod
metadata:
  name: %s
  namespace: %s
  labels: {%s}
spec:
  containers:
  - name: main
    image: registry.local/app:1
`, name, ns, labels)
	}
	pod("store", "p-web-dev", "app: web, env: dev")
	pod("store", "p-web-prod", "app: web, env: prod")
	pod("store", "p-db", "app: db, env: prod")
	pod("store", "p-solo", "app: solo")
	pod("other", "p-other", "app: web, env: dev")
	for i, name := range []string{"cm-b", "cm-a", "cm-c"} {
		fmt.Fprintf(&b, "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: %s\n  namespace: store\n  labels: {set: fixture}\ndata:\n  key: value-of-%s\n  rank: \"%d\"\n", name, name, i)
	}
	return b.String()
}

// TestGet covers kubectl get's output formats and selectors.
func TestGet(t *testing.T) {
	t.Parallel()
	s := startTend(t, "server", "--disable-agent") // no node: pods stay Pending
	k := s.kubectl(t)
	k.ok(t, "create", "-f", writeFile(t, "objects.yaml", getFixture()))

	names := func(t *testing.T, args ...string) []string {
		t.Helper()
		return sortedLines(k.ok(t, append([]string{"get", "-n", "store", "-o", "name"}, args...)...))
	}

	t.Run("wide", func(t *testing.T) {
		t.Parallel()
		pods := parseTable(t, k.ok(t, "get", "pods", "-n", "store", "-o", "wide"))
		if !pods.hasHeader("NAME", "READY", "STATUS", "RESTARTS", "AGE", "IP", "NODE", "NOMINATED NODE", "READINESS GATES") {
			t.Errorf("get pods -o wide header = %q", pods.header)
		}
		r := pods.row(t, "NAME", "p-db")
		for col, want := range map[string]string{"READY": "0/1", "STATUS": "Pending", "RESTARTS": "0", "IP": "<none>", "NODE": "<none>"} {
			if r[col] != want {
				t.Errorf("get pods -o wide: p-db %s = %q; want %q", col, r[col], want)
			}
		}
		if got := pods.column("NAME"); !slices.Equal(got, []string{"p-db", "p-solo", "p-web-dev", "p-web-prod"}) {
			t.Errorf("get pods names = %q; want them sorted by name", got)
		}

		deps := parseTable(t, k.ok(t, "get", "deployments", "-n", "store", "-o", "wide"))
		if !deps.hasHeader("NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE", "CONTAINERS", "IMAGES", "SELECTOR") {
			t.Errorf("get deployments -o wide header = %q", deps.header)
		}
		d := deps.row(t, "NAME", "web")
		for col, want := range map[string]string{
			"READY":      "0/0",
			"CONTAINERS": "nginx,logger",
			"IMAGES":     "registry.local/nginx:1.27,registry.local/logger",
			"SELECTOR":   "app=web,tier=front",
		} {
			if d[col] != want {
				t.Errorf("get deployments -o wide: web %s = %q; want %q", col, d[col], want)
			}
		}
	})

	t.Run("yaml shows server defaults", func(t *testing.T) {
		t.Parallel()
		text := k.ok(t, "get", "deployment", "web", "-n", "store", "-o", "yaml")
		wantContains(t, "get deployment -o yaml", text, "apiVersion: apps/v1\n", "kind: Deployment\n", "      maxSurge: 25%\n")
		d := decodeYAML(t, text)
		for path, want := range map[string]any{
			"metadata.generation":                                       1,
			"spec.replicas":                                             0,
			"spec.strategy.type":                                        "RollingUpdate",
			"spec.strategy.rollingUpdate.maxSurge":                      "25%",
			"spec.strategy.rollingUpdate.maxUnavailable":                "25%",
			"spec.revisionHistoryLimit":                                 10,
			"spec.progressDeadlineSeconds":                              600,
			"spec.template.spec.restartPolicy":                          "Always",
			"spec.template.spec.dnsPolicy":                              "ClusterFirst",
			"spec.template.spec.schedulerName":                          "default-scheduler",
			"spec.template.spec.terminationGracePeriodSeconds":          30,
			"spec.template.spec.securityContext":                        map[string]any{},
			"spec.template.spec.containers[0].imagePullPolicy":          "IfNotPresent",
			"spec.template.spec.containers[0].terminationMessagePath":   "/dev/termination-log",
			"spec.template.spec.containers[0].terminationMessagePolicy": "File",
			"spec.template.spec.containers[0].resources":                map[string]any{},
			"spec.template.spec.containers[1].imagePullPolicy":          "Always", // no tag means :latest
			"spec.template.spec.containers[1].terminationMessagePath":   "/dev/termination-log",
		} {
			wantField(t, "get deployment web -o yaml", d, path, want)
		}
		for _, path := range []string{"metadata.uid", "metadata.resourceVersion", "metadata.creationTimestamp"} {
			if v, ok := lookup(d, path); !ok || v == "" {
				t.Errorf("get deployment web -o yaml: %s is not set", path)
			}
		}

		pod := decodeYAML(t, k.ok(t, "get", "pod", "p-db", "-n", "store", "-o", "yaml"))
		wantField(t, "get pod p-db -o yaml", pod, "spec.enableServiceLinks", true)
		wantField(t, "get pod p-db -o yaml", pod, "spec.serviceAccountName", "default")
		wantField(t, "get pod p-db -o yaml", pod, "status.phase", "Pending")
		wantField(t, "get pod p-db -o yaml", pod, "status.qosClass", "BestEffort")
	})

	// What kube-apiserver's default admission plugins add to every pod:
	// Priority (no PriorityClass exists) and DefaultTolerationSeconds.
	t.Run("yaml shows pod admission defaults", func(t *testing.T) {
		t.Parallel()
		pod := decodeYAML(t, k.ok(t, "get", "pod", "p-db", "-n", "store", "-o", "yaml"))
		wantField(t, "get pod p-db -o yaml", pod, "spec.priority", 0)
		wantField(t, "get pod p-db -o yaml", pod, "spec.preemptionPolicy", "PreemptLowerPriority")
		wantField(t, "get pod p-db -o yaml", pod, "spec.tolerations", []any{
			map[string]any{"effect": "NoExecute", "key": "node.kubernetes.io/not-ready", "operator": "Exists", "tolerationSeconds": 300},
			map[string]any{"effect": "NoExecute", "key": "node.kubernetes.io/unreachable", "operator": "Exists", "tolerationSeconds": 300},
		})
	})

	t.Run("json", func(t *testing.T) {
		t.Parallel()
		cm := decodeJSON(t, k.ok(t, "get", "configmap", "cm-a", "-n", "store", "-o", "json"))
		wantField(t, "get configmap cm-a -o json", cm, "kind", "ConfigMap")
		wantField(t, "get configmap cm-a -o json", cm, "apiVersion", "v1")
		wantField(t, "get configmap cm-a -o json", cm, "data.key", "value-of-cm-a")

		list := decodeJSON(t, k.ok(t, "get", "configmaps", "-n", "store", "-l", "set=fixture", "-o", "json"))
		wantField(t, "get configmaps -o json", list, "kind", "List")
		items, _ := lookup(list, "items")
		var got []string
		for _, it := range items.([]any) {
			n, _ := lookup(it, "metadata.name")
			got = append(got, fmt.Sprint(n))
			wantField(t, "get configmaps -o json: an item", it, "kind", "ConfigMap")
		}
		if !slices.Equal(got, []string{"cm-a", "cm-b", "cm-c"}) {
			t.Errorf("get configmaps -o json items = %q; want [cm-a cm-b cm-c]", got)
		}
	})

	t.Run("jsonpath", func(t *testing.T) {
		t.Parallel()
		if got := k.ok(t, "get", "configmaps", "-n", "store", "-l", "set=fixture", "-o", "jsonpath={.items[*].metadata.name}"); got != "cm-a cm-b cm-c" {
			t.Errorf("jsonpath {.items[*].metadata.name} = %q; want \"cm-a cm-b cm-c\"", got)
		}
		got := k.ok(t, "get", "configmaps", "-n", "store", "-l", "set=fixture", "-o", `jsonpath={range .items[*]}{.metadata.name}={.data.key}{"\n"}{end}`)
		if want := "cm-a=value-of-cm-a\ncm-b=value-of-cm-b\ncm-c=value-of-cm-c\n"; got != want {
			t.Errorf("jsonpath range = %q; want %q", got, want)
		}
		if got := k.ok(t, "get", "deployment", "web", "-n", "store", "-o", "jsonpath={.spec.template.spec.containers[?(@.name==\"logger\")].imagePullPolicy}"); got != "Always" {
			t.Errorf("jsonpath filter = %q; want Always", got)
		}
		// --sort-by needs the objects inside the server's Table.
		tb := parseTable(t, k.ok(t, "get", "configmaps", "-n", "store", "-l", "set=fixture", "--sort-by=.data.rank"))
		if got := tb.column("NAME"); !slices.Equal(got, []string{"cm-b", "cm-a", "cm-c"}) {
			t.Errorf("get configmaps --sort-by=.data.rank = %q; want [cm-b cm-a cm-c]", got)
		}
		got = k.ok(t, "get", "pods", "-n", "store", "-l", "app=web", "-o", "custom-columns=NAME:.metadata.name,ENV:.metadata.labels.env", "--no-headers")
		if f := strings.Fields(got); !slices.Equal(f, []string{"p-web-dev", "dev", "p-web-prod", "prod"}) {
			t.Errorf("custom-columns NAME:.metadata.name,ENV:.metadata.labels.env = %q; want p-web-dev dev, p-web-prod prod", got)
		}
	})

	t.Run("label selectors", func(t *testing.T) {
		t.Parallel()
		for _, c := range []struct {
			selector string
			want     []string
		}{
			{"app=web", []string{"pod/p-web-dev", "pod/p-web-prod"}},
			{"app==web,env!=dev", []string{"pod/p-web-prod"}},
			{"app in (web,db)", []string{"pod/p-db", "pod/p-web-dev", "pod/p-web-prod"}},
			{"env notin (dev)", []string{"pod/p-db", "pod/p-solo", "pod/p-web-prod"}}, // notin matches a missing key
			{"!env", []string{"pod/p-solo"}},
			{"env", []string{"pod/p-db", "pod/p-web-dev", "pod/p-web-prod"}},
			{"app=web,!env", nil},
		} {
			if got := names(t, "pods", "-l", c.selector); !slices.Equal(got, c.want) {
				t.Errorf("get pods -l %q = %q; want %q", c.selector, got, c.want)
			}
		}
		r := k.fails(t, "get", "pods", "-n", "store", "-l", "app in (web")
		wantContains(t, "a malformed label selector", r.stderr, "unable to parse requirement")
	})

	t.Run("field selectors", func(t *testing.T) {
		t.Parallel()
		if got := names(t, "pods", "--field-selector", "metadata.name=p-db"); !slices.Equal(got, []string{"pod/p-db"}) {
			t.Errorf("--field-selector metadata.name=p-db = %q; want [pod/p-db]", got)
		}
		if got := names(t, "pods", "--field-selector", "metadata.name!=p-db", "-l", "app=web"); !slices.Equal(got, []string{"pod/p-web-dev", "pod/p-web-prod"}) {
			t.Errorf("--field-selector metadata.name!=p-db -l app=web = %q", got)
		}
		if got := names(t, "pods", "--field-selector", "status.phase=Pending,spec.nodeName="); len(got) != 4 {
			t.Errorf("--field-selector status.phase=Pending,spec.nodeName= = %q; want all four unscheduled pods", got)
		}
		if got := names(t, "configmaps", "--field-selector", "metadata.name=cm-b"); !slices.Equal(got, []string{"configmap/cm-b"}) {
			t.Errorf("configmaps --field-selector metadata.name=cm-b = %q", got)
		}
		r := k.fails(t, "get", "pods", "-n", "store", "--field-selector", "spec.foo=bar")
		wantContains(t, "an unsupported field selector", r.stderr, "Error from server (BadRequest)", "field label not supported: spec.foo")
		r = k.fails(t, "get", "configmaps", "-n", "store", "--field-selector", "data.key=value-of-cm-a")
		wantContains(t, "an unsupported field selector", r.stderr, "Error from server (BadRequest)", "field label not supported: data.key")
	})

	t.Run("show-labels", func(t *testing.T) {
		t.Parallel()
		tb := parseTable(t, k.ok(t, "get", "pods", "-n", "store", "--show-labels"))
		if got := tb.header[len(tb.header)-1]; got != "LABELS" {
			t.Errorf("get pods --show-labels: last column %q; want LABELS", got)
		}
		for name, want := range map[string]string{"p-web-dev": "app=web,env=dev", "p-solo": "app=solo"} {
			if got := tb.row(t, "NAME", name)["LABELS"]; got != want {
				t.Errorf("get pods --show-labels: %s LABELS = %q; want %q", name, got, want)
			}
		}
		tb = parseTable(t, k.ok(t, "get", "pods", "-n", "store", "-L", "env"))
		if got := tb.row(t, "NAME", "p-web-prod")["ENV"]; got != "prod" {
			t.Errorf("get pods -L env: p-web-prod ENV = %q; want prod", got)
		}
	})

	t.Run("all namespaces", func(t *testing.T) {
		t.Parallel()
		tb := parseTable(t, k.ok(t, "get", "pods", "-A", "-l", "env=dev"))
		if len(tb.header) == 0 || tb.header[0] != "NAMESPACE" {
			t.Errorf("get pods -A header = %q; want NAMESPACE first", tb.header)
		}
		var got []string
		for _, r := range tb.rows {
			got = append(got, r["NAMESPACE"]+"/"+r["NAME"])
		}
		if want := []string{"other/p-other", "store/p-web-dev"}; !slices.Equal(got, want) {
			t.Errorf("get pods -A -l env=dev = %q; want %q", got, want)
		}
		all := sortedLines(k.ok(t, "get", "namespaces", "-o", "name"))
		for _, want := range []string{"namespace/other", "namespace/store"} {
			if !slices.Contains(all, want) {
				t.Errorf("get namespaces = %q; want %s", all, want)
			}
		}
	})
}

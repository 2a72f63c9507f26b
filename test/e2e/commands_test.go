package e2e

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

const opsFixture = `apiVersion: v1
kind: Namespace
metadata:
  name: ops
  labels:
    team: platform
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: ops
  labels:
    app: web
spec:
  replicas: 3
  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: web
    spec:
      containers:
      - name: nginx
        image: registry.local/nginx:1.27
        ports:
        - containerPort: 8080
        env:
        - name: MODE
          value: production
---
apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: ops
  labels:
    app: web
spec:
  selector:
    app: web
  ports:
  - name: http
    port: 80
    targetPort: 8080
---
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: db
  namespace: ops
spec:
  serviceName: db
  replicas: 1
  selector:
    matchLabels:
      app: db
  template:
    metadata:
      labels:
        app: db
    spec:
      containers:
      - name: postgres
        image: registry.local/postgres:16
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
  namespace: ops
data:
  color: blue
  size: large
`

// TestObjectCommands covers the kubectl commands that read or change one
// object: describe, edit, label, annotate, patch, scale, create configmap.
// Subtests that touch Deployment web run in order (describe, patch, scale,
// before the parallel ones start); the others each have an object of their own.
func TestObjectCommands(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	k := s.kubectl(t)
	k.ok(t, "create", "-f", writeFile(t, "ops.yaml", opsFixture))

	jsonpath := func(t *testing.T, kind, name, expr string) string {
		t.Helper()
		return k.ok(t, "get", kind, name, "-n", "ops", "-o", "jsonpath="+expr)
	}

	t.Run("describe deployment", func(t *testing.T) {
		// The controllers create the pods, the server's node runs them.
		var out string
		eventually(t, "the Deployment's pods available", func() (bool, string) {
			out = k.ok(t, "describe", "deployment", "web", "-n", "ops")
			return regexp.MustCompile(`(?m)^Replicas:\s+3 desired \| 3 updated \| 3 total \| 3 available`).MatchString(out) &&
				regexp.MustCompile(`(?m)^\s+Available\s+True`).MatchString(out) &&
				strings.Contains(out, "ScalingReplicaSet"), out
		})
		wantMatch(t, "kubectl describe deployment web", out,
			`^Name:\s+web$`,
			`^Namespace:\s+ops$`,
			`^Labels:\s+app=web$`,
			`^Selector:\s+app=web$`,
			`^Replicas:\s+3 desired \| 3 updated \| 3 total \| 3 available \| 0 unavailable$`,
			`^StrategyType:\s+RollingUpdate$`,
			`^MinReadySeconds:\s+0$`,
			`^RollingUpdateStrategy:\s+25% max unavailable, 25% max surge$`,
			`^Pod Template:$`,
			`^\s+Labels:\s+app=web$`,
			`^\s+nginx:$`,
			`^\s+Image:\s+registry.local/nginx:1.27$`,
			`^\s+Port:\s+8080/TCP$`,
			`^\s+MODE:\s+production$`,
			`^\s+Available\s+True\s+MinimumReplicasAvailable$`,
			`^NewReplicaSet:\s+web-[a-z0-9]+ \(3/3 replicas created\)$`,
			`^\s+Normal\s+ScalingReplicaSet\s+.*controller-manager\s+Scaled up replica set web-[a-z0-9]+ from 0 to 3$`,
		)
	})

	t.Run("describe service", func(t *testing.T) {
		t.Parallel()
		ip := jsonpath(t, "service", "web", "{.spec.clusterIP}")
		if !strings.HasPrefix(ip, "10.43.") {
			t.Errorf("Service web: spec.clusterIP = %q; want an address in 10.43.0.0/16", ip)
		}
		out := k.ok(t, "describe", "service", "web", "-n", "ops")
		wantMatch(t, "kubectl describe service web", out,
			`^Name:\s+web$`,
			`^Namespace:\s+ops$`,
			`^Selector:\s+app=web$`,
			`^Type:\s+ClusterIP$`,
			`^IP Family Policy:\s+SingleStack$`,
			`^IP Families:\s+IPv4$`,
			`^IP:\s+`+strings.ReplaceAll(ip, ".", `\.`)+`$`,
			`^Port:\s+http\s+80/TCP$`,
			`^TargetPort:\s+8080/TCP$`,
			`^Session Affinity:\s+None$`,
			`^Internal Traffic Policy:\s+Cluster$`,
		)
	})

	t.Run("describe namespace", func(t *testing.T) {
		t.Parallel()
		out := k.ok(t, "describe", "namespace", "ops")
		wantMatch(t, "kubectl describe namespace ops", out,
			`^Name:\s+ops$`,
			`^Labels:\s+kubernetes.io/metadata.name=ops$`,
			`^\s+team=platform$`,
			`^Status:\s+Active$`,
			`^No resource quota\.$`,
			`^No LimitRange resource\.$`,
		)
	})

	t.Run("edit", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		editor := filepath.Join(dir, "editor.sh")
		script := "#!/bin/sh\nset -e\nsed -i -e 's/^  color: blue$/  color: purple/' \"$1\"\n"
		if err := os.WriteFile(editor, []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
		out := k.withEnv("EDITOR="+editor).ok(t, "edit", "configmap", "settings", "-n", "ops")
		if strings.TrimSpace(out) != "configmap/settings edited" {
			t.Errorf("kubectl edit = %q; want configmap/settings edited", out)
		}
		if got := jsonpath(t, "configmap", "settings", "{.data.color},{.data.size}"); got != "purple,large" {
			t.Errorf("after kubectl edit, ConfigMap settings data color,size = %q; want purple,large", got)
		}
		// An editor that changes nothing.
		r := k.withEnv("EDITOR=true").run(t, "edit", "configmap", "settings", "-n", "ops")
		if r.code != 0 || !strings.Contains(r.stderr, "Edit cancelled, no changes made.") {
			t.Errorf("kubectl edit without a change: want exit 0 and \"Edit cancelled, no changes made.\":\n%s", r)
		}
	})

	t.Run("label", func(t *testing.T) {
		t.Parallel()
		k.ok(t, "create", "configmap", "labelled", "-n", "ops")
		labels := func() string { return jsonpath(t, "configmap", "labelled", "{.metadata.labels}") }
		if out := k.ok(t, "label", "configmap", "labelled", "-n", "ops", "tier=backend", "owner=ops"); strings.TrimSpace(out) != "configmap/labelled labeled" {
			t.Errorf("kubectl label = %q; want configmap/labelled labeled", out)
		}
		if got := labels(); got != `{"owner":"ops","tier":"backend"}` {
			t.Errorf("labels = %s; want owner=ops, tier=backend", got)
		}
		r := k.fails(t, "label", "configmap", "labelled", "-n", "ops", "tier=frontend")
		wantContains(t, "kubectl label without --overwrite", r.stderr, "'tier' already has a value (backend), and --overwrite is false")
		k.ok(t, "label", "configmap", "labelled", "-n", "ops", "tier=frontend", "--overwrite")
		if got := labels(); got != `{"owner":"ops","tier":"frontend"}` {
			t.Errorf("labels after --overwrite = %s; want tier=frontend", got)
		}
		if out := k.ok(t, "label", "configmap", "labelled", "-n", "ops", "tier-"); strings.TrimSpace(out) != "configmap/labelled unlabeled" {
			t.Errorf("kubectl label tier- = %q; want configmap/labelled unlabeled", out)
		}
		if got := labels(); got != `{"owner":"ops"}` {
			t.Errorf("labels after tier- = %s; want only owner=ops", got)
		}
		// Labels select: the one just set finds the object.
		if got := lines(k.ok(t, "get", "configmaps", "-n", "ops", "-l", "owner=ops", "-o", "name")); !slices.Equal(got, []string{"configmap/labelled"}) {
			t.Errorf("get configmaps -l owner=ops = %q; want [configmap/labelled]", got)
		}
	})

	t.Run("annotate", func(t *testing.T) {
		t.Parallel()
		k.ok(t, "create", "configmap", "annotated", "-n", "ops")
		note := func() string { return jsonpath(t, "configmap", "annotated", "{.metadata.annotations.note}") }
		if out := k.ok(t, "annotate", "configmap", "annotated", "-n", "ops", "note=first draft"); strings.TrimSpace(out) != "configmap/annotated annotated" {
			t.Errorf("kubectl annotate = %q; want configmap/annotated annotated", out)
		}
		if got := note(); got != "first draft" {
			t.Errorf("annotation note = %q; want \"first draft\"", got)
		}
		r := k.fails(t, "annotate", "configmap", "annotated", "-n", "ops", "note=second")
		wantContains(t, "kubectl annotate without --overwrite", r.stderr, "--overwrite is false but found the following declared annotation(s): 'note' already has a value (first draft)")
		k.ok(t, "annotate", "configmap", "annotated", "-n", "ops", "note=second", "--overwrite")
		if got := note(); got != "second" {
			t.Errorf("annotation note after --overwrite = %q; want second", got)
		}
		k.ok(t, "annotate", "configmap", "annotated", "-n", "ops", "note-")
		if got := jsonpath(t, "configmap", "annotated", "{.metadata.annotations}"); got != "" && got != "{}" {
			t.Errorf("annotations after note- = %q; want none", got)
		}
	})

	t.Run("patch", func(t *testing.T) {
		k.ok(t, "create", "configmap", "patched", "-n", "ops", "--from-literal=a=1", "--from-literal=b=2")
		data := func() string { return jsonpath(t, "configmap", "patched", "{.data}") }

		if out := k.ok(t, "patch", "configmap", "patched", "-n", "ops", "--type", "merge", "-p", `{"data":{"c":"3","a":null}}`); strings.TrimSpace(out) != "configmap/patched patched" {
			t.Errorf("kubectl patch --type merge = %q; want configmap/patched patched", out)
		}
		if got := data(); got != `{"b":"2","c":"3"}` {
			t.Errorf("after a merge patch setting c and nulling a, data = %s; want {\"b\":\"2\",\"c\":\"3\"}", got)
		}

		k.ok(t, "patch", "configmap", "patched", "-n", "ops", "--type", "json", "-p",
			`[{"op":"replace","path":"/data/b","value":"two"},{"op":"remove","path":"/data/c"},{"op":"add","path":"/metadata/labels","value":{"via":"json"}}]`)
		if got := data(); got != `{"b":"two"}` {
			t.Errorf("after a JSON patch, data = %s; want {\"b\":\"two\"}", got)
		}
		if got := jsonpath(t, "configmap", "patched", "{.metadata.labels.via}"); got != "json" {
			t.Errorf("after a JSON patch, label via = %q; want json", got)
		}
		r := k.fails(t, "patch", "configmap", "patched", "-n", "ops", "--type", "json", "-p", `[{"op":"test","path":"/data/b","value":"nope"}]`)
		wantContains(t, "a JSON patch whose test fails", r.stderr, "The request is invalid")
		if r := k.fails(t, "patch", "configmap", "patched", "-n", "ops", "--type", "json", "-p", `[{"op":"remove","path":"/data/missing"}]`); r.stderr == "" {
			t.Errorf("a JSON patch removing a missing path: want an error message:\n%s", r)
		}

		// Strategic merge: containers merge by name instead of being replaced.
		gen := jsonpath(t, "deployment", "web", "{.metadata.generation}")
		k.ok(t, "patch", "deployment", "web", "-n", "ops", "--type", "strategic", "-p",
			`{"spec":{"template":{"spec":{"containers":[{"name":"sidecar","image":"registry.local/sidecar:2"}]}}}}`)
		names := strings.Fields(jsonpath(t, "deployment", "web", "{.spec.template.spec.containers[*].name}"))
		slices.Sort(names)
		if !slices.Equal(names, []string{"nginx", "sidecar"}) {
			t.Errorf("after a strategic merge patch adding sidecar, containers = %q; want nginx and sidecar", names)
		}
		if got := jsonpath(t, "deployment", "web", "{.spec.template.spec.containers[?(@.name==\"sidecar\")].imagePullPolicy}"); got != "IfNotPresent" {
			t.Errorf("patched-in container imagePullPolicy = %q; want the default IfNotPresent", got)
		}
		if got := jsonpath(t, "deployment", "web", "{.metadata.generation}"); got == gen {
			t.Errorf("Deployment web: metadata.generation stayed %s after a template change", got)
		}
		k.ok(t, "patch", "deployment", "web", "-n", "ops", "-p",
			`{"spec":{"template":{"spec":{"containers":[{"name":"sidecar","$patch":"delete"}]}}}}`)
		if got := jsonpath(t, "deployment", "web", "{.spec.template.spec.containers[*].name}"); got != "nginx" {
			t.Errorf("after a strategic $patch: delete of sidecar, containers = %q; want nginx", got)
		}
		// A metadata-only patch leaves the generation alone.
		gen = jsonpath(t, "deployment", "web", "{.metadata.generation}")
		k.ok(t, "patch", "deployment", "web", "-n", "ops", "--type", "merge", "-p", `{"metadata":{"labels":{"patched":"yes"}}}`)
		if got := jsonpath(t, "deployment", "web", "{.metadata.generation}"); got != gen {
			t.Errorf("Deployment web: metadata.generation moved %s -> %s on a label change; want it kept", gen, got)
		}
		r = k.fails(t, "patch", "configmap", "patched", "-n", "ops", "--type", "merge", "-p", `{"data":`)
		if r.stderr == "" {
			t.Errorf("a malformed merge patch: want an error message:\n%s", r)
		}
	})

	t.Run("scale", func(t *testing.T) {
		if out := k.ok(t, "scale", "statefulset", "db", "-n", "ops", "--replicas=4"); strings.TrimSpace(out) != "statefulset.apps/db scaled" {
			t.Errorf("kubectl scale statefulset = %q; want statefulset.apps/db scaled", out)
		}
		if got := jsonpath(t, "statefulset", "db", "{.spec.replicas}"); got != "4" {
			t.Errorf("after kubectl scale --replicas=4, StatefulSet db spec.replicas = %s; want 4", got)
		}
		r := k.fails(t, "scale", "statefulset", "db", "-n", "ops", "--current-replicas=2", "--replicas=1")
		wantContains(t, "kubectl scale with a wrong --current-replicas", r.stderr, "Expected replicas to be 2, was 4")
		if got := jsonpath(t, "statefulset", "db", "{.spec.replicas}"); got != "4" {
			t.Errorf("after a refused scale, StatefulSet db spec.replicas = %s; want 4", got)
		}
		k.ok(t, "scale", "deployment", "web", "-n", "ops", "--replicas=5")
		if got := jsonpath(t, "deployment", "web", "{.spec.replicas}"); got != "5" {
			t.Errorf("after kubectl scale --replicas=5, Deployment web spec.replicas = %s; want 5", got)
		}
		scale := decodeJSON(t, k.ok(t, "get", "--raw", "/apis/apps/v1/namespaces/ops/deployments/web/scale"))
		wantField(t, "the scale subresource", scale, "kind", "Scale")
		wantField(t, "the scale subresource", scale, "apiVersion", "autoscaling/v1")
		wantField(t, "the scale subresource", scale, "spec.replicas", 5)
		wantField(t, "the scale subresource", scale, "status.selector", "app=web")
	})

	t.Run("create configmap", func(t *testing.T) {
		t.Parallel()
		out := k.ok(t, "create", "configmap", "literal", "-n", "ops",
			"--from-literal=greeting=hello world", "--from-literal=url=http://example.test/?a=b")
		if strings.TrimSpace(out) != "configmap/literal created" {
			t.Errorf("kubectl create configmap = %q; want configmap/literal created", out)
		}
		cm := decodeJSON(t, k.ok(t, "get", "configmap", "literal", "-n", "ops", "-o", "json"))
		wantField(t, "ConfigMap literal", cm, "data", map[string]any{"greeting": "hello world", "url": "http://example.test/?a=b"})
		tb := parseTable(t, k.ok(t, "get", "configmap", "literal", "-n", "ops"))
		if got := tb.row(t, "NAME", "literal")["DATA"]; got != "2" {
			t.Errorf("get configmap literal: DATA = %q; want 2", got)
		}
		r := k.fails(t, "create", "configmap", "literal", "-n", "ops", "--from-literal=a=b")
		wantContains(t, "creating configmap literal twice", r.stderr, `configmaps "literal" already exists`)
	})
}

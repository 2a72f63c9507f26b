package e2e

import (
	"strings"
	"testing"
)

// deploymentYAML is a Deployment in namespace errs; extraSpec goes under spec.
func deploymentYAML(name, selector, templateLabel, extraSpec string) string {
	return `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ` + name + `
  namespace: errs
spec:
` + extraSpec + `  selector:
    matchLabels:
      app: ` + selector + `
  template:
    metadata:
      labels:
        app: ` + templateLabel + `
    spec:
      containers:
      - name: main
        image: registry.local/app:1
`
}

// TestErrors checks that what the server refuses reaches the user the way
// kube-apiserver's refusals do.
func TestErrors(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	k := s.kubectl(t)
	k.ok(t, "create", "namespace", "errs")

	t.Run("invalid object", func(t *testing.T) {
		t.Parallel()
		file := writeFile(t, "invalid.yaml", deploymentYAML("x", "web", "other", "  replicas: -1\n"))
		r := k.fails(t, "create", "-f", file)
		wantContains(t, "creating an invalid Deployment", r.stderr,
			`The Deployment "x" is invalid: `,
			"spec.template.metadata.labels: Invalid value: ",
			"`selector` does not match template `labels`",
			"spec.replicas: Invalid value: -1: must be greater than or equal to 0",
		)
		r = k.fails(t, "get", "deployment", "x", "-n", "errs")
		wantContains(t, "the invalid Deployment", r.stderr, `Error from server (NotFound): deployments.apps "x" not found`)

		r = k.fails(t, "create", "configmap", "Bad_Name", "-n", "errs")
		wantContains(t, "a ConfigMap with an invalid name", r.stderr,
			`ConfigMap "Bad_Name" is invalid: metadata.name: Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters`)
	})

	t.Run("unknown field", func(t *testing.T) {
		t.Parallel()
		file := writeFile(t, "unknown.yaml", deploymentYAML("u", "u", "u", "  foo: bar\n"))
		// kubectl asks for strict field validation by default.
		r := k.fails(t, "create", "-f", file)
		wantContains(t, "creating a Deployment with an unknown field", r.stderr,
			"Error from server (BadRequest)",
			`strict decoding error: unknown field "spec.foo"`)
		r = k.fails(t, "apply", "-f", file)
		wantContains(t, "applying a Deployment with an unknown field", r.stderr, `unknown field "spec.foo"`)
		if r := k.run(t, "get", "deployment", "u", "-n", "errs"); r.code == 0 {
			t.Fatalf("a Deployment refused for an unknown field was stored:\n%s", r)
		}

		// --validate=warn: stored, with the server's warning.
		r = k.run(t, "create", "-f", file, "--validate=warn")
		if r.code != 0 || !strings.Contains(r.stderr, `Warning: unknown field "spec.foo"`) {
			t.Errorf("kubectl create --validate=warn: want success and Warning: unknown field \"spec.foo\":\n%s", r)
		}
		k.ok(t, "delete", "deployment", "u", "-n", "errs")
		// --validate=false: stored silently.
		r = k.run(t, "create", "-f", file, "--validate=false")
		if r.code != 0 || strings.Contains(r.stderr, "unknown field") {
			t.Errorf("kubectl create --validate=false: want success without a warning:\n%s", r)
		}
		if got := k.ok(t, "get", "deployment", "u", "-n", "errs", "-o", "jsonpath={.spec}"); strings.Contains(got, "foo") {
			t.Errorf("the unknown field was stored: spec = %s", got)
		}
	})

	t.Run("conflict", func(t *testing.T) {
		t.Parallel()
		stale := k.ok(t, "create", "configmap", "c", "-n", "errs", "--from-literal=a=1", "-o", "yaml")
		k.ok(t, "label", "configmap", "c", "-n", "errs", "changed=yes")
		r := k.fails(t, "replace", "-f", writeFile(t, "stale.yaml", stale))
		wantContains(t, "replacing with a stale resourceVersion", r.stderr,
			"Error from server (Conflict)",
			`Operation cannot be fulfilled on configmaps "c": the object has been modified; please apply your changes to the latest version and try again`)
		fresh := replaceOnce(t, stale, "  a: \"1\"\n", "  a: \"2\"\n")
		r = k.fails(t, "create", "-f", writeFile(t, "again.yaml", fresh))
		wantContains(t, "creating an existing object", r.stderr, `Error from server (AlreadyExists)`, `configmaps "c" already exists`)
	})

	t.Run("immutable fields", func(t *testing.T) {
		t.Parallel()
		k.ok(t, "create", "-f", writeFile(t, "immutable.yaml", deploymentYAML("fixed", "fixed", "fixed", "")))
		r := k.fails(t, "patch", "deployment", "fixed", "-n", "errs", "--type", "merge", "-p",
			`{"spec":{"selector":{"matchLabels":{"app":"moved"}},"template":{"metadata":{"labels":{"app":"moved"}}}}}`)
		wantContains(t, "changing a Deployment's selector", r.stderr, `The Deployment "fixed" is invalid: spec.selector: Invalid value: `, "field is immutable")
		if got := k.ok(t, "get", "deployment", "fixed", "-n", "errs", "-o", "jsonpath={.spec.selector.matchLabels.app}"); got != "fixed" {
			t.Errorf("after a refused update, selector app = %q; want fixed", got)
		}

		k.ok(t, "create", "job", "once", "-n", "errs", "--image=registry.local/app:1")
		r = k.fails(t, "patch", "job", "once", "-n", "errs", "--type", "json", "-p",
			`[{"op":"replace","path":"/spec/template/spec/containers/0/image","value":"registry.local/app:2"}]`)
		wantContains(t, "changing a Job's pod template", r.stderr, `The Job "once" is invalid: spec.template: Invalid value: `, "field is immutable")
	})

	t.Run("not found", func(t *testing.T) {
		t.Parallel()
		r := k.fails(t, "get", "configmap", "nothing", "-n", "errs")
		wantContains(t, "get of a missing object", r.stderr, `Error from server (NotFound): configmaps "nothing" not found`)
		r = k.fails(t, "delete", "configmap", "nothing", "-n", "errs")
		wantContains(t, "delete of a missing object", r.stderr, `Error from server (NotFound): configmaps "nothing" not found`)
		r = k.fails(t, "create", "configmap", "orphan", "-n", "no-such-namespace")
		wantContains(t, "create in a missing namespace", r.stderr, `namespaces "no-such-namespace" not found`)
	})

	t.Run("unknown resource type", func(t *testing.T) {
		t.Parallel()
		r := k.fails(t, "get", "widgets")
		wantContains(t, "kubectl get widgets", r.stderr, `error: the server doesn't have a resource type "widgets"`)
	})
}

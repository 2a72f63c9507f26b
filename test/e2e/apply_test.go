package e2e

import (
	"slices"
	"strconv"
	"strings"
	"testing"
)

// TestApply applies a multi-document application, changes it, diffs it and
// deletes it: the loop a user of kubectl apply lives in.
func TestApply(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	k := s.kubectl(t)

	v1 := readTestdata(t, "app.yaml")
	v1File := writeFile(t, "app.yaml", v1)
	v2 := replaceOnce(t, v1,
		"  replicas: 2\n", "  replicas: 3\n", // the Deployment
		"  color: blue\n", "  color: green\n", // the ConfigMap
		"  size: large\n", "", // a key dropped from the ConfigMap: apply removes it
		"    tier: frontend\n", "    tier: edge\n", // a label of the Deployment
		"    targetPort: 80\n", "    targetPort: 8080\n", // the Service, which must keep its addresses
	)
	v2File := writeFile(t, "app-v2.yaml", v2)

	get := func(t *testing.T, args ...string) string {
		t.Helper()
		return k.ok(t, append([]string{"get", "-n", "shop"}, args...)...)
	}

	out := k.ok(t, "apply", "-f", v1File)
	wantLines := []string{
		"namespace/shop created",
		"deployment.apps/web created",
		"service/web created",
		"configmap/settings created",
		"secret/creds created",
		"statefulset.apps/db created",
		"daemonset.apps/agent created",
		"job.batch/migrate created",
		"cronjob.batch/nightly created",
		"horizontalpodautoscaler.autoscaling/web created",
	}
	if got := lines(out); !slices.Equal(got, wantLines) {
		t.Fatalf("kubectl apply -f app.yaml printed\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(wantLines, "\n"))
	}

	gen1 := get(t, "deployment", "web", "-o", "jsonpath={.metadata.generation}")
	if gen1 != "1" {
		t.Errorf("new Deployment's metadata.generation = %q; want 1", gen1)
	}
	svc1 := decodeJSON(t, get(t, "service", "web", "-o", "json"))
	clusterIP, _ := lookup(svc1, "spec.clusterIP")
	nodePort, _ := lookup(svc1, "spec.ports[0].nodePort")
	if ip, _ := clusterIP.(string); !strings.HasPrefix(ip, "10.43.") {
		t.Errorf("Service web: spec.clusterIP = %v; want one from the service range 10.43.0.0/16", clusterIP)
	}
	if np, _ := nodePort.(float64); np < 30000 || np > 32767 {
		t.Errorf("Service web: spec.ports[0].nodePort = %v; want one in 30000-32767", nodePort)
	}
	cmUID := get(t, "configmap", "settings", "-o", "jsonpath={.metadata.uid}")
	wantContains(t, "Secret creds", get(t, "secret", "creds", "-o", "jsonpath={.data.password}"), "czNjcmV0")
	// The autoscaling/v2 object is served as autoscaling/v1 too.
	if got := get(t, "horizontalpodautoscalers.v1.autoscaling", "web", "-o", "jsonpath={.spec.targetCPUUtilizationPercentage}"); got != "70" {
		t.Errorf("HPA web as autoscaling/v1: spec.targetCPUUtilizationPercentage = %q; want 70", got)
	}

	t.Run("diff identical", func(t *testing.T) {
		r := k.run(t, "diff", "-f", v1File)
		if r.code != 0 || strings.TrimSpace(r.stdout) != "" {
			t.Errorf("kubectl diff of what was just applied: want exit 0 and no diff:\n%s", r)
		}
	})

	t.Run("diff changed", func(t *testing.T) {
		r := k.run(t, "diff", "-f", v2File)
		if r.code != 1 {
			t.Fatalf("kubectl diff of a changed file: want exit 1:\n%s", r)
		}
		wantContains(t, "kubectl diff", r.stdout,
			"-  replicas: 2\n", "+  replicas: 3\n",
			"-  color: blue\n", "+  color: green\n", "-  size: large\n",
			"-    tier: frontend\n", "+    tier: edge\n",
			"-    targetPort: 80\n", "+    targetPort: 8080\n",
		)
		// Only the changed objects differ: kubectl diff runs `diff -u -N LIVE/X MERGED/X`
		// for each, X being group.version.Kind.namespace.name.
		var differ []string
		for _, l := range lines(r.stdout) {
			if f := strings.Fields(l); len(f) == 5 && f[0] == "diff" {
				differ = append(differ, f[4][strings.LastIndex(f[4], "/")+1:])
			}
		}
		slices.Sort(differ)
		if want := []string{"apps.v1.Deployment.shop.web", "v1.ConfigMap.shop.settings", "v1.Service.shop.web"}; !slices.Equal(differ, want) {
			t.Errorf("kubectl diff compared %q; want exactly the changed objects %q", differ, want)
		}
		// diff is a server-side dry run: nothing changed.
		if got := get(t, "deployment", "web", "-o", "jsonpath={.spec.replicas} {.metadata.generation}"); got != "2 1" {
			t.Errorf("after kubectl diff, Deployment web replicas and generation = %q; want \"2 1\"", got)
		}
	})

	t.Run("apply changes", func(t *testing.T) {
		out := k.ok(t, "apply", "-f", v2File)
		want := []string{
			"namespace/shop unchanged",
			"deployment.apps/web configured",
			"service/web configured",
			"configmap/settings configured",
			"secret/creds unchanged",
			"statefulset.apps/db unchanged",
			"daemonset.apps/agent unchanged",
			"job.batch/migrate unchanged",
			"cronjob.batch/nightly unchanged",
			"horizontalpodautoscaler.autoscaling/web unchanged",
		}
		if got := lines(out); !slices.Equal(got, want) {
			t.Errorf("second kubectl apply printed\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}

		d := decodeJSON(t, get(t, "deployment", "web", "-o", "json"))
		wantField(t, "Deployment web", d, "spec.replicas", 3)
		wantField(t, "Deployment web", d, "metadata.labels.tier", "edge")
		wantField(t, "Deployment web", d, "metadata.labels.app", "web")
		gen, _ := lookup(d, "metadata.generation")
		if g, _ := gen.(float64); strconv.FormatFloat(g, 'f', -1, 64) == gen1 || g < 2 {
			t.Errorf("Deployment web: metadata.generation = %v after a spec change; want it to move past %s", gen, gen1)
		}

		cm := decodeJSON(t, get(t, "configmap", "settings", "-o", "json"))
		wantField(t, "ConfigMap settings", cm, "data", map[string]any{"color": "green"})
		wantField(t, "ConfigMap settings (patched, not recreated)", cm, "metadata.uid", cmUID)

		svc := decodeJSON(t, get(t, "service", "web", "-o", "json"))
		wantField(t, "Service web after apply", svc, "spec.clusterIP", clusterIP)
		wantField(t, "Service web after apply", svc, "spec.ports[0].nodePort", nodePort)
		wantField(t, "Service web after apply", svc, "spec.ports[0].targetPort", 8080)

		if r := k.run(t, "diff", "-f", v2File); r.code != 0 {
			t.Errorf("kubectl diff after applying the same file: want exit 0:\n%s", r)
		}
		// Applying again changes nothing at all.
		for _, l := range lines(k.ok(t, "apply", "-f", v2File)) {
			if !strings.HasSuffix(l, " unchanged") {
				t.Errorf("third kubectl apply of the same file: %q; want every object unchanged", l)
			}
		}
	})

	t.Run("delete -f", func(t *testing.T) {
		// Without the Namespace: deleting it waits on the namespace controller.
		docs := strings.Split(v2, "\n---\n")
		if !strings.Contains(docs[0], "kind: Namespace") {
			t.Fatalf("fixture: the first document of app.yaml is not the Namespace:\n%s", docs[0])
		}
		noNS := writeFile(t, "app-objects.yaml", strings.Join(docs[1:], "\n---\n"))
		out := k.ok(t, "delete", "-f", noNS)
		want := []string{
			`deployment.apps "web" deleted`,
			`service "web" deleted`,
			`configmap "settings" deleted`,
			`secret "creds" deleted`,
			`statefulset.apps "db" deleted`,
			`daemonset.apps "agent" deleted`,
			`job.batch "migrate" deleted`,
			`cronjob.batch "nightly" deleted`,
			`horizontalpodautoscaler.autoscaling "web" deleted`,
		}
		if got := lines(out); !slices.Equal(got, want) {
			t.Errorf("kubectl delete -f printed\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		r := k.run(t, "get", "-n", "shop", "deployments,services,configmaps,secrets,statefulsets,daemonsets,jobs,cronjobs,hpa", "-o", "name")
		left := slices.DeleteFunc(lines(r.stdout), func(l string) bool {
			return l == "configmap/kube-root-ca.crt" // the controller-manager's, in every namespace
		})
		if r.code != 0 || len(left) > 0 {
			t.Errorf("after kubectl delete -f, namespace shop still holds objects:\n%s", r)
		}
		// The garbage collector takes the Deployment's ReplicaSets and pods with it.
		eventually(t, "the Deployment's ReplicaSets and pods gone", func() (bool, string) {
			out := k.ok(t, "get", "-n", "shop", "replicasets,pods", "-l", "app=web", "-o", "name")
			return strings.TrimSpace(out) == "", out
		})
		r = k.fails(t, "get", "-n", "shop", "deployment", "web")
		wantContains(t, "get a deleted Deployment", r.stderr, `Error from server (NotFound): deployments.apps "web" not found`)
		if r := k.run(t, "delete", "-f", noNS); r.code == 0 || !strings.Contains(r.stderr, `Error from server (NotFound): error when deleting`) {
			t.Errorf("kubectl delete -f twice: want NotFound errors:\n%s", r)
		}
	})

	t.Run("delete namespace", func(t *testing.T) {
		// A ConfigMap with a finalizer holds the namespace in Terminating.
		k.ok(t, "create", "-f", writeFile(t, "held.yaml", `apiVersion: v1
kind: ConfigMap
metadata:
  name: held
  namespace: shop
  finalizers: [example.com/hold]
`))
		out := k.ok(t, "delete", "namespace", "shop", "--wait=false")
		if strings.TrimSpace(out) != `namespace "shop" deleted` {
			t.Errorf("kubectl delete namespace shop --wait=false = %q; want namespace \"shop\" deleted", out)
		}
		eventually(t, "namespace shop Terminating, waiting on the held ConfigMap", func() (bool, string) {
			ns := decodeJSON(t, k.ok(t, "get", "namespace", "shop", "-o", "json"))
			phase, _ := lookup(ns, "status.phase")
			cond, _ := lookup(ns, "status.conditions")
			return phase == "Terminating" && strings.Contains(printed(cond), "NamespaceFinalizersRemaining"), printed(ns)
		})
		tb := parseTable(t, k.ok(t, "get", "namespace", "shop"))
		if st := tb.row(t, "NAME", "shop")["STATUS"]; st != "Terminating" {
			t.Errorf("namespace shop STATUS = %q after delete; want Terminating", st)
		}
		r := k.fails(t, "create", "configmap", "late", "-n", "shop", "--from-literal=a=b")
		wantContains(t, "creating in a terminating namespace", r.stderr,
			`configmaps "late" is forbidden: unable to create new content in namespace shop because it is being terminated`)

		// Once nothing holds it, the namespace goes, and kubectl delete namespace
		// returns when it has.
		k.ok(t, "patch", "configmap", "held", "-n", "shop", "--type=merge", "-p", `{"metadata":{"finalizers":null}}`)
		k.ok(t, "delete", "namespace", "shop", "--ignore-not-found", "--timeout=60s")
		r = k.fails(t, "get", "namespace", "shop")
		wantContains(t, "namespace shop after deletion", r.stderr, `namespaces "shop" not found`)

		k.ok(t, "create", "namespace", "brief")
		k.ok(t, "create", "configmap", "c", "-n", "brief", "--from-literal=a=b")
		k.ok(t, "delete", "namespace", "brief", "--timeout=60s")
		r = k.fails(t, "get", "namespace", "brief")
		wantContains(t, "namespace brief after kubectl delete", r.stderr, `namespaces "brief" not found`)
	})
}

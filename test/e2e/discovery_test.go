package e2e

import (
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestDiscovery covers what kubectl learns about the server before it does
// anything else: version, resource types, API groups, cluster-info.
func TestDiscovery(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	k := s.kubectl(t)

	t.Run("version", func(t *testing.T) {
		out := k.ok(t, "version")
		wantMatch(t, "kubectl version", out, `^Client Version: v1\.\d+`, `^Server Version: v1\.\d+\.\d+`)

		v := decodeJSON(t, k.ok(t, "version", "-o", "json"))
		wantField(t, "kubectl version -o json", v, "serverVersion.major", "1")
		git, _ := lookup(v, "serverVersion.gitVersion")
		if g, _ := git.(string); !regexp.MustCompile(`^v1\.\d+\.\d+`).MatchString(g) {
			t.Errorf("serverVersion.gitVersion = %v; want v1.MINOR.PATCH", git)
		}
		minor, _ := lookup(v, "serverVersion.minor")
		if m, _ := minor.(string); git != nil && !strings.HasPrefix(git.(string), "v1."+strings.TrimSuffix(m, "+")+".") {
			t.Errorf("serverVersion.minor = %q does not agree with gitVersion %q", m, git)
		}
		wantField(t, "kubectl version -o json", v, "serverVersion.platform", "linux/amd64")
	})

	t.Run("api-resources", func(t *testing.T) {
		tb := parseTable(t, k.ok(t, "api-resources"))
		if !tb.hasHeader("NAME", "SHORTNAMES", "APIVERSION", "NAMESPACED", "KIND") {
			t.Fatalf("api-resources header = %q", tb.header)
		}
		for _, want := range []struct{ name, short, version, namespaced, kind string }{
			{"pods", "po", "v1", "true", "Pod"},
			{"services", "svc", "v1", "true", "Service"},
			{"configmaps", "cm", "v1", "true", "ConfigMap"},
			{"secrets", "", "v1", "true", "Secret"},
			{"namespaces", "ns", "v1", "false", "Namespace"},
			{"nodes", "no", "v1", "false", "Node"},
			{"deployments", "deploy", "apps/v1", "true", "Deployment"},
			{"statefulsets", "sts", "apps/v1", "true", "StatefulSet"},
			{"daemonsets", "ds", "apps/v1", "true", "DaemonSet"},
			{"replicasets", "rs", "apps/v1", "true", "ReplicaSet"},
			{"jobs", "", "batch/v1", "true", "Job"},
			{"cronjobs", "cj", "batch/v1", "true", "CronJob"},
			{"horizontalpodautoscalers", "hpa", "autoscaling/v2", "true", "HorizontalPodAutoscaler"},
			{"leases", "", "coordination.k8s.io/v1", "true", "Lease"},
			{"endpointslices", "", "discovery.k8s.io/v1", "true", "EndpointSlice"},
			{"clusterroles", "", "rbac.authorization.k8s.io/v1", "false", "ClusterRole"},
			{"storageclasses", "sc", "storage.k8s.io/v1", "false", "StorageClass"},
		} {
			r := tb.row(t, "NAME", want.name)
			got := []string{r["SHORTNAMES"], r["APIVERSION"], r["NAMESPACED"], r["KIND"]}
			if w := []string{want.short, want.version, want.namespaced, want.kind}; !slices.Equal(got, w) {
				t.Errorf("api-resources row %s = %q; want %q", want.name, got, w)
			}
		}

		out := k.ok(t, "api-resources", "--api-group=autoscaling", "-o", "name")
		if got := lines(out); !slices.Equal(got, []string{"horizontalpodautoscalers.autoscaling"}) {
			t.Errorf("api-resources --api-group=autoscaling -o name = %q; want [horizontalpodautoscalers.autoscaling]", got)
		}
		wide := parseTable(t, k.ok(t, "api-resources", "--api-group=apps", "-o", "wide"))
		if verbs := wide.row(t, "NAME", "deployments")["VERBS"]; verbs != "create,delete,deletecollection,get,list,patch,update,watch" {
			t.Errorf("deployments VERBS = %q; want create,delete,deletecollection,get,list,patch,update,watch", verbs)
		}
		if cats := wide.row(t, "NAME", "deployments")["CATEGORIES"]; cats != "all" {
			t.Errorf("deployments CATEGORIES = %q; want all", cats)
		}
		// The short names resolve.
		wantContains(t, "kubectl get hpa -A", k.run(t, "get", "hpa", "-A").stderr, "No resources found")
		wantContains(t, "kubectl get deploy,sts,cj -A", k.run(t, "get", "deploy,sts,cj", "-A").stderr, "No resources found")
	})

	t.Run("api-versions", func(t *testing.T) {
		got := lines(k.ok(t, "api-versions"))
		for _, want := range []string{"v1", "apps/v1", "autoscaling/v1", "autoscaling/v2", "batch/v1",
			"coordination.k8s.io/v1", "discovery.k8s.io/v1", "events.k8s.io/v1", "rbac.authorization.k8s.io/v1", "storage.k8s.io/v1"} {
			if !slices.Contains(got, want) {
				t.Errorf("api-versions = %q; want it to include %s", got, want)
			}
		}
		if !slices.IsSorted(got) {
			t.Errorf("api-versions = %q; want sorted", got)
		}
	})

	t.Run("cluster-info", func(t *testing.T) {
		out := regexp.MustCompile("\x1b\\[[0-9;]*m").ReplaceAllString(k.ok(t, "cluster-info"), "")
		wantContains(t, "kubectl cluster-info", out, "Kubernetes control plane is running at "+s.url+"\n")
	})

	t.Run("create namespace", func(t *testing.T) {
		if out := k.ok(t, "create", "namespace", "team-a"); strings.TrimSpace(out) != "namespace/team-a created" {
			t.Errorf("kubectl create namespace team-a = %q; want namespace/team-a created", out)
		}
		tb := parseTable(t, k.ok(t, "get", "namespace", "team-a", "--show-labels"))
		r := tb.row(t, "NAME", "team-a")
		if r["STATUS"] != "Active" || r["LABELS"] != "kubernetes.io/metadata.name=team-a" {
			t.Errorf("get namespace team-a = %v; want STATUS Active, LABELS kubernetes.io/metadata.name=team-a", r)
		}
		r2 := k.fails(t, "create", "namespace", "team-a")
		wantContains(t, "creating namespace team-a twice", r2.stderr, `Error from server (AlreadyExists): namespaces "team-a" already exists`)
		names := lines(k.ok(t, "get", "namespaces", "-o", "name"))
		for _, want := range []string{"namespace/default", "namespace/kube-system", "namespace/kube-public", "namespace/kube-node-lease", "namespace/team-a"} {
			if !slices.Contains(names, want) {
				t.Errorf("get namespaces -o name = %q; want it to include %s", names, want)
			}
		}
	})
}

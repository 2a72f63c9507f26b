package staticpods

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	clocktesting "k8s.io/utils/clock/testing"
)

const web = `apiVersion: v1
kind: Pod
metadata:
  name: web
  labels: {app: web}
spec:
  containers:
  - name: app
    image: nginx:1.27
    resources:
      requests: {cpu: 100m}
`

func TestDecodeAppliesUpstreamDefaults(t *testing.T) {
	pod, err := Decode([]byte(web), "/etc/tend/manifests/web.yaml", "node-1")
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	for _, c := range []struct{ what, got, want string }{
		{"name", pod.Name, "web-node-1"},
		{"namespace", pod.Namespace, "default"},
		{"spec.nodeName", pod.Spec.NodeName, "node-1"},
		{"config.hash", pod.Annotations[ConfigHashAnnotation], string(pod.UID)},
		{"phase", string(pod.Status.Phase), "Pending"},
		{"qosClass", string(pod.Status.QOSClass), "Burstable"},
		{"restartPolicy", string(pod.Spec.RestartPolicy), "Always"},
		{"dnsPolicy", string(pod.Spec.DNSPolicy), "ClusterFirst"},
		{"imagePullPolicy", string(pod.Spec.Containers[0].ImagePullPolicy), "IfNotPresent"},
		{"label", pod.Labels["app"], "web"},
	} {
		if c.got != c.want {
			t.Errorf("Decode(web).%s = %q; want %q", c.what, c.got, c.want)
		}
	}
	if !regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(string(pod.UID)) {
		t.Errorf("Decode(web).uid = %q; want 32 hex digits", pod.UID)
	}
	want := corev1.Toleration{Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute}
	if len(pod.Spec.Tolerations) != 1 || pod.Spec.Tolerations[0] != want {
		t.Errorf("Decode(web).tolerations = %v; want only %v", pod.Spec.Tolerations, want)
	}
	if g := pod.Spec.TerminationGracePeriodSeconds; g == nil || *g != 30 {
		t.Errorf("Decode(web).terminationGracePeriodSeconds = %v; want 30", g)
	}
}

func TestUIDHashesPodNodeAndFile(t *testing.T) {
	uid := func(data, path, node string) string {
		t.Helper()
		p, err := Decode([]byte(data), path, node)
		if err != nil {
			t.Fatalf("Decode: %v", err)
		}
		return string(p.UID)
	}
	base := uid(web, "/m/web.yaml", "n1")
	for _, c := range []struct {
		name             string
		data, path, node string
		same             bool
	}{
		{"again", web, "/m/web.yaml", "n1", true},
		{"as JSON, reformatted", `{"apiVersion":"v1","kind":"Pod","metadata":{"labels":{"app":"web"},"name":"web"},
			"spec":{"containers":[{"image":"nginx:1.27","name":"app","resources":{"requests":{"cpu":"100m"}}}]}}`, "/m/web.yaml", "n1", true},
		{"defaults written out", strings.Replace(web, "  - name: app\n", "  - name: app\n    imagePullPolicy: IfNotPresent\n", 1), "/m/web.yaml", "n1", true},
		{"other node", web, "/m/web.yaml", "n2", false},
		{"other file", web, "/m/web2.yaml", "n1", false},
		{"other image", strings.Replace(web, "1.27", "1.28", 1), "/m/web.yaml", "n1", false},
		{"other label", strings.Replace(web, "{app: web}", "{app: web2}", 1), "/m/web.yaml", "n1", false},
	} {
		if got := uid(c.data, c.path, c.node); (got == base) != c.same {
			t.Errorf("%s: uid %s, first %s; want same = %t", c.name, got, base, c.same)
		}
	}
	withUID := strings.Replace(web, "  name: web\n", "  name: web\n  uid: 8e0b7a3c-1111-2222-3333-444455556666\n", 1)
	if got := uid(withUID, "/m/web.yaml", "n1"); got != "8e0b7a3c-1111-2222-3333-444455556666" {
		t.Errorf("the uid of a manifest with metadata.uid = %s; want it kept", got)
	}
}

func TestTolerationNotDuplicated(t *testing.T) {
	data := strings.Replace(web, "spec:\n", "spec:\n  tolerations:\n  - {operator: Exists, effect: NoExecute}\n  - {key: k, operator: Exists, effect: NoExecute, tolerationSeconds: 5}\n", 1)
	pod, err := Decode([]byte(data), "/m/web.yaml", "n1")
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	if len(pod.Spec.Tolerations) != 2 {
		t.Errorf("tolerations = %v; want the two of the manifest", pod.Spec.Tolerations)
	}
}

func TestDecodeRefuses(t *testing.T) {
	spec := func(s string) string {
		return "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n" + s
	}
	const ctr = "  containers:\n  - {name: c, image: busybox"
	for _, c := range []struct {
		name, data, want string
	}{
		{"not YAML", "{{", "couldn't parse as pod("},
		{"empty", "", "couldn't parse as pod(the manifest is not an object)"},
		{"no kind", "apiVersion: v1\nmetadata: {name: p}", "Object 'Kind' is missing"},
		{"no apiVersion", "kind: Pod\nmetadata: {name: p}", "Object 'apiVersion' is missing"},
		{"a PodList", "apiVersion: v1\nkind: PodList\nitems: []", "invalid pod: the manifest is a v1 PodList, not a v1 Pod"},
		{"a Deployment", "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}", "not a v1 Pod"},
		{"no name", "apiVersion: v1\nkind: Pod\nspec:\n" + ctr + "}", "invalid pod: name is needed for the pod"},
		{"no image", spec("  containers:\n  - {name: c}"), "invalid pod: [spec.containers[0].image: Required value]"},
		{"no containers", spec("  restartPolicy: Always"), "invalid pod: [spec.containers: Required value]"},
		{"a service account", spec("  serviceAccountName: robot\n" + ctr + "}"), "static pods may not reference serviceaccounts"},
		{"a secret in env", spec(ctr + ", env: [{name: X, valueFrom: {secretKeyRef: {name: s, key: k}}}]}"), "static pods may not reference secrets"},
		{"an image pull secret", spec("  imagePullSecrets: [{name: regcred}]\n" + ctr + "}"), "static pods may not reference secrets"},
		{"a config map volume", spec(ctr + "}\n  volumes: [{name: v, configMap: {name: cm}}]"), "static pods may not reference configmaps"},
		{"a claim", spec(ctr + "}\n  volumes: [{name: v, persistentVolumeClaim: {claimName: c}}]"), "static pods may not reference persistentvolumeclaims"},
		{"a projected secret", spec(ctr + "}\n  volumes: [{name: v, projected: {sources: [{secret: {name: s}}]}}]"), "static pods may not reference secrets"},
		{"a trust bundle", spec(ctr + "}\n  volumes: [{name: v, projected: {sources: [{clusterTrustBundle: {name: b, path: ca.pem}}]}}]"),
			"static pods may not reference clustertrustbundles"},
		{"a CSI volume", spec(ctr + "}\n  volumes: [{name: v, csi: {driver: d.example.com}}]"), "static pods may not reference csidrivers (via CSI volumes)"},
	} {
		_, err := Decode([]byte(c.data), "/m/p.yaml", "n1")
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: Decode = %v; want an error with %q", c.name, err, c.want)
		}
	}
	// What needs no API object is fine.
	ok := spec(ctr + "}\n  volumes: [{name: h, hostPath: {path: /tmp}}, {name: e, emptyDir: {}}," +
		" {name: d, projected: {sources: [{downwardAPI: {items: [{path: name, fieldRef: {fieldPath: metadata.name}}]}}]}}]")
	if _, err := Decode([]byte(ok), "/m/p.yaml", "n1"); err != nil {
		t.Errorf("Decode(hostPath, emptyDir and downward API volumes) = %v; want nil", err)
	}
}

func writeFile(t *testing.T, path, data string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

func named(name string) string { return strings.Replace(web, "name: web", "name: "+name, 1) }

func podNames(pods []*corev1.Pod) string {
	var names []string
	for _, p := range pods {
		names = append(names, p.Name)
	}
	return strings.Join(names, ",")
}

func TestReadDirectory(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "b.yaml"), named("b"))
	writeFile(t, filepath.Join(dir, "a.json"), `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"a"},"spec":{"containers":[{"name":"c","image":"busybox"}]}}`)
	writeFile(t, filepath.Join(dir, "c.manifest"), named("c")) // any extension counts
	writeFile(t, filepath.Join(dir, ".hidden.yaml"), named("hidden"))
	writeFile(t, filepath.Join(dir, "d-broken.yaml"), "kind: Pod\n")
	writeFile(t, filepath.Join(dir, "e-again.yaml"), named("b"))
	if err := os.Mkdir(filepath.Join(dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "sub", "x.yaml"), named("x"))

	u := Read(dir, "n1")
	if u.Err != nil {
		t.Fatalf("Read: %v", u.Err)
	}
	if got, want := podNames(u.Pods), "a-n1,b-n1,c-n1"; got != want {
		t.Errorf("Read(dir) pods = %s; want %s", got, want)
	}
	b := u.Pods[1]
	if want, _ := Decode([]byte(named("b")), filepath.Join(dir, "e-again.yaml"), "n1"); b.UID != want.UID {
		t.Errorf("pod b is the one of %s; want the later file's, e-again.yaml", b.UID)
	}
	errs := map[string]string{}
	for _, e := range u.Errors {
		errs[filepath.Base(e.Path)] = e.Err.Error()
	}
	if len(errs) != 2 || !strings.Contains(errs["d-broken.yaml"], "Object 'apiVersion' is missing") ||
		!strings.Contains(errs["b.yaml"], "pod default/b-n1 is defined again in "+filepath.Join(dir, "e-again.yaml")) {
		t.Errorf("Read(dir) errors = %v; want d-broken.yaml's and b.yaml's (shadowed)", errs)
	}

	if u := Read(filepath.Join(dir, "missing"), "n1"); u.Err != nil || len(u.Pods) != 0 {
		t.Errorf("Read(a missing path) = %v, %v; want no pods and no error", podNames(u.Pods), u.Err)
	}
	if u := Read(filepath.Join(dir, "c.manifest"), "n1"); u.Err != nil || podNames(u.Pods) != "c-n1" {
		t.Errorf("Read(one file) = %v, %v; want c-n1", podNames(u.Pods), u.Err)
	}
	if u := Read(filepath.Join(dir, "d-broken.yaml"), "n1"); u.Err == nil {
		t.Errorf("Read(one broken file) = %v; want an error (and the pods kept)", podNames(u.Pods))
	}
}

// updates records a Source's readings.
type updates struct {
	mu   sync.Mutex
	all  []Update
	last chan Update
}

func (r *updates) add(u Update) {
	r.mu.Lock()
	r.all = append(r.all, u)
	r.mu.Unlock()
	select {
	case <-r.last:
	default:
	}
	r.last <- u
}

func (r *updates) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.all)
}

// waitPods waits for a reading with the pods want.
func (r *updates) waitPods(t *testing.T, want string) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case u := <-r.last:
			if podNames(u.Pods) == want {
				return
			}
		case <-deadline:
			t.Fatalf("no reading with pods %q", want)
		}
	}
}

func runSource(t *testing.T, cfg SourceConfig) *updates {
	t.Helper()
	s, err := NewSource(cfg)
	if err != nil {
		t.Fatal(err)
	}
	r := &updates{last: make(chan Update, 1)}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.Run(ctx, r.add)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return r
}

// The path is read again every Period; a directory that does not exist yet
// cannot be watched, so only the periodic reading finds it.
func TestSourceReadsAgainEveryPeriod(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "manifests")
	clk := clocktesting.NewFakeClock(time.Now())
	r := runSource(t, SourceConfig{Path: dir, NodeName: "n1", Period: 20 * time.Second, Clock: clk})
	r.waitPods(t, "")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "web.yaml"), web)
	for !clk.HasWaiters() {
		time.Sleep(time.Millisecond)
	}
	clk.Step(19 * time.Second)
	time.Sleep(50 * time.Millisecond)
	if n := r.count(); n != 1 {
		t.Fatalf("%d readings before the period passed; want 1", n)
	}
	clk.Step(time.Second)
	r.waitPods(t, "web-n1")
}

// On Linux a change is read at once.
func TestSourceWatchesChanges(t *testing.T) {
	if _, err := startWatch(t.TempDir(), func() {}); err != nil {
		t.Skipf("no inotify here: %v", err)
	}
	dir := t.TempDir()
	r := runSource(t, SourceConfig{Path: dir, NodeName: "n1", Period: time.Hour})
	r.waitPods(t, "")
	writeFile(t, filepath.Join(dir, "web.yaml"), web)
	r.waitPods(t, "web-n1")
	// An editor's way: write a hidden file, rename it over.
	writeFile(t, filepath.Join(dir, ".b.yaml.swp"), named("b"))
	if err := os.Rename(filepath.Join(dir, ".b.yaml.swp"), filepath.Join(dir, "b.yaml")); err != nil {
		t.Fatal(err)
	}
	r.waitPods(t, "b-n1,web-n1")
	if err := os.Remove(filepath.Join(dir, "web.yaml")); err != nil {
		t.Fatal(err)
	}
	r.waitPods(t, "b-n1")
	// The directory itself goes: no pods.
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	r.waitPods(t, "")
}

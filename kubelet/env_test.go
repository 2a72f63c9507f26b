package kubelet_test

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/tendhq/tend/kubelet"
	"github.com/tendhq/tend/kubelet/simulated"
)

// recordingRuntime is the simulated runtime that keeps the configs of the
// containers created, and runs exec hooks with a function of the test.
type recordingRuntime struct {
	*simulated.Runtime
	mu      sync.Mutex
	configs map[string][]kubelet.ContainerConfig // by container name
	names   map[string]string                    // container ID -> name
	execs   []string                             // "name: cmd"
	exec    func(name string, cmd []string) int
}

func newRecordingRuntime() *recordingRuntime {
	return &recordingRuntime{Runtime: newRuntime(), configs: map[string][]kubelet.ContainerConfig{}, names: map[string]string{}}
}

func (r *recordingRuntime) CreateContainer(ctx context.Context, sandboxID string, cfg kubelet.ContainerConfig) (string, error) {
	id, err := r.Runtime.CreateContainer(ctx, sandboxID, cfg)
	if err == nil {
		r.mu.Lock()
		r.configs[cfg.Spec.Name] = append(r.configs[cfg.Spec.Name], cfg)
		r.names[id] = cfg.Spec.Name
		r.mu.Unlock()
	}
	return id, err
}

func (r *recordingRuntime) created(name string) []kubelet.ContainerConfig {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.configs[name])
}

func (r *recordingRuntime) Exec(_ context.Context, id string, opts kubelet.ExecOptions) (int, error) {
	r.mu.Lock()
	name := r.names[id]
	r.execs = append(r.execs, name+": "+strings.Join(opts.Cmd, " "))
	f := r.exec
	r.mu.Unlock()
	if f == nil {
		return 0, nil
	}
	return f(name, opts.Cmd), nil
}

func (r *recordingRuntime) executed() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.execs)
}

func (r *recordingRuntime) Attach(context.Context, string, kubelet.ExecOptions) error {
	return fmt.Errorf("not supported")
}

func (r *recordingRuntime) PortForward(context.Context, string, int32, io.ReadWriteCloser) error {
	return fmt.Errorf("not supported")
}

var _ kubelet.ExecRuntime = (*recordingRuntime)(nil)

func mustCreate(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("creating: %v", err)
	}
}

func createObjects(t *testing.T, client kubernetes.Interface) {
	t.Helper()
	ctx := context.Background()
	_, err := client.CoreV1().ConfigMaps("default").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "cfg"},
		Data: map[string]string{"MODE": "fast", "LEVEL": "3"}}, metav1.CreateOptions{})
	mustCreate(t, err)
	_, err = client.CoreV1().Secrets("default").Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "creds"},
		Data: map[string][]byte{"password": []byte("s3cret")}}, metav1.CreateOptions{})
	mustCreate(t, err)
	for _, s := range []*corev1.Service{
		{ObjectMeta: metav1.ObjectMeta{Name: "db"}, Spec: corev1.ServiceSpec{ClusterIP: "10.43.0.20",
			Ports: []corev1.ServicePort{{Port: 5432}}}},
	} {
		_, err = client.CoreV1().Services("default").Create(ctx, s, metav1.CreateOptions{})
		mustCreate(t, err)
	}
}

// kubernetesIP is the cluster IP of default/kubernetes, which the
// apiserver makes.
func kubernetesIP(t *testing.T, client kubernetes.Interface) string {
	t.Helper()
	s, err := client.CoreV1().Services("default").Get(context.Background(), "kubernetes", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("getting the kubernetes service: %v", err)
	}
	return s.Spec.ClusterIP
}

func envMap(env []string) map[string]string {
	m := map[string]string{}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		m[k] = v
	}
	return m
}

func TestEnvReachesTheContainer(t *testing.T) {
	rt := newRecordingRuntime()
	rec := &recorder{}
	client, _ := readyNode(t, func(c *kubelet.Config) { c.Runtime = rt; c.Recorder = rec })
	createObjects(t, client)
	pod := newPod("env", "hollow-0", func(p *corev1.Pod) {
		p.Labels = map[string]string{"app": "web"}
		c := &p.Spec.Containers[0]
		c.Resources.Limits = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("500m")}
		c.EnvFrom = []corev1.EnvFromSource{
			{Prefix: "CFG_", ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "cfg"}}},
			{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "absent"}, Optional: ptrTo(true)}},
		}
		c.Env = []corev1.EnvVar{
			{Name: "POD_NAME", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}},
			{Name: "APP", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.labels['app']"}}},
			{Name: "NODE", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "spec.nodeName"}}},
			{Name: "POD_IP", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "status.podIP"}}},
			{Name: "HOST_IP", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "status.hostIP"}}},
			{Name: "CPU", ValueFrom: &corev1.EnvVarSource{ResourceFieldRef: &corev1.ResourceFieldSelector{Resource: "limits.cpu", Divisor: resource.MustParse("1m")}}},
			{Name: "MEM", ValueFrom: &corev1.EnvVarSource{ResourceFieldRef: &corev1.ResourceFieldSelector{Resource: "limits.memory", Divisor: resource.MustParse("1Gi")}}},
			{Name: "PASSWORD", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
				LocalObjectReference: corev1.LocalObjectReference{Name: "creds"}, Key: "password"}}},
			{Name: "LEVEL", ValueFrom: &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{
				LocalObjectReference: corev1.LocalObjectReference{Name: "cfg"}, Key: "LEVEL"}}},
			{Name: "GONE", ValueFrom: &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{
				LocalObjectReference: corev1.LocalObjectReference{Name: "cfg"}, Key: "nope", Optional: ptrTo(true)}}},
			{Name: "GREETING", Value: "$(POD_NAME) at $(DB_SERVICE_HOST), mode $(CFG_MODE), $$(POD_NAME), $(UNDEFINED)"},
		}
		c.Command = []string{"/bin/app", "--level=$(LEVEL)"}
		c.Args = []string{"$(APP)", "$$(APP)"}
	})
	createPod(t, client, pod)
	p := waitPod(t, client, "env", running)
	cfgs := rt.created("app")
	if len(cfgs) == 0 {
		t.Fatalf("no container app was created")
	}
	got := envMap(cfgs[0].Env)
	want := map[string]string{
		"CFG_MODE": "fast", "CFG_LEVEL": "3", "POD_NAME": "env", "APP": "web", "NODE": "hollow-0",
		"POD_IP": p.Status.PodIP, "HOST_IP": "127.0.0.1", "CPU": "500", "MEM": "16", "PASSWORD": "s3cret", "LEVEL": "3",
		"GREETING":                "env at 10.43.0.20, mode fast, $(POD_NAME), $(UNDEFINED)",
		"DB_SERVICE_HOST":         "10.43.0.20",
		"DB_PORT_5432_TCP_ADDR":   "10.43.0.20",
		"KUBERNETES_SERVICE_HOST": kubernetesIP(t, client),
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("env %s = %q; want %q", k, got[k], v)
		}
	}
	for _, k := range []string{"GONE"} {
		if _, ok := got[k]; ok {
			t.Errorf("env has %s; want it left out", k)
		}
	}
	if !slices.Equal(cfgs[0].Command, []string{"/bin/app", "--level=3"}) || !slices.Equal(cfgs[0].Args, []string{"web", "$(APP)"}) {
		t.Errorf("command, args = %q, %q; want [/bin/app --level=3], [web $(APP)]", cfgs[0].Command, cfgs[0].Args)
	}
	// envFrom comes first, then env, then the service variables.
	if first := cfgs[0].Env[0]; !strings.HasPrefix(first, "CFG_") {
		t.Errorf("first variable = %q; want one of envFrom", first)
	}
}

func TestInvalidEnvFromKeysAreSkippedWithAnEvent(t *testing.T) {
	rt := newRecordingRuntime()
	rec := &recorder{}
	client, _ := readyNode(t, func(c *kubelet.Config) { c.Runtime = rt; c.Recorder = rec })
	ctx := context.Background()
	_, err := client.CoreV1().ConfigMaps("default").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "odd"},
		Data: map[string]string{"GOOD": "1", "1st": "2"}}, metav1.CreateOptions{})
	mustCreate(t, err)
	createPod(t, client, newPod("odd", "hollow-0", func(p *corev1.Pod) {
		p.Spec.Containers[0].EnvFrom = []corev1.EnvFromSource{{ConfigMapRef: &corev1.ConfigMapEnvSource{
			LocalObjectReference: corev1.LocalObjectReference{Name: "odd"}}}}
	}))
	waitPod(t, client, "odd", running)
	env := envMap(rt.created("app")[0].Env)
	if env["GOOD"] != "1" {
		t.Errorf("env GOOD = %q; want 1", env["GOOD"])
	}
	if _, ok := env["1st"]; ok {
		t.Errorf("env has the invalid key 1st")
	}
	want := "Warning InvalidEnvironmentVariableNames: Keys [1st] from the EnvFrom configMap default/odd were skipped since they are considered invalid environment variable names."
	if !rec.has("odd", want) {
		t.Errorf("no event %q; events %v", want, rec.events["odd"])
	}
}

func TestMissingReferencesAreCreateContainerConfigError(t *testing.T) {
	rt := newRecordingRuntime()
	client, _ := readyNode(t, func(c *kubelet.Config) { c.Runtime = rt })
	ctx := context.Background()
	_, err := client.CoreV1().ConfigMaps("default").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "cfg"},
		Data: map[string]string{"a": "1"}}, metav1.CreateOptions{})
	mustCreate(t, err)
	for _, tc := range []struct {
		name string
		src  *corev1.EnvVarSource
		want string
	}{
		{"no-cm", &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{
			LocalObjectReference: corev1.LocalObjectReference{Name: "x"}, Key: "k"}}, `configmap "x" not found`},
		{"no-key", &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{
			LocalObjectReference: corev1.LocalObjectReference{Name: "cfg"}, Key: "k"}}, `couldn't find key k in ConfigMap default/cfg`},
		{"no-secret", &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
			LocalObjectReference: corev1.LocalObjectReference{Name: "s"}, Key: "k"}}, `secret "s" not found`},
	} {
		createPod(t, client, newPod(tc.name, "hollow-0", func(p *corev1.Pod) {
			p.Spec.Containers[0].Env = []corev1.EnvVar{{Name: "V", ValueFrom: tc.src}}
		}))
		waitPod(t, client, tc.name, func(p *corev1.Pod) string {
			for _, c := range p.Status.ContainerStatuses {
				if w := c.State.Waiting; w != nil && w.Reason == "CreateContainerConfigError" && w.Message == tc.want {
					return ""
				}
			}
			return "not waiting with CreateContainerConfigError " + tc.want
		})
	}
	if n := len(rt.created("app")); n != 0 {
		t.Errorf("%d containers were created; want none", n)
	}
	// Once the ConfigMap exists, the pod starts.
	_, err = client.CoreV1().ConfigMaps("default").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "x"},
		Data: map[string]string{"k": "v"}}, metav1.CreateOptions{})
	mustCreate(t, err)
	waitPod(t, client, "no-cm", running)
}

func ptrTo[T any](v T) *T { return &v }

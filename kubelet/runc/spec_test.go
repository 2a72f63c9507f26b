package runc

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func int64p(v int64) *int64 { return &v }
func boolp(v bool) *bool    { return &v }

func TestArgv(t *testing.T) {
	ep, cmd := []string{"/entry"}, []string{"default", "args"}
	for _, tt := range []struct {
		name          string
		command, args []string
		want          []string
	}{
		{"image's", nil, nil, []string{"/entry", "default", "args"}},
		{"args replace cmd", nil, []string{"mine"}, []string{"/entry", "mine"}},
		{"command replaces both", []string{"/bin/x"}, nil, []string{"/bin/x"}},
		{"command and args", []string{"/bin/x"}, []string{"-v"}, []string{"/bin/x", "-v"}},
	} {
		if got := argv(tt.command, tt.args, ep, cmd); !slices.Equal(got, tt.want) {
			t.Errorf("%s: argv = %q; want %q", tt.name, got, tt.want)
		}
	}
}

func TestEnvironment(t *testing.T) {
	got := environment([]string{"PATH=/bin", "LANG=C"}, "web-1", []string{"LANG=en", "APP=1"})
	want := []string{"PATH=/bin", "LANG=en", "HOSTNAME=web-1", "APP=1"}
	if !slices.Equal(got, want) {
		t.Errorf("environment = %q; want %q", got, want)
	}
}

func TestCapabilities(t *testing.T) {
	for _, tt := range []struct {
		name       string
		privileged bool
		caps       *corev1.Capabilities
		has, lacks []string
		count      int
	}{
		{name: "defaults", has: []string{"CAP_CHOWN", "CAP_NET_BIND_SERVICE"}, lacks: []string{"CAP_SYS_ADMIN", "CAP_NET_ADMIN"}, count: 14},
		{name: "add without prefix", caps: &corev1.Capabilities{Add: []corev1.Capability{"NET_ADMIN"}}, has: []string{"CAP_NET_ADMIN", "CAP_CHOWN"}, count: 15},
		{name: "drop one", caps: &corev1.Capabilities{Drop: []corev1.Capability{"CAP_NET_RAW"}}, lacks: []string{"CAP_NET_RAW"}, count: 13},
		{name: "drop all add one", caps: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}, Add: []corev1.Capability{"NET_BIND_SERVICE"}}, has: []string{"CAP_NET_BIND_SERVICE"}, count: 1},
		{name: "add all drop one", caps: &corev1.Capabilities{Add: []corev1.Capability{"ALL"}, Drop: []corev1.Capability{"SYS_ADMIN"}}, lacks: []string{"CAP_SYS_ADMIN"}, count: len(allCapabilities) - 1},
		{name: "privileged", privileged: true, has: []string{"CAP_SYS_ADMIN"}, count: len(allCapabilities)},
	} {
		got := capabilities(tt.privileged, tt.caps)
		if len(got) != tt.count {
			t.Errorf("%s: %d capabilities %v; want %d", tt.name, len(got), got, tt.count)
		}
		for _, c := range tt.has {
			if !slices.Contains(got, c) {
				t.Errorf("%s: capabilities lack %s", tt.name, c)
			}
		}
		for _, c := range tt.lacks {
			if slices.Contains(got, c) {
				t.Errorf("%s: capabilities have %s", tt.name, c)
			}
		}
	}
}

func TestResources(t *testing.T) {
	c := &corev1.Container{Resources: corev1.ResourceRequirements{
		Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("250m")},
		Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("500m"), corev1.ResourceMemory: resource.MustParse("64Mi")},
	}}
	r := resources(c)
	if r.Memory == nil || *r.Memory.Limit != 64<<20 {
		t.Errorf("memory limit = %+v; want 64 MiB", r.Memory)
	}
	if *r.CPU.Shares != 256 || *r.CPU.Quota != 50000 || *r.CPU.Period != 100000 {
		t.Errorf("cpu shares %d quota %d period %d; want 256, 50000, 100000", *r.CPU.Shares, *r.CPU.Quota, *r.CPU.Period)
	}
	be := resources(&corev1.Container{})
	if be.Memory != nil || *be.CPU.Shares != 2 || be.CPU.Quota != nil {
		t.Errorf("best-effort resources = memory %+v, shares %d, quota %v; want none, 2, none", be.Memory, *be.CPU.Shares, be.CPU.Quota)
	}
}

// rootfsWith is a root with an /etc/passwd and /etc/group.
func rootfsWith(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "etc"), 0o755); err != nil {
		t.Fatal(err)
	}
	write := func(name, s string) {
		if err := os.WriteFile(filepath.Join(dir, "etc", name), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("passwd", "root:x:0:0:root:/root:/bin/sh\n# comment\napp:x:1000:1000::/home/app:/bin/sh\nnobody:x:65534:65534::/:/sbin/nologin\n")
	write("group", "root:x:0:\napp:x:1000:\nextra:x:2000:app,other\nnogroup:x:65534:\n")
	return dir
}

func TestResolveUser(t *testing.T) {
	root := rootfsWith(t)
	for _, tt := range []struct {
		name, image string
		sc          corev1.SecurityContext
		want        specs.User
		err         string
	}{
		{name: "default root", want: specs.User{UID: 0, GID: 0}},
		{name: "numeric uid takes its passwd group", image: "1000", want: specs.User{UID: 1000, GID: 1000, AdditionalGids: []uint32{2000}}},
		{name: "name", image: "app", want: specs.User{UID: 1000, GID: 1000, AdditionalGids: []uint32{2000}}},
		{name: "uid:gid", image: "1000:65534", want: specs.User{UID: 1000, GID: 65534, AdditionalGids: []uint32{1000, 2000}}},
		{name: "name:group", image: "app:nogroup", want: specs.User{UID: 1000, GID: 65534, AdditionalGids: []uint32{1000, 2000}}},
		{name: "unknown uid", image: "4242", want: specs.User{UID: 4242}},
		{name: "runAsUser/Group win", image: "app", sc: corev1.SecurityContext{RunAsUser: int64p(3000), RunAsGroup: int64p(3001)}, want: specs.User{UID: 3000, GID: 3001}},
		{name: "unknown name", image: "ghost", err: "no such user"},
		{name: "unknown group", image: "app:ghosts", err: "no such group"},
	} {
		got, err := resolveUser(root, tt.image, tt.sc)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("%s: resolveUser = %+v, %v; want an error with %q", tt.name, got, err, tt.err)
			}
			continue
		}
		if err != nil || got.UID != tt.want.UID || got.GID != tt.want.GID || !slices.Equal(got.AdditionalGids, tt.want.AdditionalGids) {
			t.Errorf("%s: resolveUser(%q) = %+v, %v; want %+v", tt.name, tt.image, got, err, tt.want)
		}
	}
}

func TestSpec(t *testing.T) {
	root := rootfsWith(t)
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "prod", UID: "u1"},
		Spec: corev1.PodSpec{SecurityContext: &corev1.PodSecurityContext{SupplementalGroups: []int64{5000}, FSGroup: int64p(6000)}}}
	image := &v1.ConfigFile{Config: v1.Config{Entrypoint: []string{"/testapp"}, Cmd: []string{"serve"}, Env: []string{"PATH=/bin"}, User: "app", WorkingDir: "/srv"}}
	base := func() ContainerSpec {
		return ContainerSpec{
			Container: &corev1.Container{Name: "app"}, Pod: pod, Image: image, Rootfs: root, Hostname: "web",
			Env: []string{"A=1"}, CgroupsPath: "/tend/podu1/c1",
			Namespaces: map[specs.LinuxNamespaceType]string{specs.NetworkNamespace: "/proc/42/ns/net", specs.IPCNamespace: "/proc/42/ns/ipc", specs.UTSNamespace: "/proc/42/ns/uts"},
		}
	}
	s, err := Spec(base())
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(s.Process.Args, []string{"/testapp", "serve"}) || s.Process.Cwd != "/srv" || !slices.Equal(s.Process.Env, []string{"PATH=/bin", "HOSTNAME=web", "A=1"}) {
		t.Errorf("process = args %q cwd %q env %q", s.Process.Args, s.Process.Cwd, s.Process.Env)
	}
	if u := s.Process.User; u.UID != 1000 || u.GID != 1000 || !slices.Equal(u.AdditionalGids, []uint32{2000, 5000, 6000}) {
		t.Errorf("user = %+v; want 1000:1000 with 2000 (image), 5000 (supplemental), 6000 (fsGroup)", u)
	}
	ns := map[specs.LinuxNamespaceType]string{}
	for _, n := range s.Linux.Namespaces {
		ns[n.Type] = n.Path
	}
	if len(ns) != 6 || ns[specs.NetworkNamespace] != "/proc/42/ns/net" || ns[specs.PIDNamespace] != "" || ns[specs.MountNamespace] != "" {
		t.Errorf("namespaces = %v; want the sandbox's net, ipc, uts and new pid, mount, cgroup", ns)
	}
	if s.Root.Readonly || s.Process.NoNewPrivileges || len(s.Linux.MaskedPaths) == 0 || s.Linux.CgroupsPath != "/tend/podu1/c1" {
		t.Errorf("root readonly %t, noNewPrivileges %t, masked %v, cgroup %q", s.Root.Readonly, s.Process.NoNewPrivileges, s.Linux.MaskedPaths, s.Linux.CgroupsPath)
	}

	locked := base()
	locked.Container = &corev1.Container{Name: "app", SecurityContext: &corev1.SecurityContext{
		ReadOnlyRootFilesystem: boolp(true), AllowPrivilegeEscalation: boolp(false), RunAsNonRoot: boolp(true), RunAsUser: int64p(1000)}}
	if s, err = Spec(locked); err != nil {
		t.Errorf("locked down: %v", err)
	} else if !s.Root.Readonly || !s.Process.NoNewPrivileges {
		t.Errorf("locked down: readonly %v, noNewPrivileges %v; want both", s.Root.Readonly, s.Process.NoNewPrivileges)
	}

	privileged := base()
	privileged.Container = &corev1.Container{Name: "app", SecurityContext: &corev1.SecurityContext{Privileged: boolp(true)}}
	if s, err = Spec(privileged); err != nil {
		t.Errorf("privileged: %v", err)
	} else if len(s.Linux.MaskedPaths) != 0 || len(s.Process.Capabilities.Bounding) != len(allCapabilities) {
		t.Errorf("privileged: masked %v, %d capabilities; want none masked, all", s.Linux.MaskedPaths, len(s.Process.Capabilities.Bounding))
	}

	for _, tt := range []struct {
		name, user string
		sc         *corev1.SecurityContext
		err        string
	}{
		{"image root", "", &corev1.SecurityContext{RunAsNonRoot: boolp(true)}, `container has runAsNonRoot and image will run as root (pod: "web_prod(u1)", container: app)`},
		{"image user by name", "app", &corev1.SecurityContext{RunAsNonRoot: boolp(true)}, `container has runAsNonRoot and image has non-numeric user (app), cannot verify user is non-root (pod: "web_prod(u1)", container: app)`},
		{"runAsUser 0", "1000", &corev1.SecurityContext{RunAsNonRoot: boolp(true), RunAsUser: int64p(0)}, `container's runAsUser breaks non-root policy (pod: "web_prod(u1)", container: app)`},
		{"no command", "", nil, "no command specified"},
	} {
		cs := base()
		img := *image
		img.Config.User = tt.user
		if tt.name == "no command" {
			img.Config.Entrypoint, img.Config.Cmd = nil, nil
		}
		cs.Image = &img
		cs.Container = &corev1.Container{Name: "app", SecurityContext: tt.sc}
		if _, err := Spec(cs); err == nil || err.Error() != tt.err && !strings.Contains(err.Error(), tt.err) {
			t.Errorf("%s: Spec = %v; want %q", tt.name, err, tt.err)
		}
	}
	numeric := base()
	img := *image
	img.Config.User = "1000"
	numeric.Image = &img
	numeric.Container = &corev1.Container{Name: "app", SecurityContext: &corev1.SecurityContext{RunAsNonRoot: boolp(true)}}
	if _, err := Spec(numeric); err != nil {
		t.Errorf("runAsNonRoot with image user 1000: %v; want accepted", err)
	}
}

package runc

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	_ "github.com/opencontainers/cgroups/devices"
	"github.com/opencontainers/runc/libcontainer"
	_ "github.com/opencontainers/runc/libcontainer/nsenter"
	"github.com/opencontainers/runc/libcontainer/specconv"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/tendhq/tend/kubelet/images"
	"github.com/tendhq/tend/kubelet/runc/shim"
)

// TestMain lets libcontainer re-execute the test binary as a container's
// init ("TEST init"), as tend does with `tend init`, and a container's shim
// run as "TEST shim ...". ("TEST pause HOSTNAME" is pause.c's.)
func TestMain(m *testing.M) {
	if len(os.Args) > 1 {
		switch os.Args[1] {
		case "init":
			libcontainer.Init()
		case "shim":
			if err := shim.Run(os.Args[2:]); err != nil {
				os.Exit(1)
			}
			os.Exit(0)
		}
	}
	os.Exit(m.Run())
}

const probeSource = `package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

func main() {
	switch os.Args[1] {
	case "print":
		h, _ := os.Hostname()
		wd, _ := os.Getwd()
		groups, _ := os.Getgroups()
		fmt.Printf("uid=%d gid=%d groups=%v cwd=%s hostname=%s A=%s pid=%d\n", os.Getuid(), os.Getgid(), groups, wd, h, os.Getenv("A"), os.Getpid())
		if err := os.WriteFile("/written", []byte("x"), 0o644); err != nil {
			fmt.Println("write:", err)
		}
	case "exit":
		n, _ := strconv.Atoi(os.Args[2])
		os.Exit(n)
	case "log":
		fmt.Println("to stdout")
		fmt.Fprintln(os.Stderr, "to stderr")
		fmt.Print(strings.Repeat("x", 20000) + "\n")
		fmt.Print("no newline at the end")
	case "alloc":
		var keep [][]byte
		for i := 0; i < 256; i++ {
			b := make([]byte, 1<<20)
			for j := range b {
				b[j] = 1
			}
			keep = append(keep, b)
		}
		fmt.Println("allocated", len(keep))
	}
}
`

// probeImage stores an image holding a static program at /probe, with an
// /etc/passwd naming user app (1000).
func probeImage(t *testing.T, store *images.Store) images.Image {
	t.Helper()
	dir := t.TempDir()
	root := filepath.Join(dir, "root")
	for _, d := range []string{"etc", "srv"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(root, "etc/passwd"), []byte("root:x:0:0::/:/probe\napp:x:1000:1000::/:/probe\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "probe.go"), []byte(probeSource), 0o644); err != nil {
		t.Fatal(err)
	}
	build := exec.Command("go", "build", "-o", filepath.Join(root, "probe"), filepath.Join(dir, "probe.go"))
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building the probe: %v\n%s", err, out)
	}
	var layer bytes.Buffer
	tar := exec.Command("tar", "-C", root, "-cf", "-", ".")
	tar.Stdout = &layer
	if err := tar.Run(); err != nil {
		t.Fatal(err)
	}
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(layer.Bytes())), nil })
	if err != nil {
		t.Fatal(err)
	}
	img, err := mutate.AppendLayers(empty.Image, l)
	if err != nil {
		t.Fatal(err)
	}
	cf, _ := img.ConfigFile()
	cf = cf.DeepCopy()
	cf.OS, cf.Config.Entrypoint, cf.Config.WorkingDir, cf.Config.Env = "linux", []string{"/probe"}, "/srv", []string{"PATH=/"}
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		t.Fatal(err)
	}
	archive := filepath.Join(dir, "probe.tar")
	tag, _ := name.NewTag("example.local/probe:1")
	if err := tarball.WriteToFile(archive, tag, img); err != nil {
		t.Fatal(err)
	}
	stored, err := store.Import(context.Background(), archive)
	if err != nil {
		t.Fatal(err)
	}
	return stored[0]
}

// TestContainerRunsFromAnImage: an image's layers under overlayfs, an OCI
// spec from the container and its image, and libcontainer run the process
// as the pod asks; what it writes stays in its own upper directory.
func TestContainerRunsFromAnImage(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("running containers needs root")
	}
	dir := t.TempDir()
	store, err := images.Open(filepath.Join(dir, "images"))
	if err != nil {
		t.Fatal(err)
	}
	img := probeImage(t, store)
	cf, err := store.ConfigFile(img)
	if err != nil {
		t.Fatal(err)
	}
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "probe", Namespace: "default", UID: "p1"}}
	for _, tt := range []struct {
		name     string
		c        *corev1.Container
		args     []string
		exit     int
		want     string
		readOnly bool
	}{
		{name: "print", c: &corev1.Container{Name: "print", SecurityContext: &corev1.SecurityContext{RunAsUser: int64p(1000)}},
			args: []string{"print"}, want: "uid=1000 gid=1000 groups=[] cwd=/srv hostname=probe A=1 pid=1"},
		{name: "read-only", c: &corev1.Container{Name: "ro", SecurityContext: &corev1.SecurityContext{ReadOnlyRootFilesystem: boolp(true)}},
			args: []string{"print"}, want: "write: open /written: read-only file system", readOnly: true},
		{name: "root-writes", c: &corev1.Container{Name: "root"}, args: []string{"print"}, want: "uid=0 gid=0"},
		{name: "exit-code", c: &corev1.Container{Name: "exit"}, args: []string{"exit", "3"}, exit: 3},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cdir := filepath.Join(dir, "containers", tt.name)
			rootfs, err := mountRootfs(cdir, store.LayerDirs(img), testInitLayer(t))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				if err := unmountRootfs(cdir); err != nil {
					t.Error(err)
				}
			})
			s, err := Spec(ContainerSpec{Container: tt.c, Pod: pod, Image: cf, Args: tt.args, Env: []string{"A=1"},
				Rootfs: rootfs, Hostname: "probe", CgroupsPath: "/tend-test/" + tt.name})
			if err != nil {
				t.Fatal(err)
			}
			cfg, err := specconv.CreateLibcontainerConfig(&specconv.CreateOpts{CgroupName: tt.name, Spec: s})
			if err != nil {
				t.Fatal(err)
			}
			c, err := libcontainer.Create(filepath.Join(dir, "state"), tt.name, cfg)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				if err := c.Destroy(); err != nil {
					t.Error(err)
				}
				removeCgroupParents(t, "tend-test")
			})
			var out bytes.Buffer
			p := &libcontainer.Process{Args: s.Process.Args, Env: s.Process.Env, Cwd: s.Process.Cwd,
				UID: int(s.Process.User.UID), GID: int(s.Process.User.GID), Stdout: &out, Stderr: &out, Init: true}
			if err := c.Run(p); err != nil {
				t.Fatal(err)
			}
			st, err := p.Wait()
			var exitErr *exec.ExitError
			code := 0
			if errors.As(err, &exitErr) {
				code = exitErr.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			} else {
				code = st.ExitCode()
			}
			if code != tt.exit || !strings.Contains(out.String(), tt.want) {
				t.Errorf("exit %d, output %q; want exit %d, output with %q", code, out.String(), tt.exit, tt.want)
			}
			_, werr := os.Stat(filepath.Join(cdir, "upper/written"))
			if tt.name == "root-writes" && werr != nil {
				t.Errorf("the container's write is not in its upper directory: %v", werr)
			}
			if _, err := os.Stat(filepath.Join(store.LayerDirs(img)[0], "written")); err == nil {
				t.Error("the container's write reached the image's layer")
			}
		})
	}
}

// removeCgroupParents removes the parent cgroup directories a test made
// under every hierarchy (libcontainer removes only the container's own).
func removeCgroupParents(t *testing.T, parent string) {
	t.Helper()
	if err := RemoveCgroup(parent); err != nil && !strings.Contains(err.Error(), "busy") {
		t.Error(err)
	}
}

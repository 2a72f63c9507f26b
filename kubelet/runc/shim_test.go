package runc

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/opencontainers/runc/libcontainer"

	"github.com/tendhq/tend/kubelet/images"
	"github.com/tendhq/tend/kubelet/runc/shim"
)

// TestShimRunsAContainerAndRecordsItsEnd: the shim starts the container,
// writes its output in the CRI log format and how it ended in exit.json:
// the exit code, or OOMKilled for a container over its memory limit.
func TestShimRunsAContainerAndRecordsItsEnd(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("running containers needs root")
	}
	self, _ := os.Executable()
	dir := t.TempDir()
	store, err := images.Open(filepath.Join(dir, "images"))
	if err != nil {
		t.Fatal(err)
	}
	img := probeImage(t, store)
	cf, _ := store.ConfigFile(img)
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "shim", Namespace: "default", UID: "p3"}}
	state := filepath.Join(dir, "state")
	for _, tt := range []struct {
		id    string
		args  []string
		limit string
		exit  int32
		oom   bool
		logs  []string
	}{
		{id: "logs", args: []string{"log"}, logs: []string{" stdout F to stdout", " stderr F to stderr",
			" stdout P " + strings.Repeat("x", shim.LogLineMax), " stdout F " + strings.Repeat("x", 20000-shim.LogLineMax), " stdout P no newline at the end"}},
		{id: "exits", args: []string{"exit", "7"}, exit: 7},
		{id: "oom", args: []string{"alloc"}, limit: "32Mi", exit: 137, oom: true},
	} {
		t.Run(tt.id, func(t *testing.T) {
			cdir := filepath.Join(dir, "containers", tt.id)
			rootfs, err := mountRootfs(cdir, store.LayerDirs(img), testInitLayer(t))
			if err != nil {
				t.Fatal(err)
			}
			c := &corev1.Container{Name: tt.id}
			if tt.limit != "" {
				c.Resources.Limits = corev1.ResourceList{corev1.ResourceMemory: resource.MustParse(tt.limit)}
			}
			s, err := Spec(ContainerSpec{Container: c, Pod: pod, Image: cf, Args: tt.args, Rootfs: rootfs,
				Hostname: "shim", CgroupsPath: "/tend-test/" + tt.id})
			if err != nil {
				t.Fatal(err)
			}
			b, _ := json.Marshal(s)
			if err := os.WriteFile(filepath.Join(cdir, shim.SpecFile), b, 0o600); err != nil {
				t.Fatal(err)
			}
			logPath := filepath.Join(cdir, "log")
			pid, err := shim.Start(self, shim.Config{StateRoot: state, Dir: cdir, ID: tt.id, LogPath: logPath})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				if lc, err := libcontainer.Load(state, tt.id); err == nil {
					_ = lc.Destroy()
				}
				removeCgroupParents(t, "tend-test")
				if err := unmountRootfs(cdir); err != nil {
					t.Error(err)
				}
			})
			if pid <= 0 {
				t.Errorf("shim.Start = pid %d; want the container's", pid)
			}
			var st shim.ExitStatus
			deadline := time.Now().Add(20 * time.Second)
			for {
				var ok bool
				if st, ok, err = shim.ReadExit(cdir); err != nil {
					t.Fatal(err)
				} else if ok {
					break
				}
				if time.Now().After(deadline) {
					t.Fatal("the container's end was not recorded in 20 s")
				}
				time.Sleep(20 * time.Millisecond)
			}
			if st.ExitCode != tt.exit || st.OOMKilled != tt.oom || st.FinishedAt.Before(st.StartedAt) {
				t.Errorf("exit = %+v; want code %d, oomKilled %t", st, tt.exit, tt.oom)
			}
			logs, err := os.ReadFile(logPath)
			if err != nil {
				t.Fatal(err)
			}
			lines := strings.Split(strings.TrimSuffix(string(logs), "\n"), "\n")
			for _, want := range tt.logs {
				found := false
				for _, l := range lines {
					ts, rest, _ := strings.Cut(l, " ")
					if _, err := time.Parse(time.RFC3339Nano, ts); err == nil && " "+rest == want {
						found = true
					}
				}
				if !found {
					t.Errorf("log lacks %q after a timestamp; it is:\n%.300s", want, logs)
				}
			}
		})
	}
}

// TestShimReportsAFailedStart: a container that cannot start is reported
// to the caller, and leaves no shim behind.
func TestShimReportsAFailedStart(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("running containers needs root")
	}
	self, _ := os.Executable()
	dir := t.TempDir()
	cdir := filepath.Join(dir, "c")
	if err := os.MkdirAll(filepath.Join(cdir, "rootfs"), 0o755); err != nil {
		t.Fatal(err)
	}
	s, err := Spec(ContainerSpec{Container: &corev1.Container{Name: "x"}, Pod: &corev1.Pod{},
		Image: &v1ConfigFileWithEntrypoint, Rootfs: filepath.Join(cdir, "rootfs"), CgroupsPath: "/tend-test/nostart"})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(s)
	if err := os.WriteFile(filepath.Join(cdir, shim.SpecFile), b, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { removeCgroupParents(t, "tend-test") })
	_, err = shim.Start(self, shim.Config{StateRoot: filepath.Join(dir, "state"), Dir: cdir, ID: "nostart", LogPath: filepath.Join(cdir, "log")})
	if err == nil || !strings.Contains(err.Error(), "/no/such/program") {
		t.Errorf("shim.Start of a container whose program is missing = %v; want an error naming it", err)
	}
}

var v1ConfigFileWithEntrypoint = func() (cf v1.ConfigFile) {
	cf.Config.Entrypoint = []string{"/no/such/program"}
	return cf
}()

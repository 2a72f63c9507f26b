// Command runcstart compares the cost of starting a container with tend's
// runtime against `runc run` of the same bundle (Debian's runc package):
// each starts a container running `/testapp true` from the project's test
// image and waits for its end, one at a time.
//
//	go run ./test/bench/runcstart [-n 30] [-tend bin/tend] [-runc runc]
//
// tend's start is StartContainer of a created container until its status
// says it exited: a `tend shim` started, libcontainer's create and start
// (the `tend init` it runs) and the shim recording the end. runc's is
// `runc run` of a bundle with the same config.json and root, which creates,
// starts and waits likewise. Both join the same host-network sandbox's IPC
// and UTS namespaces. It must run as root, and leaves nothing behind.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tendhq/tend/kubelet"
	"github.com/tendhq/tend/kubelet/images"
	"github.com/tendhq/tend/kubelet/runc"
	"github.com/tendhq/tend/test/bench/internal/cluster"
	"github.com/tendhq/tend/test/testapp/testimage"
)

func main() {
	n := flag.Int("n", 30, "containers started by each")
	tend := flag.String("tend", "", "the tend binary (default: built from this module)")
	runcBin := flag.String("runc", "runc", "the runc binary (Debian: apt-get install runc)")
	flag.Parse()
	if os.Geteuid() != 0 {
		fmt.Fprintln(os.Stderr, "runcstart: containers need root")
		os.Exit(2)
	}
	if err := run(*n, *tend, *runcBin); err != nil {
		fmt.Fprintln(os.Stderr, "runcstart:", err)
		os.Exit(1)
	}
}

func run(n int, tend, runcBin string) error {
	runcPath, err := exec.LookPath(runcBin)
	if err != nil {
		return fmt.Errorf("%w (make runcstartbench installs Debian's runc)", err)
	}
	c, err := cluster.New(tend) // only for its directory and the tend binary
	if err != nil {
		return err
	}
	defer c.Close()
	ctx := context.Background()
	store, err := images.Open(filepath.Join(c.Dir, "images"))
	if err != nil {
		return err
	}
	img, err := testimage.Load()
	if err != nil {
		return err
	}
	archive := filepath.Join(c.Dir, "testapp.tar")
	tag, _ := name.NewTag("example.local/testapp:1")
	if err := tarball.WriteToFile(archive, tag, img); err != nil {
		return err
	}
	if _, err := store.Import(ctx, archive); err != nil {
		return err
	}
	cgroupParent := fmt.Sprintf("tend-runcstart-%d", os.Getpid())
	defer func() {
		for _, g := range []string{cgroupParent + "/runc", cgroupParent} {
			if err := runc.RemoveCgroup(g); err != nil {
				fmt.Fprintln(os.Stderr, "runcstart:", err)
			}
		}
	}()
	root := filepath.Join(c.Dir, "runtime")
	rt, err := runc.New(runc.Config{Root: root, Images: store, Self: c.Tend, CgroupParent: cgroupParent})
	if err != nil {
		return err
	}
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "bench", Namespace: "default", UID: "runcstart"},
		Spec: corev1.PodSpec{HostNetwork: true}}
	sb, err := rt.RunPodSandbox(ctx, kubelet.SandboxConfig{PodUID: pod.UID, Namespace: pod.Namespace, Name: pod.Name,
		Hostname: pod.Name, HostNetwork: true, Pod: pod})
	if err != nil {
		return err
	}
	defer func() {
		if err := rt.RemovePodSandbox(ctx, sb); err != nil {
			fmt.Fprintln(os.Stderr, "runcstart:", err)
		}
	}()
	spec := &corev1.Container{Name: "true", Image: "example.local/testapp:1", Command: []string{"/testapp", "true"}}

	var tendTimes, runcTimes []time.Duration
	var bundle string
	for i := range n {
		id, err := rt.CreateContainer(ctx, sb, kubelet.ContainerConfig{Spec: spec, Pod: pod, RestartCount: int32(i)})
		if err != nil {
			return err
		}
		start := time.Now()
		if err := rt.StartContainer(ctx, id); err != nil {
			return err
		}
		for {
			st, err := rt.ContainerStatus(ctx, id)
			if err != nil {
				return err
			}
			if st.State == kubelet.ContainerExited {
				if st.ExitCode != 0 {
					return fmt.Errorf("tend's container exited %d", st.ExitCode)
				}
				break
			}
			time.Sleep(200 * time.Microsecond)
		}
		tendTimes = append(tendTimes, time.Since(start))
		if bundle == "" {
			// runc runs the first container's config.json and root.
			bundle = filepath.Join(root, "containers", id)
		} else if err := rt.RemoveContainer(ctx, id); err != nil {
			return err
		}
	}

	b, err := os.ReadFile(filepath.Join(bundle, "config.json"))
	if err != nil {
		return err
	}
	var cfg map[string]any
	if err := json.Unmarshal(b, &cfg); err != nil {
		return err
	}
	runcRoot := filepath.Join(c.Dir, "runc-state")
	for i := range n {
		id := fmt.Sprintf("runc-%d", i)
		dir := filepath.Join(c.Dir, "bundles", id)
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return err
		}
		linux := cfg["linux"].(map[string]any)
		linux["cgroupsPath"] = "/" + cgroupParent + "/runc/" + id
		root := cfg["root"].(map[string]any)
		root["path"] = filepath.Join(bundle, "rootfs")
		// Debian's runc (1.1) cannot raise RLIMIT_NOFILE past the node's
		// hard limit as libcontainer 1.5 does: it keeps the limits it has.
		delete(cfg["process"].(map[string]any), "rlimits")
		out, _ := json.Marshal(cfg)
		if err := os.WriteFile(filepath.Join(dir, "config.json"), out, 0o600); err != nil {
			return err
		}
		start := time.Now()
		out, err := exec.Command(runcPath, "--root", runcRoot, "run", "--bundle", dir, id).CombinedOutput()
		took := time.Since(start)
		if dout, derr := exec.Command(runcPath, "--root", runcRoot, "delete", "-f", id).CombinedOutput(); derr != nil && err == nil {
			return fmt.Errorf("runc delete: %v: %s", derr, dout)
		}
		if err != nil {
			return fmt.Errorf("runc run: %v: %s", err, out)
		}
		runcTimes = append(runcTimes, took)
	}
	tp, rp := cluster.Percentile(sorted(tendTimes), 0.5), cluster.Percentile(sorted(runcTimes), 0.5)
	fmt.Printf("RUNCSTART %d containers each, start to exit of /testapp true: tend p50 %v (mean %v), runc run p50 %v (mean %v): tend/runc %.2f\n",
		n, tp.Round(100*time.Microsecond), mean(tendTimes).Round(100*time.Microsecond),
		rp.Round(100*time.Microsecond), mean(runcTimes).Round(100*time.Microsecond), float64(tp)/float64(rp))
	return nil
}

func sorted(d []time.Duration) []time.Duration {
	out := append([]time.Duration(nil), d...)
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

func mean(d []time.Duration) time.Duration {
	var sum time.Duration
	for _, x := range d {
		sum += x
	}
	return sum / time.Duration(len(d))
}

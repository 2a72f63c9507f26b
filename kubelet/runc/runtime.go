package runc

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/opencontainers/runc/libcontainer"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/tendhq/tend/kubelet"
	"github.com/tendhq/tend/kubelet/images"
	"github.com/tendhq/tend/kubelet/podnet"
	"github.com/tendhq/tend/kubelet/runc/shim"
	"github.com/tendhq/tend/kubelet/runc/shim/embedded"
)

// RuntimeName is the runtime's name in containerIDs ("runc://ID") and in the
// node's containerRuntimeVersion.
const RuntimeName = "runc"

// Config configures a Runtime.
type Config struct {
	// Root holds the runtime's state: sandboxes, containers and
	// libcontainer's. A Runtime opened on the same Root again adopts them.
	Root string
	// LogDir holds containers' logs as NAMESPACE_NAME_UID/CONTAINER/N.log;
	// default Root/logs.
	LogDir string
	// Images is the node's image store containers are made from.
	Images *images.Store
	// Self is the tend binary run as `pause` (and as Shim's default);
	// default this process's executable.
	Self string
	// Shim is the binary run as containers' shims and init (`BIN shim
	// ...`, `BIN init`). Default: the slim tend-shim this tend carries
	// (package shim/embedded), written to Root/bin/tend-shim; a tend built
	// without one runs Self, whose start-up costs tens of milliseconds
	// more twice per container. When Self's directory holds Root, a hard
	// link (or, across file systems, a copy) of it in Root/bin is run
	// instead: libcontainer seals the binary it runs as a container's init
	// with an overlay of the binary's directory and the container's state
	// directory, which overlayfs refuses when one holds the other, and
	// libcontainer then copies the whole binary into memory for every
	// container it starts.
	Shim string
	// CgroupParent is the cgroup pods' cgroups go under; default "tend".
	CgroupParent string
	// ClusterDNS and ClusterDomain (default cluster.local) are pods'
	// resolv.conf's.
	ClusterDNS    []string
	ClusterDomain string
	// Network configures the pod network once the node has a pod CIDR
	// (bridge, cluster and service CIDRs; PodCIDR is ignored).
	Network podnet.Config
	// NodeHosts and NodeResolvConf are the node's files host-network pods
	// and the Default DNS policy use; default /etc/hosts and
	// /etc/resolv.conf.
	NodeHosts, NodeResolvConf string
	// ContainerLogMaxSize is the size past which a container's log is
	// rotated, and ContainerLogMaxFiles how many of its files are kept
	// (the current one included); defaults 10 MiB and 5, the kubelet's
	// containerLogMaxSize and containerLogMaxFiles.
	ContainerLogMaxSize  int64
	ContainerLogMaxFiles int
	Logf                 func(format string, args ...any)
}

// Runtime runs pods' sandboxes and containers on this machine; it
// implements kubelet.Runtime.
type Runtime struct {
	cfg Config

	mu         sync.Mutex
	network    *podnet.Network // nil until UpdatePodCIDR
	networkErr string
	initLayer  string // see initLayerPaths
	sandboxes  map[string]*sandboxRecord
	containers map[string]*containerRecord
}

var _ kubelet.Runtime = (*Runtime)(nil)

// sandboxRecord is a sandbox as the runtime keeps it, in sandbox.json.
type sandboxRecord struct {
	ID          string       `json:"id"`
	PodUID      types.UID    `json:"podUID"`
	Namespace   string       `json:"namespace"`
	Name        string       `json:"name"`
	Attempt     uint32       `json:"attempt"`
	IP          string       `json:"ip,omitempty"`
	HostNetwork bool         `json:"hostNetwork,omitempty"`
	CreatedAt   time.Time    `json:"createdAt"`
	Pause       pauseProcess `json:"pause"`
	// Stopped is set once StopPodSandbox ran.
	Stopped bool `json:"stopped,omitempty"`
	// ShareProcessNamespace: containers join the pause's PID namespace.
	ShareProcessNamespace bool `json:"shareProcessNamespace,omitempty"`
}

// containerRecord is a container as the runtime keeps it, in container.json.
type containerRecord struct {
	ID           string    `json:"id"`
	SandboxID    string    `json:"sandboxID"`
	PodUID       types.UID `json:"podUID"`
	Name         string    `json:"name"`
	Image        string    `json:"image"`
	ImageRef     string    `json:"imageRef"`
	RestartCount int32     `json:"restartCount"`
	CreatedAt    time.Time `json:"createdAt"`
	// Started is set once its shim started it; StartedAt then.
	Started   bool      `json:"started,omitempty"`
	StartedAt time.Time `json:"startedAt,omitzero"`
	LogPath   string    `json:"logPath"`
	// TerminationMessagePath is where in the container its message is
	// written; the file is dir/termination-log.
	TerminationMessagePath   string                          `json:"terminationMessagePath,omitempty"`
	TerminationMessagePolicy corev1.TerminationMessagePolicy `json:"terminationMessagePolicy,omitempty"`
	// Ports are the container's, for probes naming one.
	Ports []corev1.ContainerPort `json:"ports,omitempty"`
	// Stdin and StdinOnce are the container's: its shim keeps a stdin
	// FIFO for attaches.
	Stdin     bool `json:"stdin,omitempty"`
	StdinOnce bool `json:"stdinOnce,omitempty"`
}

// New opens the runtime's state under cfg.Root, adopting the sandboxes and
// containers a previous process left: running ones keep running.
func New(cfg Config) (*Runtime, error) {
	if cfg.Root == "" || cfg.Images == nil {
		return nil, errors.New("runc: a root directory and an image store are required")
	}
	if cfg.LogDir == "" {
		cfg.LogDir = filepath.Join(cfg.Root, "logs")
	}
	if cfg.Self == "" {
		self, err := os.Executable()
		if err != nil {
			return nil, fmt.Errorf("runc: finding this executable: %w", err)
		}
		cfg.Self = self
	}
	if cfg.CgroupParent == "" {
		cfg.CgroupParent = "tend"
	}
	if cfg.ClusterDomain == "" {
		cfg.ClusterDomain = "cluster.local"
	}
	if cfg.NodeHosts == "" {
		cfg.NodeHosts = "/etc/hosts"
	}
	if cfg.NodeResolvConf == "" {
		cfg.NodeResolvConf = "/etc/resolv.conf"
	}
	if cfg.Logf == nil {
		cfg.Logf = func(string, ...any) {}
	}
	if cfg.ContainerLogMaxSize <= 0 {
		cfg.ContainerLogMaxSize = 10 << 20
	}
	if cfg.ContainerLogMaxFiles < 2 {
		cfg.ContainerLogMaxFiles = 5
	}
	for _, d := range []string{"sandboxes", "containers", "libcontainer", cfg.LogDir} {
		if !filepath.IsAbs(d) {
			d = filepath.Join(cfg.Root, d)
		}
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("runc: %w", err)
		}
	}
	if cfg.Shim == "" {
		var err error
		if b := embedded.Shim(); b != nil {
			cfg.Shim, err = installShim(b, filepath.Join(cfg.Root, "bin"))
		} else {
			cfg.Shim, err = sealableSelf(cfg.Self, cfg.Root)
		}
		if err != nil {
			return nil, fmt.Errorf("runc: %w", err)
		}
	}
	initLayer, err := makeInitLayer(filepath.Join(cfg.Root, "initlayer"))
	if err != nil {
		return nil, fmt.Errorf("runc: %w", err)
	}
	r := &Runtime{cfg: cfg, sandboxes: map[string]*sandboxRecord{}, containers: map[string]*containerRecord{},
		networkErr: "the node has no pod CIDR yet", initLayer: initLayer}
	if err := r.load(); err != nil {
		return nil, err
	}
	return r, nil
}

// sealableSelf is self, or when self's directory holds root (see
// Config.Self), root/bin/tend made a hard link or copy of it.
func sealableSelf(self, root string) (string, error) {
	real, err := filepath.EvalSymlinks(self)
	if err != nil {
		return "", err
	}
	absRoot, err := filepath.Abs(root)
	if err != nil {
		return "", err
	}
	if absRoot, err = filepath.EvalSymlinks(absRoot); err != nil {
		return "", err
	}
	if rel, err := filepath.Rel(filepath.Dir(real), absRoot); err != nil || rel == ".." || strings.HasPrefix(rel, "../") {
		return self, nil
	}
	dir := filepath.Join(absRoot, "bin")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	link := filepath.Join(dir, "tend")
	if a, err := os.Stat(real); err == nil {
		if b, err := os.Stat(link); err == nil && os.SameFile(a, b) {
			return link, nil
		}
	}
	tmp := link + ".new"
	_ = os.Remove(tmp)
	if err := os.Link(real, tmp); err != nil {
		if err := copyFile(real, tmp, 0o755); err != nil {
			return "", fmt.Errorf("copying %s to %s: %w", real, tmp, err)
		}
	}
	if err := os.Rename(tmp, link); err != nil {
		return "", err
	}
	return link, nil
}

// installShim makes dir/tend-shim the binary b, unless it is already, and
// returns its path. A new binary replaces the file, so that the shims
// running the old one keep it.
func installShim(b []byte, dir string) (string, error) {
	path := filepath.Join(dir, "tend-shim")
	if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, b) {
		return path, nil
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	tmp := path + ".new"
	if err := os.WriteFile(tmp, b, 0o755); err != nil {
		return "", err
	}
	return path, os.Rename(tmp, path)
}

func copyFile(src, dst string, mode os.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

func (r *Runtime) load() error {
	for _, kind := range []string{"sandboxes", "containers"} {
		entries, err := os.ReadDir(filepath.Join(r.cfg.Root, kind))
		if err != nil {
			return fmt.Errorf("runc: %w", err)
		}
		for _, e := range entries {
			dir := filepath.Join(r.cfg.Root, kind, e.Name())
			var err error
			if kind == "sandboxes" {
				var sb sandboxRecord
				if err = readJSON(filepath.Join(dir, "sandbox.json"), &sb); err == nil {
					r.sandboxes[sb.ID] = &sb
				}
			} else {
				var c containerRecord
				if err = readJSON(filepath.Join(dir, "container.json"), &c); err == nil {
					r.containers[c.ID] = &c
				}
			}
			if err != nil {
				// Half made when a process died: nothing runs from it.
				r.cfg.Logf("runc: removing %s, whose record cannot be read: %v", dir, err)
				if kind == "containers" {
					_ = unmountRootfs(dir)
				}
				_ = os.RemoveAll(dir)
			}
		}
	}
	return nil
}

// Status reports the runtime ready, and the network once UpdatePodCIDR set
// it up.
func (r *Runtime) Status(context.Context) (kubelet.RuntimeStatus, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	st := kubelet.RuntimeStatus{Name: RuntimeName, Version: "1.5.2",
		Runtime: kubelet.RuntimeCondition{Ready: true}, Network: kubelet.RuntimeCondition{Ready: r.networkErr == ""}}
	if r.networkErr != "" {
		st.Network.Reason, st.Network.Message = "NetworkPluginNotReady", "Network plugin returns error: "+r.networkErr
	}
	return st, nil
}

// UpdatePodCIDR sets up the node's pod network for the pod CIDR.
func (r *Runtime) UpdatePodCIDR(ctx context.Context, cidr string) error {
	prefix, err := netip.ParsePrefix(cidr)
	if err != nil {
		return fmt.Errorf("pod CIDR %q: %w", cidr, err)
	}
	cfg := r.cfg.Network
	cfg.PodCIDR = prefix
	n, err := podnet.New(cfg)
	if err == nil {
		err = n.Setup(ctx)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if err != nil {
		r.networkErr = err.Error()
		return err
	}
	r.network, r.networkErr = n, ""
	return nil
}

func (r *Runtime) sandboxDir(id string) string   { return filepath.Join(r.cfg.Root, "sandboxes", id) }
func (r *Runtime) containerDir(id string) string { return filepath.Join(r.cfg.Root, "containers", id) }
func (r *Runtime) stateRoot() string             { return filepath.Join(r.cfg.Root, "libcontainer") }

// RunPodSandbox starts a pod's pause process, writes its /etc files and
// wires its network.
func (r *Runtime) RunPodSandbox(ctx context.Context, cfg kubelet.SandboxConfig) (id string, err error) {
	id = newID()
	dir := r.sandboxDir(id)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	pod := cfg.Pod
	if pod == nil {
		pod = &corev1.Pod{}
		pod.Name, pod.Namespace, pod.UID = cfg.Name, cfg.Namespace, cfg.PodUID
		pod.Spec.HostNetwork = cfg.HostNetwork
	}
	sb := &sandboxRecord{ID: id, PodUID: cfg.PodUID, Namespace: cfg.Namespace, Name: cfg.Name, Attempt: cfg.Attempt,
		IP: cfg.IP, HostNetwork: cfg.HostNetwork, CreatedAt: time.Now(),
		ShareProcessNamespace: pod.Spec.ShareProcessNamespace != nil && *pod.Spec.ShareProcessNamespace}
	defer func() {
		if err != nil {
			if sb.Pause.PID != 0 {
				_ = sb.Pause.stop(time.Second)
			}
			if net := r.currentNetwork(); net != nil && !cfg.HostNetwork {
				_ = net.Detach(context.Background(), id)
			}
			_ = os.RemoveAll(dir)
		}
	}()
	nodeHosts, _ := os.ReadFile(r.cfg.NodeHosts)
	nodeResolv, _ := os.ReadFile(r.cfg.NodeResolvConf)
	var ips []string
	if cfg.IP != "" {
		ips = []string{cfg.IP}
	}
	files := map[string][]byte{
		"hosts":       hostsFile(pod, ips, cfg.Hostname, r.cfg.ClusterDomain, nodeHosts),
		"resolv.conf": resolvConf(pod, r.cfg.ClusterDNS, r.cfg.ClusterDomain, nodeResolv),
		"hostname":    []byte(cfg.Hostname + "\n"),
	}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			return "", err
		}
	}
	if sb.Pause, err = startPause(r.cfg.Self, cfg.Hostname, cfg.HostNetwork); err != nil {
		return "", err
	}
	if !cfg.HostNetwork {
		net := r.currentNetwork()
		if net == nil {
			return "", errors.New("the pod network is not set up: the node has no pod CIDR yet")
		}
		ip, err := netip.ParseAddr(cfg.IP)
		if err != nil {
			return "", fmt.Errorf("pod IP %q: %w", cfg.IP, err)
		}
		if err := net.Attach(ctx, podnet.Attachment{PodID: id, NetNS: sb.Pause.namespace("net"), IP: ip}); err != nil {
			return "", err
		}
		if ports := hostPorts(pod); len(ports) > 0 {
			if err := net.SetHostPorts(ctx, id, ip, ports); err != nil {
				return "", err
			}
		}
	}
	if err := writeJSON(filepath.Join(dir, "sandbox.json"), sb); err != nil {
		return "", err
	}
	r.mu.Lock()
	r.sandboxes[id] = sb
	r.mu.Unlock()
	return id, nil
}

func (r *Runtime) currentNetwork() *podnet.Network {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.network
}

// hostPorts are the pod's containers' ports with a hostPort.
func hostPorts(pod *corev1.Pod) []podnet.HostPort {
	var out []podnet.HostPort
	for _, c := range pod.Spec.Containers {
		for _, p := range c.Ports {
			if p.HostPort == 0 {
				continue
			}
			hp := podnet.HostPort{Protocol: string(p.Protocol), HostPort: p.HostPort, ContainerPort: p.ContainerPort}
			if p.HostIP != "" {
				hp.HostIP, _ = netip.ParseAddr(p.HostIP)
			}
			out = append(out, hp)
		}
	}
	return out
}

// StopPodSandbox kills the sandbox's containers, stops its pause process
// and unwires its network.
func (r *Runtime) StopPodSandbox(ctx context.Context, id string) error {
	sb, err := r.sandbox(id)
	if err != nil {
		return err
	}
	for _, c := range r.containersOf(id) {
		if err := r.StopContainer(ctx, c.ID, 0); err != nil && !errors.Is(err, kubelet.ErrNotFound) {
			return err
		}
	}
	if err := sb.Pause.stop(2 * time.Second); err != nil {
		return err
	}
	if net := r.currentNetwork(); net != nil && !sb.HostNetwork {
		if err := net.Detach(ctx, id); err != nil {
			return err
		}
	}
	r.mu.Lock()
	sb.Stopped = true
	rec := *sb
	r.mu.Unlock()
	return writeJSON(filepath.Join(r.sandboxDir(id), "sandbox.json"), &rec)
}

// RemovePodSandbox stops a sandbox and removes it and its containers.
func (r *Runtime) RemovePodSandbox(ctx context.Context, id string) error {
	sb, err := r.sandbox(id)
	if err != nil {
		return err
	}
	if err := r.StopPodSandbox(ctx, id); err != nil {
		return err
	}
	for _, c := range r.containersOf(id) {
		if err := r.RemoveContainer(ctx, c.ID); err != nil && !errors.Is(err, kubelet.ErrNotFound) {
			return err
		}
	}
	r.mu.Lock()
	delete(r.sandboxes, id)
	others := false
	for _, o := range r.sandboxes {
		others = others || o.PodUID == sb.PodUID
	}
	r.mu.Unlock()
	if !others {
		r.removePodCgroup(sb.PodUID)
	}
	return os.RemoveAll(r.sandboxDir(id))
}

// ListPodSandboxes reports the sandboxes of a pod, or all.
func (r *Runtime) ListPodSandboxes(_ context.Context, podUID types.UID) ([]kubelet.SandboxStatus, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []kubelet.SandboxStatus
	for _, sb := range r.sandboxes {
		if podUID != "" && sb.PodUID != podUID {
			continue
		}
		st := kubelet.SandboxStatus{ID: sb.ID, PodUID: sb.PodUID, Namespace: sb.Namespace, Name: sb.Name,
			Attempt: sb.Attempt, IP: sb.IP, HostNetwork: sb.HostNetwork, CreatedAt: sb.CreatedAt, State: kubelet.SandboxNotReady}
		if !sb.Stopped && sb.Pause.alive() {
			st.State = kubelet.SandboxReady
		}
		out = append(out, st)
	}
	return out, nil
}

func (r *Runtime) sandbox(id string) (*sandboxRecord, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	sb, ok := r.sandboxes[id]
	if !ok {
		return nil, fmt.Errorf("sandbox %s: %w", id, kubelet.ErrNotFound)
	}
	return sb, nil
}

func (r *Runtime) containersOf(sandboxID string) []*containerRecord {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []*containerRecord
	for _, c := range r.containers {
		if c.SandboxID == sandboxID {
			out = append(out, c)
		}
	}
	return out
}

// cgroupsPath is a container's cgroup, under its pod's.
func (r *Runtime) cgroupsPath(podUID types.UID, id string) string {
	return "/" + r.cfg.CgroupParent + "/pod" + string(podUID) + "/" + id
}

// removePodCgroup removes a pod's cgroup directories once its containers'
// are gone.
func (r *Runtime) removePodCgroup(podUID types.UID) {
	if err := RemoveCgroup(r.cfg.CgroupParent + "/pod" + string(podUID)); err != nil {
		r.cfg.Logf("runc: %v", err)
	}
}

// RemoveCgroup removes the cgroup directory rel (such as a Config's
// CgroupParent) from every hierarchy, cgroup v1's and v2's. It must be
// empty: a cgroup that still holds processes or children stays, and is in
// the error. One that does not exist is not an error.
func RemoveCgroup(rel string) error {
	dirs, _ := filepath.Glob("/sys/fs/cgroup/*/" + rel)
	var errs []error
	for _, d := range append(dirs, "/sys/fs/cgroup/"+rel) {
		if err := os.Remove(d); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, fmt.Errorf("removing cgroup %s: %w", d, err))
		}
	}
	return errors.Join(errs...)
}

// CreateContainer mounts a container's root from its image and writes its
// OCI spec; StartContainer runs it. The image must be in the store.
func (r *Runtime) CreateContainer(ctx context.Context, sandboxID string, cfg kubelet.ContainerConfig) (id string, err error) {
	sb, err := r.sandbox(sandboxID)
	if err != nil {
		return "", err
	}
	c := cfg.Spec
	pod := cfg.Pod
	if pod == nil {
		pod = &corev1.Pod{}
		pod.Name, pod.Namespace, pod.UID = sb.Name, sb.Namespace, sb.PodUID
	}
	img, err := r.cfg.Images.Get(c.Image)
	if errors.Is(err, images.ErrNotFound) {
		return "", fmt.Errorf("image %q is not present on the node", c.Image)
	}
	if err != nil {
		return "", err
	}
	imageConfig, err := r.cfg.Images.ConfigFile(img)
	if err != nil {
		return "", err
	}
	if err := r.cfg.Images.MarkUsed(img.ID, time.Now()); err != nil {
		return "", err
	}
	env, command, args := cfg.Env, cfg.Command, cfg.Args
	if env == nil {
		if env, err = literalEnv(c); err != nil {
			return "", err
		}
	}
	if command == nil {
		command = c.Command
	}
	if args == nil {
		args = c.Args
	}
	id = newID()
	dir := r.containerDir(id)
	defer func() {
		if err != nil {
			_ = unmountRootfs(dir)
		}
	}()
	rootfs, err := mountRootfs(dir, r.cfg.Images.LayerDirs(img), r.initLayer)
	if err != nil {
		return "", err
	}
	sbDir := r.sandboxDir(sandboxID)
	msgPath := c.TerminationMessagePath
	if msgPath == "" {
		msgPath = corev1.TerminationMessagePathDefault
	}
	if err := os.WriteFile(filepath.Join(dir, "termination-log"), nil, 0o666); err != nil {
		return "", err
	}
	mounts := []specs.Mount{
		{Destination: "/etc/hosts", Type: "bind", Source: filepath.Join(sbDir, "hosts"), Options: []string{"rbind", "rprivate", "rw"}},
		{Destination: "/etc/resolv.conf", Type: "bind", Source: filepath.Join(sbDir, "resolv.conf"), Options: []string{"rbind", "rprivate", "rw"}},
		{Destination: "/etc/hostname", Type: "bind", Source: filepath.Join(sbDir, "hostname"), Options: []string{"rbind", "rprivate", "rw"}},
		{Destination: msgPath, Type: "bind", Source: filepath.Join(dir, "termination-log"), Options: []string{"rbind", "rprivate", "rw"}},
	}
	mounts = append(mounts, volumeMounts(cfg.Mounts)...)
	ns := map[specs.LinuxNamespaceType]string{specs.IPCNamespace: sb.Pause.namespace("ipc"), specs.UTSNamespace: sb.Pause.namespace("uts")}
	if !sb.HostNetwork {
		ns[specs.NetworkNamespace] = sb.Pause.namespace("net")
	} else {
		ns[specs.NetworkNamespace] = HostNamespace
	}
	if sb.ShareProcessNamespace {
		ns[specs.PIDNamespace] = sb.Pause.namespace("pid")
	}
	spec, err := Spec(ContainerSpec{Container: c, Pod: pod, Image: imageConfig, Env: env, Command: command, Args: args,
		Rootfs: rootfs, Hostname: podHostname(pod), Namespaces: ns, CgroupsPath: r.cgroupsPath(sb.PodUID, id), Mounts: mounts})
	if err != nil {
		return "", err
	}
	if err := writeJSON(filepath.Join(dir, shim.SpecFile), spec); err != nil {
		return "", err
	}
	imageRef := img.ID
	if len(img.RepoDigests) > 0 {
		imageRef = img.RepoDigests[0]
	}
	logDir := filepath.Join(r.cfg.LogDir, fmt.Sprintf("%s_%s_%s", sb.Namespace, sb.Name, sb.PodUID), c.Name)
	if err := os.MkdirAll(logDir, 0o755); err != nil {
		return "", err
	}
	rec := &containerRecord{ID: id, SandboxID: sandboxID, PodUID: sb.PodUID, Name: c.Name, Image: c.Image, ImageRef: imageRef,
		RestartCount: cfg.RestartCount, CreatedAt: time.Now(), LogPath: filepath.Join(logDir, fmt.Sprintf("%d.log", cfg.RestartCount)),
		TerminationMessagePath: msgPath, TerminationMessagePolicy: c.TerminationMessagePolicy, Ports: c.Ports,
		Stdin: c.Stdin, StdinOnce: c.StdinOnce}
	if err := writeJSON(filepath.Join(dir, "container.json"), rec); err != nil {
		return "", err
	}
	r.mu.Lock()
	r.containers[id] = rec
	r.mu.Unlock()
	return id, nil
}

// podHostname is the pod's hostname: spec.hostname or its name.
func podHostname(pod *corev1.Pod) string {
	if pod.Spec.Hostname != "" {
		return pod.Spec.Hostname
	}
	return pod.Name
}

// volumeMounts are the OCI bind mounts of a container's volumes.
func volumeMounts(ms []kubelet.Mount) []specs.Mount {
	out := make([]specs.Mount, 0, len(ms))
	for _, m := range ms {
		propagation := "rprivate"
		switch m.Propagation {
		case corev1.MountPropagationHostToContainer:
			propagation = "rslave"
		case corev1.MountPropagationBidirectional:
			propagation = "rshared"
		}
		mode := "rw"
		if m.ReadOnly {
			mode = "ro"
		}
		out = append(out, specs.Mount{Destination: m.ContainerPath, Type: "bind", Source: m.HostPath,
			Options: []string{"rbind", propagation, mode}})
	}
	return out
}

// literalEnv is a container's environment when the kubelet did not resolve
// one: its literal values.
func literalEnv(c *corev1.Container) ([]string, error) {
	if len(c.EnvFrom) > 0 {
		return nil, errors.New("envFrom is not supported by this node yet")
	}
	out := make([]string, 0, len(c.Env))
	for _, e := range c.Env {
		if e.ValueFrom != nil {
			return nil, fmt.Errorf("env %s: valueFrom is not supported by this node yet", e.Name)
		}
		out = append(out, e.Name+"="+e.Value)
	}
	return out, nil
}

// StartContainer starts a created container under its shim and returns
// once it runs.
func (r *Runtime) StartContainer(_ context.Context, id string) error {
	rec, err := r.container(id)
	if err != nil {
		return err
	}
	if rec.Started {
		return fmt.Errorf("container %s was started already", id)
	}
	sc := shim.Config{StateRoot: r.stateRoot(), Dir: r.containerDir(id), ID: id, LogPath: rec.LogPath,
		MaxLogSize: r.cfg.ContainerLogMaxSize, MaxLogFiles: r.cfg.ContainerLogMaxFiles}
	if rec.Stdin {
		sc.Stdin = map[bool]string{false: "keep", true: "once"}[rec.StdinOnce]
	}
	if _, err := shim.Start(r.cfg.Shim, sc); err != nil {
		return err
	}
	r.mu.Lock()
	rec.Started, rec.StartedAt = true, time.Now()
	copied := *rec
	r.mu.Unlock()
	return writeJSON(filepath.Join(r.containerDir(id), "container.json"), &copied)
}

// StopContainer sends SIGTERM, then SIGKILL after grace, and waits until
// its shim recorded its end.
func (r *Runtime) StopContainer(_ context.Context, id string, grace time.Duration) error {
	rec, err := r.container(id)
	if err != nil {
		return err
	}
	if !rec.Started {
		return nil
	}
	dir := r.containerDir(id)
	if _, done, _ := shim.ReadExit(dir); done {
		return nil
	}
	lc, err := libcontainer.Load(r.stateRoot(), id)
	if err != nil {
		return nil // never created, or destroyed: nothing runs
	}
	signal := unix.SIGTERM
	if grace <= 0 {
		signal = unix.SIGKILL
	}
	if err := lc.Signal(signal); err != nil && !isNotRunning(err) {
		return fmt.Errorf("container %s: %w", id, err)
	}
	deadline := time.Now().Add(grace)
	killed := signal == unix.SIGKILL
	if killed {
		deadline = time.Now().Add(10 * time.Second)
	}
	for {
		if _, done, _ := shim.ReadExit(dir); done {
			return nil
		}
		if st, err := lc.Status(); err == nil && st == libcontainer.Stopped {
			if _, done, _ := shim.ReadExit(dir); done || !shim.Alive(dir) {
				return nil
			}
		}
		if !killed && time.Now().After(deadline) {
			if err := lc.Signal(unix.SIGKILL); err != nil && !isNotRunning(err) {
				return fmt.Errorf("container %s: %w", id, err)
			}
			killed, deadline = true, time.Now().Add(10*time.Second)
		}
		if killed && time.Now().After(deadline) {
			return fmt.Errorf("container %s did not end 10 s after SIGKILL", id)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func isNotRunning(err error) bool {
	return err != nil && (errors.Is(err, unix.ESRCH) || strings.Contains(err.Error(), "not running") ||
		strings.Contains(err.Error(), "no such process"))
}

// RemoveContainer stops a container if needed and removes it, its root and
// its log.
func (r *Runtime) RemoveContainer(ctx context.Context, id string) error {
	rec, err := r.container(id)
	if err != nil {
		return err
	}
	if err := r.StopContainer(ctx, id, 0); err != nil {
		return err
	}
	if lc, err := libcontainer.Load(r.stateRoot(), id); err == nil {
		if err := lc.Destroy(); err != nil {
			return fmt.Errorf("container %s: %w", id, err)
		}
	}
	if err := unmountRootfs(r.containerDir(id)); err != nil {
		return err
	}
	_ = os.Remove(rec.LogPath)
	rotated, _ := filepath.Glob(rec.LogPath + ".*")
	for _, f := range rotated {
		_ = os.Remove(f)
	}
	r.mu.Lock()
	delete(r.containers, id)
	r.mu.Unlock()
	return nil
}

func (r *Runtime) container(id string) (*containerRecord, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	c, ok := r.containers[id]
	if !ok {
		return nil, fmt.Errorf("container %s: %w", id, kubelet.ErrNotFound)
	}
	return c, nil
}

// ContainerStatus reports a container: created until started, running until
// its shim records its end, then exited with the code and reason.
func (r *Runtime) ContainerStatus(_ context.Context, id string) (kubelet.ContainerStatus, error) {
	rec, err := r.container(id)
	if err != nil {
		return kubelet.ContainerStatus{}, err
	}
	return r.status(rec), nil
}

func (r *Runtime) status(rec *containerRecord) kubelet.ContainerStatus {
	r.mu.Lock()
	c := *rec
	r.mu.Unlock()
	st := kubelet.ContainerStatus{ID: c.ID, SandboxID: c.SandboxID, PodUID: c.PodUID, Name: c.Name, Image: c.Image,
		ImageRef: c.ImageRef, RestartCount: c.RestartCount, CreatedAt: c.CreatedAt, State: kubelet.ContainerCreated,
		LogPath: c.LogPath}
	if !c.Started {
		return st
	}
	st.StartedAt = c.StartedAt
	dir := r.containerDir(c.ID)
	exit, done, err := shim.ReadExit(dir)
	alive := false
	if err == nil && !done {
		if alive = shim.Alive(dir); !alive {
			// The shim may have written the exit and ended since.
			exit, done, err = shim.ReadExit(dir)
		}
	}
	switch {
	case err != nil:
		st.State, st.Reason, st.Message = kubelet.ContainerUnknown, "Unknown", err.Error()
	case done:
		st.State, st.ExitCode, st.FinishedAt = kubelet.ContainerExited, exit.ExitCode, exit.FinishedAt
		switch {
		case exit.OOMKilled:
			st.Reason = "OOMKilled"
		case exit.ExitCode == 0:
			st.Reason = "Completed"
		default:
			st.Reason = "Error"
		}
		st.Message = r.terminationMessage(c, dir, exit.ExitCode != 0)
	case alive:
		// Until the shim records the end (a moment after it).
		st.State = kubelet.ContainerRunning
	default:
		// The shim is gone without a word: the container may still run
		// with nobody to record its end, or how it ended is lost.
		st.State = kubelet.ContainerRunning
		if lc, err := libcontainer.Load(r.stateRoot(), c.ID); err != nil {
			st.State, st.Reason = kubelet.ContainerUnknown, "ContainerStatusUnknown"
		} else if s, err := lc.Status(); err != nil || s == libcontainer.Stopped {
			st.State, st.ExitCode, st.Reason = kubelet.ContainerExited, 137, "ContainerStatusUnknown"
			st.Message = "The container could not be located when the pod was terminated"
		}
	}
	return st
}

// terminationMessage is what the container wrote to its termination
// message file (at most 4 KiB), or, by FallbackToLogsOnError, the end of
// its log (the last 80 lines, at most 2 KiB) when it failed without one.
func (r *Runtime) terminationMessage(c containerRecord, dir string, failed bool) string {
	b, _ := os.ReadFile(filepath.Join(dir, "termination-log"))
	if len(b) > 4096 {
		b = b[:4096]
	}
	if len(b) > 0 || !failed || c.TerminationMessagePolicy != corev1.TerminationMessageFallbackToLogsOnError {
		return string(b)
	}
	logs, err := os.ReadFile(c.LogPath)
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimSuffix(string(logs), "\n"), "\n")
	lines = lines[max(0, len(lines)-80):]
	var msg strings.Builder
	for _, l := range lines {
		// TIMESTAMP STREAM TAG CONTENT
		f := strings.SplitN(l, " ", 4)
		if len(f) < 4 {
			continue
		}
		msg.WriteString(f[3])
		if f[2] == "F" {
			msg.WriteByte('\n')
		}
	}
	out := msg.String()
	if len(out) > 2048 {
		out = out[len(out)-2048:]
	}
	return out
}

// ListContainers reports the containers of a pod, or all.
func (r *Runtime) ListContainers(_ context.Context, podUID types.UID) ([]kubelet.ContainerStatus, error) {
	r.mu.Lock()
	var recs []*containerRecord
	for _, c := range r.containers {
		if podUID == "" || c.PodUID == podUID {
			recs = append(recs, c)
		}
	}
	r.mu.Unlock()
	out := make([]kubelet.ContainerStatus, 0, len(recs))
	for _, c := range recs {
		out = append(out, r.status(c))
	}
	slices.SortFunc(out, func(a, b kubelet.ContainerStatus) int { return a.CreatedAt.Compare(b.CreatedAt) })
	return out, nil
}

// Stats reports a container's CPU and memory from its cgroups.
func (r *Runtime) Stats(_ context.Context, id string) (kubelet.ContainerStats, error) {
	if _, err := r.container(id); err != nil {
		return kubelet.ContainerStats{}, err
	}
	lc, err := libcontainer.Load(r.stateRoot(), id)
	if err != nil {
		return kubelet.ContainerStats{}, fmt.Errorf("container %s: %w", id, kubelet.ErrNotFound)
	}
	s, err := lc.Stats()
	if err != nil {
		return kubelet.ContainerStats{}, fmt.Errorf("container %s: %w", id, err)
	}
	out := kubelet.ContainerStats{Timestamp: time.Now()}
	if cg := s.CgroupStats; cg != nil {
		out.CPUUsageCoreNanoSeconds = cg.CpuStats.CpuUsage.TotalUsage
		mem := cg.MemoryStats.Usage.Usage
		if inactive, ok := cg.MemoryStats.Stats["total_inactive_file"]; ok && inactive < mem {
			mem -= inactive
		} else if inactive, ok := cg.MemoryStats.Stats["inactive_file"]; ok && inactive < mem {
			mem -= inactive
		}
		out.MemoryWorkingSetBytes = mem
	}
	return out, nil
}

func newID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func writeJSON(path string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return shim.WriteAtomic(path, b)
}

func readJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

var _ kubelet.ImageService = (*Runtime)(nil)

// ImagePresent reports whether the node's store has the image.
func (r *Runtime) ImagePresent(_ context.Context, image string) (bool, error) {
	_, err := r.cfg.Images.Get(image)
	if errors.Is(err, images.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// PullImage pulls an image into the node's store with the credentials of
// the given docker configs.
func (r *Runtime) PullImage(ctx context.Context, image string, pullSecrets [][]byte) (int64, error) {
	kc, err := images.SecretsKeychain(pullSecrets...)
	if err != nil {
		return 0, fmt.Errorf("image pull secrets: %w", err)
	}
	img, err := r.cfg.Images.Pull(ctx, image, images.PullOptions{Keychain: kc})
	if err != nil {
		return 0, err
	}
	return img.Size, nil
}

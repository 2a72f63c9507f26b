package runc

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	corev1 "k8s.io/api/core/v1"
)

// ContainerSpec is what an OCI runtime spec for one container is made of:
// the container as the pod declares it, its image's config, and what the
// kubelet and the runtime resolved for it.
type ContainerSpec struct {
	Container *corev1.Container
	// Pod gives the pod-level security context (runAsUser, runAsGroup,
	// runAsNonRoot, supplementalGroups, fsGroup) and shareProcessNamespace.
	Pod *corev1.Pod
	// Image is the image's config (entrypoint, command, env, user, working
	// directory).
	Image *v1.ConfigFile
	// Env is the container's environment as the kubelet resolved it
	// (valueFrom, envFrom, service variables and $(VAR) references done),
	// in order; it overrides the image's variables of the same names.
	Env []string
	// Command and Args are the container's, with $(VAR) references expanded.
	Command, Args []string
	// Rootfs is the container's root directory (the overlay of its image).
	Rootfs string
	// Hostname is the pod's.
	Hostname string
	// Namespaces are the sandbox's namespaces to join, by type (network,
	// ipc, uts, and pid when the pod shares its process namespace): a
	// /proc/PID/ns/... path, or "host" for the runtime's own (hostNetwork).
	// A type missing gets a namespace of its own.
	Namespaces map[specs.LinuxNamespaceType]string
	// CgroupsPath is the container's cgroup, under its pod's.
	CgroupsPath string
	// Mounts are bind mounts (volumes, /etc/hosts, /etc/resolv.conf,
	// /etc/hostname, the termination message file) added to the standard ones.
	Mounts []specs.Mount
	// OOMScoreAdj is the container's, from its pod's QoS class.
	OOMScoreAdj int
}

// defaultCapabilities are the capabilities a container has unless its
// securityContext changes them: containerd's and Docker's defaults.
var defaultCapabilities = []string{
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW",
	"CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE",
	"CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
}

// allCapabilities are every capability a privileged container gets.
var allCapabilities = []string{
	"CAP_AUDIT_CONTROL", "CAP_AUDIT_READ", "CAP_AUDIT_WRITE", "CAP_BLOCK_SUSPEND", "CAP_BPF",
	"CAP_CHECKPOINT_RESTORE", "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER",
	"CAP_FSETID", "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_KILL", "CAP_LEASE", "CAP_LINUX_IMMUTABLE",
	"CAP_MAC_ADMIN", "CAP_MAC_OVERRIDE", "CAP_MKNOD", "CAP_NET_ADMIN", "CAP_NET_BIND_SERVICE",
	"CAP_NET_BROADCAST", "CAP_NET_RAW", "CAP_PERFMON", "CAP_SETFCAP", "CAP_SETGID", "CAP_SETPCAP",
	"CAP_SETUID", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_CHROOT", "CAP_SYS_MODULE", "CAP_SYS_NICE",
	"CAP_SYS_PACCT", "CAP_SYS_PTRACE", "CAP_SYS_RAWIO", "CAP_SYS_RESOURCE", "CAP_SYS_TIME",
	"CAP_SYS_TTY_CONFIG", "CAP_SYSLOG", "CAP_WAKE_ALARM",
}

// maskedPaths and readonlyPaths are hidden from and read-only in an
// unprivileged container, as containerd's defaults.
var (
	maskedPaths = []string{"/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
		"/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi", "/sys/firmware",
		"/sys/devices/virtual/powercap"}
	readonlyPaths = []string{"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"}
)

// HostNamespace in ContainerSpec.Namespaces shares the runtime's own
// namespace of that type.
const HostNamespace = "host"

// cpuPeriod is the CFS period a CPU limit is a quota of, as the kubelet's.
const cpuPeriod = 100000

// verifyRunAsNonRoot refuses a container that must not run as root
// (runAsNonRoot) but would, or whose image names its user so that it cannot
// tell, with the kubelet's messages.
func verifyRunAsNonRoot(pod *corev1.Pod, c *corev1.Container, imageUser string, sc corev1.SecurityContext) error {
	if sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot {
		return nil
	}
	who := fmt.Sprintf("(pod: %q, container: %s)", fmt.Sprintf("%s_%s(%s)", pod.Name, pod.Namespace, pod.UID), c.Name)
	if sc.RunAsUser != nil {
		if *sc.RunAsUser == 0 {
			return fmt.Errorf("container's runAsUser breaks non-root policy %s", who)
		}
		return nil
	}
	user, _, _ := strings.Cut(imageUser, ":")
	if user == "" {
		user = "0"
	}
	uid, err := strconv.ParseUint(user, 10, 32)
	switch {
	case err != nil:
		return fmt.Errorf("container has runAsNonRoot and image has non-numeric user (%s), cannot verify user is non-root %s", user, who)
	case uid == 0:
		return fmt.Errorf("container has runAsNonRoot and image will run as root %s", who)
	}
	return nil
}

// Spec makes the OCI runtime spec of a container, as containerd's CRI plugin
// would for the same pod. Its errors say what is wrong with the container,
// for a user to read.
func Spec(cs ContainerSpec) (*specs.Spec, error) {
	c := cs.Container
	img := cs.Image.Config
	args := argv(cs.Command, cs.Args, img.Entrypoint, img.Cmd)
	if len(args) == 0 {
		return nil, errors.New("no command specified: the container has no command and its image no entrypoint or cmd")
	}
	sc := effectiveSecurity(cs.Pod, c)
	if err := verifyRunAsNonRoot(cs.Pod, c, img.User, sc); err != nil {
		return nil, err
	}
	user, err := resolveUser(cs.Rootfs, img.User, sc)
	if err != nil {
		return nil, err
	}
	if cs.Pod != nil && cs.Pod.Spec.SecurityContext != nil {
		psc := cs.Pod.Spec.SecurityContext
		for _, g := range psc.SupplementalGroups {
			user.AdditionalGids = append(user.AdditionalGids, uint32(g))
		}
		if psc.FSGroup != nil {
			user.AdditionalGids = append(user.AdditionalGids, uint32(*psc.FSGroup))
		}
	}
	cwd := c.WorkingDir
	if cwd == "" {
		cwd = img.WorkingDir
	}
	if cwd == "" {
		cwd = "/"
	}
	privileged := sc.Privileged != nil && *sc.Privileged
	caps := capabilities(privileged, sc.Capabilities)
	noNewPrivs := sc.AllowPrivilegeEscalation != nil && !*sc.AllowPrivilegeEscalation
	oom := cs.OOMScoreAdj
	hostname := cs.Hostname
	if cs.Namespaces[specs.UTSNamespace] != "" {
		hostname = "" // the sandbox's UTS namespace has it; runc refuses to set it there
	}
	s := &specs.Spec{
		Version: specs.Version,
		Process: &specs.Process{
			Args: args,
			Env:  environment(img.Env, cs.Hostname, cs.Env),
			Cwd:  cwd,
			User: user,
			Capabilities: &specs.LinuxCapabilities{
				Bounding: caps, Effective: caps, Permitted: caps,
			},
			NoNewPrivileges: noNewPrivs,
			OOMScoreAdj:     &oom,
			Rlimits:         []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Hard: 1048576, Soft: 1048576}},
		},
		Root:     &specs.Root{Path: cs.Rootfs, Readonly: sc.ReadOnlyRootFilesystem != nil && *sc.ReadOnlyRootFilesystem},
		Hostname: hostname,
		Mounts:   append(standardMounts(privileged), cs.Mounts...),
		Linux: &specs.Linux{
			CgroupsPath: cs.CgroupsPath,
			Resources:   resources(c),
			Namespaces:  namespaces(cs.Namespaces),
		},
	}
	if privileged {
		s.Linux.Resources.Devices = []specs.LinuxDeviceCgroup{{Allow: true, Access: "rwm"}}
	} else {
		s.Linux.MaskedPaths = slices.Clone(maskedPaths)
		s.Linux.ReadonlyPaths = slices.Clone(readonlyPaths)
	}
	return s, nil
}

// argv is the process's arguments by Kubernetes' rules: a command replaces
// the image's entrypoint (and then its cmd too); args replace the image's cmd.
func argv(command, args, entrypoint, cmd []string) []string {
	if len(command) > 0 {
		return append(slices.Clone(command), args...)
	}
	if len(args) > 0 {
		return append(slices.Clone(entrypoint), args...)
	}
	return append(slices.Clone(entrypoint), cmd...)
}

// environment is the image's variables, then HOSTNAME, then the container's,
// each replacing an earlier one of the same name in place.
func environment(image []string, hostname string, container []string) []string {
	var out []string
	index := map[string]int{}
	set := func(kv string) {
		k, _, _ := strings.Cut(kv, "=")
		if i, ok := index[k]; ok {
			out[i] = kv
			return
		}
		index[k] = len(out)
		out = append(out, kv)
	}
	for _, kv := range image {
		set(kv)
	}
	if hostname != "" {
		set("HOSTNAME=" + hostname)
	}
	for _, kv := range container {
		set(kv)
	}
	return out
}

// effectiveSecurity is the container's security context with the pod's
// settings it does not override, as the kubelet's.
func effectiveSecurity(pod *corev1.Pod, c *corev1.Container) corev1.SecurityContext {
	var sc corev1.SecurityContext
	if c.SecurityContext != nil {
		sc = *c.SecurityContext
	}
	if pod == nil || pod.Spec.SecurityContext == nil {
		return sc
	}
	psc := pod.Spec.SecurityContext
	if sc.RunAsUser == nil {
		sc.RunAsUser = psc.RunAsUser
	}
	if sc.RunAsGroup == nil {
		sc.RunAsGroup = psc.RunAsGroup
	}
	if sc.RunAsNonRoot == nil {
		sc.RunAsNonRoot = psc.RunAsNonRoot
	}
	return sc
}

// resolveUser finds the process's user: runAsUser and runAsGroup, else the
// image's USER ("uid", "uid:gid", "name", "name:group"), looked up in the
// container's /etc/passwd and /etc/group when it is a name; the user's
// groups in /etc/group join as additional ones, with the pod's
// supplementalGroups and fsGroup added by the caller.
func resolveUser(rootfs, imageUser string, sc corev1.SecurityContext) (specs.User, error) {
	var u specs.User
	userPart, groupPart, hasGroup := strings.Cut(imageUser, ":")
	name := ""
	if sc.RunAsUser != nil {
		u.UID = uint32(*sc.RunAsUser)
	} else if userPart != "" {
		if id, err := strconv.ParseUint(userPart, 10, 32); err == nil {
			u.UID = uint32(id)
		} else {
			ent, err := lookupPasswd(rootfs, func(e passwdEntry) bool { return e.name == userPart })
			if err != nil {
				return u, fmt.Errorf("image user %q: %w", imageUser, err)
			}
			u.UID, u.GID, name = ent.uid, ent.gid, ent.name
		}
	}
	if name == "" {
		// The primary group of a numeric user is its passwd entry's, if any.
		if ent, err := lookupPasswd(rootfs, func(e passwdEntry) bool { return e.uid == u.UID }); err == nil {
			u.GID, name = ent.gid, ent.name
		}
	}
	if sc.RunAsGroup != nil {
		u.GID = uint32(*sc.RunAsGroup)
	} else if hasGroup && groupPart != "" {
		if id, err := strconv.ParseUint(groupPart, 10, 32); err == nil {
			u.GID = uint32(id)
		} else {
			g, err := lookupGroup(rootfs, func(g groupEntry) bool { return g.name == groupPart })
			if err != nil {
				return u, fmt.Errorf("image user %q: %w", imageUser, err)
			}
			u.GID = g.gid
		}
	}
	if name != "" {
		// The user's own group joins as an additional one when the process
		// runs with another, as containerd's (Docker compatible) do.
		if ent, err := lookupPasswd(rootfs, func(e passwdEntry) bool { return e.name == name }); err == nil && ent.gid != u.GID {
			u.AdditionalGids = append(u.AdditionalGids, ent.gid)
		}
		groups, _ := allGroups(rootfs)
		for _, g := range groups {
			if slices.Contains(g.members, name) && g.gid != u.GID && !slices.Contains(u.AdditionalGids, g.gid) {
				u.AdditionalGids = append(u.AdditionalGids, g.gid)
			}
		}
	}
	return u, nil
}

type passwdEntry struct {
	name     string
	uid, gid uint32
}

type groupEntry struct {
	name    string
	gid     uint32
	members []string
}

func lookupPasswd(rootfs string, match func(passwdEntry) bool) (passwdEntry, error) {
	var found *passwdEntry
	err := readColonFile(rootfs+"/etc/passwd", func(f []string) bool {
		if len(f) < 4 {
			return true
		}
		uid, err1 := strconv.ParseUint(f[2], 10, 32)
		gid, err2 := strconv.ParseUint(f[3], 10, 32)
		if err1 != nil || err2 != nil {
			return true
		}
		e := passwdEntry{name: f[0], uid: uint32(uid), gid: uint32(gid)}
		if match(e) {
			found = &e
			return false
		}
		return true
	})
	if err != nil {
		return passwdEntry{}, err
	}
	if found == nil {
		return passwdEntry{}, errors.New("no such user in the image's /etc/passwd")
	}
	return *found, nil
}

func allGroups(rootfs string) ([]groupEntry, error) {
	var out []groupEntry
	err := readColonFile(rootfs+"/etc/group", func(f []string) bool {
		if len(f) < 3 {
			return true
		}
		gid, err := strconv.ParseUint(f[2], 10, 32)
		if err != nil {
			return true
		}
		g := groupEntry{name: f[0], gid: uint32(gid)}
		if len(f) > 3 && f[3] != "" {
			g.members = strings.Split(f[3], ",")
		}
		out = append(out, g)
		return true
	})
	return out, err
}

func lookupGroup(rootfs string, match func(groupEntry) bool) (groupEntry, error) {
	groups, err := allGroups(rootfs)
	if err != nil {
		return groupEntry{}, err
	}
	for _, g := range groups {
		if match(g) {
			return g, nil
		}
	}
	return groupEntry{}, errors.New("no such group in the image's /etc/group")
}

// readColonFile calls line with the fields of each line of an /etc file
// until it returns false. A missing file has no lines.
func readColonFile(path string, line func([]string) bool) error {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(io.LimitReader(f, 1<<20))
	for sc.Scan() {
		l := strings.TrimSpace(sc.Text())
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		if !line(strings.Split(l, ":")) {
			return nil
		}
	}
	return sc.Err()
}

// capabilities applies a securityContext's capabilities to the defaults, or
// gives every one to a privileged container. "ALL" adds or drops them all;
// names may omit the CAP_ prefix.
func capabilities(privileged bool, c *corev1.Capabilities) []string {
	if privileged {
		return slices.Clone(allCapabilities)
	}
	caps := slices.Clone(defaultCapabilities)
	if c == nil {
		return caps
	}
	norm := func(cp corev1.Capability) string {
		s := strings.ToUpper(string(cp))
		if s != "ALL" && !strings.HasPrefix(s, "CAP_") {
			s = "CAP_" + s
		}
		return s
	}
	// containerd's order: all added, all dropped, then each added, then
	// each dropped: drop ALL and add NET_ADMIN leaves NET_ADMIN only.
	isAll := func(cp corev1.Capability) bool { return norm(cp) == "ALL" }
	if slices.ContainsFunc(c.Add, isAll) {
		caps = slices.Clone(allCapabilities)
	}
	if slices.ContainsFunc(c.Drop, isAll) {
		caps = nil
	}
	for _, a := range c.Add {
		if n := norm(a); n != "ALL" && !slices.Contains(caps, n) {
			caps = append(caps, n)
		}
	}
	for _, d := range c.Drop {
		n := norm(d)
		caps = slices.DeleteFunc(caps, func(c string) bool { return c == n })
	}
	return caps
}

// resources are the container's cgroup limits: memory from its memory
// limit, a CPU quota from its CPU limit and CPU shares from its CPU request,
// by the kubelet's formulas.
func resources(c *corev1.Container) *specs.LinuxResources {
	r := &specs.LinuxResources{
		Devices: []specs.LinuxDeviceCgroup{{Allow: false, Access: "rwm"}},
	}
	if q, ok := c.Resources.Limits[corev1.ResourceMemory]; ok && !q.IsZero() {
		limit := q.Value()
		r.Memory = &specs.LinuxMemory{Limit: &limit}
	}
	cpu := &specs.LinuxCPU{}
	shares := uint64(2) // the kubelet's minimum, a best-effort container's
	if q, ok := c.Resources.Requests[corev1.ResourceCPU]; ok && !q.IsZero() {
		shares = max(2, uint64(q.MilliValue())*1024/1000)
	} else if q, ok := c.Resources.Limits[corev1.ResourceCPU]; ok && !q.IsZero() {
		shares = max(2, uint64(q.MilliValue())*1024/1000)
	}
	cpu.Shares = &shares
	if q, ok := c.Resources.Limits[corev1.ResourceCPU]; ok && !q.IsZero() {
		period := uint64(cpuPeriod)
		quota := max(1000, q.MilliValue()*cpuPeriod/1000) // the kernel's minimum is 1 ms
		cpu.Period, cpu.Quota = &period, &quota
	}
	r.CPU = cpu
	return r
}

// namespaces are a container's: those of its sandbox it joins, new ones
// for the rest.
func namespaces(join map[specs.LinuxNamespaceType]string) []specs.LinuxNamespace {
	var out []specs.LinuxNamespace
	for _, t := range []specs.LinuxNamespaceType{specs.PIDNamespace, specs.NetworkNamespace,
		specs.IPCNamespace, specs.UTSNamespace, specs.MountNamespace, specs.CgroupNamespace} {
		if join[t] == HostNamespace {
			continue
		}
		out = append(out, specs.LinuxNamespace{Type: t, Path: join[t]})
	}
	return out
}

// standardMounts are what every container has: /proc, /dev, /dev/pts,
// /dev/shm, /dev/mqueue, /sys and its cgroups (read-only unless privileged).
func standardMounts(privileged bool) []specs.Mount {
	sysOpts := []string{"nosuid", "noexec", "nodev", "ro"}
	cgroupOpts := []string{"nosuid", "noexec", "nodev", "relatime", "ro"}
	if privileged {
		sysOpts = []string{"nosuid", "noexec", "nodev"}
		cgroupOpts = []string{"nosuid", "noexec", "nodev", "relatime"}
	}
	return []specs.Mount{
		{Destination: "/proc", Type: "proc", Source: "proc", Options: []string{"nosuid", "noexec", "nodev"}},
		{Destination: "/dev", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "strictatime", "mode=755", "size=65536k"}},
		{Destination: "/dev/pts", Type: "devpts", Source: "devpts", Options: []string{"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}},
		{Destination: "/dev/shm", Type: "tmpfs", Source: "shm", Options: []string{"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}},
		{Destination: "/dev/mqueue", Type: "mqueue", Source: "mqueue", Options: []string{"nosuid", "noexec", "nodev"}},
		{Destination: "/sys", Type: "sysfs", Source: "sysfs", Options: sysOpts},
		{Destination: "/sys/fs/cgroup", Type: "cgroup", Source: "cgroup", Options: cgroupOpts},
	}
}

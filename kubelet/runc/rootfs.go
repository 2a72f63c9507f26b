package runc

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// maxMountData is the longest option string mount(2) takes (a page).
const maxMountData = 4095

// mountRootfs mounts a container's root under dir: the image's layer
// directories (the top one first) as overlayfs lower directories, and
// dir/upper for what the container writes (dir/work is overlayfs's). It
// returns dir/rootfs. Mounting it again when it is mounted does nothing.
func mountRootfs(dir string, layers []string) (string, error) {
	rootfs := filepath.Join(dir, "rootfs")
	for _, d := range []string{"upper", "work", "rootfs"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return "", fmt.Errorf("container root: %w", err)
		}
	}
	if mounted, err := isMountPoint(rootfs); err != nil || mounted {
		return rootfs, err
	}
	if len(layers) == 0 {
		// An image without layers: an empty, read-only lower directory.
		empty := filepath.Join(dir, "empty")
		if err := os.MkdirAll(empty, 0o755); err != nil {
			return "", fmt.Errorf("container root: %w", err)
		}
		layers = []string{empty}
	}
	for _, l := range layers {
		if strings.ContainsAny(l, ":,") {
			return "", fmt.Errorf("container root: layer directory %q has a character overlayfs options cannot carry", l)
		}
	}
	opts := fmt.Sprintf("lowerdir=%s,upperdir=%s,workdir=%s", strings.Join(layers, ":"),
		filepath.Join(dir, "upper"), filepath.Join(dir, "work"))
	if len(opts) > maxMountData {
		return "", fmt.Errorf("container root: the image's %d layers make overlayfs options of %d bytes, more than mount takes (%d)",
			len(layers), len(opts), maxMountData)
	}
	if err := unix.Mount("overlay", rootfs, "overlay", 0, opts); err != nil {
		return "", fmt.Errorf("container root: mounting overlayfs: %w", err)
	}
	return rootfs, nil
}

// unmountRootfs unmounts a container's root and removes dir.
func unmountRootfs(dir string) error {
	rootfs := filepath.Join(dir, "rootfs")
	if err := unix.Unmount(rootfs, unix.MNT_DETACH); err != nil && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("unmounting %s: %w", rootfs, err)
	}
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("removing %s: %w", dir, err)
	}
	return nil
}

// isMountPoint reports whether path is a mount point, by /proc/self/mountinfo.
func isMountPoint(path string) (bool, error) {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return false, err
	}
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
		if len(f) > 4 && unescapeMountinfo(f[4]) == path {
			return true, nil
		}
	}
	return false, nil
}

// unescapeMountinfo undoes mountinfo's octal escapes (\040 for a space).
func unescapeMountinfo(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			var v byte
			ok := true
			for _, c := range s[i+1 : i+4] {
				if c < '0' || c > '7' {
					ok = false
					break
				}
				v = v*8 + byte(c-'0')
			}
			if ok {
				b.WriteByte(v)
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

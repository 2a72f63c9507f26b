package runc

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"golang.org/x/sys/unix"
)

// maxMountData is the longest option string mount(2) takes (a page).
const maxMountData = 4095

// mountRootfs mounts a container's root under dir: the image's layer
// directories (the top one first), then the runtime's init layer (see
// initLayerPaths), as overlayfs lower directories, and
// dir/upper for what the container writes (dir/work is overlayfs's). It
// returns dir/rootfs. Mounting it again when it is mounted does nothing.
func mountRootfs(dir string, layers []string, initLayer string) (string, error) {
	rootfs := filepath.Join(dir, "rootfs")
	for _, d := range []string{"upper", "work", "rootfs"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return "", fmt.Errorf("container root: %w", err)
		}
	}
	if mounted, err := isMountPoint(rootfs); err != nil || mounted {
		return rootfs, err
	}
	layers = append(slices.Clip(layers), initLayer)
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

// initLayerPaths are the mount points every container's spec has, made
// once in the init layer (Docker's idea): the lowest layer of every
// container's root, so that they exist in the merged root already, and
// starting a container does not create them in its upper directory (an
// overlayfs copy-up each). The image's own files, in the layers above,
// win; a directory name ends with a slash.
var initLayerPaths = []string{"proc/", "sys/", "dev/", "etc/", "etc/hosts", "etc/hostname", "etc/resolv.conf"}

// makeInitLayer makes dir the init layer (see initLayerPaths) unless it is
// one already, and returns it.
func makeInitLayer(dir string) (string, error) {
	done := filepath.Join(dir, ".done")
	if _, err := os.Stat(done); err == nil {
		return filepath.Join(dir, "root"), nil
	}
	root := filepath.Join(dir, "root")
	if err := os.RemoveAll(dir); err != nil {
		return "", err
	}
	for _, p := range initLayerPaths {
		path := filepath.Join(root, p)
		var err error
		if strings.HasSuffix(p, "/") {
			err = os.MkdirAll(path, 0o755)
		} else {
			err = os.WriteFile(path, nil, 0o644)
		}
		if err != nil {
			return "", fmt.Errorf("init layer: %w", err)
		}
	}
	if err := os.WriteFile(done, nil, 0o644); err != nil {
		return "", fmt.Errorf("init layer: %w", err)
	}
	return root, nil
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

// isMountPoint reports whether path is a mount point: on another device
// than its parent directory. (Asked at every container start, it must not
// read /proc/self/mountinfo, whose length grows with the node's pods.)
func isMountPoint(path string) (bool, error) {
	var st, parent unix.Stat_t
	if err := unix.Lstat(path, &st); err != nil {
		return false, fmt.Errorf("stat %s: %w", path, err)
	}
	if err := unix.Lstat(filepath.Dir(filepath.Clean(path)), &parent); err != nil {
		return false, fmt.Errorf("stat %s: %w", filepath.Dir(path), err)
	}
	return st.Dev != parent.Dev, nil
}

package images

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// tarEntry is one entry of a test layer; a regular file's size is its body's.
type tarEntry struct {
	hdr  tar.Header
	body string
}

var unpackTime = time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)

func regEntry(name string, mode int64, body string) tarEntry {
	return tarEntry{hdr: tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: mode, ModTime: unpackTime}, body: body}
}

func dirEntry(name string, mode int64) tarEntry {
	return tarEntry{hdr: tar.Header{Typeflag: tar.TypeDir, Name: name, Mode: mode, ModTime: unpackTime}}
}

func symlinkEntry(name, target string) tarEntry {
	return tarEntry{hdr: tar.Header{Typeflag: tar.TypeSymlink, Name: name, Linkname: target, Mode: 0o777, ModTime: unpackTime}}
}

func hardlinkEntry(name, target string) tarEntry {
	return tarEntry{hdr: tar.Header{Typeflag: tar.TypeLink, Name: name, Linkname: target, ModTime: unpackTime}}
}

// layerTar is a tar of entries, ending with the two zero blocks and nothing
// after them.
func layerTar(t testing.TB, entries ...tarEntry) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		h := e.hdr
		if h.Typeflag == tar.TypeReg {
			h.Size = int64(len(e.body))
		}
		if err := tw.WriteHeader(&h); err != nil {
			t.Fatalf("writing tar header %q: %v", h.Name, err)
		}
		if _, err := tw.Write([]byte(e.body)); err != nil {
			t.Fatalf("writing tar entry %q: %v", h.Name, err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("unpacking a layer needs root (owners, devices, trusted xattrs)")
	}
}

func unpackEntries(t *testing.T, dir string, entries ...tarEntry) {
	t.Helper()
	if _, err := Unpack(t.Context(), bytes.NewReader(layerTar(t, entries...)), dir); err != nil {
		t.Fatalf("Unpack: %v", err)
	}
}

func TestUnpackEntries(t *testing.T) {
	requireRoot(t)
	at := func(sec int) time.Time { return unpackTime.Add(time.Duration(sec) * time.Hour) }
	with := func(e tarEntry, f func(h *tar.Header)) tarEntry { f(&e.hdr); return e }
	owned := func(e tarEntry, uid, gid int) tarEntry {
		return with(e, func(h *tar.Header) { h.Uid, h.Gid = uid, gid })
	}
	mtime := func(e tarEntry, t time.Time) tarEntry { return with(e, func(h *tar.Header) { h.ModTime = t }) }
	xattr := func(e tarEntry, k, v string) tarEntry {
		return with(e, func(h *tar.Header) {
			h.Format = tar.FormatPAX
			h.PAXRecords = map[string]string{"SCHILY.xattr." + k: v}
		})
	}
	nanoTime := time.Date(2023, 1, 2, 3, 4, 5, 123456789, time.UTC)
	entries := []tarEntry{
		mtime(dirEntry(".", 0o751), at(1)),
		mtime(dirEntry("etc/", 0o755), at(2)),
		mtime(regEntry("etc/passwd", 0o644, "root:x:0:0\n"), at(3)),
		regEntry("bin/su", 0o4755, "su"),
		owned(regEntry("bin/newgrp", 0o2711, "newgrp"), 0, 5),
		dirEntry("tmp/", 0o1777),
		owned(regEntry("home/user/notes", 0o600, "hi"), 1000, 1001),
		owned(mtime(symlinkEntry("bin/sh", "/bin/busybox"), at(4)), 7, 8),
		symlinkEntry("bin/passwd-link", "../etc/passwd"),
		hardlinkEntry("bin/hard", "/etc/passwd"),
		regEntry("/abs/file", 0o644, "abs"),
		regEntry("./dot/file", 0o644, "dot"),
		regEntry("/escape/../../top", 0o644, "top"),
		xattr(mtime(dirEntry("x/", 0o755), at(5)), "user.dir", "d"),
		with(xattr(regEntry("x/f", 0o640, "f"), "user.file", "f"), func(h *tar.Header) {
			h.ModTime, h.AccessTime = nanoTime, at(6)
		}),
		{hdr: tar.Header{Typeflag: tar.TypeFifo, Name: "dev/fifo", Mode: 0o600, ModTime: unpackTime}},
		xattr(tarEntry{hdr: tar.Header{Typeflag: tar.TypeChar, Name: "dev/null", Mode: 0o666, Devmajor: 1, Devminor: 3, ModTime: unpackTime}}, "trusted.dev", "null"),
		owned(tarEntry{hdr: tar.Header{Typeflag: tar.TypeBlock, Name: "dev/loop0", Mode: 0o660, Devmajor: 7, Devminor: 0, ModTime: unpackTime}}, 0, 6),
		regEntry("r", 0o644, "one"),
		regEntry("r", 0o600, "two"),
		symlinkEntry("s", "r"),
		regEntry("s", 0o644, "plain"),
		dirEntry("keep/", 0o700),
		regEntry("keep/child", 0o644, "child"),
		mtime(dirEntry("keep/", 0o750), at(7)),
		dirEntry("gone/", 0o755),
		regEntry("gone/child", 0o644, "child"),
		regEntry("gone", 0o644, "now a file"),
		symlinkEntry("etc-link", "etc"),
		regEntry("etc-link/hosts", 0o644, "127.0.0.1 localhost\n"),
		{hdr: tar.Header{Typeflag: tar.TypeXGlobalHeader, Name: "pax_global_header", PAXRecords: map[string]string{"comment": "layer"}}},
		dirEntry(".wh..wh.plnk/", 0o700),
		regEntry(".wh..wh.aufs", 0o600, ""),
	}
	dir := t.TempDir()
	unpackEntries(t, dir, entries...)

	// Before reading the file, which may change its atime (relatime).
	var xf unix.Stat_t
	if err := unix.Lstat(filepath.Join(dir, "x/f"), &xf); err != nil {
		t.Fatal(err)
	}
	if got := time.Unix(xf.Atim.Unix()); !got.Equal(at(6)) {
		t.Errorf("x/f: atime = %v; want %v", got.UTC(), at(6))
	}

	const (
		reg   = fs.FileMode(0)
		isDir = fs.ModeDir
		link  = fs.ModeSymlink
	)
	tests := []struct {
		name     string
		typ      fs.FileMode
		perm     fs.FileMode // with setuid, setgid and sticky; not for symlinks
		uid, gid uint32
		mtime    time.Time // zero: the default unpackTime
		anyTime  bool      // made without an entry: the mtime is unpacking's
		body     string    // regular files
		target   string    // symlinks
	}{
		{name: ".", typ: isDir, perm: 0o751, mtime: at(1)},
		{name: "etc", typ: isDir, perm: 0o755, mtime: at(2)},
		{name: "etc/passwd", typ: reg, perm: 0o644, mtime: at(3), body: "root:x:0:0\n"},
		{name: "etc/hosts", typ: reg, perm: 0o644, body: "127.0.0.1 localhost\n"},
		{name: "bin/su", typ: reg, perm: 0o755 | fs.ModeSetuid, body: "su"},
		{name: "bin/newgrp", typ: reg, perm: 0o711 | fs.ModeSetgid, gid: 5, body: "newgrp"},
		{name: "tmp", typ: isDir, perm: 0o777 | fs.ModeSticky},
		{name: "home/user/notes", typ: reg, perm: 0o600, uid: 1000, gid: 1001, body: "hi"},
		{name: "bin/sh", typ: link, uid: 7, gid: 8, mtime: at(4), target: "/bin/busybox"},
		{name: "bin/passwd-link", typ: link, target: "../etc/passwd"},
		{name: "bin/hard", typ: reg, perm: 0o644, mtime: at(3), body: "root:x:0:0\n"},
		{name: "abs/file", typ: reg, perm: 0o644, body: "abs"},
		{name: "dot/file", typ: reg, perm: 0o644, body: "dot"},
		// Cleaned as an absolute name, which ".." cannot leave.
		{name: "top", typ: reg, perm: 0o644, body: "top"},
		{name: "x", typ: isDir, perm: 0o755, mtime: at(5)},
		{name: "x/f", typ: reg, perm: 0o640, mtime: nanoTime, body: "f"},
		{name: "dev/fifo", typ: fs.ModeNamedPipe, perm: 0o600},
		{name: "dev/null", typ: fs.ModeDevice | fs.ModeCharDevice, perm: 0o666},
		{name: "dev/loop0", typ: fs.ModeDevice, perm: 0o660, gid: 6},
		{name: "r", typ: reg, perm: 0o600, body: "two"},
		{name: "s", typ: reg, perm: 0o644, body: "plain"},
		{name: "keep", typ: isDir, perm: 0o750, mtime: at(7)},
		{name: "keep/child", typ: reg, perm: 0o644, body: "child"},
		{name: "gone", typ: reg, perm: 0o644, body: "now a file"},
		// Parents made without an entry of their own.
		{name: "bin", typ: isDir, perm: 0o755, anyTime: true},
		{name: "home/user", typ: isDir, perm: 0o755, anyTime: true},
	}
	for _, tt := range tests {
		p := filepath.Join(dir, tt.name)
		fi, err := os.Lstat(p)
		if err != nil {
			t.Errorf("Lstat(%q): %v", tt.name, err)
			continue
		}
		if got := fi.Mode().Type(); got != tt.typ {
			t.Errorf("%q: type = %v; want %v", tt.name, got, tt.typ)
			continue
		}
		st := fi.Sys().(*syscall.Stat_t)
		if tt.typ != link {
			if got := fi.Mode() & (fs.ModePerm | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky); got != tt.perm {
				t.Errorf("%q: mode = %v; want %v", tt.name, got, tt.perm)
			}
		}
		if st.Uid != tt.uid || st.Gid != tt.gid {
			t.Errorf("%q: owner = %d:%d; want %d:%d", tt.name, st.Uid, st.Gid, tt.uid, tt.gid)
		}
		want := tt.mtime
		if want.IsZero() {
			want = unpackTime
		}
		if !tt.anyTime && !fi.ModTime().Equal(want) {
			t.Errorf("%q: mtime = %v; want %v", tt.name, fi.ModTime().UTC(), want)
		}
		switch tt.typ {
		case reg:
			if b, err := os.ReadFile(p); err != nil || string(b) != tt.body {
				t.Errorf("ReadFile(%q) = %q, %v; want %q", tt.name, b, err, tt.body)
			}
		case link:
			if got, err := os.Readlink(p); err != nil || got != tt.target {
				t.Errorf("Readlink(%q) = %q, %v; want %q", tt.name, got, err, tt.target)
			}
		}
	}

	for _, name := range []string{"pax_global_header", ".wh..wh.plnk", ".wh..wh.aufs", "escape"} {
		if _, err := os.Lstat(filepath.Join(dir, name)); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("Lstat(%q) = %v; want not exist", name, err)
		}
	}

	devs := []struct {
		name         string
		major, minor uint32
	}{{"dev/null", 1, 3}, {"dev/loop0", 7, 0}}
	for _, d := range devs {
		var st unix.Stat_t
		if err := unix.Lstat(filepath.Join(dir, d.name), &st); err != nil {
			t.Fatal(err)
		}
		if got, want := st.Rdev, unix.Mkdev(d.major, d.minor); got != want {
			t.Errorf("%q: rdev = %d:%d; want %d:%d", d.name, unix.Major(got), unix.Minor(got), d.major, d.minor)
		}
	}

	var passwd, hard unix.Stat_t
	if err := unix.Lstat(filepath.Join(dir, "etc/passwd"), &passwd); err != nil {
		t.Fatal(err)
	}
	if err := unix.Lstat(filepath.Join(dir, "bin/hard"), &hard); err != nil {
		t.Fatal(err)
	}
	if hard.Ino != passwd.Ino || passwd.Nlink != 2 {
		t.Errorf("bin/hard: inode %d, etc/passwd: inode %d with %d links; want one inode with 2 links", hard.Ino, passwd.Ino, passwd.Nlink)
	}

	xattrs := []struct{ name, attr, want string }{
		{"x", "user.dir", "d"},
		{"x/f", "user.file", "f"},
		{"dev/null", "trusted.dev", "null"},
	}
	for _, x := range xattrs {
		if got := getXattr(t, filepath.Join(dir, x.name), x.attr); got != x.want {
			t.Errorf("%q: xattr %s = %q; want %q", x.name, x.attr, got, x.want)
		}
	}
}

// getXattr is path's xattr attr, not following a symlink, or "" if missing.
func getXattr(t *testing.T, path, attr string) string {
	t.Helper()
	buf := make([]byte, 256)
	n, err := unix.Lgetxattr(path, attr, buf)
	if errors.Is(err, unix.ENODATA) {
		return ""
	}
	if err != nil {
		t.Fatalf("Lgetxattr(%q, %s): %v", path, attr, err)
	}
	return string(buf[:n])
}

func TestUnpackWhiteouts(t *testing.T) {
	requireRoot(t)
	dir := t.TempDir()
	unpackEntries(t, dir,
		regEntry("kept", 0o644, "kept"),
		regEntry(".wh.gone", 0o644, ""),
		dirEntry("d/", 0o755),
		regEntry("d/.wh..wh..opq", 0o644, ""),
		regEntry("d/inside", 0o644, "inside"),
		regEntry("missing/.wh..wh..opq", 0o644, ""),
		regEntry("sub/deeper/.wh.x", 0o644, ""),
		regEntry("w", 0o644, "replaced by its whiteout"),
		regEntry(".wh.w", 0o644, ""),
	)

	for _, name := range []string{"gone", "sub/deeper/x", "w"} {
		var st unix.Stat_t
		if err := unix.Lstat(filepath.Join(dir, name), &st); err != nil {
			t.Errorf("Lstat(%q): %v", name, err)
			continue
		}
		if st.Mode&unix.S_IFMT != unix.S_IFCHR || st.Rdev != 0 {
			t.Errorf("%q: mode %o, rdev %d:%d; want a character device 0:0", name, st.Mode, unix.Major(st.Rdev), unix.Minor(st.Rdev))
		}
	}
	for _, name := range []string{"d", "missing"} {
		if got := getXattr(t, filepath.Join(dir, name), "trusted.overlay.opaque"); got != "y" {
			t.Errorf("%q: trusted.overlay.opaque = %q; want \"y\"", name, got)
		}
	}
	if got := getXattr(t, dir, "trusted.overlay.opaque"); got != "" {
		t.Errorf("layer root: trusted.overlay.opaque = %q; want none", got)
	}
	if got := getXattr(t, filepath.Join(dir, "sub"), "trusted.overlay.opaque"); got != "" {
		t.Errorf("sub: trusted.overlay.opaque = %q; want none", got)
	}
	for _, name := range []string{".wh.gone", "d/.wh..wh..opq", "missing/.wh..wh..opq", "sub/deeper/.wh.x", ".wh.w"} {
		if _, err := os.Lstat(filepath.Join(dir, name)); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("Lstat(%q) = %v; want not exist", name, err)
		}
	}
	if b, err := os.ReadFile(filepath.Join(dir, "d/inside")); err != nil || string(b) != "inside" {
		t.Errorf("ReadFile(d/inside) = %q, %v; want \"inside\"", b, err)
	}
}

func TestUnpackDiffID(t *testing.T) {
	requireRoot(t)
	layer := layerTar(t, dirEntry("a/", 0o755), regEntry("a/b", 0o644, "b"))
	tests := []struct {
		name     string
		trailing []byte
	}{
		{"tar end only", nil},
		{"zero blocks to a 10 KiB record", make([]byte, 10240-len(layer)%10240)},
		{"more zero blocks and garbage", append(make([]byte, 4096), "not a tar"...)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			input := append(slices.Clip(layer), tt.trailing...)
			sum := sha256.Sum256(input)
			want := "sha256:" + hex.EncodeToString(sum[:])
			r := bytes.NewReader(input)
			got, err := Unpack(t.Context(), r, t.TempDir())
			if err != nil {
				t.Fatalf("Unpack: %v", err)
			}
			if got != want {
				t.Errorf("Unpack(%d bytes) = %s; want %s", len(input), got, want)
			}
			if r.Len() != 0 {
				t.Errorf("Unpack left %d bytes unread", r.Len())
			}
		})
	}
}

func TestUnpackHostile(t *testing.T) {
	requireRoot(t)
	// Each case gets a parent directory holding the layer's dir and a
	// sentinel "outside" with one file, "secret", that nothing may touch.
	type layout struct{ parent, outside string }
	tests := []struct {
		name    string
		entries func(l layout) []tarEntry
	}{
		{"dot-dot", func(layout) []tarEntry {
			return []tarEntry{regEntry("../x", 0o644, "x")}
		}},
		{"dot-dot after a name", func(layout) []tarEntry {
			return []tarEntry{regEntry("a/../../outside/x", 0o644, "x")}
		}},
		{"file through a symlink to /", func(l layout) []tarEntry {
			return []tarEntry{
				symlinkEntry("l", "/"),
				regEntry("l"+l.outside+"/x", 0o644, "x"),
			}
		}},
		{"file through a symlink to ../..", func(l layout) []tarEntry {
			return []tarEntry{
				symlinkEntry("l", "../.."),
				regEntry("l/"+filepath.Base(l.parent)+"/outside/x", 0o644, "x"),
			}
		}},
		{"file through a chain of symlinks", func(layout) []tarEntry {
			return []tarEntry{
				symlinkEntry("a", "b"),
				symlinkEntry("b", "../outside"),
				regEntry("a/x", 0o644, "x"),
			}
		}},
		{"directory through a symlink", func(l layout) []tarEntry {
			return []tarEntry{symlinkEntry("l", l.outside), dirEntry("l/newdir/", 0o755)}
		}},
		{"symlink through a symlink", func(l layout) []tarEntry {
			return []tarEntry{symlinkEntry("l", l.outside), symlinkEntry("l/s", "/")}
		}},
		{"device through a symlink", func(layout) []tarEntry {
			return []tarEntry{
				symlinkEntry("l", "../outside"),
				{hdr: tar.Header{Typeflag: tar.TypeChar, Name: "l/null", Mode: 0o666, Devmajor: 1, Devminor: 3}},
			}
		}},
		{"hard link to ../../etc/passwd", func(layout) []tarEntry {
			return []tarEntry{hardlinkEntry("h", "../../etc/passwd")}
		}},
		{"hard link to ../outside/secret", func(layout) []tarEntry {
			return []tarEntry{hardlinkEntry("h", "../outside/secret")}
		}},
		{"hard link through an absolute symlink", func(l layout) []tarEntry {
			return []tarEntry{symlinkEntry("l", l.outside), hardlinkEntry("h", "l/secret")}
		}},
		{"hard link through a relative symlink", func(layout) []tarEntry {
			return []tarEntry{symlinkEntry("l", "../outside"), hardlinkEntry("h", "l/secret")}
		}},
		{"whiteout through a symlink", func(l layout) []tarEntry {
			return []tarEntry{symlinkEntry("l", l.outside), regEntry("l/.wh.secret", 0o644, "")}
		}},
		{"opaque directory through a symlink", func(l layout) []tarEntry {
			return []tarEntry{symlinkEntry("l", l.outside), regEntry("l/.wh..wh..opq", 0o644, "")}
		}},
		{"replacing the file a symlink names", func(l layout) []tarEntry {
			return []tarEntry{symlinkEntry("l", l.outside), regEntry("l/secret", 0o644, "owned")}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			parent := t.TempDir()
			l := layout{parent: parent, outside: filepath.Join(parent, "outside")}
			dir := filepath.Join(parent, "layer")
			for _, d := range []string{dir, l.outside} {
				if err := os.Mkdir(d, 0o755); err != nil {
					t.Fatal(err)
				}
			}
			secret := filepath.Join(l.outside, "secret")
			if err := os.WriteFile(secret, []byte("secret"), 0o600); err != nil {
				t.Fatal(err)
			}
			entries := tt.entries(l)

			_, err := Unpack(t.Context(), bytes.NewReader(layerTar(t, entries...)), dir)
			if err == nil {
				t.Fatal("Unpack = nil error; want one")
			}
			if last := fmt.Sprintf("unpacking %q", entries[len(entries)-1].hdr.Name); !strings.Contains(err.Error(), last) {
				t.Errorf("Unpack error %q does not say %s", err, last)
			}

			if got := dirNames(t, parent); !slices.Equal(got, []string{"layer", "outside"}) {
				t.Errorf("outside the layer, %s holds %q; want [layer outside]", parent, got)
			}
			if got := dirNames(t, l.outside); !slices.Equal(got, []string{"secret"}) {
				t.Errorf("outside the layer, %s holds %q; want [secret]", l.outside, got)
			}
			var st unix.Stat_t
			if err := unix.Lstat(secret, &st); err != nil {
				t.Fatal(err)
			}
			if st.Mode&unix.S_IFMT != unix.S_IFREG || st.Nlink != 1 {
				t.Errorf("secret: mode %o with %d links; want a regular file with 1 link", st.Mode, st.Nlink)
			}
			if b, err := os.ReadFile(secret); err != nil || string(b) != "secret" {
				t.Errorf("ReadFile(secret) = %q, %v; want \"secret\"", b, err)
			}
			if got := getXattr(t, l.outside, "trusted.overlay.opaque"); got != "" {
				t.Errorf("outside: trusted.overlay.opaque = %q; want none", got)
			}
		})
	}
}

func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

// TestUnpackOverlay mounts two unpacked layers with overlayfs and checks that
// the upper one's whiteouts hide what they should.
func TestUnpackOverlay(t *testing.T) {
	requireRoot(t)
	lower, upper, target := t.TempDir(), t.TempDir(), t.TempDir()
	unpackEntries(t, lower,
		regEntry("a", 0o644, "a"),
		dirEntry("d/", 0o755),
		regEntry("d/b", 0o644, "b"),
		regEntry("kept", 0o644, "kept"),
	)
	unpackEntries(t, upper,
		regEntry(".wh.a", 0o644, ""),
		regEntry("d/.wh..wh..opq", 0o644, ""),
		regEntry("d/c", 0o644, "c"),
	)
	if err := unix.Mount("overlay", target, "overlay", unix.MS_RDONLY, "lowerdir="+upper+":"+lower); err != nil {
		t.Fatalf("mounting overlay: %v", err)
	}
	t.Cleanup(func() {
		if err := unix.Unmount(target, unix.MNT_DETACH); err != nil {
			t.Errorf("unmounting %s: %v", target, err)
		}
	})

	if got := dirNames(t, target); !slices.Equal(got, []string{"d", "kept"}) {
		t.Errorf("the overlay's root holds %q; want [d kept]", got)
	}
	if got := dirNames(t, filepath.Join(target, "d")); !slices.Equal(got, []string{"c"}) {
		t.Errorf("the overlay's d holds %q; want [c]", got)
	}
}

func TestUnpackCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	dir := t.TempDir()
	_, err := Unpack(ctx, bytes.NewReader(layerTar(t, regEntry("a", 0o644, "a"))), dir)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Unpack with a cancelled context = %v; want context.Canceled", err)
	}
	if got := dirNames(t, dir); len(got) != 0 {
		t.Errorf("after a cancelled Unpack, dir holds %q; want nothing", got)
	}
}

// TestUnpackCancelledWhileReading cancels while a big entry is read: Unpack
// stops reading there rather than at the next entry.
func TestUnpackCancelledWhileReading(t *testing.T) {
	requireRoot(t)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	layer := layerTar(t, regEntry("big", 0o644, strings.Repeat("x", 8<<20)), regEntry("after", 0o644, ""))
	r := &cancellingReader{r: bytes.NewReader(layer), after: 1 << 20, cancel: cancel}
	_, err := Unpack(ctx, r, t.TempDir())
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Unpack cancelled while reading = %v; want context.Canceled", err)
	}
	if r.read > 2<<20 {
		t.Errorf("Unpack read %d bytes after being cancelled at %d; want it to stop there", r.read, r.after)
	}
}

// cancellingReader calls cancel once it has served after bytes.
type cancellingReader struct {
	r      *bytes.Reader
	read   int
	after  int
	cancel func()
}

func (c *cancellingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p[:min(len(p), 64<<10)])
	c.read += n
	if c.read >= c.after {
		c.cancel()
	}
	return n, err
}

func TestUnpackRefuses(t *testing.T) {
	requireRoot(t)
	tests := []struct {
		name    string
		entries []tarEntry
		want    string
	}{
		{"root not a directory", []tarEntry{regEntry(".", 0o644, "")}, `unpacking "."`},
		{"whiteout of ..", []tarEntry{regEntry("a/.wh...", 0o644, "")}, `unpacking "a/.wh..."`},
		{"hard link to a missing entry", []tarEntry{hardlinkEntry("h", "nothing")}, `unpacking "h"`},
		{"unsupported type", []tarEntry{{hdr: tar.Header{Typeflag: 'V', Name: "volume"}}}, `unpacking "volume"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Unpack(t.Context(), bytes.NewReader(layerTar(t, tt.entries...)), t.TempDir())
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Unpack = %v; want an error saying %s", err, tt.want)
			}
		})
	}

	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "x"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Unpack(t.Context(), bytes.NewReader(layerTar(t)), dir); err == nil {
		t.Error("Unpack into a directory that is not empty = nil error; want one")
	}
}

func BenchmarkUnpack(b *testing.B) {
	if os.Geteuid() != 0 {
		b.Skip("needs root")
	}
	var entries []tarEntry
	for d := range 20 {
		entries = append(entries, dirEntry(fmt.Sprintf("usr/lib/d%d/", d), 0o755))
		for f := range 50 {
			entries = append(entries, regEntry(fmt.Sprintf("usr/lib/d%d/f%d", d, f), 0o644, strings.Repeat("x", 1000)))
		}
	}
	layer := layerTar(b, entries...)
	b.SetBytes(int64(len(layer)))
	for b.Loop() {
		b.StopTimer()
		dir := b.TempDir()
		b.StartTimer()
		if _, err := Unpack(b.Context(), bytes.NewReader(layer), dir); err != nil {
			b.Fatal(err)
		}
	}
}

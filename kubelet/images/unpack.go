package images

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"slices"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// Whiteout names of the OCI image layer format.
const (
	whiteoutPrefix = ".wh."
	// whiteoutMetaPrefix starts names aufs kept for itself (".wh..wh.plnk");
	// only the opaque marker among them means something to overlayfs.
	whiteoutMetaPrefix = ".wh..wh."
	whiteoutOpaque     = ".wh..wh..opq"

	overlayOpaqueXattr = "trusted.overlay.opaque"
	paxXattrPrefix     = "SCHILY.xattr."
)

// Unpack extracts the uncompressed layer tar read from r into dir, which must
// exist and be empty, the way overlayfs expects a lower layer, and returns the
// sha256 digest of the bytes it read ("sha256:<hex>", the layer's diffID).
// It reads r to its end, past the tar's end-of-archive blocks, so the digest
// covers the whole input.
//
// Guarantees:
//   - Nothing is written outside dir: every file operation goes through an
//     os.Root on dir, which refuses a name that leaves it by "..", and a path
//     through a symbolic link that leaves it (absolute links included). Names
//     are cleaned and made relative ("/a/../../b" is "b"); a name still
//     starting with ".." is refused. The symbolic links a layer holds are
//     created as they are: they are only followed while unpacking it, and
//     then only inside dir.
//   - Whiteouts become overlayfs's: "D/.wh.N" a character device 0:0 "D/N",
//     "D/.wh..wh..opq" the xattr trusted.overlay.opaque=y on D. Other
//     ".wh..wh." names (aufs's own) are skipped.
//   - Entries keep their mode (setuid, setgid and sticky bits too; not for
//     symbolic links), owner, access and modification times (directories' as
//     their entries say, also when children follow), and the xattrs of their
//     PAX records "SCHILY.xattr.*" (not on symbolic links). Hard links take
//     the metadata of the entry they link to. Directories made for an entry
//     without their own entry are 0755 and owned by root.
//   - A later entry of a name replaces the earlier one, except that a
//     directory over a directory only updates its metadata. An entry named
//     "." sets dir's own metadata.
//
// Unpack needs the privileges of root on Linux: owners, devices and trusted
// xattrs. On error (one names the entry: `unpacking "a/b": ...`), also when
// ctx ends, dir holds part of the layer; the caller removes it.
func Unpack(ctx context.Context, r io.Reader, dir string) (diffID string, err error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return "", fmt.Errorf("unpacking layer: %w", err)
	}
	defer root.Close()
	if err := checkEmptyRoot(root); err != nil {
		return "", fmt.Errorf("unpacking layer into %s: %w", dir, err)
	}

	digest := sha256.New()
	in := io.TeeReader(cancelReader{ctx: ctx, r: r}, digest)
	u := &unpacker{root: root, dirTimes: make(map[string]entryTimes)}
	tr := tar.NewReader(in)
	for {
		if err := ctx.Err(); err != nil {
			return "", fmt.Errorf("unpacking layer into %s: %w", dir, err)
		}
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		// With GODEBUG=tarinsecurepath=0 Next flags names like "../x"; they
		// are judged below like any other.
		if err != nil && !(errors.Is(err, tar.ErrInsecurePath) && hdr != nil) {
			return "", fmt.Errorf("unpacking layer into %s: reading the tar: %w", dir, err)
		}
		if err := u.entry(hdr, tr); err != nil {
			return "", fmt.Errorf("unpacking %q: %w", hdr.Name, err)
		}
	}
	if err := u.setDirTimes(); err != nil {
		return "", err
	}
	if _, err := io.Copy(io.Discard, in); err != nil {
		return "", fmt.Errorf("unpacking layer into %s: reading past the tar's end: %w", dir, err)
	}
	return "sha256:" + hex.EncodeToString(digest.Sum(nil)), nil
}

// unpacker is the state of one Unpack.
type unpacker struct {
	root *os.Root
	// dirTimes are the times of the directory entries unpacked so far, set
	// last because creating a child changes its directory's times.
	dirTimes map[string]entryTimes
}

type entryTimes struct{ atime, mtime time.Time }

// entry unpacks one tar entry.
func (u *unpacker) entry(hdr *tar.Header, tr io.Reader) error {
	switch hdr.Typeflag {
	case tar.TypeXGlobalHeader, tar.TypeXHeader:
		return nil
	}
	name, ok := cleanEntryName(hdr.Name)
	if !ok {
		return errors.New("the name leaves the layer's root")
	}

	if name != "." {
		dir, base := path.Dir(name), path.Base(name)
		switch {
		case base == whiteoutOpaque:
			return u.opaque(dir)
		case strings.HasPrefix(base, whiteoutMetaPrefix):
			return nil
		case strings.HasPrefix(base, whiteoutPrefix):
			return u.whiteout(dir, strings.TrimPrefix(base, whiteoutPrefix))
		}
	}

	if name == "." {
		if hdr.Typeflag != tar.TypeDir {
			return fmt.Errorf("the layer's root is a %s entry, not a directory", typeName(hdr.Typeflag))
		}
		return u.setMeta(".", hdr)
	}

	switch hdr.Typeflag {
	case tar.TypeDir:
		existing, err := u.prepare(name, true)
		if err != nil {
			return err
		}
		if !existing {
			if err := u.root.Mkdir(name, 0o700); err != nil {
				return err
			}
		}
	case tar.TypeReg, tar.TypeRegA, tar.TypeCont, tar.TypeGNUSparse:
		// archive/tar turns TypeRegA into TypeReg and reads sparse files
		// expanded; POSIX says TypeCont is to be read as a regular file.
		if _, err := u.prepare(name, false); err != nil {
			return err
		}
		if err := u.writeFile(name, tr); err != nil {
			return err
		}
	case tar.TypeSymlink:
		if _, err := u.prepare(name, false); err != nil {
			return err
		}
		if err := u.root.Symlink(hdr.Linkname, name); err != nil {
			return err
		}
	case tar.TypeLink:
		target, ok := cleanEntryName(hdr.Linkname)
		if !ok {
			return fmt.Errorf("hard link target %q leaves the layer's root", hdr.Linkname)
		}
		if target == "." {
			return errors.New("hard link to the layer's root")
		}
		if _, err := u.prepare(name, false); err != nil {
			return err
		}
		// The link shares its target's inode, and so its metadata: the
		// target's entry set it.
		return u.root.Link(target, name)
	case tar.TypeChar, tar.TypeBlock, tar.TypeFifo:
		if _, err := u.prepare(name, false); err != nil {
			return err
		}
		mode := uint32(unix.S_IFIFO)
		switch hdr.Typeflag {
		case tar.TypeChar:
			mode = unix.S_IFCHR
		case tar.TypeBlock:
			mode = unix.S_IFBLK
		}
		dev := unix.Mkdev(uint32(hdr.Devmajor), uint32(hdr.Devminor))
		if err := u.mknod(name, mode|uint32(hdr.Mode&0o777), dev); err != nil {
			return err
		}
	default:
		return fmt.Errorf("unsupported entry type %s", typeName(hdr.Typeflag))
	}
	return u.setMeta(name, hdr)
}

// cleanEntryName is a tar name made relative to the layer's root ("." for
// the root itself); not ok if it leaves the root.
func cleanEntryName(name string) (clean string, ok bool) {
	clean = strings.TrimLeft(path.Clean(name), "/")
	if clean == "" {
		clean = "."
	}
	if clean == ".." || strings.HasPrefix(clean, "../") {
		return "", false
	}
	return clean, true
}

// prepare makes name's parent directories and clears the way for a new
// entry of name: it removes what is there, unless keepDir and it is a
// directory, which it then reports.
func (u *unpacker) prepare(name string, keepDir bool) (existingDir bool, err error) {
	if err := u.ensureDir(path.Dir(name)); err != nil {
		return false, err
	}
	fi, err := u.root.Lstat(name)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if fi.IsDir() {
		if keepDir {
			return true, nil
		}
		if err := u.root.RemoveAll(name); err != nil {
			return false, err
		}
		u.forgetDirTimes(name)
		return false, nil
	}
	return false, u.root.Remove(name)
}

// ensureDir makes dir and its missing parents, 0755 and owned by root
// whatever the umask. It follows symbolic links that stay inside the root.
func (u *unpacker) ensureDir(dir string) error {
	if dir == "." {
		return nil
	}
	fi, err := u.root.Stat(dir)
	if err == nil {
		if !fi.IsDir() {
			return fmt.Errorf("%s is not a directory", dir)
		}
		return nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if err := u.ensureDir(path.Dir(dir)); err != nil {
		return err
	}
	if err := u.root.Mkdir(dir, 0o755); err != nil {
		return err
	}
	return u.root.Chmod(dir, 0o755)
}

// forgetDirTimes drops the times to set of dir and the directories under it,
// which are gone.
func (u *unpacker) forgetDirTimes(dir string) {
	for name := range u.dirTimes {
		if name == dir || strings.HasPrefix(name, dir+"/") {
			delete(u.dirTimes, name)
		}
	}
}

func (u *unpacker) writeFile(name string, data io.Reader) error {
	f, err := u.root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	_, err = io.Copy(f, data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// whiteout hides name of the layers below in dir: overlayfs's whiteout is a
// character device 0:0.
func (u *unpacker) whiteout(dir, name string) error {
	if name == "" || name == "." || name == ".." || strings.Contains(name, "/") {
		return fmt.Errorf("whiteout of an invalid name %q", name)
	}
	target := path.Join(dir, name)
	if _, err := u.prepare(target, false); err != nil {
		return err
	}
	return u.mknod(target, unix.S_IFCHR, unix.Mkdev(0, 0))
}

// opaque hides what the layers below hold in dir, making dir if missing.
func (u *unpacker) opaque(dir string) error {
	if err := u.ensureDir(dir); err != nil {
		return err
	}
	return u.withFile(dir, os.O_RDONLY|unix.O_DIRECTORY, func(fd int) error {
		return unix.Fsetxattr(fd, overlayOpaqueXattr, []byte("y"), 0)
	})
}

func (u *unpacker) mknod(name string, mode uint32, dev uint64) error {
	return u.inParent(name, func(dirfd int, base string) error {
		return unix.Mknodat(dirfd, base, mode, int(dev))
	})
}

// setMeta gives name the owner, mode, xattrs and times of its entry; a
// directory's times wait for setDirTimes.
func (u *unpacker) setMeta(name string, hdr *tar.Header) error {
	// Owner first: chown clears the setuid and setgid bits and the
	// security.capability xattr.
	if err := u.root.Lchown(name, hdr.Uid, hdr.Gid); err != nil {
		return err
	}
	symlink := hdr.Typeflag == tar.TypeSymlink
	if !symlink {
		mode := hdr.FileInfo().Mode() & (fs.ModePerm | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky)
		if err := u.root.Chmod(name, mode); err != nil {
			return err
		}
		if err := u.setXattrs(name, hdr); err != nil {
			return err
		}
	}

	t := entryTimes{atime: hdr.AccessTime, mtime: hdr.ModTime}
	if t.atime.IsZero() {
		t.atime = t.mtime
	}
	switch {
	case hdr.Typeflag == tar.TypeDir:
		u.dirTimes[name] = t
		return nil
	case symlink:
		ts := []unix.Timespec{timespec(t.atime), timespec(t.mtime)}
		return u.inParent(name, func(dirfd int, base string) error {
			return unix.UtimesNanoAt(dirfd, base, ts, unix.AT_SYMLINK_NOFOLLOW)
		})
	default:
		return u.root.Chtimes(name, t.atime, t.mtime)
	}
}

func timespec(t time.Time) unix.Timespec {
	return unix.Timespec{Sec: t.Unix(), Nsec: int64(t.Nanosecond())}
}

// setXattrs sets the xattrs of hdr's PAX records on name, not a symlink.
func (u *unpacker) setXattrs(name string, hdr *tar.Header) error {
	var keys []string
	for k := range hdr.PAXRecords {
		if strings.HasPrefix(k, paxXattrPrefix) {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		return nil
	}
	slices.Sort(keys)
	set := func(fd int) error {
		for _, k := range keys {
			attr := strings.TrimPrefix(k, paxXattrPrefix)
			if err := unix.Fsetxattr(fd, attr, []byte(hdr.PAXRecords[k]), 0); err != nil {
				return fmt.Errorf("setting xattr %s: %w", attr, err)
			}
		}
		return nil
	}
	switch hdr.Typeflag {
	case tar.TypeDir:
		return u.withFile(name, os.O_RDONLY|unix.O_DIRECTORY, set)
	case tar.TypeChar, tar.TypeBlock, tar.TypeFifo:
		// Opening a device or a fifo for reading would call its driver or
		// wait for a writer; an O_PATH descriptor does neither, but cannot
		// take fsetxattr: setxattr follows its /proc link to the inode.
		return u.withFile(name, unix.O_PATH, func(fd int) error {
			p := fmt.Sprintf("/proc/self/fd/%d", fd)
			for _, k := range keys {
				attr := strings.TrimPrefix(k, paxXattrPrefix)
				if err := unix.Setxattr(p, attr, []byte(hdr.PAXRecords[k]), 0); err != nil {
					return fmt.Errorf("setting xattr %s: %w", attr, err)
				}
			}
			return nil
		})
	default:
		return u.withFile(name, os.O_RDONLY, set)
	}
}

// setDirTimes sets the times of the directory entries, deepest first so that
// setting one does not change its parent's afterwards.
func (u *unpacker) setDirTimes() error {
	names := make([]string, 0, len(u.dirTimes))
	for name := range u.dirTimes {
		names = append(names, name)
	}
	depth := func(name string) int {
		if name == "." {
			return -1
		}
		return strings.Count(name, "/")
	}
	slices.SortFunc(names, func(a, b string) int { return depth(b) - depth(a) })
	for _, name := range names {
		t := u.dirTimes[name]
		if err := u.root.Chtimes(name, t.atime, t.mtime); err != nil {
			return fmt.Errorf("unpacking %q: %w", name, err)
		}
	}
	return nil
}

// withFile calls f with a descriptor of name opened through the root.
func (u *unpacker) withFile(name string, flag int, f func(fd int) error) error {
	file, err := u.root.OpenFile(name, flag, 0)
	if err != nil {
		return err
	}
	defer file.Close()
	rc, err := file.SyscallConn()
	if err != nil {
		return err
	}
	var ferr error
	if err := rc.Control(func(fd uintptr) { ferr = f(int(fd)) }); err != nil {
		return err
	}
	return ferr
}

// inParent calls f with a descriptor of name's parent directory, opened
// through the root, and name's last element, for the *at system calls that
// os.Root has no method for.
func (u *unpacker) inParent(name string, f func(dirfd int, base string) error) error {
	base := path.Base(name)
	return u.withFile(path.Dir(name), os.O_RDONLY|unix.O_DIRECTORY, func(fd int) error {
		return f(fd, base)
	})
}

// checkEmptyRoot fails unless root's directory is empty.
func checkEmptyRoot(root *os.Root) error {
	f, err := root.Open(".")
	if err != nil {
		return err
	}
	defer f.Close()
	names, err := f.Readdirnames(1)
	if err != nil && err != io.EOF {
		return err
	}
	if len(names) > 0 {
		return errors.New("the directory is not empty")
	}
	return nil
}

func typeName(flag byte) string {
	switch flag {
	case tar.TypeReg:
		return "regular file"
	case tar.TypeLink:
		return "hard link"
	case tar.TypeSymlink:
		return "symbolic link"
	case tar.TypeChar:
		return "character device"
	case tar.TypeBlock:
		return "block device"
	case tar.TypeDir:
		return "directory"
	case tar.TypeFifo:
		return "fifo"
	}
	return fmt.Sprintf("type %q", flag)
}

// cancelReader stops reading once ctx ends, so that a long entry does not
// hold up a cancelled Unpack.
type cancelReader struct {
	ctx context.Context
	r   io.Reader
}

func (c cancelReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

//go:build linux

package staticpods

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// watcher reports, through inotify, changes to the entries of a manifest
// directory (or to the one manifest file, watched through its directory so
// that an editor's rename-over is seen).
type watcher struct {
	f    *os.File
	done chan error
}

// The events that may change what a read finds. A regular file's creation is
// left to its close: reading it at creation would find it empty or half
// written.
const watchMask = unix.IN_CREATE | unix.IN_CLOSE_WRITE | unix.IN_DELETE | unix.IN_MOVED_FROM | unix.IN_MOVED_TO |
	unix.IN_ATTRIB | unix.IN_DELETE_SELF | unix.IN_MOVE_SELF

// startWatch watches path and calls notify (which must not block) on every
// change to what Read would find there, until the watcher is closed or fails
// (Done then delivers why).
func startWatch(path string, notify func()) (*watcher, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	dir, only := path, ""
	if !info.IsDir() {
		dir, only = filepath.Dir(path), filepath.Base(path)
	}
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	if err != nil {
		return nil, fmt.Errorf("inotify: %w", err)
	}
	if _, err := unix.InotifyAddWatch(fd, dir, watchMask); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("inotify watch of %s: %w", dir, err)
	}
	// A non-blocking descriptor gives a File whose Read waits in the runtime's
	// poller, and whose Close ends that Read.
	w := &watcher{f: os.NewFile(uintptr(fd), "inotify:"+dir), done: make(chan error, 1)}
	go w.loop(dir, only, notify)
	return w, nil
}

func (w *watcher) Close()             { w.f.Close() }
func (w *watcher) Done() <-chan error { return w.done }

func (w *watcher) loop(dir, only string, notify func()) {
	buf := make([]byte, 64*(unix.SizeofInotifyEvent+unix.NAME_MAX+1))
	for {
		n, err := w.f.Read(buf)
		if err != nil {
			w.done <- err
			return
		}
		for off := 0; off+unix.SizeofInotifyEvent <= n; {
			mask := binary.NativeEndian.Uint32(buf[off+4:])
			size := int(binary.NativeEndian.Uint32(buf[off+12:]))
			name := strings.TrimRight(string(buf[off+unix.SizeofInotifyEvent:min(n, off+unix.SizeofInotifyEvent+size)]), "\x00")
			off += unix.SizeofInotifyEvent + size
			switch {
			case mask&(unix.IN_IGNORED|unix.IN_DELETE_SELF|unix.IN_MOVE_SELF|unix.IN_UNMOUNT) != 0:
				notify()
				w.done <- errors.New("the watched directory went away")
				return
			case mask&unix.IN_Q_OVERFLOW != 0:
				notify()
			case name == "" || strings.HasPrefix(name, "."), only != "" && name != only:
			case mask&unix.IN_CREATE != 0:
				if info, err := os.Lstat(filepath.Join(dir, name)); err != nil || !info.Mode().IsRegular() {
					notify() // a symlink or directory: nothing more will come
				}
			default:
				notify()
			}
		}
	}
}

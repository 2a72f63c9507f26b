package volumes

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// File is one file of a volume that shows API data: its content and mode.
type File struct {
	Data []byte
	Mode os.FileMode
}

const (
	dataDirName    = "..data"
	newDataDirName = "..data_tmp"
)

// writeAtomic makes dir show exactly payload (paths relative to dir), the
// way upstream's AtomicWriter does, so that a reader never sees half of an
// update: the files are written to a new hidden directory
// ..<timestamp>, the symlink ..data is switched to it by a rename, and
// each top-level name of the payload is a symlink through ..data. The old
// directory and the names no longer in the payload are removed. A payload
// equal to what dir shows changes nothing. It reports whether dir changed.
func writeAtomic(dir string, payload map[string]File, now time.Time) (bool, error) {
	for p := range payload {
		if err := validatePath(p); err != nil {
			return false, err
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return false, err
	}
	oldTS, _ := os.Readlink(filepath.Join(dir, dataDirName))
	if oldTS != "" {
		same, err := sameFiles(filepath.Join(dir, oldTS), payload)
		if err != nil {
			return false, err
		}
		if same {
			return false, nil
		}
	}
	tsDir, err := os.MkdirTemp(dir, now.UTC().Format("..2006_01_02_15_04_05."))
	if err != nil {
		return false, err
	}
	// MkdirTemp makes it 0700; readers in the container need to enter it.
	if err := os.Chmod(tsDir, 0o755); err != nil {
		return false, err
	}
	for p, f := range payload {
		full := filepath.Join(tsDir, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			return false, err
		}
		if err := os.WriteFile(full, f.Data, f.Mode); err != nil {
			return false, err
		}
		// WriteFile's mode passes through the umask.
		if err := os.Chmod(full, f.Mode); err != nil {
			return false, err
		}
	}
	tmpLink := filepath.Join(dir, newDataDirName)
	_ = os.Remove(tmpLink)
	if err := os.Symlink(filepath.Base(tsDir), tmpLink); err != nil {
		return false, err
	}
	if err := os.Rename(tmpLink, filepath.Join(dir, dataDirName)); err != nil {
		return false, err
	}
	top := map[string]bool{}
	for p := range payload {
		top[strings.SplitN(p, "/", 2)[0]] = true
	}
	for name := range top {
		link := filepath.Join(dir, name)
		if target, err := os.Readlink(link); err == nil && target == filepath.Join(dataDirName, name) {
			continue
		}
		if err := os.Symlink(filepath.Join(dataDirName, name), link); err != nil {
			return false, err
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return false, err
	}
	for _, e := range entries {
		name := e.Name()
		switch {
		case name == dataDirName || name == filepath.Base(tsDir):
		case strings.HasPrefix(name, ".."):
			if err := os.RemoveAll(filepath.Join(dir, name)); err != nil {
				return false, err
			}
		case !top[name] && e.Type()&fs.ModeSymlink != 0:
			if err := os.Remove(filepath.Join(dir, name)); err != nil {
				return false, err
			}
		}
	}
	return true, nil
}

// sameFiles reports whether dir holds exactly payload.
func sameFiles(dir string, payload map[string]File) (bool, error) {
	var found []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		rel, _ := filepath.Rel(dir, p)
		found = append(found, rel)
		return nil
	})
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if len(found) != len(payload) {
		return false, nil
	}
	sort.Strings(found)
	for _, rel := range found {
		f, ok := payload[rel]
		if !ok {
			return false, nil
		}
		full := filepath.Join(dir, rel)
		info, err := os.Lstat(full)
		if err != nil {
			return false, err
		}
		if info.Mode().Perm() != f.Mode.Perm() {
			return false, nil
		}
		data, err := os.ReadFile(full)
		if err != nil {
			return false, err
		}
		if !bytes.Equal(data, f.Data) {
			return false, nil
		}
	}
	return true, nil
}

// validatePath refuses what upstream's AtomicWriter refuses: absolute
// paths, .. elements, and names starting with "..".
func validatePath(p string) error {
	switch {
	case p == "":
		return errors.New("invalid path: must not be empty")
	case filepath.IsAbs(p):
		return fmt.Errorf("invalid path: must be relative path: %s", p)
	case strings.HasPrefix(p, ".."):
		return fmt.Errorf("invalid path: must not start with '..': %s", p)
	}
	for _, part := range strings.Split(p, "/") {
		if part == ".." {
			return fmt.Errorf("invalid path: must not contain '..': %s", p)
		}
	}
	return nil
}

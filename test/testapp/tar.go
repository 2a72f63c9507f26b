package main

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// tar is the part of tar(1) `kubectl cp` uses: `tar cf - PATH...` to copy
// out of a container and `tar -xmf - [-C DIR]` (or xf) to copy in.
func (a *app) tar(args []string) error {
	if len(args) < 2 {
		return errors.New("usage: tar cf - PATH... | tar -xmf - [-C DIR]")
	}
	mode := strings.TrimPrefix(args[0], "-")
	if args[1] != "-" || !strings.HasSuffix(mode, "f") {
		return fmt.Errorf("only the archive - (stdin or stdout) is supported, not %q", strings.Join(args[:2], " "))
	}
	switch strings.TrimSuffix(strings.ReplaceAll(mode, "m", ""), "f") {
	case "c":
		if len(args) < 3 {
			return errors.New("tar c: no paths given")
		}
		return a.tarCreate(args[2:])
	case "x":
		dir := "."
		rest := args[2:]
		if len(rest) == 2 && rest[0] == "-C" {
			dir, rest = rest[1], nil
		}
		if len(rest) > 0 {
			return fmt.Errorf("tar x: unexpected arguments %q", rest)
		}
		return a.tarExtract(dir)
	}
	return fmt.Errorf("tar: mode %q is not supported (c or x)", args[0])
}

// tarCreate writes the paths, walked, to stdout. Names are the paths as
// given, without a leading "/", as tar(1) writes them.
func (a *app) tarCreate(paths []string) error {
	tw := tar.NewWriter(a.stdout)
	for _, p := range paths {
		err := filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			info, err := d.Info()
			if err != nil {
				return err
			}
			link := ""
			if info.Mode()&fs.ModeSymlink != 0 {
				if link, err = os.Readlink(path); err != nil {
					return err
				}
			}
			hdr, err := tar.FileInfoHeader(info, link)
			if err != nil {
				return err
			}
			hdr.Name = strings.TrimPrefix(filepath.ToSlash(path), "/")
			if d.IsDir() {
				hdr.Name += "/"
			}
			if err := tw.WriteHeader(hdr); err != nil {
				return err
			}
			if info.Mode().IsRegular() {
				f, err := os.Open(path)
				if err != nil {
					return err
				}
				defer f.Close()
				if _, err := io.Copy(tw, f); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return tw.Close()
}

// tarExtract extracts stdin's archive into dir; names that would leave dir
// are refused.
func (a *app) tarExtract(dir string) error {
	tr := tar.NewReader(a.stdin)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		name := filepath.Clean(hdr.Name)
		if filepath.IsAbs(name) || name == ".." || strings.HasPrefix(name, "../") {
			return fmt.Errorf("%s: a path out of the destination", hdr.Name)
		}
		target := filepath.Join(dir, name)
		switch hdr.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(target, fs.FileMode(hdr.Mode)&fs.ModePerm|0o700); err != nil {
				return err
			}
		case tar.TypeReg:
			if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
				return err
			}
			f, err := os.OpenFile(target, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, fs.FileMode(hdr.Mode)&fs.ModePerm)
			if err != nil {
				return err
			}
			_, err = io.Copy(f, tr)
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return err
			}
		case tar.TypeSymlink:
			if err := os.Symlink(hdr.Linkname, target); err != nil {
				return err
			}
		default:
			return fmt.Errorf("%s: entry type %q is not supported", hdr.Name, hdr.Typeflag)
		}
	}
}

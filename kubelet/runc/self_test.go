package runc

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSealableSelf: a binary whose directory holds the runtime's root is run
// through a hard link in root/bin, so that libcontainer can seal it with an
// overlay instead of copying it for every container; any other is run as is.
func TestSealableSelf(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "tend")
	if err := os.WriteFile(bin, []byte("#!/bin/true\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	elsewhere := t.TempDir()
	if got, err := sealableSelf(bin, elsewhere); err != nil || got != bin {
		t.Errorf("sealableSelf(%s, %s) = %s, %v; want the binary itself", bin, elsewhere, got, err)
	}
	root := filepath.Join(dir, "data", "runtime")
	if err := os.MkdirAll(root, 0o700); err != nil {
		t.Fatal(err)
	}
	want := filepath.Join(root, "bin", "tend")
	for range 2 { // the second time finds the link in place
		got, err := sealableSelf(bin, root)
		if err != nil || got != want {
			t.Fatalf("sealableSelf(%s, %s) = %s, %v; want %s", bin, root, got, err, want)
		}
		a, _ := os.Stat(bin)
		b, err := os.Stat(got)
		if err != nil || !os.SameFile(a, b) {
			t.Errorf("%s is not a hard link of %s (%v)", got, bin, err)
		}
	}
	// A new binary in place of the old one is linked again.
	if err := os.Remove(bin); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, []byte("#!/bin/false\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	got, err := sealableSelf(bin, root)
	a, _ := os.Stat(bin)
	b, _ := os.Stat(got)
	if err != nil || !os.SameFile(a, b) {
		t.Errorf("after the binary changed, sealableSelf = %s, %v; want a link of the new one", got, err)
	}
}

// TestInstallShim: the carried shim binary is written once, kept while it
// is the same, and replaced by a new file (running shims keep the old one)
// when it changes.
func TestInstallShim(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "bin")
	path, err := installShim([]byte("one"), dir)
	if err != nil || path != filepath.Join(dir, "tend-shim") {
		t.Fatalf("installShim = %s, %v; want %s/tend-shim", path, err, dir)
	}
	first, _ := os.Stat(path)
	if _, err := installShim([]byte("one"), dir); err != nil {
		t.Fatal(err)
	}
	same, _ := os.Stat(path)
	if !os.SameFile(first, same) {
		t.Error("the same binary was written again")
	}
	if _, err := installShim([]byte("two"), dir); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(path); string(b) != "two" {
		t.Errorf("after a change %s holds %q; want %q", path, b, "two")
	}
	if now, _ := os.Stat(path); os.SameFile(first, now) || now.Mode().Perm() != 0o755 {
		t.Errorf("a changed binary must be a new executable file (mode %v)", now.Mode())
	}
}

// testInitLayer makes an init layer for a test's containers.
func testInitLayer(t *testing.T) string {
	t.Helper()
	dir, err := makeInitLayer(filepath.Join(t.TempDir(), "initlayer"))
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestInitLayer: the init layer holds every path of initLayerPaths, is
// made once, and is made again when it was left half made.
func TestInitLayer(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "initlayer")
	root, err := makeInitLayer(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range initLayerPaths {
		st, err := os.Stat(filepath.Join(root, p))
		if err != nil || st.IsDir() != strings.HasSuffix(p, "/") {
			t.Errorf("init layer %s: %v, %v; want it, a directory iff the name ends with /", p, st, err)
		}
	}
	marker := filepath.Join(root, "proc", "mine")
	if err := os.WriteFile(marker, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := makeInitLayer(dir); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(marker); err != nil {
		t.Error("a made init layer was made again")
	}
	if err := os.Remove(filepath.Join(dir, ".done")); err != nil {
		t.Fatal(err)
	}
	if _, err := makeInitLayer(dir); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(marker); !os.IsNotExist(err) {
		t.Error("a half-made init layer was kept")
	}
}

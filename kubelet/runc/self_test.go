package runc

import (
	"os"
	"path/filepath"
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

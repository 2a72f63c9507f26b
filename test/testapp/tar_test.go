package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// TestTarRoundTrip: what `tar cf - DIR` writes, `tar -xmf - -C DEST`
// extracts, as kubectl cp runs them.
func TestTarRoundTrip(t *testing.T) {
	src := t.TempDir()
	if err := os.MkdirAll(filepath.Join(src, "d/sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(src, "d/sub/f.txt"), []byte("content"), 0o640); err != nil {
		t.Fatal(err)
	}
	t.Chdir(src)
	var archive bytes.Buffer
	a := &app{stdout: &archive, stderr: os.Stderr}
	if err := a.tar([]string{"cf", "-", "d"}); err != nil {
		t.Fatal(err)
	}
	dest := t.TempDir()
	b := &app{stdin: &archive, stdout: os.Stdout, stderr: os.Stderr}
	if err := b.tar([]string{"-xmf", "-", "-C", dest}); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(dest, "d/sub/f.txt"))
	if err != nil || string(got) != "content" {
		t.Errorf("extracted d/sub/f.txt = %q, %v; want content", got, err)
	}
	if err := b.tar([]string{"zxf", "-"}); err == nil {
		t.Error("tar zxf = nil error; want the mode refused")
	}
}

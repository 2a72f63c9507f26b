package e2e

import (
	"archive/tar"
	"bytes"
	"io"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// TestImagesCommand: `tend images import` stores an archive's image in a
// node's data directory, `list` shows it pinned, `rm` removes it.
func TestImagesCommand(t *testing.T) {
	dir := t.TempDir()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	if err := tw.WriteHeader(&tar.Header{Name: "hello.txt", Mode: 0o644, Size: 6, Typeflag: tar.TypeReg}); err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(tw, "hello\n"); err != nil {
		t.Fatal(err)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(buf.Bytes())), nil })
	if err != nil {
		t.Fatal(err)
	}
	img, err := mutate.AppendLayers(empty.Image, layer)
	if err != nil {
		t.Fatal(err)
	}
	archive := filepath.Join(dir, "hello.tar")
	tag, _ := name.NewTag("example.local/hello:1")
	if err := tarball.WriteToFile(archive, tag, img); err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(dir, "node")
	run := func(args ...string) string {
		t.Helper()
		out, err := exec.Command(tendBinary, append(args, "--data-dir", data)...).CombinedOutput()
		if err != nil {
			t.Fatalf("tend %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	id, _ := img.ConfigName()
	short := id.Hex[:13]
	if out := run("images", "import", archive); !strings.Contains(out, "imported "+short+" example.local/hello:1") {
		t.Errorf("tend images import printed %q; want the ID %s and the name", out, short)
	}
	out := run("images", "list")
	if !strings.Contains(out, "example.local/hello") || !strings.Contains(out, short) || !strings.Contains(out, "true") {
		t.Errorf("tend images list = %q; want example.local/hello, %s, pinned", out, short)
	}
	run("images", "rm", "example.local/hello:1")
	if out := run("images", "list"); strings.Contains(out, "hello") {
		t.Errorf("tend images list after rm = %q; want it gone", out)
	}
	bad := exec.Command(tendBinary, "images", "import", filepath.Join(dir, "missing.tar"), "--data-dir", data)
	if out, err := bad.CombinedOutput(); err == nil || !strings.Contains(string(out), "missing.tar") {
		t.Errorf("tend images import of a missing file = %v, %q; want an error naming it", err, out)
	}
}

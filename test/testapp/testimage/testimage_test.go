package testimage

import (
	"archive/tar"
	"debug/elf"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

func digest(t *testing.T, img v1.Image) v1.Hash {
	t.Helper()
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// file is one entry of the image's layer.
type file struct {
	hdr  *tar.Header
	data []byte
}

// files reads the image's one layer.
func files(t *testing.T, img v1.Image) map[string]file {
	t.Helper()
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	if len(layers) != 1 {
		t.Fatalf("image has %d layers; want 1", len(layers))
	}
	rc, err := layers[0].Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	out := map[string]file{}
	tr := tar.NewReader(rc)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		out[hdr.Name] = file{hdr: hdr, data: data}
	}
}

func TestImageIsDeterministic(t *testing.T) {
	img := Image(t)
	if again := Image(t); digest(t, again) != digest(t, img) {
		t.Errorf("Image twice: digests %v and %v; want equal", digest(t, img), digest(t, again))
	}
	// Made afresh from a copy of the binary with another mtime: the same image.
	cp := filepath.Join(t.TempDir(), "testapp")
	b, err := os.ReadFile(Binary(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cp, b, 0o700); err != nil {
		t.Fatal(err)
	}
	fresh, err := imageFromFile(cp)
	if err != nil {
		t.Fatal(err)
	}
	if digest(t, fresh) != digest(t, img) {
		t.Errorf("image made again from a copy of the binary: digest %v; want %v", digest(t, fresh), digest(t, img))
	}
	// Nothing in it takes the time or the owner of this machine.
	for n, f := range files(t, img) {
		if !f.hdr.ModTime.Equal(epoch) || f.hdr.Uid != 0 || f.hdr.Gid != 0 || f.hdr.Uname != "" || f.hdr.Gname != "" {
			t.Errorf("%s: mtime %v, owner %d:%d (%q:%q); want %v, 0:0", n, f.hdr.ModTime, f.hdr.Uid, f.hdr.Gid, f.hdr.Uname, f.hdr.Gname, epoch)
		}
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if !cf.Created.Equal(epoch) {
		t.Errorf("config created %v; want %v", cf.Created, epoch)
	}
	for i, h := range cf.History {
		if !h.Created.Equal(epoch) {
			t.Errorf("history[%d] created %v; want %v", i, h.Created, epoch)
		}
	}
}

func TestImageContent(t *testing.T) {
	img := Image(t)
	got := files(t, img)
	bin, err := os.ReadFile(Binary(t))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		typ      byte
		mode     int64
		linkname string
		data     string // a substring
	}{
		{name: "testapp", typ: tar.TypeReg, mode: 0o755, data: string(bin)},
		{name: "bin/", typ: tar.TypeDir, mode: 0o755},
		{name: "bin/sh", typ: tar.TypeSymlink, mode: 0o777, linkname: "/testapp"},
		{name: "bin/tar", typ: tar.TypeSymlink, mode: 0o777, linkname: "/testapp"},
		{name: "etc/", typ: tar.TypeDir, mode: 0o755},
		{name: "etc/passwd", typ: tar.TypeReg, mode: 0o644, data: "root:x:0:0:"},
		{name: "etc/passwd", typ: tar.TypeReg, mode: 0o644, data: "\nnobody:x:65534:65534:"},
		{name: "etc/group", typ: tar.TypeReg, mode: 0o644, data: "root:x:0:"},
		{name: "etc/group", typ: tar.TypeReg, mode: 0o644, data: "\nnobody:x:65534:"},
		{name: "tmp/", typ: tar.TypeDir, mode: 0o1777},
	}
	for _, tt := range tests {
		f, ok := got[tt.name]
		if !ok {
			t.Errorf("image has no %s", tt.name)
			continue
		}
		if f.hdr.Typeflag != tt.typ || f.hdr.Mode != tt.mode || f.hdr.Linkname != tt.linkname {
			t.Errorf("%s: type %c mode %#o link %q; want type %c mode %#o link %q",
				tt.name, f.hdr.Typeflag, f.hdr.Mode, f.hdr.Linkname, tt.typ, tt.mode, tt.linkname)
		}
		if !strings.Contains(string(f.data), tt.data) {
			t.Errorf("%s: content %.80q; want it to contain %.80q", tt.name, f.data, tt.data)
		}
	}
	if _, ok := got["etc/hostname"]; ok {
		t.Errorf("image has etc/hostname; want none (the runtime provides it)")
	}
	if len(got) != 8 {
		t.Errorf("image has %d files; want 8", len(got))
	}

	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if cf.OS != "linux" || cf.Architecture != runtime.GOARCH {
		t.Errorf("platform %s/%s; want linux/%s", cf.OS, cf.Architecture, runtime.GOARCH)
	}
	want := v1.Config{
		Entrypoint:   []string{"/testapp"},
		Cmd:          []string{"serve"},
		Env:          []string{"PATH=/bin:/"},
		WorkingDir:   "/",
		ExposedPorts: map[string]struct{}{"8080/tcp": {}},
	}
	if !reflect.DeepEqual(cf.Config, want) {
		t.Errorf("config %+v; want %+v", cf.Config, want)
	}
}

// TestImageBinaryRuns runs the program as the image holds it, also as /bin/sh.
func TestImageBinaryRuns(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "testapp")
	if err := os.WriteFile(bin, files(t, Image(t))["testapp"].data, 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(bin, "echo", "hello").Output(); err != nil || string(out) != "hello\n" {
		t.Errorf("testapp echo hello = %q, %v; want %q", out, err, "hello\n")
	}
	sh := filepath.Join(dir, "sh")
	if err := os.Symlink(bin, sh); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(sh, "-c", "echo a && echo b").Output(); err != nil || string(out) != "a\nb\n" {
		t.Errorf("sh -c 'echo a && echo b' = %q, %v; want %q", out, err, "a\nb\n")
	}
	// Static: the ELF file names no interpreter (dynamic loader).
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Errorf("testapp has an ELF interpreter; want a static binary")
		}
	}
}

func TestPushThenPull(t *testing.T) {
	ref := Registry(t) + "/testapp:1"
	Push(t, ref)
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	pulled, err := remote.Image(r, remote.WithContext(t.Context()))
	if err != nil {
		t.Fatalf("pulling %s: %v", ref, err)
	}
	if got, want := digest(t, pulled), digest(t, Image(t)); got != want {
		t.Errorf("pulled %s: digest %v; want %v", ref, got, want)
	}
	cf, err := pulled.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if got := cf.Config.Entrypoint; len(got) != 1 || got[0] != "/testapp" {
		t.Errorf("pulled %s: entrypoint %q; want [/testapp]", ref, got)
	}
}

func TestArchive(t *testing.T) {
	path := filepath.Join(t.TempDir(), "testapp.tar")
	const ref = "example.com/tend/testapp:1"
	Archive(t, path, ref)
	tag, err := name.NewTag(ref)
	if err != nil {
		t.Fatal(err)
	}
	loaded, err := tarball.ImageFromPath(path, &tag)
	if err != nil {
		t.Fatalf("loading %s from %s: %v", ref, path, err)
	}
	if got, want := digest(t, loaded), digest(t, Image(t)); got != want {
		t.Errorf("image loaded from the archive: digest %v; want %v", got, want)
	}
	m, err := tarball.LoadManifest(func() (io.ReadCloser, error) { return os.Open(path) })
	if err != nil {
		t.Fatal(err)
	}
	if len(m) != 1 || !reflect.DeepEqual(m[0].RepoTags, []string{ref}) {
		t.Errorf("archive manifest %+v; want one image tagged %q", m, ref)
	}
}

// Package testimage gives tests a container image with a real program in it,
// made on the spot: test/testapp built static, in a one-layer image that is
// pushed to an in-process registry on loopback or written as an archive. No
// test needs a registry off the machine.
//
// The binary is built once per test process and cached across processes in
// os.UserCacheDir()/tend-testapp/<hash>, keyed by testapp's sources and the
// Go toolchain; the image is made once per test process. Image and the
// archive or registry copies of it are read-only: do not mutate them.
package testimage

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"io"
	"log"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

var (
	binaryOnce = sync.OnceValues(build)
	imageOnce  = sync.OnceValues(func() (v1.Image, error) {
		p, err := binaryOnce()
		if err != nil {
			return nil, err
		}
		return imageFromFile(p)
	})
)

// Binary returns the path of test/testapp built for this machine with
// CGO_ENABLED=0 (static), built at most once per test process with `go build`
// from the module root. The file is shared: do not modify or remove it.
func Binary(t testing.TB) string {
	t.Helper()
	p, err := binaryOnce()
	if err != nil {
		t.Fatalf("testimage: building test/testapp: %v", err)
	}
	return p
}

// Image returns a one-layer linux/GOARCH image of test/testapp:
//
//	/testapp        the program, 0755
//	/bin/sh         a symbolic link to /testapp (testapp runs as `sh` when so named)
//	/bin/tar        likewise, for `kubectl cp`
//	/etc/passwd     root (0:0) and nobody (65534:65534)
//	/etc/group      root (0) and nobody (65534)
//	/tmp            1777
//
// and no /etc/hostname. Its config: Entrypoint ["/testapp"], Cmd ["serve"],
// Env ["PATH=/bin:/"], WorkingDir "/", ExposedPorts 8080/tcp. Every time and
// owner in it is fixed, so the same sources and toolchain give the same digest.
func Image(t testing.TB) v1.Image {
	t.Helper()
	img, err := imageOnce()
	if err != nil {
		t.Fatalf("testimage: %v", err)
	}
	return img
}

// Load is Image for programs that are not tests (benchmarks): the same
// image, or why it could not be built.
func Load() (v1.Image, error) { return imageOnce() }

// Registry starts an in-memory registry (go-containerregistry's) on
// 127.0.0.1, closed when the test ends, and returns its host:port. Images are
// pushed to and pulled from it over plain HTTP, which go-containerregistry
// uses for loopback registries.
func Registry(t testing.TB) string {
	t.Helper()
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

// Push pushes Image(t) as ref, such as Registry(t)+"/testapp:1".
func Push(t testing.TB, ref string) {
	t.Helper()
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatalf("testimage: pushing %s: %v", ref, err)
	}
	if err := remote.Write(r, Image(t), remote.WithContext(t.Context())); err != nil {
		t.Fatalf("testimage: pushing %s: %v", ref, err)
	}
}

// Archive writes Image(t) to path as a `docker save` tarball that names the
// image ref (a tag such as "example.com/testapp:1").
func Archive(t testing.TB, path, ref string) {
	t.Helper()
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatalf("testimage: archive %s: %v", ref, err)
	}
	if err := tarball.WriteToFile(path, r, Image(t)); err != nil {
		t.Fatalf("testimage: archive %s to %s: %v", ref, path, err)
	}
}

// epoch is the time of every file and of the image: fixed, so the digest is.
var epoch = time.Unix(0, 0).UTC()

const (
	passwd = "root:x:0:0:root:/:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/sh\n"
	group  = "root:x:0:\nnobody:x:65534:\n"
)

// newImage makes the image of a testapp binary; only bin's bytes matter.
func newImage(bin []byte) (v1.Image, error) {
	layer, err := newLayer(bin)
	if err != nil {
		return nil, err
	}
	img, err := mutate.Append(empty.Image, mutate.Addendum{
		Layer:   layer,
		History: v1.History{Created: v1.Time{Time: epoch}, CreatedBy: "tend testimage: test/testapp"},
	})
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.Created = v1.Time{Time: epoch}
	cf.OS = "linux"
	cf.Architecture = runtime.GOARCH
	cf.Config = v1.Config{
		Entrypoint:   []string{"/testapp"},
		Cmd:          []string{"serve"},
		Env:          []string{"PATH=/bin:/"},
		WorkingDir:   "/",
		ExposedPorts: map[string]struct{}{"8080/tcp": {}},
	}
	return mutate.ConfigFile(img, cf)
}

// newLayer is the image's one layer, gzipped here once rather than on every read.
func newLayer(bin []byte) (v1.Layer, error) {
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
	if err != nil {
		return nil, err
	}
	tw := tar.NewWriter(zw)
	entries := []struct {
		hdr  tar.Header
		data []byte
	}{
		{hdr: tar.Header{Name: "bin/", Typeflag: tar.TypeDir, Mode: 0o755}},
		{hdr: tar.Header{Name: "bin/sh", Typeflag: tar.TypeSymlink, Linkname: "/testapp", Mode: 0o777}},
		{hdr: tar.Header{Name: "bin/tar", Typeflag: tar.TypeSymlink, Linkname: "/testapp", Mode: 0o777}},
		{hdr: tar.Header{Name: "etc/", Typeflag: tar.TypeDir, Mode: 0o755}},
		{hdr: tar.Header{Name: "etc/group", Typeflag: tar.TypeReg, Mode: 0o644}, data: []byte(group)},
		{hdr: tar.Header{Name: "etc/passwd", Typeflag: tar.TypeReg, Mode: 0o644}, data: []byte(passwd)},
		{hdr: tar.Header{Name: "testapp", Typeflag: tar.TypeReg, Mode: 0o755}, data: bin},
		{hdr: tar.Header{Name: "tmp/", Typeflag: tar.TypeDir, Mode: 0o1777}},
	}
	for _, e := range entries {
		h := e.hdr
		h.Size = int64(len(e.data))
		h.ModTime = epoch
		if err := tw.WriteHeader(&h); err != nil {
			return nil, err
		}
		if _, err := tw.Write(e.data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	b := buf.Bytes()
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(b)), nil
	})
}

package images

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// layerOf is a layer holding files (path → content).
func layerOf(t testing.TB, files map[string]string) v1.Layer {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		if err := tw.WriteHeader(&tar.Header{Name: n, Mode: 0o644, Size: int64(len(files[n])), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		if _, err := io.WriteString(tw, files[n]); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil })
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// imageOf is an image of the layers with a command and an environment.
func imageOf(t testing.TB, cmd string, layers ...v1.Layer) v1.Image {
	t.Helper()
	img, err := mutate.AppendLayers(empty.Image, layers...)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", platform().Architecture
	cf.Config.Cmd = []string{cmd}
	cf.Config.Env = []string{"PATH=/bin", "APP=" + cmd}
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		t.Fatal(err)
	}
	return img
}

// startRegistry serves an in-memory registry on loopback; wrap may guard it.
func startRegistry(t testing.TB, wrap func(http.Handler) http.Handler) string {
	t.Helper()
	var h http.Handler = registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	if wrap != nil {
		h = wrap(h)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

func push(t testing.TB, ref string, img v1.Image, opts ...remote.Option) {
	t.Helper()
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(r, img, opts...); err != nil {
		t.Fatalf("pushing %s: %v", ref, err)
	}
}

func openStore(t testing.TB) *Store {
	t.Helper()
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func layerCount(t testing.TB, s *Store) int {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(s.Root(), "layers/sha256"))
	if err != nil {
		t.Fatal(err)
	}
	return len(entries)
}

func TestPullSharesLayersAndFindsByEveryName(t *testing.T) {
	reg := startRegistry(t, nil)
	base := layerOf(t, map[string]string{"etc/os-release": "tend test\n"})
	a := imageOf(t, "a", base, layerOf(t, map[string]string{"app/a": "a"}))
	b := imageOf(t, "b", base, layerOf(t, map[string]string{"app/b": "b"}))
	push(t, reg+"/team/a:1", a)
	push(t, reg+"/team/b:1", b)
	s := openStore(t)
	ctx := context.Background()

	got, err := s.Pull(ctx, reg+"/team/a:1", PullOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Pull(ctx, reg+"/team/b:1", PullOptions{}); err != nil {
		t.Fatal(err)
	}
	if n := layerCount(t, s); n != 3 {
		t.Errorf("layers unpacked for two images sharing a base = %d; want 3", n)
	}
	id, _ := a.ConfigName()
	digest, _ := a.Digest()
	if got.ID != id.String() || !slices.Equal(got.RepoTags, []string{reg + "/team/a:1"}) ||
		!slices.Equal(got.RepoDigests, []string{reg + "/team/a@" + digest.String()}) || got.Pinned {
		t.Errorf("Pull = %+v; want ID %s, tag %s/team/a:1, digest %s, not pinned", got, id, reg, digest)
	}
	for _, ref := range []string{id.String(), reg + "/team/a:1", reg + "/team/a@" + digest.String()} {
		if img, err := s.Get(ref); err != nil || img.ID != id.String() {
			t.Errorf("Get(%s) = %s, %v; want %s", ref, img.ID, err, id)
		}
	}
	if _, err := s.Get(reg + "/team/a:2"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get of an unknown tag = %v; want ErrNotFound", err)
	}
	dirs := s.LayerDirs(got)
	if len(dirs) != 2 {
		t.Fatalf("LayerDirs = %v; want 2", dirs)
	}
	if b, err := os.ReadFile(filepath.Join(dirs[0], "app/a")); err != nil || string(b) != "a" {
		t.Errorf("top layer's app/a = %q, %v; want a", b, err)
	}
	if b, err := os.ReadFile(filepath.Join(dirs[1], "etc/os-release")); err != nil || string(b) != "tend test\n" {
		t.Errorf("base layer's etc/os-release = %q, %v", b, err)
	}
	cf, err := s.ConfigFile(got)
	if err != nil || !slices.Equal(cf.Config.Cmd, []string{"a"}) || !slices.Contains(cf.Config.Env, "APP=a") {
		t.Errorf("ConfigFile = %+v, %v; want cmd [a], APP=a", cf, err)
	}
	// Another process's store on the same root sees them.
	other, err := Open(s.Root())
	if err != nil {
		t.Fatal(err)
	}
	if list, err := other.List(); err != nil || len(list) != 2 {
		t.Errorf("List from a second store = %d images, %v; want 2", len(list), err)
	}
}

func TestPullAgainMovesTheTag(t *testing.T) {
	reg := startRegistry(t, nil)
	s := openStore(t)
	ctx := context.Background()
	old := imageOf(t, "v1", layerOf(t, map[string]string{"v": "1"}))
	push(t, reg+"/app:latest", old)
	first, err := s.Pull(ctx, reg+"/app", PullOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(first.RepoTags, []string{reg + "/app:latest"}) {
		t.Errorf("tags of app = %v; want %s/app:latest", first.RepoTags, reg)
	}
	push(t, reg+"/app:latest", imageOf(t, "v2", layerOf(t, map[string]string{"v": "2"})))
	second, err := s.Pull(ctx, reg+"/app:latest", PullOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if second.ID == first.ID {
		t.Fatal("the second pull got the first image")
	}
	prev, err := s.Get(first.ID)
	if err != nil || len(prev.RepoTags) != 0 {
		t.Errorf("the old image after the tag moved = %+v, %v; want it kept without tags", prev, err)
	}
	if img, _ := s.Get(reg + "/app:latest"); img.ID != second.ID {
		t.Errorf("app:latest = %s; want the new %s", img.ID, second.ID)
	}
}

func TestPullWithCredentials(t *testing.T) {
	reg := startRegistry(t, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if u, p, ok := r.BasicAuth(); !ok || u != "robot" || p != "s3cret" {
				w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
				http.Error(w, "unauthorized", http.StatusUnauthorized)
				return
			}
			h.ServeHTTP(w, r)
		})
	})
	creds, err := SecretsKeychain([]byte(`{"auths":{"` + reg + `":{"auth":"` +
		base64.StdEncoding.EncodeToString([]byte("robot:s3cret")) + `"}}}`))
	if err != nil {
		t.Fatal(err)
	}
	img := imageOf(t, "private", layerOf(t, map[string]string{"secret": "x"}))
	push(t, reg+"/private:1", img, remote.WithAuthFromKeychain(creds))
	s := openStore(t)
	if _, err := s.Pull(context.Background(), reg+"/private:1", PullOptions{}); err == nil {
		t.Fatal("an anonymous pull from a registry that wants credentials succeeded")
	}
	if list, _ := s.List(); len(list) != 0 || layerCount(t, s) != 0 {
		t.Errorf("a failed pull left %d images and %d layers", len(list), layerCount(t, s))
	}
	if _, err := s.Pull(context.Background(), reg+"/private:1", PullOptions{Keychain: creds}); err != nil {
		t.Fatalf("pull with the secret's credentials: %v", err)
	}
}

func TestSecretsKeychainMatching(t *testing.T) {
	k, err := SecretsKeychain(
		[]byte(`{"auths":{"https://index.docker.io/v1/":{"username":"hub","password":"h"},"registry.local:5000":{"username":"all","password":"a"},"registry.local:5000/team":{"username":"team","password":"t"}}}`),
		[]byte(`{"legacy.local":{"auth":"`+base64.StdEncoding.EncodeToString([]byte("old:o"))+`"}}`))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ repo, user string }{
		{"nginx", "hub"},
		{"docker.io/library/nginx", "hub"},
		{"registry.local:5000/app", "all"},
		{"registry.local:5000/team/app", "team"},
		{"registry.local:5000/teams/app", "all"},
		{"legacy.local/app", "old"},
		{"elsewhere.local/app", ""},
	} {
		repo, err := name.NewRepository(tt.repo)
		if err != nil {
			t.Fatal(err)
		}
		auth, err := k.Resolve(repo)
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := auth.Authorization()
		if err != nil {
			t.Fatal(err)
		}
		if cfg.Username != tt.user {
			t.Errorf("credentials for %s: user %q; want %q", tt.repo, cfg.Username, tt.user)
		}
	}
	if _, err := SecretsKeychain([]byte(`{"auths":{"x":{"auth":"not base64!"}}}`)); err == nil {
		t.Error("a config with a bad auth = nil error; want one")
	}
}

func TestImportArchives(t *testing.T) {
	ctx := context.Background()
	base := layerOf(t, map[string]string{"bin/sh": "#!"})
	dockerImg := imageOf(t, "from-docker", base, layerOf(t, map[string]string{"d": "docker"}))
	ociImg := imageOf(t, "from-oci", base, layerOf(t, map[string]string{"o": "oci"}))
	dir := t.TempDir()

	dockerTar := filepath.Join(dir, "docker.tar")
	tag, _ := name.NewTag("example.local/tools/docker:1")
	if err := tarball.WriteToFile(dockerTar, tag, dockerImg); err != nil {
		t.Fatal(err)
	}
	ociDir := filepath.Join(dir, "oci")
	lp, err := layout.Write(ociDir, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	if err := lp.AppendImage(ociImg, layout.WithAnnotations(map[string]string{"io.containerd.image.name": "example.local/tools/oci:2"})); err != nil {
		t.Fatal(err)
	}
	ociTar := filepath.Join(dir, "oci.tar")
	tarDir(t, ociDir, ociTar)

	s := openStore(t)
	for _, tt := range []struct{ path, tag, cmd string }{
		{dockerTar, "example.local/tools/docker:1", "from-docker"},
		{ociTar, "example.local/tools/oci:2", "from-oci"},
	} {
		imgs, err := s.Import(ctx, tt.path)
		if err != nil {
			t.Fatalf("Import(%s): %v", tt.path, err)
		}
		if len(imgs) != 1 || !slices.Equal(imgs[0].RepoTags, []string{tt.tag}) || !imgs[0].Pinned {
			t.Fatalf("Import(%s) = %+v; want one pinned image tagged %s", tt.path, imgs, tt.tag)
		}
		cf, err := s.ConfigFile(imgs[0])
		if err != nil || !slices.Equal(cf.Config.Cmd, []string{tt.cmd}) {
			t.Errorf("config of %s = %+v, %v; want cmd %s", tt.tag, cf, err, tt.cmd)
		}
	}
	if n := layerCount(t, s); n != 3 {
		t.Errorf("layers for two imported images sharing a base = %d; want 3", n)
	}
	bogus := filepath.Join(dir, "bogus.tar")
	tarDir(t, t.TempDir(), bogus)
	if _, err := s.Import(ctx, bogus); err == nil || !strings.Contains(err.Error(), "neither") {
		t.Errorf("Import of an archive without a manifest = %v; want an error saying what it is not", err)
	}
}

func TestRemoveKeepsSharedLayers(t *testing.T) {
	reg := startRegistry(t, nil)
	base := layerOf(t, map[string]string{"base": "b"})
	push(t, reg+"/one:1", imageOf(t, "one", base, layerOf(t, map[string]string{"one": "1"})))
	push(t, reg+"/two:1", imageOf(t, "two", base, layerOf(t, map[string]string{"two": "2"})))
	s := openStore(t)
	ctx := context.Background()
	one, err := s.Pull(ctx, reg+"/one:1", PullOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Pull(ctx, reg+"/two:1", PullOptions{}); err != nil {
		t.Fatal(err)
	}
	// A second name, then removing the first keeps the image.
	if _, err := s.Pull(ctx, reg+"/one:1", PullOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := s.Remove(one.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(one.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get after Remove = %v; want ErrNotFound", err)
	}
	if n := layerCount(t, s); n != 2 {
		t.Errorf("layers after removing one of two images sharing a base = %d; want 2", n)
	}
	if err := s.Remove(reg + "/two:1"); err != nil {
		t.Fatal(err)
	}
	if n := layerCount(t, s); n != 0 {
		t.Errorf("layers after removing both = %d; want 0", n)
	}
	if err := s.Remove("nothing:here"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Remove of an unknown image = %v; want ErrNotFound", err)
	}
}

// TestCorruptLayerIsRefused: a layer whose content is not the diffID the
// config names is not stored.
func TestCorruptLayerIsRefused(t *testing.T) {
	reg := startRegistry(t, nil)
	img := imageOf(t, "bad", layerOf(t, map[string]string{"f": "real"}))
	cf, _ := img.ConfigFile()
	cf = cf.DeepCopy()
	cf.RootFS.DiffIDs[0] = v1.Hash{Algorithm: "sha256", Hex: strings.Repeat("0", 64)}
	bad, err := mutate.ConfigFile(img, cf)
	if err != nil {
		t.Fatal(err)
	}
	push(t, reg+"/bad:1", bad)
	s := openStore(t)
	if _, err := s.Pull(context.Background(), reg+"/bad:1", PullOptions{}); err == nil || !strings.Contains(err.Error(), "digest") {
		t.Fatalf("Pull of an image whose layer is not its diffID = %v; want a digest error", err)
	}
	if list, _ := s.List(); len(list) != 0 || layerCount(t, s) != 0 {
		t.Errorf("the refused image left %d images and %d layers", len(list), layerCount(t, s))
	}
	if tmp, _ := os.ReadDir(filepath.Join(s.Root(), "tmp")); len(tmp) != 0 {
		t.Errorf("tmp holds %d entries after the failed pull; want none", len(tmp))
	}
}

func TestConcurrentPullsUnpackOnce(t *testing.T) {
	reg := startRegistry(t, nil)
	push(t, reg+"/same:1", imageOf(t, "same", layerOf(t, map[string]string{"x": strings.Repeat("x", 1<<20)})))
	s := openStore(t)
	other, err := Open(s.Root())
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for i := range 4 {
		st := s
		if i%2 == 1 {
			st = other // as another process would
		}
		wg.Go(func() {
			if _, err := st.Pull(context.Background(), reg+"/same:1", PullOptions{}); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if list, _ := s.List(); len(list) != 1 || layerCount(t, s) != 1 {
		t.Errorf("four concurrent pulls of one image: %d images, %d layers; want 1 and 1", len(list), layerCount(t, s))
	}
}

func TestNormalize(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"nginx", "docker.io/library/nginx:latest"},
		{"nginx:1.27", "docker.io/library/nginx:1.27"},
		{"docker.io/library/nginx:1.27", "docker.io/library/nginx:1.27"},
		{"index.docker.io/me/app:2", "docker.io/me/app:2"},
		{"127.0.0.1:5000/app", "127.0.0.1:5000/app:latest"},
		{"registry.local/a/b@sha256:" + strings.Repeat("a", 64), "registry.local/a/b@sha256:" + strings.Repeat("a", 64)},
	} {
		if got, err := Normalize(tt.in); err != nil || got != tt.want {
			t.Errorf("Normalize(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
	if _, err := Normalize("UPPER/case"); err == nil {
		t.Error(`Normalize("UPPER/case") = nil error; want one`)
	}
}

// tarDir writes dir's files into a tar at path.
func tarDir(t testing.TB, dir, path string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tw := tar.NewWriter(f)
	if err := tw.AddFS(os.DirFS(dir)); err != nil {
		t.Fatal(fmt.Errorf("tar of %s: %w", dir, err))
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestMarkUsedCoalesces: uses within usedGranularity of the recorded one
// are not written again; later ones are.
func TestMarkUsedCoalesces(t *testing.T) {
	reg := startRegistry(t, nil)
	push(t, reg+"/used:1", imageOf(t, "used", layerOf(t, map[string]string{"f": "x"})))
	s := openStore(t)
	img, err := s.Pull(context.Background(), reg+"/used:1", PullOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t0 := img.LastUsed.Add(time.Hour)
	for _, tt := range []struct {
		at   time.Time
		want time.Time
	}{
		{t0, t0},
		{t0.Add(10 * time.Second), t0},
		{t0.Add(time.Minute), t0.Add(time.Minute)},
	} {
		if err := s.MarkUsed(img.ID, tt.at); err != nil {
			t.Fatal(err)
		}
		got, _ := s.Get(img.ID)
		if !got.LastUsed.Equal(tt.want) {
			t.Errorf("after MarkUsed(%v): LastUsed %v; want %v", tt.at.Sub(t0), got.LastUsed.Sub(t0), tt.want.Sub(t0))
		}
	}
	if err := s.MarkUsed("sha256:unknown", t0); !errors.Is(err, ErrNotFound) {
		t.Errorf("MarkUsed of an unknown image = %v; want ErrNotFound", err)
	}
}

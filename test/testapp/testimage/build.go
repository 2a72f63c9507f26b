package testimage

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// buildFlags make the binary static and reproducible: no cgo, no paths of
// this machine, no VCS stamp (which changes with every commit elsewhere).
var buildFlags = []string{"-trimpath", "-buildvcs=false", "-ldflags=-s -w"}

// pkgDir is testapp's folder relative to the module root.
const pkgDir = "test/testapp"

// build returns the path of the cached testapp binary for the current
// sources, building it if it is not there yet. Test processes running at the
// same time may build it twice; each renames its own into place whole.
func build() (string, error) {
	goTool, err := findGo()
	if err != nil {
		return "", err
	}
	env := append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+runtime.GOARCH, "GOTOOLCHAIN=local")
	start, err := startDir()
	if err != nil {
		return "", err
	}
	out, err := run(start, env, goTool, "env", "GOMOD", "GOVERSION", "GOFLAGS", "GOAMD64")
	if err != nil {
		return "", err
	}
	goEnv := strings.Split(strings.TrimRight(out, "\n"), "\n")
	if len(goEnv) != 4 || goEnv[0] == "" || goEnv[0] == os.DevNull {
		return "", fmt.Errorf("%s is not inside tend's module (go env GOMOD: %q)", start, goEnv[0])
	}
	root := filepath.Dir(goEnv[0])

	key, err := sourceHash(root, goEnv[1:])
	if err != nil {
		return "", err
	}
	cache, err := cacheDir()
	if err != nil {
		return "", err
	}
	dir := filepath.Join(cache, key)
	bin := filepath.Join(dir, "testapp")
	if fi, err := os.Stat(bin); err == nil && fi.Mode().IsRegular() {
		now := time.Now()
		_ = os.Chtimes(dir, now, now) // recently used: spared by prune
		return bin, nil
	}

	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	tmp, err := os.MkdirTemp(dir, "build-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	args := append([]string{"build"}, buildFlags...)
	args = append(args, "-o", filepath.Join(tmp, "testapp"), "./"+pkgDir)
	if _, err := run(root, env, goTool, args...); err != nil {
		return "", err
	}
	if err := os.Rename(filepath.Join(tmp, "testapp"), bin); err != nil {
		return "", err
	}
	prune(cache, key)
	return bin, nil
}

// findGo finds the go command: on PATH, or in the GOROOT this test was built with.
func findGo() (string, error) {
	if p, err := exec.LookPath("go"); err == nil {
		return p, nil
	}
	p := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("no go command on PATH or in GOROOT %s: %w", runtime.GOROOT(), err)
	}
	return p, nil
}

// startDir is a folder inside the module: this file's (when the test was
// built without -trimpath), else the working directory, which `go test`
// sets to the package under test.
func startDir() (string, error) {
	if _, file, _, ok := runtime.Caller(0); ok && filepath.IsAbs(file) {
		if _, err := os.Stat(file); err == nil {
			return filepath.Dir(file), nil
		}
	}
	return os.Getwd()
}

func run(dir string, env []string, name string, args ...string) (string, error) {
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("%s %s in %s: %w\n%s", name, strings.Join(args, " "), dir, err, stderr.Bytes())
	}
	return stdout.String(), nil
}

// sourceHash is the cache key: testapp's non-test Go files, go.mod, the
// toolchain and its settings, and the build flags.
func sourceHash(root string, goEnv []string) (string, error) {
	h := sha256.New()
	fmt.Fprintf(h, "testimage v1\n%s/%s\n%q\n%q\n", "linux", runtime.GOARCH, goEnv, buildFlags)
	src := filepath.Join(root, pkgDir)
	entries, err := os.ReadDir(src)
	if err != nil {
		return "", err
	}
	names := []string{filepath.Join(root, "go.mod")}
	for _, e := range entries {
		if n := e.Name(); e.Type().IsRegular() && strings.HasSuffix(n, ".go") && !strings.HasSuffix(n, "_test.go") {
			names = append(names, filepath.Join(src, n))
		}
	}
	slices.Sort(names[1:])
	for _, n := range names {
		b, err := os.ReadFile(n)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(h, "%s %d\n", filepath.Base(n), len(b))
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil))[:20], nil
}

func cacheDir() (string, error) {
	base, err := os.UserCacheDir()
	if err != nil {
		base = os.TempDir()
	}
	dir := filepath.Join(base, "tend-testapp")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("making the testapp cache: %w", err)
	}
	return dir, nil
}

// prune removes the binaries of other sources not used for a day, so that
// editing testapp does not fill the cache.
func prune(cache, keep string) {
	entries, err := os.ReadDir(cache)
	if err != nil {
		return
	}
	for _, e := range entries {
		if e.Name() == keep || !e.IsDir() {
			continue
		}
		if fi, err := e.Info(); err == nil && time.Since(fi.ModTime()) > 24*time.Hour {
			os.RemoveAll(filepath.Join(cache, e.Name()))
		}
	}
}

// imageFromFile is the image of the testapp binary at path.
func imageFromFile(path string) (v1.Image, error) {
	bin, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	img, err := newImage(bin)
	if err != nil {
		return nil, fmt.Errorf("making the image of %s: %w", path, err)
	}
	return img, nil
}

package images

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"golang.org/x/sys/unix"
)

// tmpfsStore is a store on a tmpfs of sizeMiB, so that its usage is the
// store's own.
func tmpfsStore(t *testing.T, sizeMiB int) *Store {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("mounting a tmpfs needs root")
	}
	dir := t.TempDir()
	if err := unix.Mount("tmpfs", dir, "tmpfs", 0, fmt.Sprintf("size=%dm,mode=0700", sizeMiB)); err != nil {
		t.Fatalf("mounting a tmpfs: %v", err)
	}
	t.Cleanup(func() {
		if err := unix.Unmount(dir, unix.MNT_DETACH); err != nil {
			t.Errorf("unmounting %s: %v", dir, err)
		}
	})
	s, err := Open(filepath.Join(dir, "images"))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func randomString(t *testing.T, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestGCRemovesLeastRecentlyUsedUnusedImages(t *testing.T) {
	s := tmpfsStore(t, 32)
	reg := startRegistry(t, nil)
	ctx := context.Background()
	now := time.Now()
	ids := map[string]string{}
	// Four 4 MiB images and one imported (pinned) one: 20 of 32 MiB.
	for _, n := range []string{"old", "older", "used", "fresh"} {
		push(t, reg+"/"+n+":1", imageOf(t, n, layerOf(t, map[string]string{"blob": randomString(t, 4<<20)})))
		img, err := s.Pull(ctx, reg+"/"+n+":1", PullOptions{})
		if err != nil {
			t.Fatal(err)
		}
		ids[n] = img.ID
		ages := map[string]time.Duration{"old": time.Hour, "older": 2 * time.Hour, "used": 3 * time.Hour, "fresh": time.Minute}
		if err := s.MarkUsed(img.ID, now.Add(-ages[n])); err != nil {
			t.Fatal(err)
		}
	}
	archive := filepath.Join(t.TempDir(), "pinned.tar")
	tag, _ := name.NewTag("example.local/pinned:1")
	if err := tarball.WriteToFile(archive, tag, imageOf(t, "pinned", layerOf(t, map[string]string{"blob": randomString(t, 4<<20)}))); err != nil {
		t.Fatal(err)
	}
	pinned, err := s.Import(ctx, archive)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.MarkUsed(pinned[0].ID, now.Add(-24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	usage, err := s.Usage()
	if err != nil || usage < 58 || usage > 70 {
		t.Fatalf("usage of the 32 MiB tmpfs with five 4 MiB images = %d%%, %v; want about 62%%", usage, err)
	}

	// Below the high threshold nothing goes.
	if removed, err := s.GC(ctx, GCPolicy{HighThresholdPercent: 95, LowThresholdPercent: 10}, func(string) bool { return false }, now); err != nil || len(removed) != 0 {
		t.Fatalf("GC below the high threshold removed %v, %v; want nothing", removed, err)
	}
	// Above it, the least recently used unused ones go until below the low
	// one: "older" (2 h, leaving 50%), then "old" (1 h, leaving 37%);
	// "used" is in use, "fresh" too young, the imported one pinned.
	inUse := func(id string) bool { return id == ids["used"] }
	removed, err := s.GC(ctx, GCPolicy{HighThresholdPercent: 55, LowThresholdPercent: 45}, inUse, now)
	if err != nil {
		t.Fatalf("GC: %v", err)
	}
	if want := []string{ids["older"], ids["old"]}; !slices.Equal(removed, want) {
		t.Errorf("GC removed %v; want %v (older, then old)", removed, want)
	}
	for _, n := range []string{"used", "fresh"} {
		if _, err := s.Get(ids[n]); err != nil {
			t.Errorf("image %s after GC: %v; want kept", n, err)
		}
	}
	if _, err := s.Get(pinned[0].ID); err != nil {
		t.Errorf("the pinned image after GC: %v; want kept", err)
	}
	// A low threshold nothing more can reach is an error, not a removal of
	// what must stay.
	if removed, err := s.GC(ctx, GCPolicy{HighThresholdPercent: 5, LowThresholdPercent: 1}, inUse, now); err == nil || len(removed) != 0 {
		t.Errorf("GC that cannot reach its low threshold = %v, %v; want an error and nothing removed", removed, err)
	}
}

func TestGCPolicyValidate(t *testing.T) {
	for _, tt := range []struct {
		p  GCPolicy
		ok bool
	}{
		{GCPolicy{}, true},
		{GCPolicy{HighThresholdPercent: 90, LowThresholdPercent: 90}, true},
		{GCPolicy{HighThresholdPercent: 70, LowThresholdPercent: 80}, false},
		{GCPolicy{HighThresholdPercent: 101}, false},
		{GCPolicy{MinAge: -time.Second}, false},
	} {
		if err := tt.p.Validate(); (err == nil) != tt.ok {
			t.Errorf("%+v.Validate() = %v; want ok %t", tt.p, err, tt.ok)
		}
	}
}

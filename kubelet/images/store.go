// Package images keeps a node's container images: the images' names, their
// manifests and configs by digest, and their layers, unpacked once each (as
// overlayfs lower directories, whiteouts included) and shared by every image
// that has them. Images come from OCI registries (Pull, with
// go-containerregistry) or from archives (Import: `docker save` tarballs and
// OCI image layouts in a tar). Imported images are pinned: garbage collection
// never removes them.
//
// A Store is safe for concurrent use, also by several processes on the same
// root (the kubelet and `tend images import`): the index is written under a
// file lock and re-read when another process changed it, and layers are
// unpacked into temporary directories renamed into place.
//
// Layout under the root:
//
//	images.json            the index: every image, its names and layers
//	blobs/sha256/HEX       manifests and configs, by digest
//	layers/sha256/HEX/     each layer unpacked, by its diffID
//	tmp/                   unpacks in progress (emptied on Open)
package images

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"golang.org/x/sys/unix"
)

// ErrNotFound says the store has no image of that reference.
var ErrNotFound = errors.New("image not found")

// Image is one image in the store.
type Image struct {
	// ID is the digest of the image's config ("sha256:..."), as the CRI's.
	ID string `json:"id"`
	// RepoTags are its names with a tag ("docker.io/library/nginx:1.27").
	RepoTags []string `json:"repoTags,omitempty"`
	// RepoDigests are its names with the manifest's digest
	// ("docker.io/library/nginx@sha256:...").
	RepoDigests []string `json:"repoDigests,omitempty"`
	// Layers are the diffIDs of its layers, the base first.
	Layers []string `json:"layers"`
	// Size is the bytes of its compressed layers and config, as a registry
	// reports them.
	Size int64 `json:"size"`
	// Pinned images are never garbage collected (imported ones are).
	Pinned bool `json:"pinned,omitempty"`
	// LastUsed is when a container last started from it (or it was stored).
	LastUsed time.Time `json:"lastUsed"`
}

// Store is a node's images under one directory.
type Store struct {
	root string

	mu      sync.Mutex
	images  []*Image // as last read or written
	stamp   fileStamp
	unpacks map[string]*sync.Mutex // diffID → held while unpacking it
}

type fileStamp struct {
	mod  time.Time
	size int64
}

type index struct {
	Images []*Image `json:"images"`
}

// Open opens (creating it if needed) the store under root.
func Open(root string) (*Store, error) {
	for _, d := range []string{"blobs/sha256", "layers/sha256", "tmp"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o700); err != nil {
			return nil, fmt.Errorf("images: %w", err)
		}
	}
	s := &Store{root: root, unpacks: map[string]*sync.Mutex{}}
	// Unpacks a crashed process left behind. (Another process's unpack in
	// progress loses its temporary directory and fails; it is retried.)
	if err := s.withLock(func() error { return clearDir(filepath.Join(root, "tmp")) }); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.reloadLocked(); err != nil {
		return nil, err
	}
	return s, nil
}

// Root is the store's directory.
func (s *Store) Root() string { return s.root }

// List returns every image, by ID.
func (s *Store) List() ([]Image, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.reloadLocked(); err != nil {
		return nil, err
	}
	out := make([]Image, 0, len(s.images))
	for _, img := range s.images {
		out = append(out, clone(img))
	}
	slices.SortFunc(out, func(a, b Image) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

// Get finds an image by ID, by a name with a tag or by a name with a digest
// (normalized as Normalize does: "nginx" is "docker.io/library/nginx:latest").
func (s *Store) Get(ref string) (Image, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.reloadLocked(); err != nil {
		return Image{}, err
	}
	img := s.findLocked(ref)
	if img == nil {
		return Image{}, fmt.Errorf("%w: %s", ErrNotFound, ref)
	}
	return clone(img), nil
}

func (s *Store) findLocked(ref string) *Image {
	for _, img := range s.images {
		if img.ID == ref {
			return img
		}
	}
	n, err := Normalize(ref)
	if err != nil {
		return nil
	}
	for _, img := range s.images {
		if slices.Contains(img.RepoTags, n) || slices.Contains(img.RepoDigests, n) {
			return img
		}
	}
	return nil
}

// ConfigFile returns an image's config: entrypoint, command, environment,
// working directory, user.
func (s *Store) ConfigFile(img Image) (*v1.ConfigFile, error) {
	f, err := os.Open(s.blobPath(img.ID))
	if err != nil {
		return nil, fmt.Errorf("image %s: %w", img.ID, err)
	}
	defer f.Close()
	cf, err := v1.ParseConfigFile(f)
	if err != nil {
		return nil, fmt.Errorf("image %s: config: %w", img.ID, err)
	}
	return cf, nil
}

// LayerDirs returns the directories of an image's unpacked layers, the top
// one first: overlayfs's lowerdir order.
func (s *Store) LayerDirs(img Image) []string {
	out := make([]string, len(img.Layers))
	for i, l := range img.Layers {
		out[len(img.Layers)-1-i] = s.layerPath(l)
	}
	return out
}

// MarkUsed records that a container started from the image now. Garbage
// collection counts in minutes, so a use within usedGranularity of the one
// recorded is not written again: the pods of one Deployment starting
// together cost the index one write, not one each, on the hot path of every
// container's creation.
func (s *Store) MarkUsed(id string, now time.Time) error {
	s.mu.Lock()
	err := s.reloadLocked()
	recent := false
	for _, img := range s.images {
		if img.ID == id {
			recent = now.Sub(img.LastUsed).Abs() < usedGranularity
		}
	}
	s.mu.Unlock()
	if err != nil || recent {
		return err
	}
	return s.update(func(images []*Image) ([]*Image, error) {
		for _, img := range images {
			if img.ID == id {
				img.LastUsed = now
				return images, nil
			}
		}
		return nil, fmt.Errorf("%w: %s", ErrNotFound, id)
	})
}

// usedGranularity is how close two uses of an image count as one.
const usedGranularity = 30 * time.Second

// Remove removes an image by any of its references: a name removes that
// name only, unless it is the image's last (as `crictl rmi`), an ID the
// image. Layers no other image has are deleted.
func (s *Store) Remove(ref string) error {
	err := s.update(func(images []*Image) ([]*Image, error) {
		for i, img := range images {
			if img.ID == ref {
				return slices.Delete(images, i, i+1), nil
			}
		}
		n, err := Normalize(ref)
		if err != nil {
			return nil, err
		}
		for i, img := range images {
			tags := slices.DeleteFunc(slices.Clone(img.RepoTags), func(t string) bool { return t == n })
			digests := slices.DeleteFunc(slices.Clone(img.RepoDigests), func(d string) bool { return d == n })
			if len(tags) == len(img.RepoTags) && len(digests) == len(img.RepoDigests) {
				continue
			}
			if len(tags) == 0 {
				return slices.Delete(images, i, i+1), nil
			}
			img.RepoTags, img.RepoDigests = tags, digests
			return images, nil
		}
		return nil, fmt.Errorf("%w: %s", ErrNotFound, ref)
	})
	if err != nil {
		return err
	}
	return s.prune()
}

// prune deletes the layers and blobs no image refers to.
func (s *Store) prune() error {
	return s.withLock(func() error {
		s.mu.Lock()
		err := s.reloadLocked()
		used := map[string]bool{}
		for _, img := range s.images {
			used[hexOf(img.ID)] = true
			for _, l := range img.Layers {
				used["layer:"+hexOf(l)] = true
			}
			for _, d := range img.RepoDigests {
				if _, dg, ok := strings.Cut(d, "@"); ok {
					used[hexOf(dg)] = true
				}
			}
		}
		s.mu.Unlock()
		if err != nil {
			return err
		}
		var errs []error
		layers, _ := os.ReadDir(filepath.Join(s.root, "layers/sha256"))
		for _, e := range layers {
			if !used["layer:"+e.Name()] {
				errs = append(errs, os.RemoveAll(filepath.Join(s.root, "layers/sha256", e.Name())))
			}
		}
		blobs, _ := os.ReadDir(filepath.Join(s.root, "blobs/sha256"))
		for _, e := range blobs {
			if !used[e.Name()] {
				errs = append(errs, os.Remove(filepath.Join(s.root, "blobs/sha256", e.Name())))
			}
		}
		return errors.Join(errs...)
	})
}

// update changes the index under the file lock, from its latest state.
func (s *Store) update(change func([]*Image) ([]*Image, error)) error {
	return s.withLock(func() error {
		s.mu.Lock()
		defer s.mu.Unlock()
		if err := s.reloadLocked(); err != nil {
			return err
		}
		images := make([]*Image, len(s.images))
		for i, img := range s.images {
			c := clone(img)
			images[i] = &c
		}
		next, err := change(images)
		if err != nil {
			return err
		}
		return s.writeLocked(next)
	})
}

// withLock runs f holding the store's file lock, which orders writers of
// the index across processes.
func (s *Store) withLock(f func() error) error {
	lock, err := os.OpenFile(filepath.Join(s.root, ".lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return fmt.Errorf("images: %w", err)
	}
	defer lock.Close()
	if err := unix.Flock(int(lock.Fd()), unix.LOCK_EX); err != nil {
		return fmt.Errorf("images: locking %s: %w", s.root, err)
	}
	defer unix.Flock(int(lock.Fd()), unix.LOCK_UN)
	return f()
}

func (s *Store) indexPath() string { return filepath.Join(s.root, "images.json") }

// reloadLocked reads the index again if another process wrote it.
func (s *Store) reloadLocked() error {
	fi, err := os.Stat(s.indexPath())
	if errors.Is(err, fs.ErrNotExist) {
		s.images, s.stamp = nil, fileStamp{}
		return nil
	}
	if err != nil {
		return fmt.Errorf("images: %w", err)
	}
	stamp := fileStamp{fi.ModTime(), fi.Size()}
	if stamp == s.stamp && s.images != nil {
		return nil
	}
	b, err := os.ReadFile(s.indexPath())
	if err != nil {
		return fmt.Errorf("images: %w", err)
	}
	var idx index
	if err := json.Unmarshal(b, &idx); err != nil {
		return fmt.Errorf("images: reading %s: %w", s.indexPath(), err)
	}
	s.images, s.stamp = idx.Images, stamp
	if s.images == nil {
		s.images = []*Image{}
	}
	return nil
}

func (s *Store) writeLocked(images []*Image) error {
	b, err := json.MarshalIndent(index{Images: images}, "", "  ")
	if err != nil {
		return err
	}
	if err := writeFileAtomic(s.indexPath(), b); err != nil {
		return fmt.Errorf("images: writing the index: %w", err)
	}
	fi, err := os.Stat(s.indexPath())
	if err != nil {
		return fmt.Errorf("images: %w", err)
	}
	s.images, s.stamp = images, fileStamp{fi.ModTime(), fi.Size()}
	return nil
}

func (s *Store) blobPath(digest string) string {
	return filepath.Join(s.root, "blobs/sha256", hexOf(digest))
}

func (s *Store) layerPath(diffID string) string {
	return filepath.Join(s.root, "layers/sha256", hexOf(diffID))
}

// hexOf is the hex part of "sha256:HEX".
func hexOf(digest string) string {
	_, h, _ := strings.Cut(digest, ":")
	return h
}

func clone(img *Image) Image {
	c := *img
	c.RepoTags = slices.Clone(img.RepoTags)
	c.RepoDigests = slices.Clone(img.RepoDigests)
	c.Layers = slices.Clone(img.Layers)
	return c
}

// writeFileAtomic replaces path with b: a reader sees the old file or the
// new one, and a crash leaves one of them.
func writeFileAtomic(path string, b []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// clearDir removes what dir holds.
func clearDir(dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("images: %w", err)
	}
	var errs []error
	for _, e := range entries {
		errs = append(errs, os.RemoveAll(filepath.Join(dir, e.Name())))
	}
	return errors.Join(errs...)
}

// ctxErr is ctx's error wrapped for an image operation.
func ctxErr(ctx context.Context, what string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

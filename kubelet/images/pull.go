package images

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// PullOptions says how to reach a registry.
type PullOptions struct {
	// Keychain gives credentials per registry (SecretsKeychain turns
	// imagePullSecrets into one); nil pulls anonymously.
	Keychain authn.Keychain
	// Transport carries the requests; nil is Go's default.
	Transport http.RoundTripper
}

// Pull fetches an image from its registry (the manifest for this machine's
// platform, linux/GOARCH, when the reference names an index), unpacks the
// layers the store does not have yet and records the image under the
// reference's name. Registries on loopback are spoken to over plain HTTP.
func (s *Store) Pull(ctx context.Context, ref string, opts PullOptions) (Image, error) {
	r, err := name.ParseReference(ref)
	if err != nil {
		return Image{}, fmt.Errorf("image reference %q: %w", ref, err)
	}
	ropts := []remote.Option{remote.WithContext(ctx), remote.WithPlatform(platform())}
	if opts.Keychain != nil {
		ropts = append(ropts, remote.WithAuthFromKeychain(opts.Keychain))
	}
	if opts.Transport != nil {
		ropts = append(ropts, remote.WithTransport(opts.Transport))
	}
	img, err := remote.Image(r, ropts...)
	if err != nil {
		return Image{}, fmt.Errorf("pulling %s: %w", normalized(r), err)
	}
	digest, err := img.Digest()
	if err != nil {
		return Image{}, fmt.Errorf("pulling %s: %w", normalized(r), err)
	}
	var tags []string
	if _, ok := r.(name.Tag); ok {
		tags = []string{normalized(r)}
	}
	out, err := s.add(ctx, img, tags, []string{repoName(r.Context()) + "@" + digest.String()}, false)
	if err != nil {
		return Image{}, fmt.Errorf("pulling %s: %w", normalized(r), err)
	}
	return out, nil
}

// Import stores the images of an archive: a `docker save` tarball, or an
// OCI image layout in a tar (`podman save --format oci-archive`, `docker
// buildx --output type=oci`), named by its io.containerd.image.name or
// org.opencontainers.image.ref.name annotations. Imported images are pinned.
func (s *Store) Import(ctx context.Context, path string) ([]Image, error) {
	kind, err := archiveKind(path)
	if err != nil {
		return nil, err
	}
	var out []Image
	switch kind {
	case "docker":
		opener := func() (io.ReadCloser, error) { return os.Open(path) }
		m, err := tarball.LoadManifest(opener)
		if err != nil {
			return nil, fmt.Errorf("importing %s: %w", path, err)
		}
		for _, d := range m {
			var tag *name.Tag
			var tags []string
			for _, t := range d.RepoTags {
				nt, err := name.NewTag(t)
				if err != nil {
					return nil, fmt.Errorf("importing %s: %w", path, err)
				}
				tag = &nt
				tags = append(tags, normalized(nt))
			}
			if tag == nil && len(m) > 1 {
				return nil, fmt.Errorf("importing %s: an image without a name among %d", path, len(m))
			}
			img, err := tarball.Image(opener, tag)
			if err != nil {
				return nil, fmt.Errorf("importing %s: %w", path, err)
			}
			stored, err := s.add(ctx, img, tags, nil, true)
			if err != nil {
				return nil, fmt.Errorf("importing %s: %w", path, err)
			}
			out = append(out, stored)
		}
	case "oci":
		dir, err := os.MkdirTemp(filepath.Join(s.root, "tmp"), "import-")
		if err != nil {
			return nil, fmt.Errorf("importing %s: %w", path, err)
		}
		defer os.RemoveAll(dir)
		f, err := os.Open(path)
		if err != nil {
			return nil, fmt.Errorf("importing %s: %w", path, err)
		}
		_, err = Unpack(ctx, f, dir)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("importing %s: %w", path, err)
		}
		idx, err := layout.ImageIndexFromPath(dir)
		if err != nil {
			return nil, fmt.Errorf("importing %s: %w", path, err)
		}
		if out, err = s.importIndex(ctx, idx, ""); err != nil {
			return nil, fmt.Errorf("importing %s: %w", path, err)
		}
	}
	return out, nil
}

// importIndex stores the images an OCI index names; an image index inside
// gives its manifest for this platform, under the index's name.
func (s *Store) importIndex(ctx context.Context, idx v1.ImageIndex, inherited string) ([]Image, error) {
	m, err := idx.IndexManifest()
	if err != nil {
		return nil, err
	}
	want := platform()
	var out []Image
	for _, d := range m.Manifests {
		ref := d.Annotations["io.containerd.image.name"]
		if ref == "" {
			ref = d.Annotations["org.opencontainers.image.ref.name"]
		}
		if ref == "" {
			ref = inherited
		}
		switch {
		case d.MediaType.IsIndex():
			child, err := idx.ImageIndex(d.Digest)
			if err != nil {
				return nil, err
			}
			imgs, err := s.importIndex(ctx, child, ref)
			if err != nil {
				return nil, err
			}
			out = append(out, imgs...)
		case d.MediaType.IsImage():
			if d.Platform != nil && !d.Platform.Satisfies(want) {
				continue
			}
			img, err := idx.Image(d.Digest)
			if err != nil {
				return nil, err
			}
			var tags, digests []string
			if ref != "" {
				r, err := name.ParseReference(ref)
				if err != nil {
					return nil, fmt.Errorf("image name %q: %w", ref, err)
				}
				if _, ok := r.(name.Tag); ok {
					tags = []string{normalized(r)}
				}
				digests = []string{repoName(r.Context()) + "@" + d.Digest.String()}
			}
			stored, err := s.add(ctx, img, tags, digests, true)
			if err != nil {
				return nil, err
			}
			out = append(out, stored)
		}
	}
	if len(out) == 0 && inherited == "" {
		return nil, fmt.Errorf("no image for %s/%s in the archive", want.OS, want.Architecture)
	}
	return out, nil
}

// archiveKind tells a docker save tarball ("docker", with manifest.json)
// from an OCI layout ("oci", with index.json).
func archiveKind(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("importing: %w", err)
	}
	defer f.Close()
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return "", fmt.Errorf("importing %s: neither a docker save archive (manifest.json) nor an OCI layout (index.json)", path)
		}
		if err != nil {
			return "", fmt.Errorf("importing %s: not a tar archive: %w", path, err)
		}
		switch filepath.Clean("/" + h.Name) {
		case "/manifest.json":
			return "docker", nil
		case "/index.json":
			return "oci", nil
		}
	}
}

// add stores img under the given names (which leave any image that had
// them), its layers unpacked, its config and manifest as blobs.
func (s *Store) add(ctx context.Context, img v1.Image, tags, digests []string, pinned bool) (Image, error) {
	id, err := img.ConfigName()
	if err != nil {
		return Image{}, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return Image{}, fmt.Errorf("config: %w", err)
	}
	if cf.OS != "" && cf.OS != "linux" {
		return Image{}, fmt.Errorf("the image is for %s, not linux", cf.OS)
	}
	rawConfig, err := img.RawConfigFile()
	if err != nil {
		return Image{}, fmt.Errorf("config: %w", err)
	}
	rawManifest, err := img.RawManifest()
	if err != nil {
		return Image{}, fmt.Errorf("manifest: %w", err)
	}
	manifestDigest, err := img.Digest()
	if err != nil {
		return Image{}, fmt.Errorf("manifest: %w", err)
	}
	layers, err := img.Layers()
	if err != nil {
		return Image{}, fmt.Errorf("layers: %w", err)
	}
	if len(layers) != len(cf.RootFS.DiffIDs) {
		return Image{}, fmt.Errorf("the config lists %d layers, the manifest %d", len(cf.RootFS.DiffIDs), len(layers))
	}
	size := int64(len(rawConfig))
	diffIDs := make([]string, len(layers))
	for i, l := range layers {
		if err := ctxErr(ctx, "storing the image"); err != nil {
			return Image{}, err
		}
		diffIDs[i] = cf.RootFS.DiffIDs[i].String()
		if err := s.ensureLayer(ctx, l, diffIDs[i]); err != nil {
			return Image{}, err
		}
		if n, err := l.Size(); err == nil {
			size += n
		}
	}
	for digest, b := range map[string][]byte{id.String(): rawConfig, manifestDigest.String(): rawManifest} {
		if _, err := os.Stat(s.blobPath(digest)); err == nil {
			continue
		}
		if err := writeFileAtomic(s.blobPath(digest), b); err != nil {
			return Image{}, fmt.Errorf("storing %s: %w", digest, err)
		}
	}
	var stored Image
	err = s.update(func(images []*Image) ([]*Image, error) {
		var cur *Image
		for _, img := range images {
			if img.ID == id.String() {
				cur = img
				continue
			}
			// A name points at one image: the newest stored under it.
			img.RepoTags = slices.DeleteFunc(img.RepoTags, func(t string) bool { return slices.Contains(tags, t) })
		}
		if cur == nil {
			cur = &Image{ID: id.String()}
			images = append(images, cur)
		}
		for _, t := range tags {
			if !slices.Contains(cur.RepoTags, t) {
				cur.RepoTags = append(cur.RepoTags, t)
			}
		}
		for _, d := range digests {
			if !slices.Contains(cur.RepoDigests, d) {
				cur.RepoDigests = append(cur.RepoDigests, d)
			}
		}
		cur.Layers, cur.Size = diffIDs, size
		cur.Pinned = cur.Pinned || pinned
		cur.LastUsed = time.Now()
		stored = clone(cur)
		return images, nil
	})
	return stored, err
}

// ensureLayer unpacks a layer unless the store has it, checking that its
// content is the diffID the image's config says.
func (s *Store) ensureLayer(ctx context.Context, l v1.Layer, diffID string) error {
	path := s.layerPath(diffID)
	if _, err := os.Stat(path); err == nil {
		return nil
	}
	mu := s.unpackLock(diffID)
	mu.Lock()
	defer mu.Unlock()
	if _, err := os.Stat(path); err == nil {
		return nil
	}
	tmp, err := os.MkdirTemp(filepath.Join(s.root, "tmp"), "layer-")
	if err != nil {
		return fmt.Errorf("layer %s: %w", diffID, err)
	}
	defer os.RemoveAll(tmp)
	// A layer without an entry for its root leaves the container's / open
	// to every user, as runtimes make it.
	if err := os.Chmod(tmp, 0o755); err != nil {
		return fmt.Errorf("layer %s: %w", diffID, err)
	}
	rc, err := l.Uncompressed()
	if err != nil {
		return fmt.Errorf("layer %s: %w", diffID, err)
	}
	got, err := Unpack(ctx, rc, tmp)
	if cerr := rc.Close(); err == nil && cerr != nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("layer %s: %w", diffID, err)
	}
	if got != diffID {
		return fmt.Errorf("layer %s: its content has digest %s", diffID, got)
	}
	if err := os.Rename(tmp, path); err != nil {
		if _, serr := os.Stat(path); serr == nil {
			return nil // another process unpacked it meanwhile
		}
		return fmt.Errorf("layer %s: %w", diffID, err)
	}
	return nil
}

func (s *Store) unpackLock(diffID string) *sync.Mutex {
	s.mu.Lock()
	defer s.mu.Unlock()
	mu, ok := s.unpacks[diffID]
	if !ok {
		mu = &sync.Mutex{}
		s.unpacks[diffID] = mu
	}
	return mu
}

// platform is what this machine runs.
func platform() v1.Platform {
	return v1.Platform{OS: "linux", Architecture: runtime.GOARCH}
}

package images

import (
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"
)

// Normalize returns the full form of an image reference, as the kubelet and
// containerd show it: "nginx" is "docker.io/library/nginx:latest",
// "registry.local:5000/app@sha256:..." stays as it is.
func Normalize(ref string) (string, error) {
	r, err := name.ParseReference(ref)
	if err != nil {
		return "", fmt.Errorf("image reference %q: %w", ref, err)
	}
	return normalized(r), nil
}

// normalized is r's full form with Docker Hub named docker.io.
func normalized(r name.Reference) string {
	repo := repoName(r.Context())
	switch r := r.(type) {
	case name.Digest:
		return repo + "@" + r.DigestStr()
	case name.Tag:
		return repo + ":" + r.TagStr()
	}
	return r.Name()
}

// repoName is a repository's full name with Docker Hub named docker.io.
func repoName(repo name.Repository) string {
	registry := repo.RegistryStr()
	if registry == name.DefaultRegistry {
		registry = "docker.io"
	}
	return registry + "/" + repo.RepositoryStr()
}

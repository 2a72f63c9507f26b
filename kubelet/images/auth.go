package images

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
)

// SecretsKeychain is a keychain of the credentials in the docker configs of
// a pod's imagePullSecrets: the data of a kubernetes.io/dockerconfigjson
// secret's ".dockerconfigjson" ({"auths": {REGISTRY: ...}}) or a
// kubernetes.io/dockercfg secret's ".dockercfg" ({REGISTRY: ...}). A registry
// key may be a host ("registry.local:5000"), a URL ("https://index.docker.io/v1/")
// or a host with a path prefix ("registry.local/team"), which matches the
// repositories under it; the longest match wins, as upstream's keyring.
func SecretsKeychain(configs ...[]byte) (authn.Keychain, error) {
	k := &secretsKeychain{}
	for i, b := range configs {
		var withAuths struct {
			Auths map[string]dockerAuth `json:"auths"`
		}
		if err := json.Unmarshal(b, &withAuths); err != nil {
			return nil, fmt.Errorf("docker config %d: %w", i, err)
		}
		auths := withAuths.Auths
		if auths == nil {
			if err := json.Unmarshal(b, &auths); err != nil {
				return nil, fmt.Errorf("docker config %d: %w", i, err)
			}
		}
		for key, a := range auths {
			cfg, err := a.config()
			if err != nil {
				return nil, fmt.Errorf("docker config %d, %s: %w", i, key, err)
			}
			k.entries = append(k.entries, keyEntry{prefix: keyPrefix(key), cfg: cfg})
		}
	}
	return k, nil
}

type dockerAuth struct {
	Username      string `json:"username"`
	Password      string `json:"password"`
	Auth          string `json:"auth"`
	IdentityToken string `json:"identitytoken"`
	RegistryToken string `json:"registrytoken"`
}

func (a dockerAuth) config() (authn.AuthConfig, error) {
	cfg := authn.AuthConfig{Username: a.Username, Password: a.Password,
		IdentityToken: a.IdentityToken, RegistryToken: a.RegistryToken}
	if a.Auth != "" {
		b, err := base64.StdEncoding.DecodeString(a.Auth)
		if err != nil {
			return cfg, fmt.Errorf("auth is not base64: %w", err)
		}
		user, pass, ok := strings.Cut(string(b), ":")
		if !ok {
			return cfg, fmt.Errorf("auth is not user:password")
		}
		cfg.Username, cfg.Password = user, pass
	}
	return cfg, nil
}

type keyEntry struct {
	prefix string // host[/path], Docker Hub as docker.io
	cfg    authn.AuthConfig
}

type secretsKeychain struct{ entries []keyEntry }

// keyPrefix turns a docker config key into host[/path].
func keyPrefix(key string) string {
	if u, err := url.Parse(key); err == nil && u.Host != "" {
		key = u.Host + strings.TrimSuffix(u.Path, "/")
	}
	key = strings.TrimSuffix(key, "/")
	host, path, _ := strings.Cut(key, "/")
	switch host {
	case name.DefaultRegistry, "registry-1.docker.io":
		host, path = "docker.io", ""
	}
	if path == "v1" || path == "v2" {
		path = ""
	}
	if path != "" {
		return host + "/" + path
	}
	return host
}

// Resolve returns the credentials of the longest key matching the
// repository, anonymous when none does.
func (k *secretsKeychain) Resolve(target authn.Resource) (authn.Authenticator, error) {
	want := target.RegistryStr()
	if want == name.DefaultRegistry {
		want = "docker.io"
	}
	if repo, ok := target.(name.Repository); ok {
		want = repoName(repo)
	}
	best := -1
	for i, e := range k.entries {
		if want != e.prefix && !strings.HasPrefix(want, e.prefix+"/") {
			continue
		}
		if best < 0 || len(e.prefix) > len(k.entries[best].prefix) {
			best = i
		}
	}
	if best < 0 {
		return authn.Anonymous, nil
	}
	return authn.FromConfig(k.entries[best].cfg), nil
}

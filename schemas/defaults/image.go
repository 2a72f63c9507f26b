package defaults

import (
	"regexp"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// pullPolicyFor is the imagePullPolicy upstream gives a container (or an image volume) that
// names none: Always when the reference's tag is "latest", IfNotPresent otherwise.
func pullPolicyFor(image string) corev1.PullPolicy {
	if imageTag(image) == "latest" {
		return corev1.PullAlways
	}
	return corev1.PullIfNotPresent
}

// imageTag returns the tag upstream reads from an image reference with
// k8s.io/kubernetes/pkg/util/parsers.ParseImageName: a reference with neither a tag nor a
// digest reads as "latest"; one with only a digest has no tag; one with both keeps its tag.
// A reference that does not parse yields "", because upstream ignores the parse error and
// reads the empty tag it was handed, so such an image gets IfNotPresent.
//
// The grammar is the one of github.com/distribution/reference's ParseNormalizedNamed, written
// out here rather than imported to keep tend free of that dependency.
func imageTag(image string) string {
	if anchoredIdentifier.MatchString(image) {
		return "" // a bare 64-hex image ID is refused by ParseNormalizedNamed
	}

	domain, remainder := splitDockerDomain(image)
	remote := remainder
	if i := strings.IndexByte(remainder, ':'); i >= 0 {
		remote = remainder[:i]
	}
	if strings.ToLower(remote) != remote {
		return "" // repository name must be lowercase
	}

	m := referencePattern.FindStringSubmatch(domain + "/" + remainder)
	if m == nil {
		return ""
	}
	name, tag, digest := m[1], m[2], m[3]
	if len(name) > maxNameLength {
		return ""
	}
	if digest != "" && !validDigest(digest) {
		return ""
	}
	if tag == "" && digest == "" {
		return "latest"
	}
	return tag
}

const (
	maxNameLength = 255
	defaultDomain = "docker.io"
)

var (
	anchoredIdentifier = regexp.MustCompile(`^[a-f0-9]{64}$`)

	domainComponent = `(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])`
	domainPattern   = `(?:` + domainComponent + `(?:\.` + domainComponent + `)*|\[[a-fA-F0-9:]+\])(?::[0-9]+)?`
	pathComponent   = `[a-z0-9]+(?:(?:[._]|__|[-]*)[a-z0-9]+)*`
	namePattern     = `(?:` + domainPattern + `/)?` + pathComponent + `(?:/` + pathComponent + `)*`
	tagPattern      = `[\w][\w.-]{0,127}`
	digestPattern   = `[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}`

	referencePattern = regexp.MustCompile(`^(` + namePattern + `)(?::(` + tagPattern + `))?(?:@(` + digestPattern + `))?$`)

	// digestHexLength lists the algorithms ParseImageName can verify (it links crypto/sha256
	// and crypto/sha512); any other algorithm makes the reference fail to parse.
	digestHexLength = map[string]int{"sha256": 64, "sha384": 96, "sha512": 128}
	lowerHex        = regexp.MustCompile(`^[a-f0-9]+$`)
)

// splitDockerDomain mirrors distribution/reference: the first path element is a registry
// only if it looks like one (has a dot or a port, is localhost, or has upper case); Docker Hub
// names without a namespace live under library/.
func splitDockerDomain(name string) (domain, remainder string) {
	i := strings.IndexByte(name, '/')
	if i == -1 || (!strings.ContainsAny(name[:i], ".:") && name[:i] != "localhost" && strings.ToLower(name[:i]) == name[:i]) {
		domain, remainder = defaultDomain, name
	} else {
		domain, remainder = name[:i], name[i+1:]
	}
	if domain == "index.docker.io" {
		domain = defaultDomain
	}
	if domain == defaultDomain && !strings.ContainsRune(remainder, '/') {
		remainder = "library/" + remainder
	}
	return domain, remainder
}

func validDigest(d string) bool {
	algorithm, hex, _ := strings.Cut(d, ":")
	n, ok := digestHexLength[algorithm]
	return ok && len(hex) == n && lowerHex.MatchString(hex)
}

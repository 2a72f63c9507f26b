package deployment

import (
	"encoding/binary"
	"fmt"
	"hash/fnv"

	"github.com/davecgh/go-spew/spew"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/rand"
)

// ComputeHash is upstream's pod-template-hash (controller.ComputeHash): FNV-32a
// over a spew dump of the template, then of collisionCount when set, rendered
// as the decimal of the sum in the safe alphabet. For the same k8s.io/api types
// it gives the same names as Kubernetes does ("web-7d9c8b6f5"), which is what
// users and tools look for. The DaemonSet controller's controller-revision-hash
// is the same function.
func ComputeHash(template *corev1.PodTemplateSpec, collisionCount *int32) string {
	h := fnv.New32a()
	printer := spew.ConfigState{Indent: " ", SortKeys: true, DisableMethods: true, SpewKeys: true}
	printer.Fprintf(h, "%#v", *template)
	if collisionCount != nil {
		b := make([]byte, 8)
		binary.LittleEndian.PutUint32(b, uint32(*collisionCount))
		h.Write(b)
	}
	return rand.SafeEncodeString(fmt.Sprint(h.Sum32()))
}

// dns1123SubdomainMaxLength bounds object names.
const dns1123SubdomainMaxLength = 253

// replicaSetName is "<deployment>-<hash>", the Deployment's name shortened when
// the whole would not be a valid name.
func replicaSetName(deployment, hash string) string {
	if room := dns1123SubdomainMaxLength - 1 - len(hash); len(deployment) > room && room > 0 {
		deployment = deployment[:room]
	}
	return deployment + "-" + hash
}

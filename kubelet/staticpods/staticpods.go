// Package staticpods reads static pods: the pods a kubelet runs from manifest
// files on its node (--pod-manifest-path, upstream's staticPodPath) rather
// than from the API. It is upstream's file source (pkg/kubelet/config/file.go,
// file_linux.go and common.go), for tend's kubelet.
//
// Contract, as upstream's:
//
//   - The path is a directory of manifests or a single manifest file. In a
//     directory, every entry whose name does not start with a dot is read, in
//     name order, whatever its extension; subdirectories are not recursed into.
//     A directory that does not exist holds no pods.
//   - A file holds one Pod (YAML or JSON, apiVersion v1), at most 10 MiB. A
//     PodList or any other kind is refused, as upstream's file source refuses
//     it (only its HTTP source reads lists).
//   - The pod gets upstream's defaults (applyDefaults): a UID that hashes the
//     defaulted manifest, the node name and the file's path, unless the
//     manifest sets one; the name "<name>-<node name>"; namespace "default"
//     when empty; spec.nodeName; the annotation kubernetes.io/config.hash
//     (the UID); a toleration of every NoExecute taint; phase Pending. Before
//     that it gets the API's scheme defaults, and after it what the apiserver
//     does on create (PrepareForCreate: a Pending status with the QoS class),
//     then the apiserver's validation.
//   - A pod that references API objects (a service account, secrets, config
//     maps, claims, CSI volumes...) is refused: "static pods may not reference
//     <resource>", upstream's PreventStaticPodAPIReferences, GA in 1.37.
//   - A file that cannot be used is reported with its path and reason; the
//     other files still count. When two files define pods of the same
//     namespace and name, the later file (in name order) wins and the earlier
//     one is reported.
//
// Read reads the path once; a Source reads it again every period and, on
// Linux, whenever inotify reports a change in it.
package staticpods

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"

	"github.com/tendhq/tend/schemas/defaults"
	"github.com/tendhq/tend/schemas/validation"
)

// Upstream's annotations of pods from a source other than the API
// (pkg/kubelet/types/pod_update.go).
const (
	// ConfigSourceAnnotation says where a pod came from: "file" for static pods.
	ConfigSourceAnnotation = "kubernetes.io/config.source"
	// ConfigHashAnnotation is a static pod's hash: its UID.
	ConfigHashAnnotation = "kubernetes.io/config.hash"
	// ConfigSeenAnnotation is when the kubelet first saw the pod (RFC 3339).
	ConfigSeenAnnotation = "kubernetes.io/config.seen"
	// ConfigMirrorAnnotation marks a mirror pod, the API's copy of a static
	// pod; its value is the static pod's hash.
	ConfigMirrorAnnotation = "kubernetes.io/config.mirror"
	// FileSource is the config.source of static pods.
	FileSource = "file"
)

// maxManifestSize is upstream's maxConfigLength.
const maxManifestSize = 10 << 20

// Update is one reading of the path: the static pods it defines, in file
// name order.
type Update struct {
	Pods []*corev1.Pod
	// Errors are the files whose pods are not in Pods, and why.
	Errors []FileError
	// Err says the path could not be read at all; Pods and Errors are then
	// empty and say nothing: keep the pods read before (upstream does).
	Err error
}

// FileError is a manifest that could not be used.
type FileError struct {
	Path string
	Err  error
}

func (e FileError) Error() string { return e.Path + ": " + e.Err.Error() }
func (e FileError) Unwrap() error { return e.Err }

// Read reads the static pods of path, a directory of manifests or one
// manifest file, for the node nodeName. A path that does not exist defines no
// pods.
func Read(path, nodeName string) Update {
	info, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return Update{}
	case err != nil:
		return Update{Err: err}
	case info.IsDir():
		return readDir(path, nodeName)
	case info.Mode().IsRegular():
		pod, err := ReadFile(path, nodeName)
		if err != nil {
			// As upstream: a manifest path that is one bad file changes nothing.
			return Update{Err: err}
		}
		return Update{Pods: []*corev1.Pod{pod}}
	}
	return Update{Err: fmt.Errorf("path %s is not a directory or file", path)}
}

func readDir(dir, nodeName string) Update {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return Update{Err: err}
	}
	var u Update
	var files []string         // the file of each of u.Pods
	byName := map[string]int{} // namespace/name → index in u.Pods
	sort.Slice(entries, func(i, j int) bool { return entries[i].Name() < entries[j].Name() })
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			continue
		}
		path := filepath.Join(dir, e.Name())
		info, err := os.Stat(path) // follows symlinks, as upstream's
		switch {
		case err != nil:
			u.Errors = append(u.Errors, FileError{path, err})
			continue
		case info.IsDir():
			continue // upstream does not recurse
		case !info.Mode().IsRegular():
			u.Errors = append(u.Errors, FileError{path, fmt.Errorf("not a regular file (%v)", info.Mode().Type())})
			continue
		}
		pod, err := ReadFile(path, nodeName)
		if err != nil {
			u.Errors = append(u.Errors, FileError{path, err})
			continue
		}
		key := pod.Namespace + "/" + pod.Name
		if i, dup := byName[key]; dup {
			u.Errors = append(u.Errors, FileError{files[i], fmt.Errorf("pod %s is defined again in %s, which is used instead", key, path)})
			u.Pods[i], files[i] = pod, path
			continue
		}
		byName[key] = len(u.Pods)
		u.Pods = append(u.Pods, pod)
		files = append(files, path)
	}
	return u
}

// ReadFile reads one manifest.
func ReadFile(path, nodeName string) (*corev1.Pod, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxManifestSize+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxManifestSize {
		return nil, fmt.Errorf("larger than %d bytes", maxManifestSize)
	}
	return Decode(data, path, nodeName)
}

// Decode makes the static pod of the manifest data, read from path, for the
// node nodeName, as the package comment says.
func Decode(data []byte, path, nodeName string) (*corev1.Pod, error) {
	pod, err := decodePod(data)
	if err != nil {
		return nil, fmt.Errorf("%s: couldn't parse as pod(%v), please check config file", path, err)
	}
	if pod.Name == "" {
		return nil, errors.New("invalid pod: name is needed for the pod")
	}
	defaults.Default(pod)
	applyDefaults(pod, path, nodeName)
	defaults.PrepareForCreate(pod)
	if errs := validation.Validate(pod); len(errs) > 0 {
		return nil, fmt.Errorf("invalid pod: %v", errs)
	}
	resource, err := APIReference(pod)
	if err != nil {
		return nil, err
	}
	if resource != "" {
		return nil, fmt.Errorf("static pods may not reference %s", resource)
	}
	return pod, nil
}

// decodePod decodes a v1 Pod from YAML or JSON, ignoring unknown fields as
// upstream's (non-strict) decoder does.
func decodePod(data []byte) (*corev1.Pod, error) {
	j, err := yaml.YAMLToJSON(data)
	if err != nil {
		return nil, err
	}
	var tm metav1.TypeMeta
	if err := json.Unmarshal(j, &tm); err != nil || bytes.Equal(bytes.TrimSpace(j), []byte("null")) {
		return nil, errors.New("the manifest is not an object")
	}
	switch {
	case tm.Kind == "":
		return nil, errors.New("Object 'Kind' is missing")
	case tm.APIVersion == "":
		return nil, errors.New("Object 'apiVersion' is missing")
	case tm.APIVersion != "v1" || tm.Kind != "Pod":
		return nil, fmt.Errorf("invalid pod: the manifest is a %s %s, not a v1 Pod", tm.APIVersion, tm.Kind)
	}
	pod := &corev1.Pod{}
	if err := kjson.UnmarshalCaseSensitivePreserveInts(j, pod); err != nil {
		return nil, err
	}
	return pod, nil
}

// applyDefaults is upstream's applyDefaults for a file: the UID hashes the
// (scheme-defaulted) pod, then the node and the file, as upstream's (which
// hashes its internal object; tend hashes the v1 object's JSON, which is
// stable across runs: the same manifest on the same node keeps its UID).
func applyDefaults(pod *corev1.Pod, path, nodeName string) {
	if pod.UID == "" {
		h := fnv.New128a()
		b, _ := json.Marshal(pod) // a Pod always marshals
		h.Write(b)
		fmt.Fprintf(h, "host:%s", nodeName)
		fmt.Fprintf(h, "file:%s", path)
		pod.UID = types.UID(hex.EncodeToString(h.Sum(nil)))
	}
	pod.Name = pod.Name + "-" + strings.ToLower(nodeName)
	if pod.Namespace == "" {
		pod.Namespace = metav1.NamespaceDefault
	}
	pod.Spec.NodeName = nodeName
	if pod.Annotations == nil {
		pod.Annotations = map[string]string{}
	}
	pod.Annotations[ConfigHashAnnotation] = string(pod.UID)
	// Static pods are not evicted for node problems.
	addOrUpdateToleration(pod, corev1.Toleration{Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute})
	pod.Status.Phase = corev1.PodPending
}

// addOrUpdateToleration is upstream's AddOrUpdateTolerationInPod.
func addOrUpdateToleration(pod *corev1.Pod, t corev1.Toleration) {
	var out []corev1.Toleration
	updated := false
	for i := range pod.Spec.Tolerations {
		if t.MatchToleration(&pod.Spec.Tolerations[i]) {
			if pod.Spec.Tolerations[i] == t {
				return
			}
			out = append(out, t)
			updated = true
			continue
		}
		out = append(out, pod.Spec.Tolerations[i])
	}
	if !updated {
		out = append(out, t)
	}
	pod.Spec.Tolerations = out
}

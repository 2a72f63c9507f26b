package kubelet

import (
	"context"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ImageService is what a runtime that keeps images offers the kubelet (the
// simulated runtime keeps none): with it, the kubelet pulls a container's
// image before creating the container, by its imagePullPolicy, as
// upstream's image manager does.
type ImageService interface {
	// ImagePresent reports whether the node has the image (a reference as a
	// pod names it).
	ImagePresent(ctx context.Context, image string) (bool, error)
	// PullImage pulls an image with the credentials of the pod's
	// imagePullSecrets (the data of their .dockerconfigjson or .dockercfg
	// keys), and returns its size in bytes.
	PullImage(ctx context.Context, image string, pullSecrets [][]byte) (int64, error)
}

// Image pull reasons of a waiting container, as upstream's.
const (
	reasonErrImagePull      = "ErrImagePull"
	reasonImagePullBackOff  = "ImagePullBackOff"
	reasonErrImageNeverPull = "ErrImageNeverPull"
)

// ensureImage makes sure the node has a container's image before it is
// created: present and not Always, or pulled. It reports whether the
// container may be created now; when not, it set the container's waiting
// reason and when to try again, and sent the events upstream's kubelet
// sends.
func (w *podWorker) ensureImage(ctx context.Context, pod *corev1.Pod, c *corev1.Container) (ok, changed bool) {
	k := w.k
	is := k.images
	if is == nil {
		return true, false
	}
	image := c.Image
	present, err := is.ImagePresent(ctx, image)
	if err != nil {
		changed := w.setReason(c.Name, reasonErrImagePull, err.Error())
		w.retryIn(k.cfg.ContainerBackOff)
		return false, changed
	}
	policy := c.ImagePullPolicy
	if policy == "" {
		policy = corev1.PullIfNotPresent
		if !strings.Contains(lastPathElement(image), ":") && !strings.Contains(image, "@") || strings.HasSuffix(image, ":latest") {
			policy = corev1.PullAlways
		}
	}
	switch {
	case policy == corev1.PullNever && !present:
		msg := fmt.Sprintf("Container image %q is not present with pull policy of Never", image)
		changed := w.setReason(c.Name, reasonErrImageNeverPull, msg)
		if changed {
			k.event(pod, corev1.EventTypeWarning, reasonErrImageNeverPull, "%s", msg)
		}
		w.retryIn(k.cfg.ContainerBackOff)
		return false, changed
	case present && policy != corev1.PullAlways:
		k.event(pod, corev1.EventTypeNormal, "Pulled", "Container image %q already present on machine", image)
		return true, false
	}
	key := "image/" + backOffKey(pod, c.Name) + "/" + image
	if k.backOff.IsInBackOffSinceUpdate(key, k.clock.Now()) {
		msg := fmt.Sprintf("Back-off pulling image %q", image)
		changed := w.setReason(c.Name, reasonImagePullBackOff, msg)
		if changed {
			k.event(pod, corev1.EventTypeNormal, "BackOff", "%s", msg)
		}
		w.retryIn(k.backOff.Get(key))
		return false, changed
	}
	secrets, err := w.pullSecrets(ctx, pod)
	if err != nil {
		k.logf("pod %s: %v", w.key(), err)
	}
	k.event(pod, corev1.EventTypeNormal, "Pulling", "Pulling image %q", image)
	start := k.clock.Now()
	size, err := is.PullImage(ctx, image, secrets)
	if err != nil {
		if ctx.Err() != nil {
			return false, false
		}
		k.backOff.Next(key, k.clock.Now())
		msg := fmt.Sprintf("Failed to pull image %q: %v", image, err)
		k.event(pod, corev1.EventTypeWarning, "Failed", "%s", msg)
		k.event(pod, corev1.EventTypeWarning, "Failed", "Error: %s", reasonErrImagePull)
		changed := w.setReason(c.Name, reasonErrImagePull, msg)
		w.retryIn(k.backOff.Get(key))
		return false, changed
	}
	k.backOff.Reset(key)
	took := k.clock.Since(start).Round(time.Millisecond)
	k.event(pod, corev1.EventTypeNormal, "Pulled", "Successfully pulled image %q in %v (%v including waiting). Image size: %d bytes.", image, took, took, size)
	return true, false
}

// pullSecrets are the docker configs of the pod's imagePullSecrets; a
// secret that is missing or of another type is skipped, as upstream's.
func (w *podWorker) pullSecrets(ctx context.Context, pod *corev1.Pod) ([][]byte, error) {
	var out [][]byte
	var missing []string
	for _, ref := range pod.Spec.ImagePullSecrets {
		s, err := w.k.cfg.Client.CoreV1().Secrets(pod.Namespace).Get(ctx, ref.Name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			missing = append(missing, ref.Name)
			continue
		}
		if err != nil {
			return out, fmt.Errorf("reading image pull secret %s: %w", ref.Name, err)
		}
		for _, key := range []string{corev1.DockerConfigJsonKey, corev1.DockerConfigKey} {
			if b, ok := s.Data[key]; ok {
				out = append(out, b)
			}
		}
	}
	if len(missing) > 0 {
		return out, fmt.Errorf("image pull secrets %v of pod %s do not exist", missing, w.key())
	}
	return out, nil
}

// lastPathElement is what follows an image reference's last slash: where
// a tag is.
func lastPathElement(image string) string {
	return image[strings.LastIndex(image, "/")+1:]
}

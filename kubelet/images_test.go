package kubelet_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/tendhq/tend/kubelet"
	"github.com/tendhq/tend/kubelet/images"
	"github.com/tendhq/tend/kubelet/simulated"
	"github.com/tendhq/tend/tendtest"
	"github.com/tendhq/tend/test/testapp/testimage"
)

// imageRuntime is the simulated runtime with a real image store: what the
// kubelet pulls lands in it.
type imageRuntime struct {
	*simulated.Runtime
	store *images.Store
}

func (r *imageRuntime) ImagePresent(_ context.Context, image string) (bool, error) {
	_, err := r.store.Get(image)
	if errors.Is(err, images.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

func (r *imageRuntime) PullImage(ctx context.Context, image string, secrets [][]byte) (int64, error) {
	kc, err := images.SecretsKeychain(secrets...)
	if err != nil {
		return 0, err
	}
	img, err := r.store.Pull(ctx, image, images.PullOptions{Keychain: kc})
	return img.Size, err
}

// TestImagePulls: the kubelet pulls a container's image by its
// imagePullPolicy before creating it, with upstream's events and waiting
// reasons when it cannot.
func TestImagePulls(t *testing.T) {
	reg := testimage.Registry(t)
	image := reg + "/testapp:1"
	testimage.Push(t, image)
	store, err := images.Open(filepath.Join(t.TempDir(), "images"))
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{}
	c := tendtest.Start(t, tendtest.Options{})
	client := c.Client()
	cfg := fastConfig("hollow-0", client, &imageRuntime{Runtime: newRuntime(), store: store})
	cfg.Recorder = rec
	startNode(t, cfg)
	setPodCIDR(t, client, "hollow-0", "10.42.0.0/24")

	withImage := func(img string, policy corev1.PullPolicy) podOpt {
		return func(p *corev1.Pod) {
			p.Spec.Containers[0].Image = img
			p.Spec.Containers[0].ImagePullPolicy = policy
		}
	}
	createPod(t, client, newPod("first", "hollow-0", withImage(image, corev1.PullIfNotPresent)))
	waitPod(t, client, "first", runningAndReady)
	if _, err := store.Get(image); err != nil {
		t.Errorf("the image is not in the store after the pod ran: %v", err)
	}
	createPod(t, client, newPod("second", "hollow-0", withImage(image, corev1.PullIfNotPresent)))
	waitPod(t, client, "second", runningAndReady)

	missing := reg + "/missing:1"
	createPod(t, client, newPod("missing", "hollow-0", withImage(missing, corev1.PullIfNotPresent)))
	createPod(t, client, newPod("never", "hollow-0", withImage(reg+"/other:1", corev1.PullNever)))
	waiting := func(reason, message string) func(*corev1.Pod) string {
		return func(p *corev1.Pod) string {
			for _, cs := range p.Status.ContainerStatuses {
				if w := cs.State.Waiting; w != nil && w.Reason == reason && (message == "" || w.Message == message) {
					return ""
				}
			}
			return fmt.Sprintf("not waiting with %s %q: %s", reason, message, statusString(p))
		}
	}
	waitPod(t, client, "missing", waiting("ImagePullBackOff", fmt.Sprintf("Back-off pulling image %q", missing)))
	waitPod(t, client, "never", waiting("ErrImageNeverPull", fmt.Sprintf("Container image %q is not present with pull policy of Never", reg+"/other:1")))

	for _, want := range [][2]string{
		{"first", fmt.Sprintf("Normal Pulling: Pulling image %q", image)},
		{"first", fmt.Sprintf("Normal Pulled: Successfully pulled image %q in ", image)},
		{"second", fmt.Sprintf("Normal Pulled: Container image %q already present on machine", image)},
		{"missing", fmt.Sprintf("Warning Failed: Failed to pull image %q: ", missing)},
		{"missing", "Warning Failed: Error: ErrImagePull"},
		{"missing", fmt.Sprintf("Normal BackOff: Back-off pulling image %q", missing)},
		{"never", "Warning ErrImageNeverPull: Container image"},
	} {
		tendtest.Eventually(t, waitFor, func() string {
			if !rec.has(want[0], want[1]) {
				return fmt.Sprintf("no event %q about %s", want[1], want[0])
			}
			return ""
		})
	}
	var _ kubelet.ImageService = &imageRuntime{}
}

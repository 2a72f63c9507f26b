package kubelet_test

import (
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"

	"github.com/tendhq/tend/kubelet/simulated"
	"github.com/tendhq/tend/tendtest"
)

// statusWrites records the kubelet's writes of pods/status by verb, and can
// answer every status update with a 409 Conflict, as the apiserver does when
// someone else wrote the pod first.
type statusWrites struct {
	conflict bool
	rt       http.RoundTripper

	mu      sync.Mutex
	byVerb  map[string]int
	patches []string
}

func (s *statusWrites) RoundTrip(r *http.Request) (*http.Response, error) {
	if !strings.HasSuffix(r.URL.Path, "/status") || !strings.Contains(r.URL.Path, "/pods/") {
		return s.rt.RoundTrip(r)
	}
	s.mu.Lock()
	s.byVerb[r.Method]++
	if r.Method == http.MethodPatch && r.GetBody != nil {
		if b, err := r.GetBody(); err == nil {
			body, _ := io.ReadAll(b)
			s.patches = append(s.patches, string(body))
		}
	}
	s.mu.Unlock()
	if s.conflict && r.Method == http.MethodPut {
		body := `{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"Operation cannot be fulfilled on pods: the object has been modified; please apply your changes to the latest version and try again","reason":"Conflict","code":409}`
		return &http.Response{StatusCode: http.StatusConflict, Status: "409 Conflict", Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
			Header: http.Header{"Content-Type": {"application/json"}}, Body: io.NopCloser(strings.NewReader(body)), Request: r}, nil
	}
	return s.rt.RoundTrip(r)
}

func (s *statusWrites) counts() (map[string]int, []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]int{}
	for k, v := range s.byVerb {
		out[k] = v
	}
	return out, append([]string(nil), s.patches...)
}

// TestStatusWritesKeepOthersChanges: the kubelet replaces the status of the
// pod version it knows, and when that version is stale (409) it patches
// with the pod's UID as a precondition; either way a condition and a label
// someone else wrote survive its next write.
func TestStatusWritesKeepOthersChanges(t *testing.T) {
	for _, tt := range []struct {
		name     string
		conflict bool
	}{{"update", false}, {"conflict then patch", true}} {
		t.Run(tt.name, func(t *testing.T) {
			c := tendtest.Start(t, tendtest.Options{})
			admin := c.Client()
			writes := &statusWrites{conflict: tt.conflict, byVerb: map[string]int{}}
			rc := c.RESTConfig()
			rc.Wrap(func(rt http.RoundTripper) http.RoundTripper { writes.rt = rt; return writes })
			client := kubernetes.NewForConfigOrDie(rc)
			startNode(t, fastConfig("hollow-0", client, newRuntime()))
			setPodCIDR(t, admin, "hollow-0", "10.42.0.0/24")

			p := newPod("web", "hollow-0", annotate(simulated.UnreadyAfter, "2s"))
			p.Spec.Containers[0].ReadinessProbe = &corev1.Probe{PeriodSeconds: 1,
				ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/", Port: intOrString(80)}}}
			createPod(t, admin, p)
			waitPod(t, admin, "web", runningAndReady)

			// Someone else writes a condition of their own and a label.
			patch := `{"status":{"conditions":[{"type":"example.com/Checked","status":"True"}]}}`
			if _, err := admin.CoreV1().Pods("default").Patch(t.Context(), "web", types.StrategicMergePatchType, []byte(patch), metav1.PatchOptions{}, "status"); err != nil {
				t.Fatal(err)
			}
			if _, err := admin.CoreV1().Pods("default").Patch(t.Context(), "web", types.MergePatchType, []byte(`{"metadata":{"labels":{"checked":"yes"}}}`), metav1.PatchOptions{}); err != nil {
				t.Fatal(err)
			}
			got := waitPod(t, admin, "web", func(p *corev1.Pod) string {
				if c := podCondition(p, corev1.PodReady); c == nil || c.Status != corev1.ConditionFalse {
					return "Ready not False yet"
				}
				return ""
			})
			if c := podCondition(got, "example.com/Checked"); c == nil || c.Status != corev1.ConditionTrue {
				t.Errorf("example.com/Checked = %+v after the kubelet's write; want kept True", c)
			}
			if got.Labels["checked"] != "yes" {
				t.Errorf("labels = %v after the kubelet's write; want checked=yes kept", got.Labels)
			}
			byVerb, patches := writes.counts()
			if tt.conflict {
				if byVerb[http.MethodPatch] < 3 {
					t.Errorf("status writes %v; want the conflicts followed by patches", byVerb)
				}
				for _, p := range patches {
					if !strings.Contains(p, `"uid":"`+string(got.UID)+`"`) {
						t.Errorf("status patch %s lacks the pod's UID as a precondition", p)
					}
				}
			} else if byVerb[http.MethodPut] < 3 || byVerb[http.MethodPatch] > 1 {
				t.Errorf("status writes %v; want updates (a patch at most after the foreign write)", byVerb)
			}
		})
	}
}

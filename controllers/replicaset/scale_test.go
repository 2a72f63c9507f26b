package replicaset

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/tendhq/tend/controllers"

	"github.com/tendhq/tend/tendtest"
)

// TestScaleUpThousand creates 1,000 pods and reports how long it took, and
// the slowest answer another client got from the apiserver meanwhile.
// Knobs for measuring: TEND_RS_SCALE=n scales to n instead;
// TEND_RS_NOKUBELET=1 leaves pods Pending (as test/bench/scale does);
// TEND_RS_QPS=q rate-limits the controller's client to q (burst 2q), as the
// controller-manager's QPS does.
func TestScaleUpThousand(t *testing.T) {
	n := 1000
	if v := os.Getenv("TEND_RS_SCALE"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil {
			t.Fatalf("TEND_RS_SCALE=%q: %v", v, err)
		}
	}
	e := newEnv(t)
	if os.Getenv("TEND_RS_NOKUBELET") == "" {
		tendtest.StartKubelet(t, e.cluster, tendtest.KubeletOptions{})
	}
	// The controller's client is the controller-manager's: protobuf, and its
	// rate limit (TEND_RS_QPS, default none to speak of).
	rc := e.cluster.RESTConfig()
	rc.ContentType = "application/vnd.kubernetes.protobuf"
	rc.AcceptContentTypes = "application/vnd.kubernetes.protobuf,application/json"
	if v := os.Getenv("TEND_RS_QPS"); v != "" {
		qps, err := strconv.Atoi(v)
		if err != nil {
			t.Fatalf("TEND_RS_QPS=%q: %v", v, err)
		}
		rc.QPS, rc.Burst = float32(qps), 2*qps
	}
	client := kubernetes.NewForConfigOrDie(rc)
	e.run(New(e.factory, client, e.rec, controllers.Options{Workers: 5, Logf: t.Logf}))

	// Another client reads a ReplicaSet every 50 ms throughout.
	probeCtx, stopProbe := context.WithCancel(e.ctx)
	var (
		wg      sync.WaitGroup
		slowest time.Duration
	)
	wg.Go(func() {
		probe := e.cluster.Client()
		for probeCtx.Err() == nil {
			start := time.Now()
			_, _ = probe.CoreV1().Namespaces().Get(probeCtx, e.ns, metav1.GetOptions{})
			slowest = max(slowest, time.Since(start))
			time.Sleep(50 * time.Millisecond)
		}
	})

	start := time.Now()
	e.createRS(newReplicaSet("web", int32(n)))
	var created, ready time.Duration
	eventually(t, time.Duration(n/20+30)*time.Second, func() string {
		rs, err := e.client.AppsV1().ReplicaSets(e.ns).Get(e.ctx, "web", metav1.GetOptions{})
		if err != nil {
			return fmt.Sprintf("getting ReplicaSet web: %v", err)
		}
		st := rs.Status
		if created == 0 && st.Replicas == int32(n) {
			created = time.Since(start)
		}
		if st.Replicas != int32(n) || (os.Getenv("TEND_RS_NOKUBELET") == "" && st.ReadyReplicas != int32(n)) {
			return fmt.Sprintf("status = %s; want %d ready", statusString(st), n)
		}
		return ""
	})
	ready = time.Since(start)
	stopProbe()
	wg.Wait()
	if got := len(e.pods()); got != n {
		t.Errorf("pods = %d; want %d", got, n)
	}
	// Upstream's spam filter: a burst of 25 events per object, not one per pod.
	eventually(t, 10*time.Second, func() string {
		if got := len(e.events("web", reasonSuccessfulCreate)); got != 25 {
			return fmt.Sprintf("SuccessfulCreate events = %d; want 25", got)
		}
		return ""
	})
	t.Logf("%d pods: all created (status.replicas) after %v, all ready after %v; slowest GET by another client %v",
		n, created.Round(time.Millisecond), ready.Round(time.Millisecond), slowest.Round(time.Millisecond))
}

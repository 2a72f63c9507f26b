package controllers

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
)

// NewIdentity is a leader-election identity unique to this process: the
// hostname and a random suffix.
func NewIdentity() string {
	host, _ := os.Hostname()
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return host + "_" + hex.EncodeToString(b)
}

// LeaderElection configures election on a coordination.k8s.io Lease, so that
// of several processes running the same controllers exactly one acts.
type LeaderElection struct {
	Client kubernetes.Interface
	// Namespace and Name of the Lease ("kube-system", "kube-controller-manager").
	Namespace, Name string
	// Identity names this candidate in the Lease (hostname and a unique suffix).
	Identity string
	// LeaseDuration is how long a Lease not renewed stays held; a candidate takes
	// over a dead leader's Lease after it. RenewDeadline is how long the leader
	// keeps trying to renew before giving up; RetryPeriod is how often
	// candidates try. Defaults: 15 s, 10 s, 2 s (upstream's).
	LeaseDuration, RenewDeadline, RetryPeriod time.Duration
	// OnNewLeader, when set, is told each leader's identity as it is observed.
	OnNewLeader func(identity string)
}

// RunLeaderElected runs run while this process holds the Lease. When leadership
// is lost, run's context is canceled; once run has returned, the process stands
// as a candidate again. Leaving (ctx ends) releases the Lease, so another
// candidate takes over at once. It returns when ctx ends.
func RunLeaderElected(ctx context.Context, le LeaderElection, run func(ctx context.Context)) error {
	if le.Client == nil || le.Name == "" || le.Namespace == "" || le.Identity == "" {
		return errors.New("controllers: leader election needs a client, a Lease namespace and name, and an identity")
	}
	if le.LeaseDuration == 0 {
		le.LeaseDuration = 15 * time.Second
	}
	if le.RenewDeadline == 0 {
		le.RenewDeadline = 10 * time.Second
	}
	if le.RetryPeriod == 0 {
		le.RetryPeriod = 2 * time.Second
	}
	lock := &resourcelock.LeaseLock{
		LeaseMeta:  metaOf(le.Namespace, le.Name),
		Client:     le.Client.CoordinationV1(),
		LockConfig: resourcelock.ResourceLockConfig{Identity: le.Identity},
	}
	for ctx.Err() == nil {
		done := make(chan struct{})
		var mu sync.Mutex
		launched := false
		elector, err := leaderelection.NewLeaderElector(leaderelection.LeaderElectionConfig{
			Lock:            lock,
			LeaseDuration:   le.LeaseDuration,
			RenewDeadline:   le.RenewDeadline,
			RetryPeriod:     le.RetryPeriod,
			ReleaseOnCancel: true,
			Name:            le.Name,
			Callbacks: leaderelection.LeaderCallbacks{
				OnStartedLeading: func(ctx context.Context) {
					mu.Lock()
					launched = true
					mu.Unlock()
					defer close(done)
					run(ctx)
				},
				OnStoppedLeading: func() {},
				OnNewLeader: func(identity string) {
					if le.OnNewLeader != nil {
						le.OnNewLeader(identity)
					}
				},
			},
		})
		if err != nil {
			return err
		}
		// Run returns when ctx ends while campaigning, or when leadership ends
		// after it started run in a goroutine (whose context it cancels). run must
		// have returned before this process may lead again.
		elector.Run(ctx)
		if ctx.Err() == nil {
			<-done
			continue
		}
		mu.Lock()
		started := launched
		mu.Unlock()
		if started {
			<-done
		} else {
			// Leadership may have been won just as ctx ended: give that run a
			// moment to see its canceled context and return.
			select {
			case <-done:
			case <-time.After(time.Second):
			}
		}
	}
	return nil
}

func metaOf(namespace, name string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Namespace: namespace, Name: name}
}

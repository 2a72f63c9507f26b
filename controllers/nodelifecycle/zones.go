package nodelifecycle

import (
	"slices"
	"time"

	"golang.org/x/time/rate"
	corev1 "k8s.io/api/core/v1"
)

// ZoneState is the health of a zone, upstream's.
type ZoneState string

// The zone states.
const (
	// StateInitial is a zone's state until its first health pass.
	StateInitial ZoneState = "Initial"
	// StateNormal: most of the zone's nodes are Ready.
	StateNormal ZoneState = "Normal"
	// StatePartialDisruption: more than two, and at least
	// UnhealthyZoneThreshold, of the zone's nodes are not Ready.
	StatePartialDisruption ZoneState = "PartialDisruption"
	// StateFullDisruption: none of the zone's nodes is Ready.
	StateFullDisruption ZoneState = "FullDisruption"
)

// labelExcludeDisruption keeps a node out of its zone's health, upstream's.
const labelExcludeDisruption = "node.kubernetes.io/exclude-disruption"

// computeZoneState returns how many of a zone's nodes are not Ready and the
// zone's state, from their Ready conditions (nil for a node without one).
func computeZoneState(ready []*corev1.NodeCondition, unhealthyThreshold float64) (int, ZoneState) {
	readyNodes, notReady := 0, 0
	for _, c := range ready {
		if c != nil && c.Status == corev1.ConditionTrue {
			readyNodes++
		} else {
			notReady++
		}
	}
	switch {
	case readyNodes == 0 && notReady > 0:
		return notReady, StateFullDisruption
	case notReady > 2 && float64(notReady)/float64(notReady+readyNodes) >= unhealthyThreshold:
		return notReady, StatePartialDisruption
	default:
		return notReady, StateNormal
	}
}

// zoneRate is the rate at which a zone of size nodes in state may have nodes
// tainted NoExecute (upstream's setLimiterInZone with HealthyQPSFunc and
// ReducedQPSFunc): a large zone in partial disruption goes slowly, a small
// one not at all.
func zoneRate(cfg Config, state ZoneState, size int) float64 {
	switch state {
	case StatePartialDisruption:
		if size > cfg.LargeClusterSizeThreshold {
			return cfg.SecondaryNodeEvictionRate
		}
		return 0
	default:
		return cfg.NodeEvictionRate
	}
}

// zone is one zone's state and its queue of nodes waiting for a NoExecute
// taint: upstream's RateLimitedTimedQueue. The controller's lock guards it.
type zone struct {
	state ZoneState
	// qps is the limiter's rate; 0 stops the queue.
	qps     float64
	limiter *rate.Limiter
	// pending are the nodes to taint, in the order they are due.
	pending []pendingTaint
	// members are the nodes added and not removed, tainted or not: a node is
	// added again only after Remove, as upstream's UniqueQueue.
	members map[string]bool
}

type pendingTaint struct {
	node string
	due  time.Time
}

// evictionBurst is the zone limiters' burst, upstream's.
const evictionBurst = 1

func newZone(qps float64) *zone {
	z := &zone{state: StateInitial, members: make(map[string]bool)}
	z.qps = qps
	if qps > 0 {
		z.limiter = rate.NewLimiter(rate.Limit(qps), evictionBurst)
	}
	return z
}

// setRateLocked changes the zone's rate. As upstream, a limiter that had no
// token to give leaves the new one without one either, so that swapping
// rates is no way round the limit.
func (z *zone) setRateLocked(qps float64, now time.Time) {
	if qps == z.qps {
		return
	}
	var l *rate.Limiter
	if qps > 0 {
		l = rate.NewLimiter(rate.Limit(qps), evictionBurst)
		if z.limiter == nil || !z.limiter.AllowN(now, 1) {
			l.AllowN(now, 1)
		}
	}
	z.qps, z.limiter = qps, l
}

// addLocked queues node now unless it is a member, and reports whether it
// did.
func (z *zone) addLocked(node string, now time.Time) bool {
	if z.members[node] {
		return false
	}
	z.members[node] = true
	z.pending = append(z.pending, pendingTaint{node: node, due: now})
	return true
}

// removeLocked forgets node, queued or not, and reports whether it was a
// member.
func (z *zone) removeLocked(node string) bool {
	if !z.members[node] {
		return false
	}
	delete(z.members, node)
	z.pending = slices.DeleteFunc(z.pending, func(p pendingTaint) bool { return p.node == node })
	return true
}

// nextLocked takes the first node due at now if the limiter allows one more;
// it stays a member.
func (z *zone) nextLocked(now time.Time) (string, bool) {
	if len(z.pending) == 0 || now.Before(z.pending[0].due) || z.limiter == nil || !z.limiter.AllowN(now, 1) {
		return "", false
	}
	p := z.pending[0]
	z.pending = z.pending[1:]
	return p.node, true
}

// retryLocked queues node again at due, if it is still a member.
func (z *zone) retryLocked(node string, due time.Time) {
	if !z.members[node] || slices.ContainsFunc(z.pending, func(p pendingTaint) bool { return p.node == node }) {
		return
	}
	// After every node due no later: the queue stays in order of due time,
	// first come first served among equals.
	i := len(z.pending)
	for i > 0 && z.pending[i-1].due.After(due) {
		i--
	}
	z.pending = slices.Insert(z.pending, i, pendingTaint{node: node, due: due})
}

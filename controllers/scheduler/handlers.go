package scheduler

import (
	"maps"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"

	"github.com/tendhq/tend/controllers/scheduler/queue"
	"github.com/tendhq/tend/informers"
)

// Cluster events the handlers report to the queue, with upstream's labels.
var (
	eventNodeAdd           = queue.Event{Resource: queue.Node, Action: queue.Add, Label: "NodeAdd"}
	eventNodeDelete        = queue.Event{Resource: queue.Node, Action: queue.Delete, Label: "NodeDelete"}
	eventAssignedPodDelete = queue.Event{Resource: queue.Pod, Action: queue.Delete, Label: "AssignedPodDelete"}
)

// nodeUpdateLabels are upstream's labels of node update events.
var nodeUpdateLabels = map[queue.ActionType]string{
	queue.UpdateNodeAllocatable: "NodeAllocatableChange",
	queue.UpdateNodeLabel:       "NodeLabelChange",
	queue.UpdateNodeTaint:       "NodeTaintChange",
	queue.UpdateNodeCondition:   "NodeConditionChange",
}

// nodeUpdateEvent is the event of a node update, and whether anything that
// may help a pending pod changed.
func nodeUpdateEvent(oldNode, newNode *corev1.Node) (queue.Event, bool) {
	a := queue.NodeUpdateAction(oldNode, newNode)
	if a == queue.None {
		return queue.Event{}, false
	}
	label, ok := nodeUpdateLabels[a]
	if !ok {
		label = "NodeUpdate"
	}
	return queue.Event{Resource: queue.Node, Action: a, Label: label}, true
}

// addHandlers subscribes the scheduler to its informers. As upstream's: one
// pod informer whose handler sends bound pods to the cache and this
// scheduler's unbound pods to the queue.
func (s *Scheduler) addHandlers() {
	s.syncs = append(s.syncs,
		s.pods.AddHandler(informers.Handler[*corev1.Pod]{
			OnAdd:    func(p *corev1.Pod, _ bool) { s.podAdded(p) },
			OnUpdate: s.podUpdated,
			OnDelete: s.podDeleted,
		}),
		s.nodes.AddHandler(informers.Handler[*corev1.Node]{
			OnAdd:    func(n *corev1.Node, _ bool) { s.nodeAdded(n) },
			OnUpdate: s.nodeUpdated,
			OnDelete: s.nodeDeleted,
		}),
		s.pdbs,
	)
}

func assigned(p *corev1.Pod) bool { return p.Spec.NodeName != "" }

// responsible reports whether p is for this scheduler.
func (s *Scheduler) responsible(p *corev1.Pod) bool {
	return p.Spec.SchedulerName == s.cfg.SchedulerName
}

func (s *Scheduler) podAdded(p *corev1.Pod) {
	switch {
	case assigned(p):
		s.assignedPodAdded(p)
	case s.responsible(p):
		s.queue.Add(p)
	}
}

func (s *Scheduler) podUpdated(oldPod, newPod *corev1.Pod) {
	switch {
	case assigned(oldPod):
		s.assignedPodUpdated(oldPod, newPod)
	case assigned(newPod):
		// The binding: the pod joins the cache and leaves the queue.
		s.assignedPodAdded(newPod)
		if s.responsible(oldPod) {
			s.queue.Delete(oldPod)
		}
	case s.responsible(oldPod):
		s.pendingPodUpdated(oldPod, newPod)
	}
}

func (s *Scheduler) podDeleted(p *corev1.Pod) {
	switch {
	case assigned(p):
		if err := s.cache.RemovePod(p); err != nil {
			s.logf("scheduler: %v", err)
		}
		s.queue.MoveAll(eventAssignedPodDelete, p, nil)
	case s.responsible(p):
		s.queue.Delete(p)
		if s.cache.IsAssumed(p) {
			s.assumedPodDeleted(p)
		} else if p.Status.NominatedNodeName != "" {
			// Lower-priority pods counted it on its nominated node.
			s.queue.MoveAll(eventAssignedPodDelete, p, nil)
		}
	}
}

func (s *Scheduler) assignedPodAdded(p *corev1.Pod) {
	if err := s.cache.AddPod(p); err != nil {
		s.logf("scheduler: %v", err)
	}
	s.queue.AssignedPodAdded(p)
}

func (s *Scheduler) assignedPodUpdated(oldPod, newPod *corev1.Pod) {
	if oldPod.ResourceVersion == newPod.ResourceVersion {
		return
	}
	if err := s.cache.UpdatePod(oldPod, newPod); err != nil {
		s.logf("scheduler: %v", err)
	}
	// Only a change of labels (affinity, spread) or of requests (room) may
	// help a pending pod; status updates, the bulk of the traffic, do not.
	if !maps.Equal(oldPod.Labels, newPod.Labels) || requestsChanged(oldPod, newPod) {
		s.queue.AssignedPodUpdated(oldPod, newPod)
	}
}

// requestsChanged reports whether a container's resources changed (an
// in-place resize).
func requestsChanged(oldPod, newPod *corev1.Pod) bool {
	if len(oldPod.Spec.Containers) != len(newPod.Spec.Containers) {
		return true
	}
	for i := range oldPod.Spec.Containers {
		if !equality.Semantic.DeepEqual(oldPod.Spec.Containers[i].Resources, newPod.Spec.Containers[i].Resources) {
			return true
		}
	}
	return false
}

// pendingPodUpdated handles an update of an unbound pod of this scheduler.
func (s *Scheduler) pendingPodUpdated(oldPod, newPod *corev1.Pod) {
	if oldPod.ResourceVersion == newPod.ResourceVersion {
		return
	}
	if s.cache.IsAssumed(newPod) {
		// Its binding is in flight: it is not in the queue to update.
		if newPod.DeletionTimestamp != nil && oldPod.DeletionTimestamp == nil {
			s.assumedPodDeleted(newPod)
		}
		return
	}
	s.queue.Update(oldPod, newPod)
	if oldPod.Status.NominatedNodeName != "" && oldPod.Status.NominatedNodeName != newPod.Status.NominatedNodeName {
		// It no longer counts on its old nominated node.
		s.queue.MoveAll(eventAssignedPodDelete, oldPod, nil)
	}
}

// assumedPodDeleted frees the room of an assumed pod being deleted: its
// binding will fail, but other pods need not wait for that.
func (s *Scheduler) assumedPodDeleted(p *corev1.Pod) {
	assumedPod, ok := s.cache.GetPod(p.UID)
	if !ok {
		return
	}
	if err := s.cache.ForgetPod(assumedPod); err != nil {
		s.logf("scheduler: %v", err)
	}
	s.queue.MoveAll(eventAssignedPodDelete, assumedPod, nil)
}

func (s *Scheduler) nodeAdded(n *corev1.Node) {
	s.cache.AddNode(n)
	s.queue.MoveAll(eventNodeAdd, nil, n)
}

func (s *Scheduler) nodeUpdated(oldNode, newNode *corev1.Node) {
	if oldNode.ResourceVersion == newNode.ResourceVersion {
		return
	}
	s.cache.UpdateNode(oldNode, newNode)
	if ev, ok := nodeUpdateEvent(oldNode, newNode); ok {
		s.queue.MoveAll(ev, oldNode, newNode)
	}
}

func (s *Scheduler) nodeDeleted(n *corev1.Node) {
	s.queue.MoveAll(eventNodeDelete, n, nil)
	if err := s.cache.RemoveNode(n); err != nil {
		s.logf("scheduler: %v", err)
	}
}

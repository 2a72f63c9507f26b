package framework

import "github.com/tendhq/tend/controllers/scheduler/queue"

// EventInterests says which cluster events may make a pod rejected by a
// plugin schedulable (upstream's EventsToRegister, without queueing hints);
// keys are the plugin names of FitError.UnschedulablePlugins. Pod events are
// about assigned pods (a pod deleted frees room, a new pod may satisfy an
// affinity term or change spreading).
func EventInterests() map[string][]queue.Event {
	nodeAdd := queue.Event{Resource: queue.Node, Action: queue.Add}
	return map[string][]queue.Event{
		NodeResourcesFit: {
			{Resource: queue.Pod, Action: queue.Delete | queue.UpdatePodScaleDown},
			{Resource: queue.Node, Action: queue.Add | queue.UpdateNodeAllocatable},
		},
		NodeName: {nodeAdd},
		NodeUnschedulable: {
			{Resource: queue.Node, Action: queue.Add | queue.UpdateNodeTaint},
		},
		NodeAffinity: {
			{Resource: queue.Node, Action: queue.Add | queue.UpdateNodeLabel},
		},
		TaintToleration: {
			{Resource: queue.Node, Action: queue.Add | queue.UpdateNodeTaint},
		},
		NodePorts: {
			{Resource: queue.Pod, Action: queue.Delete},
			nodeAdd,
		},
		InterPodAffinity: {
			{Resource: queue.Pod, Action: queue.Add | queue.UpdatePodLabel | queue.Delete},
			{Resource: queue.Node, Action: queue.Add | queue.UpdateNodeLabel},
		},
		PodTopologySpread: {
			{Resource: queue.Pod, Action: queue.Add | queue.UpdatePodLabel | queue.Delete},
			{Resource: queue.Node, Action: queue.Add | queue.Delete | queue.UpdateNodeLabel | queue.UpdateNodeTaint},
		},
	}
}

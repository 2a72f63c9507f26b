package queue_test

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/sets"
	testingclock "k8s.io/utils/clock/testing"

	"github.com/tendhq/tend/controllers/scheduler/queue"
)

// The life of a pod that does not fit at first: popped, rejected by a
// plugin, parked as unschedulable, moved back by a node that joins, popped
// again after its back-off, bound.
func Example() {
	clk := testingclock.NewFakeClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	q := queue.New(queue.Config{
		Clock: clk,
		Interests: map[string][]queue.Event{
			"NodeResourcesFit": {{Resource: queue.Node, Action: queue.Add | queue.UpdateNodeAllocatable}},
		},
	})
	defer q.Close()
	ctx := context.Background()

	q.Add(&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "web-1", UID: "u1"}})
	qp, _ := q.Pop(ctx)
	cycle := q.SchedulingCycle()
	// No node fits; the framework's FitError names the rejecting plugins.
	qp.UnschedulablePlugins = sets.New("NodeResourcesFit")
	if err := q.Requeue(qp, cycle); err != nil {
		fmt.Println(err)
	}
	fmt.Println(q.Pending())

	// A node joins: the pod may fit now. It still waits out its back-off.
	q.MoveAll(queue.Event{Resource: queue.Node, Action: queue.Add}, nil, nil)
	fmt.Println(q.Pending())

	clk.Step(time.Second)
	qp, _ = q.Pop(ctx)
	fmt.Println(qp.Pod.Name, "attempt", qp.Attempts)
	q.Done(qp.Pod.UID) // bound
	// Output:
	// 0 0 1
	// 0 1 0
	// web-1 attempt 2
}

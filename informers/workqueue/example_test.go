package workqueue_test

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/tendhq/tend/informers/workqueue"
)

// The worker loop: take a key, reconcile it, and tell the queue how it went.
// A failed key comes back after a growing back-off; a successful one is
// forgotten, so that its next failure starts the back-off again.
func Example() {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	q := workqueue.New[string](workqueue.Options{Name: "example"})

	// reconcile stands for a controller's: it reads the object named by key
	// and makes the world match it. default/flaky fails twice.
	failures := map[string]int{"default/flaky": 2}
	flakyDone := make(chan struct{})
	reconcile := func(key string) error {
		if failures[key] > 0 {
			failures[key]--
			return errors.New("not ready yet")
		}
		fmt.Println("reconciled", key)
		if key == "default/flaky" {
			close(flakyDone)
		}
		return nil
	}

	processNext := func() bool {
		key, ok := q.Get(ctx)
		if !ok {
			return false // shut down, or ctx ended
		}
		defer q.Done(key)
		if err := reconcile(key); err != nil {
			fmt.Printf("%s: %v (retry %d)\n", key, err, q.NumRequeues(key)+1)
			q.AddRateLimited(key)
			return true
		}
		q.Forget(key)
		return true
	}

	// Event handlers add keys; a second event for a queued key is absorbed.
	q.Add("default/web")
	q.Add("default/flaky")
	q.Add("default/web")

	var workers sync.WaitGroup
	workers.Go(func() {
		for processNext() {
		}
	})

	<-flakyDone
	if err := q.ShutDownWithDrain(ctx); err != nil {
		fmt.Println(err)
	}
	workers.Wait()

	// Output:
	// reconciled default/web
	// default/flaky: not ready yet (retry 1)
	// default/flaky: not ready yet (retry 2)
	// reconciled default/flaky
}

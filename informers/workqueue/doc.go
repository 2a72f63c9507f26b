// Package workqueue is the queue between informers and a controller's workers:
// event handlers add the keys of objects that changed, workers take keys out one
// at a time and reconcile them. Its semantics are those of client-go's
// util/workqueue rate-limiting queue, with a typed, context-aware API.
//
// Guarantees, for one Queue:
//
//   - A key is queued at most once. Adding a key that is already queued does
//     nothing, so a burst of events for one object costs one reconcile.
//   - A key is never processed by two workers at once: from Get returning k
//     until Done(k), Get hands k to no one else.
//   - A key added while it is being processed is processed again after Done, so
//     no event that arrives during a reconcile is lost.
//   - Keys are handed out in the order they became ready (FIFO). A key queued
//     again while it was being processed becomes ready when Done is called.
//   - A key has at most one pending time: if it is asked for more than once, by
//     Add, AddAfter or AddRateLimited, it becomes ready at the earliest time
//     asked for, once.
//   - After ShutDown, adds are ignored, keys still waiting for their time are
//     dropped, and Get hands out what is already queued, then reports false.
//
// A worker's loop takes a key, reconciles it, and tells the queue how it went:
// Forget after a success (the key's back-off starts again from the beginning),
// AddRateLimited after a failure, and always Done; see the example.
package workqueue

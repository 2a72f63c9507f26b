// Package storage is tend's watch-cache database: etcd is the truth, and each
// resource has one etcd watch feeding an in-memory cache that serves LIST, GET and
// WATCH.
//
// The contract:
//
//   - Keys are /registry/{group}/{resource}/{namespace}/{name} (core group: "core").
//     Values are the object's JSON without metadata.resourceVersion; the
//     resourceVersion of an object is the etcd revision that last modified it.
//   - Writes go straight to etcd: Create is a transaction "key absent", Update and
//     Delete are transactions "mod revision unchanged". GuaranteedUpdate owns the
//     compare-and-swap retry loop; callers pass a pure mutation.
//   - A resource may declare claims: extra keys an object holds (a Service's
//     ClusterIP, say). They are created and deleted in the same transaction as the
//     object, so two objects never hold the same claim, even with several
//     apiservers on one etcd.
//   - The cache holds every object as immutable JSON with its resourceVersion set,
//     plus a ring of recent events. Objects returned by the cache are shared: callers
//     must not modify an Object or its JSON.
//   - A LIST or GET with resourceVersion "" is consistent: the cache first reaches
//     etcd's current revision. resourceVersion "0" answers from memory at once.
//   - A WATCH from a resourceVersion still in the ring replays from there; an older
//     one gets an Expired (410) error event.
//   - An event is checked only against the watchers it may concern: a watcher
//     whose field selector requires an exact value of an indexed field
//     (Resource.Indexes) is only visited for objects that hold or held that value;
//     the others are visited for every event. A watcher sees each event at most
//     once, in revision order.
package storage

// Package informers keeps local, indexed copies of Kubernetes objects up to date
// and tells handlers what changed: the machinery every controller reads from.
//
// An Informer lists one kind, then watches it from the list's resourceVersion.
// When the connection drops it watches again from the last resourceVersion it
// saw, without listing; it lists again only when the server says that version
// is too old (410). It asks for bookmarks, so a quiet kind still advances its
// resourceVersion, and it can take its initial state as a stream of watch
// events (sendInitialEvents) instead of one large list.
//
// Guarantees, as client-go's: the sequence of states the informer holds for an
// object is a subsequence of the states the server held; handlers of one
// registration see events in that order, one at a time; after a relist, objects
// that disappeared meanwhile are reported deleted with the last state held.
// Objects returned by Get, List and the indexes, and passed to handlers, are
// shared with the informer and every other reader: do not modify them; copy
// them (DeepCopy) first.
//
// A Factory shares informers: however many controllers of a process ask for
// pods, there is one watch of pods.
package informers

package controllers

import (
	"container/list"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/reference"
)

// Recorder writes core/v1 Events about objects, the way kubectl describe shows
// them. A repeat of an event (same object, type, reason and message) does not
// make a new Event: the first one's count and lastTimestamp are updated.
//
// As upstream's spam filter, each object may have a burst of 25 events of a
// type, then one per five minutes: a ReplicaSet scaled to 10,000 replicas
// records a few dozen events, not 10,000 writes competing with its pods'.
// Normal and Warning events have separate budgets, so that a failure is never
// silenced by the successes before it.
//
// Recording never blocks the caller: events are written by Run's goroutine;
// when too many are waiting, new ones are dropped (and logged).
type Recorder struct {
	client    kubernetes.Interface
	component string
	host      string
	ch        chan pending
	now       func() time.Time
	logf      func(format string, args ...any)

	// seen remembers recent events for aggregation, least recently used first.
	seen  map[aggKey]*list.Element
	order *list.List

	// budgets are the spam filter's, by object and event type, least recently
	// used first.
	budgetMu    sync.Mutex
	budgets     map[budgetKey]*list.Element
	budgetOrder *list.List
}

// The spam filter's budget: a burst of eventBurst events, then one per
// eventRefill.
const (
	eventBurst  = 25
	eventRefill = 5 * time.Minute
)

type budgetKey struct {
	uid       types.UID
	eventType string
}

type budget struct {
	key    budgetKey
	tokens float64
	at     time.Time
}

// RecorderOptions tune a Recorder.
type RecorderOptions struct {
	// Host is the source host written in events; default the hostname.
	Host string
	// Logf reports events that could not be written; nil discards them.
	Logf func(format string, args ...any)
}

// maxAggregated bounds the events remembered for aggregation; maxPending the
// events waiting to be written.
const (
	maxAggregated = 4096
	maxPending    = 1000
)

type pending struct {
	ref       *corev1.ObjectReference
	eventType string
	reason    string
	message   string
}

type aggKey struct {
	ref                             corev1.ObjectReference
	eventType, reason, message, src string
}

type aggEntry struct {
	key   aggKey
	name  string
	ns    string
	count int32
	first metav1.Time
}

// NewRecorder returns a recorder whose events say they come from component.
// Run must be running for events to be written.
func NewRecorder(client kubernetes.Interface, component string, opts RecorderOptions) *Recorder {
	host := opts.Host
	if host == "" {
		host, _ = os.Hostname()
	}
	return &Recorder{client: client, component: component, host: host, ch: make(chan pending, maxPending),
		now: time.Now, logf: opts.Logf, seen: make(map[aggKey]*list.Element), order: list.New(),
		budgets: make(map[budgetKey]*list.Element), budgetOrder: list.New()}
}

// allow spends one event of the object's budget for the type, if any is left.
func (r *Recorder) allow(uid types.UID, eventType string) bool {
	r.budgetMu.Lock()
	defer r.budgetMu.Unlock()
	now := r.now()
	k := budgetKey{uid, eventType}
	var b *budget
	if el, ok := r.budgets[k]; ok {
		r.budgetOrder.MoveToBack(el)
		b = el.Value.(*budget)
		b.tokens = min(eventBurst, b.tokens+float64(now.Sub(b.at))/float64(eventRefill))
		b.at = now
	} else {
		b = &budget{key: k, tokens: eventBurst, at: now}
		r.budgets[k] = r.budgetOrder.PushBack(b)
		if r.budgetOrder.Len() > maxAggregated {
			oldest := r.budgetOrder.Front()
			r.budgetOrder.Remove(oldest)
			delete(r.budgets, oldest.Value.(*budget).key)
		}
	}
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// Event records an event about obj. eventType is corev1.EventTypeNormal or
// corev1.EventTypeWarning; reason is a short CamelCase word.
func (r *Recorder) Event(obj runtime.Object, eventType, reason, message string) {
	ref, err := reference.GetReference(scheme.Scheme, obj)
	if err != nil {
		r.log("event %s about %T: %v", reason, obj, err)
		return
	}
	if !r.allow(ref.UID, eventType) {
		return
	}
	select {
	case r.ch <- pending{ref: ref, eventType: eventType, reason: reason, message: message}:
	default:
		r.log("dropped event %s about %s/%s: too many pending", reason, ref.Namespace, ref.Name)
	}
}

// Eventf is Event with a formatted message.
func (r *Recorder) Eventf(obj runtime.Object, eventType, reason, format string, args ...any) {
	r.Event(obj, eventType, reason, fmt.Sprintf(format, args...))
}

// Run writes events until ctx ends.
func (r *Recorder) Run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case p := <-r.ch:
			if err := r.write(ctx, p); err != nil && ctx.Err() == nil {
				r.log("writing event %s about %s/%s: %v", p.reason, p.ref.Namespace, p.ref.Name, err)
			}
		}
	}
}

func (r *Recorder) write(ctx context.Context, p pending) error {
	key := aggKey{ref: *p.ref, eventType: p.eventType, reason: p.reason, message: p.message, src: r.component}
	key.ref.ResourceVersion, key.ref.FieldPath = "", ""
	now := metav1.NewTime(r.now())
	if el, ok := r.seen[key]; ok {
		e := el.Value.(*aggEntry)
		r.order.MoveToBack(el)
		e.count++
		patch, _ := json.Marshal(map[string]any{"count": e.count, "lastTimestamp": now, "message": p.message})
		_, err := r.client.CoreV1().Events(e.ns).Patch(ctx, e.name, types.StrategicMergePatchType, patch, metav1.PatchOptions{})
		if !apierrors.IsNotFound(err) {
			return err
		}
		// The first event is gone (expired, deleted): start again.
		r.order.Remove(el)
		delete(r.seen, key)
	}
	ns := p.ref.Namespace
	if ns == "" {
		ns = metav1.NamespaceDefault
	}
	ev := &corev1.Event{
		ObjectMeta:          metav1.ObjectMeta{Name: fmt.Sprintf("%v.%x", p.ref.Name, now.UnixNano()), Namespace: ns},
		InvolvedObject:      *p.ref,
		Reason:              p.reason,
		Message:             p.message,
		Type:                p.eventType,
		Source:              corev1.EventSource{Component: r.component, Host: r.host},
		FirstTimestamp:      now,
		LastTimestamp:       now,
		Count:               1,
		ReportingController: r.component,
		ReportingInstance:   r.host,
	}
	created, err := r.client.CoreV1().Events(ns).Create(ctx, ev, metav1.CreateOptions{})
	if err != nil {
		return err
	}
	r.seen[key] = r.order.PushBack(&aggEntry{key: key, name: created.Name, ns: ns, count: 1, first: now})
	if r.order.Len() > maxAggregated {
		oldest := r.order.Front()
		r.order.Remove(oldest)
		delete(r.seen, oldest.Value.(*aggEntry).key)
	}
	return nil
}

func (r *Recorder) log(format string, args ...any) {
	if r.logf != nil {
		r.logf(format, args...)
	}
}

package informers

import (
	"context"
	"fmt"
	"reflect"
	"sync"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/rest"

	"github.com/tendhq/tend/schemas"
)

// Factory makes informers and shares them: asking twice for the same kind (and
// scope and selectors) returns the same informer, so a process has one watch per
// kind however many controllers read it.
type Factory struct {
	config   *rest.Config
	opts     FactoryOptions
	registry *schemas.Registry
	dyn      dynamic.Interface
	meta     metadata.Interface

	mu        sync.Mutex
	informers map[factoryKey]runner
	runCtx    context.Context
}

// FactoryOptions tune a Factory.
type FactoryOptions struct {
	// Namespace restricts every informer to one namespace; "" means all.
	Namespace string
	// StreamingList makes the informers take their initial state as watch events.
	StreamingList bool
	// Logf receives the informers' reports; nil discards them.
	Logf func(format string, args ...any)
}

type factoryKey struct {
	typ      reflect.Type
	gvr      schema.GroupVersionResource
	selector string
}

type runner interface {
	Run(ctx context.Context)
	HasSynced() bool
}

// NewFactory returns a factory whose informers use config. Built-in kinds are
// read as protobuf; config is copied, not changed.
func NewFactory(config *rest.Config, opts FactoryOptions) (*Factory, error) {
	cfg := rest.CopyConfig(config)
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	md, err := metadata.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	return &Factory{config: cfg, opts: opts, registry: schemas.Builtin(), dyn: dyn, meta: md,
		informers: make(map[factoryKey]runner)}, nil
}

// Selectors restrict an informer to some objects; each distinct pair is its own
// informer (and watch).
type Selectors struct {
	Label, Field string
}

// For returns the factory's informer of the built-in kind T (*corev1.Pod,
// *appsv1.Deployment, ...), creating it on first use.
func For[T Object](f *Factory) *Informer[T] {
	return ForSelected[T](f, Selectors{})
}

// ForSelected is For restricted by selectors.
func ForSelected[T Object](f *Factory, sel Selectors) *Informer[T] {
	var zero T
	typ := reflect.TypeOf(zero)
	gvks, _, err := scheme.Scheme.ObjectKinds(reflect.New(typ.Elem()).Interface().(runtime.Object))
	if err != nil || len(gvks) == 0 {
		panic(fmt.Sprintf("informers: %v is not a built-in kind: %v", typ, err))
	}
	kind, ok := f.registry.LookupKind(gvks[0])
	if !ok {
		panic(fmt.Sprintf("informers: tend does not serve %v", gvks[0]))
	}
	key := factoryKey{typ: typ, gvr: kind.GroupVersionResource, selector: sel.Label + "|" + sel.Field}
	return getOrAdd(f, key, func() *Informer[T] {
		lw, err := newRESTListWatcher(f.config, kind, f.namespace(kind.Namespaced))
		if err != nil {
			panic(fmt.Sprintf("informers: a client for %v: %v", kind.GroupVersionResource, err))
		}
		return New[T](lw, f.informerOptions(sel))
	})
}

// Dynamic returns the factory's informer of any kind, as unstructured objects:
// for custom resources.
func Dynamic(f *Factory, gvr schema.GroupVersionResource, namespaced bool, sel Selectors) *Informer[*unstructured.Unstructured] {
	key := factoryKey{typ: reflect.TypeOf(&unstructured.Unstructured{}), gvr: gvr, selector: sel.Label + "|" + sel.Field}
	return getOrAdd(f, key, func() *Informer[*unstructured.Unstructured] {
		var lw ListWatcher[*unstructured.UnstructuredList] = f.dyn.Resource(gvr)
		if ns := f.namespace(namespaced); ns != "" {
			lw = f.dyn.Resource(gvr).Namespace(ns)
		}
		return New[*unstructured.Unstructured](lw, f.informerOptions(sel))
	})
}

// Metadata returns the factory's informer of any kind holding only metadata: for
// controllers that need little of many kinds, such as the garbage collector.
func Metadata(f *Factory, gvr schema.GroupVersionResource, namespaced bool) *Informer[*metav1.PartialObjectMetadata] {
	key := factoryKey{typ: reflect.TypeOf(&metav1.PartialObjectMetadata{}), gvr: gvr}
	return getOrAdd(f, key, func() *Informer[*metav1.PartialObjectMetadata] {
		var lw ListWatcher[*metav1.PartialObjectMetadataList] = f.meta.Resource(gvr)
		if ns := f.namespace(namespaced); ns != "" {
			lw = f.meta.Resource(gvr).Namespace(ns)
		}
		return New[*metav1.PartialObjectMetadata](lw, f.informerOptions(Selectors{}))
	})
}

func (f *Factory) namespace(namespaced bool) string {
	if !namespaced {
		return ""
	}
	return f.opts.Namespace
}

func (f *Factory) informerOptions(sel Selectors) Options {
	return Options{LabelSelector: sel.Label, FieldSelector: sel.Field, StreamingList: f.opts.StreamingList, Logf: f.opts.Logf}
}

func getOrAdd[T Object](f *Factory, key factoryKey, make func() *Informer[T]) *Informer[T] {
	f.mu.Lock()
	defer f.mu.Unlock()
	if inf, ok := f.informers[key]; ok {
		return inf.(*Informer[T])
	}
	inf := make()
	f.informers[key] = inf
	if f.runCtx != nil {
		go inf.Run(f.runCtx)
	}
	return inf
}

// Start runs every informer made so far, and every one made later, until ctx
// ends. It does not block.
func (f *Factory) Start(ctx context.Context) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.runCtx != nil {
		return
	}
	f.runCtx = ctx
	for _, inf := range f.informers {
		go inf.Run(ctx)
	}
}

// WaitForSync blocks until every informer made so far has synced, or ctx ends,
// and reports whether all did.
func (f *Factory) WaitForSync(ctx context.Context) bool {
	f.mu.Lock()
	syncs := make([]interface{ HasSynced() bool }, 0, len(f.informers))
	for _, inf := range f.informers {
		syncs = append(syncs, inf)
	}
	f.mu.Unlock()
	return WaitForSync(ctx, syncs...)
}

// restListWatcher lists and watches a built-in kind through a REST client of its
// group version, decoding into the typed objects of client-go's scheme.
type restListWatcher struct {
	client    rest.Interface
	resource  string
	namespace string
	newList   func() runtime.Object
}

func newRESTListWatcher(config *rest.Config, kind *schemas.Kind, namespace string) (*restListWatcher, error) {
	cfg := rest.CopyConfig(config)
	gv := kind.GroupVersion()
	cfg.GroupVersion = &gv
	cfg.APIPath = "/apis"
	if gv.Group == "" {
		cfg.APIPath = "/api"
	}
	cfg.NegotiatedSerializer = scheme.Codecs.WithoutConversion()
	cfg.ContentType = runtime.ContentTypeProtobuf
	cfg.AcceptContentTypes = runtime.ContentTypeProtobuf + "," + runtime.ContentTypeJSON
	client, err := rest.RESTClientFor(cfg)
	if err != nil {
		return nil, err
	}
	listGVK := gv.WithKind(kind.ListKind)
	if _, err := scheme.Scheme.New(listGVK); err != nil {
		return nil, err
	}
	return &restListWatcher{client: client, resource: kind.Resource, namespace: namespace,
		newList: func() runtime.Object { l, _ := scheme.Scheme.New(listGVK); return l }}, nil
}

func (lw *restListWatcher) List(ctx context.Context, opts metav1.ListOptions) (runtime.Object, error) {
	out := lw.newList()
	err := lw.client.Get().Namespace(lw.namespace).Resource(lw.resource).
		VersionedParams(&opts, scheme.ParameterCodec).Do(ctx).Into(out)
	return out, err
}

func (lw *restListWatcher) Watch(ctx context.Context, opts metav1.ListOptions) (watch.Interface, error) {
	opts.Watch = true
	return lw.client.Get().Namespace(lw.namespace).Resource(lw.resource).
		VersionedParams(&opts, scheme.ParameterCodec).Watch(ctx)
}

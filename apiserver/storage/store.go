package storage

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// History bounds the events a cache keeps for watches to resume from: at least
// Min, at most Max, and in between those younger than Window.
type History struct {
	Min, Max int
	Window   time.Duration
}

// Config configures a Store.
type Config struct {
	// KV and Watcher reach etcd; a *clientv3.Client is both.
	KV      clientv3.KV
	Watcher clientv3.Watcher
	History History
	// WatcherMaxQueue is how many undelivered events a watcher may hold before it
	// is ended as too slow.
	WatcherMaxQueue int
	// BookmarkInterval is how often watchers that allow bookmarks get one.
	BookmarkInterval time.Duration
	// ProgressInterval is how often caches ask etcd how far they are, so that an
	// idle resource's revision keeps up with etcd.
	ProgressInterval time.Duration
	// CompactInterval is how often etcd history older than one interval is
	// compacted; 0 disables compaction.
	CompactInterval time.Duration
	// MaxObjectSize is the largest encoded object accepted, in bytes.
	MaxObjectSize int
	// Registerer receives the storage metrics; nil means none.
	Registerer prometheus.Registerer
	// Logf reports problems the store works around; nil discards them.
	Logf func(format string, args ...any)
}

// DefaultConfig returns a Config with tend's defaults and no etcd.
func DefaultConfig() Config {
	return Config{
		History:          History{Min: 1000, Max: 20000, Window: 75 * time.Second},
		WatcherMaxQueue:  100000,
		BookmarkInterval: time.Minute,
		ProgressInterval: 5 * time.Second,
		CompactInterval:  5 * time.Minute,
		MaxObjectSize:    3 * 1024 * 1024 / 2,
	}
}

// Validate checks a Config.
func (c *Config) Validate() error {
	switch {
	case c.KV == nil || c.Watcher == nil:
		return errors.New("storage: KV and Watcher are required")
	case c.History.Min < 0 || c.History.Max < c.History.Min:
		return fmt.Errorf("storage: history min %d and max %d are inconsistent", c.History.Min, c.History.Max)
	case c.WatcherMaxQueue <= 0 || c.BookmarkInterval <= 0 || c.ProgressInterval <= 0:
		return errors.New("storage: WatcherMaxQueue, BookmarkInterval and ProgressInterval must be positive")
	}
	return nil
}

// Store is the database: a set of resource caches over one etcd.
type Store struct {
	cfg      Config
	kv       clientv3.KV
	watcher  clientv3.Watcher
	metrics  *metrics
	progress *progressRequests

	mu      sync.Mutex
	caches  map[string]*Cache
	started bool

	writtenMu sync.Mutex
	// writtenObjs holds the states this process wrote, keyed by etcd key and
	// revision, until the watch delivers them (see Cache.written).
	writtenObjs map[writtenKey]writtenObj

	ready chan struct{}
}

type writtenKey struct {
	key string
	rev int64
}

type writtenObj struct {
	obj *Object
	at  time.Time
}

// New returns a Store; add resources, then Run it.
func New(cfg Config) (*Store, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Store{
		cfg:         cfg,
		kv:          cfg.KV,
		watcher:     cfg.Watcher,
		metrics:     newMetrics(cfg.Registerer),
		progress:    newProgressRequests(),
		caches:      make(map[string]*Cache),
		writtenObjs: make(map[writtenKey]writtenObj),
		ready:       make(chan struct{}),
	}, nil
}

// Add registers a resource and returns its cache. Resources must be added before
// Run; adding one after Run starts its cache at once.
func (s *Store) Add(ctx context.Context, r *Resource) (*Cache, error) {
	if r.Name == "" || r.Prefix == "" || r.New == nil {
		return nil, errors.New("storage: a resource needs Name, Prefix and New")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.caches[r.Prefix]; ok {
		return nil, fmt.Errorf("storage: resource with prefix %s already added", r.Prefix)
	}
	c := newCache(s, r)
	s.caches[r.Prefix] = c
	if s.started {
		go c.run(ctx)
	}
	return c, nil
}

// Ready is closed when every cache added before Run holds its initial list.
func (s *Store) Ready() <-chan struct{} { return s.ready }

// Run runs the caches and the store's periodic work until ctx ends.
func (s *Store) Run(ctx context.Context) error {
	s.mu.Lock()
	if s.started {
		s.mu.Unlock()
		return errors.New("storage: already running")
	}
	s.started = true
	caches := make([]*Cache, 0, len(s.caches))
	for _, c := range s.caches {
		caches = append(caches, c)
	}
	s.mu.Unlock()

	var wg sync.WaitGroup
	for _, c := range caches {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.run(ctx)
		}()
	}
	go func() {
		for _, c := range caches {
			select {
			case <-c.ready:
			case <-ctx.Done():
				return
			}
		}
		close(s.ready)
	}()
	wg.Add(2)
	go func() {
		defer wg.Done()
		s.progress.run(ctx, s.watcher)
	}()
	go func() {
		defer wg.Done()
		s.periodic(ctx)
	}()
	<-ctx.Done()
	wg.Wait()
	return nil
}

func (s *Store) periodic(ctx context.Context) {
	bookmarks := time.NewTicker(s.cfg.BookmarkInterval)
	defer bookmarks.Stop()
	progress := time.NewTicker(s.cfg.ProgressInterval)
	defer progress.Stop()
	var compactC <-chan time.Time
	if s.cfg.CompactInterval > 0 {
		t := time.NewTicker(s.cfg.CompactInterval)
		defer t.Stop()
		compactC = t.C
	}
	var compactVersion, compactRev int64
	for {
		select {
		case <-ctx.Done():
			return
		case <-bookmarks.C:
			for _, c := range s.cacheList() {
				c.bookmark()
			}
		case <-progress.C:
			if err := s.watcher.RequestProgress(ctx); err != nil && ctx.Err() == nil {
				s.log("requesting watch progress: %v", err)
			}
			s.purgeWritten(time.Now().Add(-time.Minute))
		case <-compactC:
			var err error
			compactVersion, compactRev, err = s.compact(ctx, compactVersion, compactRev)
			if err != nil && ctx.Err() == nil {
				s.log("compacting etcd: %v", err)
			}
		}
	}
}

func (s *Store) cacheList() []*Cache {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*Cache, 0, len(s.caches))
	for _, c := range s.caches {
		out = append(out, c)
	}
	return out
}

// currentRevision asks etcd for its current revision with a linearizable read.
func (s *Store) currentRevision(ctx context.Context, r *Resource) (int64, error) {
	t := time.Now()
	resp, err := s.kv.Get(ctx, r.Prefix, clientv3.WithCountOnly())
	s.metrics.observeEtcd("currentRevision", r.Name, t, err)
	if err != nil {
		return 0, fmt.Errorf("reading etcd's current revision: %w", err)
	}
	return resp.Header.Revision, nil
}

func (s *Store) putWritten(key string, rev int64, o *Object) {
	s.writtenMu.Lock()
	s.writtenObjs[writtenKey{key, rev}] = writtenObj{o, time.Now()}
	s.writtenMu.Unlock()
}

func (s *Store) takeWritten(kv interface {
	GetKey() []byte
	GetModRevision() int64
}) *Object {
	k := writtenKey{string(kv.GetKey()), kv.GetModRevision()}
	s.writtenMu.Lock()
	defer s.writtenMu.Unlock()
	w, ok := s.writtenObjs[k]
	if !ok {
		return nil
	}
	delete(s.writtenObjs, k)
	return w.obj
}

func (s *Store) purgeWritten(before time.Time) {
	s.writtenMu.Lock()
	defer s.writtenMu.Unlock()
	for k, w := range s.writtenObjs {
		if w.at.Before(before) {
			delete(s.writtenObjs, k)
		}
	}
}

func (s *Store) log(format string, args ...any) {
	if s.cfg.Logf != nil {
		s.cfg.Logf(format, args...)
	}
}

// progressRequests asks etcd for watch progress while some reader waits for a
// cache to catch up. Requests are coalesced: one every few milliseconds at most,
// however many readers wait.
type progressRequests struct {
	mu      sync.Mutex
	waiting int
	wake    chan struct{}
}

func newProgressRequests() *progressRequests {
	return &progressRequests{wake: make(chan struct{}, 1)}
}

// want registers a waiter; call the returned func when done waiting.
func (p *progressRequests) want() func() {
	p.mu.Lock()
	p.waiting++
	p.mu.Unlock()
	select {
	case p.wake <- struct{}{}:
	default:
	}
	return func() {
		p.mu.Lock()
		p.waiting--
		p.mu.Unlock()
	}
}

func (p *progressRequests) active() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.waiting > 0
}

func (p *progressRequests) run(ctx context.Context, w clientv3.Watcher) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-p.wake:
		}
		for p.active() && ctx.Err() == nil {
			_ = w.RequestProgress(ctx)
			sleep(ctx, 20*time.Millisecond)
		}
	}
}

package staticpods

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"time"

	"k8s.io/utils/clock"
)

// DefaultPeriod is how often a Source reads its path again by default:
// upstream's fileCheckFrequency.
const DefaultPeriod = 20 * time.Second

// SourceConfig configures a Source. Path and NodeName are required.
type SourceConfig struct {
	// Path is the manifest directory, or one manifest file.
	Path string
	// NodeName is the node the static pods run on.
	NodeName string
	// Period is how often Path is read again although no change was
	// reported. Default DefaultPeriod.
	Period time.Duration
	// Clock tells the time; default the real clock.
	Clock clock.WithTicker
	// Logf receives the source's log lines (a watch that could not be
	// set up); nil discards them.
	Logf func(format string, args ...any)
}

// Source reads a static pod path again and again, as upstream's file source:
// every Period, and on Linux as soon as inotify reports a change in it (a
// watch that cannot be set up, or that ends, leaves the periodic reads, and
// is tried again at each of them).
type Source struct {
	cfg SourceConfig
}

// NewSource returns a Source for cfg.
func NewSource(cfg SourceConfig) (*Source, error) {
	if cfg.Path == "" || cfg.NodeName == "" {
		return nil, errors.New("static pod source: Path and NodeName are required")
	}
	if cfg.Period < 0 {
		return nil, fmt.Errorf("static pod source: Period must not be negative, is %v", cfg.Period)
	}
	if cfg.Period == 0 {
		cfg.Period = DefaultPeriod
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.RealClock{}
	}
	return &Source{cfg: cfg}, nil
}

// Run reads the path at once and then whenever it may have changed, handing
// every reading to update, from Run's goroutine, until ctx ends. Every
// reading is complete (upstream's SET): update sees what the path defines
// now, not a change. The watch is set up before each reading that needs one,
// so no change between a reading and the watch is missed.
func (s *Source) Run(ctx context.Context, update func(Update)) {
	ticker := s.cfg.Clock.NewTicker(s.cfg.Period)
	defer ticker.Stop()
	changed := make(chan struct{}, 1)
	notify := func() {
		select {
		case changed <- struct{}{}:
		default:
		}
	}
	var w *watcher
	var watchDone <-chan error
	defer func() {
		if w != nil {
			w.Close()
		}
	}()
	warned := false
	for {
		if w == nil {
			var err error
			switch w, err = startWatch(s.cfg.Path, notify); {
			case err == nil:
				watchDone, warned = w.Done(), false
			case !warned && !errors.Is(err, fs.ErrNotExist):
				s.logf("watching static pod path %s: %v; reading it every %v only", s.cfg.Path, err, s.cfg.Period)
				warned = true
			}
		}
		update(Read(s.cfg.Path, s.cfg.NodeName))
		select {
		case <-ctx.Done():
			return
		case <-ticker.C():
		case <-changed:
		case <-watchDone:
			// The directory went away or was replaced: read it again, and
			// watch what is there now.
			w.Close()
			w, watchDone = nil, nil
		}
	}
}

func (s *Source) logf(format string, args ...any) {
	if s.cfg.Logf != nil {
		s.cfg.Logf(format, args...)
	}
}

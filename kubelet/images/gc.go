package images

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"golang.org/x/sys/unix"
)

// GCPolicy is upstream's image garbage collection policy: when the
// filesystem holding the images is more than HighThresholdPercent used,
// images no container uses are removed, least recently used first, until it
// is at most LowThresholdPercent used. Pinned images, images used within
// MinAge and images a container uses are never removed.
type GCPolicy struct {
	HighThresholdPercent int           // default 85
	LowThresholdPercent  int           // default 80
	MinAge               time.Duration // default 2 minutes
}

func (p GCPolicy) withDefaults() GCPolicy {
	if p.HighThresholdPercent == 0 {
		p.HighThresholdPercent = 85
	}
	if p.LowThresholdPercent == 0 {
		p.LowThresholdPercent = 80
	}
	if p.MinAge == 0 {
		p.MinAge = 2 * time.Minute
	}
	return p
}

// Validate reports a policy that cannot work.
func (p GCPolicy) Validate() error {
	p = p.withDefaults()
	if p.HighThresholdPercent < 0 || p.HighThresholdPercent > 100 || p.LowThresholdPercent < 0 ||
		p.LowThresholdPercent > p.HighThresholdPercent || p.MinAge < 0 {
		return fmt.Errorf("image GC thresholds %d%%/%d%% (high/low) and minimum age %v do not make a policy",
			p.HighThresholdPercent, p.LowThresholdPercent, p.MinAge)
	}
	return nil
}

// Usage is how full the filesystem holding the store is, in percent.
func (s *Store) Usage() (int, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(s.root, &st); err != nil {
		return 0, fmt.Errorf("images: statfs %s: %w", s.root, err)
	}
	if st.Blocks == 0 {
		return 0, nil
	}
	used := st.Blocks - st.Bfree
	// As df: the share of what non-root users could have.
	return int((used*100 + (used + st.Bavail) - 1) / (used + st.Bavail)), nil
}

// GC removes images by the policy and returns the IDs it removed. inUse
// reports whether a container (running or not) uses an image ID.
func (s *Store) GC(ctx context.Context, p GCPolicy, inUse func(id string) bool, now time.Time) ([]string, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	p = p.withDefaults()
	usage, err := s.Usage()
	if err != nil || usage <= p.HighThresholdPercent {
		return nil, err
	}
	list, err := s.List()
	if err != nil {
		return nil, err
	}
	slices.SortStableFunc(list, func(a, b Image) int { return a.LastUsed.Compare(b.LastUsed) })
	var removed []string
	for _, img := range list {
		if err := ctx.Err(); err != nil {
			return removed, err
		}
		if img.Pinned || now.Sub(img.LastUsed) < p.MinAge || inUse(img.ID) {
			continue
		}
		if err := s.Remove(img.ID); err != nil && !errors.Is(err, ErrNotFound) {
			return removed, err
		}
		removed = append(removed, img.ID)
		if usage, err = s.Usage(); err != nil || usage <= p.LowThresholdPercent {
			return removed, err
		}
	}
	if usage > p.LowThresholdPercent {
		return removed, fmt.Errorf("images: the filesystem is %d%% used after removing %d images; nothing else may go (in use, pinned or used within %v)",
			usage, len(removed), p.MinAge)
	}
	return removed, nil
}

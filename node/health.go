package node

import "fmt"

// Health is a store's capacity, error counters and mode.
type Health struct {
	// ReadOnly is true while Put fails with ErrReadOnly; Reason says why.
	ReadOnly bool
	Reason   string
	// Disk space of the data directory's filesystem.
	AvailBytes, TotalBytes, UsedBytes uint64
	// Counters since Open.
	ReadErrors, WriteErrors, Corruptions uint64
}

// Health reports the store's state. It measures free space at most once per
// Config.DiskUsageInterval.
func (s *Store) Health() Health {
	u, uerr := s.usage()
	h := Health{
		AvailBytes: u.AvailBytes, TotalBytes: u.TotalBytes, UsedBytes: u.UsedBytes,
		ReadErrors: s.readErrors.Load(), WriteErrors: s.writeErrors.Load(), Corruptions: s.corruptions.Load(),
	}
	if err := s.readOnlyWith(u, uerr); err != nil {
		h.ReadOnly, h.Reason = true, err.Error()
	}
	return h
}

// readOnly returns an error wrapping ErrReadOnly when puts must be refused.
func (s *Store) readOnly() error {
	u, err := s.usage()
	return s.readOnlyWith(u, err)
}

func (s *Store) readOnlyWith(u DiskUsage, uerr error) error {
	if r := s.stickyReason.Load(); r != nil {
		return fmt.Errorf("%s: %w", *r, ErrReadOnly)
	}
	if s.cfg.FreeBytesMin < 0 {
		return nil
	}
	if uerr != nil {
		return fmt.Errorf("cannot measure free space: %v: %w", uerr, ErrReadOnly)
	}
	if u.AvailBytes < uint64(s.cfg.FreeBytesMin) {
		return fmt.Errorf("%d bytes free, below %d: %w", u.AvailBytes, s.cfg.FreeBytesMin, ErrReadOnly)
	}
	return nil
}

// usage returns a cached free-space measurement, refreshing it when stale.
func (s *Store) usage() (DiskUsage, error) {
	now := s.cfg.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.mu.usageAt.IsZero() || now.Sub(s.mu.usageAt) >= s.cfg.DiskUsageInterval || now.Before(s.mu.usageAt) {
		s.mu.usage, s.mu.err = s.diskUsage()
		s.mu.usageAt = now
	}
	return s.mu.usage, s.mu.err
}

package forward

import (
	"fmt"
	"time"

	"github.com/franzfs/franzfs/ingest"
	"github.com/franzfs/franzfs/store"
)

// Sampler chooses the records to forward: those whose number is a multiple
// of Every, or the first of each Bucket of the time index. Zero values
// keep every record.
type Sampler struct {
	Every  int64
	Bucket time.Duration

	last    int64 // the bucket of the last record kept
	hasLast bool
}

// Keep reports whether fr is forwarded, and if so remembers it.
func (s *Sampler) Keep(fr ingest.FramedRecord) (bool, error) {
	if s.Every > 1 && fr.Seq%s.Every != 0 {
		return false, nil
	}
	if s.Bucket <= 0 {
		return true, nil
	}
	b, err := s.bucket(fr)
	if err != nil || (s.hasLast && b <= s.last) {
		return false, err
	}
	s.last, s.hasLast = b, true
	return true, nil
}

// Reset forgets what was kept.
func (s *Sampler) Reset() { s.hasLast = false }

// Resume sets the sampler as if last, a record in the target, was the last
// one it kept.
func (s *Sampler) Resume(last ingest.FramedRecord) error {
	s.Reset()
	if s.Bucket <= 0 {
		return nil
	}
	b, err := s.bucket(last)
	s.last, s.hasLast = b, err == nil
	return err
}

// bucket is the number of fr's time bucket: floor(time / Bucket).
func (s *Sampler) bucket(fr ingest.FramedRecord) (int64, error) {
	t, ok := fr.Index[store.TimeIndex]
	if !ok {
		return 0, fmt.Errorf("%w: record %d has no index %s to put in a time bucket", errStop, fr.Seq, store.TimeIndex)
	}
	w := int64(s.Bucket)
	b := t / w
	if t%w < 0 {
		b--
	}
	return b, nil
}

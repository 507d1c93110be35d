// Package forward follows a stream on one franzfs daemon (or a franzd) and appends a
// sample of it to a stream on another: every Nth record, or the first of
// each time bucket. The target keeps each record's number in the source
// as its index "src", so a restarted forwarder resumes just after the last
// record the target holds: nothing is skipped and nothing sent twice.
package forward

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/franzfs/franzfs/client"
	"github.com/franzfs/franzfs/ingest"
	"github.com/franzfs/franzfs/store"
)

// SourceIndex is the target's index holding each record's source number.
const SourceIndex = "src"

// Config says what to forward, from where, to where.
type Config struct {
	From           Source
	To             *client.Client
	Stream, Target string
	Sample         Sampler
	// Batch is the most records sent in one append (default 1000).
	Batch int
	// Retry is the wait before starting over after the source or the
	// target failed (default 1s). Refusals (4xx) end Run instead.
	Retry time.Duration
	Log   *slog.Logger
}

// errStop is an error that retrying cannot mend.
var errStop = errors.New("cannot forward")

// Run forwards until ctx ends, starting over from the target's last record
// whenever the source or the target fails.
func Run(ctx context.Context, cfg Config) error {
	if cfg.Batch <= 0 {
		cfg.Batch = 1000
	}
	if cfg.Retry <= 0 {
		cfg.Retry = time.Second
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	for {
		err := cfg.once(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if errors.Is(err, errStop) || client.Permanent(err) {
			return err
		}
		cfg.Log.Warn("forward: starting over", "err", err, "in", cfg.Retry)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(cfg.Retry):
		}
	}
}

// once resumes after the target's last record and forwards until the
// source or the target fails.
func (c *Config) once(ctx context.Context) error {
	next, err := c.resume(ctx)
	if err != nil {
		return err
	}
	c.Log.Info("forwarding", "from", c.From.String()+" "+c.Stream, "to", c.To.Base+"/streams/"+c.Target, "next", next)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	kept := make(chan ingest.FramedRecord, c.Batch)
	followed := make(chan error, 1)
	go func() {
		defer close(kept)
		followed <- c.From.Follow(ctx, c.Stream, next, func(fr ingest.FramedRecord) error {
			keep, err := c.Sample.Keep(fr)
			if err != nil || !keep {
				return err
			}
			select {
			case kept <- fr:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		})
	}()
	for fr := range kept {
		batch := []ingest.FramedRecord{fr}
	drain:
		for len(batch) < c.Batch {
			select {
			case fr, ok := <-kept:
				if !ok {
					break drain
				}
				batch = append(batch, fr)
			default:
				break drain
			}
		}
		if err := c.send(ctx, batch); err != nil {
			cancel()
			for range kept {
			}
			return err
		}
	}
	err = <-followed
	switch {
	case errors.Is(err, store.ErrNotFound):
		// Not a refusal: the source stream may be created later.
		return fmt.Errorf("source stream %s at %s does not exist (yet)", c.Stream, c.From)
	case err != nil:
		return err
	}
	return fmt.Errorf("source %s ended the follow of %s", c.From, c.Stream)
}

// resume returns the first source record not yet in the target, and sets
// the sampler as it was when the target's last record was kept.
func (c *Config) resume(ctx context.Context) (int64, error) {
	c.Sample.Reset()
	var last *ingest.FramedRecord
	err := c.To.Framed(ctx, c.Target, "seq/-1", false, func(fr ingest.FramedRecord) error {
		last = &fr
		return nil
	})
	if errors.Is(err, store.ErrNotFound) || (err == nil && last == nil) {
		return 0, nil // no target yet, or an empty one: from the start
	}
	if err != nil {
		return 0, err
	}
	src, ok := last.Index[SourceIndex]
	if !ok {
		return 0, fmt.Errorf("%w: target stream %s at %s has no index %s: it was not written by franzfs forward", errStop, c.Target, c.To.Base, SourceIndex)
	}
	if err := c.Sample.Resume(*last); err != nil {
		return 0, err
	}
	return src + 1, nil
}

// send appends the batch to the target, each record with its index values,
// its tags and its source number.
func (c *Config) send(ctx context.Context, batch []ingest.FramedRecord) error {
	recs := make([]ingest.BatchRecord, len(batch))
	for i, fr := range batch {
		if _, ok := fr.Index[SourceIndex]; ok {
			return fmt.Errorf("%w: source stream %s has an index %s of its own, which forward uses for record numbers", errStop, c.Stream, SourceIndex)
		}
		index := make(map[string]json.RawMessage, len(fr.Index)+1)
		for name, v := range fr.Index {
			index[name] = json.RawMessage(strconv.FormatInt(v, 10))
		}
		index[SourceIndex] = json.RawMessage(strconv.FormatInt(fr.Seq, 10))
		recs[i] = ingest.BatchRecord{Payload: fr.Payload, Index: index, Tags: fr.Tags}
	}
	_, err := c.To.AppendBatch(ctx, c.Target, recs)
	return err
}

package forward

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/franzfs/franzfs/client"
	"github.com/franzfs/franzfs/franzd"
	"github.com/franzfs/franzfs/ingest"
	"github.com/franzfs/franzfs/store"
)

// A Source is where forwarded records come from.
type Source interface {
	// Follow calls fn with each record of stream from record from on, as
	// records arrive, until ctx ends or fn fails. A stream that does not
	// exist is store.ErrNotFound.
	Follow(ctx context.Context, stream string, from int64, fn func(ingest.FramedRecord) error) error
	String() string
}

// Daemon is a franzfs daemon as a source.
type Daemon struct{ *client.Client }

func (d Daemon) Follow(ctx context.Context, stream string, from int64, fn func(ingest.FramedRecord) error) error {
	return d.Framed(ctx, stream, fmt.Sprintf("seq/%d:", from), true, fn)
}

func (d Daemon) String() string { return d.Base }

// Franzd is a franzd, or a franzfs serve --franzd, as a source: franz's
// protocol carries payloads and index values, no tags.
type Franzd struct {
	Addr, Dir string // the server's host:port, and the directory it serves the stream from
}

func (f Franzd) Follow(ctx context.Context, stream string, from int64, fn func(ingest.FramedRecord) error) error {
	c, err := franzd.Dial(ctx, f.Addr, f.Dir)
	if err != nil {
		return err
	}
	defer c.Close()
	for {
		resp, err := c.Query(ctx, franzd.Query{Stream: stream, From: franzd.BySeqNum(from), To: franzd.BySeqNum(-1)})
		if e, ok := errors.AsType[*franzd.Exception](err); ok && e.Kind == franzd.StreamNotFound {
			return fmt.Errorf("%v: %w", e, store.ErrNotFound)
		}
		if err != nil {
			return err
		}
		err = each(resp, func(fr ingest.FramedRecord) error {
			from = fr.Seq + 1
			return fn(fr)
		})
		resp.Close()
		if err != nil {
			return err
		}
	}
}

// each calls fn with each record of a franzd response.
func each(resp *franzd.Response, fn func(ingest.FramedRecord) error) error {
	for i := int64(0); ; i++ {
		p, err := resp.Next()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
		// The record outlives the call (it is batched): its own copy.
		fr := ingest.FramedRecord{Seq: resp.S0 + 1 + i, Payload: bytes.Clone(p), Index: make(map[string]int64, len(resp.Indices))}
		for k, name := range resp.Indices {
			fr.Index[name] = resp.Value(i, k)
		}
		if err := fn(fr); err != nil {
			return err
		}
	}
}

func (f Franzd) String() string { return "franz://" + f.Addr + "/" + f.Dir }

package bucket

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/franzfs/franzfs/store"
)

// Reads of an object go through chunks of it: one range request each,
// kept in a bounded cache, and fetched ahead while reads are sequential.
const (
	chunkSize = 256 << 10 // a squashfs block (128 KiB at most) and its neighbours
	readAhead = 16        // chunks in flight ahead of a sequential reader: 4 MiB
	maxChunks = 128       // chunks cached per object: 32 MiB
)

// An Object is one object, read in place: an io.ReaderAt of the bytes it
// had when it was opened (its ETag is pinned; once it is replaced, reads
// fail with ErrReplaced rather than mix old and new bytes).
type Object struct {
	s         *Store
	key, etag string
	size      int64
	fetched   func(requests, bytes int64) // counts what was fetched, if set

	mu     sync.Mutex
	chunks map[int64]*chunk // GUARDED_BY(mu): by index
	tick   uint64           // GUARDED_BY(mu)
	last   int64            // GUARDED_BY(mu): the chunk read last
	run    int              // GUARDED_BY(mu): how many reads in a row were sequential
}

type chunk struct {
	ready chan struct{} // closed once data or err is set
	data  []byte
	err   error
	used  uint64 // GUARDED_BY(Object.mu)
}

// Object opens an object whose size and ETag a listing (or HEAD) gave.
func (s *Store) Object(key, etag string, size int64) *Object {
	return &Object{s: s, key: key, etag: etag, size: size, chunks: map[int64]*chunk{}, last: -2}
}

// Head opens the object at key as it is now.
func (s *Store) Head(ctx context.Context, key string) (*Object, error) {
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	out, err := s.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &s.bucket, Key: &key})
	if err != nil {
		err = s.explain(key, err)
		if errors.Is(err, store.ErrNotFound) {
			// A HEAD's 404 has no body to say which is missing.
			if _, berr := s.client.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: &s.bucket}); berr != nil {
				if berr = s.explain("", berr); errors.Is(berr, store.ErrNotFound) {
					return nil, fmt.Errorf("%s: no bucket %s: %w", s.url(key), s.bucket, store.ErrNotFound)
				}
			}
		}
		return nil, err
	}
	return s.Object(key, aws.ToString(out.ETag), aws.ToInt64(out.ContentLength)), nil
}

// Size is the object's size as opened.
func (o *Object) Size() int64 { return o.size }

// Name is the object's URL.
func (o *Object) Name() string { return o.s.url(o.key) }

func (o *Object) ReadAt(p []byte, off int64) (int, error) {
	if off >= o.size {
		return 0, io.EOF
	}
	n := 0
	for n < len(p) && off+int64(n) < o.size {
		pos := off + int64(n)
		c, err := o.chunk(pos / chunkSize)
		if err != nil {
			return n, err
		}
		n += copy(p[n:], c.data[pos%chunkSize:])
	}
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// chunk returns chunk i, fetching it (and, for a sequential reader, the
// ones after it) if need be.
func (o *Object) chunk(i int64) (*chunk, error) {
	o.mu.Lock()
	switch i {
	case o.last, o.last + 1:
		o.run++
	default:
		o.run = 0
	}
	o.last = i
	c := o.startLocked(i)
	if o.run >= 2 {
		for k := i + 1; k <= i+readAhead && k*chunkSize < o.size; k++ {
			o.startLocked(k)
		}
	}
	o.mu.Unlock()
	<-c.ready
	if c.err != nil {
		o.mu.Lock()
		if o.chunks[i] == c {
			delete(o.chunks, i) // the next read tries again
		}
		o.mu.Unlock()
		return nil, c.err
	}
	return c, nil
}

// startLocked returns chunk i, starting its fetch if it is not cached.
func (o *Object) startLocked(i int64) *chunk {
	o.tick++
	if c := o.chunks[i]; c != nil {
		c.used = o.tick
		return c
	}
	o.evictLocked()
	c := &chunk{ready: make(chan struct{}), used: o.tick}
	o.chunks[i] = c
	go func() {
		c.data, c.err = o.fetch(i)
		close(c.ready)
	}()
	return c
}

// evictLocked drops the chunk used least recently among those fetched,
// past maxChunks.
func (o *Object) evictLocked() {
	if len(o.chunks) < maxChunks {
		return
	}
	oldest := int64(-1)
	for i, c := range o.chunks {
		select {
		case <-c.ready:
		default:
			continue // in flight: someone waits for it
		}
		if oldest < 0 || c.used < o.chunks[oldest].used {
			oldest = i
		}
	}
	if oldest >= 0 {
		delete(o.chunks, oldest)
	}
}

// fetch reads chunk i with one range request, if the object is still the
// one opened.
func (o *Object) fetch(i int64) ([]byte, error) {
	start := i * chunkSize
	n := min(chunkSize, o.size-start)
	ctx, cancel := o.s.ctx(context.Background())
	defer cancel()
	rng := fmt.Sprintf("bytes=%d-%d", start, start+n-1)
	in := &s3.GetObjectInput{Bucket: &o.s.bucket, Key: &o.key, Range: &rng}
	if o.etag != "" {
		in.IfMatch = &o.etag
	}
	out, err := o.s.client.GetObject(ctx, in)
	if err != nil {
		err = o.s.explain(o.key, err)
		if errors.Is(err, store.ErrNotFound) { // deleted since it was opened
			err = fmt.Errorf("%s: %w", o.Name(), ErrReplaced)
		}
		return nil, err
	}
	defer out.Body.Close()
	// A store that ignored the range would give the object's first bytes.
	if want := fmt.Sprintf("bytes %d-%d/", start, start+n-1); !strings.HasPrefix(aws.ToString(out.ContentRange), want) {
		return nil, fmt.Errorf("%s: asked for %s, answered %q", o.Name(), rng, aws.ToString(out.ContentRange))
	}
	data := make([]byte, n)
	if _, err := io.ReadFull(out.Body, data); err != nil {
		return nil, fmt.Errorf("%s: bytes %d to %d: %w", o.Name(), start, start+n, err)
	}
	o.s.requests.Add(1)
	o.s.bytes.Add(n)
	return data, nil
}

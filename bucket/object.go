package bucket

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/franzfs/franzfs/store"
)

// Reads of an object go through chunks of it, kept in the store's cache
// (see cache.go). The chunks a read needs are fetched together, by one
// range request per run of them; while reads are sequential, the chunks
// ahead are fetched too, in runs of maxRun.
const (
	chunkSize = 64 << 10 // a squashfs block takes 128 KiB at most, about half that gzipped
	maxRun    = 64       // chunks in one request: 4 MiB
	readAhead = 256      // chunks fetched ahead of a sequential reader: 16 MiB
)

// An Object is one object, read in place: an io.ReaderAt of the bytes it
// had when it was opened (its ETag is pinned; once it is replaced, reads
// fail with ErrReplaced rather than mix old and new bytes).
type Object struct {
	s         *Store
	key, etag string
	size      int64

	// How the object is being read, GUARDED_BY(s.cache.mu).
	last  int64 // the chunk read last
	ahead int64 // the last chunk fetched ahead
	run   int   // how many reads in a row were sequential
}

type chunk struct {
	key   chunkKey
	ready chan struct{} // closed once data or err is set
	start int64         // where it lies in the object
	data  []byte
	err   error
}

// Object opens an object whose size and ETag a listing (or HEAD) gave.
func (s *Store) Object(key, etag string, size int64) *Object {
	return &Object{s: s, key: key, etag: etag, size: size, last: -2}
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
	end := min(off+int64(len(p)), o.size)
	chunks := o.chunks(off/chunkSize, (end-1)/chunkSize)
	n := 0
	for _, c := range chunks {
		<-c.ready
		if c.err != nil {
			o.forget(c)
			return n, c.err
		}
		pos := off + int64(n)
		n += copy(p[n:end-off], c.data[pos-c.start:])
	}
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// chunks returns chunks first to last, fetching those not cached (and,
// for a sequential reader, the ones after them).
func (o *Object) chunks(first, last int64) []*chunk {
	c := &o.s.cache
	c.mu.Lock()
	defer c.mu.Unlock()
	if first == o.last || first == o.last+1 {
		o.run++
	} else {
		o.run = 0
	}
	o.last = last
	out := o.startLocked(first, last)
	// Ahead of a sequential reader, half a window at a time, so that
	// requests carry whole runs rather than the one chunk the reader moved.
	if o.run >= 2 && o.ahead-last < readAhead/2 {
		from, to := max(o.ahead, last)+1, min(last+readAhead, (o.size-1)/chunkSize)
		if from <= to {
			o.startLocked(from, to)
			o.ahead = to
		}
	}
	return out
}

// forget drops a chunk that failed, so that the next read tries again.
func (o *Object) forget(ch *chunk) { o.s.cache.remove(ch) }

// startLocked returns chunks first to last, starting one request for each
// run of up to maxRun of them that is not cached. The cache is locked.
func (o *Object) startLocked(first, last int64) []*chunk {
	var out, run []*chunk
	flush := func() {
		if len(run) > 0 {
			go o.fetch(run)
			run = nil
		}
	}
	for i := first; i <= last; i++ {
		ch, made := o.s.cache.getLocked(chunkKey{o, i})
		if made {
			ch.start = i * chunkSize
			if run = append(run, ch); len(run) == maxRun {
				flush()
			}
		} else {
			flush()
		}
		out = append(out, ch)
	}
	flush()
	return out
}

// fetch fills a run of consecutive chunks with one range request, if the
// object is still the one opened.
func (o *Object) fetch(run []*chunk) {
	start := run[0].start
	n := min(int64(len(run))*chunkSize, o.size-start)
	data, err := o.get(start, n)
	for _, c := range run {
		if err == nil {
			c.data = data[c.start-start : min(c.start-start+chunkSize, n)]
		}
		c.err = err
		close(c.ready)
	}
}

// get reads n bytes at start with one range request.
func (o *Object) get(start, n int64) ([]byte, error) {
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

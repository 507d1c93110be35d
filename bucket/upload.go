package bucket

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"golang.org/x/sync/errgroup"

	"github.com/franzfs/franzfs/store"
)

// Uploads go in parts of at least partSize, partsInFlight at a time.
const (
	partSize      = 16 << 20
	partsInFlight = 4
	maxParts      = 10000 // S3's limit
)

// Exists reports whether an object is at key.
func (s *Store) Exists(ctx context.Context, key string) (bool, error) {
	_, err := s.Head(ctx, key)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, store.ErrNotFound):
		return false, nil
	}
	return false, err
}

// Upload writes the file f as the object at key, in parts sent in
// parallel: the object appears whole when the last part is in, or not at
// all (a failed upload is aborted). progress, if set, is told the bytes
// sent so far.
func (s *Store) Upload(ctx context.Context, key string, f *os.File, progress func(done, total int64)) error {
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	size := fi.Size()
	part := max(partSize, (size+maxParts-1)/maxParts)
	if size <= part {
		rctx, cancel := context.WithTimeout(ctx, s.opts.Timeout+sendTime(size))
		defer cancel()
		_, err := s.client.PutObject(rctx, &s3.PutObjectInput{Bucket: &s.bucket, Key: &key, Body: io.NewSectionReader(f, 0, size), ContentLength: aws.Int64(size)})
		if err != nil {
			return s.explain(key, err)
		}
		if progress != nil {
			progress(size, size)
		}
		return nil
	}
	created, err := s.client.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: &s.bucket, Key: &key})
	if err != nil {
		return s.explain(key, err)
	}
	id := created.UploadId
	n := int((size + part - 1) / part)
	parts := make([]types.CompletedPart, n)
	var sent atomic.Int64
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(partsInFlight)
	for i := range n {
		g.Go(func() error {
			off := int64(i) * part
			length := min(part, size-off)
			rctx, cancel := context.WithTimeout(gctx, s.opts.Timeout+sendTime(length))
			defer cancel()
			out, err := s.client.UploadPart(rctx, &s3.UploadPartInput{Bucket: &s.bucket, Key: &key, UploadId: id,
				PartNumber: aws.Int32(int32(i + 1)), Body: io.NewSectionReader(f, off, length), ContentLength: aws.Int64(length)})
			if err != nil {
				return s.explain(key, err)
			}
			parts[i] = types.CompletedPart{ETag: out.ETag, PartNumber: aws.Int32(int32(i + 1))}
			if progress != nil {
				progress(sent.Add(length), size)
			}
			return nil
		})
	}
	err = g.Wait()
	if err == nil {
		_, err = s.client.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: &s.bucket, Key: &key, UploadId: id,
			MultipartUpload: &types.CompletedMultipartUpload{Parts: parts}})
		if err != nil {
			err = s.explain(key, err)
		}
	}
	if err != nil {
		// Not ctx: the abort must go out even when ctx ended the upload.
		actx, cancel := context.WithTimeout(context.Background(), s.opts.Timeout)
		defer cancel()
		s.client.AbortMultipartUpload(actx, &s3.AbortMultipartUploadInput{Bucket: &s.bucket, Key: &key, UploadId: id})
	}
	return err
}

// sendTime is a generous time to send n bytes: 1 MB/s.
func sendTime(n int64) time.Duration { return time.Duration(n/1e6) * time.Second }

// Verify reads the object at key back and compares it with f.
func (s *Store) Verify(ctx context.Context, key string, f *os.File) error {
	obj, err := s.Head(ctx, key)
	if err != nil {
		return err
	}
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if obj.Size() != fi.Size() {
		return fmt.Errorf("%s: %d bytes, %d sent: %w", obj.Name(), obj.Size(), fi.Size(), fs.ErrInvalid)
	}
	a, b := make([]byte, 1<<20), make([]byte, 1<<20)
	for off := int64(0); off < fi.Size(); off += int64(len(a)) {
		if err := ctx.Err(); err != nil {
			return err
		}
		n := int(min(int64(len(a)), fi.Size()-off))
		_, err1 := obj.ReadAt(a[:n], off)
		_, err2 := f.ReadAt(b[:n], off)
		if err1 != nil && err1 != io.EOF {
			return err1
		}
		if err2 != nil && err2 != io.EOF {
			return err2
		}
		if !bytes.Equal(a[:n], b[:n]) {
			return fmt.Errorf("%s: bytes from %d differ from what was sent", obj.Name(), off)
		}
	}
	return nil
}

package bucket

import (
	"context"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/franzfs/franzfs/squash"
	"github.com/franzfs/franzfs/tree"
)

// Images are the archive images under a prefix of a bucket: every object
// PREFIX/NAME.squashfs is shown as NAME, as a local archive directory
// shows its files. The listing is trusted for Options.Refresh; an image
// whose object changed is opened anew, while streams opened on the old
// one fail their reads (ErrReplaced) rather than mix bytes.
type Images struct {
	s      *Store
	prefix string // "" or ending in "/"

	mu      sync.Mutex
	listed  map[string]listing   // GUARDED_BY(mu): by name, as of at
	at      time.Time            // GUARDED_BY(mu)
	listErr error                // GUARDED_BY(mu)
	open    map[string]openImage // GUARDED_BY(mu): by name
}

type listing struct {
	key, etag string
	size      int64
}

type openImage struct {
	etag string
	img  *squash.Image
	err  error
}

// Images returns the images under prefix (a folder: a final / is added).
func (s *Store) Images(prefix string) *Images {
	if prefix != "" && !strings.HasSuffix(prefix, "/") {
		prefix += "/"
	}
	return &Images{s: s, prefix: prefix, open: map[string]openImage{}}
}

// Check lists the images now: a missing bucket or refused credentials are
// an error here rather than an empty folder.
func (im *Images) Check(ctx context.Context) error {
	_, err := im.list(ctx, true)
	return err
}

// list returns the images, listing them again if the last listing is
// older than the refresh interval (or now, if force).
func (im *Images) list(ctx context.Context, force bool) (map[string]listing, error) {
	im.mu.Lock()
	defer im.mu.Unlock()
	if !force && im.listed != nil && time.Since(im.at) < im.s.opts.Refresh {
		return im.listed, im.listErr
	}
	listed := map[string]listing{}
	p := s3.NewListObjectsV2Paginator(im.s.client, &s3.ListObjectsV2Input{Bucket: &im.s.bucket, Prefix: &im.prefix, Delimiter: aws.String("/")})
	var err error
	for p.HasMorePages() {
		rctx, cancel := im.s.ctx(ctx)
		var page *s3.ListObjectsV2Output
		page, err = p.NextPage(rctx)
		cancel()
		if err != nil {
			err = im.s.explain(im.prefix, err)
			break
		}
		for _, obj := range page.Contents {
			key := aws.ToString(obj.Key)
			name, ok := strings.CutSuffix(strings.TrimPrefix(key, im.prefix), tree.ImageSuffix)
			if ok && tree.ValidName(name) == nil {
				listed[name] = listing{key, aws.ToString(obj.ETag), aws.ToInt64(obj.Size)}
			}
		}
	}
	if err != nil && im.listed != nil {
		listed = im.listed // keep showing what was there; the error is logged by callers
	}
	im.listed, im.at, im.listErr = listed, time.Now(), err
	// Images no longer listed, or listed anew, are let go: their streams
	// keep the Image they opened.
	for name, oi := range im.open {
		if l, ok := listed[name]; !ok || l.etag != oi.etag {
			delete(im.open, name)
		}
	}
	return listed, err
}

// Names lists the images by the names they are shown under.
func (im *Images) Names() ([]string, error) {
	listed, err := im.list(context.Background(), false)
	if err != nil && len(listed) == 0 {
		return nil, err
	}
	names := make([]string, 0, len(listed))
	for name := range listed {
		names = append(names, name)
	}
	return names, nil
}

// Source returns the image shown as name, opened once per version of its
// object.
func (im *Images) Source(name string) (tree.Source, bool, error) {
	listed, err := im.list(context.Background(), false)
	l, ok := listed[name]
	if !ok {
		return tree.Source{}, false, err
	}
	im.mu.Lock()
	defer im.mu.Unlock()
	oi, ok := im.open[name]
	if !ok || oi.etag != l.etag {
		oi = openImage{etag: l.etag}
		obj := im.s.Object(l.key, l.etag, l.size)
		oi.img, oi.err = squash.NewImage(obj, l.size, obj.Name())
		im.open[name] = oi
	}
	if oi.err != nil {
		return tree.Source{}, false, oi.err
	}
	// Whoever runs franzfs reads the bucket: the mount shows its images
	// to that user and group alone.
	access := tree.Access{Uid: uint32(os.Getuid()), Gid: uint32(os.Getgid()), Perm: 0o440}
	return tree.ImageSource(oi.img, access), true, nil
}

// OpenImage opens the image at key as it is now, for reading one stream.
func (s *Store) OpenImage(ctx context.Context, key string) (*squash.Image, error) {
	obj, err := s.Head(ctx, key)
	if err != nil {
		return nil, err
	}
	return squash.NewImage(obj, obj.Size(), obj.Name())
}

// File returns the image a franz client names by its object's name under
// the prefix, NAME.squashfs.
func (im *Images) File(file string) (tree.Source, bool, error) {
	name, ok := strings.CutSuffix(file, tree.ImageSuffix)
	if !ok || strings.Contains(name, "/") {
		return tree.Source{}, false, nil
	}
	return im.Source(name)
}

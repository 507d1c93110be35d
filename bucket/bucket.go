// Package bucket keeps archive images in S3-compatible object storage: it
// lists the images under a prefix, reads them in place by range requests,
// and uploads new ones. Credentials, region and endpoint come the way
// every S3 tool takes them: the AWS SDK's default chain.
package bucket

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"

	"github.com/franzfs/franzfs/store"
)

// Scheme starts an object storage location: s3://BUCKET/KEY.
const Scheme = "s3://"

// Defaults of Options.
const (
	// DefaultRefresh is how long a listing of the images is trusted: new,
	// replaced and deleted objects show up within it.
	DefaultRefresh = 30 * time.Second
	// DefaultTimeout bounds one request, its retries included.
	DefaultTimeout = 30 * time.Second
	// DefaultAttempts is how often a request is tried on 5xx answers,
	// throttling and broken connections, with backoff between.
	DefaultAttempts = 5
)

// Options say how to reach the store; the zero value takes everything from
// the environment (AWS_ENDPOINT_URL, AWS_REGION, AWS_PROFILE, ~/.aws).
type Options struct {
	Endpoint string // a non-AWS store's URL
	// PathStyle addresses buckets as ENDPOINT/BUCKET/KEY rather than
	// BUCKET.ENDPOINT/KEY; most self-hosted stores want it.
	PathStyle bool
	Refresh   time.Duration
	Timeout   time.Duration
	// CacheBytes bounds the object bytes kept in memory (DefaultCacheBytes
	// if 0).
	CacheBytes int64
}

// A Location is a bucket and a key (or a prefix) in it.
type Location struct{ Bucket, Key string }

func (l Location) String() string { return Scheme + l.Bucket + "/" + l.Key }

// IsURL reports whether s names a place in object storage.
func IsURL(s string) bool { return strings.HasPrefix(s, Scheme) }

// ParseURL reads s3://BUCKET/KEY (KEY may be a prefix, or empty).
func ParseURL(s string) (Location, error) {
	rest, ok := strings.CutPrefix(s, Scheme)
	b, key, _ := strings.Cut(rest, "/")
	if !ok || b == "" {
		return Location{}, fmt.Errorf("%w: %q: want s3://BUCKET/KEY", store.ErrBadName, s)
	}
	return Location{b, key}, nil
}

// A Store is a bucket of an S3-compatible object store.
type Store struct {
	client *s3.Client
	bucket string
	opts   Options

	cache           chunkCache
	requests, bytes atomic.Int64 // range requests made, bytes they fetched
}

// Fetched says how many range requests reads made so far, and how many
// bytes they fetched.
func (s *Store) Fetched() (requests, bytes int64) { return s.requests.Load(), s.bytes.Load() }

// Open returns the bucket. No request is made yet.
func Open(ctx context.Context, bucket string, opts Options) (*Store, error) {
	if opts.Refresh <= 0 {
		opts.Refresh = DefaultRefresh
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	cfg, err := config.LoadDefaultConfig(ctx, config.WithRetryer(func() aws.Retryer {
		return retry.NewStandard(func(o *retry.StandardOptions) {
			o.MaxAttempts = DefaultAttempts
			// No client-side retry budget: once spent on an outage it would
			// fail requests at once after the store is back. Timeout bounds
			// the retries instead.
			o.RateLimiter = ratelimit.None
		})
	}))
	if err != nil {
		return nil, fmt.Errorf("object storage: %w", err)
	}
	if opts.Endpoint == "" {
		opts.Endpoint = os.Getenv("AWS_ENDPOINT_URL")
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1" // self-hosted stores take any; AWS finds the bucket's
	}
	client := s3.NewFromConfig(cfg, func(o *s3.Options) {
		if opts.Endpoint != "" {
			o.BaseEndpoint = aws.String(opts.Endpoint)
		}
		o.UsePathStyle = opts.PathStyle
		// Checksums only where S3 requires them: many compatible stores
		// refuse the trailers the SDK would add to every upload otherwise.
		o.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
		o.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
	})
	if opts.CacheBytes <= 0 {
		opts.CacheBytes = DefaultCacheBytes
	}
	s := &Store{client: client, bucket: bucket, opts: opts}
	s.cache.max = int(max(opts.CacheBytes/chunkSize, 2*readAhead))
	return s, nil
}

func (s *Store) url(key string) string { return Location{s.bucket, key}.String() }

// Errors a caller tells apart.
var (
	// ErrReplaced is a read of an object that was replaced (or deleted)
	// after it was opened: its bytes would no longer be the ones opened.
	ErrReplaced = errors.New("replaced or deleted since it was opened")
	// ErrDenied is a refusal of the credentials.
	ErrDenied error = denied{}
)

// denied is ErrDenied: a permission error, in its own words.
type denied struct{}

func (denied) Error() string { return "access denied" }
func (denied) Unwrap() error { return fs.ErrPermission }

// explain turns a failed request on key into one line that says what and
// where, wrapping store.ErrNotFound or ErrDenied where it is one of those.
func (s *Store) explain(key string, err error) error {
	var ae smithy.APIError
	var re *awshttp.ResponseError
	code, status := "", 0
	if errors.As(err, &ae) {
		code = ae.ErrorCode()
	}
	if errors.As(err, &re) {
		status = re.HTTPStatusCode()
	}
	where := s.url(key)
	switch {
	case code == "NoSuchBucket":
		return fmt.Errorf("%s: no bucket %s: %w", where, s.bucket, store.ErrNotFound)
	case code == "NoSuchKey" || code == "NotFound" || status == http.StatusNotFound:
		return fmt.Errorf("%s: no such object: %w", where, store.ErrNotFound)
	case code == "PreconditionFailed" || status == http.StatusPreconditionFailed:
		return fmt.Errorf("%s: %w", where, ErrReplaced)
	case code == "InvalidAccessKeyId" || code == "SignatureDoesNotMatch" || code == "AccessDenied" ||
		status == http.StatusForbidden || status == http.StatusUnauthorized:
		return fmt.Errorf("%s: %w (%s); check AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY or AWS_PROFILE", where, ErrDenied, cmp.Or(code, http.StatusText(status)))
	case code != "":
		return fmt.Errorf("%s: %s: %s", where, code, ae.ErrorMessage())
	}
	return fmt.Errorf("%s: %w", where, err)
}

// ctx bounds one request.
func (s *Store) ctx(parent context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(parent, s.opts.Timeout)
}

package store

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// The path grammar of SPEC section 2, parsed once, here, for every adapter.

// Kind says what a path inside a stream directory names.
type Kind int

const (
	KindFile   Kind = iota // payloads, offsets, indices as stored
	KindRecord             // seq/N
	KindRange              // seq/A:B
	KindIndex              // index/NAME/X:Y
	KindQuery              // tag/T and query/EXPR
	KindFollow             // follow
	KindStat               // stat.json
	KindList               // seq/3,17,42 and seq/1:3,7,-1: records in the order named
)

// MaxListItems bounds the items of a list in seq/, as a request's size
// bounds it anyway: a list costs a lookup an item.
const MaxListItems = 10000

// Directory names of a stream's views, and its other entries.
const (
	SeqDir     = "seq"
	IndexDir   = "index"
	TagDir     = "tag"
	QueryDir   = "query"
	FollowFile = "follow"
	StatFile   = "stat.json"
)

// TimeIndex is the index that also takes RFC 3339 times and durations.
const TimeIndex = "time"

// A Bound is one end of a range: a number, or left open.
type Bound struct {
	V   int64
	Set bool
}

func (b Bound) String() string {
	if !b.Set {
		return ""
	}
	return strconv.FormatInt(b.V, 10)
}

// A Path is a parsed view name. Open it on a Stream to read it.
type Path struct {
	Kind     Kind
	File     string // KindFile
	From, To Bound  // KindRecord (From only), KindRange: record numbers; KindIndex: values
	Index    string // KindIndex
	Query    Query  // KindQuery
	List     []Path // KindList: its items, each KindRecord or KindRange
}

// ParsePath parses a view path relative to a stream directory, such as
// "seq/-1", "index/time/-15m:" or "query/error+db".
func ParsePath(p string) (Path, error) {
	dir, name, _ := strings.Cut(p, "/")
	switch dir {
	case PayloadsFile, OffsetsFile, IndicesFile:
		if name == "" {
			return Path{Kind: KindFile, File: dir}, nil
		}
	case FollowFile:
		if name == "" {
			return Path{Kind: KindFollow}, nil
		}
	case StatFile:
		if name == "" {
			return Path{Kind: KindStat}, nil
		}
	case SeqDir:
		return ParseSeq(name)
	case IndexDir:
		spelled, rng, ok := strings.Cut(name, "/")
		if ok {
			index, err := ParseIndexPathName(spelled)
			if err != nil {
				return Path{}, err
			}
			return ParseIndexRange(index, rng, time.Now())
		}
	case TagDir:
		if err := ValidTag(name); err != nil {
			return Path{}, err
		}
		return Path{Kind: KindQuery, Query: Query{{name}}}, nil
	case QueryDir:
		q, err := ParseQuery(name)
		return Path{Kind: KindQuery, Query: q}, err
	}
	return Path{}, fmt.Errorf("%w: no view %q in a stream", ErrBadName, p)
}

// ParseSeq parses a name in seq/: N, A:B with either end optional, negative
// numbers counting from the end, _N spelling -N; or a list of these joined
// by commas, whose records come in the order named, repeats kept.
func ParseSeq(name string) (Path, error) {
	if !strings.Contains(name, ",") {
		return parseSeqItem(name)
	}
	if n := strings.Count(name, ",") + 1; n > MaxListItems {
		return Path{}, fmt.Errorf("%w: seq/ lists %d items, more than %d", ErrBadName, n, MaxListItems)
	}
	var list []Path
	for item := range strings.SplitSeq(name, ",") {
		p, err := parseSeqItem(item)
		if err != nil {
			return Path{}, err
		}
		list = append(list, p)
	}
	return Path{Kind: KindList, List: list}, nil
}

func parseSeqItem(name string) (Path, error) {
	a, b, isRange := strings.Cut(name, ":")
	from, err := parseRecordBound(a, name, isRange)
	if err != nil {
		return Path{}, err
	}
	if !isRange {
		return Path{Kind: KindRecord, From: from}, nil
	}
	to, err := parseRecordBound(b, name, true)
	if err != nil {
		return Path{}, err
	}
	// Both ends of one sign compare now; mixed signs only once resolved.
	if from.Set && to.Set && (from.V < 0) == (to.V < 0) && from.V > to.V {
		return Path{}, fmt.Errorf("%w: seq/%s: start after end", ErrBadName, name)
	}
	return Path{Kind: KindRange, From: from, To: to}, nil
}

func parseRecordBound(s, name string, mayBeEmpty bool) (Bound, error) {
	if s == "" && mayBeEmpty {
		return Bound{}, nil
	}
	if strings.HasPrefix(s, "_") {
		s = "-" + s[1:]
	}
	v, err := strconv.ParseInt(s, 10, 64)
	// Only the canonical spelling, so one record has one name.
	if err != nil || !canonicalInt(s) || v == math.MinInt64 {
		return Bound{}, fmt.Errorf("%w: seq/%s: %q is not a record number", ErrBadName, name, s)
	}
	return Bound{V: v, Set: true}, nil
}

// ParseIndexRange parses X:Y in index/NAME/; either end may be left out, and
// X alone means X:X. For the time index, X and Y may also be RFC 3339 times,
// "now", or negative durations back from now (-15m). index is the name
// itself, not its path spelling.
func ParseIndexRange(index, rng string, now time.Time) (Path, error) {
	p := Path{Kind: KindIndex, Index: index}
	parse := func(s string) (Bound, bool) {
		if s == "" {
			return Bound{}, true
		}
		v, ok := parseIndexValue(s, index == TimeIndex, now)
		return Bound{V: v, Set: true}, ok
	}
	// RFC 3339 times hold colons: take the first split where both sides parse.
	found := false
	for i := 0; i < len(rng) && !found; i++ {
		if rng[i] != ':' {
			continue
		}
		from, ok1 := parse(rng[:i])
		to, ok2 := parse(rng[i+1:])
		if ok1 && ok2 {
			p.From, p.To, found = from, to, true
		}
	}
	if !found && rng != "" {
		if b, ok := parse(rng); ok {
			p.From, p.To, found = b, b, true
		}
	}
	if !found {
		return Path{}, fmt.Errorf("%w: index/%s/%s: not a range X:Y of index values", ErrBadName, IndexPathName(index), rng)
	}
	if p.From.Set && p.To.Set && p.From.V > p.To.V {
		return Path{}, fmt.Errorf("%w: index/%s/%s: start after end", ErrBadName, IndexPathName(index), rng)
	}
	return p, nil
}

// ParseIndexValue parses one value of index: an integer, or for the time
// index also an RFC 3339 time, "now", or a negative duration back from now.
func ParseIndexValue(index, s string, now time.Time) (int64, error) {
	v, ok := parseIndexValue(s, index == TimeIndex, now)
	if !ok {
		if index == TimeIndex {
			return 0, fmt.Errorf("%w: time value %q: want Unix nanoseconds, an RFC 3339 time from 1677 to 2262, now, or -DURATION", ErrBadName, s)
		}
		return 0, fmt.Errorf("%w: index %s value %q is not an integer", ErrBadName, index, s)
	}
	return v, nil
}

func parseIndexValue(s string, isTime bool, now time.Time) (int64, bool) {
	if v, err := strconv.ParseInt(s, 10, 64); err == nil {
		return v, true
	}
	if !isTime {
		return 0, false
	}
	if s == "now" {
		return now.UnixNano(), true
	}
	if strings.HasPrefix(s, "-") {
		if d, err := time.ParseDuration(s); err == nil {
			return now.Add(d).UnixNano(), true
		}
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil && !t.Before(minTime) && !t.After(maxTime) {
		return t.UnixNano(), true
	}
	return 0, false
}

// The times Unix nanoseconds in an int64 hold (1677 to 2262): UnixNano of
// any other wraps around silently.
var (
	minTime = time.Unix(0, math.MinInt64)
	maxTime = time.Unix(0, math.MaxInt64)
)

// IsIntegerRange reports whether an index range names only integers (or
// open ends), so that its meaning does not move with the clock.
func IsIntegerRange(rng string) bool {
	for _, part := range strings.Split(rng, ":") {
		if _, err := strconv.ParseInt(part, 10, 64); err != nil && part != "" {
			return false
		}
	}
	return true
}

func (p Path) String() string {
	switch p.Kind {
	case KindFile:
		return p.File
	case KindRecord:
		return SeqDir + "/" + p.From.String()
	case KindRange:
		return SeqDir + "/" + p.From.String() + ":" + p.To.String()
	case KindList:
		items := make([]string, len(p.List))
		for i, item := range p.List {
			items[i] = strings.TrimPrefix(item.String(), SeqDir+"/")
		}
		return SeqDir + "/" + strings.Join(items, ",")
	case KindIndex:
		return IndexDir + "/" + IndexPathName(p.Index) + "/" + p.From.String() + ":" + p.To.String()
	case KindQuery:
		return QueryDir + "/" + p.Query.String()
	case KindFollow:
		return FollowFile
	case KindStat:
		return StatFile
	}
	return "?"
}

// canonicalInt reports whether s, which ParseInt read, is spelled as
// FormatInt would spell its value: no sign but a minus, no leading zero,
// no "-0". It allocates nothing, as a multiget parses thousands.
func canonicalInt(s string) bool {
	digits := strings.TrimPrefix(s, "-")
	return digits != "" && digits[0] != '+' && (digits[0] != '0' || s == "0")
}

package store

import (
	"fmt"
	"strings"
)

// A Query is a boolean expression of tags in disjunctive form: records that
// carry every tag of at least one term. "error+db,panic" is
// Query{{"error", "db"}, {"panic"}}.
type Query [][]string

// maxQueryTags bounds the work one query may ask for.
const maxQueryTags = 64

// ParseQuery parses EXPR of query/EXPR: tags joined by '+' (AND), terms
// joined by ',' (OR); AND binds tighter.
func ParseQuery(expr string) (Query, error) {
	if expr == "" {
		return nil, fmt.Errorf("%w: empty query", ErrBadName)
	}
	var q Query
	tags := 0
	for term := range strings.SplitSeq(expr, ",") {
		var and []string
		for tag := range strings.SplitSeq(term, "+") {
			if err := ValidTag(tag); err != nil {
				return nil, fmt.Errorf("query %q: %w", expr, err)
			}
			if tags++; tags > maxQueryTags {
				return nil, fmt.Errorf("%w: query %q names more than %d tags", ErrBadName, expr, maxQueryTags)
			}
			and = append(and, tag)
		}
		q = append(q, and)
	}
	return q, nil
}

func (q Query) String() string {
	terms := make([]string, len(q))
	for i, and := range q {
		terms[i] = strings.Join(and, "+")
	}
	return strings.Join(terms, ",")
}

// recordIter yields ascending record numbers below a limit.
type recordIter interface {
	// seek returns the first record >= x without consuming it; ok is false
	// when none below the limit is known yet.
	seek(x int64) (rec int64, ok bool, err error)
	setLimit(limit int64)
}

// iter builds the merge of the query's postings. A tag the stream does not
// have matches nothing; ErrNotFound only if no tag of the query exists.
func (q Query) iter(s *Stream) (recordIter, error) {
	var or orIter
	found := false
	for _, term := range q {
		var and andIter
		for _, tag := range term {
			it, err := s.postings(tag)
			if err != nil {
				if !isNotFound(err) {
					return nil, err
				}
				and = nil
				break
			}
			found = true
			and = append(and, it)
		}
		switch len(and) {
		case 0:
		case 1:
			or = append(or, and[0]) // a term of one tag is its postings
		default:
			or = append(or, and)
		}
	}
	if !found {
		return nil, fmt.Errorf("stream %s: query %q: no such tag: %w", s.name, q, ErrNotFound)
	}
	if len(or) == 1 {
		return or[0], nil
	}
	return or, nil
}

// andIter yields the records every member yields (leapfrog intersection).
type andIter []recordIter

func (a andIter) setLimit(limit int64) {
	for _, it := range a {
		it.setLimit(limit)
	}
}

func (a andIter) seek(x int64) (int64, bool, error) {
	for {
		agreed := true
		for _, it := range a {
			v, ok, err := it.seek(x)
			if err != nil || !ok {
				return 0, false, err
			}
			if v > x {
				x, agreed = v, false
				break
			}
		}
		if agreed {
			return x, true, nil
		}
	}
}

// orIter yields the records any member yields, once each.
type orIter []recordIter

func (o orIter) setLimit(limit int64) {
	for _, it := range o {
		it.setLimit(limit)
	}
}

func (o orIter) seek(x int64) (int64, bool, error) {
	best, found := int64(0), false
	for _, it := range o {
		v, ok, err := it.seek(x)
		if err != nil {
			return 0, false, err
		}
		if ok && (!found || v < best) {
			best, found = v, true
		}
	}
	return best, found, nil
}

package franzd

import (
	"errors"

	"github.com/franzfs/franzfs/store"
)

// An answer is what a query gives when it is evaluated (FRANZD.md section
// 6): ready with a header, or not yet.
type answer struct {
	ready  bool
	header Header
	count  int64 // the records the stream had
}

// evaluate resolves q's ends against stream st as it is now. An unknown
// index is an IndexNotFound Exception.
func evaluate(st *store.Stream, q Query) (answer, error) {
	count, err := st.Count()
	if err != nil {
		return answer{}, err
	}
	a := answer{count: count, header: Header{S0: -1, S1: -1, Indices: st.Indices()}}
	b, okFrom, err := resolve(st, q.From, count, false)
	if err != nil {
		return a, err
	}
	e, okTo, err := resolve(st, q.To, count, true)
	if err != nil || !okFrom || !okTo || count < 1 || e > count-1 {
		return a, err
	}
	lo := max(b, 0)
	empty := lo > e
	if empty && !q.To.ByIndex && q.To.N < 0 {
		return a, nil // "k .. -1" waits for record k (franz 0.5.2)
	}
	a.ready = true
	switch {
	case q.Type == AllItems && empty:
		prev := max(min(b-1, e), -1)
		a.header.S0, a.header.S1 = prev, prev
	case q.Type == AllItems:
		a.header.S0, a.header.S1 = lo-1, e
	case empty: // LastItem and FirstItem: nothing is -1, -1, 0
		return a, nil
	case q.Type == LastItem:
		a.header.S0, a.header.S1 = e-1, e
	default: // FirstItem
		a.header.S0, a.header.S1 = lo-1, lo
	}
	a.header.P0, _, err = st.Span(a.header.S0+1, a.header.S0)
	return a, err
}

// resolve finds the record an end names among count records; ok is false
// when an index value cannot be resolved yet. asEnd: the last record with a
// value <= v; otherwise the first with a value >= v. Record numbers below
// zero count from the end, and may stay negative or lie in the future.
func resolve(st *store.Stream, r ItemRef, count int64, asEnd bool) (rec int64, ok bool, err error) {
	if !r.ByIndex {
		if r.N < 0 {
			return count + r.N, true, nil
		}
		return r.N, true, nil
	}
	idx, err := st.IndexNumber(r.Index)
	if errors.Is(err, store.ErrNotFound) {
		return 0, false, &Exception{Kind: IndexNotFound, Index: r.Index, Indices: st.Indices()}
	}
	if err != nil {
		return 0, false, err
	}
	if asEnd {
		rec, err = st.IndexEnd(idx, r.N, count)
		return rec, rec >= 0, err
	}
	rec, err = st.IndexStart(idx, r.N, count)
	return rec, rec < count, err
}

package store

import (
	"errors"
	"fmt"
)

// Stat holds a stream's figures: what stat.json shows and franzfs info prints.
type Stat struct {
	Records int64       `json:"records"`
	Bytes   int64       `json:"bytes"`
	Indices []IndexStat `json:"indices"`
	Tags    []TagStat   `json:"tags"`
	Live    bool        `json:"live"`
	Source  string      `json:"source"`
}

// IndexStat gives an index's first and last values (absent when empty).
// Sorted says whether the values never decrease (always so in streams
// franzfs writes; franz's writer allows otherwise).
type IndexStat struct {
	Name   string `json:"name"`
	First  *int64 `json:"first,omitempty"`
	Last   *int64 `json:"last,omitempty"`
	Sorted bool   `json:"sorted"`
}

// TagStat gives how many records carry a tag.
type TagStat struct {
	Name    string `json:"name"`
	Records int64  `json:"records"`
}

// Stat computes the stream's figures. It reads a few words per index and tag.
func (s *Stream) Stat() (Stat, error) {
	count, err := s.Count()
	if err != nil {
		return Stat{}, err
	}
	st := Stat{Records: count, Live: s.live, Source: s.name, Indices: []IndexStat{}, Tags: []TagStat{}}
	if st.Bytes, err = s.end(count - 1); err != nil {
		return Stat{}, err
	}
	for i, name := range s.indices {
		sorted, err := s.IndexSorted(i, count)
		if err != nil {
			return Stat{}, err
		}
		is := IndexStat{Name: name, Sorted: sorted}
		if count > 0 {
			first, err1 := s.IndexValue(i, 0)
			last, err2 := s.IndexValue(i, count-1)
			if err := errors.Join(err1, err2); err != nil {
				return Stat{}, err
			}
			is.First, is.Last = &first, &last
		}
		st.Indices = append(st.Indices, is)
	}
	tags, err := s.Tags()
	if err != nil {
		return Stat{}, err
	}
	for _, tag := range tags {
		n, err := s.TagCount(tag)
		if err != nil {
			return Stat{}, fmt.Errorf("tag %s: %w", tag, err)
		}
		st.Tags = append(st.Tags, TagStat{Name: tag, Records: n})
	}
	return st, nil
}

func isNotFound(err error) bool { return errors.Is(err, ErrNotFound) }

package tree

import (
	"errors"
	"slices"
)

// Union is several archives shown as one: where two have an image of the
// same name, the one given first wins.
type Union []Images

// Names lists the images of every archive, each name once. An archive
// that cannot be listed is an error only if none can.
func (u Union) Names() ([]string, error) {
	var names []string
	var errs []error
	for _, im := range u {
		more, err := im.Names()
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, name := range more {
			if !slices.Contains(names, name) {
				names = append(names, name)
			}
		}
	}
	if len(errs) == len(u) && len(u) > 0 {
		return nil, errors.Join(errs...)
	}
	return names, nil
}

// Source returns the image shown as name by the first archive that has it.
func (u Union) Source(name string) (Source, bool, error) {
	for _, im := range u {
		src, ok, err := im.Source(name)
		if err != nil || ok {
			return src, ok, err
		}
	}
	return Source{}, false, nil
}

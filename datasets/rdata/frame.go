package rdata

import "fmt"

// Factor returns the 0-based level codes of a factor (NA is -1) and its
// levels.
func (v *Value) Factor() (codes []int, levels []string, err error) {
	if v.Type != IntType || !v.HasClass("factor") {
		return nil, nil, fmt.Errorf("%w: not a factor (SEXP type %d, class %v)", ErrFormat, v.Type, v.Class())
	}
	lv := v.Attr("levels")
	if lv == nil || lv.Type != StringType {
		return nil, nil, fmt.Errorf("%w: factor without a character levels attribute", ErrFormat)
	}
	codes = make([]int, len(v.Ints))
	for i, c := range v.Ints {
		switch {
		case c == NAInt:
			codes[i] = -1
		case c < 1 || int(c) > len(lv.Strings):
			return nil, nil, fmt.Errorf("%w: factor code %d at %d outside levels 1..%d", ErrFormat, c, i, len(lv.Strings))
		default:
			codes[i] = int(c) - 1
		}
	}
	return codes, lv.Strings, nil
}

// Frame is a data.frame: named columns of equal length.
type Frame struct {
	Names   []string
	Columns []*Value
	Rows    int
}

// Column returns the named column, or nil.
func (f *Frame) Column(name string) *Value {
	for i, n := range f.Names {
		if n == name {
			return f.Columns[i]
		}
	}
	return nil
}

// DataFrame checks that v is a data.frame with equal-length columns and
// returns it as a Frame.
func (v *Value) DataFrame() (*Frame, error) {
	if v.Type != VectorType || !v.HasClass("data.frame") {
		return nil, fmt.Errorf("%w: not a data.frame (SEXP type %d, class %v)", ErrFormat, v.Type, v.Class())
	}
	nm := v.Attr("names")
	if nm == nil || nm.Type != StringType || len(nm.Strings) != len(v.Elems) {
		return nil, fmt.Errorf("%w: data.frame without one name per column", ErrFormat)
	}
	f := &Frame{Names: nm.Strings, Columns: v.Elems, Rows: -1}
	for i, c := range v.Elems {
		if f.Rows < 0 {
			f.Rows = c.Len()
		}
		if c.Len() != f.Rows {
			return nil, fmt.Errorf("%w: data.frame column %q has %d rows, column %q has %d", ErrFormat, f.Names[i], c.Len(), f.Names[0], f.Rows)
		}
	}
	if f.Rows < 0 {
		f.Rows = 0
	}
	return f, nil
}

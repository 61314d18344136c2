package rdata

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"math"
	"slices"
	"testing"
)

// enc builds XDR serialization streams for tests.
type enc struct{ bytes.Buffer }

func (e *enc) i(v ...int32) *enc {
	for _, x := range v {
		binary.Write(&e.Buffer, binary.BigEndian, x)
	}
	return e
}

func (e *enc) flags(typ int, obj, attr, tag bool) *enc {
	f := int32(typ)
	if obj {
		f |= 1 << 8
	}
	if attr {
		f |= 1 << 9
	}
	if tag {
		f |= 1 << 10
	}
	return e.i(f)
}

func (e *enc) char(s string) *enc {
	e.i(9|1<<18, int32(len(s))) // CHARSXP, UTF-8 level bit
	e.WriteString(s)
	return e
}

func (e *enc) sym(s string) *enc { e.i(1); return e.char(s) }

func (e *enc) strs(attr bool, s ...string) *enc {
	e.flags(16, false, attr, false).i(int32(len(s)))
	for _, x := range s {
		e.char(x)
	}
	return e
}

func (e *enc) header() *enc {
	e.WriteString("RDX2\nX\n")
	return e.i(2, 0x040300, 0x020300)
}

func (e *enc) nilv() *enc { return e.i(254) }

// frame writes a 2-column data.frame: a factor f (levels a, b) and a double
// column x, saved under the name "df".
func sampleFile() []byte {
	e := &enc{}
	e.header()
	e.flags(2, false, false, true).sym("df") // pairlist cell, tag df
	e.flags(19, true, true, false).i(2)      // VECSXP, 2 columns
	// column 1: factor c(2, 1, NA, 2)
	e.flags(13, true, true, false).i(4, 2, 1, math.MinInt32, 2)
	e.flags(2, false, false, true).sym("levels").strs(false, "a", "b")
	e.flags(2, false, false, true).sym("class").strs(false, "factor")
	e.nilv()
	// column 2: double c(1.5, -2, 0, 1e300)
	e.flags(14, false, false, false).i(4)
	for _, v := range []float64{1.5, -2, 0, 1e300} {
		binary.Write(&e.Buffer, binary.BigEndian, math.Float64bits(v))
	}
	// data.frame attributes: names, row.names (compact), class
	e.flags(2, false, false, true).sym("names").strs(false, "f", "x")
	e.flags(2, false, false, true)
	e.i(255 | 2<<8) // REFSXP to the second symbol read ("levels"? no: refs are 1-based in read order)
	e.flags(13, false, false, false).i(2, math.MinInt32, -4)
	e.flags(2, false, false, true).sym("class").strs(false, "data.frame")
	e.nilv()
	e.nilv() // end of the top-level pairlist
	return e.Bytes()
}

func TestReadFileKnownValues(t *testing.T) {
	for _, gz := range []bool{false, true} {
		data := sampleFile()
		if gz {
			var b bytes.Buffer
			w := gzip.NewWriter(&b)
			w.Write(data)
			w.Close()
			data = b.Bytes()
		}
		f, err := ReadFile(bytes.NewReader(data))
		if err != nil {
			t.Fatalf("gzip %v: %v", gz, err)
		}
		if f.Version != 2 || !slices.Equal(f.Names, []string{"df"}) {
			t.Fatalf("version %d, names %v", f.Version, f.Names)
		}
		v, _ := f.Get("df")
		df, err := v.DataFrame()
		if err != nil {
			t.Fatal(err)
		}
		if df.Rows != 4 || !slices.Equal(df.Names, []string{"f", "x"}) {
			t.Fatalf("rows %d names %v", df.Rows, df.Names)
		}
		codes, levels, err := df.Column("f").Factor()
		if err != nil || !slices.Equal(codes, []int{1, 0, -1, 1}) || !slices.Equal(levels, []string{"a", "b"}) {
			t.Fatalf("factor %v %v %v", codes, levels, err)
		}
		if x := df.Column("x").Reals; !slices.Equal(x, []float64{1.5, -2, 0, 1e300}) {
			t.Fatalf("x = %v", x)
		}
		// The REFSXP (index 2) resolves to the second symbol read: "levels".
		rn := v.Attrs[1]
		if rn.Name != "levels" || !slices.Equal(rn.Value.Ints, []int32{math.MinInt32, -4}) {
			t.Fatalf("second attribute %q = %v", rn.Name, rn.Value.Ints)
		}
	}
}

func TestReadFileErrors(t *testing.T) {
	good := sampleFile()
	huge := slices.Clone(good[:len(good)-8])
	cases := []struct {
		name string
		data []byte
	}{
		{"empty", nil},
		{"no magic", []byte("hello world")},
		{"ascii", []byte("RDX2\nA\n")},
		{"truncated", good[:len(good)/2]},
		{"huge length", append((&enc{}).header().flags(2, false, false, true).sym("a").i(13, 0x7fffffff).Bytes(), huge[:0]...)},
		{"bad ref", (&enc{}).header().flags(2, false, false, true).i(255 | 9<<8).Bytes()},
		{"bad version", (&enc{}).Bytes()},
		{"closure", (&enc{}).header().flags(2, false, false, true).sym("a").i(22).Bytes()},
	}
	for _, c := range cases {
		_, err := ReadFile(bytes.NewReader(c.data))
		if err == nil || !errors.Is(err, ErrFormat) {
			t.Errorf("%s: err = %v, want ErrFormat", c.name, err)
		}
	}
}

func TestNestingBounded(t *testing.T) {
	e := (&enc{}).header().flags(2, false, false, true).sym("a")
	for range 100000 {
		e.flags(19, false, false, false).i(1)
	}
	_, err := ReadFile(bytes.NewReader(e.Bytes()))
	if err == nil || !errors.Is(err, ErrFormat) {
		t.Fatalf("deep nesting: %v", err)
	}
}

func TestXZDictLimit(t *testing.T) {
	// Stream header, then a block header asking for a 4 GiB LZMA2 dictionary.
	b := []byte{0xfd, '7', 'z', 'X', 'Z', 0, 0, 1, 0, 0, 0, 0}
	b = append(b, 2, 0, 0x21, 1, 40, 0, 0, 0, 0, 0, 0, 0)
	_, err := ReadFile(bytes.NewReader(b))
	if err == nil || !errors.Is(err, ErrFormat) {
		t.Fatalf("err = %v", err)
	}
}

func FuzzReadRDA(f *testing.F) {
	f.Add(sampleFile())
	f.Add([]byte("RDX3\nX\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		rf, err := ReadFile(bytes.NewReader(data))
		if err != nil {
			if !errors.Is(err, ErrFormat) && !bytes.HasPrefix(data, []byte{0x1f, 0x8b}) && !bytes.HasPrefix(data, []byte("BZh")) {
				t.Fatalf("error without ErrFormat: %v", err)
			}
			return
		}
		for _, v := range rf.Values {
			if df, err := v.DataFrame(); err == nil {
				for _, c := range df.Columns {
					c.Factor()
				}
			}
		}
	})
}

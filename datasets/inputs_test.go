package datasets

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// npyRaw builds a .npy file with any descr and raw data bytes.
func npyRaw(descr string, shape string, data []byte) []byte {
	h := "{'descr': '" + descr + "', 'fortran_order': False, 'shape': (" + shape + "), }"
	for (10+len(h)+1)%64 != 0 {
		h += " "
	}
	h += "\n"
	var b bytes.Buffer
	b.WriteString("\x93NUMPY\x01\x00")
	binary.Write(&b, binary.LittleEndian, uint16(len(h)))
	b.WriteString(h)
	b.Write(data)
	return b.Bytes()
}

func TestReadInputs(t *testing.T) {
	dir := t.TempDir()
	vals := []float32{1, 2, 3, 4, 5, 6}
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	f64 := make([]byte, 8*len(vals))
	for i, v := range vals {
		binary.LittleEndian.PutUint64(f64[8*i:], math.Float64bits(float64(v)))
	}
	u8 := []byte{1, 2, 3, 4, 5, 6}
	nan := slices.Clone(vals)
	nan[4] = float32(math.Inf(1))
	must := func(err error) {
		if err != nil {
			t.Fatal(err)
		}
	}
	must(WriteNPZ(filepath.Join(dir, "x.npz"), NPYArray{Name: "X", Shape: []int{2, 1, 3}, F32: vals}, NPYArray{Name: "y", Shape: []int{2}, I32: []int32{0, 1}}))
	must(WriteNPZ(filepath.Join(dir, "single.npz"), NPYArray{Name: "arr_0", Shape: []int{2, 1, 3}, F32: vals}))
	must(WriteNPZ(filepath.Join(dir, "other.npz"), NPYArray{Name: "a", Shape: []int{2, 1, 3}, F32: vals}, NPYArray{Name: "b", Shape: []int{2}, F32: vals[:2]}))
	write("d/X.npy", EncodeNPY(vals, []int{2, 1, 3}))
	must(os.MkdirAll(filepath.Join(dir, "z"), 0o755))
	must(WriteNPZ(filepath.Join(dir, "z", "only.npz"), NPYArray{Name: "x", Shape: []int{2, 1, 3}, F32: vals}))
	ok := []struct{ name, path, dtype string }{
		{"npy of any name", write("new.npy", EncodeNPY(vals, []int{2, 1, 3})), "<f4"},
		{"float64", write("f64.npy", npyRaw("<f8", "2, 1, 3", f64)), "<f8"},
		{"uint8", write("u8.npy", npyRaw("|u1", "2, 1, 3", u8)), "|u1"},
		{"npz with X", filepath.Join(dir, "x.npz"), "<f4"},
		{"npz with one array", filepath.Join(dir, "single.npz"), "<f4"},
		{"directory with X.npy", filepath.Join(dir, "d"), "<f4"},
		{"directory with one npz", filepath.Join(dir, "z"), "<f4"},
	}
	for _, c := range ok {
		in, err := ReadInputs(c.path)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if !slices.Equal(in.Shape, []int{2, 1, 3}) || !slices.Equal(in.X, vals) || in.DType != c.dtype {
			t.Errorf("%s: shape %v values %v dtype %s", c.name, in.Shape, in.X, in.DType)
		}
	}
	bad := []struct{ name, path, want string }{
		{"missing", filepath.Join(dir, "nope.npy"), "not found"},
		{"complex dtype", write("c.npy", npyRaw("<c8", "3,", make([]byte, 24))), "unsupported dtype"},
		{"truncated", write("t.npy", npyRaw("<f4", "2, 1, 3", make([]byte, 10))), "truncated"},
		{"not npy", write("junk.npy", []byte("hello")), "not a valid .npy"},
		{"Inf", write("inf.npy", EncodeNPY(nan, []int{2, 1, 3})), "sample 1"},
		{"npz without X", filepath.Join(dir, "other.npz"), "no inputs"},
		{"other extension", write("x.csv", []byte("1,2")), "expected a .npy or .npz"},
		{"empty directory", filepath.Join(dir, "empty"), "holds no X.npy"},
	}
	must(os.MkdirAll(filepath.Join(dir, "empty"), 0o755))
	for _, c := range bad {
		_, err := ReadInputs(c.path)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one containing %q", c.name, err, c.want)
		}
	}
	if _, err := ReadInputs(filepath.Join(dir, "nope.npy")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v is not ErrNotExist", err)
	}
}

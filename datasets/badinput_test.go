package datasets

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"path/filepath"
	"strings"
	"testing"
)

// rawNPY returns a .npy stream with the given header fields and data.
func rawNPY(descr, shape string, data []byte) []byte {
	hdr := "{'descr': '" + descr + "', 'fortran_order': False, 'shape': " + shape + ", }"
	for (10+len(hdr)+1)%64 != 0 {
		hdr += " "
	}
	hdr += "\n"
	var b bytes.Buffer
	b.WriteString("\x93NUMPY\x01\x00")
	binary.Write(&b, binary.LittleEndian, uint16(len(hdr)))
	b.WriteString(hdr)
	b.Write(data)
	return b.Bytes()
}

// rawIDX returns a gzip-compressed IDX stream with the given dims and data.
func rawIDX(magic uint32, dims []uint32, data []byte) []byte {
	var b bytes.Buffer
	z := gzip.NewWriter(&b)
	binary.Write(z, binary.BigEndian, magic)
	for _, d := range dims {
		binary.Write(z, binary.BigEndian, d)
	}
	z.Write(data)
	z.Close()
	return b.Bytes()
}

func TestCheckedProd(t *testing.T) {
	cases := []struct {
		dims []int
		want int
		ok   bool
	}{
		{nil, 1, true},
		{[]int{3, 4}, 12, true},
		{[]int{0, 5}, 0, true},
		{[]int{3, 1, 1 << 62}, 0, false},
		{[]int{1 << 32, 1, 1 << 32}, 0, false}, // wraps to 0 in plain int arithmetic
		{[]int{1 << 16, 1 << 16}, 0, false},    // 2^32 > 2^31
		{[]int{1 << 15, 1 << 16}, 1 << 31, true},
		{[]int{-1, 4}, 0, false},
		{[]int{1 << 40, 0}, 0, false}, // a single absurd dimension
		{[]int{1 << 20, 1 << 20, 0}, 0, true},
	}
	for _, c := range cases {
		got, ok := checkedProd(c.dims, maxElements)
		if got != c.want || ok != c.ok {
			t.Errorf("checkedProd(%v) = %d, %v; want %d, %v", c.dims, got, ok, c.want, c.ok)
		}
	}
}

// Crafted headers must give an error naming the problem, never a panic
// (makeslice) or an allocation of what the header claims (issue 12).
func TestReadNPYCraftedHeaders(t *testing.T) {
	cases := []struct {
		name, descr, shape string
		data               []byte
		want               []string
		target             error
	}{
		{"overflow-3-1-2^62", "<f4", "(3, 1, 4611686018427387904)", make([]byte, 64), []string{"implausible shape"}, ErrUnreadable},
		{"wraps-to-zero", "<f4", "(4294967296, 1, 4294967296)", make([]byte, 64), []string{"implausible shape"}, ErrUnreadable},
		// plausible by count, but the bytes are not there: the reader must
		// not allocate 8 GiB first
		{"claims-8GiB", "<f4", "(65536, 32768)", make([]byte, 100), []string{"only 100 bytes present", "8589934592 bytes of data"}, ErrTruncated},
		{"claims-2^31-u1", "|u1", "(2147483648,)", make([]byte, 10), []string{"only 10 bytes present"}, ErrTruncated},
		{"negative", "<f4", "(-3, 4)", nil, []string{"negative dimension"}, ErrUnreadable},
		{"dim-over-limit-with-zero", "<f4", "(0, 1099511627776)", nil, []string{"implausible shape"}, ErrUnreadable},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := readNPY(bytes.NewReader(rawNPY(c.descr, c.shape, c.data)), "X.npy")
			if err == nil {
				t.Fatal("no error")
			}
			if !errors.Is(err, c.target) {
				t.Errorf("error %v does not wrap %v", err, c.target)
			}
			for _, w := range append(c.want, "X.npy") {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

func TestReadIDXCrafted(t *testing.T) {
	cases := []struct {
		name string
		dims []uint32
		data []byte
		want string
	}{
		{"overflow", []uint32{1 << 31, 1 << 31, 1 << 31}, nil, "implausible size"},
		{"claims-2GiB", []uint32{1 << 15, 256, 256}, make([]byte, 50), "only 50 present"},
		{"ok", []uint32{2, 2, 2}, make([]byte, 8), ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			buf, dims, err := readIDXStream(bytes.NewReader(rawIDX(idxImageMagic, c.dims, c.data)), "img.gz", idxImageMagic)
			if c.want == "" {
				if err != nil || len(buf) != 8 || len(dims) != 3 {
					t.Fatalf("got %d bytes, dims %v, err %v", len(buf), dims, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "img.gz") {
				t.Fatalf("error %v, want one naming img.gz and %q", err, c.want)
			}
		})
	}
}

// The class count is bounded: a huge label or --classes is refused with a
// message, not an out-of-memory crash; a negative --classes is named as such.
func TestLoadFilesClassBounds(t *testing.T) {
	cases := []struct {
		name    string
		labels  []int64
		classes int
		want    []string
	}{
		{"label-1e9", []int64{0, 1, 1000000000, 1, 0, 1}, 0, []string{"label 1000000000 of sample 2", "at most 100000"}},
		{"classes-1e9", []int64{0, 1, 0, 1, 0, 1}, 1000000000, []string{"number of classes 1000000000 (--classes)", "maximum 100000"}},
		{"classes-negative", []int64{0, 1, 0, 1, 0, 1}, -5, []string{"number of classes -5 (--classes) is negative", "at least 2"}},
		{"classes-one", []int64{0, 0, 0, 0, 0, 0}, 1, []string{"needs at least 2 classes"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			writeNPY(t, filepath.Join(dir, "X.npy"), seq(len(c.labels), 8))
			writeNPY(t, filepath.Join(dir, "y.npy"), c.labels)
			_, _, err := LoadFiles(dir, FileOptions{Classes: c.classes})
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "class(es) found") {
				t.Errorf("error %q is the old misleading message", err)
			}
		})
	}
}

// With HOME (and every other module-cache hint) unset the MNIST error says
// so instead of "looked in ( )" (issue 12).
func TestMNISTDirHomeUnset(t *testing.T) {
	for _, k := range []string{"HOME", "GOMODCACHE", "GOPATH", "PATH", "DASH_MNIST_DIR"} {
		t.Setenv(k, "")
	}
	_, err := findMNISTDir()
	if err == nil {
		t.Fatal("MNIST was found with HOME, GOMODCACHE, GOPATH, PATH and DASH_MNIST_DIR all unset; want the error")
	}
	msg := err.Error()
	for _, w := range []string{"$HOME is not set", "DASH_MNIST_DIR", "no module cache to look in"} {
		if !strings.Contains(msg, w) {
			t.Errorf("error %q lacks %q", msg, w)
		}
	}
	if strings.Contains(msg, "( )") || strings.Contains(msg, "looked in )") {
		t.Errorf("error %q has an empty list", msg)
	}
}

package datasets

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"regexp"
	"strconv"
	"strings"

	"github.com/sbinet/npyio/npy"
)

// array is a decoded NumPy array: values as float64 (exact for every
// supported dtype up to 2^53), C order.
type array struct {
	name    string // file or archive entry, for messages
	dtype   string // NumPy descr, e.g. "<f4"
	kind    byte   // 'f', 'i', 'u' or 'b'
	shape   []int
	f32     []float32 // float data (kind 'f')
	ints    []int64   // integer / bool data
	isFloat bool
}

func (a *array) len() int { return prod(a.shape) }

// ErrUnsupportedDtype is wrapped by errors for arrays of a dtype the loader
// cannot use.
var ErrUnsupportedDtype = errors.New("unsupported dtype")

// ErrTruncated is wrapped by errors for files shorter than their header says.
var ErrTruncated = errors.New("truncated file")

// ErrUnreadable is wrapped by errors for files that are not valid .npy/.npz.
var ErrUnreadable = errors.New("unreadable file")

// maxElements bounds the element count of one array (2^31, 8 GiB of
// float32): larger headers are rejected before anything is allocated.
const maxElements = 1 << 31

// checkedProd returns the product of dims when every dim lies in
// [0, limit] and the product does not exceed limit, computed without
// overflow; ok is false otherwise. (A single dimension above limit is
// refused even when another is 0: it would size per-sample buffers.)
func checkedProd(dims []int, limit int) (int, bool) {
	p := 1
	big := false
	for _, d := range dims {
		if d < 0 || d > limit {
			return 0, false
		}
		if d != 0 && p > limit/d {
			big = true
			continue
		}
		p *= d
	}
	if big && p != 0 {
		return 0, false
	}
	if big {
		return 0, true
	}
	return p, true
}

// readNPY decodes one .npy stream.
func readNPY(r io.Reader, name string) (*array, error) {
	h, err := readNPYHeader(r)
	if err != nil {
		return nil, fmt.Errorf("datasets: %s: %w: not a valid .npy file (%w)", name, ErrUnreadable, err)
	}
	a := &array{name: name, dtype: h.Descr.Type, shape: append([]int(nil), h.Descr.Shape...)}
	if len(a.dtype) < 3 {
		return nil, fmt.Errorf("datasets: %s: %w %q", name, ErrUnsupportedDtype, a.dtype)
	}
	var order binary.ByteOrder = binary.LittleEndian
	switch a.dtype[0] {
	case '<', '|', '=':
	case '>':
		order = binary.BigEndian
	default:
		return nil, fmt.Errorf("datasets: %s: %w %q", name, ErrUnsupportedDtype, a.dtype)
	}
	a.kind = a.dtype[1]
	size, err := strconv.Atoi(a.dtype[2:])
	ok := err == nil
	switch a.kind {
	case 'f':
		ok = ok && (size == 4 || size == 8)
		a.isFloat = true
	case 'i', 'u':
		ok = ok && (size == 1 || size == 2 || size == 4 || size == 8)
	case 'b':
		ok = ok && size == 1
	default:
		ok = false
	}
	if !ok {
		return nil, fmt.Errorf("datasets: %s: %w %q (supported: float32, float64, int8…int64, uint8…uint64, bool)", name, ErrUnsupportedDtype, a.dtype)
	}
	for _, d := range a.shape {
		if d < 0 {
			return nil, fmt.Errorf("datasets: %s: %w: negative dimension in shape %v", name, ErrUnreadable, a.shape)
		}
	}
	n, ok := checkedProd(a.shape, maxElements)
	if !ok {
		return nil, fmt.Errorf("datasets: %s: %w: implausible shape %v (more than %d elements)", name, ErrUnreadable, a.shape, maxElements)
	}
	// Read gradually, so that memory follows the bytes actually present,
	// not what a (possibly crafted) header claims.
	want := int64(n) * int64(size)
	raw, err := io.ReadAll(io.LimitReader(r, want))
	if err != nil {
		return nil, fmt.Errorf("datasets: %s: %w: %w", name, ErrUnreadable, err)
	}
	if int64(len(raw)) < want {
		return nil, fmt.Errorf("datasets: %s: %w: header says shape %v of %s (%d bytes of data), only %d bytes present",
			name, ErrTruncated, a.shape, a.dtype, want, len(raw))
	}
	if a.isFloat {
		a.f32 = make([]float32, n)
		for i := range a.f32 {
			if size == 4 {
				a.f32[i] = math.Float32frombits(order.Uint32(raw[4*i:]))
			} else {
				a.f32[i] = float32(math.Float64frombits(order.Uint64(raw[8*i:])))
			}
		}
	} else {
		a.ints = make([]int64, n)
		for i := range a.ints {
			switch {
			case size == 1 && a.kind == 'i':
				a.ints[i] = int64(int8(raw[i]))
			case size == 1:
				a.ints[i] = int64(raw[i])
			case size == 2 && a.kind == 'i':
				a.ints[i] = int64(int16(order.Uint16(raw[2*i:])))
			case size == 2:
				a.ints[i] = int64(order.Uint16(raw[2*i:]))
			case size == 4 && a.kind == 'i':
				a.ints[i] = int64(int32(order.Uint32(raw[4*i:])))
			case size == 4:
				a.ints[i] = int64(order.Uint32(raw[4*i:]))
			case size == 8 && a.kind == 'i':
				a.ints[i] = int64(order.Uint64(raw[8*i:]))
			default:
				v := order.Uint64(raw[8*i:])
				if v > math.MaxInt64 {
					v = math.MaxInt64
				}
				a.ints[i] = int64(v)
			}
		}
	}
	if h.Descr.Fortran && len(a.shape) > 1 {
		a.toCOrder()
	}
	return a, nil
}

var (
	reDescr    = regexp.MustCompile(`'descr'\s*:\s*'([^']*)'`)
	reDescrAny = regexp.MustCompile(`'descr'\s*:`)
	reFortran  = regexp.MustCompile(`'fortran_order'\s*:\s*(True|False)`)
	reShape    = regexp.MustCompile(`'shape'\s*:\s*\(([^)]*)\)`)
)

// readNPYHeader parses a .npy header (format versions 1–3). It is stricter
// than npyio's reader about short files, which it must never panic on.
func readNPYHeader(r io.Reader) (*npy.Header, error) {
	var pre [10]byte
	if _, err := io.ReadFull(r, pre[:8]); err != nil {
		return nil, fmt.Errorf("reading magic: %w", err)
	}
	if [6]byte(pre[:6]) != npy.Magic {
		return nil, errors.New("bad magic (not a NumPy file)")
	}
	h := &npy.Header{Major: pre[6], Minor: pre[7]}
	var hlen int
	switch h.Major {
	case 1:
		if _, err := io.ReadFull(r, pre[8:10]); err != nil {
			return nil, fmt.Errorf("reading header length: %w", err)
		}
		hlen = int(binary.LittleEndian.Uint16(pre[8:10]))
	case 2, 3:
		var b [4]byte
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return nil, fmt.Errorf("reading header length: %w", err)
		}
		hlen = int(binary.LittleEndian.Uint32(b[:]))
	default:
		return nil, fmt.Errorf("unknown format version %d.%d", h.Major, h.Minor)
	}
	if hlen > 1<<20 {
		return nil, fmt.Errorf("implausible header length %d", hlen)
	}
	buf := make([]byte, hlen)
	if _, err := io.ReadFull(r, buf); err != nil {
		return nil, fmt.Errorf("reading %d-byte header: %w", hlen, err)
	}
	m := reDescr.FindSubmatch(buf)
	if m == nil {
		if reDescrAny.Match(buf) {
			return nil, fmt.Errorf("%w: structured dtype", ErrUnsupportedDtype)
		}
		return nil, fmt.Errorf("header has no descr: %q", buf)
	}
	h.Descr.Type = string(m[1])
	f := reFortran.FindSubmatch(buf)
	if f == nil {
		return nil, fmt.Errorf("header has no fortran_order: %q", buf)
	}
	h.Descr.Fortran = string(f[1]) == "True"
	sm := reShape.FindSubmatch(buf)
	if sm == nil {
		return nil, fmt.Errorf("header has no shape: %q", buf)
	}
	for _, tok := range strings.Split(string(sm[1]), ",") {
		tok = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(tok), "L"))
		if tok == "" {
			continue
		}
		d, err := strconv.Atoi(tok)
		if err != nil {
			return nil, fmt.Errorf("bad shape %q", sm[1])
		}
		h.Descr.Shape = append(h.Descr.Shape, d)
	}
	return h, nil
}

// toCOrder converts column-major data to row-major.
func (a *array) toCOrder() {
	n := a.len()
	rank := len(a.shape)
	// Fortran strides (in elements).
	fs := make([]int, rank)
	s := 1
	for k := 0; k < rank; k++ {
		fs[k] = s
		s *= a.shape[k]
	}
	idx := make([]int, rank)
	src := func(c int) int {
		off := 0
		for k := 0; k < rank; k++ {
			off += idx[k] * fs[k]
		}
		return off
	}
	next := func() {
		for k := rank - 1; k >= 0; k-- {
			idx[k]++
			if idx[k] < a.shape[k] {
				return
			}
			idx[k] = 0
		}
	}
	if a.isFloat {
		out := make([]float32, n)
		for c := 0; c < n; c++ {
			out[c] = a.f32[src(c)]
			next()
		}
		a.f32 = out
	} else {
		out := make([]int64, n)
		for c := 0; c < n; c++ {
			out[c] = a.ints[src(c)]
			next()
		}
		a.ints = out
	}
}

// floats returns the values as float32.
func (a *array) floats() []float32 {
	if a.isFloat {
		return a.f32
	}
	out := make([]float32, len(a.ints))
	for i, v := range a.ints {
		out[i] = float32(v)
	}
	return out
}

// checkFinite reports the first NaN or Inf.
func (a *array) checkFinite(what string) error {
	if !a.isFloat {
		return nil
	}
	per := 1
	if len(a.shape) > 0 && a.shape[0] > 0 {
		per = a.len() / a.shape[0]
	}
	for i, v := range a.f32 {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return fmt.Errorf("datasets: %s (%s): value %v at sample %d (flat index %d): NaN/Inf values are not allowed", what, a.name, v, i/max(per, 1), i)
		}
	}
	return nil
}

// isBinary reports whether every value is 0 or 1.
func (a *array) isBinary() bool {
	if a.isFloat {
		for _, v := range a.f32 {
			if v != 0 && v != 1 {
				return false
			}
		}
		return true
	}
	for _, v := range a.ints {
		if v != 0 && v != 1 {
			return false
		}
	}
	return true
}

// integral reports whether every (float) value is a whole number.
func (a *array) integral() bool {
	if !a.isFloat {
		return true
	}
	for _, v := range a.f32 {
		if v != float32(math.Trunc(float64(v))) || math.Abs(float64(v)) > 1<<24 {
			return false
		}
	}
	return true
}

// intValues returns the values as int64 (floats must be integral).
func (a *array) intValues() []int64 {
	if !a.isFloat {
		return a.ints
	}
	out := make([]int64, len(a.f32))
	for i, v := range a.f32 {
		out[i] = int64(v)
	}
	return out
}

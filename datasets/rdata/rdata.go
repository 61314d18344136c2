// Package rdata reads R data files (.rda/.RData, as written by R's save())
// and single serialized objects (.rds) in R's XDR binary serialization,
// versions 2 and 3, uncompressed or compressed with gzip, bzip2 or xz.
//
// It reads the object types that data files hold — vectors (logical,
// integer, double, complex, character, raw, list), pairlists, symbols,
// attributes and environments — and refuses code (closures, byte code,
// external pointers) with an error. Malformed input is an error, never a
// panic: lengths are checked against the bytes that remain, nesting is
// bounded and the decompressed size is capped.
package rdata

import (
	"bufio"
	"bytes"
	"compress/bzip2"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"

	"github.com/ulikunitz/xz"
)

// Type is an R SEXP type code.
type Type uint8

// The SEXP types this package produces.
const (
	NilType     Type = 0
	SymType     Type = 1
	ListType    Type = 2 // pairlist
	EnvType     Type = 4
	CharType    Type = 9
	LogicalType Type = 10
	IntType     Type = 13
	RealType    Type = 14
	ComplexType Type = 15
	StringType  Type = 16
	VectorType  Type = 19 // generic vector (list)
	ExprType    Type = 20
	RawType     Type = 24
	S4Type      Type = 25
	LangType    Type = 6
)

// Pseudo-types of the serialization format.
const (
	refSXP        = 255
	nilValueSXP   = 254
	globalEnvSXP  = 253
	unboundSXP    = 252
	missingArgSXP = 251
	baseNSSXP     = 250
	namespaceSXP  = 249
	packageSXP    = 248
	persistSXP    = 247
	emptyEnvSXP   = 242
	baseEnvSXP    = 241
	attrLangSXP   = 240
	attrListSXP   = 239
	altrepSXP     = 238
)

// NAInt is R's integer NA.
const NAInt = math.MinInt32

// Limits guarding against hostile input.
const (
	// MaxDecompressed caps the serialized stream size after decompression.
	MaxDecompressed = 1 << 30
	// maxDepth bounds the nesting of objects.
	maxDepth = 512
	// maxXZDict caps the LZMA2 dictionary an xz header may ask for.
	maxXZDict = 64 << 20
)

// ErrFormat is wrapped by every error about malformed or unsupported input.
var ErrFormat = errors.New("rdata: bad R data")

// Attr is one attribute of a Value.
type Attr struct {
	Name  string
	Value *Value
}

// Value is a deserialized R object. Which fields are set depends on Type:
// Ints (logical, integer; NA is NAInt), Reals (double; complex as re,im
// pairs), Strings with StringNA (character), Bytes (raw), Elems (list,
// expression, pairlist — with Tags for a pairlist), Name (symbol).
type Value struct {
	Type     Type
	Ints     []int32
	Reals    []float64
	Strings  []string
	StringNA []bool
	Bytes    []byte
	Elems    []*Value
	Tags     []string
	Name     string
	Attrs    []Attr
	Object   bool // the object bit (a class attribute is set)
}

// Len is the number of elements of a vector, list or pairlist.
func (v *Value) Len() int {
	switch v.Type {
	case LogicalType, IntType:
		return len(v.Ints)
	case RealType:
		return len(v.Reals)
	case ComplexType:
		return len(v.Reals) / 2
	case StringType:
		return len(v.Strings)
	case RawType:
		return len(v.Bytes)
	case VectorType, ExprType, ListType, LangType:
		return len(v.Elems)
	}
	return 0
}

// Attr returns the named attribute, or nil.
func (v *Value) Attr(name string) *Value {
	for _, a := range v.Attrs {
		if a.Name == name {
			return a.Value
		}
	}
	return nil
}

// Class returns the class attribute (nil when there is none).
func (v *Value) Class() []string {
	if c := v.Attr("class"); c != nil && c.Type == StringType {
		return c.Strings
	}
	return nil
}

// HasClass reports whether class is among v's classes.
func (v *Value) HasClass(class string) bool {
	for _, c := range v.Class() {
		if c == class {
			return true
		}
	}
	return false
}

// File is the content of an R data file: named objects in save() order.
type File struct {
	Version int // serialization format version, 2 or 3
	Names   []string
	Values  []*Value
}

// Get returns the object saved under name.
func (f *File) Get(name string) (*Value, bool) {
	for i, n := range f.Names {
		if n == name {
			return f.Values[i], true
		}
	}
	return nil, false
}

// ReadFile reads an .rda/.RData stream: optional compression, the "RDX2\n"
// or "RDX3\n" magic, then a pairlist of named objects.
func ReadFile(r io.Reader) (*File, error) {
	data, err := decompress(r)
	if err != nil {
		return nil, err
	}
	if len(data) < 5 || (string(data[:5]) != "RDX2\n" && string(data[:5]) != "RDX3\n") {
		return nil, fmt.Errorf("%w: no RDX2/RDX3 magic (not an R data file written by save())", ErrFormat)
	}
	ver, v, err := parse(data[5:])
	if err != nil {
		return nil, err
	}
	if v.Type != ListType {
		return nil, fmt.Errorf("%w: top level is SEXP type %d, want a pairlist of named objects", ErrFormat, v.Type)
	}
	f := &File{Version: ver, Names: v.Tags, Values: v.Elems}
	return f, nil
}

// ReadRDS reads a single serialized object (an .rds stream), optionally
// compressed.
func ReadRDS(r io.Reader) (*Value, error) {
	data, err := decompress(r)
	if err != nil {
		return nil, err
	}
	_, v, err := parse(data)
	return v, err
}

// Parse reads an uncompressed serialization stream (starting at the "X\n"
// format line) and returns the format version and the object.
func Parse(data []byte) (int, *Value, error) { return parse(data) }

func decompress(r io.Reader) ([]byte, error) {
	br := bufio.NewReader(r)
	head, err := br.Peek(6)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("rdata: reading: %w", err)
	}
	var src io.Reader = br
	switch {
	case bytes.HasPrefix(head, []byte{0x1f, 0x8b}):
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("%w: gzip: %w", ErrFormat, err)
		}
		src = zr
	case bytes.HasPrefix(head, []byte("BZh")):
		src = bzip2.NewReader(br)
	case bytes.HasPrefix(head, []byte{0xfd, '7', 'z', 'X', 'Z', 0}):
		all, err := io.ReadAll(io.LimitReader(br, MaxDecompressed))
		if err != nil {
			return nil, fmt.Errorf("rdata: reading: %w", err)
		}
		if err := checkXZDict(all); err != nil {
			return nil, err
		}
		xr, err := xz.NewReader(bytes.NewReader(all))
		if err != nil {
			return nil, fmt.Errorf("%w: xz: %w", ErrFormat, err)
		}
		src = xr
	}
	data, err := io.ReadAll(io.LimitReader(src, MaxDecompressed+1))
	if err != nil {
		return nil, fmt.Errorf("%w: decompressing: %w", ErrFormat, err)
	}
	if len(data) > MaxDecompressed {
		return nil, fmt.Errorf("%w: more than %d bytes after decompression", ErrFormat, MaxDecompressed)
	}
	return data, nil
}

// checkXZDict reads the LZMA2 dictionary size from the first block header
// of an xz stream and refuses sizes over maxXZDict, so that a hostile header
// cannot make the decoder allocate gigabytes.
func checkXZDict(b []byte) error {
	const streamHeader = 12
	if len(b) < streamHeader+2 {
		return fmt.Errorf("%w: xz stream too short", ErrFormat)
	}
	h := b[streamHeader:]
	if h[0] == 0 { // index indicator: no blocks
		return nil
	}
	size := (int(h[0]) + 1) * 4
	if size > len(h) {
		return fmt.Errorf("%w: xz block header truncated", ErrFormat)
	}
	h = h[1:size]
	flags := h[0]
	h = h[1:]
	nFilters := int(flags&3) + 1
	uvarint := func() (uint64, bool) {
		x, n := binary.Uvarint(h)
		if n <= 0 {
			return 0, false
		}
		h = h[n:]
		return x, true
	}
	if flags&0x40 != 0 {
		if _, ok := uvarint(); !ok {
			return fmt.Errorf("%w: xz block header: bad compressed size", ErrFormat)
		}
	}
	if flags&0x80 != 0 {
		if _, ok := uvarint(); !ok {
			return fmt.Errorf("%w: xz block header: bad uncompressed size", ErrFormat)
		}
	}
	for i := 0; i < nFilters; i++ {
		id, ok := uvarint()
		if !ok {
			return fmt.Errorf("%w: xz block header: bad filter id", ErrFormat)
		}
		np, ok := uvarint()
		if !ok || np > uint64(len(h)) {
			return fmt.Errorf("%w: xz block header: bad filter properties", ErrFormat)
		}
		if id == 0x21 && np == 1 {
			p := h[0]
			if p > 40 {
				return fmt.Errorf("%w: xz LZMA2 dictionary code %d out of range", ErrFormat, p)
			}
			dict := uint64(2|p&1) << (p/2 + 11)
			if dict > maxXZDict {
				return fmt.Errorf("%w: xz LZMA2 dictionary of %d bytes exceeds the %d-byte limit", ErrFormat, dict, maxXZDict)
			}
		}
		h = h[np:]
	}
	return nil
}

// decoder reads XDR items from a byte slice.
type decoder struct {
	b     []byte
	off   int
	refs  []*Value
	depth int
}

func (d *decoder) errf(format string, args ...any) error {
	return fmt.Errorf("%w: at byte %d: %s", ErrFormat, d.off, fmt.Sprintf(format, args...))
}

func (d *decoder) remaining() int { return len(d.b) - d.off }

func (d *decoder) int32() (int32, error) {
	if d.remaining() < 4 {
		return 0, d.errf("unexpected end of data")
	}
	v := int32(binary.BigEndian.Uint32(d.b[d.off:]))
	d.off += 4
	return v, nil
}

// length reads a vector length (with R's long-vector escape) and checks that
// at least length·minBytes bytes remain.
func (d *decoder) length(minBytes int) (int, error) {
	n, err := d.int32()
	if err != nil {
		return 0, err
	}
	ln := int64(n)
	if n == -1 {
		hi, err := d.int32()
		if err != nil {
			return 0, err
		}
		lo, err := d.int32()
		if err != nil {
			return 0, err
		}
		ln = int64(uint32(hi))<<32 | int64(uint32(lo))
	} else if n < 0 {
		return 0, d.errf("negative length %d", n)
	}
	if minBytes > 0 && ln > int64(d.remaining()/minBytes) {
		return 0, d.errf("length %d needs more than the %d bytes left", ln, d.remaining())
	}
	return int(ln), nil
}

func parse(data []byte) (int, *Value, error) {
	d := &decoder{b: data}
	if len(data) < 2 {
		return 0, nil, d.errf("no serialization format line")
	}
	switch string(data[:2]) {
	case "X\n":
	case "A\n":
		return 0, nil, d.errf("ASCII serialization is not supported (save with ascii = FALSE)")
	case "B\n":
		return 0, nil, d.errf("native binary serialization is not supported (only XDR)")
	default:
		return 0, nil, d.errf("unknown serialization format %q", data[:2])
	}
	d.off = 2
	ver, err := d.int32()
	if err != nil {
		return 0, nil, err
	}
	if _, err := d.int32(); err != nil { // R version that wrote it
		return 0, nil, err
	}
	if _, err := d.int32(); err != nil { // minimal R version to read it
		return 0, nil, err
	}
	switch ver {
	case 2:
	case 3:
		n, err := d.length(1)
		if err != nil {
			return 0, nil, err
		}
		d.off += n // native encoding name
	default:
		return 0, nil, d.errf("serialization version %d is not supported (2 or 3)", ver)
	}
	v, err := d.item()
	if err != nil {
		return 0, nil, err
	}
	return int(ver), v, nil
}

// item reads one object.
func (d *decoder) item() (*Value, error) {
	d.depth++
	defer func() { d.depth-- }()
	if d.depth > maxDepth {
		return nil, d.errf("objects nested deeper than %d", maxDepth)
	}
	flags, err := d.int32()
	if err != nil {
		return nil, err
	}
	typ := int(flags & 0xff)
	isObj := flags&(1<<8) != 0
	hasAttr := flags&(1<<9) != 0
	hasTag := flags&(1<<10) != 0
	switch typ {
	case nilValueSXP:
		return &Value{Type: NilType}, nil
	case emptyEnvSXP, baseEnvSXP, globalEnvSXP, unboundSXP, missingArgSXP, baseNSSXP:
		return &Value{Type: EnvType, Name: fmt.Sprintf("special:%d", typ)}, nil
	case refSXP:
		idx := int(uint32(flags) >> 8)
		if idx == 0 {
			i, err := d.int32()
			if err != nil {
				return nil, err
			}
			idx = int(i)
		}
		if idx < 1 || idx > len(d.refs) {
			return nil, d.errf("reference %d to an object not read yet (%d so far)", idx, len(d.refs))
		}
		return d.refs[idx-1], nil
	case persistSXP:
		return nil, d.errf("persistent references are not supported")
	case namespaceSXP, packageSXP:
		// A string vector naming the namespace or package.
		v := &Value{Type: EnvType}
		d.refs = append(d.refs, v)
		if err := d.persistentName(v); err != nil {
			return nil, err
		}
		return v, nil
	case altrepSXP:
		return nil, d.errf("ALTREP objects are not supported (save with version = 2)")
	case int(SymType):
		c, err := d.item()
		if err != nil {
			return nil, err
		}
		if c.Type != CharType {
			return nil, d.errf("symbol name is SEXP type %d, want a CHARSXP", c.Type)
		}
		v := &Value{Type: SymType, Name: c.Name}
		d.refs = append(d.refs, v)
		return v, nil
	case int(EnvType):
		v := &Value{Type: EnvType}
		d.refs = append(d.refs, v)
		if _, err := d.int32(); err != nil { // locked
			return nil, err
		}
		for range 4 { // enclosure, frame, hash table, attributes
			if _, err := d.item(); err != nil {
				return nil, err
			}
		}
		return v, nil
	case int(ListType), int(LangType), 3, 5, 17, attrLangSXP, attrListSXP:
		return d.pairlist(flags)
	case int(CharType):
		n, err := d.int32()
		if err != nil {
			return nil, err
		}
		if n == -1 {
			return &Value{Type: CharType, Name: "NA", Object: true}, nil // Object marks NA_character_
		}
		if n < 0 || int(n) > d.remaining() {
			return nil, d.errf("string of length %d with %d bytes left", n, d.remaining())
		}
		s := string(d.b[d.off : d.off+int(n)])
		d.off += int(n)
		return &Value{Type: CharType, Name: s}, nil
	}
	v := &Value{Type: Type(typ), Object: isObj}
	switch Type(typ) {
	case LogicalType, IntType:
		n, err := d.length(4)
		if err != nil {
			return nil, err
		}
		v.Ints = make([]int32, n)
		for i := range v.Ints {
			v.Ints[i] = int32(binary.BigEndian.Uint32(d.b[d.off:]))
			d.off += 4
		}
	case RealType, ComplexType:
		per := 1
		if Type(typ) == ComplexType {
			per = 2
		}
		n, err := d.length(8 * per)
		if err != nil {
			return nil, err
		}
		v.Reals = make([]float64, n*per)
		for i := range v.Reals {
			v.Reals[i] = math.Float64frombits(binary.BigEndian.Uint64(d.b[d.off:]))
			d.off += 8
		}
	case StringType:
		n, err := d.length(4)
		if err != nil {
			return nil, err
		}
		v.Strings = make([]string, n)
		v.StringNA = make([]bool, n)
		for i := range n {
			c, err := d.item()
			if err != nil {
				return nil, err
			}
			if c.Type != CharType {
				return nil, d.errf("character vector element is SEXP type %d", c.Type)
			}
			v.Strings[i], v.StringNA[i] = c.Name, c.Object
			if c.Object {
				v.Strings[i] = ""
			}
		}
	case VectorType, ExprType:
		n, err := d.length(4)
		if err != nil {
			return nil, err
		}
		v.Elems = make([]*Value, n)
		for i := range n {
			if v.Elems[i], err = d.item(); err != nil {
				return nil, err
			}
		}
	case RawType:
		n, err := d.length(1)
		if err != nil {
			return nil, err
		}
		v.Bytes = append([]byte(nil), d.b[d.off:d.off+n]...)
		d.off += n
	case S4Type:
	default:
		return nil, d.errf("SEXP type %d is not supported in a data file", typ)
	}
	if hasAttr {
		if err := d.attributes(v); err != nil {
			return nil, err
		}
	}
	_ = hasTag
	return v, nil
}

func (d *decoder) persistentName(v *Value) error {
	if _, err := d.int32(); err != nil { // 0
		return err
	}
	n, err := d.length(4)
	if err != nil {
		return err
	}
	for i := range n {
		c, err := d.item()
		if err != nil {
			return err
		}
		if i == 0 {
			v.Name = c.Name
		}
	}
	return nil
}

func (d *decoder) attributes(v *Value) error {
	a, err := d.item()
	if err != nil {
		return err
	}
	if a.Type != ListType {
		return d.errf("attributes are SEXP type %d, want a pairlist", a.Type)
	}
	for i, e := range a.Elems {
		v.Attrs = append(v.Attrs, Attr{Name: a.Tags[i], Value: e})
	}
	return nil
}

// pairlist reads a pairlist (or language object) iteratively along its CDRs.
func (d *decoder) pairlist(flags int32) (*Value, error) {
	out := &Value{Type: ListType}
	if t := Type(flags & 0xff); t == LangType || t == attrLangSXP {
		out.Type = LangType
	}
	for {
		typ := int(flags & 0xff)
		switch typ {
		case int(ListType), int(LangType), 3, 5, 17, attrLangSXP, attrListSXP:
		default:
			return nil, d.errf("pairlist cell of SEXP type %d", typ)
		}
		var attrs []Attr
		if flags&(1<<9) != 0 {
			tmp := &Value{}
			if err := d.attributes(tmp); err != nil {
				return nil, err
			}
			attrs = tmp.Attrs
		}
		tag := ""
		if flags&(1<<10) != 0 {
			t, err := d.item()
			if err != nil {
				return nil, err
			}
			if t.Type == SymType || t.Type == CharType {
				tag = t.Name
			}
		}
		car, err := d.item()
		if err != nil {
			return nil, err
		}
		if len(out.Elems) == 0 {
			out.Attrs = attrs
		}
		out.Elems = append(out.Elems, car)
		out.Tags = append(out.Tags, tag)
		// CDR: another cell continues the list; anything else ends it.
		if d.remaining() < 4 {
			return nil, d.errf("unexpected end of data in a pairlist")
		}
		next := int32(binary.BigEndian.Uint32(d.b[d.off:]))
		switch int(next & 0xff) {
		case int(ListType), int(LangType), attrListSXP, attrLangSXP:
			d.off += 4
			flags = next
			continue
		}
		if _, err := d.item(); err != nil { // usually NILVALUE
			return nil, err
		}
		return out, nil
	}
}

// Package checkpoint reads and writes named tensors in the safetensors
// layout:
//
//	8 bytes   little-endian uint64 N, the length of the JSON header
//	N bytes   JSON header: {"<name>": {"dtype": "F32"|"I32", "shape": [...],
//	          "data_offsets": [begin, end]}, ..., "__metadata__": {"k": "v"}}
//	          padded with spaces to a multiple of 8 bytes
//	rest      the tensors' raw little-endian data, in sorted-name order;
//	          data_offsets are relative to the start of this section
//
// Every file written here carries a SHA-256 of its (uncompressed) bytes in
// the metadata entry ChecksumKey, computed with the digest's own 64 hex
// digits replaced by '0'; Decode verifies it whenever present, so a
// bit-flipped checkpoint is refused with ErrChecksum instead of loaded.
//
// A checkpoint may be zstd-compressed as a whole (Options.Zstd); Read
// recognises the zstd magic number and decompresses transparently. Files
// are written atomically: a temporary file in the same directory is
// written, fsynced and renamed over the destination, and the directory is
// fsynced, so a crash leaves either the old or the new checkpoint.
package checkpoint

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/klauspost/compress/zstd"
)

// Tensor is a host-side tensor: float32 (DType "F32") or int32 ("I32").
type Tensor struct {
	DType string
	Shape []int
	F32   []float32
	I32   []int32
}

// F32 returns a float32 tensor holding data (not copied).
func F32(data []float32, shape ...int) *Tensor {
	return &Tensor{DType: "F32", Shape: slices.Clone(shape), F32: data}
}

// I32 returns an int32 tensor holding data (not copied).
func I32(data []int32, shape ...int) *Tensor {
	return &Tensor{DType: "I32", Shape: slices.Clone(shape), I32: data}
}

// Numel is the product of the shape.
func (t *Tensor) Numel() int {
	n := 1
	for _, s := range t.Shape {
		n *= s
	}
	return n
}

func (t *Tensor) check(name string) error {
	for _, s := range t.Shape {
		if s < 0 {
			return fmt.Errorf("checkpoint: tensor %q has negative dimension in shape %v", name, t.Shape)
		}
	}
	var n int
	switch t.DType {
	case "F32":
		n = len(t.F32)
	case "I32":
		n = len(t.I32)
	default:
		return fmt.Errorf("checkpoint: tensor %q has unsupported dtype %q (want F32 or I32)", name, t.DType)
	}
	if n != t.Numel() {
		return fmt.Errorf("checkpoint: tensor %q holds %d values for shape %v", name, n, t.Shape)
	}
	return nil
}

// File is the content of a checkpoint.
type File struct {
	Tensors  map[string]*Tensor
	Metadata map[string]string
	// Checksummed is set by Decode when the file carried a checksum and it
	// matched (files written by Encode always do).
	Checksummed bool
}

// ChecksumKey is the metadata entry holding the file's SHA-256 (hex).
const ChecksumKey = "checksum.sha256"

// ErrChecksum is wrapped by errors for files whose checksum does not match
// their content, or that lack one where it is required.
var ErrChecksum = errors.New("corrupt file (checksum missing or wrong)")

var checksumPlaceholder = strings.Repeat("0", 2*sha256.Size)

// checksumField returns the span of the checksum's hex digits in the
// header bytes hj, or -1.
func checksumField(hj []byte, digest string) int {
	i := bytes.Index(hj, []byte(`"`+ChecksumKey+`":"`+digest+`"`))
	if i < 0 {
		return -1
	}
	return i + len(ChecksumKey) + 4
}

// New returns an empty File.
func New() *File { return &File{Tensors: map[string]*Tensor{}, Metadata: map[string]string{}} }

// Names returns the tensor names, sorted.
func (f *File) Names() []string {
	names := make([]string, 0, len(f.Tensors))
	for n := range f.Tensors {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

type headerEntry struct {
	DType   string `json:"dtype"`
	Shape   []int  `json:"shape"`
	Offsets [2]int `json:"data_offsets"`
}

const metaKey = "__metadata__"

// Encode writes f in the safetensors layout.
func Encode(w io.Writer, f *File) error {
	names := f.Names()
	header := map[string]any{}
	off := 0
	for _, n := range names {
		if n == metaKey || n == "" {
			return fmt.Errorf("checkpoint: invalid tensor name %q", n)
		}
		t := f.Tensors[n]
		if err := t.check(n); err != nil {
			return err
		}
		size := 4 * t.Numel()
		header[n] = headerEntry{DType: t.DType, Shape: nonNil(t.Shape), Offsets: [2]int{off, off + size}}
		off += size
	}
	meta := make(map[string]string, len(f.Metadata)+1)
	for k, v := range f.Metadata {
		meta[k] = v
	}
	meta[ChecksumKey] = checksumPlaceholder
	header[metaKey] = meta
	hj, err := json.Marshal(header)
	if err != nil {
		return fmt.Errorf("checkpoint: encoding header: %w", err)
	}
	for len(hj)%8 != 0 {
		hj = append(hj, ' ')
	}
	buf := make([]byte, 8, 8+len(hj)+off)
	binary.LittleEndian.PutUint64(buf, uint64(len(hj)))
	buf = append(buf, hj...)
	for _, n := range names {
		t := f.Tensors[n]
		if t.DType == "F32" {
			for _, v := range t.F32 {
				buf = binary.LittleEndian.AppendUint32(buf, math.Float32bits(v))
			}
		} else {
			for _, v := range t.I32 {
				buf = binary.LittleEndian.AppendUint32(buf, uint32(v))
			}
		}
	}
	at := checksumField(buf[8:8+len(hj)], checksumPlaceholder)
	if at < 0 {
		return errors.New("checkpoint: internal error: checksum field not found in the header")
	}
	sum := sha256.Sum256(buf)
	hex.Encode(buf[8+at:8+at+2*sha256.Size], sum[:])
	if _, err := w.Write(buf); err != nil {
		return fmt.Errorf("checkpoint: writing: %w", err)
	}
	return nil
}

// verifyChecksum checks data (a whole uncompressed file whose header is
// data[8:8+hl]) against its stored digest.
func verifyChecksum(data []byte, hl uint64, digest string) error {
	if len(digest) != 2*sha256.Size {
		return fmt.Errorf("checkpoint: %w: stored checksum %q is not a SHA-256", ErrChecksum, digest)
	}
	at := checksumField(data[8:8+hl], digest)
	if at < 0 {
		return fmt.Errorf("checkpoint: %w: checksum field not found in the header", ErrChecksum)
	}
	h := sha256.New()
	h.Write(data[:8+at])
	h.Write([]byte(checksumPlaceholder))
	h.Write(data[8+at+2*sha256.Size:])
	if got := hex.EncodeToString(h.Sum(nil)); got != digest {
		return fmt.Errorf("checkpoint: %w (stored sha256 %.12s…, content hashes to %.12s…)", ErrChecksum, digest, got)
	}
	return nil
}

func nonNil(s []int) []int {
	if s == nil {
		return []int{}
	}
	return s
}

var zstdMagic = []byte{0x28, 0xb5, 0x2f, 0xfd}

// Decode parses a checkpoint (plain or zstd-compressed).
func Decode(data []byte) (*File, error) {
	if bytes.HasPrefix(data, zstdMagic) {
		dec, err := zstd.NewReader(nil)
		if err != nil {
			return nil, fmt.Errorf("checkpoint: zstd: %w", err)
		}
		defer dec.Close()
		if data, err = dec.DecodeAll(data, nil); err != nil {
			return nil, fmt.Errorf("checkpoint: zstd: %w", err)
		}
	}
	f, err := decodePlain(data)
	if err != nil && !errors.Is(err, ErrChecksum) && rawChecksumMismatch(data) {
		// a damaged file fails some structural check first; say what it is
		return nil, fmt.Errorf("%w (%w: the file's checksum does not match its content)", err, ErrChecksum)
	}
	return f, err
}

var rawChecksumRE = regexp.MustCompile(`"` + regexp.QuoteMeta(ChecksumKey) + `":"([0-9a-f]{64})"`)

// rawChecksumMismatch reports whether data carries a checksum entry (found
// by a byte search, whatever the rest of the header) that its content does
// not match.
func rawChecksumMismatch(data []byte) bool {
	if len(data) < 8 {
		return false
	}
	hl := binary.LittleEndian.Uint64(data)
	if hl > uint64(len(data)-8) {
		hl = uint64(len(data) - 8)
	}
	m := rawChecksumRE.FindSubmatch(data[8 : 8+hl])
	if m == nil {
		return false
	}
	return verifyChecksum(data, hl, string(m[1])) != nil
}

// decodePlain parses an uncompressed checkpoint.
func decodePlain(data []byte) (*File, error) {
	if len(data) < 8 {
		return nil, fmt.Errorf("checkpoint: %d bytes, too short for a safetensors header", len(data))
	}
	hl := binary.LittleEndian.Uint64(data)
	if hl > uint64(len(data)-8) {
		return nil, fmt.Errorf("checkpoint: header length %d exceeds the file (%d bytes)", hl, len(data))
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data[8:8+hl], &raw); err != nil {
		return nil, fmt.Errorf("checkpoint: parsing header (corrupt or not a safetensors file): %w", err)
	}
	body := data[8+hl:]
	f := New()
	if msg, ok := raw[metaKey]; ok {
		if err := json.Unmarshal(msg, &f.Metadata); err != nil {
			return nil, fmt.Errorf("checkpoint: parsing metadata: %w", err)
		}
		if f.Metadata == nil {
			f.Metadata = map[string]string{}
		}
	}
	for name, msg := range raw {
		if name == metaKey {
			continue
		}
		var e headerEntry
		if err := json.Unmarshal(msg, &e); err != nil {
			return nil, fmt.Errorf("checkpoint: parsing entry %q: %w", name, err)
		}
		t := &Tensor{DType: e.DType, Shape: e.Shape}
		n, ok := numel(e.Shape, len(body)+1)
		if !ok {
			return nil, fmt.Errorf("checkpoint: tensor %q: shape %v is negative or larger than the file's %d data bytes", name, e.Shape, len(body))
		}
		b, end := e.Offsets[0], e.Offsets[1]
		if b < 0 || end < b || end > len(body) || end-b != 4*n {
			return nil, fmt.Errorf("checkpoint: tensor %q: data offsets %v do not fit shape %v in %d data bytes", name, e.Offsets, e.Shape, len(body))
		}
		src := body[b:end]
		switch e.DType {
		case "F32":
			t.F32 = make([]float32, n)
			for i := range t.F32 {
				t.F32[i] = math.Float32frombits(binary.LittleEndian.Uint32(src[4*i:]))
			}
		case "I32":
			t.I32 = make([]int32, n)
			for i := range t.I32 {
				t.I32[i] = int32(binary.LittleEndian.Uint32(src[4*i:]))
			}
		default:
			return nil, fmt.Errorf("checkpoint: tensor %q has unsupported dtype %q (want F32 or I32)", name, e.DType)
		}
		f.Tensors[name] = t
	}
	if f.Metadata == nil {
		f.Metadata = map[string]string{}
	}
	if d, ok := f.Metadata[ChecksumKey]; ok {
		if err := verifyChecksum(data, hl, d); err != nil {
			return nil, err
		}
		f.Checksummed = true
	}
	return f, nil
}

// numel is the product of shape when every dimension is ≥ 0 and the
// product is at most limit (computed without overflow).
func numel(shape []int, limit int) (int, bool) {
	p := 1
	for _, d := range shape {
		if d < 0 {
			return 0, false
		}
		if d == 0 {
			return 0, !slices.ContainsFunc(shape, func(v int) bool { return v < 0 })
		}
		if p > limit/d {
			return 0, false
		}
		p *= d
	}
	return p, true
}

// Options controls Write.
type Options struct {
	// Zstd compresses the whole file with zstd.
	Zstd bool
}

// Write stores f at path atomically (temporary file in the same directory,
// fsync, rename, directory fsync).
func Write(path string, f *File, o Options) error {
	var b bytes.Buffer
	if err := Encode(&b, f); err != nil {
		return fmt.Errorf("%w (writing %s)", err, path)
	}
	data := b.Bytes()
	if o.Zstd {
		enc, err := zstd.NewWriter(nil)
		if err != nil {
			return fmt.Errorf("checkpoint: zstd: %w", err)
		}
		data = enc.EncodeAll(data, nil)
		enc.Close()
	}
	return WriteFileAtomic(path, data)
}

// WriteFileAtomic writes data to path through a temporary file in the same
// directory that is fsynced and renamed into place.
func WriteFileAtomic(path string, data []byte) (err error) {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if _, err = tmp.Write(data); err != nil {
		return fmt.Errorf("checkpoint: writing %s: %w", tmp.Name(), err)
	}
	if err = tmp.Sync(); err != nil {
		return fmt.Errorf("checkpoint: syncing %s: %w", tmp.Name(), err)
	}
	if err = tmp.Close(); err != nil {
		return fmt.Errorf("checkpoint: closing %s: %w", tmp.Name(), err)
	}
	if err = os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	if d, derr := os.Open(dir); derr == nil {
		_ = d.Sync() // best effort: not every platform syncs directories
		d.Close()
	}
	return nil
}

// Read loads the checkpoint at path.
func Read(path string) (*File, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("checkpoint: %w", err)
	}
	f, err := Decode(data)
	if err != nil {
		return nil, fmt.Errorf("%w (reading %s)", err, path)
	}
	return f, nil
}

// ErrMissing is wrapped by errors about tensors a checkpoint lacks.
var ErrMissing = errors.New("missing tensor")

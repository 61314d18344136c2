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
// A checkpoint may be zstd-compressed as a whole (Options.Zstd); Read
// recognises the zstd magic number and decompresses transparently. Files
// are written atomically: a temporary file in the same directory is
// written, fsynced and renamed over the destination, and the directory is
// fsynced, so a crash leaves either the old or the new checkpoint.
package checkpoint

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"

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
	if len(f.Metadata) > 0 {
		header[metaKey] = f.Metadata
	}
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
	if _, err := w.Write(buf); err != nil {
		return fmt.Errorf("checkpoint: writing: %w", err)
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
	if len(data) < 8 {
		return nil, fmt.Errorf("checkpoint: %d bytes, too short for a safetensors header", len(data))
	}
	hl := binary.LittleEndian.Uint64(data)
	if hl > uint64(len(data)-8) {
		return nil, fmt.Errorf("checkpoint: header length %d exceeds the file (%d bytes)", hl, len(data))
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data[8:8+hl], &raw); err != nil {
		return nil, fmt.Errorf("checkpoint: parsing header: %w", err)
	}
	body := data[8+hl:]
	f := New()
	for name, msg := range raw {
		if name == metaKey {
			if err := json.Unmarshal(msg, &f.Metadata); err != nil {
				return nil, fmt.Errorf("checkpoint: parsing metadata: %w", err)
			}
			continue
		}
		var e headerEntry
		if err := json.Unmarshal(msg, &e); err != nil {
			return nil, fmt.Errorf("checkpoint: parsing entry %q: %w", name, err)
		}
		t := &Tensor{DType: e.DType, Shape: e.Shape}
		n := t.Numel()
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
	return f, nil
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

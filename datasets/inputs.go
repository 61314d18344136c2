package datasets

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/sbinet/npyio/npz"
)

// Inputs is an input array read for prediction.
type Inputs struct {
	X     []float32 // C order, converted to float32
	Shape []int     // the array's full shape, sample axis first
	DType string    // the file's NumPy dtype, e.g. "<f4"
	Name  string    // file (and archive entry) it came from
}

// ReadInputs reads new inputs to apply a trained network to (no targets):
//   - a .npy file of any name;
//   - an .npz archive holding X (or x), or a single array of any name;
//   - a directory holding X.npy (or x.npy), or a single .npz.
//
// Floating, integer and bool dtypes are converted to float32 as the training
// loader converts them; other dtypes, truncated or malformed files and
// non-finite values are errors naming the file.
func ReadInputs(path string) (*Inputs, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("datasets: input file not found: %s: %w", path, err)
	}
	if st.IsDir() {
		for _, n := range xNames {
			p := filepath.Join(path, n+".npy")
			if _, err := os.Stat(p); err == nil {
				return ReadInputs(p)
			}
		}
		zs, _ := filepath.Glob(filepath.Join(path, "*.npz"))
		if len(zs) == 1 {
			return ReadInputs(zs[0])
		}
		return nil, fmt.Errorf("datasets: input file not found: directory %s holds no X.npy and not exactly one .npz: %w", path, fs.ErrNotExist)
	}
	var a *array
	switch strings.ToLower(filepath.Ext(path)) {
	case ".npy":
		f, err := os.Open(path)
		if err != nil {
			return nil, fmt.Errorf("datasets: %s: %w: %w", path, ErrUnreadable, err)
		}
		defer f.Close()
		if a, err = readNPY(f, path); err != nil {
			return nil, err
		}
	case ".npz":
		r, err := npz.Open(path)
		if err != nil {
			return nil, fmt.Errorf("datasets: %s: %w: not a valid .npz archive (%v)", path, ErrUnreadable, err)
		}
		defer r.Close()
		src := npzFile{path: path, r: r}
		names := xNames
		if keys := r.Keys(); len(keys) == 1 {
			names = []string{strings.TrimSuffix(keys[0], ".npy")}
		}
		if a, err = src.find(names); err != nil {
			return nil, err
		}
		if a == nil {
			return nil, fmt.Errorf("datasets: input file not found: no inputs %s: %w", src.describe(xNames), fs.ErrNotExist)
		}
	default:
		return nil, fmt.Errorf("datasets: %s: %w: expected a .npy or .npz file, or a directory holding X.npy", path, ErrUnreadable)
	}
	if err := a.checkFinite("inputs"); err != nil {
		return nil, err
	}
	return &Inputs{X: a.floats(), Shape: append([]int(nil), a.shape...), DType: a.dtype, Name: a.name}, nil
}

// EncodeNPY encodes float32 values of the given shape as a version-1 .npy
// file (little endian, C order), as numpy.save writes it.
func EncodeNPY(v []float32, shape []int) []byte { return encodeNPY("<f4", v, shape) }

// EncodeNPYInt32 encodes int32 values of the given shape as a .npy file.
func EncodeNPYInt32(v []int32, shape []int) []byte { return encodeNPY("<i4", v, shape) }

func encodeNPY(descr string, data any, shape []int) []byte {
	dims := make([]string, len(shape))
	for k, d := range shape {
		dims[k] = strconv.Itoa(d)
	}
	st := strings.Join(dims, ", ")
	if len(shape) == 1 {
		st += ","
	}
	h := fmt.Sprintf("{'descr': '%s', 'fortran_order': False, 'shape': (%s), }", descr, st)
	// magic (6) + version (2) + header length (2) + header, padded with
	// spaces and ended by a newline to a multiple of 64 bytes
	if pad := 64 - (10+len(h)+1)%64; pad < 64 {
		h += strings.Repeat(" ", pad)
	}
	h += "\n"
	var b bytes.Buffer
	b.WriteString("\x93NUMPY\x01\x00")
	binary.Write(&b, binary.LittleEndian, uint16(len(h)))
	b.WriteString(h)
	binary.Write(&b, binary.LittleEndian, data)
	return b.Bytes()
}

// NPYArray is a named array for WriteNPZ: float32 values, or int32 values
// when F32 is nil.
type NPYArray struct {
	Name  string
	Shape []int
	F32   []float32
	I32   []int32
}

// WriteNPZ writes arrays as an uncompressed .npz archive.
func WriteNPZ(path string, arrays ...NPYArray) error {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, a := range arrays {
		w, err := zw.Create(a.Name + ".npy")
		if err != nil {
			return fmt.Errorf("datasets: %s: %w", path, err)
		}
		b := EncodeNPYInt32(a.I32, a.Shape)
		if a.F32 != nil {
			b = EncodeNPY(a.F32, a.Shape)
		}
		if _, err := w.Write(b); err != nil {
			return fmt.Errorf("datasets: %s: %w", path, err)
		}
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("datasets: %s: %w", path, err)
	}
	return os.WriteFile(path, buf.Bytes(), 0o644)
}

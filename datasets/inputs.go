package datasets

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
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

package datasets

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/sbinet/npyio/npy"
	"github.com/sbinet/npyio/npz"
)

func writeNPY(t *testing.T, path string, v any) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := npy.Write(f, nd(v)); err != nil {
		t.Fatal(err)
	}
}

// nd turns a rectangular nested slice ([][]float32, [][][]float64, …) into a
// slice of fixed-size arrays, which npyio writes with its full shape.
func nd(v any) any {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Slice || rv.Len() == 0 || rv.Index(0).Kind() != reflect.Slice {
		return v
	}
	var shape []int
	e := rv
	for e.Kind() == reflect.Slice {
		shape = append(shape, e.Len())
		e = e.Index(0)
	}
	typ := e.Type()
	for k := len(shape) - 1; k >= 1; k-- {
		typ = reflect.ArrayOf(shape[k], typ)
	}
	out := reflect.MakeSlice(reflect.SliceOf(typ), shape[0], shape[0])
	var cp func(dst, src reflect.Value)
	cp = func(dst, src reflect.Value) {
		if src.Kind() != reflect.Slice {
			dst.Set(src)
			return
		}
		if src.Len() != dst.Len() {
			panic("nd: ragged fixture")
		}
		for i := 0; i < src.Len(); i++ {
			cp(dst.Index(i), src.Index(i))
		}
	}
	cp(out, rv)
	return out.Interface()
}

func writeNPZ(t *testing.T, path string, arrays map[string]any) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w := npz.NewWriter(f)
	keys := make([]string, 0, len(arrays))
	for k := range arrays {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if err := w.Write(k+".npy", nd(arrays[k])); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

// writeRawNPY writes a .npy by hand (for Fortran order and odd dtypes).
func writeRawNPY(t *testing.T, path, descr string, fortran bool, shape []int, data []byte) {
	t.Helper()
	dims := make([]string, len(shape))
	for i, d := range shape {
		dims[i] = fmt.Sprint(d)
	}
	sh := "(" + strings.Join(dims, ", ")
	if len(shape) == 1 {
		sh += ","
	}
	sh += ")"
	fo := "False"
	if fortran {
		fo = "True"
	}
	hdr := fmt.Sprintf("{'descr': '%s', 'fortran_order': %s, 'shape': %s, }", descr, fo, sh)
	for (10+len(hdr)+1)%64 != 0 {
		hdr += " "
	}
	hdr += "\n"
	var b bytes.Buffer
	b.Write([]byte("\x93NUMPY\x01\x00"))
	binary.Write(&b, binary.LittleEndian, uint16(len(hdr)))
	b.WriteString(hdr)
	b.Write(data)
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func images(n, h, w int, f func(i, r, c int) float64) [][][]float64 {
	x := make([][][]float64, n)
	for i := range x {
		x[i] = make([][]float64, h)
		for r := range x[i] {
			x[i][r] = make([]float64, w)
			for c := range x[i][r] {
				x[i][r][c] = f(i, r, c)
			}
		}
	}
	return x
}

func seq(n, l int) [][]float32 {
	x := make([][]float32, n)
	for i := range x {
		x[i] = make([]float32, l)
		for j := range x[i] {
			x[i][j] = float32(i) + float32(j)/100
		}
	}
	return x
}

func labels(n, k int) []int64 {
	y := make([]int64, n)
	for i := range y {
		y[i] = int64(i % k)
	}
	return y
}

func TestLoadFilesOK(t *testing.T) {
	type check func(t *testing.T, task *Task, sp *Split)
	tests := []struct {
		name  string
		setup func(t *testing.T, dir string) string
		opts  FileOptions
		check check
	}{
		{"npy-dir-classes", func(t *testing.T, dir string) string {
			writeNPY(t, filepath.Join(dir, "X.npy"), seq(50, 16))
			writeNPY(t, filepath.Join(dir, "y.npy"), labels(50, 4))
			return dir
		}, FileOptions{}, func(t *testing.T, task *Task, sp *Split) {
			if task.Kind != ClassIndex || task.Classes != 4 || !slices.Equal(task.InShape, []int{1, 16}) || task.Dims != 1 || task.Backbone != "resnet1d" || task.Loss != "cross_entropy" {
				t.Fatalf("task %+v", task)
			}
			if sp.Test.N != 10 || sp.Train.N+sp.Val.N != 40 || sp.Val.N != 4 {
				t.Fatalf("sizes %d/%d/%d", sp.Train.N, sp.Val.N, sp.Test.N)
			}
		}},
		{"npy-file-path", func(t *testing.T, dir string) string {
			writeNPY(t, filepath.Join(dir, "x.npy"), seq(20, 5))
			writeNPY(t, filepath.Join(dir, "Y.npy"), []int32{0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1})
			return filepath.Join(dir, "x.npy")
		}, FileOptions{Classes: 5}, func(t *testing.T, task *Task, sp *Split) {
			if task.Classes != 5 {
				t.Fatalf("Classes %d, want the given 5", task.Classes)
			}
		}},
		{"pair", func(t *testing.T, dir string) string {
			writeNPY(t, filepath.Join(dir, "in.npy"), seq(20, 5))
			writeNPY(t, filepath.Join(dir, "out.npy"), labels(20, 2))
			return filepath.Join(dir, "in.npy") + "," + filepath.Join(dir, "out.npy")
		}, FileOptions{Name: "mine"}, func(t *testing.T, task *Task, sp *Split) {
			if task.Name != "mine" || task.Classes != 2 {
				t.Fatalf("task %+v", task)
			}
		}},
		{"npz-multilabel-2d", func(t *testing.T, dir string) string {
			n := 30
			x := make([][][][]float64, n)
			for i := range x {
				x[i] = [][][]float64{images(1, 8, 8, func(_, r, c int) float64 { return float64(i + r*c) })[0]}
			}
			y := make([][]float32, n)
			for i := range y {
				y[i] = []float32{float32(i % 2), float32((i / 2) % 2), 1}
			}
			p := filepath.Join(dir, "d.npz")
			writeNPZ(t, p, map[string]any{"X": x, "y": y})
			return p
		}, FileOptions{}, func(t *testing.T, task *Task, sp *Split) {
			if task.Kind != MultiLabel || task.Classes != 3 || !slices.Equal(task.InShape, []int{1, 8, 8}) || task.Backbone != "wrn" || task.Loss != "bce_logits" {
				t.Fatalf("task %+v", task)
			}
			if !slices.Equal(sp.Train.YShape, []int{3}) || sp.Train.Labels != nil {
				t.Fatalf("YShape %v", sp.Train.YShape)
			}
		}},
		{"npz-dense-dims2-in-dir", func(t *testing.T, dir string) string {
			x := images(12, 6, 7, func(i, r, c int) float64 { return float64(i*r + c) })
			y := images(12, 6, 7, func(i, r, c int) float64 { return float64(i+r+c) + 0.5 })
			writeNPZ(t, filepath.Join(dir, "field.npz"), map[string]any{"x": x, "Y": y})
			return dir
		}, FileOptions{Dims: 2, Pointwise: true}, func(t *testing.T, task *Task, sp *Split) {
			if task.Kind != DenseField || !slices.Equal(task.InShape, []int{1, 6, 7}) || !slices.Equal(task.OutShape, []int{1, 6, 7}) || task.Backbone != "wrn-dense" {
				t.Fatalf("task %+v", task)
			}
			if len(sp.Norm.YMean) != 42 || len(sp.Norm.XMean) != 42 {
				t.Fatalf("pointwise stats lengths %d %d", len(sp.Norm.XMean), len(sp.Norm.YMean))
			}
		}},
		{"channels-last", func(t *testing.T, dir string) string {
			n := 10
			x := make([][][][]float32, n)
			for i := range x {
				x[i] = make([][][]float32, 4)
				for r := range x[i] {
					x[i][r] = make([][]float32, 5)
					for c := range x[i][r] {
						x[i][r][c] = []float32{float32(100*i + 10*r + c), -1, -2}
					}
				}
			}
			writeNPY(t, filepath.Join(dir, "X.npy"), x)
			writeNPY(t, filepath.Join(dir, "y.npy"), labels(n, 2))
			return dir
		}, FileOptions{ChannelsLast: true, Load: LoadOptions{Raw: true}, TestFraction: 0.3}, func(t *testing.T, task *Task, sp *Split) {
			if !slices.Equal(task.InShape, []int{3, 4, 5}) {
				t.Fatalf("InShape %v", task.InShape)
			}
			d := sp.Train
			// channel 0 holds 100i+10r+c; channel 1 all −1.
			x := d.X[:60]
			if x[0]-float32(int(x[0])/100*100) != 0 || x[1]-x[0] != 1 || x[5]-x[0] != 10 || x[20] != -1 || x[59] != -2 {
				t.Fatalf("not transposed to channels first: %v", x)
			}
		}},
		{"explicit-test-arrays", func(t *testing.T, dir string) string {
			p := filepath.Join(dir, "d.npz")
			writeNPZ(t, p, map[string]any{"X": seq(40, 6), "y": labels(40, 3), "X_test": seq(7, 6), "y_test": labels(7, 3)})
			return p
		}, FileOptions{}, func(t *testing.T, task *Task, sp *Split) {
			if sp.Test.N != 7 || sp.Train.N+sp.Val.N != 40 {
				t.Fatalf("sizes %d/%d/%d", sp.Train.N, sp.Val.N, sp.Test.N)
			}
		}},
		{"fortran-order-bool-labels", func(t *testing.T, dir string) string {
			// X is 3×4 (N=3, L=4) in column-major order: X[i][j] = 10i + j.
			var raw []byte
			for j := 0; j < 4; j++ {
				for i := 0; i < 3; i++ {
					raw = binary.LittleEndian.AppendUint32(raw, math.Float32bits(float32(10*i+j)))
				}
			}
			writeRawNPY(t, filepath.Join(dir, "X.npy"), "<f4", true, []int{3, 4}, raw)
			writeRawNPY(t, filepath.Join(dir, "y.npy"), "|b1", false, []int{3}, []byte{0, 1, 1})
			return dir
		}, FileOptions{Load: LoadOptions{Raw: true, ValFraction: -1}, TestFraction: 0.01}, func(t *testing.T, task *Task, sp *Split) {
			all := append(slices.Clone(sp.Train.X), sp.Test.X...)
			for _, v := range []float32{0, 1, 2, 3, 10, 11, 12, 13, 20, 21, 22, 23} {
				if !slices.Contains(all, v) {
					t.Fatalf("Fortran data not converted: %v", all)
				}
			}
			if sp.Train.X[1]-sp.Train.X[0] != 1 {
				t.Fatalf("row not contiguous: %v", sp.Train.X)
			}
			if task.Kind != ClassIndex || task.Classes != 2 {
				t.Fatalf("bool labels: %+v", task)
			}
		}},
		{"big-endian-int16-x", func(t *testing.T, dir string) string {
			var raw []byte
			for i := 0; i < 8; i++ {
				raw = binary.BigEndian.AppendUint16(raw, uint16(int16(i-300)))
			}
			writeRawNPY(t, filepath.Join(dir, "X.npy"), ">i2", false, []int{4, 2}, raw)
			writeNPY(t, filepath.Join(dir, "y.npy"), []uint8{0, 1, 0, 1})
			return dir
		}, FileOptions{Load: LoadOptions{Raw: true, ValFraction: -1}, TestFraction: 0.25}, func(t *testing.T, task *Task, sp *Split) {
			all := append(slices.Clone(sp.Train.X), sp.Test.X...)
			slices.Sort(all)
			if all[0] != -300 || all[7] != -293 {
				t.Fatalf("values %v", all)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := tc.setup(t, dir)
			task, sp, err := LoadFiles(path, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			for _, d := range []*Data{sp.Train, sp.Val, sp.Test} {
				if err := d.Validate(); err != nil {
					t.Fatal(err)
				}
			}
			tc.check(t, task, sp)
			// Task.Load re-reads the files with new options.
			sp2, err := task.Load(context.Background(), LoadOptions{Seed: 3, ValFraction: -1})
			if err != nil {
				t.Fatal(err)
			}
			if sp2.Val.N != 0 {
				t.Fatalf("reload: Val.N %d", sp2.Val.N)
			}
			if ok, _ := task.Present(); !ok {
				t.Fatal("Present false for existing files")
			}
		})
	}
}

func TestLoadFilesErrors(t *testing.T) {
	tests := []struct {
		name   string
		setup  func(t *testing.T, dir string) string
		opts   FileOptions
		want   []string
		target error
	}{
		{"missing-path", func(t *testing.T, dir string) string {
			return filepath.Join(dir, "nope.npz")
		}, FileOptions{}, []string{"data file not found", "nope.npz"}, fs.ErrNotExist},
		{"missing-y", func(t *testing.T, dir string) string {
			writeNPY(t, filepath.Join(dir, "X.npy"), seq(5, 3))
			return dir
		}, FileOptions{}, []string{"data file not found: no targets", "y.npy"}, fs.ErrNotExist},
		{"missing-pair-file", func(t *testing.T, dir string) string {
			writeNPY(t, filepath.Join(dir, "a.npy"), seq(5, 3))
			return filepath.Join(dir, "a.npy") + "," + filepath.Join(dir, "b.npy")
		}, FileOptions{}, []string{"data file not found", "b.npy"}, fs.ErrNotExist},
		{"empty-dir", func(t *testing.T, dir string) string { return dir },
			FileOptions{}, []string{"data file not found", "no X.npy/y.npy and no .npz"}, fs.ErrNotExist},
		{"unreadable-npy", func(t *testing.T, dir string) string {
			os.WriteFile(filepath.Join(dir, "X.npy"), []byte("this is not numpy"), 0o644)
			writeNPY(t, filepath.Join(dir, "y.npy"), labels(5, 2))
			return dir
		}, FileOptions{}, []string{"X.npy", "unreadable file", "not a valid .npy file"}, ErrUnreadable},
		{"unreadable-npz", func(t *testing.T, dir string) string {
			p := filepath.Join(dir, "d.npz")
			os.WriteFile(p, []byte("PK garbage"), 0o644)
			return p
		}, FileOptions{}, []string{"d.npz", "not a valid .npz archive"}, ErrUnreadable},
		{"truncated", func(t *testing.T, dir string) string {
			p := filepath.Join(dir, "X.npy")
			writeNPY(t, p, seq(10, 8))
			st, _ := os.Stat(p)
			os.Truncate(p, st.Size()-20)
			writeNPY(t, filepath.Join(dir, "y.npy"), labels(10, 2))
			return dir
		}, FileOptions{}, []string{"X.npy", "truncated file", "shape [10 8]", "320 bytes of data", "only 300 bytes present"}, ErrTruncated},
		{"truncated-header", func(t *testing.T, dir string) string {
			p := filepath.Join(dir, "X.npy")
			writeNPY(t, p, seq(10, 8))
			os.Truncate(p, 30)
			writeNPY(t, filepath.Join(dir, "y.npy"), labels(10, 2))
			return dir
		}, FileOptions{}, []string{"X.npy", "unreadable file"}, ErrUnreadable},
		{"unsupported-dtype-complex", func(t *testing.T, dir string) string {
			writeNPY(t, filepath.Join(dir, "X.npy"), []complex64{1, 2, 3})
			writeNPY(t, filepath.Join(dir, "y.npy"), labels(3, 2))
			return dir
		}, FileOptions{}, []string{"X.npy", `unsupported dtype "<c8"`, "supported: float32"}, ErrUnsupportedDtype},
		{"unsupported-dtype-float16", func(t *testing.T, dir string) string {
			writeNPY(t, filepath.Join(dir, "X.npy"), seq(4, 2))
			writeRawNPY(t, filepath.Join(dir, "y.npy"), "<f2", false, []int{4}, make([]byte, 8))
			return dir
		}, FileOptions{}, []string{"y.npy", `unsupported dtype "<f2"`}, ErrUnsupportedDtype},
		{"length-mismatch", func(t *testing.T, dir string) string {
			writeNPY(t, filepath.Join(dir, "X.npy"), seq(10, 4))
			writeNPY(t, filepath.Join(dir, "y.npy"), labels(9, 2))
			return dir
		}, FileOptions{}, []string{"X/y length mismatch", "has 10 samples", "has 9"}, nil},
		{"nan-x", func(t *testing.T, dir string) string {
			x := seq(6, 4)
			x[3][2] = float32(math.NaN())
			writeNPY(t, filepath.Join(dir, "X.npy"), x)
			writeNPY(t, filepath.Join(dir, "y.npy"), labels(6, 2))
			return dir
		}, FileOptions{}, []string{"X (", "NaN at sample 3", "NaN/Inf values are not allowed"}, nil},
		{"inf-y", func(t *testing.T, dir string) string {
			y := seq(6, 4)
			y[5][0] = float32(math.Inf(-1))
			writeNPY(t, filepath.Join(dir, "X.npy"), seq(6, 4))
			writeNPY(t, filepath.Join(dir, "y.npy"), y)
			return dir
		}, FileOptions{}, []string{"y (", "-Inf at sample 5", "NaN/Inf values are not allowed"}, nil},
		{"label-negative", func(t *testing.T, dir string) string {
			writeNPY(t, filepath.Join(dir, "X.npy"), seq(4, 4))
			writeNPY(t, filepath.Join(dir, "y.npy"), []int64{0, 1, -1, 1})
			return dir
		}, FileOptions{}, []string{"label -1 of sample 2 is out of range", "≥ 0"}, nil},
		{"label-too-large", func(t *testing.T, dir string) string {
			writeNPY(t, filepath.Join(dir, "X.npy"), seq(4, 4))
			writeNPY(t, filepath.Join(dir, "y.npy"), []int64{0, 1, 5, 1})
			return dir
		}, FileOptions{Classes: 3}, []string{"label 5 of sample 2 is out of range", "≥ 3 classes"}, nil},
		{"test-label-out-of-train-range", func(t *testing.T, dir string) string {
			p := filepath.Join(dir, "d.npz")
			writeNPZ(t, p, map[string]any{"X": seq(10, 3), "y": labels(10, 2), "X_test": seq(2, 3), "y_test": []int64{0, 2}})
			return p
		}, FileOptions{}, []string{"test arrays", "label 2 of sample 1 is out of range", "≥ 2 classes"}, nil},
		{"rank-too-high", func(t *testing.T, dir string) string {
			x := make([][][][][]float32, 3)
			for i := range x {
				x[i] = [][][][]float32{{{{1, 2}}}}
			}
			writeNPY(t, filepath.Join(dir, "X.npy"), x)
			writeNPY(t, filepath.Join(dir, "y.npy"), labels(3, 2))
			return dir
		}, FileOptions{}, []string{"sample shape [1 1 1 2]", "not supported", "1 spatial dim", "2 spatial dims"}, nil},
		{"rank-too-low", func(t *testing.T, dir string) string {
			writeNPY(t, filepath.Join(dir, "X.npy"), []float32{1, 2, 3})
			writeNPY(t, filepath.Join(dir, "y.npy"), labels(3, 2))
			return dir
		}, FileOptions{}, []string{"sample shape []", "not supported"}, nil},
		{"backbone-mismatch", func(t *testing.T, dir string) string {
			writeNPY(t, filepath.Join(dir, "X.npy"), seq(6, 10))
			writeNPY(t, filepath.Join(dir, "y.npy"), labels(6, 2))
			return dir
		}, FileOptions{Backbone: "wrn"}, []string{"sample shape [1 10] does not fit backbone wrn", "2 spatial dims"}, nil},
		{"image-too-small-for-wrn", func(t *testing.T, dir string) string {
			writeNPY(t, filepath.Join(dir, "X.npy"), images(6, 2, 9, func(i, r, c int) float64 { return 1 }))
			writeNPY(t, filepath.Join(dir, "y.npy"), labels(6, 2))
			return dir
		}, FileOptions{Dims: 2}, []string{"sample shape [1 2 9] does not fit backbone wrn", "H, W ≥ 4"}, nil},
		{"dense-shape-mismatch", func(t *testing.T, dir string) string {
			writeNPY(t, filepath.Join(dir, "X.npy"), images(6, 8, 8, func(i, r, c int) float64 { return 1 }))
			writeNPY(t, filepath.Join(dir, "y.npy"), images(6, 4, 4, func(i, r, c int) float64 { return 0.5 }))
			return dir
		}, FileOptions{Dims: 2}, []string{"dense targets of shape [6 4 4] do not fit inputs of sample shape [1 8 8]"}, nil},
		{"float-labels-not-whole", func(t *testing.T, dir string) string {
			writeNPY(t, filepath.Join(dir, "X.npy"), seq(4, 4))
			writeNPY(t, filepath.Join(dir, "y.npy"), []float64{0, 1.5, 2, 1})
			return dir
		}, FileOptions{}, []string{"float targets of shape [4]", "give integer labels"}, nil},
		{"multilabel-not-binary", func(t *testing.T, dir string) string {
			writeNPY(t, filepath.Join(dir, "X.npy"), seq(4, 4))
			writeNPY(t, filepath.Join(dir, "y.npy"), seq(4, 3))
			return dir
		}, FileOptions{Kind: "multilabel"}, []string{"multi-label targets must be 0 or 1"}, nil},
		{"bad-kind", func(t *testing.T, dir string) string {
			writeNPY(t, filepath.Join(dir, "X.npy"), seq(4, 4))
			writeNPY(t, filepath.Join(dir, "y.npy"), labels(4, 2))
			return dir
		}, FileOptions{Kind: "regression"}, []string{`unknown target kind "regression"`}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := tc.setup(t, dir)
			_, _, err := LoadFiles(path, tc.opts)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			if tc.target != nil && !errors.Is(err, tc.target) {
				t.Errorf("error %q is not %v", err, tc.target)
			}
		})
	}
}

package datasets

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/sbinet/npyio/npz"
)

// FileOptions controls LoadFiles. Zero values mean "infer".
type FileOptions struct {
	// Name of the task; "" uses the file or directory name.
	Name string
	// Kind overrides the inferred target kind: "class", "multilabel" or
	// "dense" ("" infers it: integer y of shape [N] → class; 0/1 y of shape
	// [N,C] → multilabel; float y with the spatial shape of X → dense).
	Kind string
	// Classes fixes the number of classes (ClassIndex); 0 = max label + 1.
	// Labels must lie in [0, Classes).
	Classes int
	// Dims forces the number of spatial dimensions (1 or 2). It matters for
	// X of rank 3, read as [N,C,L] by default and as [N,H,W] (one channel)
	// with Dims 2.
	Dims int
	// ChannelsLast says X is [N,L,C] or [N,H,W,C]; it is transposed to
	// channels first.
	ChannelsLast bool
	// Backbone to check the sample shape against: "resnet1d", "wrn" or
	// "wrn-dense"; "" picks the default for the shape and kind.
	Backbone string
	// TestFraction is the share held out as the test set when the files
	// have no X_test/y_test; 0 means 0.2.
	TestFraction float64
	// Pointwise selects per-element normalisation statistics (as Darcy);
	// the default is a global mean/std for X (and for dense Y).
	Pointwise bool
	// Load holds the split options (seed, validation fraction, limits, raw).
	Load LoadOptions
}

// Array names accepted in .npz archives and as .npy file names.
var (
	xNames     = []string{"X", "x"}
	yNames     = []string{"y", "Y"}
	xTestNames = []string{"X_test", "x_test"}
	yTestNames = []string{"y_test", "Y_test"}
)

// arraySource reads named arrays from a directory of .npy files or an .npz.
type arraySource interface {
	// find returns the array stored under the first existing name, or nil.
	find(names []string) (*array, error)
	describe(names []string) string
}

type npyDir struct{ dir string }

func (s npyDir) find(names []string) (*array, error) {
	for _, n := range names {
		p := filepath.Join(s.dir, n+".npy")
		f, err := os.Open(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("datasets: %s: %w: %w", p, ErrUnreadable, err)
		}
		a, err := readNPY(f, p)
		f.Close()
		return a, err
	}
	return nil, nil
}

func (s npyDir) describe(names []string) string {
	var ps []string
	for _, n := range names {
		ps = append(ps, filepath.Join(s.dir, n+".npy"))
	}
	return strings.Join(ps, " or ")
}

type npzFile struct {
	path string
	r    *npz.Reader
}

func (s npzFile) find(names []string) (*array, error) {
	keys := s.r.Keys()
	for _, n := range names {
		for _, k := range []string{n + ".npy", n} {
			if !slices.Contains(keys, k) {
				continue
			}
			rc, err := s.r.Open(k)
			if err != nil {
				return nil, fmt.Errorf("datasets: %s: %w: %w", s.path, ErrUnreadable, err)
			}
			a, err := readNPY(rc, s.path+":"+k)
			rc.Close()
			return a, err
		}
	}
	return nil, nil
}

func (s npzFile) describe(names []string) string {
	return fmt.Sprintf("array %s in %s (has %v)", strings.Join(names, " or "), s.path, s.r.Keys())
}

// pairSource serves two explicitly named .npy files.
type pairSource struct{ x, y string }

func (s pairSource) find(names []string) (*array, error) {
	var p string
	switch {
	case slices.Equal(names, xNames):
		p = s.x
	case slices.Equal(names, yNames):
		p = s.y
	default:
		return nil, nil
	}
	f, err := os.Open(p)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("datasets: data file not found: %s: %w", p, err)
		}
		return nil, fmt.Errorf("datasets: %s: %w: %w", p, ErrUnreadable, err)
	}
	defer f.Close()
	return readNPY(f, p)
}

func (s pairSource) describe(names []string) string {
	if slices.Equal(names, xNames) {
		return s.x
	}
	return s.y
}

// LoadFiles loads users' own arrays and returns a task describing them and
// the split. path may be
//   - a directory holding X.npy and y.npy (optionally X_test.npy, y_test.npy),
//     or a single .npz;
//   - an .npz archive with arrays X (or x) and y (or Y), optionally X_test
//     and y_test;
//   - an X.npy file (y.npy is taken from the same directory), or two .npy
//     files separated by a comma: "inputs.npy,targets.npy".
//
// X is [N,L] or [N,C,L] (1-D) or [N,C,H,W] (2-D), channels first unless
// FileOptions.ChannelsLast. Without test arrays, a seeded TestFraction of
// the samples is held out as the test set; the validation set is carved
// from the rest. Every failure names the file and the problem.
func LoadFiles(path string, o FileOptions) (*Task, *Split, error) {
	if err := checkClassCount(o.Classes); err != nil {
		return nil, nil, err
	}
	src, closeFn, name, err := openSource(path)
	if err != nil {
		return nil, nil, err
	}
	defer closeFn()
	if o.Name != "" {
		name = o.Name
	}
	x, err := src.find(xNames)
	if err != nil {
		return nil, nil, err
	}
	if x == nil {
		return nil, nil, fmt.Errorf("datasets: data file not found: no inputs %s: %w", src.describe(xNames), fs.ErrNotExist)
	}
	y, err := src.find(yNames)
	if err != nil {
		return nil, nil, err
	}
	if y == nil {
		return nil, nil, fmt.Errorf("datasets: data file not found: no targets %s: %w", src.describe(yNames), fs.ErrNotExist)
	}
	xt, err := src.find(xTestNames)
	if err != nil {
		return nil, nil, err
	}
	yt, err := src.find(yTestNames)
	if err != nil {
		return nil, nil, err
	}
	if (xt == nil) != (yt == nil) {
		return nil, nil, fmt.Errorf("datasets: %s: X_test and y_test must be given together", path)
	}
	task, pool, err := buildData(x, y, o, nil)
	if err != nil {
		return nil, nil, err
	}
	task.Name = name
	task.Source = "user files: " + path
	var test *Data
	if xt != nil {
		_, test, err = buildData(xt, yt, o, task)
		if err != nil {
			return nil, nil, fmt.Errorf("test arrays: %w", err)
		}
	} else {
		frac := o.TestFraction
		if frac == 0 {
			frac = 0.2
		}
		if pool.N < 3 {
			return nil, nil, fmt.Errorf("datasets: %s: %d samples are too few to split into train/validation/test", path, pool.N)
		}
		tr, te := carve(pool.N, frac, o.Load.Seed^0x7e57)
		test = pool.Subset(te)
		pool = pool.Subset(tr)
	}
	task.TrainSize, task.TestSize = pool.N, test.N
	lo := o.Load
	train, val := splitTrain(pool, lo)
	sp := &Split{Train: train, Val: val, Test: limitTest(test, lo)}
	sp.Norm = Stats(sp.Train, o.Pointwise, task.Kind == DenseField)
	if !o.Pointwise && task.Kind == DenseField {
		sp.Norm.YMean, sp.Norm.YStd = stats(sp.Train.Y, sp.Train.N, sp.Train.TargetSize(), false)
	}
	if !lo.Raw {
		if err := sp.Apply(); err != nil {
			return nil, nil, err
		}
	}
	task.Present = func() (bool, string) {
		if _, err := os.Stat(strings.Split(path, ",")[0]); err != nil {
			return false, err.Error()
		}
		return true, path
	}
	task.Load = func(ctx context.Context, lo LoadOptions) (*Split, error) {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		o2 := o
		o2.Load = lo
		_, s, err := LoadFiles(path, o2)
		return s, err
	}
	return task, sp, nil
}

func openSource(path string) (arraySource, func(), string, error) {
	nop := func() {}
	if xp, yp, ok := strings.Cut(path, ","); ok {
		for _, p := range []string{xp, yp} {
			if _, err := os.Stat(p); err != nil {
				return nil, nop, "", fmt.Errorf("datasets: data file not found: %s: %w", p, err)
			}
		}
		return pairSource{x: xp, y: yp}, nop, strings.TrimSuffix(filepath.Base(xp), ".npy"), nil
	}
	st, err := os.Stat(path)
	if err != nil {
		return nil, nop, "", fmt.Errorf("datasets: data file not found: %s: %w", path, err)
	}
	name := strings.TrimSuffix(strings.TrimSuffix(filepath.Base(path), ".npz"), ".npy")
	if st.IsDir() {
		d := npyDir{dir: path}
		if a, _ := filepath.Glob(filepath.Join(path, "*.npy")); len(a) > 0 {
			return d, nop, name, nil
		}
		zs, _ := filepath.Glob(filepath.Join(path, "*.npz"))
		switch len(zs) {
		case 0:
			return nil, nop, "", fmt.Errorf("datasets: data file not found: directory %s holds no X.npy/y.npy and no .npz: %w", path, fs.ErrNotExist)
		case 1:
			path = zs[0]
		default:
			return nil, nop, "", fmt.Errorf("datasets: directory %s holds several .npz files %v: name one", path, zs)
		}
	}
	switch strings.ToLower(filepath.Ext(path)) {
	case ".npz":
		r, err := npz.Open(path)
		if err != nil {
			return nil, nop, "", fmt.Errorf("datasets: %s: %w: not a valid .npz archive (%v)", path, ErrUnreadable, err)
		}
		return npzFile{path: path, r: r}, func() { r.Close() }, name, nil
	case ".npy":
		dir, base := filepath.Split(path)
		stem := strings.TrimSuffix(base, filepath.Ext(base))
		if !slices.Contains(xNames, stem) {
			return nil, nop, "", fmt.Errorf("datasets: %s: a single .npy must be named X.npy (with y.npy beside it), or give \"inputs.npy,targets.npy\"", path)
		}
		if dir == "" {
			dir = "."
		}
		return npyDir{dir: dir}, nop, filepath.Base(filepath.Clean(dir)), nil
	}
	return nil, nop, "", fmt.Errorf("datasets: %s: %w: expected a directory, .npy or .npz", path, ErrUnreadable)
}

// MaxClasses bounds the number of classes (or labels) of users' data. A
// classifier head for C classes holds width·C weights plus their gradients
// and optimiser state, and every batch holds batch·C logits: at 10^5 classes
// that is already hundreds of MB; 10^9 would exhaust any machine.
const MaxClasses = 100_000

// checkClassCount validates FileOptions.Classes (0 means infer).
func checkClassCount(c int) error {
	switch {
	case c < 0:
		return fmt.Errorf("datasets: number of classes %d (--classes) is negative: give at least 2, or 0 to use the largest label + 1", c)
	case c == 1:
		return fmt.Errorf("datasets: number of classes 1 (--classes): a classifier needs at least 2 classes")
	case c > MaxClasses:
		return fmt.Errorf("datasets: number of classes %d (--classes) is above the supported maximum %d (the classifier head, its gradients and every batch's logits grow with the class count)", c, MaxClasses)
	}
	return nil
}

// buildData checks X and y and builds Data; with ref (the training task)
// the shapes and kind must match it.
func buildData(x, y *array, o FileOptions, ref *Task) (*Task, *Data, error) {
	if len(x.shape) == 0 || len(y.shape) == 0 {
		return nil, nil, fmt.Errorf("datasets: %s / %s: X and y must be arrays with a leading sample dimension, got shapes %v and %v", x.name, y.name, x.shape, y.shape)
	}
	n := x.shape[0]
	if y.shape[0] != n {
		return nil, nil, fmt.Errorf("datasets: X/y length mismatch: %s has %d samples but %s has %d", x.name, n, y.name, y.shape[0])
	}
	if n == 0 {
		return nil, nil, fmt.Errorf("datasets: %s has no samples", x.name)
	}
	if err := x.checkFinite("X"); err != nil {
		return nil, nil, err
	}
	if err := y.checkFinite("y"); err != nil {
		return nil, nil, err
	}
	// Input sample shape, channels first.
	xs := x.shape[1:]
	xv := x.floats()
	dims := o.Dims
	if dims != 0 && dims != 1 && dims != 2 {
		return nil, nil, fmt.Errorf("datasets: Dims %d: want 1 or 2 spatial dimensions", dims)
	}
	var shape []int
	switch {
	case o.ChannelsLast && (len(xs) == 2 || len(xs) == 3):
		c := xs[len(xs)-1]
		sp := xs[:len(xs)-1]
		shape = append([]int{c}, sp...)
		xv = channelsFirst(xv, n, sp, c)
	case len(xs) == 1:
		shape = []int{1, xs[0]}
	case len(xs) == 2 && dims == 2:
		shape = []int{1, xs[0], xs[1]}
	case len(xs) == 2 || len(xs) == 3:
		shape = slices.Clone(xs)
	default:
		return nil, nil, fmt.Errorf("datasets: sample shape %v of %s is not supported: want [L] or [C,L] (1 spatial dim) or [C,H,W] (2 spatial dims), i.e. X of rank 2, 3 or 4", xs, x.name)
	}
	sdims := len(shape) - 1
	if dims != 0 && dims != sdims {
		return nil, nil, fmt.Errorf("datasets: sample shape %v of %s has %d spatial dims, but Dims %d was asked for", shape, x.name, sdims, dims)
	}
	for _, v := range shape {
		if v == 0 {
			return nil, nil, fmt.Errorf("datasets: sample shape %v of %s has an empty dimension", shape, x.name)
		}
	}
	spatial := shape[1:]

	// Target kind.
	var kind TargetKind
	if o.Kind != "" {
		k, err := ParseTargetKind(o.Kind)
		if err != nil {
			return nil, nil, err
		}
		kind = k
	} else {
		ys := y.shape[1:]
		switch {
		case len(ys) == 0 || (len(ys) == 1 && ys[0] == 1 && !y.isFloat):
			if !y.isFloat || y.integral() {
				kind = ClassIndex
			} else {
				return nil, nil, fmt.Errorf("datasets: %s: float targets of shape %v are neither class indices (not whole numbers) nor a field; give integer labels or set the kind", y.name, y.shape)
			}
		case len(ys) == 1 && y.isBinary():
			kind = MultiLabel
		default:
			kind = DenseField
		}
	}
	d := &Data{X: xv, XShape: shape, N: n}
	t := &Task{Dims: sdims, InShape: slices.Clone(shape), Kind: kind}
	switch kind {
	case ClassIndex:
		if len(y.shape) > 2 || (len(y.shape) == 2 && y.shape[1] != 1) {
			return nil, nil, fmt.Errorf("datasets: %s: class targets must have shape [N] or [N,1], got %v", y.name, y.shape)
		}
		if !y.integral() {
			return nil, nil, fmt.Errorf("datasets: %s: class labels must be whole numbers", y.name)
		}
		labels := y.intValues()
		classes := o.Classes
		if err := checkClassCount(classes); err != nil {
			return nil, nil, err
		}
		if ref != nil && classes == 0 {
			classes = ref.Classes
		}
		mx := int64(-1)
		for i, l := range labels {
			if l < 0 {
				return nil, nil, fmt.Errorf("datasets: %s: label %d of sample %d is out of range: labels must be ≥ 0", y.name, l, i)
			}
			if classes > 0 && l >= int64(classes) {
				return nil, nil, fmt.Errorf("datasets: %s: label %d of sample %d is out of range: ≥ %d classes", y.name, l, i, classes)
			}
			if l >= MaxClasses {
				return nil, nil, fmt.Errorf("datasets: %s: label %d of sample %d implies %d classes; at most %d are supported (the classifier head, its gradients and every batch's logits grow with the class count); relabel the classes 0…C-1", y.name, l, i, l+1, MaxClasses)
			}
			mx = max(mx, l)
		}
		if classes == 0 {
			classes = int(mx) + 1
		}
		if classes < 2 {
			return nil, nil, fmt.Errorf("datasets: %s: only %d class(es) found; need at least 2", y.name, classes)
		}
		d.Labels = make([]int32, n)
		for i, l := range labels {
			d.Labels[i] = int32(l)
		}
		t.Classes = classes
		t.Loss, t.Metric = "cross_entropy", "error"
	case MultiLabel:
		if len(y.shape) != 2 {
			return nil, nil, fmt.Errorf("datasets: %s: multi-label targets must have shape [N,C], got %v", y.name, y.shape)
		}
		if !y.isBinary() {
			return nil, nil, fmt.Errorf("datasets: %s: multi-label targets must be 0 or 1", y.name)
		}
		if y.shape[1] > MaxClasses {
			return nil, nil, fmt.Errorf("datasets: %s: %d labels per sample; at most %d are supported", y.name, y.shape[1], MaxClasses)
		}
		d.Y, d.YShape = y.floats(), []int{y.shape[1]}
		t.Classes = y.shape[1]
		t.Loss, t.Metric = "bce_logits", "map"
	case DenseField:
		ys := slices.Clone(y.shape[1:])
		if len(ys) == sdims {
			ys = append([]int{1}, ys...)
		}
		if len(ys) != sdims+1 || !slices.Equal(ys[1:], spatial) {
			return nil, nil, fmt.Errorf("datasets: %s: dense targets of shape %v do not fit inputs of sample shape %v (want [N,%s] or [N,C,%s])",
				y.name, y.shape, shape, shapeString(spatial), shapeString(spatial))
		}
		d.Y, d.YShape = y.floats(), ys
		t.OutShape = slices.Clone(ys)
		t.Loss, t.Metric = "relative_l2", "relative_l2"
	}
	// Backbone and DASH defaults from the closest task of dash-method.md.
	bb := o.Backbone
	if bb == "" {
		switch {
		case sdims == 1 && kind == DenseField:
			bb = "resnet1d-dense"
		case sdims == 1:
			bb = "resnet1d"
		case kind == DenseField:
			bb = "wrn-dense"
		default:
			bb = "wrn"
		}
	}
	switch bb {
	case "resnet1d", "resnet1d-dense":
		if sdims != 1 {
			return nil, nil, fmt.Errorf("datasets: sample shape %v does not fit backbone %s: it takes 1 spatial dim ([C,L])", shape, bb)
		}
		if kind == DenseField {
			bb = "resnet1d-dense"
		}
		t.Kernels, t.Dilations = []int{3, 7, 11, 15, 19}, []int{1, 3, 7, 15}
		t.BatchSize = 256
	case "wrn", "wrn-dense":
		if sdims != 2 {
			return nil, nil, fmt.Errorf("datasets: sample shape %v does not fit backbone %s: it takes 2 spatial dims ([C,H,W])", shape, bb)
		}
		if bb == "wrn" && (spatial[0] < 4 || spatial[1] < 4) {
			return nil, nil, fmt.Errorf("datasets: sample shape %v does not fit backbone wrn: it downsamples twice by 2, need H, W ≥ 4", shape)
		}
		if bb == "wrn" && kind == DenseField {
			return nil, nil, fmt.Errorf("datasets: dense targets need backbone wrn-dense, not wrn")
		}
		t.Kernels, t.Dilations = []int{3, 5, 7, 9}, []int{1, 3, 7, 15}
		t.BatchSize = 64
		if bb == "wrn-dense" {
			t.BatchSize = 8
		}
	default:
		return nil, nil, fmt.Errorf("datasets: unknown backbone %q (want resnet1d, resnet1d-dense, wrn or wrn-dense)", bb)
	}
	t.Backbone = bb
	if ref != nil {
		if !slices.Equal(ref.InShape, t.InShape) || ref.Kind != t.Kind || !slices.Equal(ref.OutShape, t.OutShape) ||
			(kind != ClassIndex && ref.Classes != t.Classes) {
			return nil, nil, fmt.Errorf("datasets: test arrays (%s, %s: %v %s) do not match the training arrays (%v %s)",
				x.name, y.name, t.InShape, t.Kind, ref.InShape, ref.Kind)
		}
	}
	t.Description = fmt.Sprintf("user data %v → %s", shape, kind)
	return t, d, nil
}

// channelsFirst transposes n samples of [spatial..., c] to [c, spatial...].
func channelsFirst(v []float32, n int, spatial []int, c int) []float32 {
	m := prod(spatial)
	out := make([]float32, len(v))
	for i := 0; i < n; i++ {
		src := v[i*m*c : (i+1)*m*c]
		dst := out[i*m*c : (i+1)*m*c]
		for p := 0; p < m; p++ {
			for ch := 0; ch < c; ch++ {
				dst[ch*m+p] = src[p*c+ch]
			}
		}
	}
	return out
}

package datasets

import (
	"bytes"
	"context"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/dash-go/dash/datasets/darcy"
)

func TestRegistry(t *testing.T) {
	want := []string{"audio-tags", "burgers", "darcy", "darcy-direct85", "dna-upstream", "fashion-2d", "fashion-perm",
		"mnist", "mnist-2d", "mnist-perm", "mnist2-100", "protein-dist", "sphere-mnist", "splice"}
	if got := Names(); !slices.Equal(got, want) {
		t.Fatalf("Names() = %v, want %v", got, want)
	}
	if len(Tasks()) != len(want) {
		t.Fatalf("Tasks() has %d tasks", len(Tasks()))
	}
	_, err := Lookup("cifar-1000")
	if err == nil || !strings.Contains(err.Error(), `unknown task "cifar-1000"`) || !strings.Contains(err.Error(), "mnist-perm") {
		t.Fatalf("Lookup error = %v, want unknown task listing the known names", err)
	}
	tests := []struct {
		name      string
		in        []int
		dims      int
		kind      TargetKind
		kernels   []int
		dilations []int
		batch     int
		backbone  string
		loss      string
		metric    string
	}{
		{"mnist", []int{1, 784}, 1, ClassIndex, []int{3, 5, 7, 9}, []int{1, 3, 7, 15, 31, 63, 127}, 256, "resnet1d", "cross_entropy", "error"},
		{"mnist-perm", []int{1, 784}, 1, ClassIndex, []int{3, 5, 7, 9}, []int{1, 3, 7, 15, 31, 63, 127}, 256, "resnet1d", "cross_entropy", "error"},
		{"fashion-perm", []int{1, 784}, 1, ClassIndex, []int{3, 5, 7, 9}, []int{1, 3, 7, 15, 31, 63, 127}, 256, "resnet1d", "cross_entropy", "error"},
		{"mnist-2d", []int{1, 28, 28}, 2, ClassIndex, []int{3, 5, 7, 9}, []int{1, 3, 7, 15}, 64, "wrn", "cross_entropy", "error"},
		{"fashion-2d", []int{1, 28, 28}, 2, ClassIndex, []int{3, 5, 7, 9}, []int{1, 3, 7, 15}, 64, "wrn", "cross_entropy", "error"},
		{"darcy", []int{3, 85, 85}, 2, DenseField, []int{3, 5, 7, 9}, []int{1, 3, 7, 15}, 10, "wrn-dense", "relative_l2", "relative_l2"},
		{"darcy-direct85", []int{3, 85, 85}, 2, DenseField, []int{3, 5, 7, 9}, []int{1, 3, 7, 15}, 10, "wrn-dense", "relative_l2", "relative_l2"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			task, err := Lookup(tc.name)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(task.InShape, tc.in) || task.Dims != tc.dims || task.Kind != tc.kind ||
				!slices.Equal(task.Kernels, tc.kernels) || !slices.Equal(task.Dilations, tc.dilations) ||
				task.BatchSize != tc.batch || task.Backbone != tc.backbone || task.Loss != tc.loss || task.Metric != tc.metric {
				t.Errorf("task %s = %+v", tc.name, task)
			}
			if task.Load == nil || task.Present == nil || task.Description == "" || task.Source == "" {
				t.Error("task lacks Load, Present, Description or Source")
			}
			if tc.kind == DenseField && (!slices.Equal(task.OutShape, []int{1, 85, 85}) || !task.Synthetic) {
				t.Errorf("darcy OutShape %v Synthetic %v", task.OutShape, task.Synthetic)
			}
			if tc.kind == ClassIndex && task.Classes != 10 {
				t.Errorf("classes %d", task.Classes)
			}
		})
	}
	if d, _ := Lookup("darcy-direct85"); !strings.Contains(d.Description, "FASTER APPROXIMATION") {
		t.Errorf("darcy-direct85 is not clearly labelled: %q", d.Description)
	}
}

func TestWriteList(t *testing.T) {
	var b bytes.Buffer
	if err := WriteList(&b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	t.Log("\n" + out)
	for _, s := range []string{"mnist-perm", "1x784", "1x28x28", "3x85x85", "dense 1x85x85", "60000/10000", "1000/100", "resnet1d", "wrn-dense", "GoMNIST", FashionPackage, "generated", "FAMILY", "LICENCE", "CC BY-SA 3.0"} {
		if !strings.Contains(out, s) {
			t.Errorf("list lacks %q", s)
		}
	}
}

func TestSubset(t *testing.T) {
	d := &Data{X: []float32{0, 1, 10, 11, 20, 21}, XShape: []int{1, 2}, Labels: []int32{0, 1, 2},
		Y: []float32{5, 6, 7}, YShape: []int{1}, N: 3}
	s := d.Subset([]int{2, 0})
	if s.N != 2 || !slices.Equal(s.X, []float32{20, 21, 0, 1}) || !slices.Equal(s.Labels, []int32{2, 0}) || !slices.Equal(s.Y, []float32{7, 5}) {
		t.Fatalf("Subset = %+v", s)
	}
	s.X[0] = 99
	if d.X[4] != 20 {
		t.Fatal("Subset shares memory with its source")
	}
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	bad := &Data{X: []float32{1, 2, 3}, XShape: []int{2}, N: 2}
	if err := bad.Validate(); err == nil {
		t.Fatal("Validate accepted inconsistent data")
	}
}

func TestCarveReproducible(t *testing.T) {
	tests := []struct {
		n    int
		frac float64
		nv   int
	}{{100, 0.1, 10}, {60000, 0.1, 6000}, {10, 0, 0}, {5, 0.01, 1}}
	for _, tc := range tests {
		tr1, va1 := carve(tc.n, tc.frac, 42)
		tr2, va2 := carve(tc.n, tc.frac, 42)
		if !slices.Equal(tr1, tr2) || !slices.Equal(va1, va2) {
			t.Fatalf("n=%d: carve not reproducible", tc.n)
		}
		if len(va1) != tc.nv || len(tr1)+len(va1) != tc.n {
			t.Fatalf("n=%d frac=%g: sizes %d/%d, want val %d", tc.n, tc.frac, len(tr1), len(va1), tc.nv)
		}
		seen := make([]bool, tc.n)
		for _, i := range append(slices.Clone(tr1), va1...) {
			if seen[i] {
				t.Fatalf("index %d in both train and validation", i)
			}
			seen[i] = true
		}
		if tc.nv > 0 {
			_, va3 := carve(tc.n, tc.frac, 43)
			if tc.n > 50 && slices.Equal(va1, va3) {
				t.Fatal("different seeds carve the same validation set")
			}
		}
	}
}

func TestNormalizerTrainOnly(t *testing.T) {
	train := &Data{X: []float32{1, 2, 3, 4, 5, 6}, XShape: []int{2}, N: 3}
	n := Stats(train, false, false)
	if math.Abs(float64(n.XMean[0])-3.5) > 1e-6 || math.Abs(float64(n.XStd[0])-math.Sqrt(3.5)) > 1e-6 {
		t.Fatalf("global stats %v %v", n.XMean, n.XStd)
	}
	p := Stats(&Data{X: []float32{1, 7, 3, 7, 5, 7}, XShape: []int{2}, N: 3}, true, false)
	if p.XMean[0] != 3 || p.XStd[0] != 2 || p.XMean[1] != 0 || p.XStd[1] != 1 {
		t.Fatalf("pointwise stats %v %v (constant element must be left alone)", p.XMean, p.XStd)
	}
	v := []float32{3, 7}
	if err := p.EncodeX(v); err != nil {
		t.Fatal(err)
	}
	if v[0] != 0 || v[1] != 7 {
		t.Fatalf("encoded %v", v)
	}
	y := &Data{X: []float32{0, 0}, XShape: []int{1}, Y: []float32{2, 4, 6, 8}, YShape: []int{2}, N: 2}
	ny := Stats(y, true, true)
	enc := slices.Clone(y.Y)
	ny.EncodeY(enc)
	ny.DecodeY(enc)
	for i := range enc {
		if math.Abs(float64(enc[i]-y.Y[i])) > 1e-5 {
			t.Fatalf("DecodeY(EncodeY(y)) = %v, want %v", enc, y.Y)
		}
	}
	if err := ny.DecodeY(make([]float32, 3)); err == nil {
		t.Fatal("DecodeY accepted a length that is not a multiple of the sample size")
	}
}

func TestRelativeL2(t *testing.T) {
	target := []float32{3, 4, 1, 0}
	pred := []float32{3, 4, 0, 0}
	if got := RelativeL2(pred, target, 2); math.Abs(got-0.5) > 1e-12 {
		t.Fatalf("RelativeL2 = %g, want 0.5", got)
	}
}

func TestDarcyTask(t *testing.T) {
	dir := t.TempDir()
	task, err := Lookup("darcy-direct85")
	if err != nil {
		t.Fatal(err)
	}
	var prog bytes.Buffer
	o := LoadOptions{Limit: 20, TestLimit: 4, CacheDir: dir, Seed: 1, ValFraction: 0.25, Progress: &prog}
	sp, err := task.Load(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if sp.Train.N != 15 || sp.Val.N != 5 || sp.Test.N != 4 {
		t.Fatalf("sizes %d/%d/%d, want 15/5/4", sp.Train.N, sp.Val.N, sp.Test.N)
	}
	if !strings.Contains(prog.String(), "20/20 samples") || !strings.Contains(prog.String(), "ETA") {
		t.Errorf("progress output %q", prog.String())
	}
	for _, d := range []*Data{sp.Train, sp.Val, sp.Test} {
		if err := d.Validate(); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(d.XShape, []int{3, 85, 85}) || !slices.Equal(d.YShape, []int{1, 85, 85}) || d.Labels != nil {
			t.Fatalf("shapes %v %v", d.XShape, d.YShape)
		}
	}
	m := 85 * 85
	// Pointwise normalisation from the training split: mean ≈ 0 per node of a
	// and u over Train; the coordinate channels are untouched.
	for _, p := range []int{m/2 + 7, 85*40 + 3} {
		var sa, su float64
		for i := 0; i < sp.Train.N; i++ {
			sa += float64(sp.Train.X[i*3*m+p])
			su += float64(sp.Train.Y[i*m+p])
		}
		if math.Abs(sa/15) > 1e-4 || math.Abs(su/15) > 1e-4 {
			t.Errorf("node %d: train means after normalisation %g %g, want 0", p, sa/15, su/15)
		}
	}
	x := sp.Test.X
	if x[m+84*85] != 1 || x[m+84] != 0 || x[2*m+84] != 1 || x[2*m+84*85] != 0 {
		t.Errorf("coordinate channels changed: row(84,0)=%v row(0,84)=%v col(0,84)=%v col(84,0)=%v", x[m+84*85], x[m+84], x[2*m+84], x[2*m+84*85])
	}
	// De-normalising the targets recovers the raw solution.
	raw, err := task.Load(context.Background(), LoadOptions{Limit: 20, TestLimit: 4, CacheDir: dir, Seed: 1, ValFraction: 0.25, Raw: true})
	if err != nil {
		t.Fatal(err)
	}
	dec := slices.Clone(sp.Test.Y)
	if err := sp.Norm.DecodeY(dec); err != nil {
		t.Fatal(err)
	}
	if e := RelativeL2(dec, raw.Test.Y, m); e > 1e-5 {
		t.Errorf("relative L2 of decoded vs raw targets %g", e)
	}
	for i := 0; i < m; i++ {
		if a := raw.Test.X[i]; a != darcy.APos && a != darcy.ANeg {
			t.Fatalf("raw a = %v", a)
		}
	}
}

package datasets

import (
	"context"
	"math"
	"slices"
	"testing"

	"github.com/dash-go/dash/datasets/burgers"
	"github.com/dash-go/dash/datasets/internal/gencache"
)

// A small slice of the burgers task: shapes, the values against an
// independent solve, conservation of the mean, the cache, and the
// normaliser's round trip.
func TestBurgersSlice(t *testing.T) {
	task, err := Lookup("burgers")
	if err != nil {
		t.Fatal(err)
	}
	if task.Kind != DenseField || task.Loss != "relative_l2" || task.Metric != "relative_l2" || !task.Synthetic ||
		!slices.Equal(task.InShape, []int{2, 1024}) || !slices.Equal(task.OutShape, []int{1, 1024}) || task.Dims != 1 {
		t.Fatalf("burgers task = %+v", task)
	}
	dir := t.TempDir()
	o := LoadOptions{Limit: 3, TestLimit: 2, ValFraction: -1, CacheDir: dir, Raw: true}
	sp, err := task.Load(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if sp.Train.N != 3 || sp.Val.N != 0 || sp.Test.N != 2 {
		t.Fatalf("sizes train %d val %d test %d", sp.Train.N, sp.Val.N, sp.Test.N)
	}
	const m = burgers.Points
	for _, c := range []struct {
		d      *Data
		stream int
	}{{sp.Train, 0}, {sp.Test, 1}} {
		for i := 0; i < c.d.N; i++ {
			u0, u1, err := burgers.Sample(BurgersSeed, c.stream, i)
			if err != nil {
				t.Fatal(err)
			}
			x, y := c.d.X[i*2*m:(i+1)*2*m], c.d.Y[i*m:(i+1)*m]
			var s0, s1, e0, e1 float64
			for j := 0; j < m; j++ {
				if x[j] != float32(u0[j]) || y[j] != float32(u1[j]) || x[m+j] != float32(j)/m {
					t.Fatalf("stream %d sample %d point %d: x %v %v y %v, want %v %v %v", c.stream, i, j, x[j], x[m+j], y[j], u0[j], float32(j)/m, u1[j])
				}
				s0 += u0[j]
				s1 += u1[j]
				e0 += u0[j] * u0[j]
				e1 += u1[j] * u1[j]
			}
			// mean-zero initial field, mean conserved; energy dissipated
			if math.Abs(s0/m) > 1e-12 || math.Abs(s1/m) > 1e-12 || !(e1 < e0/10) || e1 == 0 {
				t.Errorf("stream %d sample %d: means %g %g, energies %g → %g", c.stream, i, s0/m, s1/m, e0, e1)
			}
		}
	}
	// train and test draw different fields
	if slices.Equal(sp.Train.X[:m], sp.Test.X[:m]) {
		t.Error("train and test sample 0 are the same field")
	}
	// the cache serves the second load and a smaller one, unchanged
	before := gencache.Generated()
	again, err := task.Load(context.Background(), LoadOptions{Limit: 2, TestLimit: 2, ValFraction: -1, CacheDir: dir, Raw: true})
	if err != nil {
		t.Fatal(err)
	}
	if gencache.Generated() != before {
		t.Errorf("%d samples regenerated", gencache.Generated()-before)
	}
	if !slices.Equal(again.Train.Y, sp.Train.Y[:2*m]) || !slices.Equal(again.Test.X, sp.Test.X) {
		t.Error("cached data differs")
	}
	// normalised load: DecodeY maps the targets back to physical u
	norm, err := task.Load(context.Background(), LoadOptions{Limit: 3, TestLimit: 2, ValFraction: -1, CacheDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	y := slices.Clone(norm.Test.Y)
	if err := norm.Norm.DecodeY(y); err != nil {
		t.Fatal(err)
	}
	for j, v := range y {
		if math.Abs(float64(v-sp.Test.Y[j])) > 1e-5*math.Max(1, math.Abs(float64(sp.Test.Y[j]))) {
			t.Fatalf("decoded target %d = %v, want %v", j, v, sp.Test.Y[j])
		}
	}
}

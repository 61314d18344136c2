package dash_test

import (
	"context"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/dash-go/dash/dash"
	"github.com/dash-go/dash/datasets"
	"github.com/dash-go/dash/internal/tinyrun"
	"github.com/dash-go/dash/tensor/cpu"
)

// TestNewBackbonesSearch runs the whole pipeline (search, hyperparameter
// stage, retraining) on the ConvNeXt, whose searchable convs are depthwise
// 7×7 (searched depthwise), and on the 1-D dense ResNet, then loads the
// retrained network and predicts.
func TestNewBackbonesSearch(t *testing.T) {
	be := cpu.New()
	for _, tc := range []struct {
		name   string
		o      tinyrun.Options
		layers int
		suffix string
		out    []int
	}{
		{"convnext", tinyrun.Options{Backbone: "convnext", Kind: datasets.ClassIndex, InShape: []int{3, 16, 16}, N: 40, Kernels: []int{3, 7}, Dilations: []int{1, 2}, Seed: 1}, 6, "dwconv", []int{3}},
		{"resnet1d-dense", tinyrun.Options{Backbone: "resnet1d-dense", Kind: datasets.DenseField, InShape: []int{1, 32}, N: 40, Seed: 2}, 9, "", []int{1, 32}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), tc.name)
			r, err := tinyrun.Make(context.Background(), dir, be, tc.o)
			if err != nil {
				t.Fatal(err)
			}
			var a dash.Architecture
			if err := dash.ReadJSON(filepath.Join(dir, "architecture.json"), &a); err != nil {
				t.Fatal(err)
			}
			if len(a.Layers) != tc.layers {
				t.Fatalf("%d searched layers, want %d", len(a.Layers), tc.layers)
			}
			moved := false
			for _, l := range a.Layers {
				if !strings.HasSuffix(l.Name, tc.suffix) {
					t.Errorf("searched layer %s", l.Name)
				}
				u := 1 / float64(len(l.Alpha))
				if math.Abs(float64(slices.Max(l.Alpha))-u) > 1e-3 {
					moved = true
				}
			}
			if !moved {
				t.Error("α did not move in any layer")
			}
			if v := r.Metrics.Test.Value; math.IsNaN(v) || math.IsInf(v, 0) {
				t.Errorf("test %s = %v", r.Metrics.Test.Metric, v)
			}
			m, err := dash.Load(dir, be)
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			n := 2
			p, err := m.Predict(dash.Array{Shape: append([]int{n}, tc.o.InShape...), Data: tinyrun.Data(9, n, tc.o.InShape)})
			if err != nil {
				t.Fatal(err)
			}
			if want := append([]int{n}, tc.out...); !slices.Equal(p.Shape, want) {
				t.Errorf("prediction shape %v, want %v", p.Shape, want)
			}
		})
	}
}

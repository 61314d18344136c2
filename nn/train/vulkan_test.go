package train

import (
	"context"
	"github.com/dash-go/dash/internal/testdevice"
	"math"
	"testing"

	"github.com/dash-go/dash/datasets"
	"github.com/dash-go/dash/nn"
	"github.com/dash-go/dash/nn/optim"
	"github.com/dash-go/dash/tensor"
	"github.com/dash-go/dash/tensor/cpu"
)

// vulkanTolerance bounds the relative difference between the CPU and Vulkan
// loss at every step of TestVulkanMatchesCPU (float32 sums in a different
// order drift slowly over the steps).
const vulkanTolerance = 1e-4

// TestVulkanMatchesCPU runs the same steps (conv, batch norm, dropout, max
// pooling, linear, cross-entropy, clipping, SGD+Adam, schedules) on the CPU
// and Vulkan backends and compares the loss trajectories.
func TestVulkanMatchesCPU(t *testing.T) {
	gpu := testdevice.Vulkan(t)
	run := func(be tensor.Backend) []float64 {
		m := toyModel(t, be, 7)
		res, err := Fit(context.Background(), Config{
			Model: m, Backend: be,
			Split: &datasets.Split{Train: toyData(200, 1)}, Loss: "cross_entropy",
			Epochs: 2, BatchSize: 32, Seed: 11,
			Optimizers: toyOptimizers(t, m),
			Schedules:  []optim.Schedule{optim.Cosine{Epochs: 2}, optim.Constant{}},
			ClipNorm:   5,
		})
		if err != nil {
			t.Fatal(err)
		}
		nn.Release(m)
		return res.Losses
	}
	want := run(cpu.Default())
	got := run(gpu)
	worst := 0.0
	for i := range want {
		d := math.Abs(got[i]-want[i]) / math.Max(math.Abs(want[i]), 1e-3)
		worst = math.Max(worst, d)
		if d > vulkanTolerance {
			t.Errorf("step %d: vulkan loss %.7f, cpu %.7f (relative difference %.2g > %.0g)", i, got[i], want[i], d, vulkanTolerance)
		}
	}
	t.Logf("%s: %d steps, worst relative loss difference %.2g", gpu.Name(), len(want), worst)
}

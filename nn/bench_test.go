package nn

import (
	"testing"

	"github.com/dash-go/dash/autograd"
	"github.com/dash-go/dash/tensor"
	"github.com/dash-go/dash/tensor/cpu"
)

// benchFwdBwd times forward + cross-entropy + backward + release.
func benchFwdBwd(b *testing.B, net Layer, classes int, shape ...int) {
	be := cpu.Default()
	x := tensor.RandNormal(be, 1, 0, 1, shape...)
	lab := make([]int32, shape[0])
	for i := range lab {
		lab[i] = int32(i % classes)
	}
	labels := tensor.FromInt32(be, lab, shape[0])
	step := func() {
		loss := autograd.CrossEntropy(net.Forward(autograd.Const(x)), labels)
		autograd.Backward(loss)
		autograd.Release(loss)
		for _, p := range net.Params() {
			p.ZeroGrad()
		}
	}
	step() // warm up scratch buffers
	b.ResetTimer()
	for range b.N {
		step()
	}
	b.ReportMetric(float64(b.N*shape[0])/b.Elapsed().Seconds(), "samples/s")
}

// BenchmarkWRN16x4 is forward+backward of WRN-16-4 (2.75M parameters) on a
// 16×3×32×32 batch.
func BenchmarkWRN16x4(b *testing.B) {
	net, err := NewWRN(WRNConfig{Widen: 4, InChannels: 3, Height: 32, Width: 32, Outputs: 10, Backend: cpu.Default()})
	if err != nil {
		b.Fatal(err)
	}
	benchFwdBwd(b, net, 10, 16, 3, 32, 32)
}

// BenchmarkResNet1D is forward+backward of the ResNet1D (4 classes, m = 4;
// ECG-sized) on a 32×1×1000 batch.
func BenchmarkResNet1D(b *testing.B) {
	net, err := NewResNet1D(ResNet1DConfig{InChannels: 1, Length: 1000, Outputs: 4, Backend: cpu.Default()})
	if err != nil {
		b.Fatal(err)
	}
	benchFwdBwd(b, net, 4, 32, 1, 1000)
}

// BenchmarkResNet1D64 is the widest ResNet1D (m = 64, e.g. DeepSEA's 36
// labels) on a 32×4×1000 batch.
func BenchmarkResNet1D64(b *testing.B) {
	net, err := NewResNet1D(ResNet1DConfig{InChannels: 4, Length: 1000, Outputs: 36, Backend: cpu.Default()})
	if err != nil {
		b.Fatal(err)
	}
	benchFwdBwd(b, net, 36, 32, 4, 1000)
}

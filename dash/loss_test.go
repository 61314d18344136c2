package dash

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/dash-go/dash/autograd"
	"github.com/dash-go/dash/datasets"
	"github.com/dash-go/dash/tensor"
	"github.com/dash-go/dash/tensor/cpu"
)

// TestDecodedLpLossMatchesFloat64 checks the Darcy training loss (the
// reference's LpLoss(size_average=False) on decoded outputs and targets)
// and its gradient against a float64 computation of the same formula, on
// pointwise statistics that include a constant (std 0) element and an
// unnormalised one (mean 0, std 1), and checks the decoding is exactly
// Normalizer.DecodeY's.
func TestDecodedLpLossMatchesFloat64(t *testing.T) {
	be := cpu.Default()
	const n, m = 3, 7
	rng := rand.New(rand.NewPCG(1, 2))
	mean, std := make([]float32, m), make([]float32, m)
	for j := range m {
		mean[j], std[j] = float32(rng.NormFloat64()), float32(0.1+rng.Float64())
	}
	mean[2], std[2] = 0.25, 0 // a Dirichlet boundary value: constant over the training set
	mean[5], std[5] = 0, 1    // not normalised
	norm := &datasets.Normalizer{YMean: mean, YStd: std}
	out, y := make([]float32, n*m), make([]float32, n*m)
	for i := range out {
		out[i], y[i] = float32(rng.NormFloat64()), float32(rng.NormFloat64())
	}

	// the decoding agrees with DecodeY
	scale, offset := decodeAffine(mean, std, m)
	dec := append([]float32(nil), y...)
	if err := norm.DecodeY(dec); err != nil {
		t.Fatal(err)
	}
	for i, v := range y {
		if got := v*scale[i%m] + offset[i%m]; got != dec[i] {
			t.Fatalf("element %d: affine decode %v, DecodeY %v", i, got, dec[i])
		}
	}

	// float64 reference: Σ_i ‖D(o_i) − D(y_i)‖ / ‖D(y_i)‖ and its gradient
	want := 0.0
	wantGrad := make([]float64, n*m)
	for i := range n {
		var num, den float64
		for j := range m {
			s, o := float64(scale[j]), float64(offset[j])
			d := (float64(out[i*m+j])*s + o) - (float64(y[i*m+j])*s + o)
			num += d * d
			dy := float64(y[i*m+j])*s + o
			den += dy * dy
		}
		num, den = math.Sqrt(num), math.Sqrt(den)
		want += num / den
		for j := range m {
			s := float64(scale[j])
			d := (float64(out[i*m+j]) - float64(y[i*m+j])) * s
			wantGrad[i*m+j] = s * d / (num * den)
		}
	}

	l, err := newDecodedLpLoss(be, norm, m)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Release()
	ov := autograd.Param("out", tensor.FromFloat32(be, out, n, 1, m))
	yt := tensor.FromFloat32(be, y, n, 1, m)
	defer yt.Release()
	loss, err := l.Func(ov, nil, yt)
	if err != nil {
		t.Fatal(err)
	}
	got := float64(loss.Value.Item())
	if math.Abs(got-want) > 1e-5*want {
		t.Errorf("loss %.7g, float64 reference %.7g", got, want)
	}
	// a sum over the batch, not a mean: the mean would be want/n
	if math.Abs(got-want/n) < 1e-3*want {
		t.Errorf("loss %.7g equals the batch mean", got)
	}
	autograd.Backward(loss)
	g := ov.Grad.Float32s()
	for i, w := range wantGrad {
		if math.Abs(float64(g[i])-w) > 1e-5+1e-4*math.Abs(w) {
			t.Errorf("grad[%d] = %.7g, float64 reference %.7g", i, g[i], w)
		}
	}
	if math.Abs(float64(g[2])) > 1e-8 { // the constant element decodes to its constant
		t.Errorf("grad at the constant element = %g, want ≈ 0", g[2])
	}
	autograd.Release(loss)

	// bad shapes are errors, not panics
	bad := autograd.Param("bad", tensor.FromFloat32(be, out[:n*(m-1)], n, m-1))
	if _, err := l.Func(bad, nil, yt); err == nil {
		t.Error("mismatched output size: no error")
	}
	if _, err := newDecodedLpLoss(be, &datasets.Normalizer{}, m); err == nil {
		t.Error("no Y statistics: no error")
	}
}

// TestTrainLossOnlyForNormalisedDenseRelL2 checks which tasks train on the
// decoded summed loss: dense relative-L2 tasks with Y statistics (Darcy),
// not classification.
func TestTrainLossOnlyForNormalisedDenseRelL2(t *testing.T) {
	be := cpu.Default()
	dense := &datasets.Task{Name: "d", Kind: datasets.DenseField, Loss: "relative_l2"}
	data := &datasets.Data{N: 1, X: make([]float32, 4), XShape: []int{1, 4}, Y: make([]float32, 4), YShape: []int{1, 4}}
	split := &datasets.Split{Train: data, Norm: &datasets.Normalizer{YMean: []float32{1, 2, 3, 4}, YStd: []float32{1, 1, 1, 1}}}
	cfg := Config{Task: dense, Split: split, Backend: be}
	f, rel, err := cfg.trainLoss()
	if err != nil || f == nil {
		t.Fatalf("dense relative L2 with Y statistics: loss %v, err %v; want the decoded loss", f != nil, err)
	}
	rel()
	cls := &datasets.Task{Name: "c", Kind: datasets.ClassIndex, Loss: "cross_entropy"}
	cfg.Task = cls
	if f, _, _ := cfg.trainLoss(); f != nil {
		t.Error("classification got the decoded loss")
	}
	cfg.Task, cfg.Split = dense, &datasets.Split{Train: data}
	if f, _, _ := cfg.trainLoss(); f != nil {
		t.Error("dense task without Y statistics got the decoded loss")
	}
}

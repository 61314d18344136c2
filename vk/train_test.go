//go:build cgo

package vk

import (
	"math/rand"
	"testing"

	"github.com/dash-go/dash/tensor"
)

// net is a small conv net expressed with backend kernels:
// x[N,C,H,W] → conv 3×3 (K) → ReLU → maxpool 2×2 → fc (K·H/2·W/2 → classes),
// squared-error loss against one-hot targets, backward, SGD with momentum.
type net struct {
	be                          tensor.Backend
	cp                          tensor.ConvParams
	pp                          tensor.PoolParams
	x, tgt                      tensor.Buffer
	w, mw, fc, mfc              tensor.Buffer
	y, a, p, pidx, out, dout    tensor.Buffer
	dfc, dp, da, dy, dw, dyrelu tensor.Buffer
	loss                        tensor.Buffer
	feat, classes               int
}

func newNet(be tensor.Backend, seed int64) *net {
	n := &net{be: be}
	N, C, H, W, K := 4, 3, 12, 12, 8
	n.cp = tensor.ConvParams{N: N, C: C, H: H, W: W, K: K, Groups: 1, KH: 3, KW: 3, SH: 1, SW: 1, DH: 1, DW: 1, PH: 1, PW: 1, OH: H, OW: W}
	n.pp = tensor.PoolParams{N: N, C: K, H: H, W: W, KH: 2, KW: 2, SH: 2, SW: 2, OH: H / 2, OW: W / 2}
	n.feat, n.classes = K*(H/2)*(W/2), 5
	r := rand.New(rand.NewSource(seed))
	up := func(sz int, lo, hi float32) tensor.Buffer {
		b := be.Alloc(sz)
		be.WriteFloat32(b, 0, randSlice(r, sz, lo, hi))
		return b
	}
	n.x = up(N*C*H*W, -1, 1)
	tgt := make([]float32, N*n.classes)
	for i := 0; i < N; i++ {
		tgt[i*n.classes+i%n.classes] = 1
	}
	n.tgt = be.Alloc(len(tgt))
	be.WriteFloat32(n.tgt, 0, tgt)
	n.w = up(K*C*9, -0.3, 0.3)
	n.fc = up(n.feat*n.classes, -0.05, 0.05)
	n.mw, n.mfc = be.Alloc(K*C*9), be.Alloc(n.feat*n.classes)
	ny := N * K * H * W
	n.y, n.a, n.dy, n.da, n.dyrelu = be.Alloc(ny), be.Alloc(ny), be.Alloc(ny), be.Alloc(ny), be.Alloc(ny)
	np := N * n.feat
	n.p, n.pidx, n.dp = be.Alloc(np), be.Alloc(np), be.Alloc(np)
	n.out, n.dout = be.Alloc(N*n.classes), be.Alloc(N*n.classes)
	n.dfc, n.dw = be.Alloc(n.feat*n.classes), be.Alloc(K*C*9)
	n.loss = be.Alloc(1)
	return n
}

func (n *net) step() {
	be, N := n.be, n.cp.N
	be.ConvForward(n.cp, n.y, n.x, n.w)
	ny := n.y.Len()
	be.Unary(tensor.OpReLU, n.a, n.y, ny, 0, 0)
	be.MaxPool(n.pp, n.p, n.pidx, n.a)
	be.MatMul(n.out, n.p, n.fc, tensor.MatMulParams{Batch: 1, M: N, K: n.feat, N: n.classes, Alpha: 1})
	nc := N * n.classes
	be.Binary(tensor.OpSub, n.dout, []int{nc}, n.out, 0, []int{1}, n.tgt, 0, []int{1}) // dL/dout for ½‖out−t‖²
	be.Unary(tensor.OpSquare, n.out, n.dout, nc, 0, 0)
	be.Reduce(tensor.ReduceSum, n.loss, n.out, 1, nc, 1)
	be.MatMul(n.dfc, n.p, n.dout, tensor.MatMulParams{Batch: 1, M: n.feat, K: N, N: n.classes, TransA: true, Alpha: 1})
	be.MatMul(n.dp, n.dout, n.fc, tensor.MatMulParams{Batch: 1, M: N, K: n.classes, N: n.feat, TransB: true, Alpha: 1})
	be.MaxPoolBackward(n.pp, n.da, n.dp, n.pidx)
	be.Binary(tensor.OpReLUGrad, n.dy, []int{ny}, n.da, 0, []int{1}, n.y, 0, []int{1})
	be.ConvBackwardFilter(n.cp, n.dw, n.x, n.dy)
	o := tensor.SGDParams{LR: 0.01, Momentum: 0.9, WeightDecay: 1e-4}
	be.SGDStep(n.w, n.dw, n.mw, n.w.Len(), o)
	be.SGDStep(n.fc, n.dfc, n.mfc, n.fc.Len(), o)
}

// A training step on the Vulkan backend needs no host round-trip: no waits
// inside the step and at most one submit, and it matches the CPU backend.
func TestTrainingStepNoHostRoundTrip(t *testing.T) {
	be := newTestBackend(t, Options{})
	g, c := newNet(be, 1), newNet(ref, 1)
	be.Sync()
	const steps = 10
	s0 := be.Context().Stats()
	var losses []float32
	for i := 0; i < steps; i++ {
		g.step()
		c.step()
		if i == 0 || i == steps-1 {
			l := make([]float32, 1)
			ref.ReadFloat32(c.loss, 0, l)
			losses = append(losses, l[0])
		}
	}
	s1 := be.Context().Stats()
	if w := s1.Waits - s0.Waits; w != 0 {
		t.Errorf("%d steps: %d host waits, want 0", steps, w)
	}
	perStep := float64(s1.Submits-s0.Submits) / steps
	t.Logf("%d steps: %d dispatches, %d submits (%.2f per step), %d waits, %d barriers",
		steps, s1.Dispatches-s0.Dispatches, s1.Submits-s0.Submits, perStep, s1.Waits-s0.Waits, s1.Barriers-s0.Barriers)
	if perStep > 1 {
		t.Errorf("%.2f submits per step, want ≤ 1", perStep)
	}
	compare(t, "conv weights after training", readG(be, g.w), readC(c.w), 1e-5, 1e-4)
	compare(t, "fc weights after training", readG(be, g.fc), readC(c.fc), 1e-5, 1e-4)
	gl := make([]float32, 1)
	be.ReadFloat32(g.loss, 0, gl)
	compare(t, "loss", gl, losses[1:], 1e-5, 1e-4)
	if losses[1] >= losses[0] {
		t.Errorf("loss did not decrease: %v", losses)
	}
	t.Logf("loss %g → %g", losses[0], losses[1])
}

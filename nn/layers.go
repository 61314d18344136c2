package nn

import (
	"fmt"

	"github.com/dash-go/dash/autograd"
	"github.com/dash-go/dash/tensor"
)

// Linear is y = x·Wᵀ + b over the last axis of x.
type Linear struct {
	Name    string
	In, Out int
	Weight  *autograd.Var // [Out, In]
	Bias    *autograd.Var // [Out] or nil
}

// NewLinear builds a linear layer with PyTorch's default initialisation.
func NewLinear(be tensor.Backend, seed uint64, name string, in, out int, bias bool) (*Linear, error) {
	if in <= 0 || out <= 0 {
		return nil, fmt.Errorf("nn: linear %q: in=%d out=%d, want > 0", name, in, out)
	}
	b := kaimingBound(in)
	l := &Linear{Name: name, In: in, Out: out}
	l.Weight = uniformParam(be, seed, join(name, "weight"), b, out, in)
	if bias {
		l.Bias = uniformParam(be, seed, join(name, "bias"), b, out)
	}
	return l, nil
}

// Forward applies the layer to x [..., In].
func (l *Linear) Forward(x *autograd.Var) *autograd.Var {
	return autograd.Linear(x, l.Weight, l.Bias)
}

// Params returns the weight and the bias (if any).
func (l *Linear) Params() []*autograd.Var {
	if l.Bias != nil {
		return []*autograd.Var{l.Weight, l.Bias}
	}
	return []*autograd.Var{l.Weight}
}

// SetTraining is a no-op.
func (l *Linear) SetTraining(bool) {}

// PointwiseLinear applies a Linear over the channel axis of [N,C,...] at
// every position (a 1×1 convolution with bias), giving [N,Out,...].
type PointwiseLinear struct {
	*Linear
}

// Forward maps [N,C,spatial...] to [N,Out,spatial...].
func (p *PointwiseLinear) Forward(x *autograd.Var) *autograd.Var {
	s := x.Value.Shape()
	if len(s) < 3 {
		return p.Linear.Forward(x)
	}
	if fuseOps && len(s) <= 4 {
		// a 1×1 convolution: no channels-last copies either way
		ws := []int{p.Out, p.In, 1}
		var y *autograd.Var
		if len(s) == 3 {
			y = autograd.Conv1d(x, autograd.Reshape(p.Weight, ws...), tensor.ConvOptions{})
		} else {
			y = autograd.Conv2d(x, autograd.Reshape(p.Weight, append(ws, 1)...), tensor.ConvOptions{})
		}
		if p.Bias != nil {
			y = autograd.BiasActInPlace(y, p.Bias, false)
		}
		return y
	}
	r := len(s)
	perm := []int{0}
	for a := 2; a < r; a++ {
		perm = append(perm, a)
	}
	perm = append(perm, 1)
	y := p.Linear.Forward(autograd.Permute(x, perm...)) // [N, spatial..., Out]
	inv := []int{0, r - 1}
	for a := 1; a < r-1; a++ {
		inv = append(inv, a)
	}
	return autograd.Permute(y, inv...)
}

// BatchNorm normalises [N,C,...] per channel (BatchNorm1d for [N,C,L],
// BatchNorm2d for [N,C,H,W]); γ starts at 1 and β at 0. The running mean and
// variance are buffers "<name>.running_mean" and "<name>.running_var".
type BatchNorm struct {
	Name string
	C    int
	// Dims is the number of spatial axes the input must have (1 for
	// BatchNorm1d, 2 for BatchNorm2d; 0 accepts any; BatchNorm1d also
	// accepts [N,C]).
	Dims                    int
	Gamma, Beta             *autograd.Var
	RunningMean, RunningVar *autograd.Var
	Momentum, Eps           float32
	training                bool
}

// NewBatchNorm builds a batch-norm layer over c channels (momentum 0.1, eps 1e-5).
func NewBatchNorm(be tensor.Backend, name string, c int) (*BatchNorm, error) {
	if c <= 0 {
		return nil, fmt.Errorf("nn: batch norm %q: %d channels, want > 0", name, c)
	}
	bn := &BatchNorm{Name: name, C: c, Momentum: 0.1, Eps: 1e-5, training: true}
	bn.Gamma = autograd.Param(join(name, "weight"), tensor.Full(be, 1, c))
	bn.Beta = autograd.Param(join(name, "bias"), tensor.Zeros(be, c))
	bn.RunningMean = autograd.Const(tensor.Zeros(be, c))
	bn.RunningMean.Name = join(name, "running_mean")
	bn.RunningVar = autograd.Const(tensor.Full(be, 1, c))
	bn.RunningVar.Name = join(name, "running_var")
	return bn, nil
}

// NewBatchNorm1d is NewBatchNorm for [N,C] or [N,C,L] inputs.
func NewBatchNorm1d(be tensor.Backend, name string, c int) (*BatchNorm, error) {
	b, err := NewBatchNorm(be, name, c)
	if b != nil {
		b.Dims = 1
	}
	return b, err
}

// NewBatchNorm2d is NewBatchNorm for [N,C,H,W] inputs.
func NewBatchNorm2d(be tensor.Backend, name string, c int) (*BatchNorm, error) {
	b, err := NewBatchNorm(be, name, c)
	if b != nil {
		b.Dims = 2
	}
	return b, err
}

// Forward normalises x with batch statistics in training (updating the
// running statistics unless gradients are off) and running statistics
// otherwise.
func (b *BatchNorm) Forward(x *autograd.Var) *autograd.Var {
	s := x.Value.Shape()
	okRank := b.Dims == 0 || len(s) == b.Dims+2 || (b.Dims == 1 && len(s) == 2)
	if len(s) < 2 || s[1] != b.C || !okRank {
		panic(fmt.Sprintf("nn.BatchNorm %q: input %v, want [N,%d,...] with %d spatial axes", b.Name, s, b.C, b.Dims))
	}
	return b.ForwardAct(x, nil, false)
}

// ForwardAct is Forward with the preceding convolution's bias (may be nil)
// folded in and, with relu, the ReLU that follows: BN(x + bias) then
// max(·, 0), one fused kernel each way (autograd.BatchNormAct).
func (b *BatchNorm) ForwardAct(x, bias *autograd.Var, relu bool) *autograd.Var {
	s := x.Value.Shape()
	okRank := b.Dims == 0 || len(s) == b.Dims+2 || (b.Dims == 1 && len(s) == 2)
	if len(s) < 2 || s[1] != b.C || !okRank {
		panic(fmt.Sprintf("nn.BatchNorm %q: input %v, want [N,%d,...] with %d spatial axes", b.Name, s, b.C, b.Dims))
	}
	if !fuseOps {
		if bias != nil {
			x = autograd.Add(x, autograd.Reshape(bias, channelShape(len(s), b.C)...))
		}
		y := autograd.BatchNorm(x, b.Gamma, b.Beta, b.RunningMean.Value, b.RunningVar.Value, b.training, b.Momentum, b.Eps)
		if relu {
			y = autograd.ReLU(y)
		}
		return y
	}
	return autograd.BatchNormAct(x, bias, b.Gamma, b.Beta, b.RunningMean.Value, b.RunningVar.Value, b.training, b.Momentum, b.Eps, relu)
}

// fuseOps selects the fused kernels (batch norm with bias and ReLU, bias
// with ReLU, add with ReLU). Tests turn it off to compare with the
// unfused composition and to count the Vulkan dispatches it saves.
var fuseOps = true

// channelShape is [1, c, 1, ...] of the given rank.
func channelShape(rank, c int) []int {
	s := make([]int, rank)
	for i := range s {
		s[i] = 1
	}
	s[1] = c
	return s
}

// addReLU is max(a + b, 0), fused unless fuseOps is off.
func addReLU(a, b *autograd.Var) *autograd.Var {
	if !fuseOps {
		return autograd.ReLU(autograd.Add(a, b))
	}
	return autograd.AddReLU(a, b)
}

// convBN applies conv then bn (and ReLU when relu) with the conv's bias,
// when it is an ordinary biased convolution, folded into the fused batch
// norm instead of a separate pass.
func convBN(conv Layer, bn *BatchNorm, x *autograd.Var, relu bool) *autograd.Var {
	if c, ok := conv.(*Conv); ok && c.Bias != nil {
		return bn.ForwardAct(c.forwardNoBias(x), c.Bias, relu)
	}
	return bn.ForwardAct(conv.Forward(x), nil, relu)
}

// convAct applies conv and, with relu, a ReLU, fusing an ordinary conv's
// bias with the ReLU into one kernel.
func convAct(conv Layer, x *autograd.Var, relu bool) *autograd.Var {
	if c, ok := conv.(*Conv); ok && c.Bias != nil && fuseOps {
		return autograd.BiasActInPlace(c.forwardNoBias(x), c.Bias, relu)
	}
	y := conv.Forward(x)
	if relu {
		y = autograd.ReLU(y)
	}
	return y
}

// Params returns γ and β.
func (b *BatchNorm) Params() []*autograd.Var { return []*autograd.Var{b.Gamma, b.Beta} }

// Buffers returns the running mean and variance.
func (b *BatchNorm) Buffers() []*autograd.Var {
	return []*autograd.Var{b.RunningMean, b.RunningVar}
}

// SetTraining switches between batch and running statistics.
func (b *BatchNorm) SetTraining(t bool) { b.training = t }

// Dropout zeroes activations with probability P in training. Each training
// forward pass draws a fresh mask from the counter-based generator seeded by
// (Seed, Step) and increments Step, so a run is reproducible and a resumed
// run continues the same mask sequence (Step is a checkpointed counter).
type Dropout struct {
	Name     string
	P        float32
	Seed     uint64
	Step     uint64
	training bool
}

// NewDropout builds a dropout layer; p must be in [0, 1).
func NewDropout(seed uint64, name string, p float64) (*Dropout, error) {
	if p < 0 || p >= 1 {
		return nil, fmt.Errorf("nn: dropout %q: p = %v, want 0 ≤ p < 1", name, p)
	}
	return &Dropout{Name: name, P: float32(p), Seed: DeriveSeed(seed, name), training: true}, nil
}

// Forward applies dropout in training mode.
func (d *Dropout) Forward(x *autograd.Var) *autograd.Var {
	if !d.training || d.P == 0 {
		return x
	}
	seed := DeriveSeed(d.Seed, fmt.Sprint(d.Step))
	d.Step++
	return autograd.Dropout(x, d.P, seed, true)
}

// Params returns nil.
func (d *Dropout) Params() []*autograd.Var { return nil }

// Counters exposes the step counter and the seed as "<name>.step" and
// "<name>.seed", so a checkpoint fully determines future masks.
func (d *Dropout) Counters() map[string]*uint64 {
	return map[string]*uint64{join(d.Name, "step"): &d.Step, join(d.Name, "seed"): &d.Seed}
}

// SetTraining enables or disables dropout.
func (d *Dropout) SetTraining(t bool) { d.training = t }

// Pool is a max or average pooling layer over 1 or 2 spatial axes (average
// pooling counts padding as zeros).
type Pool struct {
	Dims                    int
	Kernel, Stride, Padding int
	Max                     bool
}

// NewMaxPool returns a max-pooling layer (stride 0 means stride = kernel).
func NewMaxPool(dims, kernel, stride, padding int) (*Pool, error) {
	return newPool(dims, kernel, stride, padding, true)
}

// NewAvgPool returns an average-pooling layer (stride 0 means stride = kernel).
func NewAvgPool(dims, kernel, stride, padding int) (*Pool, error) {
	return newPool(dims, kernel, stride, padding, false)
}

func newPool(dims, kernel, stride, padding int, isMax bool) (*Pool, error) {
	if stride == 0 {
		stride = kernel
	}
	if dims != 1 && dims != 2 {
		return nil, fmt.Errorf("nn: pool: dims %d, want 1 or 2", dims)
	}
	if kernel <= 0 || stride <= 0 || padding < 0 || 2*padding > kernel {
		return nil, fmt.Errorf("nn: pool: kernel %d stride %d padding %d (want kernel, stride > 0 and 0 ≤ padding ≤ kernel/2)", kernel, stride, padding)
	}
	return &Pool{Dims: dims, Kernel: kernel, Stride: stride, Padding: padding, Max: isMax}, nil
}

// Forward pools x [N,C,L] or [N,C,H,W].
func (p *Pool) Forward(x *autograd.Var) *autograd.Var {
	if r := x.Value.Rank(); r != p.Dims+2 {
		panic(fmt.Sprintf("nn.Pool: input %v, want rank %d", x.Value.Shape(), p.Dims+2))
	}
	o := tensor.PoolOptions{Kernel: []int{p.Kernel}, Stride: []int{p.Stride}, Padding: []int{p.Padding}}
	if p.Max {
		return autograd.MaxPool(x, o)
	}
	return autograd.AvgPool(x, o)
}

// Params returns nil.
func (p *Pool) Params() []*autograd.Var { return nil }

// SetTraining is a no-op.
func (p *Pool) SetTraining(bool) {}

// Residual computes Body(x) + Shortcut(x), or Body(x) + x without a
// shortcut (the shapes must agree).
type Residual struct {
	Body, Shortcut Layer
}

// Forward applies the residual connection.
func (r *Residual) Forward(x *autograd.Var) *autograd.Var {
	y := r.Body.Forward(x)
	if r.Shortcut != nil {
		return autograd.Add(y, r.Shortcut.Forward(x))
	}
	return autograd.Add(y, x)
}

// Params lists the body's then the shortcut's parameters.
func (r *Residual) Params() []*autograd.Var { return collectParams(r.Body, r.Shortcut) }

// Buffers lists the body's then the shortcut's buffers.
func (r *Residual) Buffers() []*autograd.Var { return collectBuffers(r.Body, r.Shortcut) }

// Counters merges the counters of body and shortcut.
func (r *Residual) Counters() map[string]*uint64 { return collectCounters(r.Body, r.Shortcut) }

// SetTraining sets both branches' mode.
func (r *Residual) SetTraining(t bool) { setTraining(t, r.Body, r.Shortcut) }

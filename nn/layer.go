// Package nn provides neural-network layers on top of the autograd engine,
// the backbones DASH searches in (pre-activation Wide ResNet, the ResNet1D of
// Wang et al. 2017, a TCN) and the hooks DASH uses to swap their searchable
// convolutions.
//
// Every parameter is an *autograd.Var whose Name is its hierarchical path,
// e.g. "stage1.block0.conv1.weight". Batch-norm running statistics are named
// buffers (Buffers), and dropout step counters are named counters (Counters);
// both belong to a model's checkpointed state. Initialisation follows
// PyTorch's defaults (Kaiming-uniform with a = √5, i.e. U(±1/√fan_in), for
// conv and linear weights and biases) from seeds derived deterministically
// from a model seed and each parameter's name, so a model is reproducible and
// independent of construction order.
package nn

import (
	"fmt"
	"hash/fnv"
	"math"
	"slices"

	"github.com/dash-go/dash/autograd"
	"github.com/dash-go/dash/tensor"
)

// Layer is a differentiable module.
type Layer interface {
	// Forward computes the layer's output.
	Forward(x *autograd.Var) *autograd.Var
	// Params lists the trainable parameters, named hierarchically.
	Params() []*autograd.Var
	// SetTraining switches between training and evaluation behaviour
	// (batch-norm statistics, dropout).
	SetTraining(training bool)
}

// BufferLayer is implemented by layers with non-trainable state tensors
// (batch-norm running statistics) that belong in checkpoints.
type BufferLayer interface {
	// Buffers lists the state tensors as named, gradient-free Vars.
	Buffers() []*autograd.Var
}

// CounterLayer is implemented by layers with integer state (the dropout step
// counter) that belongs in checkpoints.
type CounterLayer interface {
	// Counters maps each counter's hierarchical name to its storage.
	Counters() map[string]*uint64
}

// Buffers returns l's buffers, or nil when it has none.
func Buffers(l Layer) []*autograd.Var {
	if b, ok := l.(BufferLayer); ok {
		return b.Buffers()
	}
	return nil
}

// Counters returns l's counters, or an empty map.
func Counters(l Layer) map[string]*uint64 {
	if c, ok := l.(CounterLayer); ok {
		return c.Counters()
	}
	return map[string]*uint64{}
}

// NumParams is the total number of trainable parameter elements.
func NumParams(l Layer) int {
	n := 0
	for _, p := range l.Params() {
		n += p.Value.Numel()
	}
	return n
}

// StateVars returns parameters followed by buffers: everything a checkpoint
// of the model holds, in a stable order.
func StateVars(l Layer) []*autograd.Var {
	return append(slices.Clone(l.Params()), Buffers(l)...)
}

// Release frees the device memory of l's parameters, buffers and gradients.
// The layer must not be used afterwards.
func Release(l Layer) {
	for _, v := range StateVars(l) {
		v.ZeroGrad()
		v.Value.Release()
	}
}

// join builds a hierarchical name.
func join(prefix, name string) string {
	if prefix == "" {
		return name
	}
	if name == "" {
		return prefix
	}
	return prefix + "." + name
}

// DeriveSeed mixes a model seed with a name into an independent 64-bit seed
// (FNV-1a of the name, then a splitmix64 finaliser).
func DeriveSeed(seed uint64, name string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(name))
	z := h.Sum64() ^ (seed + 0x9e3779b97f4a7c15)
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// uniformParam makes a named parameter of U(-bound, bound) values.
func uniformParam(be tensor.Backend, seed uint64, name string, bound float32, shape ...int) *autograd.Var {
	return autograd.Param(name, tensor.RandUniform(be, DeriveSeed(seed, name), -bound, bound, shape...))
}

// kaimingBound is PyTorch's default bound for weights and biases:
// gain·√(3/fan_in) with a = √5, which equals 1/√fan_in.
func kaimingBound(fanIn int) float32 {
	if fanIn <= 0 {
		return 0
	}
	return float32(1 / math.Sqrt(float64(fanIn)))
}

// Sequential applies layers in order.
type Sequential struct {
	Layers []Layer
}

// NewSequential returns a Sequential over the given layers (nil ones are skipped).
func NewSequential(layers ...Layer) *Sequential {
	s := &Sequential{}
	for _, l := range layers {
		if l != nil {
			s.Layers = append(s.Layers, l)
		}
	}
	return s
}

// Forward applies every layer.
func (s *Sequential) Forward(x *autograd.Var) *autograd.Var {
	for _, l := range s.Layers {
		x = l.Forward(x)
	}
	return x
}

// Params concatenates the layers' parameters.
func (s *Sequential) Params() []*autograd.Var { return collectParams(s.Layers...) }

// Buffers concatenates the layers' buffers.
func (s *Sequential) Buffers() []*autograd.Var { return collectBuffers(s.Layers...) }

// Counters merges the layers' counters.
func (s *Sequential) Counters() map[string]*uint64 { return collectCounters(s.Layers...) }

// SetTraining sets every layer's mode.
func (s *Sequential) SetTraining(t bool) { setTraining(t, s.Layers...) }

func collectParams(ls ...Layer) []*autograd.Var {
	var out []*autograd.Var
	for _, l := range ls {
		if l != nil {
			out = append(out, l.Params()...)
		}
	}
	return out
}

func collectBuffers(ls ...Layer) []*autograd.Var {
	var out []*autograd.Var
	for _, l := range ls {
		if l != nil {
			out = append(out, Buffers(l)...)
		}
	}
	return out
}

func collectCounters(ls ...Layer) map[string]*uint64 {
	out := map[string]*uint64{}
	for _, l := range ls {
		if l != nil {
			for k, v := range Counters(l) {
				out[k] = v
			}
		}
	}
	return out
}

func setTraining(t bool, ls ...Layer) {
	for _, l := range ls {
		if l != nil {
			l.SetTraining(t)
		}
	}
}

// Func wraps a parameter-free function as a Layer (activations, reshapes).
type Func struct {
	Name string
	F    func(*autograd.Var) *autograd.Var
}

// Forward applies F.
func (f *Func) Forward(x *autograd.Var) *autograd.Var { return f.F(x) }

// Params returns nil.
func (f *Func) Params() []*autograd.Var { return nil }

// SetTraining is a no-op.
func (f *Func) SetTraining(bool) {}

// ReLU returns a ReLU layer.
func ReLU() Layer { return &Func{Name: "relu", F: autograd.ReLU} }

// GELU returns a GELU layer (exact erf form).
func GELU() Layer { return &Func{Name: "gelu", F: autograd.GELU} }

// Flatten returns a layer reshaping [N, ...] to [N, prod(...)].
func Flatten() Layer {
	return &Func{Name: "flatten", F: func(x *autograd.Var) *autograd.Var {
		return autograd.Reshape(x, x.Value.Dim(0), -1)
	}}
}

// GlobalAvgPool returns a layer averaging [N,C,...] over all spatial axes to [N,C].
func GlobalAvgPool() Layer {
	return &Func{Name: "global_avg_pool", F: globalAvgPool}
}

func globalAvgPool(x *autograd.Var) *autograd.Var {
	if r := x.Value.Rank(); r < 3 {
		panic(fmt.Sprintf("nn.GlobalAvgPool: input %v, want [N,C,...]", x.Value.Shape()))
	}
	return autograd.GlobalAvgPool(x)
}

// NoGrad runs f with l's parameters marked as not requiring gradients, so
// a forward pass through l records no graph, and restores them afterwards.
// Unlike autograd.NoGrad, which is process-wide, it touches only l: another
// goroutine training another network at the same time keeps its graph (a
// dist worker runs several trials in one process, and a process-wide switch
// made a concurrent training step's loss gradient-free). l itself must not
// be used by another goroutine meanwhile.
func NoGrad(l Layer, f func()) {
	ps := l.Params()
	was := make([]bool, len(ps))
	for i, p := range ps {
		was[i] = p.RequiresGrad()
		p.SetRequiresGrad(false)
	}
	defer func() {
		for i, p := range ps {
			p.SetRequiresGrad(was[i])
		}
	}()
	f()
}

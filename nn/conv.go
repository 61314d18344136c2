package nn

import (
	"errors"
	"fmt"

	"github.com/dash-go/dash/autograd"
	"github.com/dash-go/dash/tensor"
)

// PadMode selects how a convolution pads its input.
type PadMode int

const (
	// PadSame pads d·(k−1) in total per axis, ⌊d·(k−1)/2⌋ before and the
	// rest after (TensorFlow's 'same'; for odd kernels the same as PyTorch's
	// padding = d·(k−1)/2), so the output length is ⌈L/stride⌉.
	PadSame PadMode = iota
	// PadCausal pads d·(k−1) before and nothing after (1-D only): output t
	// sees inputs ≤ t.
	PadCausal
	// PadExplicit pads Conv.Padding elements on both sides of each axis.
	PadExplicit
)

// String returns "same", "causal" or "explicit".
func (m PadMode) String() string {
	switch m {
	case PadSame:
		return "same"
	case PadCausal:
		return "causal"
	case PadExplicit:
		return "explicit"
	}
	return fmt.Sprintf("PadMode(%d)", int(m))
}

// ConvSpec describes one convolution of a backbone. Searchable convolutions
// are handed to a ConvFactory as a ConvSpec; Name is the layer's path
// (its parameters are Name+".weight", Name+".bias").
type ConvSpec struct {
	Name     string
	Dims     int // 1 or 2 spatial dimensions
	In, Out  int // channels
	Kernel   int // kernel size per axis
	Dilation int
	Stride   int
	Causal   bool // causal padding (1-D); otherwise 'same'
	Groups   int  // 0 means 1
	// Bias adds a learned bias (the backbone's choice for this conv).
	Bias bool
	// Seed is the model seed; factories derive parameter seeds from it and
	// the parameter names (DeriveSeed) to stay deterministic.
	Seed uint64
	// Backend is where parameters are allocated.
	Backend tensor.Backend
}

// Validate checks the spec and returns an error naming the problem.
func (s ConvSpec) Validate() error {
	var errs []error
	if s.Dims != 1 && s.Dims != 2 {
		errs = append(errs, fmt.Errorf("dims %d, want 1 or 2", s.Dims))
	}
	if s.In <= 0 || s.Out <= 0 {
		errs = append(errs, fmt.Errorf("channels in=%d out=%d, want > 0", s.In, s.Out))
	}
	if s.Kernel <= 0 {
		errs = append(errs, fmt.Errorf("kernel size %d, want > 0", s.Kernel))
	}
	if s.Dilation <= 0 {
		errs = append(errs, fmt.Errorf("dilation %d, want > 0", s.Dilation))
	}
	if s.Stride <= 0 {
		errs = append(errs, fmt.Errorf("stride %d, want > 0", s.Stride))
	}
	g := max(s.Groups, 1)
	if s.Groups < 0 || (s.In > 0 && s.In%g != 0) || (s.Out > 0 && s.Out%g != 0) {
		errs = append(errs, fmt.Errorf("groups %d must divide in=%d and out=%d", s.Groups, s.In, s.Out))
	}
	if s.Causal && s.Dims != 1 {
		errs = append(errs, fmt.Errorf("causal padding needs a 1-D conv, have %d-D", s.Dims))
	}
	if s.Backend == nil {
		errs = append(errs, errors.New("no backend"))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("conv %q: %w", s.Name, err)
	}
	return nil
}

// Receptive is the dilated kernel extent d·(k−1)+1.
func (s ConvSpec) Receptive() int { return s.Dilation*(s.Kernel-1) + 1 }

// ConvFactory builds the layer for a searchable convolution. A backbone
// calls it once per searchable conv, in forward order; the layer must map
// [N, In, L...] to [N, Out, ⌈L/Stride⌉...] and name its parameters under
// spec.Name. nil means DefaultConvFactory.
type ConvFactory func(spec ConvSpec) (Layer, error)

// DefaultConvFactory builds an ordinary convolution (NewConv).
func DefaultConvFactory(spec ConvSpec) (Layer, error) { return NewConv(spec) }

// Conv is a 1-D or 2-D grouped convolution with optional bias.
type Conv struct {
	Spec    ConvSpec
	Pad     PadMode
	Padding int // per side, for PadExplicit
	Weight  *autograd.Var
	Bias    *autograd.Var // nil without bias
}

// NewConv builds a convolution with 'same' (or, with spec.Causal, causal)
// padding and PyTorch's default initialisation.
func NewConv(spec ConvSpec) (*Conv, error) {
	mode := PadSame
	if spec.Causal {
		mode = PadCausal
	}
	return NewConvPadded(spec, mode, 0)
}

// NewConvPadded builds a convolution with an explicit padding mode.
func NewConvPadded(spec ConvSpec, mode PadMode, padding int) (*Conv, error) {
	if spec.Groups == 0 {
		spec.Groups = 1
	}
	if err := spec.Validate(); err != nil {
		return nil, fmt.Errorf("nn: %w", err)
	}
	if mode == PadCausal && spec.Dims != 1 {
		return nil, fmt.Errorf("nn: conv %q: causal padding needs a 1-D conv", spec.Name)
	}
	if mode == PadExplicit && padding < 0 {
		return nil, fmt.Errorf("nn: conv %q: negative padding %d", spec.Name, padding)
	}
	shape := []int{spec.Out, spec.In / spec.Groups, spec.Kernel}
	fanIn := spec.In / spec.Groups * spec.Kernel
	if spec.Dims == 2 {
		shape = append(shape, spec.Kernel)
		fanIn *= spec.Kernel
	}
	b := kaimingBound(fanIn)
	c := &Conv{Spec: spec, Pad: mode, Padding: padding}
	c.Weight = uniformParam(spec.Backend, spec.Seed, join(spec.Name, "weight"), b, shape...)
	if spec.Bias {
		c.Bias = uniformParam(spec.Backend, spec.Seed, join(spec.Name, "bias"), b, spec.Out)
	}
	return c, nil
}

// pads returns the padding before and after one axis.
func (c *Conv) pads() (before, after int) {
	t := c.Spec.Dilation * (c.Spec.Kernel - 1)
	switch c.Pad {
	case PadCausal:
		return t, 0
	case PadExplicit:
		return c.Padding, c.Padding
	}
	return t / 2, t - t/2
}

// OutLen is the output length of an axis of length n.
func (c *Conv) OutLen(n int) int {
	b, a := c.pads()
	return outSize(n, c.Spec.Kernel, c.Spec.Stride, c.Spec.Dilation, b, a)
}

// Options returns the engine's convolution options for this layer.
func (c *Conv) Options() tensor.ConvOptions {
	o := tensor.ConvOptions{Stride: []int{c.Spec.Stride}, Dilation: []int{c.Spec.Dilation}, Groups: c.Spec.Groups}
	switch c.Pad {
	case PadCausal:
		o.Padding = tensor.PadCausal
	case PadExplicit:
		o.Padding = tensor.PadSym(c.Padding)
	default:
		o.Padding = tensor.PadSame
	}
	return o
}

// Forward convolves x [N,In,L] or [N,In,H,W].
func (c *Conv) Forward(x *autograd.Var) *autograd.Var {
	y := c.forwardNoBias(x)
	switch {
	case c.Bias == nil:
	case fuseOps:
		y = autograd.BiasActInPlace(y, c.Bias, false)
	default:
		y = autograd.Add(y, autograd.Reshape(c.Bias, channelShape(y.Value.Rank(), c.Spec.Out)...))
	}
	return y
}

// forwardNoBias is the convolution without its bias.
func (c *Conv) forwardNoBias(x *autograd.Var) *autograd.Var {
	s := c.Spec
	if r := x.Value.Rank(); r != s.Dims+2 {
		panic(fmt.Sprintf("nn.Conv %q: input %v, want rank %d", s.Name, x.Value.Shape(), s.Dims+2))
	}
	if s.Dims == 1 {
		return autograd.Conv1d(x, c.Weight, c.Options())
	}
	return autograd.Conv2d(x, c.Weight, c.Options())
}

// Params returns the weight and the bias (if any).
func (c *Conv) Params() []*autograd.Var {
	if c.Bias != nil {
		return []*autograd.Var{c.Weight, c.Bias}
	}
	return []*autograd.Var{c.Weight}
}

// SetTraining is a no-op.
func (c *Conv) SetTraining(bool) {}

// outSize is the output length of one axis.
func outSize(in, k, s, d, before, after int) int {
	n := in + before + after - (d*(k-1) + 1)
	if n < 0 {
		return 0
	}
	return n/s + 1
}

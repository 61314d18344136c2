package nn

import (
	"errors"
	"fmt"

	"github.com/dash-go/dash/autograd"
	"github.com/dash-go/dash/tensor"
)

// ConvNeXtConfig configures a small 2-D ConvNeXt (Liu et al. 2022, the
// backbone of the DASH paper's ImageNet experiment) for small images: a
// 2×2 stride-2 patchify stem and channel LayerNorm, three stages of Blocks
// ConvNeXt blocks with Widen·[16, 32, 64] channels, a LayerNorm and 2×2
// stride-2 conv between stages, then global average pooling, LayerNorm and
// a linear head. ConvNeXt-T has four stages of [3, 3, 9, 3] blocks with
// [96, 192, 384, 768] channels and a 4×4 stem for 224² images; this
// configuration keeps the block and drops the size.
type ConvNeXtConfig struct {
	InChannels int
	// Height and Width of the input (0 = not checked).
	Height, Width int
	Outputs       int // classes or labels
	// Widen multiplies the base channels [16, 32, 64] (default 1).
	Widen int
	// Blocks per stage (default 2).
	Blocks int
	// Kernel of the depthwise convs (default 7, ConvNeXt's).
	Kernel int
	// DropRate applies dropout to the pooled features before the head.
	DropRate float64
	Seed     uint64
	Backend  tensor.Backend
	Factory  ConvFactory
}

// NewConvNeXt builds the ConvNeXt. Searchable convs: the depthwise k×k conv
// of every block (groups = channels; 3·Blocks of them). The stem, the
// downsampling convs and the pointwise layers are not searched.
func NewConvNeXt(c ConvNeXtConfig) (Backbone, error) {
	if c.Widen == 0 {
		c.Widen = 1
	}
	if c.Blocks == 0 {
		c.Blocks = 2
	}
	if c.Kernel == 0 {
		c.Kernel = 7
	}
	var errs []error
	if c.InChannels <= 0 {
		errs = append(errs, fmt.Errorf("input channels %d, want > 0", c.InChannels))
	}
	if c.Height < 0 || c.Width < 0 || (c.Height > 0 && c.Height < 8) || (c.Width > 0 && c.Width < 8) {
		errs = append(errs, fmt.Errorf("input size %dx%d: it is downsampled three times by 2, want at least 8x8", c.Height, c.Width))
	}
	if c.Outputs <= 0 {
		errs = append(errs, fmt.Errorf("outputs %d, want > 0", c.Outputs))
	}
	if c.Widen < 0 || c.Blocks < 0 || c.Kernel < 0 {
		errs = append(errs, fmt.Errorf("widen %d, blocks %d, kernel %d: want > 0", c.Widen, c.Blocks, c.Kernel))
	}
	if c.DropRate < 0 || c.DropRate >= 1 {
		errs = append(errs, fmt.Errorf("dropout %v, want 0 ≤ p < 1", c.DropRate))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("nn: convnext: %w", err)
	}
	be := c.Backend
	b, err := newBuilder("convnext", be, c.Seed, c.Factory)
	if err != nil {
		return nil, err
	}
	n := &net{name: fmt.Sprintf("convnext-%dx%d-w%d", 3, c.Blocks, c.Widen), in: []int{c.InChannels, c.Height, c.Width}, out: []int{c.Outputs}}
	dims := []int{16 * c.Widen, 32 * c.Widen, 64 * c.Widen}
	// as the WRN: a searchable kernel larger than the input is refused;
	// downsampled maps may be smaller than a kernel ('same' padding)
	side := 0
	if c.Height > 0 && c.Width > 0 {
		side = min(c.Height, c.Width)
	}
	var layers []Layer // in forward order
	add := func(l Layer) {
		n.add(l)
		layers = append(layers, l)
	}
	stem, err := b.plain(ConvSpec{Name: "stem", Dims: 2, In: c.InChannels, Out: dims[0], Kernel: 2, Dilation: 1, Stride: 2, Bias: true})
	if err != nil {
		return nil, err
	}
	add(stem)
	ln, err := NewLayerNorm(be, "stem.norm", dims[0])
	if err != nil {
		return nil, err
	}
	add(ln)
	for s, d := range dims {
		if s > 0 {
			dn, err := NewLayerNorm(be, fmt.Sprintf("down%d.norm", s), dims[s-1])
			if err != nil {
				return nil, err
			}
			add(dn)
			dc, err := b.plain(ConvSpec{Name: fmt.Sprintf("down%d.conv", s), Dims: 2, In: dims[s-1], Out: d, Kernel: 2, Dilation: 1, Stride: 2, Bias: true})
			if err != nil {
				return nil, err
			}
			add(dc)
		}
		for k := range c.Blocks {
			blk, err := newConvNeXtBlock(b, fmt.Sprintf("stage%d.block%d", s+1, k), d, c.Kernel, side)
			if err != nil {
				return nil, err
			}
			add(blk)
		}
	}
	last := dims[len(dims)-1]
	hn, err := NewLayerNorm(be, "head.norm", last)
	if err != nil {
		return nil, err
	}
	n.add(hn)
	var drop *Dropout
	if c.DropRate > 0 {
		if drop, err = NewDropout(c.Seed, "dropout", c.DropRate); err != nil {
			return nil, fmt.Errorf("nn: convnext: %w", err)
		}
		n.add(drop)
	}
	head, err := NewLinear(be, c.Seed, "head", last, c.Outputs, true)
	if err != nil {
		return nil, fmt.Errorf("nn: convnext: %w", err)
	}
	n.add(head)
	n.forward = func(x *autograd.Var) *autograd.Var {
		for _, l := range layers {
			x = l.Forward(x)
		}
		x = hn.Forward(globalAvgPool(x))
		if drop != nil {
			x = drop.Forward(x)
		}
		return head.Forward(x)
	}
	n.specs, n.layers = b.specs, b.layers
	return n, nil
}

// convNeXtBlock is dwconv k×k → LayerNorm → pointwise 4× expansion → GELU
// → pointwise projection → layer scale γ (init 1e-6), plus the identity.
type convNeXtBlock struct {
	group
	dw       Layer
	norm     *LayerNorm
	pw1, pw2 *PointwiseLinear
	gamma    *autograd.Var
}

func newConvNeXtBlock(b *builder, name string, c, kernel, spatial int) (*convNeXtBlock, error) {
	blk := &convNeXtBlock{}
	var err error
	if blk.dw, err = b.searchable(ConvSpec{Name: join(name, "dwconv"), Dims: 2, In: c, Out: c, Kernel: kernel, Dilation: 1, Stride: 1, Groups: c, Bias: true}, spatial); err != nil {
		return nil, err
	}
	blk.add(blk.dw)
	if blk.norm, err = NewLayerNorm(b.be, join(name, "norm"), c); err != nil {
		return nil, err
	}
	blk.add(blk.norm)
	l1, err := NewLinear(b.be, b.seed, join(name, "pwconv1"), c, 4*c, true)
	if err != nil {
		return nil, fmt.Errorf("nn: convnext: %w", err)
	}
	l2, err := NewLinear(b.be, b.seed, join(name, "pwconv2"), 4*c, c, true)
	if err != nil {
		return nil, fmt.Errorf("nn: convnext: %w", err)
	}
	blk.pw1, blk.pw2 = &PointwiseLinear{l1}, &PointwiseLinear{l2}
	blk.add(blk.pw1)
	blk.add(blk.pw2)
	blk.gamma = autograd.Param(join(name, "gamma"), tensor.Full(b.be, 1e-6, c))
	return blk, nil
}

// Params adds the layer scale to the children's parameters.
func (blk *convNeXtBlock) Params() []*autograd.Var {
	return append(blk.group.Params(), blk.gamma)
}

// Forward applies the block to [N,C,H,W].
func (blk *convNeXtBlock) Forward(x *autograd.Var) *autograd.Var {
	y := blk.dw.Forward(x)
	y = blk.norm.Forward(y)
	y = autograd.GELU(blk.pw1.Forward(y))
	y = blk.pw2.Forward(y)
	y = autograd.Mul(y, autograd.Reshape(blk.gamma, 1, blk.gamma.Value.Dim(0), 1, 1))
	return autograd.Add(x, y)
}

// LayerNorm normalises over the channel axis of [N,C] or, at every
// position, of [N,C,H,W] (ConvNeXt's channels-first LayerNorm), with a learned per-channel scale (1) and shift (0); ε 1e-6.
type LayerNorm struct {
	Name        string
	C           int
	Gamma, Beta *autograd.Var
	Eps         float32
}

// NewLayerNorm builds a LayerNorm over the channel axis (axis 1).
func NewLayerNorm(be tensor.Backend, name string, c int) (*LayerNorm, error) {
	if c <= 0 {
		return nil, fmt.Errorf("nn: layer norm %q: %d channels, want > 0", name, c)
	}
	return &LayerNorm{Name: name, C: c, Eps: 1e-6,
		Gamma: autograd.Param(join(name, "weight"), tensor.Full(be, 1, c)),
		Beta:  autograd.Param(join(name, "bias"), tensor.Full(be, 0, c))}, nil
}

// Forward normalises x over axis 1 ([N,C] or [N,C,...]).
func (l *LayerNorm) Forward(x *autograd.Var) *autograd.Var {
	r := x.Value.Rank()
	if r < 2 || x.Value.Dim(1) != l.C {
		panic(fmt.Sprintf("nn: layer norm %q: input %v, want [N %d ...]", l.Name, x.Value.Shape(), l.C))
	}
	mu := autograd.Mean(x, true, 1)
	d := autograd.Sub(x, mu)
	v := autograd.Mean(autograd.Square(d), true, 1)
	sd := autograd.Sqrt(autograd.Affine(v, 1, l.Eps))
	y := autograd.Div(d, sd)
	cs := channelShape(r, l.C)
	return autograd.Add(autograd.Mul(y, autograd.Reshape(l.Gamma, cs...)), autograd.Reshape(l.Beta, cs...))
}

// Params returns the scale and the shift.
func (l *LayerNorm) Params() []*autograd.Var { return []*autograd.Var{l.Gamma, l.Beta} }

// SetTraining is a no-op.
func (l *LayerNorm) SetTraining(bool) {}

package nn

import (
	"errors"
	"fmt"

	"github.com/dash-go/dash/autograd"
	"github.com/dash-go/dash/tensor"
)

// ResNet1DConfig configures the 1-D ResNet of Wang et al. 2017 ("Time series
// classification from scratch with deep neural networks"): three residual
// blocks of three conv-BN(-ReLU) units with kernels 8, 5, 3 and 'same'
// padding, channels [m, 2m, 2m]; the shortcut is a 1×1 conv + BN when the
// channel count changes and BN alone otherwise; then global average pooling
// and a linear layer.
type ResNet1DConfig struct {
	InChannels int
	Length     int // input length (0 = not checked)
	Outputs    int // classes or labels
	// Base is m; 0 means min(4^(Outputs/10+1), 64) as in DASH.
	Base int
	// Kernels of the three units of each block; nil means [8, 5, 3].
	Kernels []int
	// Causal pads every searchable conv causally (the retrained network).
	Causal bool
	// Dense replaces global pooling and the linear head by a per-position
	// linear layer to Outputs channels: output [Outputs, Length] (1-D dense
	// tasks, e.g. Burgers' u0 → u(t=1)).
	Dense bool
	// DropRate applies dropout to the pooled features before the head.
	DropRate float64
	Seed     uint64
	Backend  tensor.Backend
	Factory  ConvFactory
}

// DefaultResNet1DBase is DASH's m = min(4^(classes/10+1), 64).
func DefaultResNet1DBase(classes int) int {
	m := 1
	for range classes/10 + 1 {
		m *= 4
		if m >= 64 {
			return 64
		}
	}
	return m
}

// NewResNet1D builds the ResNet1D. Searchable convs: the 9 conv units; the
// 1×1 shortcut convs are not searched. Convs carry biases (as in the
// original Keras model).
func NewResNet1D(c ResNet1DConfig) (Backbone, error) {
	if c.Base == 0 {
		c.Base = DefaultResNet1DBase(c.Outputs)
	}
	if c.Kernels == nil {
		c.Kernels = []int{8, 5, 3}
	}
	var errs []error
	if c.InChannels <= 0 {
		errs = append(errs, fmt.Errorf("input channels %d, want > 0", c.InChannels))
	}
	if c.Length < 0 {
		errs = append(errs, fmt.Errorf("input length %d", c.Length))
	}
	if c.Outputs <= 0 {
		errs = append(errs, fmt.Errorf("outputs %d, want > 0", c.Outputs))
	}
	if c.Base <= 0 {
		errs = append(errs, fmt.Errorf("base width %d, want > 0", c.Base))
	}
	if len(c.Kernels) != 3 {
		errs = append(errs, fmt.Errorf("%d kernel sizes %v, want 3", len(c.Kernels), c.Kernels))
	}
	if c.DropRate < 0 || c.DropRate >= 1 {
		errs = append(errs, fmt.Errorf("dropout %v, want 0 ≤ p < 1", c.DropRate))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("nn: resnet1d: %w", err)
	}
	b, err := newBuilder("resnet1d", c.Backend, c.Seed, c.Factory)
	if err != nil {
		return nil, err
	}
	n := &net{name: "resnet1d", in: []int{c.InChannels, c.Length}, out: []int{c.Outputs}}
	if c.Dense {
		n.name, n.out = "resnet1d-dense", []int{c.Outputs, c.Length}
	}
	widths := []int{c.Base, 2 * c.Base, 2 * c.Base}
	in := c.InChannels
	var blocks []*res1dBlock
	for i, w := range widths {
		blk, err := newRes1DBlock(b, fmt.Sprintf("block%d", i), in, w, c.Kernels, c.Causal, c.Length)
		if err != nil {
			return nil, err
		}
		blocks = append(blocks, blk)
		n.add(blk)
		in = w
	}
	head, err := NewLinear(b.be, c.Seed, "head", in, c.Outputs, true)
	if err != nil {
		return nil, fmt.Errorf("nn: resnet1d: %w", err)
	}
	var drop *Dropout
	if c.DropRate > 0 {
		if drop, err = NewDropout(c.Seed, "dropout", c.DropRate); err != nil {
			return nil, fmt.Errorf("nn: resnet1d: %w", err)
		}
		n.add(drop)
	}
	n.add(head)
	if c.Dense {
		pw := &PointwiseLinear{head}
		n.forward = func(x *autograd.Var) *autograd.Var {
			for _, blk := range blocks {
				x = blk.Forward(x)
			}
			if drop != nil {
				x = drop.Forward(x)
			}
			return pw.Forward(x)
		}
		n.specs, n.layers = b.specs, b.layers
		return n, nil
	}
	n.forward = func(x *autograd.Var) *autograd.Var {
		for _, blk := range blocks {
			x = blk.Forward(x)
		}
		x = globalAvgPool(x)
		if drop != nil {
			x = drop.Forward(x)
		}
		return head.Forward(x)
	}
	n.specs, n.layers = b.specs, b.layers
	return n, nil
}

// res1dBlock is one residual block of the ResNet1D.
type res1dBlock struct {
	group
	convs  [3]Layer
	bns    [3]*BatchNorm
	scConv *Conv // nil when channels do not change
	scBN   *BatchNorm
}

func newRes1DBlock(b *builder, name string, in, out int, kernels []int, causal bool, length int) (*res1dBlock, error) {
	blk := &res1dBlock{}
	ch := in
	var err error
	for u := range 3 {
		if blk.convs[u], err = b.searchable(ConvSpec{Name: join(name, fmt.Sprintf("conv%d", u+1)), Dims: 1, In: ch, Out: out,
			Kernel: kernels[u], Dilation: 1, Stride: 1, Causal: causal, Bias: true}, length); err != nil {
			return nil, err
		}
		blk.add(blk.convs[u])
		if blk.bns[u], err = b.bn(join(name, fmt.Sprintf("bn%d", u+1)), out); err != nil {
			return nil, err
		}
		blk.add(blk.bns[u])
		ch = out
	}
	if in != out {
		if blk.scConv, err = b.plain(ConvSpec{Name: join(name, "shortcut.conv"), Dims: 1, In: in, Out: out, Kernel: 1, Dilation: 1, Stride: 1, Bias: true}); err != nil {
			return nil, err
		}
		blk.add(blk.scConv)
	}
	if blk.scBN, err = b.bn(join(name, "shortcut.bn"), out); err != nil {
		return nil, err
	}
	blk.add(blk.scBN)
	return blk, nil
}

// Forward applies the block: three conv-BN units (ReLU after the first two),
// the shortcut, the sum and a ReLU.
func (blk *res1dBlock) Forward(x *autograd.Var) *autograd.Var {
	y := x
	for u := range 3 {
		y = convBN(blk.convs[u], blk.bns[u], y, u < 2)
	}
	var sc *autograd.Var
	if blk.scConv != nil {
		sc = convBN(blk.scConv, blk.scBN, x, false)
	} else {
		sc = blk.scBN.Forward(x)
	}
	return addReLU(y, sc)
}

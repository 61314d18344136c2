package nn

import (
	"errors"
	"fmt"

	"github.com/dash-go/dash/autograd"
	"github.com/dash-go/dash/tensor"
)

// WRNConfig configures a pre-activation Wide ResNet WRN-depth-k for 2-D
// inputs: a 3×3 stem conv to 16 channels, three stages of (depth−4)/6
// pre-activation basic blocks with 16k, 32k and 64k channels (strides 1, 2,
// 2; all 1 for dense heads), then BN-ReLU and the head.
type WRNConfig struct {
	Depth      int // 16 by default; (Depth−4) must be divisible by 6
	Widen      int // k, 4 by default (DASH searches on k = 1, retrains on k = 4)
	InChannels int
	// Height and Width of the input (0 = not checked).
	Height, Width int
	// Outputs is the number of classes (point head) or output channels
	// (dense head).
	Outputs int
	// Dense selects the dense head: all strides 1 and a per-pixel linear
	// layer to Outputs channels, output [Outputs, H, W]. Otherwise global
	// average pooling and a linear layer, output [Outputs].
	Dense bool
	// DropRate is the dropout probability between a block's two convs.
	DropRate float64
	Seed     uint64
	Backend  tensor.Backend
	Factory  ConvFactory
}

// NewWRN builds the Wide ResNet. Searchable convs: the stem and both 3×3
// convs of every block (13 for WRN-16); the 1×1 shortcut convs are not.
// A searchable conv whose receptive field exceeds the input's height or
// width is rejected ('same' padding would make it mostly padding); deeper,
// downsampled feature maps may be smaller than a kernel.
func NewWRN(c WRNConfig) (Backbone, error) {
	if c.Depth == 0 {
		c.Depth = 16
	}
	if c.Widen == 0 {
		c.Widen = 4
	}
	var errs []error
	if c.Depth < 10 || (c.Depth-4)%6 != 0 {
		errs = append(errs, fmt.Errorf("depth %d, want 6n+4 ≥ 10 (e.g. 16)", c.Depth))
	}
	if c.Widen < 0 {
		errs = append(errs, fmt.Errorf("widen factor %d, want > 0", c.Widen))
	}
	if c.InChannels <= 0 {
		errs = append(errs, fmt.Errorf("input channels %d, want > 0", c.InChannels))
	}
	if c.Height < 0 || c.Width < 0 {
		errs = append(errs, fmt.Errorf("input size %dx%d", c.Height, c.Width))
	}
	if c.Outputs <= 0 {
		errs = append(errs, fmt.Errorf("outputs %d, want > 0", c.Outputs))
	}
	if c.DropRate < 0 || c.DropRate >= 1 {
		errs = append(errs, fmt.Errorf("dropout %v, want 0 ≤ p < 1", c.DropRate))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("nn: wrn: %w", err)
	}
	be := c.Backend
	b, err := newBuilder("wrn", be, c.Seed, c.Factory)
	if err != nil {
		return nil, err
	}
	n := &net{name: fmt.Sprintf("wrn-%d-%d", c.Depth, c.Widen), in: []int{c.InChannels, c.Height, c.Width}}
	spatial := func(h, w int) int {
		if h == 0 || w == 0 {
			return 0
		}
		return min(h, w)
	}
	h, w := c.Height, c.Width
	stem, err := b.searchable(ConvSpec{Name: "stem", Dims: 2, In: c.InChannels, Out: 16, Kernel: 3, Dilation: 1, Stride: 1}, spatial(h, w))
	if err != nil {
		return nil, err
	}
	n.add(stem)
	blocksPer := (c.Depth - 4) / 6
	widths := []int{16 * c.Widen, 32 * c.Widen, 64 * c.Widen}
	in := 16
	var blocks []*wrnBlock
	for s := range 3 {
		stride := 1
		if s > 0 && !c.Dense {
			stride = 2
		}
		for k := range blocksPer {
			st := 1
			if k == 0 {
				st = stride
			}
			blk, err := newWRNBlock(b, fmt.Sprintf("stage%d.block%d", s+1, k), in, widths[s], st, c.DropRate, spatial(h, w))
			if err != nil {
				return nil, err
			}
			blocks = append(blocks, blk)
			n.add(blk)
			in = widths[s]
		}
	}
	bn, err := b.bn("bn", in)
	if err != nil {
		return nil, err
	}
	n.add(bn)
	lin, err := NewLinear(be, c.Seed, "head", in, c.Outputs, true)
	if err != nil {
		return nil, fmt.Errorf("nn: wrn: %w", err)
	}
	var head Layer = lin
	if c.Dense {
		head = &PointwiseLinear{lin}
		n.out = []int{c.Outputs, c.Height, c.Width}
	} else {
		n.out = []int{c.Outputs}
	}
	n.add(head)
	dense := c.Dense
	n.forward = func(x *autograd.Var) *autograd.Var {
		y := stem.Forward(x)
		for _, blk := range blocks {
			y = blk.Forward(y)
		}
		y = bn.ForwardAct(y, nil, true)
		if !dense {
			y = globalAvgPool(y)
		}
		return head.Forward(y)
	}
	n.specs, n.layers = b.specs, b.layers
	return n, nil
}

// wrnBlock is a pre-activation basic block:
// BN-ReLU-conv3×3(stride)-BN-ReLU-dropout-conv3×3, plus the identity or, when
// the shape changes, a 1×1 conv of the pre-activated input.
type wrnBlock struct {
	group
	bn1, bn2     *BatchNorm
	conv1, conv2 Layer
	drop         *Dropout
	shortcut     *Conv // nil for the identity
}

func newWRNBlock(b *builder, name string, in, out, stride int, drop float64, spatial int) (*wrnBlock, error) {
	blk := &wrnBlock{}
	var err error
	if blk.bn1, err = b.bn(join(name, "bn1"), in); err != nil {
		return nil, err
	}
	blk.add(blk.bn1)
	if blk.conv1, err = b.searchable(ConvSpec{Name: join(name, "conv1"), Dims: 2, In: in, Out: out, Kernel: 3, Dilation: 1, Stride: stride}, spatial); err != nil {
		return nil, err
	}
	blk.add(blk.conv1)
	if blk.bn2, err = b.bn(join(name, "bn2"), out); err != nil {
		return nil, err
	}
	blk.add(blk.bn2)
	if drop > 0 {
		if blk.drop, err = NewDropout(b.seed, join(name, "dropout"), drop); err != nil {
			return nil, fmt.Errorf("nn: wrn: %w", err)
		}
		blk.add(blk.drop)
	}
	if blk.conv2, err = b.searchable(ConvSpec{Name: join(name, "conv2"), Dims: 2, In: out, Out: out, Kernel: 3, Dilation: 1, Stride: 1}, spatial); err != nil {
		return nil, err
	}
	blk.add(blk.conv2)
	if in != out || stride != 1 {
		if blk.shortcut, err = b.plain(ConvSpec{Name: join(name, "shortcut"), Dims: 2, In: in, Out: out, Kernel: 1, Dilation: 1, Stride: stride}); err != nil {
			return nil, err
		}
		blk.add(blk.shortcut)
	}
	return blk, nil
}

// Forward applies the block.
func (blk *wrnBlock) Forward(x *autograd.Var) *autograd.Var {
	a := blk.bn1.ForwardAct(x, nil, true)
	y := convBN(blk.conv1, blk.bn2, a, true)
	if blk.drop != nil {
		y = blk.drop.Forward(y)
	}
	y = blk.conv2.Forward(y)
	if blk.shortcut != nil {
		return autograd.Add(y, blk.shortcut.Forward(a))
	}
	return autograd.Add(y, x)
}

package nn

import (
	"errors"
	"fmt"

	"github.com/dash-go/dash/autograd"
	"github.com/dash-go/dash/tensor"
)

// TCNConfig configures a temporal convolutional network (Bai et al. 2018):
// Levels residual blocks of two causal dilated convs (dilation 2^level) with
// ReLU and dropout, a 1×1 conv on the residual path when the channel count
// changes, and a linear head on the last time step. Weight normalisation of
// the original is not used.
type TCNConfig struct {
	InChannels int
	Length     int // input length (0 = not checked)
	Outputs    int
	Levels     int // 8 by default
	Channels   int // 100 by default
	Kernel     int // 7 by default
	DropRate   float64
	Seed       uint64
	Backend    tensor.Backend
	Factory    ConvFactory
}

// NewTCN builds the TCN. Searchable convs: both convs of every level
// (2·Levels); the 1×1 residual convs are not searched.
func NewTCN(c TCNConfig) (Backbone, error) {
	if c.Levels == 0 {
		c.Levels = 8
	}
	if c.Channels == 0 {
		c.Channels = 100
	}
	if c.Kernel == 0 {
		c.Kernel = 7
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
	if c.Levels < 0 || c.Levels > 30 {
		errs = append(errs, fmt.Errorf("levels %d, want 1..30", c.Levels))
	}
	if c.Channels < 0 {
		errs = append(errs, fmt.Errorf("channels %d, want > 0", c.Channels))
	}
	if c.Kernel < 0 {
		errs = append(errs, fmt.Errorf("kernel %d, want > 0", c.Kernel))
	}
	if c.DropRate < 0 || c.DropRate >= 1 {
		errs = append(errs, fmt.Errorf("dropout %v, want 0 ≤ p < 1", c.DropRate))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("nn: tcn: %w", err)
	}
	b, err := newBuilder("tcn", c.Backend, c.Seed, c.Factory)
	if err != nil {
		return nil, err
	}
	n := &net{name: "tcn", in: []int{c.InChannels, c.Length}, out: []int{c.Outputs}}
	in := c.InChannels
	var blocks []*tcnBlock
	for l := range c.Levels {
		blk, err := newTCNBlock(b, fmt.Sprintf("level%d", l), in, c.Channels, c.Kernel, 1<<l, c.DropRate)
		if err != nil {
			return nil, err
		}
		blocks = append(blocks, blk)
		n.add(blk)
		in = c.Channels
	}
	head, err := NewLinear(b.be, c.Seed, "head", in, c.Outputs, true)
	if err != nil {
		return nil, fmt.Errorf("nn: tcn: %w", err)
	}
	n.add(head)
	n.forward = func(x *autograd.Var) *autograd.Var {
		for _, blk := range blocks {
			x = blk.Forward(x)
		}
		L := x.Value.Dim(2)
		last := autograd.Reshape(autograd.Slice(x, 2, L-1, L), x.Value.Dim(0), in)
		return head.Forward(last)
	}
	n.specs, n.layers = b.specs, b.layers
	return n, nil
}

type tcnBlock struct {
	group
	conv1, conv2 Layer
	drop1, drop2 *Dropout
	down         *Conv
}

func newTCNBlock(b *builder, name string, in, out, k, d int, drop float64) (*tcnBlock, error) {
	blk := &tcnBlock{}
	var err error
	if blk.conv1, err = b.searchable(ConvSpec{Name: join(name, "conv1"), Dims: 1, In: in, Out: out, Kernel: k, Dilation: d, Stride: 1, Causal: true, Bias: true}, 0); err != nil {
		return nil, err
	}
	blk.add(blk.conv1)
	if blk.conv2, err = b.searchable(ConvSpec{Name: join(name, "conv2"), Dims: 1, In: out, Out: out, Kernel: k, Dilation: d, Stride: 1, Causal: true, Bias: true}, 0); err != nil {
		return nil, err
	}
	blk.add(blk.conv2)
	if drop > 0 {
		if blk.drop1, err = NewDropout(b.seed, join(name, "dropout1"), drop); err != nil {
			return nil, fmt.Errorf("nn: tcn: %w", err)
		}
		if blk.drop2, err = NewDropout(b.seed, join(name, "dropout2"), drop); err != nil {
			return nil, fmt.Errorf("nn: tcn: %w", err)
		}
		blk.add(blk.drop1)
		blk.add(blk.drop2)
	}
	if in != out {
		if blk.down, err = b.plain(ConvSpec{Name: join(name, "downsample"), Dims: 1, In: in, Out: out, Kernel: 1, Dilation: 1, Stride: 1, Bias: true}); err != nil {
			return nil, err
		}
		blk.add(blk.down)
	}
	return blk, nil
}

// Forward applies the block.
func (blk *tcnBlock) Forward(x *autograd.Var) *autograd.Var {
	y := convAct(blk.conv1, x, true)
	if blk.drop1 != nil {
		y = blk.drop1.Forward(y)
	}
	y = convAct(blk.conv2, y, true)
	if blk.drop2 != nil {
		y = blk.drop2.Forward(y)
	}
	res := x
	if blk.down != nil {
		res = blk.down.Forward(x)
	}
	return addReLU(y, res)
}

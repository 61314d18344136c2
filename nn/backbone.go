package nn

import (
	"fmt"
	"slices"
	"strings"

	"github.com/dash-go/dash/autograd"
	"github.com/dash-go/dash/datasets"
	"github.com/dash-go/dash/tensor"
)

// Backbone is a network DASH searches in: a Layer whose searchable
// convolutions are listed by name.
type Backbone interface {
	Layer
	BufferLayer
	CounterLayer
	// SearchableConvs lists the searchable convolutions in forward order,
	// as they were passed to the ConvFactory.
	SearchableConvs() []ConvSpec
	// SearchableLayers maps each searchable conv's name to the layer the
	// factory built for it.
	SearchableLayers() map[string]Layer
	// InputShape is the per-sample input shape, channels first.
	InputShape() []int
	// OutputShape is the per-sample output shape ([classes] or [C,H,W]).
	OutputShape() []int
}

// group aggregates the parameters, buffers, counters and modes of child layers.
type group struct {
	children []Layer
}

func (g *group) add(l Layer) Layer {
	g.children = append(g.children, l)
	return l
}

// Params lists the children's parameters in order.
func (g *group) Params() []*autograd.Var { return collectParams(g.children...) }

// Buffers lists the children's buffers in order.
func (g *group) Buffers() []*autograd.Var { return collectBuffers(g.children...) }

// Counters merges the children's counters.
func (g *group) Counters() map[string]*uint64 { return collectCounters(g.children...) }

// SetTraining sets every child's mode.
func (g *group) SetTraining(t bool) { setTraining(t, g.children...) }

// builder creates the layers of a backbone, routing searchable convs
// through the factory and recording their specs.
type builder struct {
	kind    string
	be      tensor.Backend
	seed    uint64
	factory ConvFactory
	specs   []ConvSpec
	layers  map[string]Layer
}

func newBuilder(kind string, be tensor.Backend, seed uint64, f ConvFactory) (*builder, error) {
	if be == nil {
		return nil, fmt.Errorf("nn: %s: no backend", kind)
	}
	if f == nil {
		f = DefaultConvFactory
	}
	return &builder{kind: kind, be: be, seed: seed, factory: f, layers: map[string]Layer{}}, nil
}

// searchable builds a searchable conv through the factory. spatial is the
// input extent per axis at this layer (0 = unknown), used to reject kernels
// larger than the input.
func (b *builder) searchable(s ConvSpec, spatial int) (Layer, error) {
	s.Seed, s.Backend = b.seed, b.be
	if s.Groups == 0 {
		s.Groups = 1
	}
	if err := s.Validate(); err != nil {
		return nil, fmt.Errorf("nn: %s: %w", b.kind, err)
	}
	if spatial > 0 && s.Receptive() > spatial {
		return nil, fmt.Errorf("nn: %s: conv %q: kernel %d (dilation %d, receptive field %d) is larger than the input (%d)",
			b.kind, s.Name, s.Kernel, s.Dilation, s.Receptive(), spatial)
	}
	l, err := b.factory(s)
	if err != nil {
		return nil, fmt.Errorf("nn: %s: conv factory for %q: %w", b.kind, s.Name, err)
	}
	if l == nil {
		return nil, fmt.Errorf("nn: %s: conv factory returned no layer for %q", b.kind, s.Name)
	}
	b.specs = append(b.specs, s)
	b.layers[s.Name] = l
	return l, nil
}

// plain builds a non-searchable conv (shortcuts, downsampling).
func (b *builder) plain(s ConvSpec) (*Conv, error) {
	s.Seed, s.Backend = b.seed, b.be
	c, err := NewConv(s)
	if err != nil {
		return nil, fmt.Errorf("nn: %s: %w", b.kind, err)
	}
	return c, nil
}

func (b *builder) bn(name string, c int) (*BatchNorm, error) {
	l, err := NewBatchNorm(b.be, name, c)
	if err != nil {
		return nil, fmt.Errorf("nn: %s: %w", b.kind, err)
	}
	return l, nil
}

// net is the common Backbone implementation.
type net struct {
	group
	forward func(x *autograd.Var) *autograd.Var
	specs   []ConvSpec
	layers  map[string]Layer
	in, out []int
	name    string
}

// Forward checks the input's channels and runs the network.
func (n *net) Forward(x *autograd.Var) *autograd.Var {
	s := x.Value.Shape()
	if len(s) != len(n.in)+1 || (n.in[0] > 0 && s[1] != n.in[0]) {
		panic(fmt.Sprintf("nn: %s: input %v, want [N %s]", n.name, s, shapeStr(n.in)))
	}
	return n.forward(x)
}

// SearchableConvs lists the searchable convs in forward order.
func (n *net) SearchableConvs() []ConvSpec { return slices.Clone(n.specs) }

// SearchableLayers maps searchable conv names to their layers.
func (n *net) SearchableLayers() map[string]Layer { return n.layers }

// InputShape is the per-sample input shape (0: any size).
func (n *net) InputShape() []int { return slices.Clone(n.in) }

// OutputShape is the per-sample output shape.
func (n *net) OutputShape() []int { return slices.Clone(n.out) }

func shapeStr(s []int) string {
	parts := make([]string, len(s))
	for i, v := range s {
		if v <= 0 {
			parts[i] = "*"
		} else {
			parts[i] = fmt.Sprint(v)
		}
	}
	return strings.Join(parts, " ")
}

// CheckInput reports whether per-sample inputs of the given shape fit the
// backbone, with an error naming the mismatch.
func CheckInput(b Backbone, sample []int) error {
	want := b.InputShape()
	if len(sample) != len(want) {
		return fmt.Errorf("nn: input shape %v does not fit the backbone: want %d axes [%s] (channels first)", sample, len(want), shapeStr(want))
	}
	for i := range want {
		if want[i] > 0 && sample[i] != want[i] {
			return fmt.Errorf("nn: input shape %v does not fit the backbone: want [%s]", sample, shapeStr(want))
		}
	}
	return nil
}

// Config selects and configures a backbone by name (Build).
type Config struct {
	// Name is "wrn", "wrn-dense", "resnet1d", "resnet1d-causal",
	// "resnet1d-dense", "tcn" or "convnext".
	Name string
	// InShape is the per-sample input shape, channels first: [C,H,W] for
	// the WRN, [C,L] for ResNet1D and TCN.
	InShape []int
	// Outputs is the number of classes or labels (point tasks) or output
	// channels (dense tasks).
	Outputs int
	// Width is the WRN widening factor k (default 4) or the ResNet1D base
	// width m (default from the class count) or TCN channels (default 100)
	// or the ConvNeXt channel multiplier (default 1: 16/32/64).
	Width int
	// Depth is the WRN depth (default 16) or TCN levels (default 8) or
	// ConvNeXt blocks per stage (default 2).
	Depth int
	// Dropout probability: inside residual blocks (WRN, TCN), before the
	// head (ResNet1D).
	Dropout float64
	// Causal makes ResNet1D convs causal.
	Causal  bool
	Seed    uint64
	Backend tensor.Backend
	// Factory builds the searchable convs (nil: ordinary convs).
	Factory ConvFactory
}

// BackboneNames lists the names Build accepts.
func BackboneNames() []string {
	return []string{"convnext", "resnet1d", "resnet1d-causal", "resnet1d-dense", "tcn", "wrn", "wrn-dense"}
}

// Build constructs the named backbone.
func Build(c Config) (Backbone, error) {
	switch c.Name {
	case "wrn", "wrn-dense":
		if len(c.InShape) != 3 {
			return nil, fmt.Errorf("nn: backbone %q needs a 2-D input [C,H,W], have shape %v", c.Name, c.InShape)
		}
		return NewWRN(WRNConfig{Depth: c.Depth, Widen: c.Width, InChannels: c.InShape[0], Height: c.InShape[1], Width: c.InShape[2],
			Outputs: c.Outputs, Dense: c.Name == "wrn-dense", DropRate: c.Dropout, Seed: c.Seed, Backend: c.Backend, Factory: c.Factory})
	case "resnet1d", "resnet1d-causal", "resnet1d-dense":
		if len(c.InShape) != 2 {
			return nil, fmt.Errorf("nn: backbone %q needs a 1-D input [C,L], have shape %v", c.Name, c.InShape)
		}
		return NewResNet1D(ResNet1DConfig{InChannels: c.InShape[0], Length: c.InShape[1], Outputs: c.Outputs, Base: c.Width, DropRate: c.Dropout,
			Causal: c.Causal || c.Name == "resnet1d-causal", Dense: c.Name == "resnet1d-dense", Seed: c.Seed, Backend: c.Backend, Factory: c.Factory})
	case "convnext":
		if len(c.InShape) != 3 {
			return nil, fmt.Errorf("nn: backbone %q needs a 2-D input [C,H,W], have shape %v", c.Name, c.InShape)
		}
		return NewConvNeXt(ConvNeXtConfig{InChannels: c.InShape[0], Height: c.InShape[1], Width: c.InShape[2], Outputs: c.Outputs,
			Widen: c.Width, Blocks: c.Depth, DropRate: c.Dropout, Seed: c.Seed, Backend: c.Backend, Factory: c.Factory})
	case "tcn":
		if len(c.InShape) != 2 {
			return nil, fmt.Errorf("nn: backbone %q needs a 1-D input [C,L], have shape %v", c.Name, c.InShape)
		}
		return NewTCN(TCNConfig{InChannels: c.InShape[0], Length: c.InShape[1], Outputs: c.Outputs, Channels: c.Width, Levels: c.Depth,
			DropRate: c.Dropout, Seed: c.Seed, Backend: c.Backend, Factory: c.Factory})
	}
	return nil, fmt.Errorf("nn: unknown backbone %q (known: %s)", c.Name, strings.Join(BackboneNames(), ", "))
}

// ConfigForTask fills Name, InShape and Outputs from a task: its backbone
// ("wrn", "wrn-dense", "resnet1d"), input shape, and class/label count or
// (dense tasks) output channels. The caller sets Backend, Seed, Width,
// Factory and the rest.
func ConfigForTask(t *datasets.Task) (Config, error) {
	if t == nil {
		return Config{}, fmt.Errorf("nn: no task")
	}
	c := Config{Name: t.Backbone, InShape: slices.Clone(t.InShape), Outputs: t.Classes}
	if t.Kind == datasets.DenseField {
		if len(t.OutShape) == 0 {
			return Config{}, fmt.Errorf("nn: dense task %q has no output shape", t.Name)
		}
		c.Outputs = t.OutShape[0]
		switch c.Name {
		case "wrn":
			c.Name = "wrn-dense"
		case "resnet1d":
			c.Name = "resnet1d-dense"
		}
	}
	if c.Name == "" {
		return Config{}, fmt.Errorf("nn: task %q names no backbone", t.Name)
	}
	return c, nil
}

// Package onnx exports a run's retrained network (dash.Model) as an ONNX
// model: opset 17, IR version 8, readable by onnxruntime and accepted by
// onnx.checker.
//
// The graph takes the raw inputs ("input", [N, C, L] or [N, C, H, W]) and
// holds the whole prediction path as nodes: the run's input normalisation
// (Sub, Div), every convolution with its searched kernel size, dilation and
// padding ('same' or causal, as pads), batch normalisation
// (BatchNormalization with the running statistics, or folded into the
// preceding convolution with Options.FoldBatchNorm), the activations and
// residual additions, the pooling and the head; then the task's output:
// "probabilities" (Softmax) and "logits" for classification, "scores"
// (Sigmoid) and "logits" for multi-label tasks, "field" (the output
// normaliser undone) for dense tasks. The first output equals
// dash.Prediction.Values.
package onnx

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"

	"google.golang.org/protobuf/proto"

	"github.com/dash-go/dash/dash"
	"github.com/dash-go/dash/datasets"
	"github.com/dash-go/dash/nn"
	"github.com/dash-go/dash/nn/checkpoint"
	"github.com/dash-go/dash/onnx/onnxpb"
)

// Opset is the ONNX operator set version of exported models.
const Opset = 17

// IRVersion is the ONNX IR version of exported models (ONNX 1.12's).
const IRVersion = 8

// bnEps is nn.BatchNorm's epsilon.
const bnEps = 1e-5

// Options controls Export.
type Options struct {
	// FoldBatchNorm folds every batch norm that directly follows a
	// convolution (ResNet1D's conv-BN units) into that convolution's
	// weights and bias; the others stay BatchNormalization nodes.
	FoldBatchNorm bool
}

// exporter walks a backbone's layers by their parameter names.
type exporter struct {
	b      *builder
	m      *dash.Model
	opt    Options
	state  map[string]*checkpoint.Tensor
	used   map[string]bool
	layers map[string]nn.Layer
}

// Export converts m to an ONNX model.
func Export(m *dash.Model, opt Options) (*onnxpb.ModelProto, error) {
	net := m.Backbone()
	if net == nil {
		return nil, fmt.Errorf("onnx: the model is closed")
	}
	st, _, err := nn.ModelState(net)
	if err != nil {
		return nil, fmt.Errorf("onnx: %w", err)
	}
	e := &exporter{b: newBuilder("dash_" + sanitize(m.Spec.Task)), m: m, opt: opt, state: st, used: map[string]bool{}, layers: net.SearchableLayers()}
	in := append([]int{-1}, m.Spec.InShape...)
	e.b.g.Input = []*onnxpb.ValueInfoProto{valueInfo("input", in)}
	x := e.normalizeInput("input")
	name := m.Spec.Backbone
	if m.Spec.Kind == "dense" && name == "wrn" {
		name = "wrn-dense"
	}
	var y string
	switch name {
	case "resnet1d", "resnet1d-causal":
		y, err = e.resnet1d(x)
	case "wrn", "wrn-dense":
		y, err = e.wrn(x, name == "wrn-dense")
	case "tcn":
		y, err = e.tcn(x)
	default:
		err = fmt.Errorf("onnx: backbone %q is not supported", name)
	}
	if err != nil {
		return nil, err
	}
	if err := e.checkAllUsed(); err != nil {
		return nil, err
	}
	if err := e.outputs(y); err != nil {
		return nil, err
	}
	ir, opset, domain := int64(IRVersion), int64(Opset), ""
	producer, version := "dash", "1"
	doc := fmt.Sprintf("DASH retrained network of task %s (%s, backbone %s) from %s", m.Spec.Task, m.Spec.Kind, name, m.Dir)
	model := &onnxpb.ModelProto{IrVersion: &ir, ProducerName: &producer, ProducerVersion: &version, DocString: &doc,
		OpsetImport: []*onnxpb.OperatorSetIdProto{{Domain: &domain, Version: &opset}}, Graph: e.b.g}
	meta := map[string]string{"task": m.Spec.Task, "kind": m.Spec.Kind, "backbone": name,
		"input_shape": fmt.Sprint(m.Spec.InShape)}
	var layers []string
	for _, l := range m.Arch.Layers {
		layers = append(layers, fmt.Sprintf("%s:k%d:d%d", l.Name, l.Kernel, l.Dilation))
	}
	meta["architecture"] = strings.Join(layers, ",")
	keys := make([]string, 0, len(meta))
	for k := range meta {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		model.MetadataProps = append(model.MetadataProps, &onnxpb.StringStringEntryProto{Key: proto.String(k), Value: proto.String(meta[k])})
	}
	return model, nil
}

// Marshal returns the serialised ONNX model of m.
func Marshal(m *dash.Model, opt Options) ([]byte, error) {
	pm, err := Export(m, opt)
	if err != nil {
		return nil, err
	}
	b, err := proto.Marshal(pm)
	if err != nil {
		return nil, fmt.Errorf("onnx: encoding: %w", err)
	}
	return b, nil
}

// WriteFile exports m to path (atomically).
func WriteFile(path string, m *dash.Model, opt Options) error {
	b, err := Marshal(m, opt)
	if err != nil {
		return err
	}
	return dash.WriteFileAtomic(path, b)
}

func sanitize(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			return r
		}
		return '_'
	}, s)
}

// tensor returns a state tensor and marks it used.
func (e *exporter) tensor(name string) (*checkpoint.Tensor, error) {
	t, ok := e.state[name]
	if !ok {
		return nil, fmt.Errorf("onnx: the network has no tensor %q (backbone %s): the exporter does not know this layer layout", name, e.m.Spec.Backbone)
	}
	e.used[name] = true
	return t, nil
}

func (e *exporter) has(name string) bool { _, ok := e.state[name]; return ok }

// checkAllUsed makes sure that the walk covered every parameter and
// buffer: a layer the exporter does not know fails instead of being
// silently left out.
func (e *exporter) checkAllUsed() error {
	var left []string
	for n := range e.state {
		if !e.used[n] {
			left = append(left, n)
		}
	}
	if len(left) > 0 {
		sort.Strings(left)
		return fmt.Errorf("onnx: %d tensors of the network are not in the exported graph (%s): the exporter does not know this layer layout",
			len(left), strings.Join(left[:min(len(left), 5)], ", "))
	}
	return nil
}

// normStats returns the offset and divisor that map x to
// (x − mean)/(std + eps), leaving elements with mean 0 and std 1 unchanged
// (as datasets.Normalizer does). ok is false when nothing changes.
func normStats(mean, std []float32) (off, div []float32, ok bool) {
	off, div = make([]float32, len(mean)), make([]float32, len(mean))
	for i := range mean {
		if mean[i] == 0 && std[i] == 1 {
			off[i], div[i] = 0, 1
			continue
		}
		off[i], div[i] = mean[i], std[i]+datasets.NormEps
		ok = true
	}
	return off, div, ok
}

// statShape is the initializer shape of a statistic: a scalar (global) or
// the per-sample shape (pointwise, broadcast over the batch axis).
func statShape(n int, sample []int) []int {
	if n == 1 {
		return nil
	}
	return sample
}

func (e *exporter) normalizeInput(x string) string {
	n := e.m.Normalizer()
	if n == nil || len(n.XMean) == 0 {
		return x
	}
	off, div, ok := normStats(n.XMean, n.XStd)
	if !ok {
		return x
	}
	sh := statShape(len(off), e.m.Spec.InShape)
	x = e.b.node("Sub", "input_centred", []string{x, e.b.initializer("input_mean", off, sh...)})
	return e.b.node("Div", "input_normalised", []string{x, e.b.initializer("input_std", div, sh...)})
}

// outputs adds the task's output nodes after the raw network output y.
func (e *exporter) outputs(y string) error {
	out := e.m.OutputShape()
	shape := append([]int{-1}, out...)
	g := e.b.g
	switch e.m.Spec.Kind {
	case "class":
		logits := e.b.node("Identity", "logits", []string{y})
		p := e.b.node("Softmax", "probabilities", []string{logits}, attrInt("axis", 1))
		g.Output = []*onnxpb.ValueInfoProto{valueInfo(p, shape), valueInfo(logits, shape)}
	case "multilabel":
		logits := e.b.node("Identity", "logits", []string{y})
		s := e.b.node("Sigmoid", "scores", []string{logits})
		g.Output = []*onnxpb.ValueInfoProto{valueInfo(s, shape), valueInfo(logits, shape)}
	case "dense":
		f := y
		n := e.m.Normalizer()
		if n != nil && len(n.YMean) > 0 {
			off, div, ok := normStats(n.YMean, n.YStd)
			if ok {
				sh := statShape(len(off), out)
				f = e.b.node("Mul", "field_scaled", []string{f, e.b.initializer("output_std", div, sh...)})
				f = e.b.node("Add", "field_decoded", []string{f, e.b.initializer("output_mean", off, sh...)})
			}
		}
		f = e.b.node("Identity", "field", []string{f})
		g.Output = []*onnxpb.ValueInfoProto{valueInfo(f, shape)}
	default:
		return fmt.Errorf("onnx: unknown task kind %q", e.m.Spec.Kind)
	}
	return nil
}

// convParams describes one convolution.
type convParams struct {
	name          string
	dims, stride  int
	kernel, dil   int
	groups        int
	before, after int // padding per spatial axis
}

// searchableConv reads a searchable convolution's parameters from the
// rebuilt layer (the searched kernel size, dilation and padding mode).
func (e *exporter) searchableConv(name string) (convParams, error) {
	l, ok := e.layers[name]
	if !ok {
		return convParams{}, fmt.Errorf("onnx: the network has no searchable convolution %q", name)
	}
	c, ok := l.(*nn.Conv)
	if !ok {
		return convParams{}, fmt.Errorf("onnx: layer %q is a %T, not a convolution", name, l)
	}
	s := c.Spec
	p := convParams{name: name, dims: s.Dims, stride: s.Stride, kernel: s.Kernel, dil: s.Dilation, groups: max(s.Groups, 1)}
	t := s.Dilation * (s.Kernel - 1)
	switch c.Pad {
	case nn.PadCausal:
		p.before, p.after = t, 0
	case nn.PadExplicit:
		p.before, p.after = c.Padding, c.Padding
	default:
		p.before, p.after = t/2, t-t/2
	}
	return p, nil
}

// pointConv describes a 1×1 convolution (the shortcuts).
func pointConv(name string, dims, stride int) convParams {
	return convParams{name: name, dims: dims, stride: stride, kernel: 1, dil: 1, groups: 1}
}

// bnFold returns a BN's scale s = γ/√(var+eps) and shift β − mean·s.
func (e *exporter) bnFold(bn string) (scale, shift []float32, err error) {
	ts := make([]*checkpoint.Tensor, 4)
	for i, s := range []string{"weight", "bias", "running_mean", "running_var"} {
		if ts[i], err = e.tensor(bn + "." + s); err != nil {
			return nil, nil, err
		}
	}
	c := len(ts[0].F32)
	scale, shift = make([]float32, c), make([]float32, c)
	for i := range c {
		s := float64(ts[0].F32[i]) / math.Sqrt(float64(ts[3].F32[i])+bnEps)
		scale[i] = float32(s)
		shift[i] = float32(float64(ts[1].F32[i]) - float64(ts[2].F32[i])*s)
	}
	return scale, shift, nil
}

// conv adds a Conv node; with bn != "" and FoldBatchNorm, the batch norm
// bn that follows it is folded in (else the caller adds it).
func (e *exporter) conv(x string, p convParams, bn string) (string, error) {
	w, err := e.tensor(p.name + ".weight")
	if err != nil {
		return "", err
	}
	if len(w.Shape) != p.dims+2 || w.Shape[2] != p.kernel {
		return "", fmt.Errorf("onnx: conv %q: weight %v does not match kernel size %d (%d-D)", p.name, w.Shape, p.kernel, p.dims)
	}
	out := w.Shape[0]
	wv := w.F32
	var bias []float32
	hasBias := e.has(p.name + ".bias")
	if hasBias {
		bt, err := e.tensor(p.name + ".bias")
		if err != nil {
			return "", err
		}
		bias = bt.F32
	}
	if bn != "" && e.opt.FoldBatchNorm {
		scale, shift, err := e.bnFold(bn)
		if err != nil {
			return "", err
		}
		per := len(wv) / out
		wv = slices.Clone(wv)
		nb := make([]float32, out)
		for o := range out {
			for j := range per {
				wv[o*per+j] *= scale[o]
			}
			b0 := float32(0)
			if bias != nil {
				b0 = bias[o]
			}
			nb[o] = b0*scale[o] + shift[o]
		}
		bias = nb
	}
	inputs := []string{x, e.b.initializer(p.name+".weight", wv, w.Shape...)}
	if bias != nil {
		inputs = append(inputs, e.b.initializer(p.name+".bias", bias, out))
	}
	ks, ds, ss := make([]int, p.dims), make([]int, p.dims), make([]int, p.dims)
	pads := make([]int, 2*p.dims)
	for a := range p.dims {
		ks[a], ds[a], ss[a] = p.kernel, p.dil, p.stride
		pads[a], pads[p.dims+a] = p.before, p.after
	}
	y := e.b.node("Conv", p.name, inputs, attrInts("kernel_shape", ks...), attrInts("dilations", ds...),
		attrInts("strides", ss...), attrInts("pads", pads...), attrInt("group", int64(p.groups)))
	if bn != "" && !e.opt.FoldBatchNorm {
		return e.batchNorm(y, bn)
	}
	return y, nil
}

// batchNorm adds a BatchNormalization node with the running statistics.
func (e *exporter) batchNorm(x, bn string) (string, error) {
	var in []string
	for _, s := range []string{"weight", "bias", "running_mean", "running_var"} {
		t, err := e.tensor(bn + "." + s)
		if err != nil {
			return "", err
		}
		in = append(in, e.b.initializer(bn+"."+s, t.F32, t.Shape...))
	}
	return e.b.node("BatchNormalization", bn, append([]string{x}, in...), attrFloat("epsilon", bnEps)), nil
}

func (e *exporter) relu(x string) string { return e.b.node("Relu", x+"_relu", []string{x}) }

func (e *exporter) add(x, y, name string) string { return e.b.node("Add", name, []string{x, y}) }

// linear adds the head: Gemm with the [out, in] weight transposed.
func (e *exporter) linear(x, name string) (string, error) {
	w, err := e.tensor(name + ".weight")
	if err != nil {
		return "", err
	}
	inputs := []string{x, e.b.initializer(name+".weight", w.F32, w.Shape...)}
	if e.has(name + ".bias") {
		bt, _ := e.tensor(name + ".bias")
		inputs = append(inputs, e.b.initializer(name+".bias", bt.F32, bt.Shape...))
	}
	return e.b.node("Gemm", name, inputs, attrInt("transB", 1)), nil
}

// pooledHead is global average pooling, flatten and the linear head.
func (e *exporter) pooledHead(x string) (string, error) {
	x = e.b.node("GlobalAveragePool", "pooled", []string{x})
	x = e.b.node("Flatten", "features", []string{x}, attrInt("axis", 1))
	return e.linear(x, "head")
}

// resnet1d follows nn.NewResNet1D: three blocks of three conv-BN units
// (ReLU after the first two), the shortcut (1×1 conv + BN, or BN), the sum
// and a ReLU; global average pooling and the head (dropout is the
// identity at inference).
func (e *exporter) resnet1d(x string) (string, error) {
	for i := range 3 {
		p := fmt.Sprintf("block%d", i)
		y := x
		for u := 1; u <= 3; u++ {
			cp, err := e.searchableConv(fmt.Sprintf("%s.conv%d", p, u))
			if err != nil {
				return "", err
			}
			if y, err = e.conv(y, cp, fmt.Sprintf("%s.bn%d", p, u)); err != nil {
				return "", err
			}
			if u < 3 {
				y = e.relu(y)
			}
		}
		sc := x
		var err error
		if e.has(p + ".shortcut.conv.weight") {
			if sc, err = e.conv(sc, pointConv(p+".shortcut.conv", 1, 1), p+".shortcut.bn"); err != nil {
				return "", err
			}
		} else if sc, err = e.batchNorm(sc, p+".shortcut.bn"); err != nil {
			return "", err
		}
		x = e.relu(e.add(y, sc, p+".sum"))
	}
	return e.pooledHead(x)
}

// wrn follows nn.NewWRN: the stem conv, pre-activation blocks
// (BN-ReLU-conv-BN-ReLU-conv, plus the identity or a 1×1 conv of the
// pre-activated input), BN-ReLU and the pooled or per-pixel head.
func (e *exporter) wrn(x string, dense bool) (string, error) {
	cp, err := e.searchableConv("stem")
	if err != nil {
		return "", err
	}
	y, err := e.conv(x, cp, "")
	if err != nil {
		return "", err
	}
	blocks := 0
	for s := 1; s <= 3; s++ {
		for k := 0; e.has(fmt.Sprintf("stage%d.block%d.bn1.weight", s, k)); k++ {
			p := fmt.Sprintf("stage%d.block%d", s, k)
			bn1, err := e.batchNorm(y, p+".bn1")
			if err != nil {
				return "", err
			}
			a := e.relu(bn1)
			c1, err := e.searchableConv(p + ".conv1")
			if err != nil {
				return "", err
			}
			t, err := e.conv(a, c1, "")
			if err != nil {
				return "", err
			}
			if t, err = e.batchNorm(t, p+".bn2"); err != nil {
				return "", err
			}
			t = e.relu(t)
			c2, err := e.searchableConv(p + ".conv2")
			if err != nil {
				return "", err
			}
			if t, err = e.conv(t, c2, ""); err != nil {
				return "", err
			}
			sc := y
			if e.has(p + ".shortcut.weight") {
				if sc, err = e.conv(a, pointConv(p+".shortcut", 2, c1.stride), ""); err != nil {
					return "", err
				}
			}
			y = e.add(t, sc, p+".sum")
			blocks++
		}
	}
	if blocks == 0 {
		return "", fmt.Errorf("onnx: wrn: no residual blocks found")
	}
	if y, err = e.batchNorm(y, "bn"); err != nil {
		return "", err
	}
	y = e.relu(y)
	if !dense {
		return e.pooledHead(y)
	}
	// the per-pixel linear head is a 1×1 convolution
	w, err := e.tensor("head.weight")
	if err != nil {
		return "", err
	}
	inputs := []string{y, e.b.initializer("head.weight", w.F32, w.Shape[0], w.Shape[1], 1, 1)}
	if e.has("head.bias") {
		bt, _ := e.tensor("head.bias")
		inputs = append(inputs, e.b.initializer("head.bias", bt.F32, bt.Shape...))
	}
	return e.b.node("Conv", "head", inputs, attrInts("kernel_shape", 1, 1)), nil
}

// tcn follows nn.NewTCN: levels of two causal dilated convs with ReLU, the
// residual (1×1 conv when the channels change), a ReLU of the sum; the
// head on the last time step.
func (e *exporter) tcn(x string) (string, error) {
	levels := 0
	for l := 0; e.has(fmt.Sprintf("level%d.conv1.weight", l)); l++ {
		p := fmt.Sprintf("level%d", l)
		y := x
		for _, c := range []string{"conv1", "conv2"} {
			cp, err := e.searchableConv(p + "." + c)
			if err != nil {
				return "", err
			}
			if y, err = e.conv(y, cp, ""); err != nil {
				return "", err
			}
			y = e.relu(y)
		}
		res := x
		if e.has(p + ".downsample.weight") {
			var err error
			if res, err = e.conv(x, pointConv(p+".downsample", 1, 1), ""); err != nil {
				return "", err
			}
		}
		x = e.relu(e.add(y, res, p+".sum"))
		levels++
	}
	if levels == 0 {
		return "", fmt.Errorf("onnx: tcn: no levels found")
	}
	starts := e.b.initializerInt64("last_start", []int64{-1}, 1)
	ends := e.b.initializerInt64("last_end", []int64{maxInt64}, 1)
	axes := e.b.initializerInt64("last_axis", []int64{2}, 1)
	x = e.b.node("Slice", "last_step", []string{x, starts, ends, axes})
	x = e.b.node("Flatten", "features", []string{x}, attrInt("axis", 1))
	return e.linear(x, "head")
}

package onnx

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/dash-go/dash/onnx/onnxpb"
)

// builder appends nodes and initializers to an ONNX graph with unique
// value names.
type builder struct {
	g    *onnxpb.GraphProto
	seen map[string]int
}

func newBuilder(name string) *builder {
	return &builder{g: &onnxpb.GraphProto{Name: &name}, seen: map[string]int{}}
}

// unique returns name, or name_2, name_3… when it was used before.
func (b *builder) unique(name string) string {
	b.seen[name]++
	if n := b.seen[name]; n > 1 {
		return fmt.Sprintf("%s_%d", name, n)
	}
	return name
}

// initializer adds a float32 constant of the given shape (nil: a scalar).
func (b *builder) initializer(name string, vals []float32, shape ...int) string {
	name = b.unique(name)
	dims := make([]int64, len(shape))
	for i, d := range shape {
		dims[i] = int64(d)
	}
	dt := int32(onnxpb.TensorProto_FLOAT)
	raw := make([]byte, 4*len(vals))
	for i, v := range vals {
		binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(v))
	}
	b.g.Initializer = append(b.g.Initializer, &onnxpb.TensorProto{Name: &name, DataType: &dt, Dims: dims, RawData: raw})
	return name
}

// initializerInt64 adds an int64 constant.
func (b *builder) initializerInt64(name string, vals []int64, shape ...int) string {
	name = b.unique(name)
	dims := make([]int64, len(shape))
	for i, d := range shape {
		dims[i] = int64(d)
	}
	dt := int32(onnxpb.TensorProto_INT64)
	b.g.Initializer = append(b.g.Initializer, &onnxpb.TensorProto{Name: &name, DataType: &dt, Dims: dims, Int64Data: append([]int64(nil), vals...)})
	return name
}

// node adds an operator node with one output named after out and returns
// that output's name.
func (b *builder) node(op, out string, inputs []string, attrs ...*onnxpb.AttributeProto) string {
	out = b.unique(out)
	name := out + "/" + op
	b.g.Node = append(b.g.Node, &onnxpb.NodeProto{OpType: &op, Name: &name, Input: inputs, Output: []string{out}, Attribute: attrs})
	return out
}

// valueInfo describes a float tensor; a dimension < 0 is the symbolic
// batch size "N".
func valueInfo(name string, shape []int) *onnxpb.ValueInfoProto {
	dims := make([]*onnxpb.TensorShapeProto_Dimension, len(shape))
	for i, d := range shape {
		if d < 0 {
			dims[i] = &onnxpb.TensorShapeProto_Dimension{Value: &onnxpb.TensorShapeProto_Dimension_DimParam{DimParam: "N"}}
		} else {
			dims[i] = &onnxpb.TensorShapeProto_Dimension{Value: &onnxpb.TensorShapeProto_Dimension_DimValue{DimValue: int64(d)}}
		}
	}
	et := int32(onnxpb.TensorProto_FLOAT)
	return &onnxpb.ValueInfoProto{Name: &name, Type: &onnxpb.TypeProto{Value: &onnxpb.TypeProto_TensorType{
		TensorType: &onnxpb.TypeProto_Tensor{ElemType: &et, Shape: &onnxpb.TensorShapeProto{Dim: dims}}}}}
}

func attrInts(name string, v ...int) *onnxpb.AttributeProto {
	t := onnxpb.AttributeProto_INTS
	iv := make([]int64, len(v))
	for i, x := range v {
		iv[i] = int64(x)
	}
	return &onnxpb.AttributeProto{Name: &name, Type: &t, Ints: iv}
}

func attrInt(name string, v int64) *onnxpb.AttributeProto {
	t := onnxpb.AttributeProto_INT
	return &onnxpb.AttributeProto{Name: &name, Type: &t, I: &v}
}

func attrFloat(name string, v float32) *onnxpb.AttributeProto {
	t := onnxpb.AttributeProto_FLOAT
	return &onnxpb.AttributeProto{Name: &name, Type: &t, F: &v}
}

// maxInt64 is the "to the end" bound of Slice.
const maxInt64 = math.MaxInt64

// Package autograd implements reverse-mode automatic differentiation over
// the tensor package's ops.
//
// A Var holds a value and, after Backward, its gradient. Leaves (parameters,
// inputs) are made with Leaf or Const; every op in this package returns a new
// Var that remembers how to send gradients to its inputs. Backward(loss)
// accumulates gradients into every Var that requires them. Device memory
// cannot wait for the garbage collector, so after a step call Release(loss)
// to free every intermediate value and gradient of the graph.
package autograd

import (
	"fmt"
	"sync/atomic"

	"github.com/dash-go/dash/tensor"
)

// Var is a node of the computation graph.
type Var struct {
	// Value is the forward value.
	Value *tensor.Tensor
	// Grad is the accumulated gradient (nil until Backward reaches it).
	Grad *tensor.Tensor
	// Name is an optional label (parameters carry their names here).
	Name string

	requires bool
	leaf     bool
	inputs   []*Var
	backward func(g *tensor.Tensor) []*tensor.Tensor
	released bool
}

// Leaf wraps a tensor as a graph input; requiresGrad makes Backward
// accumulate its gradient (parameters).
func Leaf(t *tensor.Tensor, requiresGrad bool) *Var {
	return &Var{Value: t, requires: requiresGrad, leaf: true}
}

// Param is Leaf(t, true) with a name.
func Param(name string, t *tensor.Tensor) *Var {
	return &Var{Value: t, requires: true, leaf: true, Name: name}
}

// Const wraps a tensor that needs no gradient.
func Const(t *tensor.Tensor) *Var { return &Var{Value: t, leaf: true} }

// RequiresGrad reports whether gradients flow to this Var.
func (v *Var) RequiresGrad() bool { return v.requires }

// IsLeaf reports whether the Var was made by Leaf, Param or Const.
func (v *Var) IsLeaf() bool { return v.leaf }

// SetRequiresGrad changes whether a leaf accumulates gradients.
func (v *Var) SetRequiresGrad(b bool) {
	if !v.leaf {
		panic("autograd: SetRequiresGrad on a non-leaf Var")
	}
	v.requires = b
}

// Shape is the value's shape.
func (v *Var) Shape() []int { return v.Value.Shape() }

// Backend is the value's backend.
func (v *Var) Backend() tensor.Backend { return v.Value.Backend() }

// ZeroGrad releases the accumulated gradient.
func (v *Var) ZeroGrad() {
	if v.Grad != nil {
		v.Grad.Release()
		v.Grad = nil
	}
}

var noGrad atomic.Int32

// NoGrad runs f with graph recording off: ops return values only, no
// gradients flow. Process-wide; meant for evaluation loops.
func NoGrad(f func()) {
	noGrad.Add(1)
	defer noGrad.Add(-1)
	f()
}

// GradEnabled reports whether ops currently record the graph.
func GradEnabled() bool { return noGrad.Load() == 0 }

// NewOp makes the result of an op. backward receives the gradient of the
// result and returns one gradient per input (nil for inputs that need none;
// shapes must equal the inputs' value shapes). The returned gradients are
// owned by the engine and released after accumulation; a backward may
// return g itself, or one tensor for several inputs (the engine counts the
// holders), but never a non-owning view of g. When no input
// requires a gradient, or under NoGrad, no graph is recorded.
func NewOp(value *tensor.Tensor, inputs []*Var, backward func(g *tensor.Tensor) []*tensor.Tensor) *Var {
	// inputs are kept even without gradients so that Release can free the
	// whole graph of an evaluation pass.
	v := &Var{Value: value, inputs: inputs}
	if !GradEnabled() || backward == nil {
		return v
	}
	for _, in := range inputs {
		if in.requires {
			v.requires = true
			break
		}
	}
	if v.requires {
		v.backward = backward
	}
	return v
}

// Temp wraps a tensor produced inside a graph (a mask, a constant computed
// for this step) as a non-leaf Var without gradient, so Release frees it.
func Temp(t *tensor.Tensor) *Var { return &Var{Value: t} }

// Backward computes gradients of loss (which must hold one element, unless
// seed is given) with respect to every Var that requires them, accumulating
// into their Grad. Intermediate gradients are released as soon as they
// have been propagated.
func Backward(loss *Var, seed ...*tensor.Tensor) {
	if !loss.requires {
		panic("autograd.Backward: loss does not depend on any Var that requires a gradient")
	}
	var g *tensor.Tensor
	switch {
	case len(seed) > 0:
		if !tensor.SameShape(seed[0].Shape(), loss.Value.Shape()) {
			panic(fmt.Sprintf("autograd.Backward: seed shape %v for value %v", seed[0].Shape(), loss.Value.Shape()))
		}
		g = seed[0].Clone()
	default:
		if loss.Value.Numel() != 1 {
			panic(fmt.Sprintf("autograd.Backward: loss has shape %v; give a seed gradient for non-scalar outputs", loss.Value.Shape()))
		}
		g = tensor.Full(loss.Value.Backend(), 1, loss.Value.Shape()...)
	}
	order := topo(loss)
	grads := map[*Var]*tensor.Tensor{loss: g}
	// refs counts the holders of each pending gradient: a backward may
	// hand its incoming gradient through unchanged, or the same tensor to
	// several inputs (Add, AddReLU); it is released with its last holder.
	refs := map[*tensor.Tensor]int{g: 1}
	drop := func(t *tensor.Tensor) {
		if n := refs[t]; n > 1 {
			refs[t] = n - 1
			return
		}
		delete(refs, t)
		t.Release()
	}
	for i := len(order) - 1; i >= 0; i-- {
		v := order[i]
		gv := grads[v]
		if gv == nil {
			continue
		}
		delete(grads, v)
		if v.leaf {
			if refs[gv] > 1 { // still pending elsewhere: the leaf keeps a copy
				c := gv.Clone()
				drop(gv)
				gv = c
			} else {
				delete(refs, gv)
			}
			accumulate(v, gv)
			continue
		}
		if v.released {
			panic("autograd.Backward: graph was released")
		}
		gs := v.backward(gv)
		if len(gs) != len(v.inputs) {
			panic(fmt.Sprintf("autograd: backward returned %d gradients for %d inputs", len(gs), len(v.inputs)))
		}
		for _, gi := range gs {
			if gi != nil {
				refs[gi]++
			}
		}
		drop(gv)
		for j, in := range v.inputs {
			gi := gs[j]
			if gi == nil {
				continue
			}
			if !in.requires {
				drop(gi)
				continue
			}
			if !tensor.SameShape(gi.Shape(), in.Value.Shape()) {
				panic(fmt.Sprintf("autograd: gradient of shape %v for input of shape %v", gi.Shape(), in.Value.Shape()))
			}
			if prev := grads[in]; prev != nil {
				if refs[prev] == 1 && prev.IsContiguous() && prev.Offset() == 0 {
					tensor.AddInPlace(prev, gi) // prev is ours alone
					drop(gi)
					gi = prev
				} else {
					sum := tensor.Add(prev, gi)
					drop(prev)
					drop(gi)
					refs[sum] = 1
					gi = sum
				}
			}
			grads[in] = gi
		}
	}
}

func accumulate(v *Var, g *tensor.Tensor) {
	if !v.requires {
		g.Release()
		return
	}
	if v.Grad == nil {
		if !g.IsContiguous() {
			c := g.Clone()
			g.Release()
			g = c
		}
		v.Grad = g
		return
	}
	sum := tensor.Add(v.Grad, g)
	v.Grad.Release()
	g.Release()
	v.Grad = sum
}

// topo returns the Vars reachable from root that require gradients, in
// topological order (inputs before outputs).
func topo(root *Var) []*Var {
	var order []*Var
	seen := map[*Var]bool{}
	type frame struct {
		v *Var
		i int
	}
	stack := []frame{{root, 0}}
	seen[root] = true
	for len(stack) > 0 {
		f := &stack[len(stack)-1]
		if f.i < len(f.v.inputs) {
			in := f.v.inputs[f.i]
			f.i++
			if in.requires && !seen[in] {
				seen[in] = true
				stack = append(stack, frame{in, 0})
			}
			continue
		}
		order = append(order, f.v)
		stack = stack[:len(stack)-1]
	}
	return order
}

// Release frees the values of every non-leaf Var reachable from root
// (root included) and drops the graph's references, so device memory is
// returned right after a step. Leaves (parameters, inputs) are untouched.
func Release(root *Var) {
	seen := map[*Var]bool{}
	stack := []*Var{root}
	for len(stack) > 0 {
		v := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if seen[v] || v.leaf {
			continue
		}
		seen[v] = true
		stack = append(stack, v.inputs...)
		v.Value.Release()
		v.ZeroGrad()
		v.inputs = nil
		v.backward = nil
		v.released = true
	}
}

// Detach returns a leaf sharing v's value that does not require a gradient.
func Detach(v *Var) *Var { return Const(v.Value) }

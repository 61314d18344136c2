//go:build cgo

package vk

import (
	"fmt"

	"github.com/dash-go/dash/tensor"
)

// Reductions over the middle axis of [outer][n][inner] (see
// shaders/reduce.glsl):
//   - many outputs with a short axis, or wide rows: reduce_inner, one thread
//     per output (consecutive threads read consecutive addresses);
//   - otherwise one workgroup per output and part of the axis: with few
//     outputs and a long axis the axis is split over several workgroups
//     (a full reduction is no longer one workgroup), whose (value, index)
//     pairs a second pass combines;
//   - threads combine through subgroup shuffles where the device supports
//     them (reduce_sg.comp), through a shared-memory tree otherwise
//     (reduce.comp);
//   - workgroup sizes follow the device limits;
//   - arrays larger than one binding run in chunks of outer slices, or of
//     axis rows when one slice is larger than a binding.

// reduceTargetGroups is the number of workgroups a reduction aims to keep
// busy when it splits the axis (enough for the largest GPUs), and
// reducePartMin the fewest elements per workgroup and thread worth a part.
var (
	reduceTargetGroups = 1024
	reducePartMin      = 4
)

// reduceWG is the reduction workgroup size: a power of two ≤ 256 within the
// device's limits.
func (be *Backend) reduceWG() int {
	lim := be.wgSize(256)
	wg := 1
	for wg*2 <= lim {
		wg *= 2
	}
	return wg
}

// reduce records dst[o][i] = op over k of src[o][k][i]. Caller holds c.mu.
func (be *Backend) reduce(op tensor.ReduceOp, d, s *Buffer, outer, n, inner int) {
	maxF := be.bindFloats()
	slice := n * inner
	if slice > maxF {
		for o := 0; o < outer; o++ {
			be.reduceRows(op, d, s, o, n, inner)
		}
		return
	}
	step := min(outer, maxF/slice, maxF/max(inner, 1))
	for o0 := 0; o0 < outer; o0 += step {
		cnt := min(step, outer-o0)
		gs, so := be.lineArg(s.a, false, o0, cnt, slice, 4)
		gd, do := be.lineArg(d.a, true, o0, cnt, inner, 4)
		be.reduceChunk(op, gd, do, gs, so, cnt, n, inner)
	}
}

// reduceChunk reduces [outer][n][inner] bound at float offset so of src
// into dst at do (both within one binding).
func (be *Backend) reduceChunk(op tensor.ReduceOp, dst arg, do int, src arg, so, outer, n, inner int) {
	G := outer * inner
	if G >= 4096 && n <= 64 || inner >= 256 && G >= 16384 {
		wg := be.wgSize(256)
		push := pushBuf{}.i(outer, n, inner, so, do)
		be.c.dispatch("reduce_inner", []uint32{uint32(wg), uint32(op)}, be.groups1D(G, wg), push, dst, src)
		return
	}
	wg := be.reduceWG()
	parts := 1
	if n > 2*reducePartMin*wg && G < reduceTargetGroups {
		parts = min((n+reducePartMin*wg-1)/(reducePartMin*wg), max(1, reduceTargetGroups/G))
	}
	chunk := (n + parts - 1) / parts
	parts = (n + chunk - 1) / chunk // every part non-empty
	if parts == 1 {
		be.reducePass(op, dst, do, src, so, false, false, outer, n, inner, 1, chunk, 1, 0)
		return
	}
	tmp := be.c.scratch(uint64(G * parts * 8))
	be.reducePass(op, arg{a: tmp, write: true}, 0, src, so, false, true, outer, n, inner, parts, chunk, parts, 0)
	be.reducePass(op, dst, do, arg{a: tmp}, 0, true, false, 1, parts, G, 1, parts, 1, 0)
	be.c.rec.free(tmp)
}

// reduceRows reduces outer slice o when it is larger than one binding: the
// axis in blocks of rows that fit, each block's (value, index) pairs into a
// scratch [inner][blocks], then one pass over the blocks.
func (be *Backend) reduceRows(op tensor.ReduceOp, d, s *Buffer, o, n, inner int) {
	maxF := be.bindFloats()
	rows := maxF / inner
	if rows < 1 {
		panic(fmt.Sprintf("vk.Reduce: rows of %d elements exceed the device's maxStorageBufferRange of %s", inner, fmtBytes(be.c.mem.maxRange)))
	}
	blocks := (n + rows - 1) / rows
	if 2*inner*blocks > maxF {
		panic(fmt.Sprintf("vk.Reduce: [%d][%d] over a %d-element axis needs %s of partial results, over the device's maxStorageBufferRange of %s",
			1, inner, n, fmtBytes(uint64(8*inner*blocks)), fmtBytes(be.c.mem.maxRange)))
	}
	tmp := be.c.scratch(uint64(inner * blocks * 8))
	for b := 0; b < blocks; b++ {
		k0 := b * rows
		cnt := min(rows, n-k0)
		gs, so := be.lineArg(s.a, false, o*n+k0, cnt, inner, 4)
		be.reducePass(op, arg{a: tmp, write: true}, 2*b, gs, so, false, true, 1, cnt, inner, 1, cnt, blocks, k0)
	}
	gd, do := be.lineArg(d.a, true, o, 1, inner, 4)
	be.reducePass(op, gd, do, arg{a: tmp}, 0, true, false, 1, blocks, inner, 1, blocks, 1, 0)
	be.c.rec.free(tmp)
}

// reducePass records one reduce(_sg).comp dispatch over outer·inner
// outputs × parts workgroups.
func (be *Backend) reducePass(op tensor.ReduceOp, dst arg, do int, src arg, so int, inPairs, outPairs bool,
	outer, n, inner, parts, chunk, pstride, kbase int) {
	name := "reduce"
	if be.subgroupShuffleOK() {
		name = "reduce_sg"
	}
	wg := be.reduceWG()
	push := pushBuf{}.i(outer, n, inner, parts, chunk, so, do, pstride, kbase)
	spec := []uint32{uint32(wg), uint32(op), uint32(b2i(inPairs)), uint32(b2i(outPairs))}
	be.c.dispatch(name, spec, be.c.grid(uint64(outer*inner*parts)), push, dst, src)
}

//go:build cgo

package vk

import (
	"fmt"
	"unsafe"

	vulkan "github.com/vulkan-go/vulkan"
)

// The recorder batches work: every op records into the current frame (a
// command buffer with its fence and descriptor pool); a frame is submitted
// without waiting when it holds BatchSize dispatches, and the host waits
// only when it needs data (reads, Sync) or when all frames are in flight.
// Barriers are recorded only on hazards: the recorder tracks which
// allocations were read and written since the last barrier.

const maxFrames = 4

type frame struct {
	cmd     vulkan.CommandBuffer
	fence   vulkan.Fence
	serial  uint64 // 0 when idle
	n       int    // dispatches + copies recorded
	flight  bool   // submitted, fence not yet retired
	queries int    // timestamp queries written (profiling)
	ops     []string
}

type deferredFree struct {
	serial uint64
	a      *allocation
}

type recorder struct {
	c         *Context
	cpool     vulkan.CommandPool
	frames    []*frame
	cur       *frame
	next      uint64 // serial of the next frame
	completed uint64 // every frame with serial <= completed has finished
	reads     map[*allocation]struct{}
	writes    map[*allocation]struct{}
	deferred  []deferredFree
	lastPipe  vulkan.Pipeline
}

func newRecorder(c *Context) (*recorder, error) {
	r := &recorder{c: c, next: 1, reads: map[*allocation]struct{}{}, writes: map[*allocation]struct{}{}}
	ci := &vulkan.CommandPoolCreateInfo{
		SType:            vulkan.StructureTypeCommandPoolCreateInfo,
		Flags:            vulkan.CommandPoolCreateFlags(vulkan.CommandPoolCreateResetCommandBufferBit),
		QueueFamilyIndex: c.qfam,
	}
	var cp vulkan.CommandPool
	if err := vkErr("vkCreateCommandPool", vulkan.CreateCommandPool(c.dev, ci, nil, &cp)); err != nil {
		return nil, err
	}
	r.cpool = cp
	return r, nil
}

func (r *recorder) newFrame() (*frame, error) {
	c := r.c
	f := &frame{}
	cbs := make([]vulkan.CommandBuffer, 1)
	ai := &vulkan.CommandBufferAllocateInfo{
		SType:              vulkan.StructureTypeCommandBufferAllocateInfo,
		CommandPool:        r.cpool,
		Level:              vulkan.CommandBufferLevelPrimary,
		CommandBufferCount: 1,
	}
	if err := vkErr("vkAllocateCommandBuffers", vulkan.AllocateCommandBuffers(c.dev, ai, cbs)); err != nil {
		return nil, err
	}
	f.cmd = cbs[0]
	fi := &vulkan.FenceCreateInfo{SType: vulkan.StructureTypeFenceCreateInfo}
	var fence vulkan.Fence
	if err := vkErr("vkCreateFence", vulkan.CreateFence(c.dev, fi, nil, &fence)); err != nil {
		return nil, err
	}
	f.fence = fence
	r.frames = append(r.frames, f)
	return f, nil
}

// begin returns the frame being recorded, starting one if needed; nil
// after a device error (recorded in the context: ops become no-ops and
// Sync reports it).
func (r *recorder) begin() *frame {
	if r.cur != nil {
		return r.cur
	}
	c := r.c
	r.poll()
	var f *frame
	for _, x := range r.frames {
		if !x.flight {
			f = x
			break
		}
	}
	if f == nil && len(r.frames) < maxFrames {
		var err error
		if f, err = r.newFrame(); err != nil {
			c.setErr(err)
			return nil
		}
	}
	if f == nil {
		// all frames in flight: wait for the oldest
		oldest := r.frames[0]
		for _, x := range r.frames {
			if x.serial < oldest.serial {
				oldest = x
			}
		}
		if r.waitUpTo(oldest.serial) != nil {
			return nil
		}
		f = oldest
	}
	vulkan.ResetCommandBuffer(f.cmd, 0)
	bi := &vulkan.CommandBufferBeginInfo{
		SType: vulkan.StructureTypeCommandBufferBeginInfo,
		Flags: vulkan.CommandBufferUsageFlags(vulkan.CommandBufferUsageOneTimeSubmitBit),
	}
	if err := vkErr("vkBeginCommandBuffer", vulkan.BeginCommandBuffer(f.cmd, bi)); err != nil {
		c.setErr(err)
		return nil
	}
	f.serial = r.next
	r.next++
	f.n = 0
	f.queries = 0
	f.ops = f.ops[:0]
	r.lastPipe = vulkan.NullPipeline
	if c.prof != nil {
		c.prof.begin(f)
	}
	r.cur = f
	return f
}

// access declares the allocations an op reads and writes, records a global
// memory barrier when a RAW, WAR or WAW hazard exists with an op recorded
// since the last barrier, and marks the allocations used by the frame.
func (r *recorder) access(f *frame, reads, writes []*allocation) {
	hazard := false
	for _, a := range reads {
		if _, ok := r.writes[a]; ok {
			hazard = true
		}
	}
	for _, a := range writes {
		if _, ok := r.writes[a]; ok {
			hazard = true
		}
		if _, ok := r.reads[a]; ok {
			hazard = true
		}
	}
	if hazard {
		all := vulkan.AccessFlags(vulkan.AccessShaderReadBit | vulkan.AccessShaderWriteBit |
			vulkan.AccessTransferReadBit | vulkan.AccessTransferWriteBit)
		stages := vulkan.PipelineStageFlags(vulkan.PipelineStageComputeShaderBit | vulkan.PipelineStageTransferBit)
		r.c.fns.memoryBarrier(f.cmd, stages, stages,
			vulkan.AccessFlags(vulkan.AccessShaderWriteBit|vulkan.AccessTransferWriteBit), all)
		r.c.stats.Barriers++
		clear(r.reads)
		clear(r.writes)
	}
	for _, a := range reads {
		r.reads[a] = struct{}{}
		a.lastUse = f.serial
	}
	for _, a := range writes {
		r.writes[a] = struct{}{}
		a.lastUse = f.serial
	}
}

// counted is called after every recorded command; it submits a full frame.
func (r *recorder) counted(f *frame) {
	f.n++
	if f.n >= r.c.opts.BatchSize {
		r.flush()
	}
}

// flush submits the current frame, if any, without waiting.
func (r *recorder) flush() {
	f := r.cur
	if f == nil {
		return
	}
	r.cur = nil
	c := r.c
	if c.err != nil {
		return // after a device error nothing more is submitted
	}
	// Make all device writes visible to the host before the fence signals.
	c.fns.memoryBarrier(f.cmd,
		vulkan.PipelineStageFlags(vulkan.PipelineStageComputeShaderBit|vulkan.PipelineStageTransferBit),
		vulkan.PipelineStageFlags(vulkan.PipelineStageHostBit),
		vulkan.AccessFlags(vulkan.AccessShaderWriteBit|vulkan.AccessTransferWriteBit),
		vulkan.AccessFlags(vulkan.AccessHostReadBit|vulkan.AccessHostWriteBit))
	if err := vkErr("vkEndCommandBuffer", vulkan.EndCommandBuffer(f.cmd)); err != nil {
		c.setErr(err)
		return
	}
	vulkan.ResetFences(c.dev, 1, []vulkan.Fence{f.fence})
	err := c.fns.submit(c.queue, f.cmd, f.fence)
	if r := c.injected(siteSubmit); r != vulkan.Success {
		err = vkErr("vkQueueSubmit (injected)", r)
	}
	if err != nil {
		// The frame never reaches the queue: it is idle again, and the
		// error stops all further recording.
		c.setErr(err)
		return
	}
	c.stats.Submits++
	f.flight = true
}

// poll retires frames whose fence has signalled, without waiting.
func (r *recorder) poll() {
	for _, f := range r.frames {
		if f.flight && vulkan.GetFenceStatus(r.c.dev, f.fence) == vulkan.Success {
			r.retire(f)
		}
	}
	r.advance()
}

// waitUpTo waits (one host wait) until every frame with serial <= s has
// finished. The current frame must have been flushed if it is involved.
func (r *recorder) waitUpTo(s uint64) error {
	if s <= r.completed {
		return nil
	}
	var fences []vulkan.Fence
	var fs []*frame
	for _, f := range r.frames {
		if f.flight && f.serial <= s {
			fences = append(fences, f.fence)
			fs = append(fs, f)
		}
	}
	if len(fences) > 0 {
		r.c.stats.Waits++
		res := vulkan.WaitForFences(r.c.dev, uint32(len(fences)), fences, vulkan.True, ^uint64(0))
		if ir := r.c.injected(siteWait); ir != vulkan.Success {
			res = ir
		}
		if err := vkErr("vkWaitForFences", res); err != nil {
			// A lost device signals nothing again: forget the frames
			// (their memory is released) so no later wait hangs.
			r.c.setErr(err)
			for _, f := range fs {
				r.retire(f)
			}
			r.advance()
			return err
		}
		for _, f := range fs {
			r.retire(f)
		}
	}
	r.advance()
	return nil
}

// waitAll waits for every submitted frame.
func (r *recorder) waitAll() error {
	return r.waitUpTo(r.next - 1)
}

func (r *recorder) retire(f *frame) {
	f.flight = false
	if r.c.prof != nil {
		r.c.prof.collect(f)
	}
	f.serial = 0
}

// advance recomputes the completed serial and releases deferred frees.
func (r *recorder) advance() {
	done := r.next - 1
	if r.cur != nil {
		done = r.cur.serial - 1
	}
	for _, f := range r.frames {
		if f.flight && f.serial-1 < done {
			done = f.serial - 1
		}
	}
	r.completed = done
	kept := r.deferred[:0]
	for _, d := range r.deferred {
		if d.serial <= done {
			d.a.pool.release(d.a)
		} else {
			kept = append(kept, d)
		}
	}
	r.deferred = kept
}

// free releases an allocation once the device no longer uses it.
func (r *recorder) free(a *allocation) {
	if a.dead {
		return
	}
	delete(r.reads, a)
	delete(r.writes, a)
	if a.lastUse > r.completed {
		r.deferred = append(r.deferred, deferredFree{a.lastUse, a})
		return
	}
	a.pool.release(a)
}

// idle reports whether the device has finished every use of a.
func (r *recorder) idle(a *allocation) bool { return a.lastUse <= r.completed }

// settle makes sure every recorded use of a has finished (flushing and
// waiting when needed).
func (r *recorder) settle(a *allocation) error {
	if r.idle(a) {
		return nil
	}
	if r.cur != nil && a.lastUse >= r.cur.serial {
		r.flush()
	}
	return r.waitUpTo(a.lastUse)
}

func (r *recorder) destroy() {
	c := r.c
	for _, f := range r.frames {
		vulkan.DestroyFence(c.dev, f.fence, nil)
	}
	r.frames = nil
	vulkan.DestroyCommandPool(c.dev, r.cpool, nil)
}

// ---- commands ----

// Arg is one buffer binding of a dispatch: an allocation and whether the
// shader writes it. Bindings are numbered in argument order.
type arg struct {
	a     *allocation
	write bool
	// off and size select a byte sub-range of the allocation to bind (size
	// 0: the whole allocation). off must be a multiple of the device's
	// minStorageBufferOffsetAlignment (see Context.chunkElems).
	off, size uint64
}

// bindRange returns the bound byte range of g.
func (g arg) bindRange() (off, size uint64) {
	if g.size == 0 {
		return g.a.off + g.off, g.a.size - g.off
	}
	return g.a.off + g.off, g.size
}

// maxBindings is the most storage buffers one dispatch binds.
const maxBindings = 8

// grid folds a count of workgroups into a dispatch grid within the device's
// per-axis limit; shaders recover the linear group index as
// gl_WorkGroupID.x + gl_WorkGroupID.y * gl_NumWorkGroups.x.
func (c *Context) grid(groups uint64) [3]uint32 {
	lim := uint64(c.info.MaxComputeWorkGroupCount[0])
	if lim == 0 || lim > 65535 {
		lim = 65535
	}
	if groups == 0 {
		groups = 1
	}
	if groups <= lim {
		return [3]uint32{uint32(groups), 1, 1}
	}
	y := (groups + lim - 1) / lim
	ylim := uint64(c.info.MaxComputeWorkGroupCount[1])
	if y > ylim {
		panic(fmt.Sprintf("vk: %d workgroups exceed the device grid %v", groups, c.info.MaxComputeWorkGroupCount))
	}
	x := (groups + y - 1) / y
	return [3]uint32{uint32(x), uint32(y), 1}
}

// dispatch records one compute dispatch of shader name (specialised with
// spec) over the given grid, with push constants push (≤ 32 words) and the
// given buffer bindings. Caller holds c.mu. After a device error it records
// nothing (Sync and Close report the error).
func (c *Context) dispatch(name string, spec []uint32, groups [3]uint32, push []uint32, args ...arg) {
	if !c.check() {
		return
	}
	if len(push)*4 > 128 {
		panic(fmt.Sprintf("vk: %s: %d bytes of push constants exceed 128", name, len(push)*4))
	}
	if len(args) > maxBindings {
		panic(fmt.Sprintf("vk: %s binds %d buffers (at most %d)", name, len(args), maxBindings))
	}
	for _, g := range args {
		if g.a.dead {
			return // allocated after a device error
		}
		if _, size := g.bindRange(); size > c.mem.maxRange {
			panic(fmt.Sprintf("vk: %s: a buffer of %s exceeds the device's maxStorageBufferRange of %s "+
				"(this kernel cannot split it; keep tensors under the limit)",
				name, fmtBytes(size), fmtBytes(c.mem.maxRange)))
		}
	}
	p, err := c.pipes.get(name, spec, len(args))
	if err != nil {
		c.setErr(err)
		return
	}
	if !c.check() { // the lock was released while the pipeline compiled
		return
	}
	mode := recPush
	var key setKey
	var set unsafe.Pointer
	pool := vulkan.NullDescriptorPool
	if !c.pushDesc {
		key = makeSetKey(p, args)
		if s, ok := c.desc.sets[key]; ok {
			mode, set = recBindSet, s
		} else {
			if pool, err = c.desc.reserve(); err != nil {
				c.setErr(err)
				return
			}
			mode = recWriteSet
		}
	}
	f := c.rec.begin()
	if f == nil {
		return
	}
	var rd, wr []*allocation
	for _, g := range args {
		if g.write {
			wr = append(wr, g.a)
		} else {
			rd = append(rd, g.a)
		}
	}
	c.rec.access(f, rd, wr)

	if c.prof != nil {
		c.prof.start(f, name)
	}
	set, res := c.fast.record(c.dev, f.cmd, mode, pool, set, p, p.pipe != c.rec.lastPipe, args, push, groups)
	if err := vkErr("vkAllocateDescriptorSets", res); err != nil {
		c.setErr(err)
		return
	}
	switch mode {
	case recPush:
		c.stats.DescriptorPushes += len(args)
	case recWriteSet:
		c.desc.sets[key] = set
		c.stats.DescriptorSets++
		c.stats.DescriptorWrites += len(args)
	}
	c.rec.lastPipe = p.pipe
	if c.prof != nil {
		c.prof.end(f)
	}
	c.stats.Dispatches++
	c.rec.counted(f)
}

// fillBytes records vkCmdFillBuffer over [off, off+n) bytes of a.
func (c *Context) fillBytes(a *allocation, off, n uint64, word uint32) {
	if !c.check() || a.dead {
		return
	}
	f := c.rec.begin()
	if f == nil {
		return
	}
	c.rec.access(f, nil, []*allocation{a})
	vulkan.CmdFillBuffer(f.cmd, a.blk.buf, vulkan.DeviceSize(a.off+off), vulkan.DeviceSize(n), word)
	c.stats.Copies++
	c.rec.counted(f)
}

// copyBytes records a buffer-to-buffer copy.
func (c *Context) copyBytes(dst *allocation, dstOff uint64, src *allocation, srcOff, n uint64) {
	if !c.check() || dst.dead || src.dead {
		return
	}
	f := c.rec.begin()
	if f == nil {
		return
	}
	c.rec.access(f, []*allocation{src}, []*allocation{dst})
	c.fns.copyBuffer(f.cmd, src.blk.buf, dst.blk.buf, src.off+srcOff, dst.off+dstOff, n)
	c.stats.Copies++
	c.rec.counted(f)
}

// upload copies n bytes from host memory src into a at byte offset off.
// When a is idle and mapped the bytes are copied directly; otherwise they go
// through a staging buffer (or vkCmdUpdateBuffer for small writes) and a
// copy command ordered after the work already recorded.
func (c *Context) upload(a *allocation, off uint64, src unsafe.Pointer, n uint64) {
	if n == 0 || !c.check() || a.dead {
		return
	}
	if c.mem.direct && c.rec.idle(a) {
		copy(unsafe.Slice((*byte)(a.mapped(off)), n), unsafe.Slice((*byte)(src), n))
		return
	}
	if n <= 65536 && n%4 == 0 && off%4 == 0 {
		f := c.rec.begin()
		if f == nil {
			return
		}
		c.rec.access(f, nil, []*allocation{a})
		vulkan.CmdUpdateBuffer(f.cmd, a.blk.buf, vulkan.DeviceSize(a.off+off), vulkan.DeviceSize(n), (*uint32)(src))
		c.stats.Copies++
		c.rec.counted(f)
		return
	}
	st, err := c.mem.staging.alloc(n)
	if err != nil {
		c.setErr(fmt.Errorf("vk: staging %s for an upload on %s: %w", fmtBytes(n), c.info.Name, err))
		return
	}
	copy(unsafe.Slice((*byte)(st.mapped(0)), n), unsafe.Slice((*byte)(src), n))
	c.copyBytes(a, off, st, 0, n)
	c.rec.free(st)
}

// download copies n bytes at byte offset off of a into host memory dst,
// waiting for the work that writes a. After a device error dst is zeroed
// (Sync reports the error).
func (c *Context) download(a *allocation, off uint64, dst unsafe.Pointer, n uint64) {
	if n == 0 {
		return
	}
	out := unsafe.Slice((*byte)(dst), n)
	if !c.check() || a.dead {
		clear(out)
		return
	}
	if c.mem.directRead {
		if c.rec.settle(a) != nil || !c.check() {
			clear(out)
			return
		}
		copy(out, unsafe.Slice((*byte)(a.mapped(off)), n))
		return
	}
	st, err := c.mem.readback.alloc(n)
	if err != nil {
		c.setErr(fmt.Errorf("vk: readback buffer of %s on %s: %w", fmtBytes(n), c.info.Name, err))
		clear(out)
		return
	}
	c.copyBytes(st, 0, a, off, n)
	if c.rec.settle(st) != nil || !c.check() {
		clear(out)
		c.rec.free(st)
		return
	}
	copy(out, unsafe.Slice((*byte)(st.mapped(0)), n))
	c.rec.free(st)
}

// alloc returns a zero-filled device allocation of n bytes: zeroed by the
// host where device memory is host memory, by vkCmdFillBuffer otherwise.
func (c *Context) alloc(n uint64) *allocation {
	a := c.scratch(n)
	if a.dead {
		return a
	}
	if c.mem.hostZero && c.rec.idle(a) {
		clear(unsafe.Slice((*byte)(a.mapped(0)), a.size))
	} else {
		c.fillBytes(a, 0, a.size, 0)
	}
	return a
}

// scratch returns an uninitialised device allocation for intermediate
// results; release it with c.rec.free once the consuming op is recorded.
// When the device is out of memory (or lost) it records the error, which
// Sync returns, and hands out a placeholder on which every op is a no-op.
func (c *Context) scratch(n uint64) *allocation {
	if !c.check() {
		return &allocation{dead: true, size: c.mem.class(n)}
	}
	a, err := c.mem.device.alloc(n)
	if err != nil {
		c.setErr(fmt.Errorf("vk: allocating %s on %s: %w", fmtBytes(n), c.info.Name, err))
		return &allocation{dead: true, size: c.mem.class(n)}
	}
	return a
}

// chunkElems is the number of 4-byte elements one binding may cover when a
// contiguous kernel is split over sub-ranges: the largest multiple of the
// offset alignment within maxStorageBufferRange.
//
// One alignment unit is kept free so that a chunk whose start must be moved
// down to the alignment (alignArg) still fits, and every chunk starts at an
// aligned element offset.
func (c *Context) chunkElems() int {
	return int(((c.mem.maxRange - c.mem.align) &^ (c.mem.align - 1)) / 4)
}

// chunks calls f for consecutive element ranges [lo, lo+n) covering [0, total)
// that each fit one binding (one range when everything fits).
func (c *Context) chunks(total, elemsPerItem int, f func(lo, n int)) {
	step := c.chunkElems() / elemsPerItem
	if total*elemsPerItem*4 <= int(c.mem.maxRange) {
		step = total
	}
	for lo := 0; lo < total; lo += step {
		f(lo, min(step, total-lo))
	}
}

// sub binds elements [lo, lo+n) of b (4-byte elements).
func sub(b *Buffer, write bool, lo, n int) arg {
	return arg{a: b.a, write: write, off: uint64(lo) * 4, size: uint64(n) * 4}
}

//go:build cgo

package vk

import (
	"fmt"
	"sort"
	"unsafe"

	vulkan "github.com/vulkan-go/vulkan"
)

// Memory management: buffers are sub-allocated from large blocks (one
// VkDeviceMemory and one VkBuffer spanning it per block; an allocation is a
// range bound with a descriptor offset), freed allocations are kept in a
// size-class cache, and freed ranges go back to a per-block first-fit free
// list with coalescing. Three pools exist: "device" for tensors
// (device-local, mapped when that memory is also host-visible), "staging"
// (host-visible, coherent) for uploads, and "readback" (host-visible,
// coherent and HOST_CACHED where the device has such a type: host reads of
// uncached memory are uncached reads, across PCIe on discrete cards) for
// downloads.
//
// Policy by device kind (memory.direct, directRead, hostZero):
//   - integrated GPUs and CPU devices (lavapipe), whose device-local memory
//     is host memory: host writes and reads go straight to the mapped
//     tensor when it is idle, and new tensors are zeroed by the host;
//   - discrete GPUs with host-visible device-local memory (resizable BAR):
//     host writes go straight to the mapped tensor (write-combined), reads
//     go through a copy into the readback pool, and zero-fills are
//     vkCmdFillBuffer on the device (never host writes across the bus);
//   - otherwise (or Options.ForceStaging) every transfer is a copy through
//     the staging or readback pool and zero-fills are on the device.
//
// Blocks larger than the block size (dedicated, one tensor each) are kept
// when freed, up to largeCacheMax bytes, and reused by the next request of
// the same size class instead of vkFreeMemory + vkAllocateMemory per use.

const (
	defaultBlockSize = 64 << 20
	maxCachedBytes   = 256 << 20
)

type span struct{ off, size uint64 }

type block struct {
	mem  vulkan.DeviceMemory
	buf  vulkan.Buffer
	size uint64
	ptr  unsafe.Pointer // persistent mapping, nil when not host-visible
	free []span         // sorted by offset
	used uint64
}

// dedicated reports whether the block holds one larger-than-block request.
func (b *block) dedicated(blockSize uint64) bool { return b.size > blockSize }

// allocation is a range of a block. Sizes are rounded to the pool's size
// class, so a cached allocation serves any request of its class.
type allocation struct {
	pool    *pool
	blk     *block
	off     uint64
	size    uint64 // class size in bytes
	lastUse uint64 // serial of the last frame that referenced it
	// dead marks a placeholder handed out after a device error (no block):
	// every op on it is a no-op, and the error is reported by Sync.
	dead bool
}

// mapped returns the host address of byte off of the allocation, or nil.
func (a *allocation) mapped(off uint64) unsafe.Pointer {
	if a.blk == nil || a.blk.ptr == nil {
		return nil
	}
	return unsafe.Add(a.blk.ptr, a.off+off)
}

type pool struct {
	name      string
	m         *memory
	typeIdx   uint32
	hostVis   bool
	blocks    []*block
	cache     map[uint64][]*allocation
	cached    uint64
	allocated uint64 // bytes handed out (live allocations)
	// large holds idle dedicated blocks by size (largeCached bytes).
	large       map[uint64][]*block
	largeCached uint64
}

type memory struct {
	c         *Context
	align     uint64
	blockSize uint64
	maxRange  uint64
	device    *pool
	staging   *pool
	readback  *pool
	// direct is true when tensors live in host-visible memory and host
	// writes may bypass staging buffers; directRead when host reads may
	// too, and hostZero when new tensors are zeroed by the host (both only
	// where device-local memory is host memory: see the policy above).
	direct, directRead, hostZero bool
	// largeCacheMax bounds the bytes of idle dedicated blocks kept.
	largeCacheMax uint64
}

func newMemory(c *Context) (*memory, error) {
	var mp vulkan.PhysicalDeviceMemoryProperties
	vulkan.GetPhysicalDeviceMemoryProperties(c.phys, &mp)
	mp.Deref()
	types := make([]vulkan.MemoryType, mp.MemoryTypeCount)
	for i := range types {
		types[i] = mp.MemoryTypes[i]
		types[i].Deref()
	}
	heaps := make([]uint64, mp.MemoryHeapCount)
	for i := range heaps {
		h := mp.MemoryHeaps[i]
		h.Deref()
		heaps[i] = uint64(h.Size)
	}
	// Which memory types can back a storage buffer?
	probe, err := createBuffer(c.dev, 1024)
	if err != nil {
		return nil, err
	}
	var req vulkan.MemoryRequirements
	vulkan.GetBufferMemoryRequirements(c.dev, probe, &req)
	req.Deref()
	vulkan.DestroyBuffer(c.dev, probe, nil)

	const (
		dl  = vulkan.MemoryPropertyFlags(vulkan.MemoryPropertyDeviceLocalBit)
		hv  = vulkan.MemoryPropertyFlags(vulkan.MemoryPropertyHostVisibleBit)
		hc  = vulkan.MemoryPropertyFlags(vulkan.MemoryPropertyHostCoherentBit)
		hca = vulkan.MemoryPropertyFlags(vulkan.MemoryPropertyHostCachedBit)
		any = vulkan.MemoryPropertyFlags(0)
	)
	find := func(want vulkan.MemoryPropertyFlags, minHeap uint64) int {
		for i, t := range types {
			if req.MemoryTypeBits&(1<<uint(i)) == 0 || t.PropertyFlags&want != want {
				continue
			}
			if heaps[t.HeapIndex] < minHeap {
				continue
			}
			return i
		}
		return -1
	}
	// The largest device-local heap decides whether mapped device-local
	// memory is the main memory (integrated, lavapipe, resizable BAR) or a
	// small BAR window that must not hold tensors.
	var bigDL uint64
	for _, t := range types {
		if t.PropertyFlags&dl != 0 && heaps[t.HeapIndex] > bigDL {
			bigDL = heaps[t.HeapIndex]
		}
	}
	m := &memory{c: c, maxRange: c.info.MaxStorageBufferRange}
	devType := find(dl|hv|hc, bigDL)
	m.direct = devType >= 0 && !c.opts.ForceStaging
	if devType < 0 {
		devType = find(dl, 0)
	}
	if devType < 0 {
		devType = find(any, 0)
	}
	stType := find(hv|hc, 0)
	rbType := find(hv|hc|hca, 0)
	if rbType < 0 {
		rbType = stType
	}
	// Host memory is device memory on integrated GPUs and CPU devices.
	uma := (c.info.Type == TypeIntegrated || c.info.Type == TypeCPU) && !c.opts.discretePolicy
	m.directRead = m.direct && uma
	m.hostZero = m.directRead
	if devType < 0 || stType < 0 {
		return nil, fmt.Errorf("vk: %s: no memory type for storage buffers (device %d, staging %d)", c.info.Name, devType, stType)
	}
	m.align = c.info.MinStorageBufferOffsetAlign
	if a := uint64(req.Alignment); a > m.align {
		m.align = a
	}
	if m.align < 64 {
		m.align = 64
	}
	m.blockSize = c.opts.BlockSize
	if m.blockSize == 0 {
		m.blockSize = defaultBlockSize
	}
	if m.blockSize > m.maxRange {
		m.blockSize = m.maxRange &^ (m.align - 1)
	}
	if h := heaps[types[devType].HeapIndex] / 8; m.blockSize > h {
		m.blockSize = h &^ (m.align - 1)
	}
	m.largeCacheMax = min(1<<30, heaps[types[devType].HeapIndex]/4)
	newPool := func(name string, t int) *pool {
		return &pool{name: name, m: m, typeIdx: uint32(t), hostVis: types[t].PropertyFlags&hv != 0,
			cache: map[uint64][]*allocation{}, large: map[uint64][]*block{}}
	}
	m.device = newPool("device", devType)
	m.staging = newPool("staging", stType)
	m.readback = newPool("readback", rbType)
	return m, nil
}

func createBuffer(dev vulkan.Device, size uint64) (vulkan.Buffer, error) {
	bci := &vulkan.BufferCreateInfo{
		SType: vulkan.StructureTypeBufferCreateInfo,
		Size:  vulkan.DeviceSize(size),
		Usage: vulkan.BufferUsageFlags(vulkan.BufferUsageStorageBufferBit |
			vulkan.BufferUsageTransferSrcBit | vulkan.BufferUsageTransferDstBit),
		SharingMode: vulkan.SharingModeExclusive,
	}
	var buf vulkan.Buffer
	if err := vkErr("vkCreateBuffer", vulkan.CreateBuffer(dev, bci, nil, &buf)); err != nil {
		return vulkan.NullBuffer, err
	}
	return buf, nil
}

// class rounds a request to its size class: multiples of the alignment up
// to 4 KiB, then four steps per power of two (at most 25% waste).
func (m *memory) class(n uint64) uint64 {
	if n == 0 {
		n = 4
	}
	if n <= 4096 {
		return (n + m.align - 1) &^ (m.align - 1)
	}
	p := uint64(1)
	for p*2 <= n {
		p *= 2
	}
	step := p / 4
	if step < m.align {
		step = m.align
	}
	return (n + step - 1) / step * step
}

func (p *pool) newBlock(size uint64) (*block, error) {
	c := p.m.c
	buf, err := createBuffer(c.dev, size)
	if err != nil {
		return nil, err
	}
	var req vulkan.MemoryRequirements
	vulkan.GetBufferMemoryRequirements(c.dev, buf, &req)
	req.Deref()
	mai := &vulkan.MemoryAllocateInfo{
		SType:           vulkan.StructureTypeMemoryAllocateInfo,
		AllocationSize:  req.Size,
		MemoryTypeIndex: p.typeIdx,
	}
	var mem vulkan.DeviceMemory
	if r := vulkan.AllocateMemory(c.dev, mai, nil, &mem); r != vulkan.Success {
		vulkan.DestroyBuffer(c.dev, buf, nil)
		return nil, vkErr(fmt.Sprintf("vkAllocateMemory(%s, %s pool)", fmtBytes(size), p.name), r)
	}
	c.stats.BlockAllocs++
	if err := vkErr("vkBindBufferMemory", vulkan.BindBufferMemory(c.dev, buf, mem, 0)); err != nil {
		vulkan.DestroyBuffer(c.dev, buf, nil)
		vulkan.FreeMemory(c.dev, mem, nil)
		return nil, err
	}
	b := &block{mem: mem, buf: buf, size: size, free: []span{{0, size}}}
	if p.hostVis {
		var ptr unsafe.Pointer
		if err := vkErr("vkMapMemory", vulkan.MapMemory(c.dev, mem, 0, vulkan.DeviceSize(vulkan.WholeSize), 0, &ptr)); err != nil {
			vulkan.DestroyBuffer(c.dev, buf, nil)
			vulkan.FreeMemory(c.dev, mem, nil)
			return nil, err
		}
		b.ptr = ptr
	}
	p.blocks = append(p.blocks, b)
	return b, nil
}

func (b *block) take(size uint64) (uint64, bool) {
	for i, s := range b.free {
		if s.size < size {
			continue
		}
		off := s.off
		if s.size == size {
			b.free = append(b.free[:i], b.free[i+1:]...)
		} else {
			b.free[i] = span{s.off + size, s.size - size}
		}
		b.used += size
		return off, true
	}
	return 0, false
}

func (b *block) give(off, size uint64) {
	b.used -= size
	i := sort.Search(len(b.free), func(i int) bool { return b.free[i].off > off })
	b.free = append(b.free, span{})
	copy(b.free[i+1:], b.free[i:])
	b.free[i] = span{off, size}
	// coalesce with the next, then the previous span
	if i+1 < len(b.free) && b.free[i].off+b.free[i].size == b.free[i+1].off {
		b.free[i].size += b.free[i+1].size
		b.free = append(b.free[:i+1], b.free[i+2:]...)
	}
	if i > 0 && b.free[i-1].off+b.free[i-1].size == b.free[i].off {
		b.free[i-1].size += b.free[i].size
		b.free = append(b.free[:i], b.free[i+1:]...)
	}
}

// alloc returns an idle allocation of at least n bytes.
func (p *pool) alloc(n uint64) (*allocation, error) {
	if r := p.m.c.injected(siteAlloc); r != vulkan.Success {
		return nil, vkErr(fmt.Sprintf("vkAllocateMemory(%s, %s pool) (injected)", fmtBytes(n), p.name), r)
	}
	cls := p.m.class(n)
	if l := p.cache[cls]; len(l) > 0 {
		a := l[len(l)-1]
		p.cache[cls] = l[:len(l)-1]
		p.cached -= cls
		p.allocated += cls
		return a, nil
	}
	if l := p.large[cls]; len(l) > 0 {
		b := l[len(l)-1]
		p.large[cls] = l[:len(l)-1]
		p.largeCached -= cls
		off, _ := b.take(cls)
		p.allocated += cls
		p.m.c.stats.LargeReuses++
		return &allocation{pool: p, blk: b, off: off, size: cls}, nil
	}
	for attempt := 0; attempt < 2; attempt++ {
		if cls <= p.m.blockSize {
			for _, b := range p.blocks {
				if b.dedicated(p.m.blockSize) {
					continue
				}
				if off, ok := b.take(cls); ok {
					p.allocated += cls
					return &allocation{pool: p, blk: b, off: off, size: cls}, nil
				}
			}
		}
		size := p.m.blockSize
		if cls > size {
			size = cls // dedicated block
		}
		b, err := p.newBlock(size)
		if err == nil {
			off, _ := b.take(cls)
			p.allocated += cls
			return &allocation{pool: p, blk: b, off: off, size: cls}, nil
		}
		if attempt == 1 || p.cached+p.largeCached == 0 {
			return nil, err
		}
		p.trim() // out of memory: return the cache to the blocks and retry
	}
	panic("unreachable")
}

// release returns an idle allocation to the cache (or its block when the
// cache is full).
func (p *pool) release(a *allocation) {
	p.allocated -= a.size
	if a.size <= p.m.blockSize && p.cached+a.size <= maxCachedBytes {
		p.cache[a.size] = append(p.cache[a.size], a)
		p.cached += a.size
		return
	}
	p.giveBack(a)
}

func (p *pool) giveBack(a *allocation) {
	b := a.blk
	b.give(a.off, a.size)
	if b.used == 0 && b.dedicated(p.m.blockSize) {
		// dedicated block: keep it for the next request of its size, or
		// free it when the cache of large blocks is full
		if p.largeCached+b.size <= p.m.largeCacheMax {
			p.large[b.size] = append(p.large[b.size], b)
			p.largeCached += b.size
			return
		}
		p.freeBlock(b)
	}
}

func (p *pool) freeBlock(b *block) {
	c := p.m.c
	for i, x := range p.blocks {
		if x == b {
			p.blocks = append(p.blocks[:i], p.blocks[i+1:]...)
			break
		}
	}
	if c.desc != nil {
		c.desc.evictBuffer(b.buf)
	}
	if b.ptr != nil {
		vulkan.UnmapMemory(c.dev, b.mem)
	}
	vulkan.DestroyBuffer(c.dev, b.buf, nil)
	vulkan.FreeMemory(c.dev, b.mem, nil)
}

// trim empties the size-class cache and frees wholly unused blocks.
func (p *pool) trim() {
	for cls, l := range p.cache {
		for _, a := range l {
			p.giveBack(a)
		}
		delete(p.cache, cls)
	}
	p.cached = 0
	clear(p.large)
	p.largeCached = 0
	for i := len(p.blocks) - 1; i >= 0; i-- {
		if p.blocks[i].used == 0 {
			p.freeBlock(p.blocks[i])
		}
	}
}

func (m *memory) destroy() {
	for _, p := range []*pool{m.device, m.staging, m.readback} {
		for len(p.blocks) > 0 {
			p.freeBlock(p.blocks[len(p.blocks)-1])
		}
	}
}

// MemoryStats reports the device pool's usage in bytes.
type MemoryStats struct {
	Blocks    int    // blocks in the device pool
	Reserved  uint64 // bytes of device memory held by the pool
	Allocated uint64 // bytes in live allocations (size-class rounded)
	Cached    uint64 // bytes in the freed-buffer caches (size classes and large blocks)
}

// MemoryStats returns the device pool's usage.
func (c *Context) MemoryStats() MemoryStats {
	c.mu.Lock()
	defer c.mu.Unlock()
	p := c.mem.device
	s := MemoryStats{Blocks: len(p.blocks), Allocated: p.allocated, Cached: p.cached + p.largeCached}
	for _, b := range p.blocks {
		s.Reserved += b.size
	}
	return s
}

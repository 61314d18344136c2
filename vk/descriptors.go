//go:build cgo

package vk

import (
	"unsafe"

	vulkan "github.com/vulkan-go/vulkan"
)

// Descriptors. A dispatch binds up to maxBindings storage-buffer ranges at
// set 0. Two ways, chosen at Open:
//
//   - push descriptors (VK_KHR_push_descriptor, when the device has it and
//     Options.NoPushDescriptors / DASH_VK_NO_PUSH_DESCRIPTORS=1 is not set):
//     the ranges are written into the command buffer; no set is allocated
//     or updated (Stats.DescriptorPushes counts them);
//   - cached sets (the fallback, every device): one descriptor set per
//     (set layout, bound buffer ranges), allocated and written on first use
//     (Stats.DescriptorWrites, Stats.DescriptorSets) and only bound after
//     that. Tensors come from a size-class cache, so a training step binds
//     the same ranges step after step and writes no descriptor at all once
//     warm.
//
// The cached sets live in pools of setsPerPool sets. When maxSetPools pools
// are full the recorder drains the device (every recorded command may
// reference a cached set), resets the pools and starts over. A set that
// names a VkBuffer is evicted before that buffer is destroyed (evictBuffer),
// so a recycled handle can never hit a stale set.

// Set-cache capacity (variables so that tests can force resets).
var (
	setsPerPool = 1024
	maxSetPools = 8
)

type setKey struct {
	layout uintptr
	n      int
	buf    [maxBindings]uintptr
	off    [maxBindings]uint64
	rng    [maxBindings]uint64
}

type descCache struct {
	c     *Context
	pools []vulkan.DescriptorPool
	cur   int // pool sets are taken from
	left  int // sets left in pools[cur]
	sets  map[setKey]unsafe.Pointer
}

func newDescCache(c *Context) *descCache {
	return &descCache{c: c, sets: map[setKey]unsafe.Pointer{}}
}

func makeSetKey(p *pipeline, args []arg) setKey {
	k := setKey{layout: uintptr(unsafe.Pointer(p.layout.set)), n: len(args)}
	for i, g := range args {
		off, size := g.bindRange()
		k.buf[i] = uintptr(unsafe.Pointer(g.a.blk.buf))
		k.off[i] = off
		k.rng[i] = size
	}
	return k
}

// reserve returns a pool with room for one more set (taking it), creating
// a pool or draining the device and resetting every pool when all are
// full. It must be called before the dispatch's frame is begun: a reset
// flushes and waits for the frame being recorded.
func (d *descCache) reserve() (vulkan.DescriptorPool, error) {
	c := d.c
	if d.left == 0 {
		switch {
		case d.cur+1 < len(d.pools):
			d.cur++
		case len(d.pools) < maxSetPools:
			p, err := c.fns.createStoragePool(uint32(setsPerPool), uint32(setsPerPool*maxBindings))
			if err != nil {
				return vulkan.NullDescriptorPool, err
			}
			d.pools = append(d.pools, p)
			d.cur = len(d.pools) - 1
		default:
			// Every pool is full: wait until no command buffer references
			// a set, then start over with the first pool.
			c.rec.flush()
			if err := c.rec.waitAll(); err != nil {
				return vulkan.NullDescriptorPool, err
			}
			for _, p := range d.pools {
				vulkan.ResetDescriptorPool(c.dev, p, 0)
			}
			clear(d.sets)
			c.stats.DescriptorResets++
			d.cur = 0
		}
		d.left = setsPerPool
	}
	d.left--
	return d.pools[d.cur], nil
}

// evictBuffer forgets every cached set that binds buf (called before buf
// is destroyed; the sets themselves are reclaimed at the next reset).
func (d *descCache) evictBuffer(buf vulkan.Buffer) {
	b := uintptr(unsafe.Pointer(buf))
	for k := range d.sets {
		for i := 0; i < k.n; i++ {
			if k.buf[i] == b {
				delete(d.sets, k)
				break
			}
		}
	}
}

func (d *descCache) destroy() {
	for _, p := range d.pools {
		vulkan.DestroyDescriptorPool(d.c.dev, p, nil)
	}
	d.pools = nil
	d.sets = nil
}

//go:build cgo

package vk

/*
#include <stdint.h>
#include <stddef.h>

// The hot path of a dispatch (descriptors, binds, push constants, dispatch)
// in one cgo call through the device's own entry points. The Vulkan
// structures are declared locally: their layout is fixed by the ABI, and the
// project builds without the Vulkan headers.
//
// Descriptors reach the dispatch in one of two ways (see descriptors.go):
//   - push descriptors (VK_KHR_push_descriptor): written into the command
//     buffer with vkCmdPushDescriptorSetKHR, no set allocated;
//   - cached sets: a set per (set layout, bound buffer ranges) allocated and
//     written once (mode 2, on a cache miss) and then only bound (mode 0).

typedef void *(*dash_gipa_t)(void *instance, const char *name);
typedef void *(*dash_gdpa_t)(void *device, const char *name);

typedef struct { uint32_t sType; const void *pNext; void *pool; uint32_t count; const void *const *layouts; } dash_dsai;
typedef struct { void *buffer; uint64_t offset; uint64_t range; } dash_dbi;
typedef struct {
	uint32_t sType; const void *pNext; void *dstSet; uint32_t dstBinding; uint32_t dstArrayElement;
	uint32_t descriptorCount; uint32_t descriptorType; const void *pImageInfo; const dash_dbi *pBufferInfo;
	const void *pTexelBufferView;
} dash_wds;

typedef int32_t (*dash_alloc_sets_t)(void *dev, const dash_dsai *info, void **sets);
typedef void (*dash_update_t)(void *dev, uint32_t n, const dash_wds *w, uint32_t nc, const void *c);
typedef void (*dash_bind_pipe_t)(void *cmd, uint32_t bp, void *pipe);
typedef void (*dash_bind_sets_t)(void *cmd, uint32_t bp, void *layout, uint32_t first, uint32_t n, void *const *sets, uint32_t nd, const uint32_t *d);
typedef void (*dash_push_t)(void *cmd, void *layout, uint32_t stages, uint32_t off, uint32_t size, const void *data);
typedef void (*dash_dispatch_t)(void *cmd, uint32_t x, uint32_t y, uint32_t z);
typedef void (*dash_push_desc_t)(void *cmd, uint32_t bp, void *layout, uint32_t set, uint32_t n, const dash_wds *w);

typedef struct {
	dash_alloc_sets_t alloc_sets;
	dash_update_t update;
	dash_bind_pipe_t bind_pipe;
	dash_bind_sets_t bind_sets;
	dash_push_t push;
	dash_dispatch_t dispatch;
	dash_push_desc_t push_desc; // NULL without VK_KHR_push_descriptor
} dash_fns;

static int dash_load(void *gipa, void *inst, void *dev, int want_push, dash_fns *f) {
	dash_gdpa_t gdpa = (dash_gdpa_t)((dash_gipa_t)gipa)(inst, "vkGetDeviceProcAddr");
	if (gdpa == NULL) return 0;
	f->alloc_sets = (dash_alloc_sets_t)gdpa(dev, "vkAllocateDescriptorSets");
	f->update = (dash_update_t)gdpa(dev, "vkUpdateDescriptorSets");
	f->bind_pipe = (dash_bind_pipe_t)gdpa(dev, "vkCmdBindPipeline");
	f->bind_sets = (dash_bind_sets_t)gdpa(dev, "vkCmdBindDescriptorSets");
	f->push = (dash_push_t)gdpa(dev, "vkCmdPushConstants");
	f->dispatch = (dash_dispatch_t)gdpa(dev, "vkCmdDispatch");
	f->push_desc = want_push ? (dash_push_desc_t)gdpa(dev, "vkCmdPushDescriptorSetKHR") : NULL;
	return f->alloc_sets && f->update && f->bind_pipe && f->bind_sets && f->push && f->dispatch;
}

typedef struct {
	void *dev, *cmd, *pool, *set_layout, *pipe_layout, *pipe, *set;
	uint32_t mode; // 0: bind set; 1: push descriptors; 2: allocate set from pool, write it, bind it
	uint32_t bind_pipe, n, push_size, gx, gy, gz;
	void *bufs[8];
	uint64_t offs[8], ranges[8];
	uint32_t push[32];
} dash_rec;

// sType 34: DESCRIPTOR_SET_ALLOCATE_INFO, 35: WRITE_DESCRIPTOR_SET,
// descriptor type 7: STORAGE_BUFFER, bind point 1: COMPUTE, stage 0x20: COMPUTE.
static void dash_writes(const dash_rec *r, void *set, dash_dbi *info, dash_wds *w) {
	for (uint32_t i = 0; i < r->n; i++) {
		info[i].buffer = r->bufs[i];
		info[i].offset = r->offs[i];
		info[i].range = r->ranges[i];
		w[i].sType = 35;
		w[i].pNext = NULL;
		w[i].dstSet = set;
		w[i].dstBinding = i;
		w[i].dstArrayElement = 0;
		w[i].descriptorCount = 1;
		w[i].descriptorType = 7;
		w[i].pImageInfo = NULL;
		w[i].pBufferInfo = &info[i];
		w[i].pTexelBufferView = NULL;
	}
}

// dash_record records one dispatch; in mode 2 it stores the new set in r->set.
static int32_t dash_record(const dash_fns *f, dash_rec *r) {
	dash_dbi info[8];
	dash_wds w[8];
	if (r->mode == 2) {
		dash_dsai ai = { 34, NULL, r->pool, 1, (const void *const *)&r->set_layout };
		void *set = NULL;
		int32_t res = f->alloc_sets(r->dev, &ai, &set);
		if (res != 0) return res;
		dash_writes(r, set, info, w);
		f->update(r->dev, r->n, w, 0, NULL);
		r->set = set;
	}
	if (r->bind_pipe) f->bind_pipe(r->cmd, 1, r->pipe);
	if (r->mode == 1) {
		dash_writes(r, NULL, info, w);
		f->push_desc(r->cmd, 1, r->pipe_layout, 0, r->n, w);
	} else {
		f->bind_sets(r->cmd, 1, r->pipe_layout, 0, 1, &r->set, 0, NULL);
	}
	if (r->push_size) f->push(r->cmd, r->pipe_layout, 0x20, 0, r->push_size, r->push);
	f->dispatch(r->cmd, r->gx, r->gy, r->gz);
	return 0;
}
*/
import "C"

import (
	"unsafe"

	vulkan "github.com/vulkan-go/vulkan"
)

// fastPath records dispatches with one cgo call each.
type fastPath struct {
	fns C.dash_fns
	rec C.dash_rec
}

// newFastPath loads the dispatch entry points (vkCmdPushDescriptorSetKHR
// too when wantPush); nil when they could not be loaded or handles are not
// pointer-sized.
func newFastPath(inst vulkan.Instance, dev vulkan.Device, wantPush bool) *fastPath {
	if gipa == nil || unsafe.Sizeof(vulkan.Buffer(nil)) != 8 {
		return nil
	}
	fp := &fastPath{}
	wp := C.int(0)
	if wantPush {
		wp = 1
	}
	if C.dash_load(gipa, unsafe.Pointer(inst), unsafe.Pointer(dev), wp, &fp.fns) == 0 {
		return nil
	}
	return fp
}

// canPush reports whether vkCmdPushDescriptorSetKHR was loaded.
func (fp *fastPath) canPush() bool { return fp.fns.push_desc != nil }

// Descriptor modes of fastPath.record.
const (
	recBindSet  = 0 // bind the given cached set
	recPush     = 1 // push descriptors
	recWriteSet = 2 // allocate a set from pool, write it, bind it (returned)
)

// record records one dispatch. In recWriteSet mode it returns the new set;
// the result is that of the set allocation (always Success otherwise).
func (fp *fastPath) record(dev vulkan.Device, cmd vulkan.CommandBuffer, mode int, pool vulkan.DescriptorPool, set unsafe.Pointer,
	p *pipeline, bindPipe bool, args []arg, push []uint32, groups [3]uint32) (unsafe.Pointer, vulkan.Result) {
	r := &fp.rec
	r.dev = unsafe.Pointer(dev)
	r.cmd = unsafe.Pointer(cmd)
	r.pool = unsafe.Pointer(pool)
	r.set = set
	r.mode = C.uint32_t(mode)
	r.set_layout = unsafe.Pointer(p.layout.set)
	r.pipe_layout = unsafe.Pointer(p.layout.layout)
	r.pipe = unsafe.Pointer(p.pipe)
	r.bind_pipe = 0
	if bindPipe {
		r.bind_pipe = 1
	}
	r.n = C.uint32_t(len(args))
	for i, g := range args {
		off, size := g.bindRange()
		r.bufs[i] = unsafe.Pointer(g.a.blk.buf)
		r.offs[i] = C.uint64_t(off)
		r.ranges[i] = C.uint64_t(size)
	}
	r.push_size = C.uint32_t(4 * len(push))
	for i, w := range push {
		r.push[i] = C.uint32_t(w)
	}
	r.gx, r.gy, r.gz = C.uint32_t(groups[0]), C.uint32_t(groups[1]), C.uint32_t(groups[2])
	res := vulkan.Result(C.dash_record(&fp.fns, r))
	return r.set, res
}

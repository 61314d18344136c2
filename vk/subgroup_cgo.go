//go:build cgo

package vk

/*
#include <stdint.h>
#include <string.h>

// VkPhysicalDeviceSubgroupProperties through vkGetPhysicalDeviceProperties2
// (the binding has no wrapper; the layouts are fixed by the Vulkan ABI).
typedef void *(*dash_sg_gipa)(void *instance, const char *name);
typedef struct { uint32_t sType; void *pNext; uint32_t subgroupSize; uint32_t stages; uint32_t ops; uint32_t quad; } dash_sg_props;
typedef struct { uint32_t sType; void *pNext; unsigned char props[2048]; } dash_sg_props2;
typedef void (*dash_sg_gpdp2)(void *phys, dash_sg_props2 *p);

static void dash_subgroup_caps(void *gipa, void *instance, void *phys, uint32_t *stages, uint32_t *ops) {
	*stages = 0;
	*ops = 0;
	dash_sg_gpdp2 f = (dash_sg_gpdp2)((dash_sg_gipa)gipa)(instance, "vkGetPhysicalDeviceProperties2");
	if (f == NULL) return;
	dash_sg_props sg; memset(&sg, 0, sizeof sg);
	sg.sType = 1000094000; // VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_PROPERTIES
	dash_sg_props2 p; memset(&p, 0, sizeof p);
	p.sType = 1000059001; // VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2
	p.pNext = &sg;
	f(phys, &p);
	*stages = sg.stages;
	*ops = sg.ops;
}
*/
import "C"

import (
	"sync"
	"unsafe"

	vulkan "github.com/vulkan-go/vulkan"
)

const (
	subgroupBasic      = 0x1  // VK_SUBGROUP_FEATURE_BASIC_BIT
	subgroupArithmetic = 0x4  // VK_SUBGROUP_FEATURE_ARITHMETIC_BIT
	subgroupShuffle    = 0x10 // VK_SUBGROUP_FEATURE_SHUFFLE_BIT
	stageCompute       = 0x20 // VK_SHADER_STAGE_COMPUTE_BIT
)

// subgroupCaps returns the shader stages and operations with subgroup
// support (VkPhysicalDeviceSubgroupProperties; zeros before Vulkan 1.1).
func subgroupCaps(inst vulkan.Instance, phys vulkan.PhysicalDevice, api uint32) (stages, ops uint32) {
	if gipa == nil || api < vulkan.MakeVersion(1, 1, 0) {
		return 0, 0
	}
	var s, o C.uint32_t
	C.dash_subgroup_caps(gipa, unsafe.Pointer(inst), unsafe.Pointer(phys), &s, &o)
	return uint32(s), uint32(o)
}

// reduceNoSubgroup forces the portable shared-memory reduction (tests run
// both variants).
var reduceNoSubgroup = false

// sgShuffle caches subgroupShuffleOK per context.
var sgShuffle sync.Map // *Context → bool

// subgroupShuffleOK reports whether compute shaders may use subgroup
// shuffles (reduce_sg.comp). Caller holds c.mu.
func (be *Backend) subgroupShuffleOK() bool {
	if reduceNoSubgroup {
		return false
	}
	if v, ok := sgShuffle.Load(be.c); ok {
		return v.(bool)
	}
	var p vulkan.PhysicalDeviceProperties
	vulkan.GetPhysicalDeviceProperties(be.c.phys, &p)
	p.Deref()
	stages, ops := subgroupCaps(be.c.inst, be.c.phys, p.ApiVersion)
	want := uint32(subgroupBasic | subgroupShuffle)
	ok := stages&stageCompute != 0 && ops&want == want && be.c.info.SubgroupSize >= 1
	sgShuffle.Store(be.c, ok)
	return ok
}

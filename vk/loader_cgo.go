//go:build cgo

package vk

/*
#cgo LDFLAGS: -ldl
#include <dlfcn.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void *dash_vk_lib = NULL;

// dash_vk_open opens the Vulkan loader and returns vkGetInstanceProcAddr.
static void *dash_vk_open(const char *name) {
	void *lib = dlopen(name, RTLD_NOW | RTLD_LOCAL);
	if (lib == NULL) return NULL;
	void *p = dlsym(lib, "vkGetInstanceProcAddr");
	if (p == NULL) { dlclose(lib); return NULL; }
	dash_vk_lib = lib;
	return p;
}

// The binding carries Vulkan 1.1.88 headers but no wrapper for
// vkGetPhysicalDeviceProperties2; the subgroup size is read through the raw
// entry point with locally declared structures (their layout is fixed by the
// Vulkan ABI).
typedef void *(*dash_gipa)(void *instance, const char *name);
typedef struct { uint32_t sType; void *pNext; uint32_t subgroupSize; uint32_t stages; uint32_t ops; uint32_t quad; } dash_subgroup_props;
typedef struct { uint32_t sType; void *pNext; unsigned char props[2048]; } dash_props2;
typedef void (*dash_gpdp2)(void *phys, dash_props2 *p);

static uint32_t dash_subgroup_size(void *gipa, void *instance, void *phys) {
	dash_gpdp2 f = (dash_gpdp2)((dash_gipa)gipa)(instance, "vkGetPhysicalDeviceProperties2");
	if (f == NULL) return 0;
	dash_subgroup_props sg; memset(&sg, 0, sizeof sg);
	sg.sType = 1000094000; // VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_PROPERTIES
	dash_props2 p; memset(&p, 0, sizeof p);
	p.sType = 1000059001; // VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2
	p.pNext = &sg;
	f(phys, &p);
	return sg.subgroupSize;
}
*/
import "C"

import (
	"errors"
	"fmt"
	"sync"
	"unsafe"

	vulkan "github.com/vulkan-go/vulkan"
)

var (
	loadOnce sync.Once
	loadErr  error
	gipa     unsafe.Pointer
)

// loadVulkan opens libvulkan.so.1 (or libvulkan.so) once and initialises the
// binding's global entry points.
func loadVulkan() error {
	loadOnce.Do(func() {
		for _, name := range []string{"libvulkan.so.1", "libvulkan.so"} {
			cs := C.CString(name)
			p := C.dash_vk_open(cs)
			C.free(unsafe.Pointer(cs))
			if p != nil {
				gipa = p
				break
			}
		}
		if gipa == nil {
			loadErr = errors.New("vk: no Vulkan loader (libvulkan.so.1): install libvulkan1")
			return
		}
		vulkan.SetGetInstanceProcAddr(gipa)
		if err := vulkan.Init(); err != nil {
			loadErr = fmt.Errorf("vk: initialising the Vulkan loader: %w", err)
		}
	})
	return loadErr
}

// subgroupSize queries VkPhysicalDeviceSubgroupProperties (Vulkan 1.1); 0
// when unavailable.
func subgroupSize(inst vulkan.Instance, phys vulkan.PhysicalDevice, api uint32) uint32 {
	if gipa == nil || api < vulkan.MakeVersion(1, 1, 0) {
		return 0
	}
	return uint32(C.dash_subgroup_size(gipa, unsafe.Pointer(inst), unsafe.Pointer(phys)))
}

//go:build cgo

package vk

/*
#include <stdint.h>
#include <string.h>

// VkPhysicalDevice16BitStorageFeatures through vkGetPhysicalDeviceFeatures2
// (Vulkan 1.1; the binding has no wrapper, the layouts are fixed by the ABI).
typedef void *(*dash_f16_gipa)(void *instance, const char *name);
typedef struct { uint32_t sType; void *pNext; uint32_t sb16, ubo16, pc16, io16; } dash_16bit_features;
typedef struct { uint32_t sType; void *pNext; uint32_t features[64]; } dash_features2;
typedef void (*dash_gpdf2)(void *phys, dash_features2 *f);

static uint32_t dash_storage16(void *gipa, void *instance, void *phys) {
	dash_gpdf2 f = (dash_gpdf2)((dash_f16_gipa)gipa)(instance, "vkGetPhysicalDeviceFeatures2");
	if (f == NULL) return 0;
	dash_16bit_features s; memset(&s, 0, sizeof s);
	s.sType = 1000083000; // VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_16BIT_STORAGE_FEATURES
	dash_features2 p; memset(&p, 0, sizeof p);
	p.sType = 1000059000; // VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2
	p.pNext = &s;
	f(phys, &p);
	return s.sb16;
}
*/
import "C"

import (
	"unsafe"

	vulkan "github.com/vulkan-go/vulkan"
)

// storage16Supported reports VkPhysicalDevice16BitStorageFeatures'
// storageBuffer16BitAccess (false before Vulkan 1.1).
func storage16Supported(inst vulkan.Instance, phys vulkan.PhysicalDevice, api uint32) bool {
	if gipa == nil || api < vulkan.MakeVersion(1, 1, 0) {
		return false
	}
	return C.dash_storage16(gipa, unsafe.Pointer(inst), unsafe.Pointer(phys)) != 0
}

//go:build cgo

package vk

/*
#include <stdint.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <stdio.h>

// Every Vulkan call whose arguments hold pointers to arrays or strings goes
// through these functions. They build the Vulkan structures on the C stack
// from flat arguments, so no Go pointer is ever stored in C memory and no C
// memory is freed behind the call's back.
//
// Why not the binding: github.com/vulkan-go/vulkan copies slices into C
// memory that it frees from a finalizer set on a local variable of the
// unpacking function. That finalizer can run as soon as the unpacking
// function returns — before the Vulkan call reads the memory — so under
// GC pressure (GOGC=1) vkCreateComputePipelines, vkQueueSubmit,
// vkCmdPipelineBarrier and others read freed memory (SIGSEGV,
// std::bad_alloc). Calls that pass only scalars, handles or a single
// pointer argument into pinned Go memory still use the binding.
//
// The structures are declared locally, as in fastpath_cgo.go: their layout
// is fixed by the Vulkan ABI, and the project builds without the Vulkan
// headers. Handles are pointer-sized (64-bit platforms only; Open refuses
// others).

typedef void *(*dash_pfn_gipa)(void *instance, const char *name);
typedef void *(*dash_pfn_gdpa)(void *device, const char *name);

typedef struct { uint32_t sType; const void *pNext; const char *pApplicationName; uint32_t applicationVersion;
	const char *pEngineName; uint32_t engineVersion; uint32_t apiVersion; } dash_app_info;
typedef struct { uint32_t sType; const void *pNext; uint32_t flags; const dash_app_info *pApplicationInfo;
	uint32_t enabledLayerCount; const char *const *ppEnabledLayerNames;
	uint32_t enabledExtensionCount; const char *const *ppEnabledExtensionNames; } dash_instance_ci;
typedef struct { uint32_t sType; const void *pNext; uint32_t flags; uint32_t queueFamilyIndex; uint32_t queueCount;
	const float *pQueuePriorities; } dash_queue_ci;
typedef struct { uint32_t sType; const void *pNext; uint32_t flags; uint32_t queueCreateInfoCount;
	const dash_queue_ci *pQueueCreateInfos; uint32_t enabledLayerCount; const char *const *ppEnabledLayerNames;
	uint32_t enabledExtensionCount; const char *const *ppEnabledExtensionNames; const void *pEnabledFeatures; } dash_device_ci;
typedef struct { char name[256]; uint32_t specVersion; uint32_t implementationVersion; char description[256]; } dash_layer_props;
typedef struct { char name[256]; uint32_t specVersion; } dash_ext_props;
typedef struct { uint32_t queueFlags; uint32_t queueCount; uint32_t timestampValidBits; uint32_t granularity[3]; } dash_qfam_props;

typedef struct { uint32_t sType; const void *pNext; uint32_t flags; size_t codeSize; const uint32_t *pCode; } dash_shader_ci;
typedef struct { uint32_t binding; uint32_t descriptorType; uint32_t descriptorCount; uint32_t stageFlags;
	const void *pImmutableSamplers; } dash_dsl_binding;
typedef struct { uint32_t sType; const void *pNext; uint32_t flags; uint32_t bindingCount;
	const dash_dsl_binding *pBindings; } dash_dsl_ci;
typedef struct { uint32_t stageFlags; uint32_t offset; uint32_t size; } dash_push_range;
typedef struct { uint32_t sType; const void *pNext; uint32_t flags; uint32_t setLayoutCount; void *const *pSetLayouts;
	uint32_t pushConstantRangeCount; const dash_push_range *pPushConstantRanges; } dash_pl_ci;
typedef struct { uint32_t constantID; uint32_t offset; size_t size; } dash_spec_entry;
typedef struct { uint32_t mapEntryCount; const dash_spec_entry *pMapEntries; size_t dataSize; const void *pData; } dash_spec_info;
typedef struct { uint32_t sType; const void *pNext; uint32_t flags; uint32_t stage; void *module; const char *pName;
	const dash_spec_info *pSpecializationInfo; } dash_stage_ci;
typedef struct { uint32_t sType; const void *pNext; uint32_t flags; dash_stage_ci stage; void *layout;
	void *basePipelineHandle; int32_t basePipelineIndex; } dash_compute_ci;
typedef struct { uint32_t type; uint32_t descriptorCount; } dash_pool_size;
typedef struct { uint32_t sType; const void *pNext; uint32_t flags; uint32_t maxSets; uint32_t poolSizeCount;
	const dash_pool_size *pPoolSizes; } dash_pool_ci;
typedef struct { uint32_t sType; const void *pNext; uint32_t srcAccessMask; uint32_t dstAccessMask; } dash_mem_barrier;
typedef struct { uint64_t srcOffset; uint64_t dstOffset; uint64_t size; } dash_buffer_copy;
typedef struct { uint32_t sType; const void *pNext; uint32_t waitSemaphoreCount; void *const *pWaitSemaphores;
	const uint32_t *pWaitDstStageMask; uint32_t commandBufferCount; void *const *pCommandBuffers;
	uint32_t signalSemaphoreCount; void *const *pSignalSemaphores; } dash_submit_info;

typedef int32_t (*dash_pfn_create_instance)(const dash_instance_ci *, const void *, void **);
typedef int32_t (*dash_pfn_enum_layers)(uint32_t *, dash_layer_props *);
typedef int32_t (*dash_pfn_enum_exts)(const char *, uint32_t *, dash_ext_props *);
typedef void (*dash_pfn_qfam)(void *, uint32_t *, dash_qfam_props *);
typedef int32_t (*dash_pfn_create_device)(void *, const dash_device_ci *, const void *, void **);
typedef int32_t (*dash_pfn_create_shader)(void *, const dash_shader_ci *, const void *, void **);
typedef int32_t (*dash_pfn_create_dsl)(void *, const dash_dsl_ci *, const void *, void **);
typedef int32_t (*dash_pfn_create_pl)(void *, const dash_pl_ci *, const void *, void **);
typedef int32_t (*dash_pfn_create_compute)(void *, void *, uint32_t, const dash_compute_ci *, const void *, void **);
typedef int32_t (*dash_pfn_create_pool)(void *, const dash_pool_ci *, const void *, void **);
typedef void (*dash_pfn_barrier)(void *, uint32_t, uint32_t, uint32_t, uint32_t, const dash_mem_barrier *,
	uint32_t, const void *, uint32_t, const void *);
typedef void (*dash_pfn_copy)(void *, void *, void *, uint32_t, const dash_buffer_copy *);
typedef int32_t (*dash_pfn_submit)(void *, uint32_t, const dash_submit_info *, void *);
typedef struct { uint32_t sType; const void *pNext; uint32_t flags; size_t initialDataSize; const void *pInitialData; } dash_pcache_ci;
typedef int32_t (*dash_pfn_create_pcache)(void *, const dash_pcache_ci *, const void *, void **);
typedef int32_t (*dash_pfn_get_pcache_data)(void *, void *, size_t *, void *);
typedef void (*dash_pfn_destroy_pcache)(void *, void *, const void *);

enum { DASH_ERR_NO_ENTRY = -1000999 }; // not a VkResult: an entry point is missing

static void *dash_inst_fn(void *gipa, void *inst, const char *name) {
	return ((dash_pfn_gipa)gipa)(inst, name);
}

// names is n NUL-terminated strings laid end to end.
static void dash_split_names(const char *names, uint32_t n, const char **out) {
	for (uint32_t i = 0; i < n; i++) { out[i] = names; names += strlen(names) + 1; }
}

typedef struct { uint32_t sType; const void *pNext; uint32_t enabledCount; const uint32_t *pEnabled;
	uint32_t disabledCount; const uint32_t *pDisabled; } dash_validation_features;

// dash_create_instance creates the instance; sync_val chains
// VkValidationFeaturesEXT enabling synchronization validation (the caller
// enables VK_EXT_validation_features and the validation layer).
static int32_t dash_create_instance(void *gipa, uint32_t api, const char *layers, uint32_t nlayers,
		const char *exts, uint32_t nexts, int sync_val, void **out) {
	dash_pfn_create_instance f = (dash_pfn_create_instance)dash_inst_fn(gipa, NULL, "vkCreateInstance");
	if (f == NULL) return DASH_ERR_NO_ENTRY;
	const char *lp[16], *ep[16];
	if (nlayers > 16 || nexts > 16) return -13; // VK_ERROR_UNKNOWN
	dash_split_names(layers, nlayers, lp);
	dash_split_names(exts, nexts, ep);
	dash_app_info app = { 0, NULL, "dash", 1, "dash", 1, api };
	uint32_t enables[1] = { 4 }; // VK_VALIDATION_FEATURE_ENABLE_SYNCHRONIZATION_VALIDATION_EXT
	dash_validation_features vf = { 1000247000, NULL, 1, enables, 0, NULL };
	dash_instance_ci ci = { 1, sync_val ? &vf : NULL, 0, &app, nlayers, lp, nexts, ep };
	return f(&ci, NULL, out);
}

// dash_has_layer reports whether the instance layer name is available.
static int dash_has_layer(void *gipa, const char *name) {
	dash_pfn_enum_layers f = (dash_pfn_enum_layers)dash_inst_fn(gipa, NULL, "vkEnumerateInstanceLayerProperties");
	if (f == NULL) return 0;
	uint32_t n = 0;
	if (f(&n, NULL) != 0 || n == 0) return 0;
	dash_layer_props *p = calloc(n, sizeof *p);
	if (p == NULL) return 0;
	int found = 0;
	if (f(&n, p) >= 0) {
		for (uint32_t i = 0; i < n; i++) if (strncmp(p[i].name, name, 256) == 0) found = 1;
	}
	free(p);
	return found;
}

// dash_has_instance_ext reports whether the instance extension name is available.
static int dash_has_instance_ext(void *gipa, const char *name) {
	dash_pfn_enum_exts f = (dash_pfn_enum_exts)dash_inst_fn(gipa, NULL, "vkEnumerateInstanceExtensionProperties");
	if (f == NULL) return 0;
	uint32_t n = 0;
	if (f(NULL, &n, NULL) != 0 || n == 0) return 0;
	dash_ext_props *p = calloc(n, sizeof *p);
	if (p == NULL) return 0;
	int found = 0;
	if (f(NULL, &n, p) >= 0) {
		for (uint32_t i = 0; i < n; i++) if (strncmp(p[i].name, name, 256) == 0) found = 1;
	}
	free(p);
	return found;
}

// dash_queue_families writes up to max (flags, timestampValidBits) pairs
// and returns the number of queue families.
static uint32_t dash_queue_families(void *gipa, void *inst, void *phys, uint32_t *flags, uint32_t *tsbits, uint32_t max) {
	dash_pfn_qfam f = (dash_pfn_qfam)dash_inst_fn(gipa, inst, "vkGetPhysicalDeviceQueueFamilyProperties");
	if (f == NULL) return 0;
	uint32_t n = 0;
	f(phys, &n, NULL);
	if (n == 0) return 0;
	dash_qfam_props *p = calloc(n, sizeof *p);
	if (p == NULL) return 0;
	f(phys, &n, p);
	for (uint32_t i = 0; i < n && i < max; i++) { flags[i] = p[i].queueFlags; tsbits[i] = p[i].timestampValidBits; }
	free(p);
	return n;
}

typedef int32_t (*dash_pfn_enum_dev_exts)(void *, const char *, uint32_t *, dash_ext_props *);

// dash_has_device_ext reports whether the physical device offers extension name.
static int dash_has_device_ext(void *gipa, void *inst, void *phys, const char *name) {
	dash_pfn_enum_dev_exts f = (dash_pfn_enum_dev_exts)dash_inst_fn(gipa, inst, "vkEnumerateDeviceExtensionProperties");
	if (f == NULL) return 0;
	uint32_t n = 0;
	if (f(phys, NULL, &n, NULL) != 0 || n == 0) return 0;
	dash_ext_props *p = calloc(n, sizeof *p);
	if (p == NULL) return 0;
	int found = 0;
	if (f(phys, NULL, &n, p) >= 0) {
		for (uint32_t i = 0; i < n; i++) if (strncmp(p[i].name, name, 256) == 0) found = 1;
	}
	free(p);
	return found;
}

static int32_t dash_create_device(void *gipa, void *inst, void *phys, uint32_t qfam, const char *layers, uint32_t nlayers,
		const char *exts, uint32_t nexts, uint32_t storage16, void **out) {
	dash_pfn_create_device f = (dash_pfn_create_device)dash_inst_fn(gipa, inst, "vkCreateDevice");
	if (f == NULL) return DASH_ERR_NO_ENTRY;
	const char *lp[16], *ep[16];
	if (nlayers > 16 || nexts > 16) return -13;
	dash_split_names(layers, nlayers, lp);
	dash_split_names(exts, nexts, ep);
	float prio = 1.0f;
	dash_queue_ci q = { 2, NULL, 0, qfam, 1, &prio };
	// VkPhysicalDevice16BitStorageFeatures{storageBuffer16BitAccess} when the
	// device has it (matmul_f16*.comp)
	struct { uint32_t sType; void *pNext; uint32_t sb16, ubo16, pc16, io16; } f16 = { 1000083000, NULL, 1, 0, 0, 0 };
	dash_device_ci ci = { 3, storage16 ? (const void *)&f16 : NULL, 0, 1, &q, nlayers, lp, nexts, ep, NULL };
	return f(phys, &ci, NULL, out);
}

// ---- debug utils: validation messages collected on the C side ----
//
// The layer calls the messenger from whichever thread makes the Vulkan call
// (or its own); messages are copied into a fixed table under a mutex and
// drained by Go (dash_take_msg), so no Go code runs inside the callback.

typedef struct { uint32_t sType; const void *pNext; uint32_t flags; const char *pMessageIdName; int32_t messageIdNumber;
	const char *pMessage; } dash_dbg_cb_data; // leading fields of VkDebugUtilsMessengerCallbackDataEXT
typedef uint32_t (*dash_dbg_cb)(uint32_t severity, uint32_t types, const dash_dbg_cb_data *data, void *user);
typedef struct { uint32_t sType; const void *pNext; uint32_t flags; uint32_t severity; uint32_t types;
	dash_dbg_cb callback; void *user; } dash_messenger_ci;
typedef int32_t (*dash_pfn_create_messenger)(void *, const dash_messenger_ci *, const void *, void **);
typedef void (*dash_pfn_destroy_messenger)(void *, void *, const void *);

enum { DASH_MSGS = 64, DASH_MSG_LEN = 2048 };
static pthread_mutex_t dash_msg_mu = PTHREAD_MUTEX_INITIALIZER;
static char dash_msgs[DASH_MSGS][DASH_MSG_LEN];
static int dash_nmsg, dash_dropped;

static uint32_t dash_messenger_cb(uint32_t severity, uint32_t types, const dash_dbg_cb_data *d, void *user) {
	const char *id = d && d->pMessageIdName ? d->pMessageIdName : "";
	const char *msg = d && d->pMessage ? d->pMessage : "";
	// errors, and any synchronization hazard whatever its severity
	int keep = (severity & 0x1000) != 0 || strncmp(id, "SYNC-", 5) == 0;
	if (!keep) return 0;
	pthread_mutex_lock(&dash_msg_mu);
	if (dash_nmsg < DASH_MSGS) {
		snprintf(dash_msgs[dash_nmsg], DASH_MSG_LEN, "[%s] %s", id, msg);
		dash_nmsg++;
	} else {
		dash_dropped++;
	}
	pthread_mutex_unlock(&dash_msg_mu);
	return 0;
}

// dash_take_msgs copies up to max messages into out (max × DASH_MSG_LEN
// bytes), clears the table and returns the number copied; *dropped gets
// the messages that did not fit.
static int dash_take_msgs(char *out, int max, int *dropped) {
	pthread_mutex_lock(&dash_msg_mu);
	int n = dash_nmsg < max ? dash_nmsg : max;
	for (int i = 0; i < n; i++) memcpy(out + (size_t)i * DASH_MSG_LEN, dash_msgs[i], DASH_MSG_LEN);
	*dropped = dash_dropped + (dash_nmsg - n);
	dash_nmsg = 0;
	dash_dropped = 0;
	pthread_mutex_unlock(&dash_msg_mu);
	return n;
}

static int32_t dash_create_messenger(void *gipa, void *inst, void **out) {
	dash_pfn_create_messenger f = (dash_pfn_create_messenger)dash_inst_fn(gipa, inst, "vkCreateDebugUtilsMessengerEXT");
	if (f == NULL) return DASH_ERR_NO_ENTRY;
	// severity WARNING | ERROR; types GENERAL | VALIDATION | PERFORMANCE
	dash_messenger_ci ci = { 1000128004, NULL, 0, 0x100 | 0x1000, 1 | 2 | 4, dash_messenger_cb, NULL };
	return f(inst, &ci, NULL, out);
}

static void dash_destroy_messenger(void *gipa, void *inst, void *m) {
	dash_pfn_destroy_messenger f = (dash_pfn_destroy_messenger)dash_inst_fn(gipa, inst, "vkDestroyDebugUtilsMessengerEXT");
	if (f != NULL) f(inst, m, NULL);
}

// Device-level entry points, loaded once per device.
typedef struct {
	dash_pfn_create_shader create_shader;
	dash_pfn_create_dsl create_dsl;
	dash_pfn_create_pl create_pl;
	dash_pfn_create_compute create_compute;
	dash_pfn_create_pool create_pool;
	dash_pfn_barrier barrier;
	dash_pfn_copy copy;
	dash_pfn_submit submit;
	dash_pfn_create_pcache create_pcache;
	dash_pfn_get_pcache_data get_pcache_data;
	dash_pfn_destroy_pcache destroy_pcache;
} dash_dev_fns;

static int dash_load_dev(void *gipa, void *inst, void *dev, dash_dev_fns *f) {
	dash_pfn_gdpa gdpa = (dash_pfn_gdpa)dash_inst_fn(gipa, inst, "vkGetDeviceProcAddr");
	if (gdpa == NULL) return 0;
	f->create_shader = (dash_pfn_create_shader)gdpa(dev, "vkCreateShaderModule");
	f->create_dsl = (dash_pfn_create_dsl)gdpa(dev, "vkCreateDescriptorSetLayout");
	f->create_pl = (dash_pfn_create_pl)gdpa(dev, "vkCreatePipelineLayout");
	f->create_compute = (dash_pfn_create_compute)gdpa(dev, "vkCreateComputePipelines");
	f->create_pool = (dash_pfn_create_pool)gdpa(dev, "vkCreateDescriptorPool");
	f->barrier = (dash_pfn_barrier)gdpa(dev, "vkCmdPipelineBarrier");
	f->copy = (dash_pfn_copy)gdpa(dev, "vkCmdCopyBuffer");
	f->submit = (dash_pfn_submit)gdpa(dev, "vkQueueSubmit");
	f->create_pcache = (dash_pfn_create_pcache)gdpa(dev, "vkCreatePipelineCache");
	f->get_pcache_data = (dash_pfn_get_pcache_data)gdpa(dev, "vkGetPipelineCacheData");
	f->destroy_pcache = (dash_pfn_destroy_pcache)gdpa(dev, "vkDestroyPipelineCache");
	return f->create_shader && f->create_dsl && f->create_pl && f->create_compute && f->create_pool &&
		f->barrier && f->copy && f->submit && f->create_pcache && f->get_pcache_data && f->destroy_pcache;
}

// code points into pinned Go memory for the duration of the call only:
// vkCreateShaderModule does not keep pCode.
static int32_t dash_create_shader(const dash_dev_fns *f, void *dev, const uint32_t *code, size_t size, void **out) {
	dash_shader_ci ci = { 16, NULL, 0, size, code };
	return f->create_shader(dev, &ci, NULL, out);
}

// dash_create_dsl creates a layout of n storage buffers at bindings 0..n-1
// for the compute stage (flags 1: a push-descriptor layout).
static int32_t dash_create_dsl(const dash_dev_fns *f, void *dev, uint32_t n, uint32_t flags, void **out) {
	dash_dsl_binding b[16];
	if (n > 16) return -13;
	for (uint32_t i = 0; i < n; i++) { b[i].binding = i; b[i].descriptorType = 7; b[i].descriptorCount = 1; b[i].stageFlags = 0x20; b[i].pImmutableSamplers = NULL; }
	dash_dsl_ci ci = { 32, NULL, flags, n, b };
	return f->create_dsl(dev, &ci, NULL, out);
}

static int32_t dash_create_pl(const dash_dev_fns *f, void *dev, void *set_layout, uint32_t push_size, void **out) {
	void *sets[1] = { set_layout };
	dash_push_range r = { 0x20, 0, push_size };
	dash_pl_ci ci = { 30, NULL, 0, 1, sets, push_size ? 1 : 0, &r };
	return f->create_pl(dev, &ci, NULL, out);
}

// dash_create_compute creates a compute pipeline for entry point "main" with
// nspec uint32 specialization constants (constant_id i at offset 4i) and,
// when wg > 0, constant_id wg_id = wg (the workgroup size; ignored by
// shaders that do not declare it).
static int32_t dash_create_compute(const dash_dev_fns *f, void *dev, void *cache, void *layout, void *module,
		uint32_t nspec, uint32_t s0, uint32_t s1, uint32_t s2, uint32_t s3, uint32_t wg_id, uint32_t wg, void **out) {
	uint32_t data[5] = { s0, s1, s2, s3, wg };
	dash_spec_entry e[5];
	if (nspec > 4) return -13;
	for (uint32_t i = 0; i < nspec; i++) { e[i].constantID = i; e[i].offset = 4 * i; e[i].size = 4; }
	uint32_t n = nspec;
	if (wg > 0) { e[n].constantID = wg_id; e[n].offset = 16; e[n].size = 4; n++; }
	dash_spec_info si = { n, e, sizeof data, data };
	dash_compute_ci ci;
	memset(&ci, 0, sizeof ci);
	ci.sType = 29;
	ci.stage.sType = 18;
	ci.stage.stage = 0x20;
	ci.stage.module = module;
	ci.stage.pName = "main";
	ci.stage.pSpecializationInfo = n ? &si : NULL;
	ci.layout = layout;
	ci.basePipelineIndex = -1;
	return f->create_compute(dev, cache, 1, &ci, NULL, out);
}

static int32_t dash_create_pool(const dash_dev_fns *f, void *dev, uint32_t max_sets, uint32_t storage_buffers, void **out) {
	dash_pool_size s = { 7, storage_buffers };
	dash_pool_ci ci = { 33, NULL, 0, max_sets, 1, &s };
	return f->create_pool(dev, &ci, NULL, out);
}

static void dash_barrier(const dash_dev_fns *f, void *cmd, uint32_t src_stage, uint32_t dst_stage, uint32_t src_access, uint32_t dst_access) {
	dash_mem_barrier b = { 46, NULL, src_access, dst_access };
	f->barrier(cmd, src_stage, dst_stage, 0, 1, &b, 0, NULL, 0, NULL);
}

static void dash_copy(const dash_dev_fns *f, void *cmd, void *src, void *dst, uint64_t src_off, uint64_t dst_off, uint64_t size) {
	dash_buffer_copy r = { src_off, dst_off, size };
	f->copy(cmd, src, dst, 1, &r);
}

// data points into pinned Go memory for the call only (the driver copies it).
static int32_t dash_create_pcache(const dash_dev_fns *f, void *dev, const void *data, size_t size, void **out) {
	dash_pcache_ci ci = { 17, NULL, 0, size, data };
	return f->create_pcache(dev, &ci, NULL, out);
}

// dash_pcache_data returns the cache's serialised data in a malloc'd buffer
// (the caller frees it), or NULL.
static void *dash_pcache_data(const dash_dev_fns *f, void *dev, void *cache, size_t *size) {
	*size = 0;
	if (f->get_pcache_data(dev, cache, size, NULL) != 0 || *size == 0) return NULL;
	void *p = malloc(*size);
	if (p == NULL) return NULL;
	if (f->get_pcache_data(dev, cache, size, p) < 0) { free(p); *size = 0; return NULL; }
	return p;
}

static void dash_destroy_pcache(const dash_dev_fns *f, void *dev, void *cache) {
	f->destroy_pcache(dev, cache, NULL);
}

static int32_t dash_submit(const dash_dev_fns *f, void *queue, void *cmd, void *fence) {
	void *cmds[1] = { cmd };
	dash_submit_info si = { 4, NULL, 0, NULL, NULL, 1, cmds, 0, NULL };
	return f->submit(queue, 1, &si, fence);
}
*/
import "C"

import (
	"errors"
	"fmt"
	"runtime"
	"strings"
	"unsafe"

	vulkan "github.com/vulkan-go/vulkan"
)

// errNoEntry is the shim's result when a Vulkan entry point is missing.
const errNoEntry = -1000999

// shimErr converts a shim result to an error naming the call.
func shimErr(what string, r C.int32_t) error {
	if r == 0 {
		return nil
	}
	if r == errNoEntry {
		return fmt.Errorf("vk: %s: the Vulkan loader has no entry point for it", what)
	}
	return vkErr(what, vulkan.Result(r))
}

// cNames joins names into one C string of NUL-terminated names laid end to
// end; the caller frees it.
func cNames(names []string) *C.char {
	var b strings.Builder
	for _, n := range names {
		b.WriteString(strings.TrimSuffix(n, "\x00"))
		b.WriteByte(0)
	}
	b.WriteByte(0)
	return C.CString(b.String())
}

func check64() error {
	if unsafe.Sizeof(uintptr(0)) != 8 {
		return errors.New("vk: the Vulkan backend needs a 64-bit platform (non-dispatchable handles are passed as pointers)")
	}
	return nil
}

func shimCreateInstance(api uint32, layers, exts []string, syncVal bool) (vulkan.Instance, error) {
	if err := check64(); err != nil {
		return nil, err
	}
	cl, ce := cNames(layers), cNames(exts)
	defer C.free(unsafe.Pointer(cl))
	defer C.free(unsafe.Pointer(ce))
	var out unsafe.Pointer
	sv := C.int(0)
	if syncVal {
		sv = 1
	}
	r := C.dash_create_instance(gipa, C.uint32_t(api), cl, C.uint32_t(len(layers)), ce, C.uint32_t(len(exts)), sv, &out)
	if err := shimErr("vkCreateInstance", r); err != nil {
		return nil, err
	}
	return vulkan.Instance(out), nil
}

func shimHasLayer(name string) bool {
	cs := C.CString(strings.TrimSuffix(name, "\x00"))
	defer C.free(unsafe.Pointer(cs))
	return C.dash_has_layer(gipa, cs) != 0
}

func shimHasInstanceExt(name string) bool {
	cs := C.CString(strings.TrimSuffix(name, "\x00"))
	defer C.free(unsafe.Pointer(cs))
	return C.dash_has_instance_ext(gipa, cs) != 0
}

// queueFamily is what device selection needs of a queue family.
type queueFamily struct {
	flags         vulkan.QueueFlags
	timestampBits uint32
}

func shimQueueFamilies(inst vulkan.Instance, phys vulkan.PhysicalDevice) []queueFamily {
	const max = 64
	var flags, ts [max]C.uint32_t
	n := int(C.dash_queue_families(gipa, unsafe.Pointer(inst), unsafe.Pointer(phys), &flags[0], &ts[0], max))
	n = min(n, max)
	out := make([]queueFamily, n)
	for i := range out {
		out[i] = queueFamily{flags: vulkan.QueueFlags(flags[i]), timestampBits: uint32(ts[i])}
	}
	return out
}

func shimHasDeviceExt(inst vulkan.Instance, phys vulkan.PhysicalDevice, name string) bool {
	cs := C.CString(strings.TrimSuffix(name, "\x00"))
	defer C.free(unsafe.Pointer(cs))
	return C.dash_has_device_ext(gipa, unsafe.Pointer(inst), unsafe.Pointer(phys), cs) != 0
}

func shimCreateDevice(inst vulkan.Instance, phys vulkan.PhysicalDevice, qfam uint32, layers, exts []string, storage16 bool) (vulkan.Device, error) {
	cl, ce := cNames(layers), cNames(exts)
	defer C.free(unsafe.Pointer(cl))
	defer C.free(unsafe.Pointer(ce))
	var out unsafe.Pointer
	r := C.dash_create_device(gipa, unsafe.Pointer(inst), unsafe.Pointer(phys), C.uint32_t(qfam), cl, C.uint32_t(len(layers)),
		ce, C.uint32_t(len(exts)), C.uint32_t(b2i(storage16)), &out)
	if err := shimErr("vkCreateDevice", r); err != nil {
		return nil, err
	}
	return vulkan.Device(out), nil
}

// devFns holds the device-level entry points the shim calls.
type devFns struct {
	f   C.dash_dev_fns
	dev unsafe.Pointer
}

func loadDevFns(inst vulkan.Instance, dev vulkan.Device) (*devFns, error) {
	d := &devFns{dev: unsafe.Pointer(dev)}
	if C.dash_load_dev(gipa, unsafe.Pointer(inst), d.dev, &d.f) == 0 {
		return nil, errors.New("vk: the device lacks a core Vulkan 1.0 entry point")
	}
	return d, nil
}

func (d *devFns) createShaderModule(code []uint32) (vulkan.ShaderModule, error) {
	if len(code) == 0 {
		return vulkan.NullShaderModule, errors.New("empty SPIR-V")
	}
	var out unsafe.Pointer
	// code is Go memory passed as a call argument: pinned for the call.
	r := C.dash_create_shader(&d.f, d.dev, (*C.uint32_t)(unsafe.Pointer(&code[0])), C.size_t(4*len(code)), &out)
	if err := shimErr("vkCreateShaderModule", r); err != nil {
		return vulkan.NullShaderModule, err
	}
	return vulkan.ShaderModule(out), nil
}

// createStorageSetLayout creates a layout of n storage buffers; push makes
// it a push-descriptor layout (VK_KHR_push_descriptor).
func (d *devFns) createStorageSetLayout(n int, push bool) (vulkan.DescriptorSetLayout, error) {
	var out unsafe.Pointer
	flags := C.uint32_t(0)
	if push {
		flags = 1 // VK_DESCRIPTOR_SET_LAYOUT_CREATE_PUSH_DESCRIPTOR_BIT_KHR
	}
	if err := shimErr("vkCreateDescriptorSetLayout", C.dash_create_dsl(&d.f, d.dev, C.uint32_t(n), flags, &out)); err != nil {
		return vulkan.NullDescriptorSetLayout, err
	}
	return vulkan.DescriptorSetLayout(out), nil
}

func (d *devFns) createPipelineLayout(set vulkan.DescriptorSetLayout, pushSize uint32) (vulkan.PipelineLayout, error) {
	var out unsafe.Pointer
	if err := shimErr("vkCreatePipelineLayout", C.dash_create_pl(&d.f, d.dev, unsafe.Pointer(set), C.uint32_t(pushSize), &out)); err != nil {
		return vulkan.NullPipelineLayout, err
	}
	return vulkan.PipelineLayout(out), nil
}

// createComputePipeline creates a pipeline through cache (may be nil). It
// is safe to call without the context lock: pipeline creation and (by
// default) pipeline caches are internally synchronised.
func (d *devFns) createComputePipeline(cache unsafe.Pointer, layout vulkan.PipelineLayout, mod vulkan.ShaderModule, spec []uint32, wg uint32) (vulkan.Pipeline, error) {
	if len(spec) > 4 {
		return vulkan.NullPipeline, fmt.Errorf("%d specialization constants (at most 4)", len(spec))
	}
	var s [4]uint32
	copy(s[:], spec)
	var out unsafe.Pointer
	r := C.dash_create_compute(&d.f, d.dev, cache, unsafe.Pointer(layout), unsafe.Pointer(mod), C.uint32_t(len(spec)),
		C.uint32_t(s[0]), C.uint32_t(s[1]), C.uint32_t(s[2]), C.uint32_t(s[3]), C.uint32_t(WorkgroupSizeConstantID), C.uint32_t(wg), &out)
	if err := shimErr("vkCreateComputePipelines", r); err != nil {
		return vulkan.NullPipeline, err
	}
	return vulkan.Pipeline(out), nil
}

func (d *devFns) createStoragePool(maxSets, buffers uint32) (vulkan.DescriptorPool, error) {
	var out unsafe.Pointer
	if err := shimErr("vkCreateDescriptorPool", C.dash_create_pool(&d.f, d.dev, C.uint32_t(maxSets), C.uint32_t(buffers), &out)); err != nil {
		return vulkan.NullDescriptorPool, err
	}
	return vulkan.DescriptorPool(out), nil
}

func (d *devFns) memoryBarrier(cmd vulkan.CommandBuffer, srcStage, dstStage vulkan.PipelineStageFlags, srcAccess, dstAccess vulkan.AccessFlags) {
	C.dash_barrier(&d.f, unsafe.Pointer(cmd), C.uint32_t(srcStage), C.uint32_t(dstStage), C.uint32_t(srcAccess), C.uint32_t(dstAccess))
}

func (d *devFns) copyBuffer(cmd vulkan.CommandBuffer, src, dst vulkan.Buffer, srcOff, dstOff, size uint64) {
	C.dash_copy(&d.f, unsafe.Pointer(cmd), unsafe.Pointer(src), unsafe.Pointer(dst), C.uint64_t(srcOff), C.uint64_t(dstOff), C.uint64_t(size))
}

func (d *devFns) submit(queue vulkan.Queue, cmd vulkan.CommandBuffer, fence vulkan.Fence) error {
	return shimErr("vkQueueSubmit", C.dash_submit(&d.f, unsafe.Pointer(queue), unsafe.Pointer(cmd), unsafe.Pointer(fence)))
}

// createPipelineCache creates a VkPipelineCache seeded with data (may be
// empty).
func (d *devFns) createPipelineCache(data []byte) (unsafe.Pointer, error) {
	var out unsafe.Pointer
	var p unsafe.Pointer
	if len(data) > 0 {
		p = unsafe.Pointer(&data[0]) // pinned for the call; the driver copies it
	}
	r := C.dash_create_pcache(&d.f, d.dev, p, C.size_t(len(data)), &out)
	runtime.KeepAlive(data)
	if err := shimErr("vkCreatePipelineCache", r); err != nil {
		return nil, err
	}
	return out, nil
}

// pipelineCacheData returns the serialised contents of cache.
func (d *devFns) pipelineCacheData(cache unsafe.Pointer) []byte {
	var n C.size_t
	p := C.dash_pcache_data(&d.f, d.dev, cache, &n)
	if p == nil {
		return nil
	}
	defer C.free(p)
	return C.GoBytes(p, C.int(n))
}

func (d *devFns) destroyPipelineCache(cache unsafe.Pointer) {
	if cache != nil {
		C.dash_destroy_pcache(&d.f, d.dev, cache)
	}
}

// shimCreateMessenger installs the debug-utils messenger that collects
// validation errors and synchronization hazards (see takeMessages).
func shimCreateMessenger(inst vulkan.Instance) (unsafe.Pointer, error) {
	var out unsafe.Pointer
	if err := shimErr("vkCreateDebugUtilsMessengerEXT", C.dash_create_messenger(gipa, unsafe.Pointer(inst), &out)); err != nil {
		return nil, err
	}
	return out, nil
}

func shimDestroyMessenger(inst vulkan.Instance, m unsafe.Pointer) {
	C.dash_destroy_messenger(gipa, unsafe.Pointer(inst), m)
}

// takeMessages drains the messages the debug-utils messenger collected
// (and a note on any that did not fit its table).
func takeMessages() []string {
	const max = C.DASH_MSGS
	buf := (*C.char)(C.malloc(C.size_t(max * C.DASH_MSG_LEN)))
	defer C.free(unsafe.Pointer(buf))
	var dropped C.int
	n := int(C.dash_take_msgs(buf, max, &dropped))
	out := make([]string, 0, n+1)
	for i := 0; i < n; i++ {
		out = append(out, C.GoString((*C.char)(unsafe.Add(unsafe.Pointer(buf), i*C.DASH_MSG_LEN))))
	}
	if dropped > 0 {
		out = append(out, fmt.Sprintf("(%d more validation messages not kept)", int(dropped)))
	}
	return out
}

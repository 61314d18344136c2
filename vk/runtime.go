//go:build cgo

package vk

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"
	"unsafe"

	vulkan "github.com/vulkan-go/vulkan"
)

// Options configures Open.
type Options struct {
	// Device is the index of the physical device (vulkan:N).
	Device int
	// Validate enables VK_LAYER_KHRONOS_validation and records every
	// validation error (see ValidationErrors). DASH_VK_VALIDATE=1 turns it
	// on too.
	Validate bool
	// SyncValidate also enables the layer's synchronization validation
	// (VK_EXT_validation_features): a missing barrier is reported as a
	// SYNC-HAZARD-* error. Implies Validate; DASH_VK_VALIDATE=sync turns
	// it on.
	SyncValidate bool
	// NoPushDescriptors uses cached descriptor sets even where the device
	// offers VK_KHR_push_descriptor (also DASH_VK_NO_PUSH_DESCRIPTORS=1).
	NoPushDescriptors bool
	// PipelineCacheDir is where the VkPipelineCache is persisted (default:
	// os.UserCacheDir()/dash; DASH_VK_PIPELINE_CACHE=off or "-" disables
	// it, any other value of that variable is the directory).
	PipelineCacheDir string
	// FP16MatMul opts into the fp16-operand matmul variant (fp32
	// accumulation) on devices with storageBuffer16BitAccess; also
	// DASH_VK_FP16=1 and Backend.SetFP16MatMul (matmul_variants.go).
	FP16MatMul bool
	// MaxWorkgroupSize caps Context.WorkgroupSize (0: no cap beyond the
	// device's limit); tests use 128, the spec's guaranteed minimum.
	MaxWorkgroupSize int
	// discretePolicy makes the memory manager behave as on a discrete GPU
	// with resizable BAR (reads through the readback pool, zero-fills on
	// the device) on any device: for tests.
	discretePolicy bool
	// Profile records timestamp queries around every dispatch (also
	// DASH_PROFILE=1); see Context.Profile.
	Profile bool
	// BatchSize is the number of dispatches recorded into one command buffer
	// before it is submitted without waiting (default 256).
	BatchSize int
	// ForceStaging makes every host transfer go through a staging buffer and
	// a copy command even where memory is host-visible (to test the path
	// discrete GPUs take).
	ForceStaging bool
	// BlockSize is the size of the memory blocks buffers are sub-allocated
	// from (default 64 MiB, capped by maxStorageBufferRange).
	BlockSize uint64
}

// Stats counts the runtime's host-visible events.
type Stats struct {
	Submits     int // vkQueueSubmit calls
	Waits       int // host waits on fences
	Dispatches  int // compute dispatches recorded
	Barriers    int // pipeline barriers recorded
	Copies      int // transfer commands recorded (staging copies, fills)
	Pipelines   int // compute pipelines created
	BlockAllocs int // vkAllocateMemory calls
	// Descriptors: sets allocated (cached-set mode), descriptors written
	// into them with vkUpdateDescriptorSets, descriptors pushed with
	// vkCmdPushDescriptorSetKHR (push mode), and resets of the set cache.
	DescriptorSets, DescriptorWrites, DescriptorPushes, DescriptorResets int
	// LargeReuses counts larger-than-block requests served by an idle
	// dedicated block instead of a new vkAllocateMemory.
	LargeReuses int
	// PipelineCompileNanos is the time spent creating pipelines.
	PipelineCompileNanos int64
}

// Context is an open Vulkan device with its memory manager, command
// recorder and pipeline cache. All methods are safe for concurrent use: a
// mutex serialises access to the device.
type Context struct {
	mu sync.Mutex

	inst      vulkan.Instance
	dbg       vulkan.DebugReportCallback
	hasDbg    bool
	messenger unsafe.Pointer // debug-utils messenger (nil: none)
	validate  bool
	phys      vulkan.PhysicalDevice
	info      DeviceInfo
	dev       vulkan.Device
	queue     vulkan.Queue
	qfam      uint32
	opts      Options

	mem  *memory
	fast *fastPath // single-cgo-call dispatch recording
	desc *descCache
	// pushDesc: descriptors are pushed (VK_KHR_push_descriptor) rather than
	// bound from cached sets.
	pushDesc bool
	wg       int     // Context.WorkgroupSize
	fns      *devFns // C shim for calls that pass arrays or strings (cshim_cgo.go)
	rec      *recorder
	pipes    *pipelineCache
	prof     *profiler
	mm       matmulFeatures // matmul variants (matmul_variants.go)

	stats     Stats
	err       error // sticky device error
	closed    bool
	compiling int // pipelines being compiled with mu released

	// inject forces the VkResult of the next call at a site (tests).
	inject map[faultSite]vulkan.Result
}

// faultSite names a call whose result tests can force (Context.injectFault).
type faultSite int

const (
	siteSubmit faultSite = iota // vkQueueSubmit
	siteWait                    // vkWaitForFences
	siteAlloc                   // vkAllocateMemory (any pool)
)

// injectFault makes the next call at site return r (tests). Caller holds
// c.mu or the context is not shared yet.
func (c *Context) injectFault(site faultSite, r vulkan.Result) {
	if c.inject == nil {
		c.inject = map[faultSite]vulkan.Result{}
	}
	c.inject[site] = r
}

// injected returns and clears the forced result at site (Success: none).
func (c *Context) injected(site faultSite) vulkan.Result {
	r, ok := c.inject[site]
	if !ok {
		return vulkan.Success
	}
	delete(c.inject, site)
	return r
}

// Device errors: Sync, Close and the training loop see these (wrapped, with
// the failing call named) instead of a panic. After one, the context
// records nothing more: kernels are no-ops, reads return zeros, and every
// Sync returns the error, so a trainer can stop and keep its last
// checkpoint.
var (
	ErrDeviceLost        = errors.New("Vulkan device lost")
	ErrOutOfDeviceMemory = errors.New("out of device memory")
	ErrOutOfHostMemory   = errors.New("out of host memory")
)

// WorkgroupSize is the 1-D workgroup size kernels should use on this
// device: 256 where maxComputeWorkGroupInvocations allows it (every GPU
// here), else the largest power of two within the limit (the spec
// guarantees 128), capped by Options.MaxWorkgroupSize.
//
// Interface with the shaders: every pipeline gets specialization constant
// WorkgroupSizeConstantID set to this value (an ID a shader does not
// declare is ignored), so a shader opts in with
//
//	layout(local_size_x_id = 100) in;
//
// and its dispatch computes the grid with the same number
// (Backend.groups1D(n, c.WorkgroupSize())). Shaders that keep a literal
// local_size_x ignore it.
func (c *Context) WorkgroupSize() int { return c.wg }

// WorkgroupSizeConstantID is the specialization constant ID that carries
// WorkgroupSize to every pipeline.
const WorkgroupSizeConstantID = 100

func chooseWorkgroupSize(maxInv uint32, cap int) int {
	wg := 256
	for wg > 1 && uint32(wg) > maxInv {
		wg /= 2
	}
	for cap > 0 && wg > cap && wg > 1 {
		wg /= 2
	}
	return wg
}

// Info describes the context's physical device.
func (c *Context) Info() DeviceInfo { return c.info }

// Stats returns a snapshot of the event counters.
func (c *Context) Stats() Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stats
}

// validation messages are recorded globally: the binding routes every debug
// report through a single Go function.
var (
	valMu     sync.Mutex
	valErrors []string
)

// debugCallback is the debug-report fallback where VK_EXT_debug_utils is
// missing.
func debugCallback(flags vulkan.DebugReportFlags, _ vulkan.DebugReportObjectType, _ uint64, _ uint, code int32, prefix, msg string, _ unsafe.Pointer) vulkan.Bool32 {
	if flags&vulkan.DebugReportFlags(vulkan.DebugReportErrorBit) != 0 {
		valMu.Lock()
		if len(valErrors) < 1000 {
			valErrors = append(valErrors, fmt.Sprintf("[%s %d] %s", prefix, code, msg))
		}
		valMu.Unlock()
	}
	return vulkan.False
}

// ValidationErrors returns the validation-layer errors and
// synchronization hazards recorded since the last call (all contexts share
// one callback) and clears the list.
func ValidationErrors() []string {
	valMu.Lock()
	defer valMu.Unlock()
	out := append(valErrors, takeMessages()...)
	valErrors = nil
	return out
}

func cstr(s string) string { return s + "\x00" }

func vkErr(what string, r vulkan.Result) error {
	if r == vulkan.Success {
		return nil
	}
	var e error
	switch r {
	case vulkan.ErrorDeviceLost:
		e = ErrDeviceLost
	case vulkan.ErrorOutOfDeviceMemory:
		e = ErrOutOfDeviceMemory
	case vulkan.ErrorOutOfHostMemory:
		e = ErrOutOfHostMemory
	default:
		e = vulkan.Error(r)
	}
	return fmt.Errorf("vk: %s: %w (VkResult %d)", what, e, int32(r))
}

func hasLayer(name string) bool { return shimHasLayer(name) }

func hasInstanceExt(name string) bool { return shimHasInstanceExt(name) }

// instance is a created instance with its validation callbacks.
type instance struct {
	inst      vulkan.Instance
	cb        vulkan.DebugReportCallback
	dbg       bool           // cb is set
	messenger unsafe.Pointer // debug-utils messenger, or nil
}

// createInstance creates a Vulkan 1.1 instance, with the validation layer
// when validate is set and the layer exists (synchronization validation too
// when syncVal), and a debug-utils messenger (debug-report callback where
// debug utils is missing) that records errors and hazards.
func createInstance(validate, syncVal bool) (instance, error) {
	if err := loadVulkan(); err != nil {
		return instance{}, err
	}
	var layers, exts []string
	dbg, utils := false, false
	if validate {
		if !hasLayer("VK_LAYER_KHRONOS_validation") {
			return instance{}, errors.New("vk: validation requested but VK_LAYER_KHRONOS_validation is not installed (apt-get install vulkan-validationlayers)")
		}
		layers = append(layers, cstr("VK_LAYER_KHRONOS_validation"))
		if hasInstanceExt("VK_EXT_debug_utils") {
			exts = append(exts, cstr("VK_EXT_debug_utils"))
			utils = true
		} else if hasInstanceExt("VK_EXT_debug_report") {
			exts = append(exts, cstr("VK_EXT_debug_report"))
			dbg = true
		}
		if syncVal {
			// the layer implements VK_EXT_validation_features itself
			exts = append(exts, cstr("VK_EXT_validation_features"))
		}
	}
	inst, err := shimCreateInstance(vulkan.MakeVersion(1, 1, 0), layers, exts, validate && syncVal)
	if err != nil {
		return instance{}, err
	}
	if err := vulkan.InitInstance(inst); err != nil {
		vulkan.DestroyInstance(inst, nil)
		return instance{}, fmt.Errorf("vk: loading instance functions: %w", err)
	}
	out := instance{inst: inst}
	if utils {
		m, err := shimCreateMessenger(inst)
		if err != nil {
			vulkan.DestroyInstance(inst, nil)
			return instance{}, fmt.Errorf("vk: validation messenger: %w", err)
		}
		out.messenger = m
	}
	var cb vulkan.DebugReportCallback
	if dbg {
		dci := &vulkan.DebugReportCallbackCreateInfo{
			SType:       vulkan.StructureTypeDebugReportCallbackCreateInfo,
			Flags:       vulkan.DebugReportFlags(vulkan.DebugReportErrorBit | vulkan.DebugReportWarningBit),
			PfnCallback: debugCallback,
		}
		if r := vulkan.CreateDebugReportCallback(inst, dci, nil, &cb); r != vulkan.Success {
			dbg = false
		}
	}
	out.cb, out.dbg = cb, dbg
	return out, nil
}

func (in instance) destroy() {
	if in.inst == nil {
		return
	}
	if in.messenger != nil {
		shimDestroyMessenger(in.inst, in.messenger)
	}
	if in.dbg {
		vulkan.DestroyDebugReportCallback(in.inst, in.cb, nil)
	}
	vulkan.DestroyInstance(in.inst, nil)
}

func physicalDevices(inst vulkan.Instance) ([]vulkan.PhysicalDevice, error) {
	var n uint32
	if err := vkErr("vkEnumeratePhysicalDevices", vulkan.EnumeratePhysicalDevices(inst, &n, nil)); err != nil {
		return nil, err
	}
	if n == 0 {
		return nil, nil
	}
	devs := make([]vulkan.PhysicalDevice, n)
	if err := vkErr("vkEnumeratePhysicalDevices", vulkan.EnumeratePhysicalDevices(inst, &n, devs)); err != nil {
		return nil, err
	}
	return devs[:n], nil
}

func describe(inst vulkan.Instance, idx int, pd vulkan.PhysicalDevice) DeviceInfo {
	var p vulkan.PhysicalDeviceProperties
	vulkan.GetPhysicalDeviceProperties(pd, &p)
	p.Deref()
	p.Limits.Deref()
	var mp vulkan.PhysicalDeviceMemoryProperties
	vulkan.GetPhysicalDeviceMemoryProperties(pd, &mp)
	mp.Deref()
	l := p.Limits
	d := DeviceInfo{
		Index:      idx,
		Name:       vulkan.ToString(p.DeviceName[:]),
		Type:       DeviceType(p.DeviceType),
		VendorID:   p.VendorID,
		DeviceID:   p.DeviceID,
		APIVersion: fmt.Sprintf("%d.%d.%d", p.ApiVersion>>22, (p.ApiVersion>>12)&0x3ff, p.ApiVersion&0xfff),

		MaxStorageBufferRange:          uint64(l.MaxStorageBufferRange),
		MaxPushConstantsSize:           l.MaxPushConstantsSize,
		MaxComputeSharedMemorySize:     l.MaxComputeSharedMemorySize,
		MaxComputeWorkGroupInvocations: l.MaxComputeWorkGroupInvocations,
		MaxComputeWorkGroupCount:       l.MaxComputeWorkGroupCount,
		MaxComputeWorkGroupSize:        l.MaxComputeWorkGroupSize,
		MinStorageBufferOffsetAlign:    uint64(l.MinStorageBufferOffsetAlignment),
		TimestampPeriod:                l.TimestampPeriod,
		TimestampCompute:               l.TimestampComputeAndGraphics == vulkan.True,
		SubgroupSize:                   subgroupSize(inst, pd, p.ApiVersion),
		DriverVersion:                  p.DriverVersion,
		PipelineCacheUUID:              p.PipelineCacheUUID,
		ComputeQueueFamily:             -1,
	}
	for i := uint32(0); i < mp.MemoryHeapCount; i++ {
		h := mp.MemoryHeaps[i]
		h.Deref()
		d.HeapSizes = append(d.HeapSizes, uint64(h.Size))
		d.DeviceLocal = append(d.DeviceLocal, h.Flags&vulkan.MemoryHeapFlags(vulkan.MemoryHeapDeviceLocalBit) != 0)
	}
	for i := uint32(0); i < mp.MemoryTypeCount; i++ {
		t := mp.MemoryTypes[i]
		t.Deref()
		want := vulkan.MemoryPropertyFlags(vulkan.MemoryPropertyDeviceLocalBit | vulkan.MemoryPropertyHostVisibleBit | vulkan.MemoryPropertyHostCoherentBit)
		if t.PropertyFlags&want == want {
			d.HostVisibleDeviceLocal = true
		}
	}
	qs := shimQueueFamilies(inst, pd)
	// Prefer a compute queue without graphics (async compute), else any.
	for pass := 0; pass < 2 && d.ComputeQueueFamily < 0; pass++ {
		for i := range qs {
			f := qs[i].flags
			if f&vulkan.QueueFlags(vulkan.QueueComputeBit) == 0 {
				continue
			}
			if pass == 0 && f&vulkan.QueueFlags(vulkan.QueueGraphicsBit) != 0 {
				continue
			}
			d.ComputeQueueFamily = i
			if qs[i].timestampBits == 0 {
				d.TimestampCompute = false
			}
			break
		}
	}
	return d
}

// Devices lists every Vulkan physical device. It returns an error when the
// loader is missing or the instance cannot be created.
func Devices() ([]DeviceInfo, error) {
	in, err := createInstance(false, false)
	if err != nil {
		return nil, err
	}
	defer in.destroy()
	inst := in.inst
	pds, err := physicalDevices(inst)
	if err != nil {
		return nil, err
	}
	out := make([]DeviceInfo, len(pds))
	for i, pd := range pds {
		out[i] = describe(inst, i, pd)
	}
	return out, nil
}

// Open creates a context on the given physical device.
func Open(o Options) (*Context, error) {
	switch v := os.Getenv("DASH_VK_VALIDATE"); {
	case v == "sync":
		o.Validate, o.SyncValidate = true, true
	case envOn("DASH_VK_VALIDATE"):
		o.Validate = true
	}
	if o.SyncValidate {
		o.Validate = true
	}
	if envOn("DASH_VK_NO_PUSH_DESCRIPTORS") {
		o.NoPushDescriptors = true
	}
	if envOn("DASH_PROFILE") {
		o.Profile = true
	}
	if o.BatchSize <= 0 {
		o.BatchSize = 256
	}
	in, err := createInstance(o.Validate, o.SyncValidate)
	if err != nil {
		return nil, err
	}
	inst := in.inst
	c := &Context{inst: inst, dbg: in.cb, hasDbg: in.dbg, messenger: in.messenger, validate: o.Validate, opts: o}
	fail := func(err error) (*Context, error) {
		c.destroy()
		return nil, err
	}
	pds, err := physicalDevices(inst)
	if err != nil {
		return fail(err)
	}
	if o.Device < 0 || o.Device >= len(pds) {
		return fail(fmt.Errorf("vk: device vulkan:%d does not exist (%d Vulkan device(s))", o.Device, len(pds)))
	}
	c.phys = pds[o.Device]
	c.info = describe(inst, o.Device, c.phys)
	if c.info.ComputeQueueFamily < 0 {
		return fail(fmt.Errorf("vk: device %s has no compute queue", c.info.Name))
	}
	c.qfam = uint32(c.info.ComputeQueueFamily)
	var layers []string
	if o.Validate {
		layers = []string{cstr("VK_LAYER_KHRONOS_validation")}
	}
	var exts []string
	wantPush := !o.NoPushDescriptors && shimHasDeviceExt(inst, c.phys, "VK_KHR_push_descriptor")
	if wantPush {
		exts = append(exts, cstr("VK_KHR_push_descriptor"))
	}
	c.wg = chooseWorkgroupSize(c.info.MaxComputeWorkGroupInvocations, o.MaxWorkgroupSize)
	if c.mm, err = probeMatmulFeatures(inst, c.phys, c.info, o); err != nil {
		return fail(err)
	}
	dev, err := shimCreateDevice(inst, c.phys, c.qfam, layers, exts, c.mm.storage16)
	if err != nil {
		return fail(fmt.Errorf("%w (on %s)", err, c.info.Name))
	}
	c.dev = dev
	var q vulkan.Queue
	vulkan.GetDeviceQueue(dev, c.qfam, 0, &q)
	c.queue = q
	if c.fns, err = loadDevFns(inst, dev); err != nil {
		return fail(err)
	}
	if c.fast = newFastPath(inst, dev, wantPush); c.fast == nil {
		return fail(errors.New("vk: cannot load the dispatch entry points (vkAllocateDescriptorSets, vkCmdDispatch, ...)"))
	}
	c.pushDesc = wantPush && c.fast.canPush()
	c.desc = newDescCache(c)
	if c.mem, err = newMemory(c); err != nil {
		return fail(err)
	}
	c.pipes = newPipelineCache(c)
	c.pipes.openDisk(pipelineCacheDir(o.PipelineCacheDir))
	if o.Profile && c.info.TimestampCompute {
		c.prof = newProfiler(c)
	}
	if c.rec, err = newRecorder(c); err != nil {
		return fail(err)
	}
	return c, nil
}

// Close waits for the device, prints the profile when profiling, and
// destroys every device resource. It is safe to call twice.
func (c *Context) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil
	}
	for c.compiling > 0 { // let compiles that released the lock finish
		c.mu.Unlock()
		time.Sleep(time.Millisecond)
		c.mu.Lock()
	}
	if c.closed {
		return nil
	}
	var err error
	if c.rec != nil {
		err = c.syncLocked()
	}
	if c.prof != nil {
		c.prof.print()
	}
	c.destroy()
	c.closed = true
	if err == nil {
		err = c.err
	}
	return err
}

func (c *Context) destroy() {
	if c.dev != nil {
		vulkan.DeviceWaitIdle(c.dev)
		if c.rec != nil {
			c.rec.destroy()
		}
		if c.prof != nil {
			c.prof.destroy()
		}
		if c.pipes != nil {
			c.pipes.destroy()
		}
		if c.desc != nil {
			c.desc.destroy()
		}
		if c.mem != nil {
			c.mem.destroy()
		}
		vulkan.DestroyDevice(c.dev, nil)
		c.dev = nil
	}
	if c.inst != nil {
		instance{inst: c.inst, cb: c.dbg, dbg: c.hasDbg, messenger: c.messenger}.destroy()
		c.inst = nil
	}
}

// setErr records the first device error; it is reported by Sync and Close.
func (c *Context) setErr(err error) {
	if err != nil && c.err == nil {
		c.err = err
	}
}

// check reports whether work may be recorded: false after a device error
// (the op becomes a no-op; Sync reports the error). Use of a closed context
// is a programming error and panics.
func (c *Context) check() bool {
	if c.closed {
		panic("vk: use of a closed context")
	}
	return c.err == nil
}

// Err returns the device error that stopped the context, or nil.
func (c *Context) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// Sync submits the recorded work and waits for all of it.
func (c *Context) Sync() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return errors.New("vk: Sync on a closed context")
	}
	if err := c.syncLocked(); err != nil {
		return err
	}
	return c.err
}

func (c *Context) syncLocked() error {
	c.rec.flush()
	return c.rec.waitAll()
}

// Describe returns a one-line summary of the device.
func (c *Context) Describe() string {
	s := fmt.Sprintf("vulkan:%d %s (%s)", c.info.Index, c.info.Name, c.info.Type)
	var flags []string
	if c.opts.SyncValidate {
		flags = append(flags, "sync validation")
	} else if c.validate {
		flags = append(flags, "validation")
	}
	if c.pushDesc {
		flags = append(flags, "push descriptors")
	}
	if c.prof != nil {
		flags = append(flags, "profiling")
	}
	if len(flags) > 0 {
		s += " [" + strings.Join(flags, ", ") + "]"
	}
	return s
}

//go:build cgo

package vk

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"unsafe"

	vulkan "github.com/vulkan-go/vulkan"
)

// Options configures Open.
type Options struct {
	// Device is the index of the physical device (vulkan:N).
	Device int
	// Validate enables VK_LAYER_KHRONOS_validation and records every
	// validation error (see Context.ValidationErrors). DASH_VK_VALIDATE=1
	// turns it on too.
	Validate bool
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
}

// Context is an open Vulkan device with its memory manager, command
// recorder and pipeline cache. All methods are safe for concurrent use: a
// mutex serialises access to the device.
type Context struct {
	mu sync.Mutex

	inst     vulkan.Instance
	dbg      vulkan.DebugReportCallback
	hasDbg   bool
	validate bool
	phys     vulkan.PhysicalDevice
	info     DeviceInfo
	dev      vulkan.Device
	queue    vulkan.Queue
	qfam     uint32
	opts     Options

	mem   *memory
	fast  *fastPath // single-cgo-call dispatch recording
	fns   *devFns   // C shim for calls that pass arrays or strings (cshim_cgo.go)
	rec   *recorder
	pipes *pipelineCache
	prof  *profiler

	stats  Stats
	err    error // sticky device error
	closed bool
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

// ValidationErrors returns the validation-layer errors recorded since the
// process started (all contexts share one callback) and clears the list.
func ValidationErrors() []string {
	valMu.Lock()
	defer valMu.Unlock()
	out := valErrors
	valErrors = nil
	return out
}

func cstr(s string) string { return s + "\x00" }

func vkErr(what string, r vulkan.Result) error {
	if r == vulkan.Success {
		return nil
	}
	return fmt.Errorf("vk: %s: %w (VkResult %d)", what, vulkan.Error(r), int32(r))
}

func hasLayer(name string) bool { return shimHasLayer(name) }

func hasInstanceExt(name string) bool { return shimHasInstanceExt(name) }

// createInstance creates a Vulkan 1.1 instance, with the validation layer
// and a debug-report callback when validate is set and the layer exists.
func createInstance(validate bool) (vulkan.Instance, vulkan.DebugReportCallback, bool, error) {
	if err := loadVulkan(); err != nil {
		return nil, vulkan.NullDebugReportCallback, false, err
	}
	var layers, exts []string
	dbg := false
	if validate {
		if !hasLayer("VK_LAYER_KHRONOS_validation") {
			return nil, vulkan.NullDebugReportCallback, false, errors.New("vk: validation requested but VK_LAYER_KHRONOS_validation is not installed (apt-get install vulkan-validationlayers)")
		}
		layers = append(layers, cstr("VK_LAYER_KHRONOS_validation"))
		if hasInstanceExt("VK_EXT_debug_report") {
			exts = append(exts, cstr("VK_EXT_debug_report"))
			dbg = true
		}
	}
	inst, err := shimCreateInstance(vulkan.MakeVersion(1, 1, 0), layers, exts)
	if err != nil {
		return nil, vulkan.NullDebugReportCallback, false, err
	}
	if err := vulkan.InitInstance(inst); err != nil {
		vulkan.DestroyInstance(inst, nil)
		return nil, vulkan.NullDebugReportCallback, false, fmt.Errorf("vk: loading instance functions: %w", err)
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
	return inst, cb, dbg, nil
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
	inst, cb, dbg, err := createInstance(false)
	if err != nil {
		return nil, err
	}
	defer func() {
		if dbg {
			vulkan.DestroyDebugReportCallback(inst, cb, nil)
		}
		vulkan.DestroyInstance(inst, nil)
	}()
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
	if envOn("DASH_VK_VALIDATE") {
		o.Validate = true
	}
	if envOn("DASH_PROFILE") {
		o.Profile = true
	}
	if o.BatchSize <= 0 {
		o.BatchSize = 256
	}
	inst, cb, dbg, err := createInstance(o.Validate)
	if err != nil {
		return nil, err
	}
	c := &Context{inst: inst, dbg: cb, hasDbg: dbg, validate: o.Validate, opts: o}
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
	dev, err := shimCreateDevice(inst, c.phys, c.qfam, layers)
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
	if c.fast = newFastPath(inst, dev); c.fast == nil {
		return fail(errors.New("vk: cannot load the dispatch entry points (vkAllocateDescriptorSets, vkCmdDispatch, ...)"))
	}
	if c.mem, err = newMemory(c); err != nil {
		return fail(err)
	}
	c.pipes = newPipelineCache(c)
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
		if c.mem != nil {
			c.mem.destroy()
		}
		vulkan.DestroyDevice(c.dev, nil)
		c.dev = nil
	}
	if c.inst != nil {
		if c.hasDbg {
			vulkan.DestroyDebugReportCallback(c.inst, c.dbg, nil)
		}
		vulkan.DestroyInstance(c.inst, nil)
		c.inst = nil
	}
}

// setErr records the first device error; it is reported by Sync and Close.
func (c *Context) setErr(err error) {
	if err != nil && c.err == nil {
		c.err = err
	}
}

// check panics on a recorded device error: kernels have no error result,
// and a lost device is not recoverable.
func (c *Context) check() {
	if c.err != nil {
		panic(c.err)
	}
	if c.closed {
		panic("vk: use of a closed context")
	}
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
	if c.validate {
		flags = append(flags, "validation")
	}
	if c.prof != nil {
		flags = append(flags, "profiling")
	}
	if len(flags) > 0 {
		s += " [" + strings.Join(flags, ", ") + "]"
	}
	return s
}

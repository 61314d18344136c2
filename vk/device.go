// Package vk runs the engine's kernels as GLSL compute shaders through Vulkan.
//
// The package has three layers:
//
//   - device discovery and selection (Devices, Choose, ChooseFrom, Report),
//     usable by `dash devices` and by callers that pick a backend;
//   - a runtime (Context): loader, instance, logical device, a sub-allocating
//     memory manager, a command recorder that batches dispatches, inserts
//     barriers only on hazards and waits only at sync points, cached compute
//     pipelines, pooled descriptor sets and optional timestamp profiling;
//   - Backend, the tensor.Backend implementation built on the runtime.
//
// The Vulkan binding needs cgo. Built with CGO_ENABLED=0, Devices and Open
// return ErrNoCgo, automatic selection picks the CPU backend saying why, and
// an explicit Vulkan request is an error.
//
// Environment:
//
//	DASH_DEVICE=cpu|vulkan|vulkan:N  backend selection (default: auto)
//	DASH_VK_VALIDATE=1               enable VK_LAYER_KHRONOS_validation
//	DASH_VK_VALIDATE=sync            ... with synchronization validation
//	DASH_VK_NO_PUSH_DESCRIPTORS=1    cached descriptor sets instead of push descriptors
//	DASH_VK_PIPELINE_CACHE=DIR|off   where the VkPipelineCache is kept (default os.UserCacheDir()/dash)
//	DASH_PROFILE=1                   per-op GPU times from timestamp queries
//	DASH_VK_FP16=1                   fp16 matmul operands, fp32 accumulation (where supported)
//	DASH_VK_MATMUL=auto|tiled|subgroup|fp16  force a matmul variant (where supported)
//
// Tests: DASH_REQUIRE_VULKAN=1 turns a missing device into a failure;
// DASH_VK_FORCE_STAGING=1 runs the conformance suite through staging buffers;
// DASH_VK_VALIDATE=0 turns the (default-on) validation layers off.
package vk

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// ErrNoCgo is returned by every entry point of a binary built without cgo.
var ErrNoCgo = errors.New("vk: built without cgo (CGO_ENABLED=0 or no C compiler): Vulkan unavailable")

// DeviceType classifies a physical device.
type DeviceType int

// Physical device types, in the order of Vulkan's VkPhysicalDeviceType.
const (
	TypeOther DeviceType = iota
	TypeIntegrated
	TypeDiscrete
	TypeVirtual
	TypeCPU
)

// String returns "discrete", "integrated", "virtual", "cpu" or "other".
func (t DeviceType) String() string {
	switch t {
	case TypeIntegrated:
		return "integrated"
	case TypeDiscrete:
		return "discrete"
	case TypeVirtual:
		return "virtual"
	case TypeCPU:
		return "cpu"
	}
	return "other"
}

// DeviceInfo describes one Vulkan physical device.
type DeviceInfo struct {
	Index      int // position in the instance's enumeration (the N of vulkan:N)
	Name       string
	Type       DeviceType
	APIVersion string // "major.minor.patch"
	VendorID   uint32
	DeviceID   uint32
	// HeapSizes lists every memory heap in bytes; DeviceLocal marks the
	// heaps flagged device-local.
	HeapSizes   []uint64
	DeviceLocal []bool
	// HostVisibleDeviceLocal reports a memory type that is both device-local
	// and host-visible (integrated GPUs, lavapipe, resizable BAR).
	HostVisibleDeviceLocal bool

	MaxStorageBufferRange          uint64
	MaxPushConstantsSize           uint32
	MaxComputeSharedMemorySize     uint32
	MaxComputeWorkGroupInvocations uint32
	MaxComputeWorkGroupCount       [3]uint32
	MaxComputeWorkGroupSize        [3]uint32
	MinStorageBufferOffsetAlign    uint64
	TimestampPeriod                float32 // nanoseconds per timestamp tick
	TimestampCompute               bool    // compute queue supports timestamps
	SubgroupSize                   uint32  // 0 when not queryable
	// DriverVersion and PipelineCacheUUID identify the driver build a
	// persisted pipeline cache belongs to.
	DriverVersion      uint32
	PipelineCacheUUID  [16]byte
	ComputeQueueFamily int // -1 when the device has no compute queue
}

// String renders the device on a few lines for `dash devices`.
func (d DeviceInfo) String() string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "vulkan:%d %s (%s, Vulkan %s)\n", d.Index, d.Name, d.Type, d.APIVersion)
	for i, h := range d.HeapSizes {
		kind := "host"
		if d.DeviceLocal[i] {
			kind = "device-local"
		}
		fmt.Fprintf(&sb, "  heap %d: %s %s\n", i, fmtBytes(h), kind)
	}
	fmt.Fprintf(&sb, "  maxStorageBufferRange %s, push constants %d B, shared memory %s\n",
		fmtBytes(d.MaxStorageBufferRange), d.MaxPushConstantsSize, fmtBytes(uint64(d.MaxComputeSharedMemorySize)))
	fmt.Fprintf(&sb, "  workgroup: %d invocations, count %v, size %v; subgroup %d; timestamp period %g ns",
		d.MaxComputeWorkGroupInvocations, d.MaxComputeWorkGroupCount, d.MaxComputeWorkGroupSize, d.SubgroupSize, d.TimestampPeriod)
	return sb.String()
}

func fmtBytes(n uint64) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return fmt.Sprintf("%d GiB", n>>30)
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d B", n)
}

// Choice is the outcome of backend selection.
type Choice struct {
	// Vulkan is true when the Vulkan backend should be used, on Device.
	Vulkan bool
	// Device is the index of the chosen Vulkan device (valid when Vulkan).
	Device int
	// Explicit is true when the user asked for the backend (flag or env).
	Explicit bool
}

// String renders the choice as "cpu" or "vulkan:N".
func (c Choice) String() string {
	if c.Vulkan {
		return "vulkan:" + strconv.Itoa(c.Device)
	}
	return "cpu"
}

// ParseDevice parses a device spec: "", "auto", "cpu", "vulkan" or
// "vulkan:N". It returns mode "auto", "cpu" or "vulkan" and the index (-1
// when none was given).
func ParseDevice(spec string) (mode string, index int, err error) {
	s := strings.ToLower(strings.TrimSpace(spec))
	switch {
	case s == "" || s == "auto":
		return "auto", -1, nil
	case s == "cpu":
		return "cpu", -1, nil
	case s == "vulkan" || s == "vk" || s == "gpu":
		return "vulkan", -1, nil
	case strings.HasPrefix(s, "vulkan:"):
		n, err := strconv.Atoi(s[len("vulkan:"):])
		if err != nil || n < 0 {
			return "", 0, fmt.Errorf("vk: bad device %q: want cpu, vulkan or vulkan:N", spec)
		}
		return "vulkan", n, nil
	}
	return "", 0, fmt.Errorf("vk: bad device %q: want cpu, vulkan or vulkan:N", spec)
}

// ChooseFrom applies the selection policy to an already enumerated device
// list (devs may be nil with enumErr explaining why). It is pure, so it is
// testable without a device. Policy: "cpu" → CPU; "vulkan:N" → device N;
// "vulkan" → the best device of any type; auto → the best discrete, then
// integrated, then virtual GPU, and the CPU backend when the only Vulkan
// devices are CPU implementations such as lavapipe (they are slower than the
// pure-Go kernels).
func ChooseFrom(spec string, devs []DeviceInfo, enumErr error) (Choice, string, error) {
	mode, idx, err := ParseDevice(spec)
	if err != nil {
		return Choice{}, "", err
	}
	switch mode {
	case "cpu":
		return Choice{Explicit: true}, "CPU backend requested", nil
	case "vulkan":
		if enumErr != nil {
			return Choice{}, "", fmt.Errorf("vk: Vulkan requested but unavailable: %w", enumErr)
		}
		if idx >= 0 {
			if idx >= len(devs) {
				return Choice{}, "", fmt.Errorf("vk: device vulkan:%d requested but only %d Vulkan device(s) exist", idx, len(devs))
			}
			if devs[idx].ComputeQueueFamily < 0 {
				return Choice{}, "", fmt.Errorf("vk: device vulkan:%d (%s) has no compute queue", idx, devs[idx].Name)
			}
			return Choice{Vulkan: true, Device: idx, Explicit: true},
				fmt.Sprintf("Vulkan device %d (%s, %s) requested", idx, devs[idx].Name, devs[idx].Type), nil
		}
		best := bestDevice(devs, true)
		if best < 0 {
			return Choice{}, "", errors.New("vk: Vulkan requested but no device with a compute queue was found")
		}
		return Choice{Vulkan: true, Device: best, Explicit: true},
			fmt.Sprintf("Vulkan requested: using device %d (%s, %s)", best, devs[best].Name, devs[best].Type), nil
	}
	if enumErr != nil {
		return Choice{}, "CPU backend: Vulkan unavailable (" + enumErr.Error() + ")", nil
	}
	best := bestDevice(devs, false)
	if best < 0 {
		if len(devs) == 0 {
			return Choice{}, "CPU backend: no Vulkan device found", nil
		}
		return Choice{}, fmt.Sprintf("CPU backend: the only Vulkan device(s) are CPU implementations (%s), slower than the Go kernels; set DASH_DEVICE=vulkan to use it anyway", devs[0].Name), nil
	}
	return Choice{Vulkan: true, Device: best},
		fmt.Sprintf("Vulkan device %d (%s, %s GPU) preferred over the CPU backend", best, devs[best].Name, devs[best].Type), nil
}

// bestDevice ranks discrete > integrated > virtual > (other, cpu when
// allowCPU) and returns the index of the first best, or -1.
func bestDevice(devs []DeviceInfo, allowCPU bool) int {
	rank := func(t DeviceType) int {
		switch t {
		case TypeDiscrete:
			return 5
		case TypeIntegrated:
			return 4
		case TypeVirtual:
			return 3
		case TypeOther:
			if allowCPU {
				return 2
			}
		case TypeCPU:
			if allowCPU {
				return 1
			}
		}
		return 0
	}
	best, bestRank := -1, 0
	for i, d := range devs {
		if d.ComputeQueueFamily < 0 {
			continue
		}
		if r := rank(d.Type); r > bestRank {
			best, bestRank = i, r
		}
	}
	return best
}

// Choose selects the backend from spec (a --device flag value; when empty,
// the DASH_DEVICE environment variable) after enumerating the Vulkan
// devices. It returns the choice and a human-readable reason. An error is
// returned only for a malformed spec or an explicit Vulkan request that
// cannot be satisfied.
func Choose(spec string) (Choice, string, error) {
	if strings.TrimSpace(spec) == "" {
		spec = os.Getenv("DASH_DEVICE")
	}
	if mode, _, err := ParseDevice(spec); err == nil && mode == "cpu" {
		return Choice{Explicit: true}, "CPU backend requested", nil
	}
	devs, err := Devices()
	return ChooseFrom(spec, devs, err)
}

// envOn reports whether an environment variable is set to a true value.
func envOn(name string) bool {
	v := strings.ToLower(strings.TrimSpace(os.Getenv(name)))
	return v != "" && v != "0" && v != "false" && v != "no" && v != "off"
}

// Report writes, for `dash devices`, every Vulkan device with its key limits
// and the backend a run with the given device spec (flag value, or
// DASH_DEVICE when empty) would use, and why.
func Report(w io.Writer, spec string) error {
	devs, err := Devices()
	if err != nil {
		fmt.Fprintf(w, "Vulkan: unavailable: %v\n", err)
	} else if len(devs) == 0 {
		fmt.Fprintln(w, "Vulkan: no devices")
	}
	for _, d := range devs {
		fmt.Fprintln(w, d.String())
	}
	if strings.TrimSpace(spec) == "" {
		spec = os.Getenv("DASH_DEVICE")
	}
	ch, reason, cerr := ChooseFrom(spec, devs, err)
	if cerr != nil {
		fmt.Fprintf(w, "backend: none: %v\n", cerr)
		return cerr
	}
	fmt.Fprintf(w, "backend: %s (%s)\n", ch, reason)
	return nil
}

//go:build cgo

package vk

import (
	"testing"

	vulkan "github.com/vulkan-go/vulkan"
)

// The validation callback is installed and records errors.
func TestValidationCallbackRecords(t *testing.T) {
	be := newTestBackend(t, Options{})
	c := be.c
	if !c.hasDbg && c.messenger == nil {
		t.Fatal("validation enabled but no debug-utils messenger or debug-report callback installed")
	}
	// Provoke an error: a fence reset while it is not owned... use an
	// invalid buffer size (0) in vkCreateBuffer.
	var buf vulkan.Buffer
	c.mu.Lock()
	vulkan.CreateBuffer(c.dev, &vulkan.BufferCreateInfo{
		SType: vulkan.StructureTypeBufferCreateInfo, Size: 0,
		Usage: vulkan.BufferUsageFlags(vulkan.BufferUsageStorageBufferBit), SharingMode: vulkan.SharingModeExclusive,
	}, nil, &buf)
	if buf != vulkan.NullBuffer {
		vulkan.DestroyBuffer(c.dev, buf, nil)
	}
	c.mu.Unlock()
	errs := ValidationErrors()
	if len(errs) == 0 {
		t.Fatal("a zero-size vkCreateBuffer produced no validation error")
	}
	t.Logf("recorded as expected: %.120s", errs[0])
}

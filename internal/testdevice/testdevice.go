// Package testdevice opens the Vulkan backend for tests outside package vk:
// validation layers on, any validation error fails the test at cleanup, and
// a missing device is a skip that says why — or a failure when
// DASH_REQUIRE_VULKAN=1 (as in CI).
package testdevice

import (
	"os"
	"testing"

	"github.com/dash-go/dash/tensor"
	"github.com/dash-go/dash/vk"
)

// Vulkan returns a Vulkan backend closed when the test ends.
func Vulkan(t testing.TB) tensor.Backend {
	t.Helper()
	ch, _, err := vk.Choose("vulkan")
	if err == nil {
		var be *vk.Backend
		if be, err = vk.New(vk.Options{Device: ch.Device, Validate: true}); err == nil {
			t.Cleanup(func() {
				if errs := vk.ValidationErrors(); len(errs) > 0 {
					t.Errorf("Vulkan validation errors: %v", errs)
				}
				be.Close()
			})
			return be
		}
	}
	if os.Getenv("DASH_REQUIRE_VULKAN") == "1" {
		t.Fatalf("DASH_REQUIRE_VULKAN=1 but no Vulkan backend: %v", err)
	}
	t.Skipf("no Vulkan backend (%v); set DASH_REQUIRE_VULKAN=1 to make this a failure", err)
	return nil
}

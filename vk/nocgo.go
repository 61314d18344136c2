//go:build !cgo

package vk

import (
	"io"

	"github.com/dash-go/dash/tensor"
)

// Options configures Open (see the cgo build for the fields' meaning).
type Options struct {
	Device       int
	Validate     bool
	Profile      bool
	BatchSize    int
	ForceStaging bool
	BlockSize    uint64
}

// Context is unavailable without cgo.
type Context struct{}

// Backend is unavailable without cgo; New always fails.
type Backend struct{ tensor.Backend }

// Devices reports that Vulkan is unavailable in a build without cgo.
func Devices() ([]DeviceInfo, error) { return nil, ErrNoCgo }

// Open reports that Vulkan is unavailable in a build without cgo.
func Open(Options) (*Context, error) { return nil, ErrNoCgo }

// New reports that Vulkan is unavailable in a build without cgo.
func New(Options) (*Backend, error) { return nil, ErrNoCgo }

// Close does nothing.
func (c *Context) Close() error { return nil }

// WriteProfile writes nothing.
func (c *Context) WriteProfile(io.Writer) {}

// ValidationErrors returns nil.
func ValidationErrors() []string { return nil }

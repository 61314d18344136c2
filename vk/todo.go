//go:build cgo

package vk

import "github.com/dash-go/dash/tensor"

// Kernels without a Vulkan implementation yet: they panic with a clear
// message instead of computing anything.

// RFFT is not implemented on Vulkan yet (issue 4).
func (be *Backend) RFFT(dst, src tensor.Buffer, batch, n int) { notYet("RFFT") }

// IRFFT is not implemented on Vulkan yet (issue 4).
func (be *Backend) IRFFT(dst, src tensor.Buffer, batch, n int) { notYet("IRFFT") }

// RFFT2 is not implemented on Vulkan yet (issue 4).
func (be *Backend) RFFT2(dst, src tensor.Buffer, batch, h, w int) { notYet("RFFT2") }

// IRFFT2 is not implemented on Vulkan yet (issue 4).
func (be *Backend) IRFFT2(dst, src tensor.Buffer, batch, h, w int) { notYet("IRFFT2") }

//go:build cgo

package vk

import (
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"
	"time"

	vulkan "github.com/vulkan-go/vulkan"

	"github.com/dash-go/dash/shaders"
)

// Pipelines are created lazily and cached per (shader, specialization
// constants). Every shader uses descriptor set 0 with n storage buffers at
// bindings 0..n-1 and one 128-byte push-constant range; layouts are shared
// per binding count. Specialization constant i is constant_id i (uint32).

type layout struct {
	set    vulkan.DescriptorSetLayout
	layout vulkan.PipelineLayout
}

type pipeline struct {
	layout *layout
	pipe   vulkan.Pipeline
}

type pipelineCache struct {
	c       *Context
	modules map[string]vulkan.ShaderModule
	layouts map[int]*layout
	pipes   map[pipeKey]*pipeline
	disk    diskCache // the persisted VkPipelineCache (pipecache.go)
}

func newPipelineCache(c *Context) *pipelineCache {
	return &pipelineCache{c: c, modules: map[string]vulkan.ShaderModule{}, layouts: map[int]*layout{}, pipes: map[pipeKey]*pipeline{}}
}

func (pc *pipelineCache) module(name string) (vulkan.ShaderModule, error) {
	if m, ok := pc.modules[name]; ok {
		return m, nil
	}
	code, err := shaders.SPIRV(name)
	if err != nil {
		return vulkan.NullShaderModule, fmt.Errorf("vk: %w", err)
	}
	words := make([]uint32, len(code)/4)
	for i := range words {
		words[i] = binary.LittleEndian.Uint32(code[4*i:])
	}
	m, err := pc.c.fns.createShaderModule(words)
	if err != nil {
		return vulkan.NullShaderModule, fmt.Errorf("vk: shader %s: %w", name, err)
	}
	pc.modules[name] = m
	return m, nil
}

func (pc *pipelineCache) layoutFor(n int) (*layout, error) {
	if l, ok := pc.layouts[n]; ok {
		return l, nil
	}
	set, err := pc.c.fns.createStorageSetLayout(n, pc.c.pushDesc)
	if err != nil {
		return nil, err
	}
	pl, err := pc.c.fns.createPipelineLayout(set, 128)
	if err != nil {
		vulkan.DestroyDescriptorSetLayout(pc.c.dev, set, nil)
		return nil, err
	}
	l := &layout{set: set}
	l.layout = pl
	pc.layouts[n] = l
	return l, nil
}

// pipeKey identifies a pipeline; up to 4 specialization constants.
type pipeKey struct {
	name  string
	nbind int
	nspec int
	spec  [4]uint32
}

// get returns the pipeline, creating it on first use. Caller holds c.mu;
// the lock is released while the driver compiles (other goroutines keep
// recording), so the caller must not rely on state read before the call.
func (pc *pipelineCache) get(name string, spec []uint32, nbind int) (*pipeline, error) {
	if len(spec) > 4 {
		return nil, fmt.Errorf("vk: %s: %d specialization constants (at most 4)", name, len(spec))
	}
	k := pipeKey{name: name, nbind: nbind, nspec: len(spec)}
	copy(k.spec[:], spec)
	if p, ok := pc.pipes[k]; ok {
		return p, nil
	}
	var kb strings.Builder
	kb.WriteString(name)
	kb.WriteByte('/')
	kb.WriteString(strconv.Itoa(nbind))
	for _, s := range spec {
		kb.WriteByte(',')
		kb.WriteString(strconv.FormatUint(uint64(s), 10))
	}
	key := kb.String()
	mod, err := pc.module(name)
	if err != nil {
		return nil, err
	}
	l, err := pc.layoutFor(nbind)
	if err != nil {
		return nil, err
	}
	c := pc.c
	cache := pc.disk.handle
	t0 := time.Now()
	c.compiling++
	c.mu.Unlock()
	pipe, err := c.fns.createComputePipeline(cache, l.layout, mod, spec, uint32(c.wg))
	c.mu.Lock()
	c.compiling--
	if err != nil {
		return nil, fmt.Errorf("vk: pipeline %s: %w", key, err)
	}
	if c.closed || pc.pipes == nil {
		vulkan.DestroyPipeline(c.dev, pipe, nil)
		return nil, fmt.Errorf("vk: pipeline %s: context closed while compiling", key)
	}
	if p, ok := pc.pipes[k]; ok { // another goroutine compiled it meanwhile
		vulkan.DestroyPipeline(c.dev, pipe, nil)
		return p, nil
	}
	c.stats.Pipelines++
	c.stats.PipelineCompileNanos += int64(time.Since(t0))
	pc.disk.dirty = true
	p := &pipeline{layout: l, pipe: pipe}
	pc.pipes[k] = p
	return p, nil
}

func (pc *pipelineCache) destroy() {
	dev := pc.c.dev
	pc.saveDisk()
	for _, p := range pc.pipes {
		vulkan.DestroyPipeline(dev, p.pipe, nil)
	}
	for _, l := range pc.layouts {
		vulkan.DestroyPipelineLayout(dev, l.layout, nil)
		vulkan.DestroyDescriptorSetLayout(dev, l.set, nil)
	}
	for _, m := range pc.modules {
		vulkan.DestroyShaderModule(dev, m, nil)
	}
	pc.pipes, pc.layouts, pc.modules = nil, nil, nil
}

//go:build cgo

package vk

import (
	"fmt"
	"io"
	"os"
	"sort"
	"time"
	"unsafe"

	vulkan "github.com/vulkan-go/vulkan"
)

// The profiler writes a timestamp before and after every dispatch (both at
// the bottom of the pipe, so each interval is the op's serial execution
// time) and accumulates per-op GPU time when a frame retires.

type opTime struct {
	calls int
	total time.Duration
}

type profiler struct {
	c      *Context
	pools  map[*frame]vulkan.QueryPool
	period float64
	ops    map[string]*opTime
}

func newProfiler(c *Context) *profiler {
	return &profiler{c: c, pools: map[*frame]vulkan.QueryPool{}, period: float64(c.info.TimestampPeriod), ops: map[string]*opTime{}}
}

func (p *profiler) begin(f *frame) {
	qp, ok := p.pools[f]
	if !ok {
		ci := &vulkan.QueryPoolCreateInfo{
			SType:      vulkan.StructureTypeQueryPoolCreateInfo,
			QueryType:  vulkan.QueryTypeTimestamp,
			QueryCount: uint32(2 * (p.c.opts.BatchSize + 1)),
		}
		if err := vkErr("vkCreateQueryPool", vulkan.CreateQueryPool(p.c.dev, ci, nil, &qp)); err != nil {
			p.c.setErr(err)
			panic(err)
		}
		p.pools[f] = qp
	}
	vulkan.CmdResetQueryPool(f.cmd, qp, 0, uint32(2*(p.c.opts.BatchSize+1)))
}

func (p *profiler) start(f *frame, name string) {
	if 2*len(f.ops)+2 > 2*(p.c.opts.BatchSize+1) {
		return
	}
	vulkan.CmdWriteTimestamp(f.cmd, vulkan.PipelineStageBottomOfPipeBit, p.pools[f], uint32(2*len(f.ops)))
	f.ops = append(f.ops, name)
}

func (p *profiler) end(f *frame) {
	vulkan.CmdWriteTimestamp(f.cmd, vulkan.PipelineStageBottomOfPipeBit, p.pools[f], uint32(2*len(f.ops)-1))
	f.queries = 2 * len(f.ops)
}

func (p *profiler) collect(f *frame) {
	if f.queries == 0 {
		return
	}
	ts := make([]uint64, f.queries)
	r := vulkan.GetQueryPoolResults(p.c.dev, p.pools[f], 0, uint32(f.queries), uint(8*len(ts)), unsafe.Pointer(&ts[0]), 8,
		vulkan.QueryResultFlags(vulkan.QueryResult64Bit|vulkan.QueryResultWaitBit))
	if r != vulkan.Success {
		return
	}
	for i, name := range f.ops {
		d := time.Duration(float64(ts[2*i+1]-ts[2*i]) * p.period)
		o := p.ops[name]
		if o == nil {
			o = &opTime{}
			p.ops[name] = o
		}
		o.calls++
		o.total += d
	}
	f.queries = 0
}

func (p *profiler) report(w io.Writer) {
	names := make([]string, 0, len(p.ops))
	for n := range p.ops {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool { return p.ops[names[i]].total > p.ops[names[j]].total })
	fmt.Fprintf(w, "vk profile (%s): GPU time per op\n%-24s %8s %14s %12s\n", p.c.info.Name, "op", "calls", "total", "mean")
	for _, n := range names {
		o := p.ops[n]
		fmt.Fprintf(w, "%-24s %8d %14v %12v\n", n, o.calls, o.total, o.total/time.Duration(o.calls))
	}
}

func (p *profiler) print() { p.report(os.Stderr) }

func (p *profiler) destroy() {
	for _, qp := range p.pools {
		vulkan.DestroyQueryPool(p.c.dev, qp, nil)
	}
	p.pools = nil
}

// OpProfile is the accumulated GPU time of one shader.
type OpProfile struct {
	Name  string
	Calls int
	Total time.Duration
}

// Profile waits for the device and returns per-op GPU times (nil unless
// profiling is on), sorted by total time.
func (c *Context) Profile() []OpProfile {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.prof == nil {
		return nil
	}
	c.syncLocked()
	var out []OpProfile
	for n, o := range c.prof.ops {
		out = append(out, OpProfile{n, o.calls, o.total})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Total > out[j].Total })
	return out
}

// WriteProfile writes the profile table to w.
func (c *Context) WriteProfile(w io.Writer) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.prof == nil {
		fmt.Fprintln(w, "vk: profiling is off (DASH_PROFILE=1)")
		return
	}
	c.syncLocked()
	c.prof.report(w)
}

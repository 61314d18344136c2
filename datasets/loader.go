package datasets

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
)

// Batch is a mini-batch with batch-first shapes.
type Batch struct {
	X      []float32
	XShape []int // full shape, batch first: [N, C, ...]
	Labels []int32
	Y      []float32
	YShape []int // full shape, batch first (nil without Y)
	N      int
	Index  []int // the samples' indices in the Data
}

// LoaderOptions controls a Loader.
type LoaderOptions struct {
	BatchSize int   // samples per batch (required, > 0)
	Shuffle   bool  // shuffle the sample order every epoch
	Seed      int64 // shuffle seed; epoch e uses a permutation derived from (Seed, e)
	DropLast  bool  // drop the final incomplete batch
	Prefetch  int   // batches assembled ahead in the background; 0 means 2
}

// Loader batches a Data set. Iteration order depends only on (Seed, epoch),
// not on timing, so runs are reproducible. A Loader may be used for several
// epochs and by several iterators at once.
type Loader struct {
	data *Data
	opts LoaderOptions
}

// NewLoader returns a loader over d.
func NewLoader(d *Data, o LoaderOptions) (*Loader, error) {
	if d == nil {
		return nil, fmt.Errorf("datasets: loader over nil data")
	}
	if err := d.Validate(); err != nil {
		return nil, fmt.Errorf("datasets: loader: %w", err)
	}
	if o.BatchSize <= 0 {
		return nil, fmt.Errorf("datasets: loader batch size %d, want > 0", o.BatchSize)
	}
	if o.Prefetch <= 0 {
		o.Prefetch = 2
	}
	return &Loader{data: d, opts: o}, nil
}

// Len returns the number of batches per epoch.
func (l *Loader) Len() int {
	n, b := l.data.N, l.opts.BatchSize
	if l.opts.DropLast {
		return n / b
	}
	return (n + b - 1) / b
}

// Order returns the sample order of an epoch.
func (l *Loader) Order(epoch int) []int {
	n := l.data.N
	if !l.opts.Shuffle {
		idx := make([]int, n)
		for i := range idx {
			idx[i] = i
		}
		return idx
	}
	return rand.New(rand.NewPCG(uint64(l.opts.Seed), uint64(epoch)+0x5eed)).Perm(n)
}

// Iterator yields the batches of one epoch, assembled by a background
// goroutine (up to Prefetch batches ahead). Close it (or cancel its context)
// when stopping early. Next and Err are meant for one consuming goroutine;
// Close may be called from any goroutine, more than once.
type Iterator struct {
	ch     chan *Batch
	cancel context.CancelFunc
	ctx    context.Context
	done   chan struct{}
	once   sync.Once
	ended  bool // the epoch ran to its end
}

// Epoch starts iterating over one epoch.
func (l *Loader) Epoch(ctx context.Context, epoch int) *Iterator {
	ctx, cancel := context.WithCancel(ctx)
	it := &Iterator{ch: make(chan *Batch, l.opts.Prefetch), cancel: cancel, ctx: ctx, done: make(chan struct{})}
	order := l.Order(epoch)
	go func() {
		defer close(it.done)
		defer close(it.ch)
		b := l.opts.BatchSize
		for k := 0; k < l.Len(); k++ {
			lo, hi := k*b, min((k+1)*b, len(order))
			batch := l.assemble(order[lo:hi])
			select {
			case it.ch <- batch:
			case <-ctx.Done():
				return
			}
		}
	}()
	return it
}

// Next returns the next batch, or false at the end of the epoch or when the
// context is cancelled (then Err says so).
func (it *Iterator) Next() (*Batch, bool) {
	select {
	case b, ok := <-it.ch:
		if !ok {
			if it.ctx.Err() == nil {
				it.ended = true
			}
			it.cancel()
			return nil, false
		}
		return b, true
	case <-it.ctx.Done():
		return nil, false
	}
}

// Err returns the context error if iteration stopped because of it.
func (it *Iterator) Err() error {
	if it.ended {
		return nil
	}
	return context.Cause(it.ctx)
}

// Close stops the background goroutine and waits for it.
func (it *Iterator) Close() {
	it.once.Do(func() {
		it.cancel()
		<-it.done
	})
}

// Batch assembles the batch of the given sample indices synchronously.
func (l *Loader) Batch(idx []int) *Batch { return l.assemble(idx) }

func (l *Loader) assemble(idx []int) *Batch {
	d := l.data
	xs := d.SampleSize()
	n := len(idx)
	b := &Batch{N: n, Index: slices.Clone(idx), X: make([]float32, n*xs)}
	b.XShape = append([]int{n}, d.XShape...)
	for k, i := range idx {
		copy(b.X[k*xs:(k+1)*xs], d.X[i*xs:(i+1)*xs])
	}
	if d.Labels != nil {
		b.Labels = make([]int32, n)
		for k, i := range idx {
			b.Labels[k] = d.Labels[i]
		}
	}
	if d.Y != nil {
		ys := d.TargetSize()
		b.Y = make([]float32, n*ys)
		b.YShape = append([]int{n}, d.YShape...)
		for k, i := range idx {
			copy(b.Y[k*ys:(k+1)*ys], d.Y[i*ys:(i+1)*ys])
		}
	}
	return b
}

package datasets

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"
)

func toyData(n int) *Data {
	d := &Data{XShape: []int{2, 3}, YShape: []int{1, 3}, N: n,
		X: make([]float32, n*6), Y: make([]float32, n*3), Labels: make([]int32, n)}
	for i := 0; i < n; i++ {
		for j := 0; j < 6; j++ {
			d.X[i*6+j] = float32(i*10 + j)
		}
		for j := 0; j < 3; j++ {
			d.Y[i*3+j] = float32(-i)
		}
		d.Labels[i] = int32(i % 7)
	}
	return d
}

func collect(t *testing.T, l *Loader, epoch int) ([]int, []*Batch) {
	t.Helper()
	it := l.Epoch(context.Background(), epoch)
	defer it.Close()
	var order []int
	var bs []*Batch
	for {
		b, ok := it.Next()
		if !ok {
			break
		}
		order = append(order, b.Index...)
		bs = append(bs, b)
	}
	if err := it.Err(); err != nil {
		t.Fatalf("Err after a full epoch: %v", err)
	}
	return order, bs
}

func TestLoader(t *testing.T) {
	tests := []struct {
		name     string
		n        int
		opts     LoaderOptions
		batches  int
		lastSize int
	}{
		{"sequential", 10, LoaderOptions{BatchSize: 4}, 3, 2},
		{"sequential-droplast", 10, LoaderOptions{BatchSize: 4, DropLast: true}, 2, 4},
		{"shuffled", 10, LoaderOptions{BatchSize: 3, Shuffle: true, Seed: 9}, 4, 1},
		{"shuffled-droplast", 10, LoaderOptions{BatchSize: 3, Shuffle: true, Seed: 9, DropLast: true}, 3, 3},
		{"exact", 8, LoaderOptions{BatchSize: 4, Shuffle: true, Prefetch: 1}, 2, 4},
		{"one-batch", 5, LoaderOptions{BatchSize: 100, Prefetch: 8}, 1, 5},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := toyData(tc.n)
			l, err := NewLoader(d, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			if l.Len() != tc.batches {
				t.Fatalf("Len %d, want %d", l.Len(), tc.batches)
			}
			order, bs := collect(t, l, 0)
			if len(bs) != tc.batches || bs[len(bs)-1].N != tc.lastSize {
				t.Fatalf("%d batches, last %d; want %d, %d", len(bs), bs[len(bs)-1].N, tc.batches, tc.lastSize)
			}
			for _, b := range bs {
				if !slices.Equal(b.XShape, []int{b.N, 2, 3}) || !slices.Equal(b.YShape, []int{b.N, 1, 3}) ||
					len(b.X) != b.N*6 || len(b.Y) != b.N*3 || len(b.Labels) != b.N {
					t.Fatalf("batch shapes %v %v", b.XShape, b.YShape)
				}
				for k, i := range b.Index {
					if b.X[k*6+5] != float32(i*10+5) || b.Y[k*3] != float32(-i) || b.Labels[k] != int32(i%7) {
						t.Fatalf("batch sample %d does not hold data sample %d", k, i)
					}
				}
			}
			// Every sample at most once; all of them without drop-last.
			seen := map[int]bool{}
			for _, i := range order {
				if seen[i] {
					t.Fatalf("sample %d twice in an epoch", i)
				}
				seen[i] = true
			}
			if !tc.opts.DropLast && len(seen) != tc.n {
				t.Fatalf("epoch covered %d of %d samples", len(seen), tc.n)
			}
			// Deterministic: the same (seed, epoch) gives the same order; with
			// shuffling, epochs differ.
			again, _ := collect(t, l, 0)
			if !slices.Equal(order, again) {
				t.Fatal("same epoch, different order")
			}
			if !slices.Equal(l.Order(3), l.Order(3)) {
				t.Fatal("Order not deterministic")
			}
			if tc.opts.Shuffle {
				if slices.Equal(l.Order(0), l.Order(1)) {
					t.Fatal("epochs 0 and 1 have the same order")
				}
				o2 := tc.opts
				o2.Seed++
				l2, _ := NewLoader(d, o2)
				if slices.Equal(l.Order(0), l2.Order(0)) {
					t.Fatal("different seeds give the same order")
				}
			} else if !slices.IsSorted(order) {
				t.Fatal("unshuffled order is not sequential")
			}
		})
	}
}

func TestLoaderErrors(t *testing.T) {
	if _, err := NewLoader(toyData(3), LoaderOptions{}); err == nil {
		t.Fatal("batch size 0 accepted")
	}
	if _, err := NewLoader(&Data{X: []float32{1}, XShape: []int{2}, N: 1}, LoaderOptions{BatchSize: 1}); err == nil {
		t.Fatal("inconsistent data accepted")
	}
	if _, err := NewLoader(nil, LoaderOptions{BatchSize: 1}); err == nil {
		t.Fatal("nil data accepted")
	}
}

func TestLoaderCancel(t *testing.T) {
	l, _ := NewLoader(toyData(1000), LoaderOptions{BatchSize: 1, Prefetch: 2})
	ctx, cancel := context.WithCancel(context.Background())
	it := l.Epoch(ctx, 0)
	if _, ok := it.Next(); !ok {
		t.Fatal("no first batch")
	}
	cancel()
	deadline := time.After(5 * time.Second)
	for {
		_, ok := it.Next()
		if !ok {
			break
		}
		select {
		case <-deadline:
			t.Fatal("iterator did not stop after cancel")
		default:
		}
	}
	if !errors.Is(it.Err(), context.Canceled) {
		t.Fatalf("Err = %v, want context.Canceled", it.Err())
	}
	it.Close() // the producer goroutine has exited
	// Close early without cancelling: must not hang.
	it2 := l.Epoch(context.Background(), 1)
	it2.Next()
	it2.Close()
}

// BenchmarkLoader measures loader throughput on MNIST (1×784, batches of
// 256, shuffled, prefetch 2) in samples/s.
func BenchmarkLoader(b *testing.B) {
	task := needData(b, "mnist")
	sp, err := task.Load(context.Background(), LoadOptions{})
	if err != nil {
		b.Fatal(err)
	}
	l, err := NewLoader(sp.Train, LoaderOptions{BatchSize: 256, Shuffle: true, Seed: 1, Prefetch: 2})
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	samples := 0
	epoch := 0
	var it *Iterator
	for b.Loop() {
		if it == nil {
			it = l.Epoch(context.Background(), epoch)
			epoch++
		}
		bt, ok := it.Next()
		if !ok {
			it.Close()
			it = nil
			continue
		}
		samples += bt.N
	}
	if it != nil {
		it.Close()
	}
	b.ReportMetric(float64(samples)/b.Elapsed().Seconds(), "samples/s")
}

package nn

import (
	"sync"
	"testing"

	"github.com/dash-go/dash/autograd"
	"github.com/dash-go/dash/tensor"
	"github.com/dash-go/dash/tensor/cpu"
)

// TestNoGradIsPerNetwork: evaluating one network without gradients must not
// switch off the graph of another network training in another goroutine
// (a dist worker runs several trials in one process; the process-wide
// autograd.NoGrad once made a concurrent training loss gradient-free and
// Backward panicked).
func TestNoGradIsPerNetwork(t *testing.T) {
	be := cpu.Default()
	evalNet, err := NewLinear(be, 1, "eval", 8, 4, true)
	if err != nil {
		t.Fatal(err)
	}
	trainNet, err := NewLinear(be, 2, "train", 8, 4, true)
	if err != nil {
		t.Fatal(err)
	}
	x := tensor.FromFloat32(be, make([]float32, 3*8), 3, 8)
	defer x.Release()

	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			NoGrad(evalNet, func() {
				o := evalNet.Forward(autograd.Const(x))
				if o.RequiresGrad() {
					t.Error("NoGrad: the evaluated network's output still requires a gradient")
				}
				autograd.Release(o)
			})
		}
	}()
	for i := 0; i < 2000; i++ {
		o := trainNet.Forward(autograd.Const(x))
		if !o.RequiresGrad() {
			t.Errorf("step %d: the training network's output lost its graph while another network was evaluated", i)
			autograd.Release(o)
			break
		}
		autograd.Release(o)
	}
	close(stop)
	wg.Wait()
	for _, p := range evalNet.Params() {
		if !p.RequiresGrad() {
			t.Fatalf("NoGrad did not restore %s's requires-grad", p.Name)
		}
	}
}

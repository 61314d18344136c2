package datasets

import (
	"context"
	"encoding/binary"
	"math"
	"slices"
	"testing"

	"github.com/dash-go/dash/datasets/internal/gencache"
)

// A small slice of mnist2-100: every label is the pair of the two MNIST
// source digits' real labels, the ink sits where the recipe puts it, in
// the amount the resize preserves, and the cache returns the same data.
func TestTwoDigitSlice(t *testing.T) {
	task := needData(t, "mnist2-100")
	if task.Classes != 100 || !slices.Equal(task.InShape, []int{3, 32, 32}) || task.Backbone != "wrn" || task.BatchSize != 64 ||
		task.Loss != "cross_entropy" || task.Metric != "error" || !task.Synthetic {
		t.Fatalf("task = %+v", task)
	}
	dir := t.TempDir()
	const nTrain, nTest = 300, 60
	o := LoadOptions{Limit: nTrain, TestLimit: nTest, ValFraction: -1, CacheDir: dir, Raw: true}
	sp, err := task.Load(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if sp.Train.N != nTrain || sp.Test.N != nTest {
		t.Fatalf("sizes %d/%d", sp.Train.N, sp.Test.N)
	}
	mdir, _ := MNISTDir()
	mtr, mte, err := loadIDXDir(mdir)
	if err != nil {
		t.Fatal(err)
	}
	classes := map[int32]bool{}
	for s, c := range []struct {
		d   *Data
		src *idxSet
	}{{sp.Train, mtr}, {sp.Test, mte}} {
		k := twoDigitKey([]string{"train", "test"}[s], c.d.N)
		p, _, err := gencache.Find(dir, k)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < c.d.N; i++ {
			rec := p[i*twoDigitRecord : (i+1)*twoDigitRecord]
			lab := c.d.Labels[i]
			classes[lab] = true
			x := c.d.X[i*twoDigitPixels : (i+1)*twoDigitPixels]
			for d := 0; d < 2; d++ {
				src := int(binary.LittleEndian.Uint16(rec[twoDigitPixels+1+2*d:]))
				want := []int32{lab / 10, lab % 10}[d]
				if int32(c.src.labels[src]) != want {
					t.Fatalf("set %d sample %d (class %d): digit %d comes from MNIST image %d labelled %d", s, i, lab, d, src, c.src.labels[src])
				}
				// ink: grey = max over the channels; the crop box of the
				// source, resized by 20·16/(24·20), keeps its total ink
				var got, crop, total float64
				for r := 0; r < 32; r++ {
					for col := d * 16; col < d*16+16; col++ {
						g := 0.0
						for ch := 0; ch < 3; ch++ {
							g = math.Max(g, float64(x[ch*1024+r*32+col]))
						}
						got += g
					}
				}
				for r := 0; r < 28; r++ {
					for col := 0; col < 28; col++ {
						v := float64(c.src.images[src*784+r*28+col]) / 255
						total += v
						if r >= 2 && r < 26 && col >= 4 && col < 24 {
							crop += v
						}
					}
				}
				want2 := crop * (20.0 * 16) / (24 * 20)
				if math.Abs(got-want2) > 0.08*want2+1 {
					t.Errorf("set %d sample %d digit %d: ink %.1f, want %.1f (crop of %.1f of %.1f)", s, i, d, got, want2, crop, total)
				}
			}
			// nothing outside rows 4…27 (digit rows 6…25 shifted by ≤ 2)
			for ch := 0; ch < 3; ch++ {
				for _, r := range []int{0, 1, 2, 3, 28, 29, 30, 31} {
					for col := 0; col < 32; col++ {
						if x[ch*1024+r*32+col] != 0 {
							t.Fatalf("set %d sample %d: ink at row %d", s, i, r)
						}
					}
				}
			}
		}
	}
	if len(classes) < 90 {
		t.Errorf("only %d of 100 classes in %d samples", len(classes), nTrain+nTest)
	}
	before := gencache.Generated()
	again, err := task.Load(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if gencache.Generated() != before || !slices.Equal(again.Train.X, sp.Train.X) || !slices.Equal(again.Test.Labels, sp.Test.Labels) {
		t.Error("the second load is not the cached data")
	}
	// the default load normalises with the training statistics
	nsp, err := task.Load(context.Background(), LoadOptions{Limit: nTrain, TestLimit: nTest, CacheDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if nsp.Val.N != 30 || nsp.Train.N != 270 || len(nsp.Norm.XMean) != 1 {
		t.Errorf("carve %d/%d, norm %+v", nsp.Train.N, nsp.Val.N, nsp.Norm)
	}
}

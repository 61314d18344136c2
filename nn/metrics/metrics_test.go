package metrics

import (
	"math"
	"testing"
)

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 || (math.IsNaN(a) && math.IsNaN(b)) }

func TestClassMetrics(t *testing.T) {
	for _, tc := range []struct {
		name         string
		pred, labels []int32
		classes      int
		acc, macroF1 float64
	}{
		{"perfect", []int32{0, 1, 2}, []int32{0, 1, 2}, 3, 1, 1},
		// class 0: tp1 fp1 fn1 → 2/4; class 1: tp1 fp1 fn0 → 2/3; class 2: tp0 fp0 fn1 → 0
		{"mixed", []int32{0, 1, 0, 1}, []int32{0, 1, 2, 0}, 3, 0.5, (0.5 + 2.0/3 + 0) / 3},
		// class 2 never occurs: averaged over classes 0 and 1 only
		{"absent class", []int32{0, 0, 1}, []int32{0, 1, 1}, 3, 2.0 / 3, (2.0/3 + 2.0/3) / 2},
	} {
		if got := Accuracy(tc.pred, tc.labels); !near(got, tc.acc) {
			t.Errorf("%s: accuracy %v, want %v", tc.name, got, tc.acc)
		}
		if got := MacroF1(tc.pred, tc.labels, tc.classes); !near(got, tc.macroF1) {
			t.Errorf("%s: macro F1 %v, want %v", tc.name, got, tc.macroF1)
		}
	}
}

func TestRanking(t *testing.T) {
	for _, tc := range []struct {
		name            string
		scores, targets []float32
		auroc, ap       float64
	}{
		{"perfect", []float32{0.9, 0.8, 0.2, 0.1}, []float32{1, 1, 0, 0}, 1, 1},
		{"reversed", []float32{0.1, 0.2, 0.8, 0.9}, []float32{1, 1, 0, 0}, 0, (0.5*1.0/3 + 0.5*2.0/4)},
		// sklearn: roc_auc_score([0,0,1,1],[.1,.4,.35,.8]) = 0.75, AP = 0.8333…
		{"sklearn example", []float32{0.1, 0.4, 0.35, 0.8}, []float32{0, 0, 1, 1}, 0.75, (0.5*1 + 0.5*2.0/3)},
		// all tied: AUROC 0.5, AP = prevalence
		{"ties", []float32{0.5, 0.5, 0.5, 0.5}, []float32{1, 0, 0, 0}, 0.5, 0.25},
		{"no positives", []float32{0.1, 0.2}, []float32{0, 0}, math.NaN(), math.NaN()},
	} {
		if got := AUROC(tc.scores, tc.targets); !near(got, tc.auroc) {
			t.Errorf("%s: AUROC %v, want %v", tc.name, got, tc.auroc)
		}
		if got := AveragePrecision(tc.scores, tc.targets); !near(got, tc.ap) {
			t.Errorf("%s: AP %v, want %v", tc.name, got, tc.ap)
		}
	}
	// two labels interleaved: label 0 perfect (1), label 1 sklearn example (0.75); a
	// third label with one class only is skipped
	s := []float32{0.9, 0.1, 0, 0.8, 0.4, 0, 0.2, 0.35, 0, 0.1, 0.8, 0}
	y := []float32{1, 0, 0, 1, 0, 0, 0, 1, 0, 0, 1, 0}
	if got := MeanAUROC(s, y, 3); !near(got, (1+0.75)/2) {
		t.Errorf("mean AUROC %v", got)
	}
	if got := MeanAP(s, y, 3); !near(got, (1+(0.5+0.5*2.0/3))/2) {
		t.Errorf("mAP %v", got)
	}
}

func TestRegression(t *testing.T) {
	pred := []float32{1, 2, 3, 4}
	tgt := []float32{1, 0, 0, 2}
	// sample 0: ‖(0,2)‖/‖(1,0)‖ = 2; sample 1: ‖(3,2)‖/‖(0,2)‖ = √13/2
	if got, want := RelativeL2(pred, tgt, 2), (2+math.Sqrt(13)/2)/2; !near(got, want) {
		t.Errorf("relative L2 %v, want %v", got, want)
	}
	if got := MAE(pred, tgt); !near(got, (0+2+3+2)/4.0) {
		t.Errorf("MAE %v", got)
	}
	if got := FalseNegativeRate([]float32{1, -1, -2, 3, 0}, []float32{1, 1, 0, 1, 1}); !near(got, 0.5) {
		t.Errorf("FNR %v, want 0.5", got)
	}
}

// TestWholeSet checks that the accumulator computes over the whole set, not
// per batch: two batches with different sizes.
func TestWholeSet(t *testing.T) {
	a, err := New("error")
	if err != nil {
		t.Fatal(err)
	}
	// batch 1: 1 sample, wrong; batch 2: 3 samples, all right → error 1/4 (per-batch mean would be 1/2)
	if err := a.Add([]float32{0, 1}, 1, []int32{0}, nil); err != nil {
		t.Fatal(err)
	}
	if err := a.Add([]float32{1, 0, 0, 1, 1, 0}, 3, []int32{0, 1, 0}, nil); err != nil {
		t.Fatal(err)
	}
	if r := a.Result(); !near(r.Value, 0.25) || !near(r.Score, 0.25) || r.N != 4 {
		t.Errorf("result %+v", r)
	}
	f, _ := New("1-f1")
	f.Add([]float32{1, 0, 0, 1}, 2, []int32{0, 1}, nil)
	if r := f.Result(); r.Value != 1 || r.Score != 0 {
		t.Errorf("f1 %+v", r)
	}
	if _, err := New("bleu"); err == nil {
		t.Error("unknown metric accepted")
	}
}

func TestHigherIsBetter(t *testing.T) {
	for _, m := range Names() {
		a, err := New(m)
		if err != nil {
			t.Fatal(err)
		}
		// one perfect prediction: a higher-better metric's value is then
		// its maximum, 1; a lower-better one's its minimum, 0
		switch m {
		case "accuracy", "error", "macro_f1":
			a.Add([]float32{0, 5, 0, 0, 5, 0}, 2, []int32{1, 1}, nil)
		case "auroc", "map", "fnr":
			a.Add([]float32{5, -5, -5, 5}, 2, nil, []float32{1, 0, 0, 1})
		default:
			a.Add([]float32{1, 2, 3, 4}, 1, nil, []float32{1, 2, 3, 4})
		}
		r := a.Result()
		want := 0.0
		if HigherIsBetter(m) {
			want = 1
		}
		if math.Abs(r.Value-want) > 1e-9 || math.Abs(r.Score) > 1e-9 {
			t.Errorf("%s: a perfect prediction has value %v (score %v), want %v: HigherIsBetter = %v", m, r.Value, r.Score, want, HigherIsBetter(m))
		}
	}
}

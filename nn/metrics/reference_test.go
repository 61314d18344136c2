package metrics

import (
	"math"
	"sort"
	"testing"
)

// Independent float64 references of the metrics, written from their
// definitions with a different algorithm than the package's (pair counting
// instead of ranks, per-threshold sums instead of a sweep), checked on a
// small hand-checked batch through the Accumulator (two batches, so that a
// per-batch mean would differ).

// refAUROC counts pairs: P(score_pos > score_neg) + ½·P(tie).
func refAUROC(s, y []float64) float64 {
	var num, den float64
	for i := range s {
		for j := range s {
			if y[i] > 0.5 && y[j] < 0.5 {
				den++
				switch {
				case s[i] > s[j]:
					num++
				case s[i] == s[j]:
					num += 0.5
				}
			}
		}
	}
	return num / den
}

// refAP is Σ over distinct thresholds τ (descending) of (R(τ) − R(τ⁺))·P(τ).
func refAP(s, y []float64) float64 {
	th := append([]float64(nil), s...)
	sort.Sort(sort.Reverse(sort.Float64Slice(th)))
	var pos float64
	for _, v := range y {
		pos += v
	}
	ap, prevR := 0.0, 0.0
	for i, t := range th {
		if i > 0 && th[i-1] == t {
			continue
		}
		var tp, fp float64
		for k := range s {
			if s[k] >= t {
				if y[k] > 0.5 {
					tp++
				} else {
					fp++
				}
			}
		}
		r := tp / pos
		ap += (r - prevR) * tp / (tp + fp)
		prevR = r
	}
	return ap
}

func refF1(pred, truth []bool) (float64, bool) {
	var tp, fp, fn float64
	for i := range pred {
		switch {
		case pred[i] && truth[i]:
			tp++
		case pred[i]:
			fp++
		case truth[i]:
			fn++
		}
	}
	if tp+fp+fn == 0 {
		return 0, false
	}
	return 2 * tp / (2*tp + fp + fn), true
}

func col(m []float32, L, j int) []float64 {
	var out []float64
	for i := j; i < len(m); i += L {
		out = append(out, float64(m[i]))
	}
	return out
}

func meanOver(L int, f func(j int) (float64, bool)) float64 {
	s, n := 0.0, 0
	for j := range L {
		if v, ok := f(j); ok {
			s += v
			n++
		}
	}
	return s / float64(n)
}

func TestMetricsMatchFloat64(t *testing.T) {
	// 4 samples, 3 classes / labels. Class task: labels 0, 2, 1, 2.
	logits := []float32{
		2.0, 0.5, -1.0, // argmax 0
		0.1, 0.3, 0.2, // argmax 1
		-0.5, 1.5, 0.0, // argmax 1
		0.0, -0.2, 0.4, // argmax 2
	}
	labels := []int32{0, 2, 1, 2}
	// multi-label targets
	ml := []float32{
		1, 0, 0,
		0, 1, 1,
		1, 1, 0,
		0, 0, 1,
	}
	// dense: true distances (Å) and predictions
	dTrue := []float32{3, 7.9, 8, 12, 0, 5.5, 20, 7}
	dPred := []float32{4, 6.9, 1, 30, 0.5, 5.5, 2, 9}

	const L = 3
	// hand values
	// error: predictions 0,1,1,2 vs 0,2,1,2 → 1 wrong of 4
	// class F1: class0 tp1 → 1; class1 tp1 fp1 → 2/3; class2 tp1 fn1 → 2/3
	// mae8: pairs with true < 8: (3,4) (7.9,6.9) (0,0.5) (5.5,5.5) (7,9) → (1+1+0.5+0+2)/5 = 0.9
	// multi-label F1 (logit > 0): label0 pred {s0,s1} truth {s0,s2} → tp1 fp1 fn1 = 1/2;
	//   label1 pred {s0,s1,s2} truth {s1,s2} → tp2 fp1 = 4/5; label2 pred {s1,s3} truth {s1,s3} → 1
	hand := map[string]float64{
		"error": 0.25, "accuracy": 0.75,
		"macro_f1/class": (1 + 2.0/3 + 2.0/3) / 3,
		"macro_f1/multi": (0.5 + 0.8 + 1) / 3,
		"mae8":           0.9,
		"mae":            (1 + 1 + 7 + 18 + 0.5 + 0 + 18 + 2) / 8.0,
	}
	ref := map[string]float64{}
	// class metrics
	var wrong float64
	var predC []int
	for i := range 4 {
		best := 0
		for j := 1; j < L; j++ {
			if logits[i*L+j] > logits[i*L+best] {
				best = j
			}
		}
		predC = append(predC, best)
		if best != int(labels[i]) {
			wrong++
		}
	}
	ref["error"], ref["accuracy"] = wrong/4, 1-wrong/4
	ref["macro_f1/class"] = meanOver(L, func(c int) (float64, bool) {
		var p, tr []bool
		for i := range 4 {
			p, tr = append(p, predC[i] == c), append(tr, int(labels[i]) == c)
		}
		return refF1(p, tr)
	})
	ref["macro_f1/multi"] = meanOver(L, func(j int) (float64, bool) {
		var p, tr []bool
		for i := range 4 {
			p, tr = append(p, logits[i*L+j] > 0), append(tr, ml[i*L+j] > 0.5)
		}
		return refF1(p, tr)
	})
	ref["auroc"] = meanOver(L, func(j int) (float64, bool) { return refAUROC(col(logits, L, j), col(ml, L, j)), true })
	ref["map"] = meanOver(L, func(j int) (float64, bool) { return refAP(col(logits, L, j), col(ml, L, j)), true })
	var s8, n8, sa, sq, fnN, fnD float64
	for i := range dTrue {
		d := math.Abs(float64(dPred[i]) - float64(dTrue[i]))
		sa += d
		sq += d * d
		if dTrue[i] < 8 {
			s8 += d
			n8++
		}
	}
	ref["mae8"], ref["mae"], ref["mse"] = s8/n8, sa/8, sq/8
	for i := range ml {
		if ml[i] > 0.5 {
			fnD++
			if logits[i] <= 0 {
				fnN++
			}
		}
	}
	ref["fnr"] = fnN / fnD
	// relative L2 over 2 samples of 4
	var rl float64
	for i := range 2 {
		var num, den float64
		for k := i * 4; k < (i+1)*4; k++ {
			num += math.Pow(float64(dPred[k]-dTrue[k]), 2)
			den += float64(dTrue[k]) * float64(dTrue[k])
		}
		rl += math.Sqrt(num/den) / 2
	}
	ref["relative_l2"] = rl
	for k, v := range hand {
		if math.Abs(ref[k]-v) > 1e-12 {
			t.Fatalf("%s: float64 reference %v disagrees with the hand value %v", k, ref[k], v)
		}
	}

	for _, tc := range []struct {
		key, metric string
		outs        []float32
		n           int
		labels      []int32
		targets     []float32
		higher      bool // Value is higher-better (Score = 1 − Value)
	}{
		{"error", "error", logits, 4, labels, nil, false},
		{"accuracy", "accuracy", logits, 4, labels, nil, true},
		{"macro_f1/class", "f1", logits, 4, labels, nil, true},
		{"macro_f1/multi", "macro_f1", logits, 4, nil, ml, true},
		{"auroc", "1-auroc", logits, 4, nil, ml, true},
		{"map", "map", logits, 4, nil, ml, true},
		{"fnr", "fnr", logits, 4, nil, ml, false},
		{"mae8", "mae8", dPred, 2, nil, dTrue, false},
		{"mae", "mae", dPred, 2, nil, dTrue, false},
		{"mse", "mse", dPred, 2, nil, dTrue, false},
		{"relative_l2", "relative_l2", dPred, 2, nil, dTrue, false},
	} {
		t.Run(tc.key, func(t *testing.T) {
			a, err := New(tc.metric)
			if err != nil {
				t.Fatal(err)
			}
			// two batches of unequal size: 1 sample, then the rest
			s := len(tc.outs) / tc.n
			var l1, l2 []int32
			var t1, t2 []float32
			if tc.labels != nil {
				l1, l2 = tc.labels[:1], tc.labels[1:]
			}
			if tc.targets != nil {
				t1, t2 = tc.targets[:s], tc.targets[s:]
			}
			if err := a.Add(tc.outs[:s], 1, l1, t1); err != nil {
				t.Fatal(err)
			}
			if err := a.Add(tc.outs[s:], tc.n-1, l2, t2); err != nil {
				t.Fatal(err)
			}
			r := a.Result()
			want := ref[tc.key]
			if math.Abs(r.Value-want) > 1e-9 {
				t.Errorf("%s = %.12g, float64 reference %.12g", tc.metric, r.Value, want)
			}
			score := want
			if tc.higher {
				score = 1 - want
			}
			if math.Abs(r.Score-score) > 1e-9 || r.N != tc.n {
				t.Errorf("%s: score %v (want %v), n %d", tc.metric, r.Score, score, r.N)
			}
		})
	}
}

func TestMAE8Edges(t *testing.T) {
	if v := MAEBelow([]float32{1, 2}, []float32{8, 9}, DistanceCutoff); !math.IsNaN(v) {
		t.Errorf("no close pair: %v, want NaN", v)
	}
	// exactly 8 Å is not "closer than 8"
	if v := MAEBelow([]float32{0, 1}, []float32{8, 2}, DistanceCutoff); v != 1 {
		t.Errorf("cutoff: %v, want 1", v)
	}
	if !Decoded("mae8") || !Decoded("relative_l2") || Decoded("auroc") || Decoded("error") {
		t.Error("Decoded")
	}
	a, _ := New("macro_f1")
	if err := a.Add([]float32{1, 0}, 1, []int32{0}, nil); err != nil {
		t.Fatal(err)
	}
	if err := a.Add([]float32{1, 0}, 1, nil, []float32{1, 0}); err == nil {
		t.Error("macro_f1 mixed class and multi-label batches")
	}
}

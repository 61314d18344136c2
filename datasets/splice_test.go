package datasets

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// decodeOneHot turns a 4×L one-hot sample back into letters (N for none).
func decodeOneHot(x []float32, l int) string {
	b := make([]byte, l)
	for i := range l {
		b[i] = 'N'
		for c, letter := range "ACGT" {
			if x[c*l+i] == 1 {
				b[i] = byte(letter)
			}
		}
	}
	return string(b)
}

func TestSpliceLoad(t *testing.T) {
	task := needData(t, "splice")
	dir := t.TempDir()
	sp, err := task.Load(context.Background(), LoadOptions{CacheDir: dir, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if sp.Train.N != 1800 || sp.Val.N != 200 || sp.Test.N != SpliceTestSize {
		t.Fatalf("sizes train %d val %d test %d, want 1800/200/1186", sp.Train.N, sp.Val.N, sp.Test.N)
	}
	if _, err := os.Stat(filepath.Join(dir, "splice", "splice.bin.zst")); err != nil {
		t.Fatalf("no cache written: %v", err)
	}
	// Class counts of the 3,186 StatLog sequences, and the splice-site
	// consensus: donors (ei) have GT at intron positions 31–32, acceptors
	// (ie) AG at 29–30 — which checks the A/C/G/T decoding of the indicators.
	var count, consensus [3]int
	for _, d := range []*Data{sp.Train, sp.Val, sp.Test} {
		if err := d.Validate(); err != nil {
			t.Fatal(err)
		}
		for i := range d.N {
			x := d.X[i*240 : (i+1)*240]
			s := decodeOneHot(x, 60)
			if strings.Contains(s, "N") {
				t.Fatalf("sample %d is not one-hot: %s", i, s)
			}
			l := d.Labels[i]
			count[l]++
			if (l == 0 && s[30:32] == "GT") || (l == 1 && s[28:30] == "AG") {
				consensus[l]++
			}
		}
	}
	if count != [3]int{767, 765, 1654} {
		t.Fatalf("class counts %v, want [767 765 1654]", count)
	}
	if consensus[0] < 750 || consensus[1] < 750 {
		t.Fatalf("splice-site consensus in %v of the donors/acceptors: decoding is wrong", consensus)
	}
	// The test set is fixed; the seed moves only the validation carve; the
	// second load comes from the cache and is the same.
	sp2, err := task.Load(context.Background(), LoadOptions{CacheDir: dir, Seed: 2, Limit: 100, TestLimit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(sp2.Test.X, sp.Test.X[:10*240]) || !slices.Equal(sp2.Test.Labels, sp.Test.Labels[:10]) {
		t.Fatal("test set depends on the seed or the cache")
	}
	if sp2.Train.N != 90 || sp2.Val.N != 10 {
		t.Fatalf("limited sizes %d/%d", sp2.Train.N, sp2.Val.N)
	}
}

func TestSpliceMissingNamesPackage(t *testing.T) {
	t.Setenv(DataDirEnv, t.TempDir())
	t.Setenv("DASH_CACHE", t.TempDir())
	_, err := findDebFile(SplicePackage, rSiteLibrary+"/mlbench/data/absent.rda")
	if err == nil || !strings.Contains(err.Error(), "apt-get download r-cran-mlbench") || !strings.Contains(err.Error(), DataDirEnv) {
		t.Fatalf("error %v does not say how to get the data", err)
	}
}

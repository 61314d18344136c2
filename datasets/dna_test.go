package datasets

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestMotifMatching(t *testing.T) {
	pad := func(at int, m string) []byte {
		b := []byte(strings.Repeat("C", DNAWindow))
		copy(b[at:], m)
		return b
	}
	tests := []struct {
		name  string
		motif Motif
		seq   []byte
		want  bool
	}{
		{"exact", Motif{Pattern: "CACGTG"}, []byte("AACACGTGAA"), true},
		{"absent", Motif{Pattern: "CACGTG"}, []byte("AACACGTTAA"), false},
		{"IUPAC W and R", Motif{Pattern: "TATAWAWR"}, []byte("GGTATATAAGGG"), true},
		{"reverse strand", Motif{Pattern: "TATAWAWR"}, []byte("GGCTTATATAGG"), true}, // revcomp of CCTATATAAGCC
		{"forward only rejects the reverse strand", Motif{Pattern: "TCAGTY", ForwardOnly: true}, []byte("AAGACTGAAA"), false},
		{"forward only, forward", Motif{Pattern: "TCAGTY", ForwardOnly: true}, []byte("AATCAGTCAA"), true},
		{"N in pattern", Motif{Pattern: "TTCNNNGAA"}, []byte("ATTCAGCGAAT"), true},
		{"N in sequence matches nothing", Motif{Pattern: "TTCNNNGAA"}, []byte("ATTCANCGAAT"), false},
		{"lower case", Motif{Pattern: "GAGAGAG"}, []byte("ttgagagagtt"), true},
		{"inside the range", Motif{Pattern: "TATAWAWR", ForwardOnly: true, From: DNAWindow - 45, To: DNAWindow - 15}, pad(DNAWindow-40, "TATAAAAG"), true},
		{"outside the range", Motif{Pattern: "TATAWAWR", ForwardOnly: true, From: DNAWindow - 45, To: DNAWindow - 15}, pad(DNAWindow-20, "TATAAAAG"), false},
		{"too short", Motif{Pattern: "TATAWAWR"}, []byte("TATA"), false},
	}
	for _, tc := range tests {
		c, err := compileMotif(tc.motif)
		if err != nil {
			t.Fatal(err)
		}
		if got := c.in(seqBits(tc.seq)); got != tc.want {
			t.Errorf("%s: %s in %s = %v, want %v", tc.name, tc.motif.Pattern, tc.seq, got, tc.want)
		}
	}
	if _, err := compileMotif(Motif{Name: "bad", Pattern: "TAXA"}); err == nil {
		t.Error("no error for a non-IUPAC letter")
	}
}

func TestReadUpstreamSmall(t *testing.T) {
	w1 := strings.Repeat("acgt", 250)     // 1000 bases
	w2 := strings.Repeat("CACGTGTT", 125) // 1000 bases, E-box
	fa := ">a chr2L:1-1100\nGGGGG" + strings.Repeat("G", 95) + w1 + "\n" +
		">b chr3R:5-1004\n" + w2[:500] + "\n" + w2[500:] + "\n" +
		">c chrX:1-1000\n" + strings.ToUpper(w1) + "\n" + // duplicate of a's window
		">d chr2R:1-10\nACGT\n" // too short
	s, err := readUpstream(context.Background(), strings.NewReader(fa))
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Windows) != 2 || !slices.Equal(s.Test, []bool{true, false}) {
		t.Fatalf("%d windows, test %v; want 2, [true false]", len(s.Windows), s.Test)
	}
	if string(s.Windows[0]) != strings.ToUpper(w1) || string(s.Windows[1]) != w2 {
		t.Fatal("windows are not the last 1000 upper-cased bases")
	}
	if s.Labels[1][3] != 1 || s.Labels[0][3] != 0 {
		t.Fatalf("E-box labels %v %v", s.Labels[0][3], s.Labels[1][3])
	}
	for _, bad := range []string{"ACGT\n>a x\nACGT\n", ">a chr1:1-2\nACGU\n", ""} {
		if _, err := readUpstream(context.Background(), strings.NewReader(bad)); err == nil {
			t.Errorf("no error for %q", bad)
		}
	}
}

// The label counts are checked against an independent count (Python
// regular expressions over the same deduplicated windows, both strands).
func TestDNAUpstreamLoad(t *testing.T) {
	task := needData(t, "dna-upstream")
	if task.PosWeight != 4 || task.Loss != "bce_logits" || task.Metric != "auroc" {
		t.Fatalf("objective %s/%s pos_weight %v", task.Loss, task.Metric, task.PosWeight)
	}
	dir := t.TempDir()
	s, err := loadDNASet(context.Background(), dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	nTest := 0
	counts := make([]int, len(DNAMotifs))
	for i, l := range s.Labels {
		if s.Test[i] {
			nTest++
		}
		for j, v := range l {
			counts[j] += int(v)
		}
	}
	want := []int{10927, 1054, 6863, 2035, 2621, 2099, 5154, 4781, 7102, 713, 1344, 4704, 4443, 3933, 2043, 767}
	if len(s.Windows) != 17263 || nTest != 3155 || !slices.Equal(counts, want) {
		t.Fatalf("%d windows, %d test, label counts %v; want 17263, 3155, %v", len(s.Windows), nTest, counts, want)
	}
	if _, err := os.Stat(filepath.Join(dir, "dna-upstream", "windows.bin.zst")); err != nil {
		t.Fatalf("no cache written: %v", err)
	}
	cached, err := loadDNASet(context.Background(), dir, nil)
	if err != nil || !slices.EqualFunc(cached.Windows, s.Windows, slices.Equal) || !slices.Equal(cached.Test, s.Test) ||
		!slices.EqualFunc(cached.Labels, s.Labels, slices.Equal) {
		t.Fatalf("cached set differs (err %v)", err)
	}
	sp, err := task.Load(context.Background(), LoadOptions{CacheDir: dir, Seed: 3, Limit: 200, TestLimit: 50})
	if err != nil {
		t.Fatal(err)
	}
	if sp.Train.N != 180 || sp.Val.N != 20 || sp.Test.N != 50 || sp.Test.YShape[0] != len(DNAMotifs) {
		t.Fatalf("sizes %d/%d/%d", sp.Train.N, sp.Val.N, sp.Test.N)
	}
	// The first test window is the file's first record (NM_078863, chr2L).
	if got := decodeOneHot(sp.Test.X[:4*DNAWindow], DNAWindow); got[:30] != "TCGCATTGCTCTGAAGGACGCCGACTACAT" {
		t.Fatalf("first test window starts %s", got[:30])
	}
	for _, d := range []*Data{sp.Train, sp.Val, sp.Test} {
		if err := d.Validate(); err != nil {
			t.Fatal(err)
		}
	}
}

func TestDNAMissingNamesPackage(t *testing.T) {
	t.Setenv(DataDirEnv, t.TempDir())
	t.Setenv("DASH_CACHE", t.TempDir())
	_, err := findDebFile(DNAPackage, rSiteLibrary+"/Biostrings/extdata/absent.fa.gz")
	if err == nil || !strings.Contains(err.Error(), "apt-get download r-bioc-biostrings") {
		t.Fatalf("error %v does not say how to get the data", err)
	}
}

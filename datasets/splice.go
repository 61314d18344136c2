package datasets

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/dash-go/dash/datasets/rdata"
)

// The splice task: primate splice-junction sequences (the UCI / StatLog
// "DNA" data as shipped by the R package mlbench).
const (
	// SplicePackage is the Debian package that ships DNA.rda.
	SplicePackage = "r-cran-mlbench"
	// SpliceFile is DNA.rda's path inside the package.
	SpliceFile = rSiteLibrary + "/mlbench/data/DNA.rda"
	// SpliceLength is the number of nucleotides per sample.
	SpliceLength = 60
	// SpliceTestSize is the held-out test set size, as in StatLog's split
	// (2000 training, 1186 test sequences).
	SpliceTestSize = 1186
	// spliceSplitSeed fixes which sequences form the test set.
	spliceSplitSeed = 60_3186
)

// SpliceClasses are the class names in label order: exon→intron boundary
// (donor), intron→exon boundary (acceptor), neither.
var SpliceClasses = []string{"ei", "ie", "n"}

// spliceCode maps the StatLog encoding of one nucleotide, three binary
// indicators, to its letter: A = 100, C = 010, G = 001, T = 000.
var spliceCode = map[[3]int]byte{{1, 0, 0}: 'A', {0, 1, 0}: 'C', {0, 0, 1}: 'G', {0, 0, 0}: 'T'}

func init() {
	mustRegister(&Task{
		Name:        "splice",
		Description: "primate splice junctions: 60 nt one-hot 4×60 (A,C,G,T) → donor (ei), acceptor (ie) or neither (n); real labelled genomics",
		Family:      "genomics 1-D point",
		StandsFor:   "real labelled genomics (DeepSEA family, 1-D point; no NAS-Bench-360 twin)",
		Licence:     "GPL-2 (mlbench)",
		Source:      "Debian " + SplicePackage + " (/" + SpliceFile + ", UCI/StatLog splice-junction data, GPL-2)",
		Dims:        1,
		InShape:     []int{4, SpliceLength},
		Kind:        ClassIndex,
		Classes:     3,
		Loss:        "cross_entropy",
		Metric:      "error",
		Kernels:     []int{3, 7, 11, 15, 19},
		Dilations:   []int{1, 3, 7, 15},
		BatchSize:   256,
		Backbone:    "resnet1d",
		TrainSize:   3186 - SpliceTestSize,
		TestSize:    SpliceTestSize,
		Present: func() (bool, string) {
			p, err := findDebFile(SplicePackage, SpliceFile)
			if err != nil {
				return false, err.Error()
			}
			return true, p
		},
		Load: func(ctx context.Context, o LoadOptions) (*Split, error) {
			sp, err := LoadSplice(ctx, o)
			if err != nil {
				return nil, fmt.Errorf("loading splice: %w", err)
			}
			return sp, nil
		},
	})
}

// SpliceSet is the decoded splice-junction data: sequences of SpliceLength
// letters (A, C, G, T) and class indices into SpliceClasses.
type SpliceSet struct {
	Seqs   [][]byte
	Labels []int32
}

// ReadSplice decodes DNA.rda: the data.frame DNA with factor columns
// V1…V180 (levels "0","1"; three per nucleotide) and Class (ei, ie, n).
func ReadSplice(path string) (*SpliceSet, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("datasets: %w", err)
	}
	defer f.Close()
	rf, err := rdata.ReadFile(f)
	if err != nil {
		return nil, fmt.Errorf("datasets: %s: %w", path, err)
	}
	v, ok := rf.Get("DNA")
	if !ok {
		return nil, fmt.Errorf("datasets: %s: no object DNA (has %v)", path, rf.Names)
	}
	df, err := v.DataFrame()
	if err != nil {
		return nil, fmt.Errorf("datasets: %s: DNA: %w", path, err)
	}
	s, err := spliceFromFrame(df)
	if err != nil {
		return nil, fmt.Errorf("datasets: %s: %w", path, err)
	}
	return s, nil
}

func spliceFromFrame(df *rdata.Frame) (*SpliceSet, error) {
	cls := df.Column("Class")
	if cls == nil {
		return nil, fmt.Errorf("DNA has no Class column")
	}
	codes, levels, err := cls.Factor()
	if err != nil {
		return nil, fmt.Errorf("DNA$Class: %w", err)
	}
	if !slices.Equal(levels, SpliceClasses) {
		return nil, fmt.Errorf("DNA$Class levels %v, want %v", levels, SpliceClasses)
	}
	s := &SpliceSet{Seqs: make([][]byte, df.Rows), Labels: make([]int32, df.Rows)}
	for r, c := range codes {
		if c < 0 {
			return nil, fmt.Errorf("DNA$Class is NA in row %d", r+1)
		}
		s.Labels[r] = int32(c)
		s.Seqs[r] = make([]byte, SpliceLength)
	}
	bits := make([][]int, 3*SpliceLength)
	for j := range bits {
		name := fmt.Sprintf("V%d", j+1)
		col := df.Column(name)
		if col == nil {
			return nil, fmt.Errorf("DNA has no column %s", name)
		}
		c, lv, err := col.Factor()
		if err != nil {
			return nil, fmt.Errorf("DNA$%s: %w", name, err)
		}
		val := make([]int, len(lv))
		for i, l := range lv {
			switch l {
			case "0":
			case "1":
				val[i] = 1
			default:
				return nil, fmt.Errorf("DNA$%s has level %q, want 0 and 1", name, l)
			}
		}
		bits[j] = make([]int, len(c))
		for r, k := range c {
			if k < 0 {
				return nil, fmt.Errorf("DNA$%s is NA in row %d", name, r+1)
			}
			bits[j][r] = val[k]
		}
	}
	for r := range s.Seqs {
		for p := range SpliceLength {
			key := [3]int{bits[3*p][r], bits[3*p+1][r], bits[3*p+2][r]}
			b, ok := spliceCode[key]
			if !ok {
				return nil, fmt.Errorf("row %d, nucleotide %d: indicators %v are no nucleotide", r+1, p+1, key)
			}
			s.Seqs[r][p] = b
		}
	}
	return s, nil
}

// loadSpliceSet reads the decoded set from the cache, or decodes DNA.rda
// and caches it.
func loadSpliceSet(cacheDir string) (*SpliceSet, error) {
	src, err := findDebFile(SplicePackage, SpliceFile)
	if err != nil {
		return nil, err
	}
	key, err := sourceKey(1, src)
	if err != nil {
		return nil, err
	}
	root, rootErr := cacheRoot(cacheDir)
	cpath := filepath.Join(root, "splice", "splice.bin.zst")
	if rootErr == nil {
		if b, ok := readDerived(cpath, key); ok {
			if s, err := decodeSpliceCache(b); err == nil {
				return s, nil
			}
		}
	}
	s, err := ReadSplice(src)
	if err != nil {
		return nil, err
	}
	if rootErr == nil {
		var p payload
		p.putU32(uint32(len(s.Seqs)))
		for i, q := range s.Seqs {
			p.putU32(uint32(s.Labels[i]))
			p.putBytes(q)
		}
		// A cache that cannot be written only costs the decode next time.
		_ = writeDerived(cpath, key, p.b)
	}
	return s, nil
}

func decodeSpliceCache(b []byte) (*SpliceSet, error) {
	p := payload{b: b}
	n := int(p.u32())
	if p.err != nil || n > len(b)/8 {
		return nil, fmt.Errorf("datasets: bad splice cache")
	}
	s := &SpliceSet{Seqs: make([][]byte, n), Labels: make([]int32, n)}
	for i := range n {
		s.Labels[i] = int32(p.u32())
		s.Seqs[i] = slices.Clone(p.bytes())
		if p.err == nil && (len(s.Seqs[i]) != SpliceLength || s.Labels[i] > 2) {
			return nil, fmt.Errorf("datasets: bad splice cache")
		}
	}
	return s, p.err
}

// spliceData one-hot encodes the sequences at idx.
func (s *SpliceSet) data(idx []int) *Data {
	m := 4 * SpliceLength
	d := &Data{X: make([]float32, len(idx)*m), XShape: []int{4, SpliceLength}, Labels: make([]int32, len(idx)), N: len(idx)}
	for k, i := range idx {
		oneHotDNA(d.X[k*m:(k+1)*m], s.Seqs[i])
		d.Labels[k] = s.Labels[i]
	}
	return d
}

// LoadSplice builds the splice split: a fixed seeded test set of
// SpliceTestSize sequences, validation carved from the rest with o.Seed.
// Inputs are one-hot and are not normalised (Split.Norm has no statistics).
func LoadSplice(ctx context.Context, o LoadOptions) (*Split, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s, err := loadSpliceSet(o.CacheDir)
	if err != nil {
		return nil, err
	}
	n := len(s.Seqs)
	if n < 3 {
		return nil, fmt.Errorf("datasets: splice data has %d sequences", n)
	}
	pool, test := carve(n, float64(SpliceTestSize)/float64(n), spliceSplitSeed)
	return fixedSplit(pool, test, s.data, o), nil
}

// fixedSplit applies Limit, the validation carve and TestLimit to pool and
// test indices and builds only the samples used.
func fixedSplit(pool, test []int, build func(idx []int) *Data, o LoadOptions) *Split {
	if o.Limit > 0 && o.Limit < len(pool) {
		pool = pool[:o.Limit]
	}
	if o.TestLimit > 0 && o.TestLimit < len(test) {
		test = test[:o.TestLimit]
	}
	tr, va := carve(len(pool), o.valFraction(), o.Seed)
	pick := func(ix []int) []int {
		out := make([]int, len(ix))
		for k, i := range ix {
			out[k] = pool[i]
		}
		return out
	}
	return &Split{Train: build(pick(tr)), Val: build(pick(va)), Test: build(test), Norm: &Normalizer{}}
}

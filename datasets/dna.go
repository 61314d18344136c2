package datasets

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"
)

// The dna-upstream task: a DeepSEA-shaped stand-in (4×1000 one-hot DNA,
// multi-label) built from real Drosophila promoter-proximal sequence, with
// labels that say which known regulatory motifs the window contains.
const (
	// DNAPackage is the Debian package that ships the sequences (Bioconductor
	// Biostrings' example data; installing it pulls in R, so it is extracted).
	DNAPackage = "r-bioc-biostrings"
	// DNAFile is the FASTA file's path inside the package: the 2,000 bases
	// upstream of every annotated transcription start of the D. melanogaster
	// dm3 assembly (UCSC), 26,454 records.
	DNAFile = rSiteLibrary + "/Biostrings/extdata/dm3_upstream2000.fa.gz"
	// DNAWindow is the window length: the DNAWindow bases next to the
	// transcription start (the last DNAWindow of each 2,000).
	DNAWindow = 1000
)

// DNATestChromosomes hold out whole chromosome arms as the test set (as
// DeepSEA holds out chr8 and chr9): every window from chr2L.
var DNATestChromosomes = []string{"chr2L", "chr2LHet"}

// Motif is a labelled DNA motif in IUPAC letters.
type Motif struct {
	Name, Pattern string
	// Both strands are searched unless ForwardOnly.
	ForwardOnly bool
	// From, To restrict a match to lie within window positions [From, To)
	// when To > 0 (forward strand, 0-based, window end = transcription start).
	From, To int
}

// DNAMotifs are the labels of dna-upstream, in label order: known
// Drosophila (and general eukaryotic) core-promoter elements and
// transcription-factor sites. A window is positive for a motif when the
// consensus occurs in it (either strand unless stated). Frequencies of the
// deduplicated windows range from about 4% to 63%.
var DNAMotifs = []Motif{
	{Name: "TATA box (TBP)", Pattern: "TATAWAWR"},
	{Name: "TATA box at -45..-15", Pattern: "TATAWAWR", ForwardOnly: true, From: DNAWindow - 45, To: DNAWindow - 15},
	{Name: "Inr (Drosophila initiator)", Pattern: "TCAGTY", ForwardOnly: true},
	{Name: "E-box (bHLH)", Pattern: "CACGTG"},
	{Name: "GAGA (Trl/GAF)", Pattern: "GAGAGAG"},
	{Name: "DRE (DREF)", Pattern: "TATCGATA"},
	{Name: "Bicoid", Pattern: "TAATCC"},
	{Name: "GC box (Sp1)", Pattern: "GGGCGG"},
	{Name: "BREu (TFIIB)", Pattern: "SSRCGCC"},
	{Name: "Ohler motif 1", Pattern: "YGGTCACACTR"},
	{Name: "kappaB (Dorsal/Dif)", Pattern: "GGGWWWWCC"},
	{Name: "STAT92E", Pattern: "TTCNNNGAA"},
	{Name: "HSE (HSF)", Pattern: "GAANNTTC"},
	{Name: "EcR/USP half-site", Pattern: "AGGTCA"},
	{Name: "Mad (Dpp)", Pattern: "GCCGNCGC"},
	{Name: "Su(Hw) core", Pattern: "TTGCATAC"},
}

// iupac maps an IUPAC letter to the set of bases (bit 0 A, 1 C, 2 G, 3 T).
var iupac = map[byte]uint8{
	'A': 1, 'C': 2, 'G': 4, 'T': 8,
	'R': 1 | 4, 'Y': 2 | 8, 'S': 2 | 4, 'W': 1 | 8, 'K': 4 | 8, 'M': 1 | 2,
	'B': 2 | 4 | 8, 'D': 1 | 4 | 8, 'H': 1 | 2 | 8, 'V': 1 | 2 | 4, 'N': 15,
}

func baseBit(c byte) uint8 {
	switch c {
	case 'A', 'a':
		return 1
	case 'C', 'c':
		return 2
	case 'G', 'g':
		return 4
	case 'T', 't':
		return 8
	}
	return 0
}

// compiled is a motif as per-position base masks for both strands.
type compiledMotif struct {
	fwd, rev []uint8
	m        Motif
}

func compileMotif(m Motif) (compiledMotif, error) {
	c := compiledMotif{m: m, fwd: make([]uint8, len(m.Pattern)), rev: make([]uint8, len(m.Pattern))}
	for i := range len(m.Pattern) {
		b, ok := iupac[m.Pattern[i]]
		if !ok {
			return c, fmt.Errorf("datasets: motif %s: %q is not an IUPAC letter", m.Name, m.Pattern[i])
		}
		c.fwd[i] = b
		// complement: swap A<->T (bits 0,3) and C<->G (bits 1,2)
		comp := (b&1)<<3 | (b&8)>>3 | (b&2)<<1 | (b&4)>>1
		c.rev[len(m.Pattern)-1-i] = comp
	}
	return c, nil
}

func matchAt(bits []uint8, p []uint8, s int) bool {
	for j, m := range p {
		if bits[s+j]&m == 0 {
			return false
		}
	}
	return true
}

// in reports whether the motif occurs in a sequence given as base bits.
func (c compiledMotif) in(bits []uint8) bool {
	lo, hi := 0, len(bits)
	if c.m.To > 0 {
		lo, hi = max(c.m.From, 0), min(c.m.To, len(bits))
	}
	for s := lo; s+len(c.fwd) <= hi; s++ {
		if matchAt(bits, c.fwd, s) || (!c.m.ForwardOnly && matchAt(bits, c.rev, s)) {
			return true
		}
	}
	return false
}

func seqBits(seq []byte) []uint8 {
	b := make([]uint8, len(seq))
	for i, c := range seq {
		b[i] = baseBit(c)
	}
	return b
}

// MotifLabels returns the 0/1 label of each DNAMotifs entry for seq.
func MotifLabels(seq []byte) []float32 {
	out := make([]float32, len(DNAMotifs))
	bits := seqBits(seq)
	for i, c := range compiledDNAMotifs {
		if c.in(bits) {
			out[i] = 1
		}
	}
	return out
}

var compiledDNAMotifs = func() []compiledMotif {
	out := make([]compiledMotif, len(DNAMotifs))
	for i, m := range DNAMotifs {
		c, err := compileMotif(m)
		if err != nil {
			panic(err) // a bad built-in table is a programming error
		}
		out[i] = c
	}
	return out
}()

func init() {
	mustRegister(&Task{
		Name: "dna-upstream",
		Description: fmt.Sprintf("STAND-IN for DeepSEA: real D. melanogaster promoter-proximal DNA (the %d bases before each transcription start, one-hot 4×%d, deduplicated) → presence of %d known regulatory motifs (TATA, Inr, E-box, GAGA, DRE, …); test = chr2L",
			DNAWindow, DNAWindow, len(DNAMotifs)),
		Family:    "genomics 1-D multi-label",
		StandsFor: "DeepSEA (stand-in: real sequence, motif-presence labels)",
		Licence:   "Artistic-2.0 (Biostrings)",
		Source:    "Debian " + DNAPackage + " (/" + DNAFile + ", UCSC dm3 upstream sequences, Artistic-2.0)",
		Dims:      1,
		InShape:   []int{4, DNAWindow},
		Kind:      MultiLabel,
		Classes:   len(DNAMotifs),
		Loss:      "bce_logits",
		PosWeight: 4,
		Metric:    "auroc",
		Kernels:   []int{3, 7, 11, 15, 19},
		Dilations: []int{1, 3, 7, 15},
		BatchSize: 256,
		Backbone:  "resnet1d",
		TrainSize: 14108,
		TestSize:  3155,
		Present: func() (bool, string) {
			p, err := findDebFile(DNAPackage, DNAFile)
			if err != nil {
				return false, err.Error()
			}
			return true, p
		},
		Load: func(ctx context.Context, o LoadOptions) (*Split, error) {
			sp, err := LoadDNAUpstream(ctx, o)
			if err != nil {
				return nil, fmt.Errorf("loading dna-upstream: %w", err)
			}
			return sp, nil
		},
	})
}

// DNASet is the derived dna-upstream data: unique windows in file order,
// whether each is in the test set, and the motif labels.
type DNASet struct {
	Windows [][]byte // upper-case, DNAWindow bases each
	Test    []bool
	Labels  [][]float32
}

// ReadUpstreamFASTA reads a (gzipped) FASTA file of upstream sequences and
// builds the windows: the last DNAWindow bases of each record of at least
// that length, upper-cased (soft-masked repeats included), exact duplicates
// dropped (alternative transcripts share a start), the chromosome taken from
// the header's "chrN:from-to" field.
func ReadUpstreamFASTA(ctx context.Context, path string) (*DNASet, error) {
	r, closeFn, err := openMaybeGzip(path)
	if err != nil {
		return nil, err
	}
	defer closeFn()
	s, err := readUpstream(ctx, r)
	if err != nil {
		return nil, fmt.Errorf("datasets: %s: %w", path, err)
	}
	return s, nil
}

func readUpstream(ctx context.Context, r io.Reader) (*DNASet, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<16), 1<<20)
	s := &DNASet{}
	seen := map[string]bool{}
	var hdr string
	var seq []byte
	records := 0
	flush := func() error {
		if hdr == "" {
			if len(seq) > 0 {
				return fmt.Errorf("sequence before the first '>' header")
			}
			return nil
		}
		records++
		if len(seq) < DNAWindow {
			return nil
		}
		w := []byte(strings.ToUpper(string(seq[len(seq)-DNAWindow:])))
		if seen[string(w)] {
			return nil
		}
		seen[string(w)] = true
		chrom := ""
		if f := strings.Fields(hdr); len(f) > 1 {
			chrom, _, _ = strings.Cut(f[1], ":")
		}
		s.Windows = append(s.Windows, w)
		s.Test = append(s.Test, slices.Contains(DNATestChromosomes, chrom))
		s.Labels = append(s.Labels, MotifLabels(w))
		return nil
	}
	line := 0
	for sc.Scan() {
		line++
		b := sc.Bytes()
		if len(b) > 0 && b[0] == '>' {
			if err := flush(); err != nil {
				return nil, fmt.Errorf("line %d: %w", line, err)
			}
			if records%4096 == 0 {
				if err := ctx.Err(); err != nil {
					return nil, err
				}
			}
			hdr, seq = string(b[1:]), seq[:0]
			continue
		}
		for _, c := range b {
			switch c {
			case 'A', 'C', 'G', 'T', 'N', 'a', 'c', 'g', 't', 'n':
				seq = append(seq, c)
			case ' ', '\r', '\t':
			default:
				return nil, fmt.Errorf("line %d: %q is not a DNA letter (A, C, G, T, N)", line, c)
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading: %w", err)
	}
	if err := flush(); err != nil {
		return nil, err
	}
	if len(s.Windows) == 0 {
		return nil, fmt.Errorf("no FASTA record of at least %d bases", DNAWindow)
	}
	return s, nil
}

// loadDNASet reads the derived windows from the cache, or builds and caches
// them.
func loadDNASet(ctx context.Context, cacheDir string, progress io.Writer) (*DNASet, error) {
	src, err := findDebFile(DNAPackage, DNAFile)
	if err != nil {
		return nil, err
	}
	key, err := sourceKey(1, src)
	if err != nil {
		return nil, err
	}
	root, rootErr := cacheRoot(cacheDir)
	cpath := filepath.Join(root, "dna-upstream", "windows.bin.zst")
	if rootErr == nil {
		if b, ok := readDerived(cpath, key); ok {
			if s, err := decodeDNACache(b); err == nil {
				return s, nil
			}
		}
	}
	if progress != nil {
		fmt.Fprintf(progress, "dna-upstream: deriving windows and motif labels from %s\n", src)
	}
	s, err := ReadUpstreamFASTA(ctx, src)
	if err != nil {
		return nil, err
	}
	if rootErr == nil {
		var p payload
		p.putU32(uint32(len(s.Windows)))
		p.putU32(uint32(len(DNAMotifs)))
		for i, w := range s.Windows {
			t := uint32(0)
			if s.Test[i] {
				t = 1
			}
			bits := uint32(0)
			for j, v := range s.Labels[i] {
				if v == 1 {
					bits |= 1 << j
				}
			}
			p.putU32(t)
			p.putU32(bits)
			p.putBytes(w)
		}
		// A cache that cannot be written only costs the derivation next time.
		_ = writeDerived(cpath, key, p.b)
	}
	return s, nil
}

func decodeDNACache(b []byte) (*DNASet, error) {
	p := payload{b: b}
	n, nl := int(p.u32()), int(p.u32())
	if p.err != nil || n > len(b)/12 || nl != len(DNAMotifs) {
		return nil, fmt.Errorf("datasets: bad dna-upstream cache")
	}
	s := &DNASet{Windows: make([][]byte, n), Test: make([]bool, n), Labels: make([][]float32, n)}
	for i := range n {
		s.Test[i] = p.u32() == 1
		bits := p.u32()
		s.Windows[i] = slices.Clone(p.bytes())
		if p.err != nil || len(s.Windows[i]) != DNAWindow {
			return nil, fmt.Errorf("datasets: bad dna-upstream cache")
		}
		s.Labels[i] = make([]float32, nl)
		for j := range nl {
			if bits&(1<<j) != 0 {
				s.Labels[i][j] = 1
			}
		}
	}
	return s, nil
}

func (s *DNASet) data(idx []int) *Data {
	m, nl := 4*DNAWindow, len(DNAMotifs)
	d := &Data{X: make([]float32, len(idx)*m), XShape: []int{4, DNAWindow}, Y: make([]float32, len(idx)*nl), YShape: []int{nl}, N: len(idx)}
	for k, i := range idx {
		oneHotDNA(d.X[k*m:(k+1)*m], s.Windows[i])
		copy(d.Y[k*nl:(k+1)*nl], s.Labels[i])
	}
	return d
}

// LoadDNAUpstream builds the dna-upstream split: test = the windows of
// DNATestChromosomes, validation carved from the rest with o.Seed. Inputs
// are one-hot (N is all zero) and are not normalised.
func LoadDNAUpstream(ctx context.Context, o LoadOptions) (*Split, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s, err := loadDNASet(ctx, o.CacheDir, o.Progress)
	if err != nil {
		return nil, err
	}
	var pool, test []int
	for i, t := range s.Test {
		if t {
			test = append(test, i)
		} else {
			pool = append(pool, i)
		}
	}
	if len(pool) < 2 || len(test) == 0 {
		return nil, fmt.Errorf("datasets: dna-upstream has %d training and %d test windows", len(pool), len(test))
	}
	return fixedSplit(pool, test, s.data, o), nil
}

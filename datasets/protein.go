package datasets

import (
	"context"
	"fmt"
	"hash/fnv"
	"io/fs"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// The protein-dist task: a PSICOV-shaped stand-in (2-D dense distance maps)
// from the experimental structures that ship with THESEUS's examples.
const (
	// ProteinPackage is the Debian package with the PDB files.
	ProteinPackage = "theseus-examples"
	// ProteinDir is where ProteinPackage installs them.
	ProteinDir = "/usr/share/doc/theseus/examples"
	// ProteinCrop is the side of the square crops of the distance maps.
	ProteinCrop = 64
	// ProteinCropsPerChain is the number of crops taken from each chain: one
	// on the diagonal and the others anywhere, at seeded offsets.
	ProteinCropsPerChain = 3
	// ProteinChannels is the input channels: one-hot residue i (21), one-hot
	// residue j (21), sequence separation (j − i)/100.
	ProteinChannels = 2*21 + 1
)

// The family split: no protein family is in two splits. The subdirectories
// of ProteinDir are the families; the three single chains at its top level
// (1adz, 1s40, 2sdf) are unrelated to them and to each other.
var (
	ProteinTrainFamilies = []string{"trypsins"}
	ProteinValFamilies   = []string{"cytochromes", "."}
	ProteinTestFamilies  = []string{"ldh"}
)

func init() {
	mustRegister(&Task{
		Name: "protein-dist",
		Description: fmt.Sprintf("STAND-IN for PSICOV: Cβ distance maps (Cα for Gly) of real PDB chains, %d×%d crops (%d per chain), inputs from sequence only (one-hot residue i and j, separation) %d×%d×%d; split by family: train trypsins, validation cytochromes c + 3 unrelated chains, test lactate/malate dehydrogenases",
			ProteinCrop, ProteinCrop, ProteinCropsPerChain, ProteinChannels, ProteinCrop, ProteinCrop),
		Family:    "proteins 2-D dense",
		StandsFor: "PSICOV (stand-in: sequence-only inputs, 64×64 crops)",
		Licence:   "GPL-3+ (theseus-examples)",
		Source:    "Debian " + ProteinPackage + " (" + ProteinDir + "/**.pdb.gz, PDB entries via THESEUS, GPL-3+)",
		Dims:      2,
		InShape:   []int{ProteinChannels, ProteinCrop, ProteinCrop},
		Kind:      DenseField,
		OutShape:  []int{1, ProteinCrop, ProteinCrop},
		Loss:      "mse",
		Metric:    "mae8",
		Kernels:   []int{3, 5, 7, 9},
		Dilations: []int{1, 3, 7, 15},
		BatchSize: 8,
		Backbone:  "wrn-dense",
		TrainSize: 172 * ProteinCropsPerChain,
		TestSize:  123 * ProteinCropsPerChain,
		Present: func() (bool, string) {
			d, err := proteinDir()
			if err != nil {
				return false, err.Error()
			}
			return true, d
		},
		Load: func(ctx context.Context, o LoadOptions) (*Split, error) {
			sp, err := LoadProteinDist(ctx, o)
			if err != nil {
				return nil, fmt.Errorf("loading protein-dist: %w", err)
			}
			return sp, nil
		},
	})
}

// proteinDir finds the THESEUS examples: $DASH_THESEUS_DIR, the installed
// package, or a tree extracted with dpkg-deb into $DASH_DATA_DIR or
// cache/debian.
func proteinDir() (string, error) {
	var cands []string
	if d := os.Getenv("DASH_THESEUS_DIR"); d != "" {
		cands = append(cands, d)
	}
	cands = append(cands, ProteinDir)
	rel := strings.TrimPrefix(ProteinDir, "/")
	if d := os.Getenv(DataDirEnv); d != "" {
		cands = append(cands, filepath.Join(d, rel))
	}
	if root, err := cacheRoot(""); err == nil {
		cands = append(cands, filepath.Join(root, "debian", rel))
	}
	return findProteinDir(cands)
}

// findProteinDir returns the first of cands holding the examples (an ldh
// family of .pdb.gz files), or an error naming the package.
func findProteinDir(cands []string) (string, error) {
	for _, d := range cands {
		if m, _ := filepath.Glob(filepath.Join(d, "ldh", "*.pdb.gz")); len(m) > 0 {
			return d, nil
		}
	}
	return "", fmt.Errorf("datasets: THESEUS example PDB files not found (looked in %s): install the Debian package %s (apt-get install %s), or extract it (`apt-get download %s && dpkg-deb -x %s_*.deb DIR`, then DASH_DATA_DIR=DIR): %w",
		strings.Join(cands, ", "), ProteinPackage, ProteinPackage, ProteinPackage, ProteinPackage, fs.ErrNotExist)
}

// ProteinChain is a parsed chain with its family and origin.
type ProteinChain struct {
	Family, File string
	Chain
}

// ReadProteinChains parses every *.pdb.gz under dir (the top level and one
// level of family subdirectories, family "." for the top level) and keeps
// the chains of at least ProteinCrop residues, dropping chains whose
// sequence repeats one already kept in the same family (the identical
// chains of one crystal, or the same protein solved twice).
func ReadProteinChains(ctx context.Context, dir string) ([]ProteinChain, error) {
	files, err := proteinFiles(dir)
	if err != nil {
		return nil, err
	}
	var out []ProteinChain
	seen := map[string]bool{}
	for _, rel := range files {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		chains, err := readPDBFile(filepath.Join(dir, rel))
		if err != nil {
			return nil, err
		}
		fam := filepath.Dir(rel)
		for _, c := range chains {
			k := fam + "|" + string(c.Seq)
			if len(c.Seq) < ProteinCrop || seen[k] {
				continue
			}
			seen[k] = true
			out = append(out, ProteinChain{Family: fam, File: rel, Chain: c})
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("datasets: no protein chain of at least %d residues under %s", ProteinCrop, dir)
	}
	return out, nil
}

func proteinFiles(dir string) ([]string, error) {
	var files []string
	for _, pat := range []string{"*.pdb.gz", "*/*.pdb.gz"} {
		m, err := filepath.Glob(filepath.Join(dir, pat))
		if err != nil {
			return nil, fmt.Errorf("datasets: %w", err)
		}
		for _, p := range m {
			rel, err := filepath.Rel(dir, p)
			if err != nil {
				return nil, fmt.Errorf("datasets: %w", err)
			}
			files = append(files, rel)
		}
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("datasets: no .pdb.gz files under %s: %w", dir, fs.ErrNotExist)
	}
	slices.Sort(files)
	return files, nil
}

func readPDBFile(path string) ([]Chain, error) {
	r, closeFn, err := openMaybeGzip(path)
	if err != nil {
		return nil, err
	}
	defer closeFn()
	chains, err := ParsePDB(r)
	if err != nil {
		return nil, fmt.Errorf("datasets: %s: %w", path, err)
	}
	return chains, nil
}

// proteinKey identifies the PDB tree by its files' names, sizes and times.
func proteinKey(dir string) (string, error) {
	files, err := proteinFiles(dir)
	if err != nil {
		return "", err
	}
	h := fnv.New64a()
	for _, f := range files {
		st, err := os.Stat(filepath.Join(dir, f))
		if err != nil {
			return "", fmt.Errorf("datasets: %w", err)
		}
		fmt.Fprintf(h, "%s %d %d\n", f, st.Size(), st.ModTime().UnixNano())
	}
	return fmt.Sprintf("v1 %s %d %x", dir, len(files), h.Sum64()), nil
}

// loadProteinChains reads the parsed chains from the cache or parses the PDB
// files and caches them.
func loadProteinChains(ctx context.Context, cacheDir string) ([]ProteinChain, error) {
	dir, err := proteinDir()
	if err != nil {
		return nil, err
	}
	key, err := proteinKey(dir)
	if err != nil {
		return nil, err
	}
	root, rootErr := cacheRoot(cacheDir)
	cpath := filepath.Join(root, "protein-dist", "chains.bin.zst")
	if rootErr == nil {
		if b, ok := readDerived(cpath, key); ok {
			if cs, err := decodeProteinCache(b); err == nil {
				return cs, nil
			}
		}
	}
	cs, err := ReadProteinChains(ctx, dir)
	if err != nil {
		return nil, err
	}
	if rootErr == nil {
		var p payload
		p.putU32(uint32(len(cs)))
		for _, c := range cs {
			p.putString(c.Family)
			p.putString(c.File)
			p.putString(c.ID)
			p.putBytes(c.Seq)
			for _, xyz := range c.Coords {
				for _, v := range xyz {
					p.putU32(math.Float32bits(v))
				}
			}
		}
		_ = writeDerived(cpath, key, p.b) // a failed write only costs the parse next time
	}
	return cs, nil
}

func decodeProteinCache(b []byte) ([]ProteinChain, error) {
	p := payload{b: b}
	n := int(p.u32())
	if p.err != nil || n > len(b)/16 {
		return nil, fmt.Errorf("datasets: bad protein cache")
	}
	cs := make([]ProteinChain, n)
	for i := range cs {
		c := &cs[i]
		c.Family, c.File, c.ID = p.string(), p.string(), p.string()
		c.Seq = slices.Clone(p.bytes())
		if p.err != nil || len(c.Seq)*12 > len(b)-p.off {
			return nil, fmt.Errorf("datasets: bad protein cache")
		}
		c.Coords = make([][3]float32, len(c.Seq))
		for k := range c.Coords {
			for d := range 3 {
				c.Coords[k][d] = math.Float32frombits(p.u32())
			}
		}
	}
	return cs, p.err
}

// proteinCrop is one crop: rows i0…i0+ProteinCrop−1, columns j0….
type proteinCrop struct{ chain, i0, j0 int }

// proteinCrops places ProteinCropsPerChain crops on each chain, from a seed
// fixed by the chain's file and ID: the first on the diagonal.
func proteinCrops(cs []ProteinChain, idx []int) []proteinCrop {
	var out []proteinCrop
	for _, ci := range idx {
		c := cs[ci]
		h := fnv.New64a()
		fmt.Fprintf(h, "%s|%s", c.File, c.ID)
		rng := rand.New(rand.NewPCG(h.Sum64(), 0x9ca7))
		span := len(c.Seq) - ProteinCrop + 1
		for k := range ProteinCropsPerChain {
			i0 := rng.IntN(span)
			j0 := i0
			if k > 0 {
				j0 = rng.IntN(span)
			}
			out = append(out, proteinCrop{ci, i0, j0})
		}
	}
	return out
}

// proteinData builds inputs and target distances (Å) for crops.
func proteinData(cs []ProteinChain, crops []proteinCrop) *Data {
	const s = ProteinCrop
	m := s * s
	d := &Data{X: make([]float32, len(crops)*ProteinChannels*m), XShape: []int{ProteinChannels, s, s},
		Y: make([]float32, len(crops)*m), YShape: []int{1, s, s}, N: len(crops)}
	for n, cr := range crops {
		c := cs[cr.chain]
		x := d.X[n*ProteinChannels*m : (n+1)*ProteinChannels*m]
		y := d.Y[n*m : (n+1)*m]
		for a := range s {
			ai := aminoIndex(c.Seq[cr.i0+a])
			p := c.Coords[cr.i0+a]
			for b := range s {
				bj := aminoIndex(c.Seq[cr.j0+b])
				q := c.Coords[cr.j0+b]
				x[ai*m+a*s+b] = 1
				x[(21+bj)*m+a*s+b] = 1
				x[42*m+a*s+b] = float32((cr.j0+b)-(cr.i0+a)) / 100
				dx, dy, dz := float64(p[0]-q[0]), float64(p[1]-q[1]), float64(p[2]-q[2])
				y[a*s+b] = float32(math.Sqrt(dx*dx + dy*dy + dz*dz))
			}
		}
	}
	return d
}

// LoadProteinDist builds the protein-dist split by family
// (ProteinTrainFamilies, ProteinValFamilies, ProteinTestFamilies). Limit
// and TestLimit cap the number of crops; a negative ValFraction leaves the
// validation set empty. Inputs are not normalised; the distance targets
// are, with one global mean and standard deviation from the training crops
// (Split.Norm.DecodeY gives Å back, as the mae8 metric needs).
func LoadProteinDist(ctx context.Context, o LoadOptions) (*Split, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	cs, err := loadProteinChains(ctx, o.CacheDir)
	if err != nil {
		return nil, err
	}
	var tr, va, te []int
	for i, c := range cs {
		switch {
		case slices.Contains(ProteinTrainFamilies, c.Family):
			tr = append(tr, i)
		case slices.Contains(ProteinValFamilies, c.Family):
			va = append(va, i)
		case slices.Contains(ProteinTestFamilies, c.Family):
			te = append(te, i)
		}
	}
	if len(tr) == 0 || len(te) == 0 {
		return nil, fmt.Errorf("datasets: protein-dist: %d training and %d test chains (families %v / %v)", len(tr), len(te), ProteinTrainFamilies, ProteinTestFamilies)
	}
	trainCrops, valCrops, testCrops := proteinCrops(cs, tr), proteinCrops(cs, va), proteinCrops(cs, te)
	if o.Limit > 0 && o.Limit < len(trainCrops) {
		// Spread a limited pool over chains rather than taking the first few.
		trainCrops = spread(trainCrops, o.Limit)
		valCrops = spread(valCrops, max(1, int(float64(o.Limit)*o.valFraction()+0.5)))
	}
	if o.ValFraction < 0 {
		valCrops = nil
	}
	if o.TestLimit > 0 && o.TestLimit < len(testCrops) {
		testCrops = spread(testCrops, o.TestLimit)
	}
	sp := &Split{Train: proteinData(cs, trainCrops), Val: proteinData(cs, valCrops), Test: proteinData(cs, testCrops)}
	mean, std := stats(sp.Train.Y, sp.Train.N, sp.Train.TargetSize(), false)
	sp.Norm = &Normalizer{YMean: mean, YStd: std}
	if !o.Raw {
		if err := sp.Apply(); err != nil {
			return nil, err
		}
	}
	if o.Progress != nil {
		fmt.Fprintf(o.Progress, "protein-dist: %d chains, crops train %d, val %d, test %d\n", len(cs), sp.Train.N, sp.Val.N, sp.Test.N)
	}
	return sp, nil
}

// spread keeps n of the crops, evenly spaced, in order.
func spread(c []proteinCrop, n int) []proteinCrop {
	if n >= len(c) {
		return c
	}
	out := make([]proteinCrop, n)
	for k := range n {
		out[k] = c[k*len(c)/n]
	}
	return out
}

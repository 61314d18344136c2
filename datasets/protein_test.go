package datasets

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// A hand-made PDB file: chain A with Gly (Cα used), Ala (Cβ used), an
// alternate location (the first kept), selenomethionine (HETATM MSE, read
// as Met), a residue without Cα or Cβ (dropped), water (skipped); chain B
// is DNA (skipped); the second model is ignored.
const smallPDB = `HEADER    TEST
ATOM      1  N   GLY A   1       0.000   0.000   0.000  1.00  0.00           N
ATOM      2  CA  GLY A   1       1.000   0.000   0.000  1.00  0.00           C
ATOM      3  CA  ALA A   2       4.000   0.000   0.000  1.00  0.00           C
ATOM      4  CB AALA A   2       4.000   3.000   0.000  0.50  0.00           C
ATOM      5  CB BALA A   2       9.000   9.000   9.000  0.50  0.00           C
HETATM    6  CA  MSE A   3       7.000   0.000   0.000  1.00  0.00           C
HETATM    7  CB  MSE A   3       7.000   0.000   4.000  1.00  0.00           C
ATOM      8  N   LYS A   4       9.000   0.000   0.000  1.00  0.00           N
ATOM      9  CA  TRP A  4A      10.000   0.000   0.000  1.00  0.00           C
HETATM   10  O   HOH A 101       0.000   0.000   0.000  1.00  0.00           O
ATOM     11  P    DA B   1       0.000   0.000   0.000  1.00  0.00           P
ENDMDL
MODEL        2
ATOM     12  CA  GLY C   1       0.000   0.000   0.000  1.00  0.00           C
`

func TestParsePDB(t *testing.T) {
	cs, err := ParsePDB(strings.NewReader(smallPDB))
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != 1 || cs[0].ID != "A" || string(cs[0].Seq) != "GAMW" {
		t.Fatalf("chains %+v, want one chain A with sequence GAMW", cs)
	}
	want := [][3]float32{{1, 0, 0}, {4, 3, 0}, {7, 0, 4}, {10, 0, 0}}
	if !slices.Equal(cs[0].Coords, want) {
		t.Fatalf("coordinates %v, want %v", cs[0].Coords, want)
	}
	for _, bad := range []string{
		"ATOM      2  CA  GLY A   1       1.0x0   0.000   0.000  1.00  0.00           C\n",
		"ATOM      2  CA  GLY A   1       1.000\n",
	} {
		if _, err := ParsePDB(strings.NewReader(bad)); err == nil || !strings.Contains(err.Error(), "line 1") {
			t.Errorf("error %v for a malformed record, want one naming line 1", err)
		}
	}
}

func TestProteinDistLoad(t *testing.T) {
	task := needData(t, "protein-dist")
	dir := t.TempDir()
	cs, err := loadProteinChains(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "protein-dist", "chains.bin.zst")); err != nil {
		t.Fatalf("no cache written: %v", err)
	}
	cached, err := loadProteinChains(context.Background(), dir)
	if err != nil || len(cached) != len(cs) || !slices.Equal(cached[5].Coords, cs[5].Coords) || cached[5].File != cs[5].File {
		t.Fatalf("cached chains differ (err %v)", err)
	}
	fam := map[string]int{}
	for _, c := range cs {
		fam[c.Family]++
		if c.File == "ldh/1a5z_A.pdb.gz" {
			// Independent check (Python over the PDB records): 312 residues,
			// Cβ(10)–Cβ(40) 12.3631 Å (Val, Asp), Cβ(100)–Cβ(101) 5.1685 Å.
			d := func(i, j int) float64 {
				p, q := c.Coords[i], c.Coords[j]
				return math.Sqrt(float64((p[0]-q[0])*(p[0]-q[0]) + (p[1]-q[1])*(p[1]-q[1]) + (p[2]-q[2])*(p[2]-q[2])))
			}
			if len(c.Seq) != 312 || c.Seq[10] != 'V' || c.Seq[40] != 'D' || math.Abs(d(10, 40)-12.3631) > 1e-3 || math.Abs(d(100, 101)-5.1685) > 1e-3 {
				t.Errorf("1a5z_A: %d residues, %c %c, d = %.4f, %.4f", len(c.Seq), c.Seq[10], c.Seq[40], d(10, 40), d(100, 101))
			}
		}
	}
	if fam["trypsins"] != 172 || fam["ldh"] != 123 || fam["cytochromes"] != 9 || fam["."] != 3 {
		t.Fatalf("chains per family %v", fam)
	}
	sp, err := task.Load(context.Background(), LoadOptions{CacheDir: dir, Limit: 12, TestLimit: 6})
	if err != nil {
		t.Fatal(err)
	}
	if sp.Train.N != 12 || sp.Val.N != 1 || sp.Test.N != 6 {
		t.Fatalf("sizes %d/%d/%d", sp.Train.N, sp.Val.N, sp.Test.N)
	}
	const m = ProteinCrop * ProteinCrop
	for _, d := range []*Data{sp.Train, sp.Val, sp.Test} {
		if err := d.Validate(); err != nil {
			t.Fatal(err)
		}
		y := slices.Clone(d.Y)
		if err := sp.Norm.DecodeY(y); err != nil {
			t.Fatal(err)
		}
		for n := range d.N {
			x := d.X[n*ProteinChannels*m : (n+1)*ProteinChannels*m]
			for p := range m {
				var ri, rj float32
				for a := range 21 {
					ri += x[a*m+p]
					rj += x[(21+a)*m+p]
				}
				if ri != 1 || rj != 1 {
					t.Fatalf("sample %d pixel %d: one-hot sums %v, %v", n, p, ri, rj)
				}
			}
			yy := y[n*m : (n+1)*m]
			for i := range ProteinCrop {
				for j := range ProteinCrop {
					sep := x[42*m+i*ProteinCrop+j]
					v := yy[i*ProteinCrop+j]
					switch {
					case v < -1e-3 || v > 200:
						t.Fatalf("distance %v Å", v)
					case sep == 0 && math.Abs(float64(v)) > 1e-3:
						t.Fatalf("a residue is %v Å from itself", v)
					case math.Abs(float64(sep)) == 0.01 && (v < 2.5 || v > 8):
						t.Fatalf("neighbours %v Å apart", v)
					}
				}
			}
		}
	}
	// The first crop of every chain is on the diagonal: symmetric.
	y := sp.Train.Y[:m]
	for i := range ProteinCrop {
		for j := range ProteinCrop {
			if y[i*ProteinCrop+j] != y[j*ProteinCrop+i] {
				t.Fatal("diagonal crop is not symmetric")
			}
		}
	}
}

func TestProteinMissingNamesPackage(t *testing.T) {
	_, err := findProteinDir([]string{t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), "apt-get install theseus-examples") || !strings.Contains(err.Error(), DataDirEnv) {
		t.Fatalf("error %v does not name the package", err)
	}
}

// FuzzParsePDB: any bytes give chains or an error, never a panic, and every
// chain has one coordinate per residue.
func FuzzParsePDB(f *testing.F) {
	f.Add([]byte(smallPDB))
	f.Add([]byte("ATOM      2  CA  GLY A   1       1.000   0.000   0.000"))
	f.Fuzz(func(t *testing.T, b []byte) {
		cs, err := ParsePDB(strings.NewReader(string(b)))
		if err != nil {
			return
		}
		for _, c := range cs {
			if len(c.Seq) != len(c.Coords) || len(c.Seq) == 0 {
				t.Fatalf("chain %q: %d residues, %d coordinates", c.ID, len(c.Seq), len(c.Coords))
			}
		}
	})
}

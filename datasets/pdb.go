package datasets

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// AminoAcids are the 20 standard amino acids in one-letter code, in the
// channel order of the protein-dist inputs; index 20 is any other residue.
const AminoAcids = "ACDEFGHIKLMNPQRSTVWY"

// threeToOne maps PDB residue names to one-letter codes (selenomethionine
// MSE is read as methionine).
var threeToOne = map[string]byte{
	"ALA": 'A', "ARG": 'R', "ASN": 'N', "ASP": 'D', "CYS": 'C', "GLN": 'Q', "GLU": 'E', "GLY": 'G', "HIS": 'H', "ILE": 'I',
	"LEU": 'L', "LYS": 'K', "MET": 'M', "PHE": 'F', "PRO": 'P', "SER": 'S', "THR": 'T', "TRP": 'W', "TYR": 'Y', "VAL": 'V',
	"MSE": 'M',
}

// Chain is one protein chain of a PDB file: its residues in file order
// (one-letter codes) and one representative atom per residue — Cβ, or Cα
// for glycine and for residues whose Cβ is missing.
type Chain struct {
	ID     string
	Seq    []byte
	Coords [][3]float32
}

// ParsePDB reads the protein chains of the first model of a PDB file. Only
// amino-acid residues count (ATOM records, and HETATM MSE); nucleic acids,
// water and ligands are skipped, as are residues with neither Cβ nor Cα.
// For alternate locations the first one given is kept. Every malformed
// record is an error naming its line.
func ParsePDB(r io.Reader) ([]Chain, error) {
	type residue struct {
		aa       byte
		ca, cb   [3]float32
		hasCA    bool
		hasCB    bool
		chainIdx int
	}
	var chains []Chain
	var res []*residue
	chainIdx := map[string]int{}
	key := ""
	var cur *residue
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<12), 1<<20)
	line := 0
	for sc.Scan() {
		line++
		l := sc.Text()
		if strings.HasPrefix(l, "ENDMDL") {
			break
		}
		isAtom := strings.HasPrefix(l, "ATOM  ")
		if !isAtom && !strings.HasPrefix(l, "HETATM") {
			continue
		}
		if len(l) < 54 {
			return nil, fmt.Errorf("pdb line %d: atom record of %d characters, want at least 54", line, len(l))
		}
		resName := strings.TrimSpace(l[17:20])
		aa, ok := threeToOne[resName]
		if !ok || (!isAtom && resName != "MSE") {
			continue
		}
		chain := l[21:22]
		k := chain + "|" + l[22:27] // chain, residue number, insertion code
		if k != key {
			key = k
			ci, ok := chainIdx[chain]
			if !ok {
				ci = len(chains)
				chainIdx[chain] = ci
				chains = append(chains, Chain{ID: strings.TrimSpace(chain)})
			}
			cur = &residue{aa: aa, chainIdx: ci}
			res = append(res, cur)
		}
		atom := strings.TrimSpace(l[12:16])
		if atom != "CA" && atom != "CB" {
			continue
		}
		var xyz [3]float32
		for i := range 3 {
			f := strings.TrimSpace(l[30+8*i : 38+8*i])
			v, err := strconv.ParseFloat(f, 32)
			if err != nil {
				return nil, fmt.Errorf("pdb line %d: coordinate %q: %w", line, f, err)
			}
			xyz[i] = float32(v)
		}
		switch {
		case atom == "CA" && !cur.hasCA:
			cur.ca, cur.hasCA = xyz, true
		case atom == "CB" && !cur.hasCB:
			cur.cb, cur.hasCB = xyz, true
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("pdb: reading: %w", err)
	}
	for _, r := range res {
		var xyz [3]float32
		switch {
		case r.hasCB && r.aa != 'G':
			xyz = r.cb
		case r.hasCA:
			xyz = r.ca
		default:
			continue
		}
		c := &chains[r.chainIdx]
		c.Seq = append(c.Seq, r.aa)
		c.Coords = append(c.Coords, xyz)
	}
	out := chains[:0]
	for _, c := range chains {
		if len(c.Seq) > 0 {
			out = append(out, c)
		}
	}
	return out, nil
}

// aminoIndex is the channel of a one-letter code (20 for unknown).
func aminoIndex(a byte) int {
	if i := strings.IndexByte(AminoAcids, a); i >= 0 {
		return i
	}
	return 20
}

package snapshot

import (
	"fmt"
	"math"
	"sort"

	pb "github.com/owlstack/owl/internal/course/snapshot/snapshotpb"
	"github.com/owlstack/owl/internal/memory"
)

// WithHLR returns the snapshot data with the half-life regression weights m
// published inside it (nil removes them), keeping its course id and
// version; the same data and weights always give the same bytes.
func WithHLR(data []byte, m *memory.HLR) ([]byte, error) {
	h, p, err := Decode(data)
	if err != nil {
		return nil, err
	}
	hp, err := hlrToProto(m)
	if err != nil {
		return nil, err
	}
	p.Hlr = hp
	return Encode(*h, p)
}

func hlrToProto(m *memory.HLR) (*pb.HLRWeights, error) {
	if m == nil {
		return nil, nil
	}
	out := &pb.HLRWeights{Weights: m.Weights[:]}
	for _, w := range m.Weights {
		if math.IsNaN(w) || math.IsInf(w, 0) {
			return nil, fmt.Errorf("HLR weights: %v is not a finite number", w)
		}
	}
	for lex, w := range m.Lexemes {
		if math.IsNaN(w) || math.IsInf(w, 0) {
			return nil, fmt.Errorf("HLR weight of lexeme %q: %v is not a finite number", lex, w)
		}
		out.Lexemes = append(out.Lexemes, &pb.LexemeWeight{Lexeme: lex, Weight: w})
	}
	sort.Slice(out.Lexemes, func(i, j int) bool { return out.Lexemes[i].Lexeme < out.Lexemes[j].Lexeme })
	return out, nil
}

// hlrFromProto reads published weights; nil when the snapshot has none.
func hlrFromProto(p *pb.HLRWeights) (*memory.HLR, error) {
	if p == nil {
		return nil, nil
	}
	if len(p.Weights) != memory.HLRFeatures {
		return nil, corrupt("HLR weights: %d feature weights, want %d", len(p.Weights), memory.HLRFeatures)
	}
	m := &memory.HLR{}
	copy(m.Weights[:], p.Weights)
	if len(p.Lexemes) > 0 {
		m.Lexemes = make(map[string]float64, len(p.Lexemes))
		for _, l := range p.Lexemes {
			m.Lexemes[l.Lexeme] = l.Weight
		}
	}
	return m, nil
}

package tokenizer

import (
	"errors"
	"fmt"
	"math"
	"os"
	"unicode/utf8"

	"google.golang.org/protobuf/encoding/protowire"
)

// SPMPieceType is sentencepiece's ModelProto.SentencePiece.Type.
type SPMPieceType int32

// The piece types of sentencepiece_model.proto (field numbers are the enum
// values on the wire).
const (
	SPMNormal      SPMPieceType = 1
	SPMUnknown     SPMPieceType = 2
	SPMControl     SPMPieceType = 3
	SPMUserDefined SPMPieceType = 4
	SPMUnused      SPMPieceType = 5
	SPMByte        SPMPieceType = 6
)

// String names the type as sentencepiece_model.proto does.
func (t SPMPieceType) String() string {
	switch t {
	case SPMNormal:
		return "NORMAL"
	case SPMUnknown:
		return "UNKNOWN"
	case SPMControl:
		return "CONTROL"
	case SPMUserDefined:
		return "USER_DEFINED"
	case SPMUnused:
		return "UNUSED"
	case SPMByte:
		return "BYTE"
	}
	return fmt.Sprintf("SPMPieceType(%d)", int32(t))
}

// SPMPiece is one vocabulary entry of a SentencePiece model; its id is its
// index in SPMModel.Pieces.
type SPMPiece struct {
	Piece string
	Score float32
	Type  SPMPieceType
}

// SPMTrainerSpec holds the TrainerSpec fields the encoder needs.
type SPMTrainerSpec struct {
	ModelType                              int32 // 1 UNIGRAM, 2 BPE, 3 WORD, 4 CHAR
	VocabSize                              int32
	TreatWhitespaceAsSuffix                bool
	ByteFallback                           bool
	UnkID, BosID, EosID, PadID             int32
	UnkPiece, BosPiece, EosPiece, PadPiece string
}

// SPMNormalizerSpec is sentencepiece's NormalizerSpec.
type SPMNormalizerSpec struct {
	Name                   string
	PrecompiledCharsmap    []byte
	AddDummyPrefix         bool
	RemoveExtraWhitespaces bool
	EscapeWhitespaces      bool
	NormalizationRuleTSV   string
}

// SPMModel is a decoded spm.model (sentencepiece ModelProto). Raw keeps the
// bytes it was parsed from so that saving writes the file back unchanged.
type SPMModel struct {
	Pieces     []SPMPiece
	Trainer    SPMTrainerSpec
	Normalizer SPMNormalizerSpec
	// Denormalizer is present only when the model has a denormalizer_spec.
	Denormalizer *SPMNormalizerSpec
	Raw          []byte
}

// ModelProto field numbers (sentencepiece_model.proto).
const (
	spmFieldPieces       = 1
	spmFieldTrainerSpec  = 2
	spmFieldNormSpec     = 3
	spmFieldSelfTestData = 4
	spmFieldDenormSpec   = 5
)

// ReadSPMModel reads and decodes an spm.model file.
func ReadSPMModel(path string) (*SPMModel, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read spm model: %w", err)
	}
	return ParseSPMModel(path, raw)
}

// ParseSPMModel decodes the bytes of an spm.model; name (usually the file
// path) prefixes every error, which also names the protobuf field at fault.
func ParseSPMModel(name string, data []byte) (*SPMModel, error) {
	m := &SPMModel{
		Trainer:    SPMTrainerSpec{ModelType: 1, UnkID: 0, BosID: 1, EosID: 2, PadID: -1, UnkPiece: "<unk>", BosPiece: "<s>", EosPiece: "</s>", PadPiece: "<pad>"},
		Normalizer: spmDefaultNormSpec(),
		Raw:        append([]byte(nil), data...),
	}
	err := spmWalk(data, func(num protowire.Number, typ protowire.Type, v []byte, x uint64) error {
		switch num {
		case spmFieldPieces:
			if typ != protowire.BytesType {
				return fmt.Errorf("field pieces (1): wire type %d, want bytes", typ)
			}
			p, err := spmParsePiece(v)
			if err != nil {
				return fmt.Errorf("field pieces (1) #%d: %w", len(m.Pieces), err)
			}
			m.Pieces = append(m.Pieces, p)
		case spmFieldTrainerSpec:
			if typ != protowire.BytesType {
				return fmt.Errorf("field trainer_spec (2): wire type %d, want bytes", typ)
			}
			if err := spmParseTrainer(v, &m.Trainer); err != nil {
				return fmt.Errorf("field trainer_spec (2): %w", err)
			}
		case spmFieldNormSpec, spmFieldDenormSpec:
			fname := "normalizer_spec (3)"
			dst := &m.Normalizer
			if num == spmFieldDenormSpec {
				fname = "denormalizer_spec (5)"
				d := spmDefaultNormSpec()
				m.Denormalizer = &d
				dst = m.Denormalizer
			}
			if typ != protowire.BytesType {
				return fmt.Errorf("field %s: wire type %d, want bytes", fname, typ)
			}
			if err := spmParseNormSpec(v, dst); err != nil {
				return fmt.Errorf("field %s: %w", fname, err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("spm model %s: %w", name, err)
	}
	if len(m.Pieces) == 0 {
		return nil, fmt.Errorf("spm model %s: field pieces (1): no pieces", name)
	}
	if mt := m.Trainer.ModelType; mt != 1 {
		return nil, fmt.Errorf("spm model %s: field trainer_spec.model_type (3): %d is not UNIGRAM (1); only unigram models are supported", name, mt)
	}
	unk := -1
	for i, p := range m.Pieces {
		if p.Type == SPMUnknown {
			if unk >= 0 {
				return nil, fmt.Errorf("spm model %s: field pieces (1): pieces %d and %d are both UNKNOWN", name, unk, i)
			}
			unk = i
		}
	}
	if unk < 0 {
		return nil, fmt.Errorf("spm model %s: field pieces (1): no piece of type UNKNOWN", name)
	}
	if int(m.Trainer.UnkID) != unk {
		// The pieces are authoritative (sentencepiece reads unk_id from them).
		m.Trainer.UnkID = int32(unk)
	}
	if len(m.Normalizer.PrecompiledCharsmap) > 0 {
		if _, err := parsePrecompiledCharsmap(m.Normalizer.PrecompiledCharsmap); err != nil {
			return nil, fmt.Errorf("spm model %s: field normalizer_spec.precompiled_charsmap (2): %w", name, err)
		}
	}
	return m, nil
}

// UnkID is the id of the UNKNOWN piece.
func (m *SPMModel) UnkID() int { return int(m.Trainer.UnkID) }

func spmDefaultNormSpec() SPMNormalizerSpec {
	return SPMNormalizerSpec{AddDummyPrefix: true, RemoveExtraWhitespaces: true, EscapeWhitespaces: true}
}

// spmWalk calls fn for every field of a protobuf message; v is the payload of
// bytes fields and x the value of varint/fixed fields.
func spmWalk(b []byte, fn func(num protowire.Number, typ protowire.Type, v []byte, x uint64) error) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return fmt.Errorf("bad tag at offset: %w", protowire.ParseError(n))
		}
		b = b[n:]
		var v []byte
		var x uint64
		switch typ {
		case protowire.VarintType:
			x, n = protowire.ConsumeVarint(b)
		case protowire.Fixed32Type:
			var y uint32
			y, n = protowire.ConsumeFixed32(b)
			x = uint64(y)
		case protowire.Fixed64Type:
			x, n = protowire.ConsumeFixed64(b)
		case protowire.BytesType:
			v, n = protowire.ConsumeBytes(b)
		default:
			n = protowire.ConsumeFieldValue(num, typ, b)
		}
		if n < 0 {
			return fmt.Errorf("field %d: %w", num, protowire.ParseError(n))
		}
		b = b[n:]
		if err := fn(num, typ, v, x); err != nil {
			return err
		}
	}
	return nil
}

func spmWant(name string, typ, want protowire.Type) error {
	if typ != want {
		return fmt.Errorf("field %s: wire type %d, want %d", name, typ, want)
	}
	return nil
}

func spmUTF8(name string, v []byte) (string, error) {
	if !utf8.Valid(v) {
		return "", fmt.Errorf("field %s: invalid UTF-8", name)
	}
	return string(v), nil
}

func spmParsePiece(b []byte) (SPMPiece, error) {
	p := SPMPiece{Type: SPMNormal}
	err := spmWalk(b, func(num protowire.Number, typ protowire.Type, v []byte, x uint64) error {
		switch num {
		case 1:
			if err := spmWant("piece (1)", typ, protowire.BytesType); err != nil {
				return err
			}
			s, err := spmUTF8("piece (1)", v)
			p.Piece = s
			return err
		case 2:
			if err := spmWant("score (2)", typ, protowire.Fixed32Type); err != nil {
				return err
			}
			p.Score = math.Float32frombits(uint32(x))
			if math.IsNaN(float64(p.Score)) {
				return errors.New("field score (2): NaN")
			}
		case 3:
			if err := spmWant("type (3)", typ, protowire.VarintType); err != nil {
				return err
			}
			t := SPMPieceType(int32(x))
			if t < SPMNormal || t > SPMByte {
				return fmt.Errorf("field type (3): unknown piece type %d", int64(x))
			}
			p.Type = t
		}
		return nil
	})
	if err == nil && p.Piece == "" {
		err = errors.New("field piece (1): empty piece")
	}
	return p, err
}

func spmParseTrainer(b []byte, t *SPMTrainerSpec) error {
	return spmWalk(b, func(num protowire.Number, typ protowire.Type, v []byte, x uint64) error {
		i32 := func(name string, dst *int32) error {
			if err := spmWant(name, typ, protowire.VarintType); err != nil {
				return err
			}
			*dst = int32(int64(x))
			return nil
		}
		boolean := func(name string, dst *bool) error {
			if err := spmWant(name, typ, protowire.VarintType); err != nil {
				return err
			}
			*dst = x != 0
			return nil
		}
		str := func(name string, dst *string) error {
			if err := spmWant(name, typ, protowire.BytesType); err != nil {
				return err
			}
			s, err := spmUTF8(name, v)
			*dst = s
			return err
		}
		switch num {
		case 3:
			return i32("model_type (3)", &t.ModelType)
		case 4:
			return i32("vocab_size (4)", &t.VocabSize)
		case 24:
			return boolean("treat_whitespace_as_suffix (24)", &t.TreatWhitespaceAsSuffix)
		case 35:
			return boolean("byte_fallback (35)", &t.ByteFallback)
		case 40:
			return i32("unk_id (40)", &t.UnkID)
		case 41:
			return i32("bos_id (41)", &t.BosID)
		case 42:
			return i32("eos_id (42)", &t.EosID)
		case 43:
			return i32("pad_id (43)", &t.PadID)
		case 45:
			return str("unk_piece (45)", &t.UnkPiece)
		case 46:
			return str("bos_piece (46)", &t.BosPiece)
		case 47:
			return str("eos_piece (47)", &t.EosPiece)
		case 48:
			return str("pad_piece (48)", &t.PadPiece)
		}
		return nil
	})
}

func spmParseNormSpec(b []byte, n *SPMNormalizerSpec) error {
	return spmWalk(b, func(num protowire.Number, typ protowire.Type, v []byte, x uint64) error {
		switch num {
		case 1:
			if err := spmWant("name (1)", typ, protowire.BytesType); err != nil {
				return err
			}
			s, err := spmUTF8("name (1)", v)
			n.Name = s
			return err
		case 2:
			if err := spmWant("precompiled_charsmap (2)", typ, protowire.BytesType); err != nil {
				return err
			}
			n.PrecompiledCharsmap = append([]byte(nil), v...)
		case 3, 4, 5:
			names := map[protowire.Number]string{3: "add_dummy_prefix (3)", 4: "remove_extra_whitespaces (4)", 5: "escape_whitespaces (5)"}
			if err := spmWant(names[num], typ, protowire.VarintType); err != nil {
				return err
			}
			switch num {
			case 3:
				n.AddDummyPrefix = x != 0
			case 4:
				n.RemoveExtraWhitespaces = x != 0
			default:
				n.EscapeWhitespaces = x != 0
			}
		case 6:
			if err := spmWant("normalization_rule_tsv (6)", typ, protowire.BytesType); err != nil {
				return err
			}
			s, err := spmUTF8("normalization_rule_tsv (6)", v)
			n.NormalizationRuleTSV = s
			return err
		}
		return nil
	})
}

// Marshal encodes the model as a ModelProto. A model parsed from a file
// returns its original bytes; one built in memory (e.g. from tokenizer.json)
// is encoded from its fields.
func (m *SPMModel) Marshal() []byte {
	if len(m.Raw) > 0 {
		return append([]byte(nil), m.Raw...)
	}
	var b []byte
	for _, p := range m.Pieces {
		var pb []byte
		pb = protowire.AppendTag(pb, 1, protowire.BytesType)
		pb = protowire.AppendString(pb, p.Piece)
		pb = protowire.AppendTag(pb, 2, protowire.Fixed32Type)
		pb = protowire.AppendFixed32(pb, math.Float32bits(p.Score))
		if p.Type != SPMNormal {
			pb = protowire.AppendTag(pb, 3, protowire.VarintType)
			pb = protowire.AppendVarint(pb, uint64(p.Type))
		}
		b = protowire.AppendTag(b, spmFieldPieces, protowire.BytesType)
		b = protowire.AppendBytes(b, pb)
	}
	t := m.Trainer
	var tb []byte
	i32 := func(num protowire.Number, v int32) {
		tb = protowire.AppendTag(tb, num, protowire.VarintType)
		tb = protowire.AppendVarint(tb, uint64(int64(v)))
	}
	str := func(num protowire.Number, s string) {
		tb = protowire.AppendTag(tb, num, protowire.BytesType)
		tb = protowire.AppendString(tb, s)
	}
	boolean := func(dst *[]byte, num protowire.Number, v bool) {
		*dst = protowire.AppendTag(*dst, num, protowire.VarintType)
		*dst = protowire.AppendVarint(*dst, protowire.EncodeBool(v))
	}
	i32(3, t.ModelType)
	i32(4, t.VocabSize)
	boolean(&tb, 24, t.TreatWhitespaceAsSuffix)
	boolean(&tb, 35, t.ByteFallback)
	i32(40, t.UnkID)
	i32(41, t.BosID)
	i32(42, t.EosID)
	i32(43, t.PadID)
	str(45, t.UnkPiece)
	str(46, t.BosPiece)
	str(47, t.EosPiece)
	str(48, t.PadPiece)
	b = protowire.AppendTag(b, spmFieldTrainerSpec, protowire.BytesType)
	b = protowire.AppendBytes(b, tb)
	norm := func(num protowire.Number, n SPMNormalizerSpec) {
		var nb []byte
		nb = protowire.AppendTag(nb, 1, protowire.BytesType)
		nb = protowire.AppendString(nb, n.Name)
		if len(n.PrecompiledCharsmap) > 0 {
			nb = protowire.AppendTag(nb, 2, protowire.BytesType)
			nb = protowire.AppendBytes(nb, n.PrecompiledCharsmap)
		}
		boolean(&nb, 3, n.AddDummyPrefix)
		boolean(&nb, 4, n.RemoveExtraWhitespaces)
		boolean(&nb, 5, n.EscapeWhitespaces)
		if n.NormalizationRuleTSV != "" {
			nb = protowire.AppendTag(nb, 6, protowire.BytesType)
			nb = protowire.AppendString(nb, n.NormalizationRuleTSV)
		}
		b = protowire.AppendTag(b, num, protowire.BytesType)
		b = protowire.AppendBytes(b, nb)
	}
	norm(spmFieldNormSpec, m.Normalizer)
	if m.Denormalizer != nil {
		norm(spmFieldDenormSpec, *m.Denormalizer)
	}
	return b
}

// spmPieceIndex maps piece strings to ids (the last id wins for duplicates,
// as in the Hugging Face Unigram model).
func spmPieceIndex(pieces []SPMPiece) map[string]int {
	idx := make(map[string]int, len(pieces))
	for i, p := range pieces {
		idx[p.Piece] = i
	}
	return idx
}

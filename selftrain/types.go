package selftrain

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/gliner-go/gliner/data"
	"github.com/gliner-go/gliner/decode"
	"github.com/gliner-go/gliner/train"
)

// Doc is one corpus document as the teacher sees it.
type Doc struct {
	// Index is the document's 0-based position among the corpus documents
	// kept (bad lines skipped), across all corpus files in order.
	Index int
	// Source names where it came from ("corpus.txt:12").
	Source string
	// Words is the text split by the reference's splitter (or the
	// record's tokenized_text).
	Words []string
	// Text is the raw text when the document came from raw text.
	Text string
}

// Prediction is one entity the teacher predicts: inclusive word indices
// into Doc.Words, the label and the teacher's probability.
type Prediction struct {
	Start int     `json:"start"`
	End   int     `json:"end"`
	Label string  `json:"label"`
	Score float64 `json:"score"`
}

// Teacher predicts entities over a stream of documents.
type Teacher interface {
	// Predict returns, for each doc, the decoded entities over labels whose
	// score is at least minScore.
	Predict(ctx context.Context, docs []Doc, labels []string, minScore float64) ([][]Prediction, error)
	// Fingerprint identifies the checkpoint: the sha256 (hex) of its
	// model.safetensors.
	Fingerprint() string
}

// TeacherLoader opens a model folder as a teacher. It must reject a
// folder that is not a GLiNER model able to predict entities with an
// error naming the folder and the reason.
type TeacherLoader func(dir string) (Teacher, error)

// StudentJob is one round's student training.
type StudentJob struct {
	// Round is 1-based.
	Round int
	// InitDir is the model folder the student starts from (the round's
	// teacher).
	InitDir string
	// Train is the weak (and mixed gold) training set; weak examples carry
	// Source "weak:<row>".
	Train []data.Example
	// Masker masks uncertain spans after collation (nil: masking off).
	// Trainers call Masker.Apply on every collated training batch.
	Masker *Masker
	// Dev is the development set (may be empty).
	Dev []data.Example
	// OutputDir receives the training loop's checkpoints. When it already
	// holds checkpoints the trainer resumes from the last one.
	OutputDir string
	// ModelDir is a suggested folder for the exported student; trainers
	// may export elsewhere (FinetuneStudent uses
	// OutputDir/final) and return the folder in StudentResult.ModelDir.
	ModelDir string
	// Seed seeds the round's training.
	Seed uint64
	// LabelSmoothing is the loss's label smoothing (losses.Options).
	LabelSmoothing float64
	// Progress, when set, shows the student's steps (train.ProgressHook
	// as a loop hook, named after the round).
	Progress *train.ProgressHook
}

// StudentResult is a finished student.
type StudentResult struct {
	// ModelDir is the exported model folder.
	ModelDir string
	// Steps is the number of optimizer steps done.
	Steps int
}

// Student trains a student on a weak-label set through the training loop.
type Student interface {
	Train(ctx context.Context, job StudentJob) (*StudentResult, error)
}

// Evaluator scores a model folder on a development set.
type Evaluator interface {
	Evaluate(ctx context.Context, modelDir string, dev []data.Example) (*decode.Metrics, error)
}

// Fingerprint returns the sha256 (hex) of dir/model.safetensors, the
// teacher fingerprint recorded in weak-label files.
func Fingerprint(dir string) (string, error) {
	path := filepath.Join(dir, "model.safetensors")
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("fingerprint %s: %w", dir, err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("fingerprint %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

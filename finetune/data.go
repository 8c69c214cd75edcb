package finetune

import (
	"fmt"

	"github.com/gliner-go/gliner/data"
)

// Datasets are a recipe's training and development examples after
// validation and windowing, with what was skipped or cut.
type Datasets struct {
	Train, Dev             []data.Example
	TrainReport, DevReport data.Report
	// Labels are the development set's entity types, sorted: the label
	// set every dev text is scored against.
	Labels []string
}

// LoadData reads data.train_data and data.val_data with the recipe's error
// policy, then fits every text into model.max_len words with the long-text
// policy. Nothing is dropped without being counted in the reports.
func LoadData(r *Recipe) (*Datasets, error) { return LoadDataWith(r, nil) }

// LoadDataWith is LoadData with the training examples given in memory
// (nil: read data.train_data). Self-training passes its weak-label
// examples this way so that their sources, which its uncertain-span
// masking keys on, survive.
func LoadDataWith(r *Recipe, train []data.Example) (*Datasets, error) {
	d := &r.Data
	policy, err := data.ParseErrorPolicy(d.OnError)
	if err != nil {
		return nil, fmt.Errorf("data.on_error: %w", err)
	}
	long, err := data.ParseWindowPolicy(d.LongTexts)
	if err != nil {
		return nil, fmt.Errorf("data.long_texts: %w", err)
	}
	stride := d.WindowStride
	if stride == 0 {
		stride = max(r.Model.MaxLen/2, 1)
	}
	format, err := data.ParseFormat(d.Format)
	if err != nil {
		return nil, fmt.Errorf("data.format: %w", err)
	}
	read := func(path string, rep *data.Report) ([]data.Example, error) {
		exs, err := data.ReadFile(path, data.ReadOptions{Format: format, LowercaseLabels: d.LowercaseLabels}, policy, rep)
		if err != nil {
			return nil, err
		}
		var out []data.Example
		for _, ex := range exs {
			ws, st, err := data.Window(ex, r.Model.MaxLen, stride, long)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", path, err)
			}
			rep.Window.Add(st)
			out = append(out, ws...)
		}
		if len(out) == 0 {
			return nil, fmt.Errorf("%s: no usable examples (%s)", path, rep)
		}
		return out, nil
	}
	ds := &Datasets{}
	if train != nil {
		for _, ex := range train {
			ws, st, err := data.Window(ex, r.Model.MaxLen, stride, long)
			if err != nil {
				return nil, fmt.Errorf("training examples: %w", err)
			}
			ds.TrainReport.Read++
			ds.TrainReport.Window.Add(st)
			ds.Train = append(ds.Train, ws...)
		}
		if len(ds.Train) == 0 {
			return nil, fmt.Errorf("training examples: none given")
		}
	} else if ds.Train, err = read(d.TrainData, &ds.TrainReport); err != nil {
		return nil, fmt.Errorf("data.train_data: %w", err)
	}
	if !isNone(d.ValData) {
		if ds.Dev, err = read(d.ValData, &ds.DevReport); err != nil {
			return nil, fmt.Errorf("data.val_data: %w", err)
		}
		ds.Labels = data.EntityLabels(ds.Dev)
		if len(ds.Labels) == 0 {
			return nil, fmt.Errorf("data.val_data %s: no entities, so no label set to evaluate", d.ValData)
		}
	}
	return ds, nil
}

// Words returns the examples' words (the vocabulary builder's input).
func Words(exs []data.Example) [][]string {
	out := make([][]string, len(exs))
	for i := range exs {
		out[i] = exs[i].Words
	}
	return out
}

package encoder

import (
	"testing"

	"github.com/gliner-go/gliner/autograd"
	"github.com/gliner-go/gliner/autograd/kern"
)

// GPT-2's graph kernels declare their kern attributes.
func TestGPT2KernelsDeclareAttrs(t *testing.T) {
	if a, ok := autograd.AttrsOf(conv1DK{}).(kern.Conv1DAttrs); !ok {
		t.Errorf("conv1d attributes %#v", a)
	}
	if a, ok := autograd.AttrsOf(columnsK{Off: 4, Width: 2}).(kern.ColumnsAttrs); !ok || a.Off != 4 || a.Width != 2 {
		t.Errorf("columns attributes %#v, want Off 4 Width 2", a)
	}
}

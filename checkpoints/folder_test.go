package checkpoints

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/gliner-go/gliner/internal/testutil"
)

// ReadFolderState reads model.safetensors when the folder has it, and a
// folder without weights is an error naming it and the files looked for.
func TestReadFolderStatePrefersSafetensors(t *testing.T) {
	dir := testutil.Fixture(t, "uni_span_bert")
	st, err := ReadFolderState(dir)
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(dir, "model.safetensors"); st.Path != want {
		t.Errorf("read %s, want %s", st.Path, want)
	}
	ref, err := ReadState(filepath.Join(dir, "model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Names) == 0 || len(st.Names) != len(ref.Names) {
		t.Errorf("%d tensors, file has %d", len(st.Names), len(ref.Names))
	}
	empty := t.TempDir()
	if _, err := ReadFolderState(empty); err == nil || !strings.Contains(err.Error(), empty) || !strings.Contains(err.Error(), "pytorch_model.bin") {
		t.Errorf("empty folder: %v", err)
	}
}

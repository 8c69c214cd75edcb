package train

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// ProgressHook shows how far a long task is: the training loop's steps
// (as a Hook) or any other task (Begin, Update, End: self-training's
// weak labelling). It is also the writer the console log goes through
// (Write, Above), so that log lines and the bar never run together.
//
// On a terminal (TTY) the bar (github.com/schollz/progressbar) occupies
// the last line: before a log line is written it is cleared, and it is
// redrawn after. Elsewhere (a file, a pipe) there is no bar and no escape
// code: a plain status line (ProgressLine) is printed every Interval
// (default 10 s), and at the end.
type ProgressHook struct {
	NopHook
	W   io.Writer
	TTY bool
	// Interval between plain status lines (not a terminal); on a
	// terminal, the least time between two redraws (default 100 ms).
	Interval time.Duration
	// Name is the training bar's description (default "train").
	Name string

	mu        sync.Mutex
	bar       *progressbar.ProgressBar
	desc      string
	total     int
	startStep int
	begun     time.Time
	last      time.Time
	status    string
	done      int
}

// NewProgress returns a progress display on w, a terminal when w is an
// *os.File on one.
func NewProgress(w io.Writer) *ProgressHook {
	tty := false
	if f, ok := w.(*os.File); ok {
		tty = term.IsTerminal(int(f.Fd()))
	}
	return &ProgressHook{W: w, TTY: tty}
}

// Write writes log output above the bar: on a terminal the bar is cleared
// first and redrawn after.
func (h *ProgressHook) Write(p []byte) (int, error) {
	return h.writeTo(h.W, p)
}

// Above returns a writer for w (another stream on the same terminal, e.g.
// standard output) whose writes clear the bar first and redraw it after.
func (h *ProgressHook) Above(w io.Writer) io.Writer { return aboveWriter{h, w} }

type aboveWriter struct {
	h *ProgressHook
	w io.Writer
}

func (a aboveWriter) Write(p []byte) (int, error) { return a.h.writeTo(a.w, p) }

func (h *ProgressHook) writeTo(w io.Writer, p []byte) (int, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.bar != nil {
		_ = h.bar.Clear()
	}
	n, err := w.Write(p)
	if h.bar != nil {
		_ = h.bar.RenderBlank()
	}
	return n, err
}

// Begin starts showing a task described by desc with total units (≤ 0:
// unknown, only the count is shown).
func (h *ProgressHook) Begin(desc string, total int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.finishLocked()
	h.desc, h.total, h.done, h.status = desc, total, 0, ""
	h.begun, h.last = time.Now(), time.Time{}
	if !h.TTY {
		return
	}
	max := total
	if max <= 0 {
		max = -1
	}
	h.bar = progressbar.NewOptions(max,
		progressbar.OptionSetWriter(h.W),
		progressbar.OptionSetDescription(desc),
		progressbar.OptionSetWidth(30),
		progressbar.OptionShowCount(),
		progressbar.OptionShowIts(),
		progressbar.OptionSetItsString(itsString(total)),
		progressbar.OptionSetPredictTime(total > 0),
		progressbar.OptionSetElapsedTime(true),
		// No redraw goroutine: every write to the terminal happens under
		// h.mu, so a log line never lands in the middle of the bar.
		progressbar.OptionSetSpinnerChangeInterval(0),
		progressbar.OptionSetTheme(progressbar.Theme{Saucer: "=", SaucerHead: ">", SaucerPadding: " ", BarStart: "[", BarEnd: "]"}),
	)
}

func itsString(total int) string {
	if total > 0 {
		return "step"
	}
	return "doc"
}

// Update sets the units done and a short status shown with them (e.g.
// "loss 0.1234").
func (h *ProgressHook) Update(done int, status string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.done, h.status = done, status
	now := time.Now()
	final := h.total > 0 && done >= h.total
	if h.TTY {
		if h.bar == nil {
			return
		}
		iv := h.Interval
		if iv == 0 {
			iv = 100 * time.Millisecond
		}
		d := h.desc
		if status != "" {
			d += " " + status
		}
		h.bar.Describe(d)
		if !final && !h.last.IsZero() && now.Sub(h.last) < iv {
			return
		}
		h.last = now
		// The spinner of a task of unknown length turns and counts the
		// units done, as the bar does.
		_ = h.bar.Set(done)
		if final {
			// The finished bar stays on its own line; later output goes
			// below it.
			fmt.Fprintln(h.W)
			h.bar, h.desc = nil, ""
		}
		return
	}
	iv := h.Interval
	if iv == 0 {
		iv = 10 * time.Second
	}
	if !final && !h.last.IsZero() && now.Sub(h.last) < iv {
		return
	}
	h.last = now
	fmt.Fprintln(h.W, h.plainLine(now))
}

func (h *ProgressHook) plainLine(now time.Time) string {
	if h.total > 0 {
		line := stepsLine(h.startStep+h.done, h.startStep+h.total, h.done, now.Sub(h.begun))
		if h.desc != "" {
			line = h.desc + " " + line
		}
		if h.status != "" {
			line += " " + h.status
		}
		return line
	}
	line := fmt.Sprintf("%s: %d", h.desc, h.done)
	if h.status != "" {
		line += " " + h.status
	}
	return line + fmt.Sprintf(" (%s)", now.Sub(h.begun).Round(time.Second))
}

// End finishes the task: on a terminal the bar's last state stays on its
// own line; elsewhere a final status line is printed.
func (h *ProgressHook) End() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.finishLocked()
}

func (h *ProgressHook) finishLocked() {
	if h.desc == "" && h.bar == nil {
		return
	}
	if h.bar != nil {
		if h.total > 0 && h.done >= h.total {
			_ = h.bar.Finish()
		} else {
			_ = h.bar.Exit()
			_ = h.bar.RenderBlank()
		}
		fmt.Fprintln(h.W)
		h.bar = nil
	} else if !h.TTY && (h.last.IsZero() || h.total <= 0 || h.done < h.total) {
		fmt.Fprintln(h.W, h.plainLine(time.Now()))
	}
	h.desc = ""
}

// OnStart implements Hook.
func (h *ProgressHook) OnStart(_ context.Context, i *StartInfo) error {
	name := h.Name
	if name == "" {
		name = "train"
	}
	h.Begin(name, i.MaxSteps-i.Step)
	h.mu.Lock()
	h.startStep = i.Step
	h.mu.Unlock()
	return nil
}

// OnStep implements Hook.
func (h *ProgressHook) OnStep(_ context.Context, i *StepInfo) error {
	h.Update(i.Step-i.StartStep, fmt.Sprintf("loss %.4f", i.Loss))
	return nil
}

// OnEnd implements Hook.
func (h *ProgressHook) OnEnd(context.Context, *EndInfo) error {
	h.End()
	return nil
}

// ProgressLine formats a progress line: steps done of total, a 30-cell
// bar, percentage, rate over the done steps in elapsed time, ETA and loss.
func ProgressLine(step, total, done int, elapsed time.Duration, loss float64) string {
	return fmt.Sprintf("%s loss %.4f", stepsLine(step, total, done, elapsed), loss)
}

func stepsLine(step, total, done int, elapsed time.Duration) string {
	const width = 30
	frac := float64(step) / float64(max(total, 1))
	n := int(frac * width)
	bar := strings.Repeat("=", n)
	if n < width {
		bar += ">" + strings.Repeat(" ", width-n-1)
	}
	rate := 0.0
	if s := elapsed.Seconds(); s > 0 {
		rate = float64(done) / s
	}
	eta := "?"
	if rate > 0 {
		eta = (time.Duration(float64(total-step) / rate * float64(time.Second))).Round(time.Second).String()
	}
	return fmt.Sprintf("step %d/%d [%s] %5.1f%% %.2f it/s ETA %s", step, total, bar, 100*frac, rate, eta)
}

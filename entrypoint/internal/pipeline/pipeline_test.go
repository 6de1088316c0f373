package pipeline

import (
	"context"
	"testing"

	"github.com/rs/zerolog"

	"sleeve-check/internal/outcome"
)

// OnWait is called before each step that is not Quick, before it runs,
// and never for a Quick one.
func TestOnWait(t *testing.T) {
	p := New(context.Background(), zerolog.Nop(), 0)
	var log []string
	p.OnWait(func() { log = append(log, "wait") })
	step := func(s Step) {
		Run(p, s, func(context.Context) (struct{}, outcome.Findings) {
			log = append(log, s.Name)
			return struct{}{}, nil
		})
	}
	step(Step{Name: "read", Quick: true})
	step(Step{Name: "probe"})
	step(Step{Name: "save", Quick: true, Outside: true})
	step(Step{Name: "wait", Outside: true})
	want := []string{"read", "wait", "probe", "save", "wait", "wait"}
	if len(log) != len(want) {
		t.Fatalf("got %v, want %v", log, want)
	}
	for i := range want {
		if log[i] != want[i] {
			t.Fatalf("got %v, want %v", log, want)
		}
	}
}

// A Quick step that comes to wait calls Waiting: the run is told then.
func TestWaitingInAQuickStep(t *testing.T) {
	p := New(context.Background(), zerolog.Nop(), 0)
	calls := 0
	p.OnWait(func() { calls++ })
	Run(p, Step{Name: "prepare config", Quick: true}, func(context.Context) (struct{}, outcome.Findings) {
		if calls != 0 {
			t.Error("told before the step came to wait")
		}
		p.Waiting()
		return struct{}{}, nil
	})
	if calls != 1 {
		t.Fatalf("told %d times", calls)
	}
	New(context.Background(), zerolog.Nop(), 0).Waiting() // without OnWait: nothing to tell
}

package null

import (
	"runtime"
	"testing"
	"time"

	"github.com/govde/govde/frames"
	"github.com/govde/govde/transports"
	"github.com/govde/govde/transports/vnl"
)

func TestNull(t *testing.T) {
	ep, err := Open("whatever[x]", vnl.Args{Port: 3, Descr: "test"})
	if err != nil {
		t.Fatal(err)
	}
	if d := ep.Describe(); d != "null://whatever[x]" {
		t.Errorf("Describe %q", d)
	}
	if !transports.WritesNeverBlock(ep) {
		t.Error("WriteNeverBlocks is false")
	}

	b := frames.GetBatch()
	defer b.Release()
	b.Add(frames.GetCopy(make([]byte, 60)))
	if err := ep.WriteBatch(b); err != nil {
		t.Fatal(err)
	}
	if b.N != 1 || b.Frames[0].Refs() != 1 {
		t.Fatal("WriteBatch touched the caller's batch")
	}

	got := make(chan error, 2)
	rb := frames.GetBatch()
	defer rb.Release()
	for range 2 {
		go func() {
			b := frames.GetBatch()
			defer b.Release()
			got <- ep.ReadBatch(b)
		}()
	}
	select {
	case err := <-got:
		t.Fatalf("ReadBatch returned %v before Close", err)
	case <-time.After(50 * time.Millisecond):
	}
	if err := ep.Close(); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		select {
		case err := <-got:
			if err != transports.ErrClosed {
				t.Fatalf("ReadBatch: %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("Close did not wake ReadBatch")
		}
	}
	if err := ep.Close(); err != nil {
		t.Fatal("second Close:", err)
	}
	if err := ep.WriteBatch(b); err != transports.ErrClosed {
		t.Fatalf("WriteBatch after Close: %v", err)
	}
	if err := ep.ReadBatch(rb); err != transports.ErrClosed || rb.N != 0 {
		t.Fatalf("ReadBatch after Close: %v, %d frames", err, rb.N)
	}
}

func TestNullNoGoroutineLeak(t *testing.T) {
	before := runtime.NumGoroutine()
	for range 10 {
		ep, _ := Open("", vnl.Args{})
		ep.Close()
	}
	if after := runtime.NumGoroutine(); after > before {
		t.Fatalf("%d goroutines before, %d after", before, after)
	}
}

func TestNullThroughVNL(t *testing.T) {
	// The registry is global: register under a name private to this test.
	vnl.Register("nulltest", Open)
	ep, err := vnl.Open("nulltest://", vnl.Args{})
	if err != nil {
		t.Fatal(err)
	}
	defer ep.Close()
	if _, ok := ep.(*Endpoint); !ok {
		t.Fatalf("vnl.Open returned %T", ep)
	}
}

package stream

import (
	"io"
	"os"
	"testing"

	"github.com/govde/govde/frames"
)

// TestOSPipeEndToEnd moves frames of many sizes through a real pipe, where
// the kernel splits the stream wherever its buffer fills.
func TestOSPipeEndToEnd(t *testing.T) {
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	var fs [][]byte
	for i := range 3000 {
		fs = append(fs, frame(frames.MinFrame+(i*7919)%9000, byte(i)))
	}
	tx := New(eofReader{}, pw, Options{Closer: pw})
	rx := New(pr, io.Discard, Options{Closer: pr})
	go func() {
		for i := 0; i < len(fs); i += 40 {
			b := batchOf(fs[i:min(i+40, len(fs))]...)
			err := tx.WriteBatch(b)
			b.Release()
			if err != nil {
				t.Error(err)
				break
			}
		}
		tx.Close() // EOF for the reader
	}()
	got, err := readAll(t, rx)
	if err != io.EOF {
		t.Fatal(err)
	}
	if e := sameFrames(got, fs); e != nil {
		t.Fatal(e)
	}
	if w, r := rx.Drops(); w != 0 || r != 0 {
		t.Fatalf("drops %d %d", w, r)
	}
}

type eofReader struct{}

func (eofReader) Read([]byte) (int, error) { return 0, io.EOF }

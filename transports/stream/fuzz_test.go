package stream

import (
	"bytes"
	"io"
	"testing"

	"github.com/govde/govde/frames"
)

// refParse is an obviously correct whole-input parser for inputs without
// oversize lengths: it returns the frames a reader must deliver, and false
// if some length exceeds max (the result then depends on read boundaries).
func refParse(data []byte, max int) ([][]byte, bool) {
	var out [][]byte
	for len(data) >= 2 {
		l := int(data[0])<<8 | int(data[1])
		data = data[2:]
		if l > max {
			return nil, false
		}
		if l > len(data) {
			break // truncated by EOF
		}
		if l >= frames.MinFrame {
			out = append(out, data[:l])
		}
		data = data[l:]
	}
	return out, true
}

// splitAt cuts data into chunks at the offsets given by cuts (each byte a
// chunk length, 0 giving an empty Read; runs of empty Reads are kept short
// of what ReadBatch treats as a broken reader).
func splitAt(data, cuts []byte) [][]byte {
	var chunks [][]byte
	empty := 0
	for _, c := range cuts {
		if len(data) == 0 {
			break
		}
		if c == 0 {
			if empty++; empty >= maxZeroReads/2 {
				continue
			}
		} else {
			empty = 0
		}
		n := min(int(c), len(data))
		chunks = append(chunks, data[:n])
		data = data[n:]
	}
	return append(chunks, data)
}

func FuzzStreamFraming(f *testing.F) {
	s, _ := splitStream()
	f.Add(s, []byte{1, 2, 3}, uint16(0))
	f.Add(s, []byte{65}, uint16(1518))
	f.Add(append(record(0x2415, frame(10, 0)), encode(frame(60, 1))...), []byte{12}, uint16(9236))
	f.Add([]byte{0, 0, 0, 20, 1, 2}, []byte{0, 1, 0, 1}, uint16(0))
	f.Add(bytes.Repeat([]byte{0xff}, 300), []byte{7, 7, 7}, uint16(100))
	f.Fuzz(func(t *testing.T, data, cuts []byte, max uint16) {
		if len(cuts) > 1000 {
			cuts = cuts[:1000]
		}
		ep := New(&chunkReader{chunks: splitAt(data, cuts)}, io.Discard, Options{MaxFrame: int(max)})
		got, err := readAll(t, ep) // checks frame sizes and progress
		if err != io.EOF {
			t.Fatalf("err %v", err)
		}
		want, deterministic := refParse(data, ep.MaxFrame())
		if !deterministic {
			return
		}
		if e := sameFrames(got, want); e != nil {
			t.Fatalf("split-independent parse differs from the reference: %v", e)
		}

		// Re-encode what was read, read it back with the same splits: the
		// frames must survive unchanged and the encoding must be canonical.
		var out bytes.Buffer
		w := New(zeroReader{}, &out, Options{MaxFrame: int(max)})
		for i := 0; i < len(got); i += frames.BatchSize {
			b := batchOf(got[i:min(i+frames.BatchSize, len(got))]...)
			err := w.WriteBatch(b)
			b.Release()
			if err != nil {
				t.Fatal(err)
			}
		}
		if !bytes.Equal(out.Bytes(), encode(got...)) {
			t.Fatal("WriteBatch encoding is not canonical")
		}
		again, err := readAll(t, New(&chunkReader{chunks: splitAt(out.Bytes(), cuts)}, io.Discard, Options{MaxFrame: int(max)}))
		if err != io.EOF {
			t.Fatalf("re-read: %v", err)
		}
		if e := sameFrames(again, got); e != nil {
			t.Fatalf("round trip: %v", e)
		}
	})
}

package mgmt

import (
	"bufio"
	"encoding/binary"
	"io"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/klauspost/compress/zstd"

	"github.com/govde/govde/actors/fabric"
	"github.com/govde/govde/console"
	"github.com/govde/govde/frames"
)

// pcapSnapLen is the capture length: whole frames, jumbo included.
const pcapSnapLen = 65535

// pdumpPlugin is the `pdump` plugin: with pdump/active 1 every frame in
// and out is written to a pcap file (zstd-compressed when the name ends in
// .zst, a govde addition). The fabric's tap only copies frames into a
// bounded queue; a writer goroutine does the file I/O.
type pdumpPlugin struct {
	mu       sync.Mutex
	filename string
	buffered bool
	qmu      sync.RWMutex // guards q against close while the tap sends
	q        chan capture
	done     chan struct{}
	active   atomic.Bool
	dropped  atomic.Uint64
}

type capture struct {
	at time.Time
	f  *frames.Buf
}

func (p *pdumpPlugin) In(_, _ int, _ string, frame []byte) { p.capture(frame) }
func (p *pdumpPlugin) Out(_ int, frame []byte)             { p.capture(frame) }

func (p *pdumpPlugin) capture(frame []byte) {
	if !p.active.Load() {
		return
	}
	p.qmu.RLock()
	defer p.qmu.RUnlock()
	if p.q == nil {
		return
	}
	c := capture{at: time.Now(), f: frames.GetCopy(frame)}
	select {
	case p.q <- c:
	default:
		c.f.Release()
		p.dropped.Add(1)
	}
}

// start opens the file and the writer goroutine.
func (p *pdumpPlugin) start() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.active.Load() {
		return nil
	}
	file, err := os.OpenFile(p.filename, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0600)
	if err != nil {
		return syscall.EINVAL
	}
	var w io.Writer = file
	var zw *zstd.Encoder
	if strings.HasSuffix(p.filename, ".zst") {
		if zw, err = zstd.NewWriter(file); err != nil {
			file.Close()
			return syscall.EINVAL
		}
		w = zw
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	var hdr [24]byte
	binary.LittleEndian.PutUint32(hdr[0:], 0xa1b2c3d4)
	binary.LittleEndian.PutUint16(hdr[4:], 2)
	binary.LittleEndian.PutUint16(hdr[6:], 4)
	binary.LittleEndian.PutUint32(hdr[16:], pcapSnapLen)
	binary.LittleEndian.PutUint32(hdr[20:], 1) // Ethernet
	bw.Write(hdr[:])
	p.qmu.Lock()
	p.q, p.done = make(chan capture, 4096), make(chan struct{})
	p.qmu.Unlock()
	buffered := p.buffered
	go func(q chan capture, done chan struct{}) {
		defer close(done)
		var rec [16]byte
		for c := range q {
			b := c.f.Bytes()
			binary.LittleEndian.PutUint32(rec[0:], uint32(c.at.Unix()))
			binary.LittleEndian.PutUint32(rec[4:], uint32(c.at.Nanosecond()/1000))
			binary.LittleEndian.PutUint32(rec[8:], uint32(len(b)))
			binary.LittleEndian.PutUint32(rec[12:], uint32(len(b)))
			bw.Write(rec[:])
			bw.Write(b)
			c.f.Release()
			if !buffered && len(q) == 0 {
				bw.Flush()
				if zw != nil {
					zw.Flush()
				}
			}
		}
		bw.Flush()
		if zw != nil {
			zw.Close()
		}
		file.Close()
	}(p.q, p.done)
	p.active.Store(true)
	return nil
}

// stop closes the capture (everything queued is written first).
func (p *pdumpPlugin) stop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.active.Load() {
		return
	}
	p.active.Store(false)
	p.qmu.Lock()
	close(p.q)
	p.q = nil
	p.qmu.Unlock()
	<-p.done
}

func (c *Console) pdumpPlugin() *plugin {
	p := &pdumpPlugin{filename: "vde_dump.cap"}
	return &plugin{name: "pdump", help: "dump packets to file, in pcap format",
		cmds: []console.Command{
			{Path: "pdump", Help: "DUMP Packets to file", Kind: console.Menu},
			{Path: "pdump/active", Syntax: "0/1", Help: "start dumping data", Kind: console.WithFile, Run: func(_ *console.Ctx, arg string) error {
				if atoi(arg) != 0 {
					return p.start()
				}
				p.stop()
				return nil
			}},
			{Path: "pdump/filename", Syntax: "<file>", Help: "set/show output filename (default: vde_dump.cap)", Kind: console.WithFile, Run: func(x *console.Ctx, arg string) error {
				if name := strings.TrimSpace(arg); name != "" {
					if p.active.Load() {
						return syscall.EBUSY
					}
					p.mu.Lock()
					p.filename = name
					p.mu.Unlock()
				}
				p.mu.Lock()
				x.Printf("dumpfile=%s", p.filename)
				p.mu.Unlock()
				return nil
			}},
			{Path: "pdump/buffered", Syntax: "0/1", Help: "set buffered/unbuffered dump", Kind: console.Plain, Run: func(_ *console.Ctx, arg string) error {
				p.mu.Lock()
				p.buffered = atoi(arg) != 0
				p.mu.Unlock()
				return nil
			}},
		},
		cats: []console.Category{
			{Path: "pdump/packetin", Tag: 0o101, Help: "dump incoming packet to file"},
			{Path: "pdump/packetout", Tag: 0o102, Help: "dump outgoing packet to file"},
		},
		start: func() error { c.sw.Sys.Root.Send(c.sw.Fabric, &fabric.AddTap{Tap: p}); return nil },
		stop: func() {
			c.sw.Sys.Root.Send(c.sw.Fabric, &fabric.RemoveTap{Tap: p})
			p.stop()
		},
	}
}

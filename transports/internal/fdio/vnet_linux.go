package fdio

import (
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/govde/govde/frames"
	"github.com/govde/govde/transports/internal/offload"
)

// vnetBuf is the read buffer of a VnetHdr Packet: the virtio-net header and
// a super-packet of up to 64 KiB of IP packet plus link headers. A read
// that fills it is dropped as malformed.
const vnetBuf = 1 << 17

// vnetState is what a VnetHdr Packet keeps between calls.
type vnetState struct {
	// read side (rmu)
	rbuf []byte
	seg  offload.Segmenter

	// write side (wmu)
	coal  offload.Coalescer
	noGSO bool // the fd refused a super-packet: write frame by frame
	vh    [offload.HdrLen]byte
	zero  [offload.HdrLen]byte
	hdr   [offload.HeaderLen]byte
	wiov  [2 + offload.MaxSegs]unix.Iovec
}

func (v *vnetState) init() {
	v.rbuf = make([]byte, vnetBuf)
}

// readVnet is read for a VnetHdr Packet: the segments left from the last
// super-packet come first, then one read per packet until EAGAIN or the
// batch is full. Super-packets are cut into segments, each a frame of its
// own; a partial checksum is completed.
func (p *Packet) readVnet(fd uintptr) bool {
	b, v := p.rb, &p.vnet
	got := false
	for !b.Full() {
		if v.seg.Pending() {
			n := v.seg.NextLen()
			if n > p.max {
				// Segments longer than the frames this endpoint may
				// return (--maxframe below the tap's MTU): drop them.
				v.seg.Reset()
				p.badReads.Add(1)
				continue
			}
			f := frames.Get(n)
			f.SetLen(v.seg.Next(f.Space()))
			b.Add(f)
			got = true
			p.readFrames.Add(1)
			p.readBytes.Add(uint64(n))
			continue
		}
		r, _, e := unix.Syscall(unix.SYS_READ, fd, uintptr(unsafe.Pointer(&v.rbuf[0])), uintptr(len(v.rbuf)))
		switch e {
		case 0:
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			return got
		default:
			p.rerr = e
			return true
		}
		n := int(r)
		switch {
		case n == 0:
			p.empty.Add(1)
			continue
		case n < offload.HdrLen || n >= len(v.rbuf):
			p.badReads.Add(1)
			continue
		case n < offload.HdrLen+frames.MinFrame:
			p.runts.Add(1)
			continue
		}
		var h offload.Hdr
		h.Decode(v.rbuf)
		pkt := v.rbuf[offload.HdrLen:n]
		if h.GSOType != offload.GSONone {
			if err := v.seg.Start(&h, pkt); err != nil {
				p.badReads.Add(1)
			} else {
				p.gsoReads.Add(1)
			}
			continue
		}
		if h.Flags&offload.FlagNeedsCsum != 0 {
			if err := offload.CompleteChecksum(&h, pkt); err != nil {
				p.badReads.Add(1)
				continue
			}
		}
		if len(pkt) > p.max {
			pkt = pkt[:p.max]
		}
		f := frames.Get(len(pkt))
		copy(f.Space(), pkt)
		f.SetLen(len(pkt))
		b.Add(f)
		got = true
		p.readFrames.Add(1)
		p.readBytes.Add(uint64(len(pkt)))
	}
	return true
}

// writeVnet is write for a VnetHdr Packet: from p.wi on, each run of
// frames that continue one TCP flow goes as one super-packet (a writev of
// the virtio-net header, the rewritten headers and every segment's
// payload), every other frame alone behind an empty virtio-net header.
func (p *Packet) writeVnet(fd uintptr) bool {
	b, v := p.wb, &p.vnet
	for p.wi < b.N {
		f := b.Frames[p.wi].Bytes()
		if len(f) == 0 {
			p.wi++
			continue
		}
		n, bytes := 1, len(f)
		var s offload.Seg
		if !v.noGSO && offload.ParseSeg(f, &s) {
			v.coal.Start(f, &s)
			v.wiov[2].Base = &f[s.End()-s.Len()]
			v.wiov[2].SetLen(s.Len())
			for j := p.wi + 1; j < b.N; j++ {
				g := b.Frames[j].Bytes()
				var gs offload.Seg
				if !offload.ParseSeg(g, &gs) || !v.coal.Add(g, &gs) {
					break
				}
				v.wiov[2+n].Base = &g[gs.End()-gs.Len()]
				v.wiov[2+n].SetLen(gs.Len())
				n++
				bytes += len(g)
			}
		}
		niov := 2
		if n == 1 {
			v.wiov[0].Base = &v.zero[0]
			v.wiov[0].SetLen(offload.HdrLen)
			v.wiov[1].Base = &f[0]
			v.wiov[1].SetLen(len(f))
		} else {
			hl := v.coal.Header(v.vh[:], v.hdr[:])
			v.wiov[0].Base = &v.vh[0]
			v.wiov[0].SetLen(offload.HdrLen)
			v.wiov[1].Base = &v.hdr[0]
			v.wiov[1].SetLen(hl)
			niov = 2 + n
		}
		_, _, e := unix.Syscall(unix.SYS_WRITEV, fd, uintptr(unsafe.Pointer(&v.wiov[0])), uintptr(niov))
		clear(v.wiov[:niov])
		switch e {
		case 0:
			p.writeFrames.Add(uint64(n))
			p.writeBytes.Add(uint64(bytes))
			if n > 1 {
				p.gsoWrites.Add(1)
				p.gsoWriteSegs.Add(uint64(n))
			}
			p.wi += n
		case unix.EINTR:
		case unix.EAGAIN:
			p.writeAgain.Add(uint64(b.N - p.wi))
			p.wi = b.N
		case unix.EBADF, unix.EBADFD, unix.EPIPE, unix.ECONNRESET, unix.ENOTCONN:
			p.werr = e
			return true
		default:
			if n > 1 && e == unix.EINVAL {
				// The kernel refuses our super-packets: send these
				// frames (and every later one) one by one.
				p.gsoWriteFails.Add(1)
				v.noGSO = true
				continue
			}
			p.writeErrors.Add(1)
			p.wi++
		}
	}
	return true
}

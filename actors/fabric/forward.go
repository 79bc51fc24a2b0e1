package fabric

import (
	"github.com/asynkron/protoactor-go/actor"

	"github.com/govde/govde/actors/fstp"
	"github.com/govde/govde/frames"
)

// ingress switches one batch of frames that entered from b.Port
// (spec §3.1). It takes over b and its frame references.
func (f *fabric) ingress(ctx actor.Context, b *frames.Batch) {
	var in *swPort
	if b.Port >= 0 && b.Port < len(f.ports) {
		in = f.ports[b.Port]
	}
	if in == nil { // the port went away while its frames were queued
		b.Release()
		return
	}
	now := f.cfg.Clock()
	f.table.Tick(now)
	for i, fr := range b.Frames[:b.N] {
		b.Frames[i] = nil
		f.frame(in, fr, now)
	}
	b.N = 0
	b.Recycle()
	f.flush(ctx)
}

// frame decides one frame and releases the caller's reference to it.
func (f *fabric) frame(in *swPort, fr *frames.Buf, now int64) {
	defer fr.Release()
	p := fr.Bytes()
	if len(p) < frames.MinFrame {
		in.c.DropRunt++
		return
	}
	in.c.InPkts++
	in.c.InBytes += uint64(len(p))
	if f.tap != nil {
		descr := ""
		if len(in.eps) > 0 {
			descr = in.eps[0].dsc
		}
		f.tap.In(in.num, in.curUser, descr, p)
	}
	if f.cfg.Hub {
		outs := 0
		for _, q := range f.ports[1:] {
			if q != nil && q != in {
				fr.Retain(1)
				f.emit(q, fr)
				outs++
			}
		}
		floodCredit(fr, outs)
		return
	}
	tagged := frames.IsTagged(p)
	var vid uint16
	if tagged {
		vid = frames.VID(p)
		if in.untagged != vid && !in.tagged.has(vid) {
			in.c.DropVLAN++
			return
		}
	} else {
		vid = in.untagged
	}
	v := f.vlans[vid&0xfff]
	if vid == frames.VLANNone || v == nil {
		in.c.DropVLAN++
		return
	}
	if f.fstpOn && frames.IsBPDUDst(p) {
		if v.fstp != nil {
			fr.Retain(1)
			f.root.Send(v.fstp, &fstp.In{Port: in.num, Frame: fr})
		}
		return
	}
	if v.blocked.has(in.num) {
		in.c.DropBlocked++
		return
	}
	if !frames.SrcIsMulticast(p) {
		if old := f.table.Learn(frames.KeyOf(p[6:12], vid), in.num, now); old >= 0 && f.moveLog.allow(now) {
			s := frames.Src(p)
			f.cfg.Logf("MAC %s moved from port %d to port %d", s, old, in.num)
		}
	}
	dst := -1
	if !frames.DstIsMulticast(p) {
		dst = f.table.Lookup(frames.KeyOf(p, vid), now)
	}
	var conv *frames.Buf // the frame with the tag pushed or popped, made once
	convert := func() *frames.Buf {
		if conv == nil {
			conv = fr.Clone()
			if tagged {
				conv.PopTag()
			} else {
				conv.PushTag(vid)
			}
		}
		conv.Retain(1)
		return conv
	}
	if dst >= 0 {
		q := f.ports[dst]
		if dst == in.num || q == nil {
			return
		}
		if (q.untagged == vid) == !tagged {
			fr.Retain(1)
			f.emit(q, fr)
		} else {
			c := convert()
			c.TakeCredit(fr)
			f.emit(q, c)
		}
	} else {
		outs := 0
		same, other := v.actU, v.actT
		if tagged {
			same, other = v.actT, v.actU
		}
		for _, n := range same {
			if n != in.num && !v.blocked.has(n) {
				fr.Retain(1)
				f.emit(f.ports[n], fr)
				outs++
			}
		}
		for _, n := range other {
			if n != in.num && !v.blocked.has(n) {
				f.emit(f.ports[n], convert())
				outs++
			}
		}
		if outs == 1 && conv != nil {
			conv.TakeCredit(fr)
		}
		floodCredit(fr, outs)
	}
	if conv != nil {
		conv.Release()
	}
}

// floodCredit gives a flooded frame's credit back when it went to more
// than one port: a sender is paced only by egresses its frames go to alone
// (a broadcast must not be held back by one slow port among many).
func floodCredit(fr *frames.Buf, outs int) {
	if outs > 1 {
		fr.DropCredit()
	}
}

// emit queues fr (one reference, taken over) for port q.
func (f *fabric) emit(q *swPort, fr *frames.Buf) {
	q.c.OutPkts++
	q.c.OutBytes += uint64(fr.Len())
	if f.tap != nil {
		f.tap.Out(q.num, fr.Bytes())
	}
	if !q.active() {
		fr.Release()
		return
	}
	ob := f.pending[q.num]
	if ob == nil {
		ob = frames.GetBatch()
		f.pending[q.num] = ob
		f.touched = append(f.touched, q.num)
	}
	ob.Add(fr)
	if ob.Full() {
		f.pending[q.num] = nil
		f.root.Send(q.pid, ob)
	}
}

// flush sends every port its pending batch.
func (f *fabric) flush(ctx actor.Context) {
	for _, n := range f.touched {
		if ob := f.pending[n]; ob != nil {
			f.pending[n] = nil
			ctx.Send(f.ports[n].pid, ob)
		}
	}
	f.touched = f.touched[:0]
}

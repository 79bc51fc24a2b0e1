package slirp

import (
	"fmt"
	"net"
	"sync"
	"time"

	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/adapters/gonet"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4"
)

// startForwards opens the host listeners of the port forwards.
func (e *Endpoint) startForwards() error {
	for _, f := range e.cfg.TCPForwards {
		l, err := net.Listen("tcp4", f.Listen)
		if err != nil {
			return fmt.Errorf("slirp: tcp forward %v: %w", f, err)
		}
		e.fwds = append(e.fwds, l)
		e.flows.wg.Add(1)
		go e.acceptTCP(l, f)
	}
	for _, f := range e.cfg.UDPForwards {
		pc, err := net.ListenPacket("udp4", f.Listen)
		if err != nil {
			return fmt.Errorf("slirp: udp forward %v: %w", f, err)
		}
		e.fwds = append(e.fwds, pc)
		e.flows.wg.Add(1)
		go e.serveUDPForward(pc, f)
	}
	return nil
}

// guestAddr returns f's guest address as a netstack address.
func guestAddr(f Forward) tcpip.FullAddress {
	return tcpip.FullAddress{NIC: nicID, Addr: tcpip.AddrFrom4(f.Guest.Addr().As4()), Port: f.Guest.Port()}
}

// acceptTCP accepts host connections on l and relays each to the guest.
func (e *Endpoint) acceptTCP(l net.Listener, f Forward) {
	defer e.flows.wg.Done()
	for {
		c, err := l.Accept()
		if err != nil {
			return
		}
		if !e.flows.acquire() {
			c.Close()
			continue
		}
		go func() {
			defer e.flows.release()
			gc, err := gonet.DialContextTCP(e.ctx, e.st, guestAddr(f), ipv4.ProtocolNumber)
			if err != nil {
				c.Close()
				return
			}
			e.relayStream(gc, c)
		}()
	}
}

// serveUDPForward relays datagrams arriving on pc to the guest, one
// association per host peer, and the guest's answers back to that peer.
func (e *Endpoint) serveUDPForward(pc net.PacketConn, f Forward) {
	defer e.flows.wg.Done()
	var mu sync.Mutex
	peers := map[string]*gonet.UDPConn{}
	buf := make([]byte, 65536)
	for {
		n, from, err := pc.ReadFrom(buf)
		if err != nil {
			mu.Lock()
			for _, gc := range peers {
				gc.Close()
			}
			mu.Unlock()
			return
		}
		key := from.String()
		mu.Lock()
		gc := peers[key]
		if gc == nil && e.flows.acquire() {
			ga := guestAddr(f)
			gc, err = gonet.DialUDP(e.st, nil, &ga, ipv4.ProtocolNumber)
			if err != nil {
				e.flows.release()
				gc = nil
			} else {
				peers[key] = gc
				go func(gc *gonet.UDPConn, from net.Addr) {
					defer e.flows.release()
					b := make([]byte, 65536)
					for {
						gc.SetReadDeadline(time.Now().Add(e.cfg.UDPIdle))
						n, err := gc.Read(b)
						if err != nil {
							break
						}
						pc.WriteTo(b[:n], from)
					}
					mu.Lock()
					delete(peers, from.String())
					mu.Unlock()
					gc.Close()
				}(gc, from)
			}
		}
		mu.Unlock()
		if gc != nil {
			gc.Write(buf[:n])
		}
	}
}

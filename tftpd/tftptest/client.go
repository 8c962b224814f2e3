package tftptest

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"time"
)

// An Error is an ERROR packet received from the server.
type Error struct {
	Code uint16
	Msg  string
}

func (e *Error) Error() string { return fmt.Sprintf("tftptest: server error %d: %s", e.Code, e.Msg) }

// A Client reads files over TFTP. It speaks the options blksize, tsize,
// timeout and windowsize (RFC 7440, as a receiver), and can misbehave on
// purpose to test a server.
type Client struct {
	// Options are sent with each request, sorted by name.
	Options map[string]string
	// Timeout is the time to wait for a packet before acknowledging
	// again (default 1 s); Retries bounds the consecutive timeouts
	// (default 5).
	Timeout time.Duration
	Retries int
	// Mode is the transfer mode, "octet" if empty.
	Mode string
	// StopAfter, if > 0, makes the client go away silently after
	// receiving that many data blocks.
	StopAfter int
	// AckBlock, if set, is called with the number of each ACK the client
	// is about to send and returns the number actually sent, to test
	// clients that acknowledge the wrong block.
	AckBlock func(block uint16) uint16
	// Drop, if set, is called for each data packet received, with a
	// count of the data packets so far; when it returns true the client
	// behaves as if the packet had been lost.
	Drop func(block uint16, n int) bool
}

// Result is what Get received besides the file.
type Result struct {
	// OACK holds the options the server acknowledged; nil when it sent
	// no OACK.
	OACK map[string]string
	// Blocks counts the data packets received, duplicates included.
	Blocks int
}

// Get reads the file name from the server at addr.
func (c *Client) Get(ctx context.Context, addr netip.AddrPort, name string) ([]byte, Result, error) {
	var res Result
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: addr.Addr().AsSlice()})
	if err != nil {
		return nil, res, err
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.SetReadDeadline(time.Now()) })
	defer stop()

	mode := c.Mode
	if mode == "" {
		mode = "octet"
	}
	rrq := binary.BigEndian.AppendUint16(nil, 1)
	rrq = append(append(rrq, name...), 0)
	rrq = append(append(rrq, mode...), 0)
	for _, k := range sortedKeys(c.Options) {
		rrq = append(append(rrq, k...), 0)
		rrq = append(append(rrq, c.Options[k]...), 0)
	}
	server := net.UDPAddrFromAddrPort(addr)
	if _, err := conn.WriteToUDP(rrq, server); err != nil {
		return nil, res, err
	}
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = time.Second
	}
	retries := c.Retries
	if retries <= 0 {
		retries = 5
	}

	blksize, window := 512, 1
	var (
		data     bytes.Buffer
		expect   uint16 = 1
		inWindow int
		tries    int
		tid      *net.UDPAddr
		buf      = make([]byte, 65536+4)
	)
	ack := func(block uint16) error {
		if c.AckBlock != nil {
			block = c.AckBlock(block)
		}
		_, err := conn.WriteToUDP(binary.BigEndian.AppendUint16([]byte{0, 4}, block), tid)
		return err
	}
	for {
		conn.SetReadDeadline(time.Now().Add(timeout))
		if ctx.Err() != nil {
			return nil, res, ctx.Err()
		}
		n, from, err := conn.ReadFromUDP(buf)
		if err != nil {
			var ne net.Error
			if ctx.Err() != nil {
				return nil, res, ctx.Err()
			}
			if !errors.As(err, &ne) || !ne.Timeout() {
				return nil, res, err
			}
			if tries++; tries > retries {
				return nil, res, fmt.Errorf("tftptest: timeout")
			}
			inWindow = 0
			if tid == nil { // the request or its answer was lost
				conn.WriteToUDP(rrq, server)
			} else if err := ack(expect - 1); err != nil { // the last block in sequence (RFC 7440)
				return nil, res, err
			}
			continue
		}
		if tid == nil {
			tid = from
		} else if from.Port != tid.Port {
			continue
		}
		if n < 4 {
			continue
		}
		switch op := binary.BigEndian.Uint16(buf); op {
		case 5:
			return nil, res, &Error{Code: binary.BigEndian.Uint16(buf[2:]), Msg: string(bytes.TrimRight(buf[4:n], "\x00"))}
		case 6:
			if res.OACK != nil || expect != 1 || data.Len() > 0 {
				continue
			}
			res.OACK = parseOptions(buf[2:n])
			if v, ok := res.OACK["blksize"]; ok {
				blksize, _ = strconv.Atoi(v)
			}
			if v, ok := res.OACK["windowsize"]; ok {
				window, _ = strconv.Atoi(v)
			}
			tries = 0
			if err := ack(0); err != nil {
				return nil, res, err
			}
		case 3:
			res.Blocks++
			block := binary.BigEndian.Uint16(buf[2:])
			if c.Drop != nil && c.Drop(block, res.Blocks) {
				continue
			}
			if block != expect { // lost or duplicate: acknowledge the last good block
				inWindow = 0
				if err := ack(expect - 1); err != nil {
					return nil, res, err
				}
				continue
			}
			tries = 0
			payload := buf[4:n]
			data.Write(payload)
			expect++
			inWindow++
			if c.StopAfter > 0 && res.Blocks >= c.StopAfter {
				return data.Bytes(), res, fmt.Errorf("tftptest: stopped after %d blocks", res.Blocks)
			}
			last := len(payload) < blksize
			if last || inWindow >= window {
				inWindow = 0
				if err := ack(block); err != nil {
					return nil, res, err
				}
			}
			if last {
				return data.Bytes(), res, nil
			}
		}
	}
}

func parseOptions(b []byte) map[string]string {
	opts := make(map[string]string)
	f := bytes.Split(bytes.TrimSuffix(b, []byte{0}), []byte{0})
	for i := 0; i+1 < len(f); i += 2 {
		opts[string(f[i])] = string(f[i+1])
	}
	return opts
}

func sortedKeys(m map[string]string) []string { return slices.Sorted(maps.Keys(m)) }

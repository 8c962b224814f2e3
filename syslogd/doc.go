// Package syslogd receives syslog messages and ties every line to the
// machine that sent it.
//
// A [Server] reads messages over UDP ([Server.ServePacket]) and TCP
// ([Server.Serve]), where every message may use either framing of RFC 6587:
// octet counting ("57 <34>1 ...") or a trailing LF. Messages are parsed as
// RFC 3164 or RFC 5424, whichever fits, with
// github.com/leodido/go-syslog/v4. Each [Message] carries the sender's
// address and, through a [pxelator.Store], the [pxelator.Machine] with that
// address, so a [Handler] sees "kiosk-01 said ..." and not just an
// address. A message that does not parse is not dropped: it reaches the
// handler as raw text with Err set.
//
// It follows the module's conventions for protocol packages (README,
// Contributing): a one-method [Handler] with the [HandlerFunc] adapter, and
// a [Server] with [Server.ServePacket] for UDP sockets, [Server.Serve] for
// TCP listeners, [Server.ListenAndServe] for both on Server.Addr, and
// [Server.Shutdown], after which each returns [ErrServerClosed].
// Server.Logger (nil: slog.Default()) gets the server's own errors; the
// audit is a Handler, [AuditHandler], as syslog messages are what it
// records. Package [github.com/pxelator/pxelator/syslogd/syslogtest]
// holds a server on loopback and a recording handler for tests.
//
// [AuditHandler] records every message as an audit event whose id is the
// sender and the second, so that an audit.Batcher merges the 133 kernel
// lines a machine sends while it boots into one document.
//
// Memory and waiting are bounded: messages are cut at MaxMessageSize (64
// KiB), TCP connections are limited to MaxConns (256), and to
// MaxConnsPerHost (8) from one address, so that one host cannot hold them
// all, and a client that sends a length prefix and then nothing is
// disconnected after ReadTimeout. UDP datagrams are read many per system
// call into a bounded queue in front of the handler, so that bursts are
// absorbed; what does not fit is dropped. [Server.Stats] counts what was
// received, cut, dropped (by the server, and by the kernel where Linux
// tells), refused or timed out.
//
// A minimal server:
//
//	srv := &syslogd.Server{
//		Addr:    ":514",
//		Store:   store,
//		Handler: syslogd.AuditHandler(recorder, nil),
//	}
//	go srv.ListenAndServe()
//	defer srv.Shutdown(ctx)
package syslogd

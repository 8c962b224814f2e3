package main

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/pxelator/pxelator/audit"
	"github.com/pxelator/pxelator/dhcpd"
	"github.com/pxelator/pxelator/dnsd"
	"github.com/pxelator/pxelator/syslogd"
	"github.com/pxelator/pxelator/tftpd"
)

// The reference server's /metrics: the counters each server keeps, read
// when Prometheus scrapes, with the Go runtime's and the process's.

// newMetrics returns the registry of the server's metrics.
func newMetrics() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

// register adds c to the server's metrics, when it has them.
func (d deps) register(c prometheus.Collector) {
	if d.metrics != nil {
		d.metrics.MustRegister(c)
	}
}

// counters is a prometheus.Collector of counters read by a function when
// scraped.
type counters struct {
	descs   []*prometheus.Desc
	collect func(ch chan<- prometheus.Metric)
}

func (c *counters) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range c.descs {
		ch <- d
	}
}

func (c *counters) Collect(ch chan<- prometheus.Metric) { c.collect(ch) }

// desc makes the description of a metric of the server.
func desc(name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc("pxelator_"+name, help, labels, nil)
}

func counter(d *prometheus.Desc, v uint64, labels ...string) prometheus.Metric {
	return prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
}

// dhcpMetrics counts what the DHCP servers (one, or two for proxy DHCP)
// and their handler did.
func dhcpMetrics(srvs []*dhcpd.Server, h *dhcpd.StoreHandler) prometheus.Collector {
	received := desc("dhcp_received_total", "DHCP packets read.")
	malformed := desc("dhcp_malformed_total", "DHCP packets dropped as malformed, oversized or not requests.")
	replies := desc("dhcp_replies_total", "DHCP replies sent.")
	writeErrors := desc("dhcp_write_errors_total", "DHCP replies that could not be sent.")
	newMachines := desc("dhcp_new_machines_total", "Machines created by DHCP.")
	notAnswered := desc("dhcp_not_answered_total", "Requests not answered, by reason: pool_full, limited (over the rate limit), busy (the store was behind), bad_relay (not from -dhcp-relays), bad_mac, silent (for another server).", "reason")
	reclaimed := desc("dhcp_reclaimed_total", "Expired machines of DHCP's own taken back for new ones.")
	declines := desc("dhcp_declines_total", "DHCP DECLINEs, by whether they were believed.", "believed")
	naks := desc("dhcp_naks_total", "DHCP requests for an address that is not the machine's.")
	return &counters{
		descs: []*prometheus.Desc{received, malformed, replies, writeErrors, newMachines, notAnswered, naks, reclaimed, declines},
		collect: func(ch chan<- prometheus.Metric) {
			var st dhcpd.Stats
			for _, s := range srvs {
				x := s.Stats()
				st.Received += x.Received
				st.Malformed += x.Malformed
				st.Replies += x.Replies
				st.WriteErrors += x.WriteErrors
			}
			hs := h.Stats()
			ch <- counter(received, st.Received)
			ch <- counter(malformed, st.Malformed)
			ch <- counter(replies, st.Replies)
			ch <- counter(writeErrors, st.WriteErrors)
			ch <- counter(newMachines, hs.NewMachines)
			ch <- counter(notAnswered, hs.PoolFull, "pool_full")
			ch <- counter(notAnswered, hs.Limited, "limited")
			ch <- counter(notAnswered, hs.Busy, "busy")
			ch <- counter(notAnswered, hs.BadRelays, "bad_relay")
			ch <- counter(notAnswered, hs.BadMACs, "bad_mac")
			ch <- counter(notAnswered, hs.Silent, "silent")
			ch <- counter(naks, hs.NAKs)
			ch <- counter(reclaimed, hs.Reclaimed)
			ch <- counter(declines, hs.Declined, "true")
			ch <- counter(declines, hs.DeclineIgnored, "false")
		},
	}
}

// tftpMetrics counts the TFTP transfers by outcome and the bytes sent.
func tftpMetrics(srv *tftpd.Server) prometheus.Collector {
	transfers := desc("tftp_transfers_total", "TFTP read requests by outcome: ok, refused, aborted (by the client), failed (timeout).", "outcome")
	bytes := desc("tftp_bytes_total", "File bytes sent over TFTP.")
	return &counters{
		descs: []*prometheus.Desc{transfers, bytes},
		collect: func(ch chan<- prometheus.Metric) {
			st := srv.Stats()
			ch <- counter(transfers, st.Sent, "ok")
			ch <- counter(transfers, st.Refused, "refused")
			ch <- counter(transfers, st.Aborted, "aborted")
			ch <- counter(transfers, st.Failed, "failed")
			ch <- counter(bytes, st.Bytes)
		},
	}
}

// dnsMetrics counts the DNS answers by response code.
func dnsMetrics(h *dnsd.StoreHandler) prometheus.Collector {
	answers := desc("dns_queries_total", "DNS queries answered, by response code.", "rcode")
	return &counters{
		descs: []*prometheus.Desc{answers},
		collect: func(ch chan<- prometheus.Metric) {
			for rcode, n := range h.Stats().Rcodes {
				ch <- counter(answers, n, rcode)
			}
		},
	}
}

// syslogMetrics counts the syslog messages and what was dropped.
func syslogMetrics(srv *syslogd.Server) prometheus.Collector {
	messages := desc("syslog_messages_total", "Syslog messages received.")
	malformed := desc("syslog_malformed_total", "Syslog messages that did not parse (kept as raw text).")
	truncated := desc("syslog_truncated_total", "Syslog messages cut to the largest size.")
	dropped := desc("syslog_dropped_total", "Syslog datagrams dropped, by where: queue (the server fell behind), kernel (the socket buffer was full).", "where")
	refused := desc("syslog_connections_refused_total", "Syslog TCP connections refused because too many were open.")
	return &counters{
		descs: []*prometheus.Desc{messages, malformed, truncated, dropped, refused},
		collect: func(ch chan<- prometheus.Metric) {
			st := srv.Stats()
			ch <- counter(messages, st.Messages)
			ch <- counter(malformed, st.Malformed)
			ch <- counter(truncated, st.Truncated)
			ch <- counter(dropped, st.UDPDropped, "queue")
			ch <- counter(dropped, st.UDPKernelDropped, "kernel")
			ch <- counter(refused, st.ConnsRefused)
		},
	}
}

// auditMetrics counts the audit events queued, the documents written and
// what was dropped.
func auditMetrics(b *audit.Batcher) prometheus.Collector {
	queued := desc("audit_events_total", "Audit events queued.")
	dropped := desc("audit_dropped_total", "Audit events dropped because the queue was full (queue), documents dropped because the store fell behind (pending).", "where")
	written := desc("audit_documents_written_total", "Audit documents the store took.")
	insertErrors := desc("audit_insert_errors_total", "Failed inserts into the audit store.")
	pending := desc("audit_documents_pending", "Audit documents waiting for the store.")
	return &counters{
		descs: []*prometheus.Desc{queued, dropped, written, insertErrors, pending},
		collect: func(ch chan<- prometheus.Metric) {
			st := b.Stats()
			ch <- counter(queued, st.Recorded)
			ch <- counter(dropped, st.DroppedQueue, "queue")
			ch <- counter(dropped, st.DroppedPending, "pending")
			ch <- counter(written, st.Inserted)
			ch <- counter(insertErrors, st.InsertErrors)
			ch <- prometheus.MustNewConstMetric(pending, prometheus.GaugeValue, float64(st.Pending))
		},
	}
}

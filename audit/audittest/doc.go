// Package audittest helps test code that records audit events and audit
// backends, in the manner of net/http/httptest.
//
// For code that records events: [Recorder] keeps every event it is given
// ([Recorder.Find], [Recorder.Wait]), and [Inserter] is an in-memory
// [audit.Inserter] whose failures a test switches on and off, for the
// [audit.Batcher].
//
// For backends: [TestBackend] is the conformance suite every
// [audit.Backend] passes with the same answers, on the documents of
// [Events] (times from [T0]). [Mixed] and [Load] make and insert a large
// load of a segment's traffic (ping, AMT, DHCP, TFTP, syslog);
// [BenchLastSeen], [BenchHostDay], [BenchCountIPPower] and [BenchAvgRTT]
// are the query benchmarks each backend runs on it.
package audittest

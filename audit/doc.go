// Package audit records what the PXElator packages see and answers
// questions about it.
//
// Protocol packages take an optional [Recorder] and call [Record] with an
// [Event]. The [Batcher] is the recorder of a real server: it never blocks
// its caller, merges the events of one package and subject within one
// second into one [Document] (id yyyy-mm-dd.HH:MM:SS.package.ident, so
// that ids sort by time) and inserts documents in batches into an
// [Inserter], retrying while the store is down and counting what it had
// to drop.
//
// A [Backend] is an Inserter that also answers the questions a user asks
// without writing a database query ([Querier]): when was a machine last
// seen and by which package; the events of a machine or package in a time
// range, newest first, a page at a time; counts grouped by one or two
// fields (AMT power state per IP); sums and counts of a numeric field
// grouped by a field (ping round-trip per IP), from which [Group.Avg]
// computes the average, so that groups from several stores merge
// ([MergeGroups]). The backends live in their own packages so that this
// one needs no database driver: audit/sqlitestore (embedded, the
// default) and audit/mongostore (MongoDB). Both run every document
// through a [Sanitizer], answer Count and Stats through a [GroupFunc]
// (adding up in Go with a [Tally] what their database does not), and
// pass the conformance suite audittest.TestBackend with the same
// answers. A document larger than [MaxDocumentBytes] (a machine that
// sends megabytes of lines in one second) is stored in parts, ids
// <id>#2, <id>#3, ..., rather than dropped.
//
// The audit of a busy network grows without end unless something bounds
// it: every Backend is a [Pruner], which removes the documents older than
// a [Retention]'s MaxAge and then the oldest while they take more than
// its MaxBytes, each backend measuring its own size (SQLite's pages in
// use, MongoDB's collStats data size). [Retain] enforces a Retention at
// once and then periodically; the reference server keeps 90 days and
// 1 GiB by default (-audit-max-age, -audit-max-size).
package audit

// Package audit records what happens on the network segment, the way the
// original PXElator did: every packet, transfer and command becomes an
// [Event]; events of one package and subject within one second are
// merged into one [Document] with an id of the form
// yyyy-mm-dd.HH:MM:SS.package.ident, so that ids sort by time and 133
// kernel syslog lines at boot make one document, not 133.
//
// Protocol packages take an optional [Recorder] and call [Record], which
// does nothing for a nil Recorder. The [Batcher] is the Recorder a server
// uses: it never blocks its caller, merges events into documents and
// inserts them in batches into a backend (an [Inserter]), retrying while
// the backend is down and counting what it had to drop. Backends live in
// their own sub-packages so that a protocol package never pulls in a
// database driver.
package audit

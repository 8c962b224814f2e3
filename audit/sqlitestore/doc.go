// Package sqlitestore is the embedded audit backend: one SQLite file,
// through the pure-Go modernc.org/sqlite driver (no cgo, no server).
//
// Each document is a row of the table docs: its id (the primary key, so
// that a second insert of an id appends entries), time, package, ip, mac
// and hostname as indexed columns, and its entries as a JSON array. The
// view documents shows each row as the JSON document the MongoDB backend
// stores. Counts grouped by document fields are SQL GROUP BY over the
// indexes; queries on entry fields (counts by action or by an entry
// field, sums of a numeric field) select the documents with SQL and read
// their entries in Go, which is much faster than SQLite's JSON functions.
//
// SQLite was chosen over a key-value store (bbolt, pebble) because the
// grouped queries are SQL GROUP BY over an index, and over an embedded
// MongoDB-like store because none is pure Go and maintained.
package sqlitestore

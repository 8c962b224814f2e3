// Package sqlitestore is the embedded audit backend: one SQLite file,
// through the pure-Go modernc.org/sqlite driver (no cgo, no server).
//
// Each document is a row of the table docs: its id (the primary key, so
// that a second insert of an id appends entries), time, package, ip, mac
// and hostname, and its entries as a JSON array. The package and machine
// fields make the document's signature (table sigs, a few per machine):
// a machine's documents are found through one index on (signature,
// time), its signatures through small indexes on ip, mac and hostname.
// The view documents shows each row as the JSON document the MongoDB
// backend stores.
//
// The table rollup counts the entries of each day, signature and action,
// sums their numeric fields and counts the values of a few state fields
// (power_state, status, outcome, ...), so that counts and sums over
// whole days (the average rtt per IP, power events by IP and state) read
// it rather than every entry; the parts of days at either end of a time
// range, and groupings by other entry fields, read the entries in Go,
// which is much faster than SQLite's JSON functions. The rollup counts
// the documents up to a mark; Insert counts those after it every 5
// seconds or 50,000 documents, a machine's row once for all its
// documents since, and the queries read them from the documents
// meanwhile (so another process reading the file sees every document).
// While no other process writes the file, the store counts in memory
// what it inserts: it then writes the rollup every minute or 1,000,000
// documents, and its queries take those counts rather than read the
// documents since the mark.
//
// Files of the first schema (no signatures, no rollup) and of the second
// (a rollup written with every Insert) are migrated when opened. SQLite was chosen over a key-value store (bbolt, pebble)
// because the grouped queries are SQL over an index, and over an
// embedded MongoDB-like store because none is pure Go and maintained.
package sqlitestore

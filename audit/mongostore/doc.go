// Package mongostore is the audit backend for MongoDB, through the
// official driver go.mongodb.org/mongo-driver/v2: for when one machine is
// not enough (a replica set, a sharded cluster).
//
// Documents are stored the way the original PXElator stored them:
//
//	{_id: "2026-11-24.10:00:01.dhcpd.10.0.0.11", time: ISODate(...),
//	 package: {name: "dhcpd"}, ip: "10.0.0.11", mac: "52:54:00:00:0a:01",
//	 hostname: "kiosk-01",
//	 entries: [{time: ISODate(...), action: "ack", fields: {...}}, ...]}
//
// Inserts are unordered bulk inserts; a document whose id exists gets its
// entries appended ($push with $each). The indexes the queries use (time;
// package, ip, mac and hostname each with time) are created at Open, or
// on the first Insert that reaches the server when it was down. The
// driver reconnects by itself after the server goes away; audit.Batcher
// keeps the documents and retries meanwhile.
//
// Times are stored as BSON dates, which keep milliseconds. Grouped counts
// and sums select the documents on the server with the indexed filter and
// add the entries up in the client, so that MongoDB and FerretDB (whose
// $unwind loses the document's other fields) give the same answers.
package mongostore

package mongostore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"go.mongodb.org/mongo-driver/v2/x/mongo/driver/connstring"

	"github.com/pxelator/pxelator/audit"
)

// Options tunes a [Store]. The zero value gives the defaults.
type Options struct {
	// Database is the database name; default: the one in the URI, else
	// "pxelator".
	Database string
	// Collection is the collection name (default "audit").
	Collection string
	// Timeout bounds server selection and each operation that has no
	// deadline of its own (default 10s).
	Timeout time.Duration
	// Logger receives index creation errors; nil means slog.Default().
	Logger *slog.Logger
}

// Store is an audit backend in a MongoDB collection. It implements
// [audit.Backend] and is safe for concurrent use.
type Store struct {
	client  *mongo.Client
	coll    *mongo.Collection
	san     audit.Sanitizer
	log     *slog.Logger
	timeout time.Duration

	refused atomic.Uint64 // documents the server refused for good

	mu      sync.Mutex
	indexed bool
}

var _ audit.Backend = (*Store)(nil)

// Open connects to the MongoDB server of uri (mongodb://... or
// mongodb+srv://...). It does not wait for the server: when the server is
// down, Open succeeds, Insert and the queries fail until it is back, and
// the indexes are created on the first Insert that reaches it.
func Open(ctx context.Context, uri string, opts *Options) (*Store, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	cs, err := connstring.ParseAndValidate(uri)
	if err != nil {
		return nil, fmt.Errorf("mongostore: %w", err)
	}
	if o.Database == "" {
		o.Database = cs.Database
	}
	if o.Database == "" {
		o.Database = "pxelator"
	}
	if o.Collection == "" {
		o.Collection = "audit"
	}
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	copts := options.Client().ApplyURI(uri).
		SetServerSelectionTimeout(o.Timeout).
		SetConnectTimeout(o.Timeout).
		SetBSONOptions(&options.BSONOptions{DefaultDocumentM: true})
	client, err := mongo.Connect(copts)
	if err != nil {
		return nil, fmt.Errorf("mongostore: connect: %w", err)
	}
	s := &Store{
		client:  client,
		coll:    client.Database(o.Database).Collection(o.Collection),
		log:     o.Logger,
		timeout: o.Timeout,
	}
	// Do not hold up the start of a server for long when MongoDB is
	// down: the first Insert that reaches it creates the indexes.
	ictx, cancel := context.WithTimeout(ctx, min(o.Timeout, 2*time.Second))
	defer cancel()
	if err := s.ensureIndexes(ictx); err != nil {
		s.log.Warn("mongostore: server not reachable yet; indexes will be created later", "err", err)
	}
	return s, nil
}

// Close disconnects from the server.
func (s *Store) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), s.timeout)
	defer cancel()
	if err := s.client.Disconnect(ctx); err != nil {
		return fmt.Errorf("mongostore: close: %w", err)
	}
	return nil
}

// Sanitized counts the documents that Insert changed or rejected; the
// documents that the server itself refused are added to Rejected.
func (s *Store) Sanitized() audit.SanitizeCounts {
	c := s.san.Counts()
	c.Rejected += s.refused.Load()
	return c
}

// withTimeout gives ctx the store's timeout when it has no deadline.
func (s *Store) withTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, s.timeout)
}

// ensureIndexes creates, once, the indexes the queries use.
func (s *Store) ensureIndexes(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.indexed {
		return nil
	}
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	// Each index ends in time, newest first, for "last seen" and pages.
	idx := func(name, field string) mongo.IndexModel {
		keys := bson.D{{Key: "time", Value: -1}, {Key: "_id", Value: -1}}
		if field != "" {
			keys = bson.D{{Key: field, Value: 1}, {Key: "time", Value: -1}}
		}
		return mongo.IndexModel{Keys: keys, Options: options.Index().SetName(name)}
	}
	_, err := s.coll.Indexes().CreateMany(ctx, []mongo.IndexModel{
		idx("time", ""),
		idx("package_time", "package.name"),
		idx("ip_time", "ip"),
		idx("mac_time", "mac"),
		idx("hostname_time", "hostname"),
	})
	if err != nil {
		return fmt.Errorf("mongostore: create indexes: %w", err)
	}
	s.indexed = true
	return nil
}

// The stored shapes: the original PXElator's document, with the package
// as a sub-document.
type (
	mdoc struct {
		ID       string        `bson:"_id"`
		Time     bson.DateTime `bson:"time"`
		Package  mpackage      `bson:"package"`
		IP       string        `bson:"ip,omitempty"`
		MAC      string        `bson:"mac,omitempty"`
		Hostname string        `bson:"hostname,omitempty"`
		Entries  []mentry      `bson:"entries"`
	}
	mpackage struct {
		Name string `bson:"name"`
	}
	mentry struct {
		Time   bson.DateTime  `bson:"time"`
		Action string         `bson:"action"`
		Fields map[string]any `bson:"fields,omitempty"`
	}
)

func toM(d audit.Document) mdoc {
	m := mdoc{ID: d.ID, Time: bson.NewDateTimeFromTime(d.Time), Package: mpackage{d.Package},
		IP: d.IP, MAC: d.MAC, Hostname: d.Hostname, Entries: toEntries(d.Entries)}
	return m
}

func toEntries(es []audit.Entry) []mentry {
	out := make([]mentry, len(es))
	for i, e := range es {
		out[i] = mentry{Time: bson.NewDateTimeFromTime(e.Time), Action: e.Action, Fields: e.Fields}
	}
	return out
}

func fromM(m mdoc) audit.Document {
	d := audit.Document{ID: m.ID, Time: m.Time.Time().UTC(), Package: m.Package.Name,
		IP: m.IP, MAC: m.MAC, Hostname: m.Hostname, Entries: make([]audit.Entry, len(m.Entries))}
	for i, e := range m.Entries {
		d.Entries[i] = audit.Entry{Time: e.Time.Time().UTC(), Action: e.Action}
		if len(e.Fields) > 0 {
			d.Entries[i].Fields = plainMap(e.Fields)
		}
	}
	return d
}

// plain turns decoded BSON values into the JSON values that documents
// hold: maps, slices, float64 numbers.
func plain(v any) any {
	switch v := v.(type) {
	case bson.M:
		return plainMap(v)
	case map[string]any:
		return plainMap(v)
	case bson.D:
		m := make(map[string]any, len(v))
		for _, e := range v {
			m[e.Key] = plain(e.Value)
		}
		return m
	case bson.A:
		return plainSlice(v)
	case []any:
		return plainSlice(v)
	case int32:
		return float64(v)
	case int64:
		return float64(v)
	case bson.Null, bson.Undefined:
		return nil
	}
	return v
}

func plainMap(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = plain(v)
	}
	return out
}

func plainSlice(s []any) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = plain(v)
	}
	return out
}

// Insert stores docs with one unordered bulk insert; documents whose id is
// stored already get their entries appended with one more bulk write.
// A document larger than audit.MaxDocumentBytes is stored in parts
// (see [audit.Sanitizer]); documents that cannot be stored, by the
// sanitizer or by the server, are left out and counted. An error means the server could not be reached
// or refused the whole batch; retrying then may append some entries
// twice.
func (s *Store) Insert(ctx context.Context, docs []audit.Document) error {
	if len(docs) == 0 {
		return nil
	}
	if err := s.ensureIndexes(ctx); err != nil {
		return err
	}
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	ms := make([]mdoc, 0, len(docs))
	for _, d := range docs {
		parts, err := s.san.Documents(d)
		if err != nil {
			continue // counted by the sanitizer
		}
		for _, d := range parts {
			ms = append(ms, toM(d))
		}
	}
	if len(ms) == 0 {
		return nil
	}
	_, err := s.coll.InsertMany(ctx, ms, options.InsertMany().SetOrdered(false))
	if err == nil {
		return nil
	}
	var bwe mongo.BulkWriteException
	if !errors.As(err, &bwe) || bwe.WriteConcernError != nil || len(bwe.WriteErrors) == 0 {
		return fmt.Errorf("mongostore: insert: %w", err)
	}
	var updates []mongo.WriteModel
	for _, we := range bwe.WriteErrors {
		if we.Index < 0 || we.Index >= len(ms) {
			continue
		}
		if !mongo.IsDuplicateKeyError(we) {
			s.refused.Add(1)
			s.log.Warn("mongostore: document refused", "id", ms[we.Index].ID, "code", we.Code, "err", we.Message)
			continue
		}
		updates = append(updates, appendModels(ms[we.Index])...)
	}
	if len(updates) == 0 {
		return nil
	}
	_, err = s.coll.BulkWrite(ctx, updates, options.BulkWrite().SetOrdered(false))
	if err == nil {
		return nil
	}
	if errors.As(err, &bwe) && bwe.WriteConcernError == nil && len(bwe.WriteErrors) > 0 {
		// Refused for good (a document grown past 16 MiB): a retry would
		// not help.
		s.refused.Add(uint64(len(bwe.WriteErrors)))
		s.log.Warn("mongostore: appends refused", "count", len(bwe.WriteErrors), "err", bwe.WriteErrors[0].Message)
		return nil
	}
	return fmt.Errorf("mongostore: insert: append: %w", err)
}

// appendModels are the updates that merge m into the stored document of
// its id: append the entries, keep the earliest time, fill in the
// addresses and hostname it did not have.
func appendModels(m mdoc) []mongo.WriteModel {
	models := []mongo.WriteModel{mongo.NewUpdateOneModel().
		SetFilter(bson.D{{Key: "_id", Value: m.ID}}).
		SetUpdate(bson.D{
			{Key: "$push", Value: bson.D{{Key: "entries", Value: bson.D{{Key: "$each", Value: m.Entries}}}}},
			{Key: "$min", Value: bson.D{{Key: "time", Value: m.Time}}},
		})}
	for _, f := range []struct{ key, value string }{{"ip", m.IP}, {"mac", m.MAC}, {"hostname", m.Hostname}} {
		if f.value == "" {
			continue
		}
		models = append(models, mongo.NewUpdateOneModel().
			SetFilter(bson.D{{Key: "_id", Value: m.ID}, {Key: f.key, Value: bson.D{{Key: "$exists", Value: false}}}}).
			SetUpdate(bson.D{{Key: "$set", Value: bson.D{{Key: f.key, Value: f.value}}}}))
	}
	return models
}

// filter builds the query document of f.
func filter(f audit.Filter) bson.D {
	var and bson.A
	if f.Package != "" {
		and = append(and, bson.D{{Key: "package.name", Value: f.Package}})
	}
	if f.Machine != "" {
		field, value := audit.MachineField(f.Machine)
		and = append(and, bson.D{{Key: field, Value: value}})
	}
	if !f.Since.IsZero() {
		and = append(and, bson.D{{Key: "time", Value: bson.D{{Key: "$gte", Value: bson.NewDateTimeFromTime(f.Since)}}}})
	}
	if !f.Until.IsZero() {
		and = append(and, bson.D{{Key: "time", Value: bson.D{{Key: "$lt", Value: bson.NewDateTimeFromTime(f.Until)}}}})
	}
	switch len(and) {
	case 0:
		return bson.D{}
	case 1:
		return and[0].(bson.D)
	}
	return bson.D{{Key: "$and", Value: and}}
}

var newestFirst = bson.D{{Key: "time", Value: -1}, {Key: "_id", Value: -1}}

// LastSeen implements [audit.Querier].
func (s *Store) LastSeen(ctx context.Context, machine string) (audit.Seen, error) {
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	field, value := audit.MachineField(machine)
	var m mdoc
	err := s.coll.FindOne(ctx, bson.D{{Key: field, Value: value}}, options.FindOne().SetSort(newestFirst)).Decode(&m)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return audit.Seen{}, fmt.Errorf("mongostore: last seen %q: %w", machine, audit.ErrNotFound)
	}
	if err != nil {
		return audit.Seen{}, fmt.Errorf("mongostore: last seen %q: %w", machine, err)
	}
	return audit.SeenIn(fromM(m)), nil
}

// Events implements [audit.Querier].
func (s *Store) Events(ctx context.Context, q audit.EventsQuery) (audit.Page, error) {
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	f := filter(q.Filter)
	if q.Cursor != "" {
		c, err := audit.ParseCursor(q.Cursor)
		if err != nil {
			return audit.Page{}, fmt.Errorf("mongostore: events: %w", err)
		}
		t := bson.NewDateTimeFromTime(c.Time)
		after := bson.D{{Key: "$or", Value: bson.A{
			bson.D{{Key: "time", Value: bson.D{{Key: "$lt", Value: t}}}},
			bson.D{{Key: "time", Value: t}, {Key: "_id", Value: bson.D{{Key: "$lt", Value: c.ID}}}},
		}}}
		if len(f) == 0 {
			f = after
		} else {
			f = bson.D{{Key: "$and", Value: bson.A{f, after}}}
		}
	}
	limit := audit.PageLimit(q.Limit)
	cur, err := s.coll.Find(ctx, f, options.Find().SetSort(newestFirst).SetLimit(int64(limit+1)))
	if err != nil {
		return audit.Page{}, fmt.Errorf("mongostore: events: %w", err)
	}
	var ms []mdoc
	if err := cur.All(ctx, &ms); err != nil {
		return audit.Page{}, fmt.Errorf("mongostore: events: %w", err)
	}
	docs := make([]audit.Document, len(ms))
	for i, m := range ms {
		docs[i] = fromM(m)
	}
	return audit.NewPage(docs, limit), nil
}

// Count implements [audit.Querier].
func (s *Store) Count(ctx context.Context, q audit.CountQuery) ([]audit.Group, error) {
	return audit.GroupFunc(s.group).Count(ctx, "mongostore", q)
}

// Stats implements [audit.Querier].
func (s *Store) Stats(ctx context.Context, q audit.StatsQuery) ([]audit.Group, error) {
	return audit.GroupFunc(s.group).Stats(ctx, "mongostore", q)
}

// group counts entries (and sums the numeric entry field sum, when set)
// grouped by the fields by. The server selects the documents with the
// indexed filter; the entries are counted and summed here, from the raw
// BSON. A pipeline of $unwind and $group would leave that to the server,
// but FerretDB's $unwind drops every field but _id and the unwound one,
// and its $sum of an entry field gives 0: this way one code path gives
// the same answers on MongoDB and FerretDB.
func (s *Store) group(ctx context.Context, f audit.Filter, by []string, sum string) ([]audit.Group, error) {
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	proj := bson.D{{Key: "entries", Value: 1}}
	for _, b := range by {
		if audit.IsDocField(b) {
			proj = append(proj, bson.E{Key: docPath(b)[0], Value: 1})
		}
	}
	cur, err := s.coll.Find(ctx, filter(f), options.Find().SetProjection(proj).SetBatchSize(1000))
	if err != nil {
		return nil, err
	}
	defer cur.Close(ctx)
	tally := audit.NewTally(len(by))
	var key [2]string
	for cur.Next(ctx) {
		raw := cur.Current
		for i, b := range by {
			if audit.IsDocField(b) {
				key[i], _ = raw.Lookup(docPath(b)...).StringValueOK()
			}
		}
		entries, ok := raw.Lookup("entries").ArrayOK()
		if !ok {
			continue
		}
		values, err := entries.Values()
		if err != nil {
			return nil, err
		}
		for _, v := range values {
			e, ok := v.DocumentOK()
			if !ok {
				continue
			}
			var x float64
			if sum != "" {
				if x, ok = numeric(e.Lookup("fields", sum)); !ok {
					continue
				}
			}
			for i, b := range by {
				switch {
				case audit.IsDocField(b):
				case b == audit.FieldAction:
					key[i], _ = e.Lookup("action").StringValueOK()
				default:
					key[i] = formatRaw(e.Lookup("fields", b))
				}
			}
			tally.Add(key, 1, x)
		}
	}
	if err := cur.Err(); err != nil {
		return nil, err
	}
	return audit.MergeGroups(tally.Groups()), nil
}

// docPath is the stored path of a document field.
func docPath(field string) []string {
	if field == audit.FieldPackage {
		return []string{"package", "name"}
	}
	return []string{field}
}

// numeric returns the value of a BSON number, and false for anything
// else (a missing field, a string, a boolean).
func numeric(v bson.RawValue) (float64, bool) {
	switch v.Type {
	case bson.TypeDouble:
		return v.Double(), true
	case bson.TypeInt32:
		return float64(v.Int32()), true
	case bson.TypeInt64:
		return float64(v.Int64()), true
	}
	return 0, false
}

// formatRaw formats an entry field as a group key, like
// [audit.FormatValue] of its JSON value.
func formatRaw(v bson.RawValue) string {
	switch v.Type {
	case 0, bson.TypeNull, bson.TypeUndefined:
		return ""
	case bson.TypeString:
		return v.StringValue()
	}
	if x, ok := numeric(v); ok {
		return audit.FormatValue(x)
	}
	var x any
	if err := v.Unmarshal(&x); err != nil {
		return v.String()
	}
	return audit.FormatValue(plain(x))
}

// Prune implements [audit.Pruner]: it deletes the documents older than
// r.MaxAge, then the oldest while the collection's data size (collStats)
// is over r.MaxBytes, in steps of at most audit.PruneBatch documents. A
// periodic Prune stands in for a TTL index, which not every server
// speaking the protocol has (FerretDB) and which bounds only the age.
func (s *Store) Prune(ctx context.Context, r audit.Retention) (audit.Pruned, error) {
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	var p audit.Pruned
	if r.MaxAge > 0 {
		cutoff := bson.NewDateTimeFromTime(time.Now().Add(-r.MaxAge))
		res, err := s.coll.DeleteMany(ctx, bson.D{{Key: "time", Value: bson.D{{Key: "$lt", Value: cutoff}}}})
		if err != nil {
			return p, fmt.Errorf("mongostore: prune: %w", err)
		}
		p.Documents += res.DeletedCount
	}
	used, count, err := s.dataSize(ctx)
	for err == nil && r.MaxBytes > 0 && used > r.MaxBytes && count > 0 {
		var n int64
		if n, err = s.deleteOldest(ctx, audit.PruneCount(count, used, r.MaxBytes)); err != nil {
			break
		}
		p.Documents += n
		if n == 0 {
			break
		}
		used, count, err = s.dataSize(ctx)
	}
	p.Bytes = used
	return p, err
}

// dataSize returns the size of the collection's documents and their
// number, as collStats tells.
func (s *Store) dataSize(ctx context.Context) (size, count int64, err error) {
	var st bson.M
	err = s.coll.Database().RunCommand(ctx, bson.D{{Key: "collStats", Value: s.coll.Name()}}).Decode(&st)
	if err != nil {
		return 0, 0, fmt.Errorf("mongostore: collStats: %w", err)
	}
	return number(st["size"]), number(st["count"]), nil
}

// number returns a BSON number as an int64, 0 for anything else.
func number(v any) int64 {
	switch v := v.(type) {
	case int32:
		return int64(v)
	case int64:
		return v
	case float64:
		return int64(v)
	}
	return 0
}

// deleteOldest deletes the n oldest documents.
func (s *Store) deleteOldest(ctx context.Context, n int64) (int64, error) {
	cur, err := s.coll.Find(ctx, bson.D{}, options.Find().SetSort(bson.D{{Key: "time", Value: 1}, {Key: "_id", Value: 1}}).
		SetLimit(n).SetProjection(bson.D{{Key: "_id", Value: 1}}))
	if err != nil {
		return 0, fmt.Errorf("mongostore: prune: %w", err)
	}
	var ids []struct {
		ID string `bson:"_id"`
	}
	if err := cur.All(ctx, &ids); err != nil {
		return 0, fmt.Errorf("mongostore: prune: %w", err)
	}
	if len(ids) == 0 {
		return 0, nil
	}
	in := make(bson.A, len(ids))
	for i, d := range ids {
		in[i] = d.ID
	}
	res, err := s.coll.DeleteMany(ctx, bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: in}}}})
	if err != nil {
		return 0, fmt.Errorf("mongostore: prune: %w", err)
	}
	return res.DeletedCount, nil
}

package audit_test

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/pxelator/pxelator/audit"
)

func TestGroupFunc(t *testing.T) {
	type call struct {
		f   audit.Filter
		by  []string
		sum string
	}
	var got []call
	fail := errors.New("database down")
	fn := audit.GroupFunc(func(ctx context.Context, f audit.Filter, by []string, sum string) ([]audit.Group, error) {
		got = append(got, call{f, by, sum})
		if f.Package == "down" {
			return nil, fail
		}
		return []audit.Group{{Key: by, Count: 1}}, nil
	})
	ctx := context.Background()
	f := audit.Filter{Package: "ping"}
	tests := []struct {
		name    string
		do      func() ([]audit.Group, error)
		want    []call // the calls of fn
		wantErr string // prefix of the error, "" for none
		is      error  // wrapped by the error
	}{
		{"count", func() ([]audit.Group, error) {
			return fn.Count(ctx, "mystore", audit.CountQuery{Filter: f, By: []string{"ip"}})
		}, []call{{f, []string{"ip"}, ""}}, "", nil},
		{"stats", func() ([]audit.Group, error) {
			return fn.Stats(ctx, "mystore", audit.StatsQuery{Filter: f, Field: "rtt", By: []string{"ip", "action"}})
		}, []call{{f, []string{"ip", "action"}, "rtt"}}, "", nil},
		{"count by three fields", func() ([]audit.Group, error) {
			return fn.Count(ctx, "mystore", audit.CountQuery{By: []string{"ip", "mac", "hostname"}})
		}, nil, "mystore: count: audit: group by 3 fields", nil},
		{"stats of a document field", func() ([]audit.Group, error) {
			return fn.Stats(ctx, "mystore", audit.StatsQuery{Field: "ip", By: []string{"mac"}})
		}, nil, "mystore: stats: audit: ", nil},
		{"backend error", func() ([]audit.Group, error) {
			return fn.Count(ctx, "mystore", audit.CountQuery{Filter: audit.Filter{Package: "down"}, By: []string{"ip"}})
		}, []call{{audit.Filter{Package: "down"}, []string{"ip"}, ""}}, "mystore: count: database down", fail},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got = nil
			gs, err := tt.do()
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("calls %+v, want %+v", got, tt.want)
			}
			switch {
			case tt.wantErr == "" && (err != nil || len(gs) != 1):
				t.Errorf("= %v, %v; want the group of the backend", gs, err)
			case tt.wantErr != "" && (err == nil || !strings.HasPrefix(err.Error(), tt.wantErr) || gs != nil):
				t.Errorf("= %v, %v; want an error %q...", gs, err, tt.wantErr)
			case tt.is != nil && !errors.Is(err, tt.is):
				t.Errorf("error %v does not wrap %v", err, tt.is)
			}
		})
	}
}

func TestTally(t *testing.T) {
	type add struct {
		key [2]string
		n   int64
		sum float64
	}
	tests := []struct {
		name   string
		fields int
		adds   []add
		want   []audit.Group
	}{
		{"empty", 1, nil, []audit.Group{}},
		{"one field", 1, []add{{[2]string{"b"}, 1, 2}, {[2]string{"a"}, 1, 1}, {[2]string{"b"}, 3, 4}},
			[]audit.Group{{Key: []string{"a"}, Count: 1, Sum: 1}, {Key: []string{"b"}, Count: 4, Sum: 6}}},
		{"two fields", 2, []add{{[2]string{"a", "x"}, 1, 0}, {[2]string{"a", "y"}, 1, 0}, {[2]string{"a", "x"}, 1, 0}, {[2]string{"", ""}, 1, 0}},
			[]audit.Group{{Key: []string{"", ""}, Count: 1}, {Key: []string{"a", "x"}, Count: 2}, {Key: []string{"a", "y"}, Count: 1}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tally := audit.NewTally(tt.fields)
			for _, a := range tt.adds {
				tally.Add(a.key, a.n, a.sum)
			}
			got := tally.Groups()
			if len(got) != len(tt.want) {
				t.Fatalf("%d groups, want %d: %+v", len(got), len(tt.want), got)
			}
			audit.SortGroups(got)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("groups %+v, want %+v", got, tt.want)
			}
		})
	}
}

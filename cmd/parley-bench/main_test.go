//go:build unix

package main

import (
	"reflect"
	"testing"
)

func TestParsePlan(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want []scenario
		ok   bool
	}{
		{"", nil, true},
		{"1000:200@20", []scenario{{1000, []wave{{200, 20}}}}, true},
		{"1000:200@20; 10000:200@20,40@2", []scenario{
			{1000, []wave{{200, 20}}}, {10000, []wave{{200, 20}, {40, 2}}}}, true},
		{"100", []scenario{{streams: 100}}, true},
		{"x:1@1", nil, false},
		{"10:1@0", nil, false},
		{"10:1", nil, false},
	} {
		t.Run(tt.in, func(t *testing.T) {
			got, err := parsePlan(tt.in)
			if (err == nil) != tt.ok {
				t.Fatalf("parsePlan(%q) error = %v; want ok %v", tt.in, err, tt.ok)
			}
			if tt.ok && !reflect.DeepEqual(got, tt.want) {
				t.Errorf("parsePlan(%q) = %+v; want %+v", tt.in, got, tt.want)
			}
		})
	}
}

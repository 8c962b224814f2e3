package drac

import (
	"testing"
)

func BenchmarkDecodeSystem(b *testing.B) {
	body := readVector(b, "redfish-system-embedded-1.json")
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if _, err := decodeSystem(body); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeWebLogin(b *testing.B) {
	body := readVector(b, "drac5-login-ok.response.xml")
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if _, err := decodeWebLogin(body); err != nil {
			b.Fatal(err)
		}
	}
}

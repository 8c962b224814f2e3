package amttest

import (
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
)

// FuzzServe feeds arbitrary authenticated request bodies to the
// emulator's WS-Man and legacy services: every answer must be a valid
// HTTP answer, and the power state one the emulator knows.
func FuzzServe(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.xml")
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, false)
		f.Add(b, true)
	}
	f.Add([]byte(`<Envelope><Body><RemoteControl><Command>18</Command><IanaOemNumber>343</IanaOemNumber></RemoteControl></Body></Envelope>`), true)
	f.Fuzz(func(t *testing.T, body []byte, legacy bool) {
		b := NewBMC(Options{})
		w := httptest.NewRecorder()
		if legacy {
			b.serveLegacy(w, "/RemoteControlService", body)
		} else {
			b.serveWSMan(w, body)
		}
		if c := w.Code; c != 200 && c != 400 && c != 500 {
			t.Fatalf("HTTP %d", c)
		}
		if st := b.State(); st == "" {
			t.Fatalf("state %q", st)
		}
	})
}

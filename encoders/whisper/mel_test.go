package whisper

import "testing"

func TestMelFiltersGolden(t *testing.T) {
	_, g := golden(t)
	fe, err := NewFrontend(400, 160, 80, 16000)
	if err != nil {
		t.Fatal(err)
	}
	w := fe.Filters()
	got := make([]float32, len(w))
	for i, v := range w {
		got[i] = float32(v)
	}
	checkClose(t, "mel_filters", got, g.f32["mel_filters"], 1e-6)
}

package main

import (
	"os"
	"path/filepath"
	"strings"

	"rosetta/encoders/clip"
	"rosetta/engine"
)

// defaultModelsDir is $ROSETTA_MODELS, else the user cache directory.
func defaultModelsDir() string {
	if d := os.Getenv("ROSETTA_MODELS"); d != "" {
		return d
	}
	if d, err := os.UserCacheDir(); err == nil {
		return filepath.Join(d, "rosetta", "models")
	}
	return filepath.Join(".", "models")
}

// modelLoader returns the engine's model loader: a model name is a
// directory path, or a name under modelsDir ("/" in hub names becomes "--").
func modelLoader(modelsDir string) func(string) (engine.Encoder, error) {
	return func(name string) (engine.Encoder, error) {
		dir := name
		if fi, err := os.Stat(name); err != nil || !fi.IsDir() {
			dir = filepath.Join(modelsDir, strings.ReplaceAll(name, "/", "--"))
		}
		return clip.Open(dir, nil)
	}
}

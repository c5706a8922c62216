package main

import (
	"rosetta/encoders"
	"rosetta/engine"
	"rosetta/models"
)

// defaultModelsDir is $ROSETTA_MODELS, else the user cache directory
// (models.DefaultDir); "" lets models.Resolve pick it when that fails.
func defaultModelsDir() string {
	d, err := models.DefaultDir()
	if err != nil {
		return ""
	}
	return d
}

// modelLoader returns the engine's model loader for a local tool: a model
// is a directory path, or a catalogue/added name under modelsDir
// (models.Resolve, whose errors say what to pull or download and where to
// put it).
func modelLoader(modelsDir string) func(string) (engine.Encoder, error) {
	return func(name string) (engine.Encoder, error) {
		dir, err := models.Resolve(modelsDir, name)
		if err != nil {
			return nil, err
		}
		return encoders.Open(dir)
	}
}

// transcriberLoader is modelLoader for the engine's speech-to-text models.
func transcriberLoader(modelsDir string) func(string) (engine.Transcriber, error) {
	return func(name string) (engine.Transcriber, error) {
		dir, err := models.Resolve(modelsDir, name)
		if err != nil {
			return nil, err
		}
		return openTranscriber(dir)
	}
}

// serverModelLoader is the server's loader: names resolve only inside
// modelsDir (models.ResolveStrict); absolute paths are those a local tool
// stored in a collection or that CheckServerName let through.
func serverModelLoader(modelsDir string) func(string) (engine.Encoder, error) {
	return func(name string) (engine.Encoder, error) {
		l, err := models.Open(modelsDir, nil)
		if err != nil {
			return nil, err
		}
		dir, err := l.ResolveStrict(name)
		if err != nil {
			return nil, err
		}
		return encoders.Open(dir)
	}
}

// serverTranscriberLoader is serverModelLoader for speech-to-text models.
func serverTranscriberLoader(modelsDir string) func(string) (engine.Transcriber, error) {
	return func(name string) (engine.Transcriber, error) {
		l, err := models.Open(modelsDir, nil)
		if err != nil {
			return nil, err
		}
		dir, err := l.ResolveStrict(name)
		if err != nil {
			return nil, err
		}
		return openTranscriber(dir)
	}
}

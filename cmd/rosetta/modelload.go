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

// localLoader returns a loader for a local tool: a model is a directory
// path, or a catalogue/added name under modelsDir (models.Resolve, whose
// errors say what to pull or download and where to put it), opened by
// open.
func localLoader[T any](modelsDir string, open func(dir string) (T, error)) func(string) (T, error) {
	return func(name string) (T, error) {
		dir, err := models.Resolve(modelsDir, name)
		if err != nil {
			var zero T
			return zero, err
		}
		return open(dir)
	}
}

// serverLoader is the server's: names resolve only inside modelsDir
// (models.ResolveStrict); absolute paths are those a local tool stored in
// a collection or that CheckServerName let through.
func serverLoader[T any](modelsDir string, open func(dir string) (T, error)) func(string) (T, error) {
	return func(name string) (T, error) {
		var zero T
		l, err := models.Open(modelsDir, nil)
		if err != nil {
			return zero, err
		}
		dir, err := l.ResolveStrict(name)
		if err != nil {
			return zero, err
		}
		return open(dir)
	}
}

func openEngineEncoder(dir string) (engine.Encoder, error) { return encoders.Open(dir) }

func openEngineTranscriber(dir string) (engine.Transcriber, error) { return openTranscriber(dir) }

// The engine's loaders: embedding models and speech-to-text models, for
// local tools and for the server.
func modelLoader(modelsDir string) func(string) (engine.Encoder, error) {
	return localLoader(modelsDir, openEngineEncoder)
}

func transcriberLoader(modelsDir string) func(string) (engine.Transcriber, error) {
	return localLoader(modelsDir, openEngineTranscriber)
}

func serverModelLoader(modelsDir string) func(string) (engine.Encoder, error) {
	return serverLoader(modelsDir, openEngineEncoder)
}

func serverTranscriberLoader(modelsDir string) func(string) (engine.Transcriber, error) {
	return serverLoader(modelsDir, openEngineTranscriber)
}

// Package video decodes video files with FFmpeg, an external tool found on
// PATH (or named by the caller): ffprobe for the streams, duration,
// rotation, creation time and location; ffmpeg for sampled frames as raw
// RGB over a pipe and the audio track as 16 kHz mono PCM over another.
//
// # Running the tools (run.go)
//
// Every process is started with exec.CommandContext and an argument list,
// never a shell, with -nostdin, a time limit (Limits.Timeout) and a bound
// on what it may write (Limits.MaxOutputBytes: a process writing more is
// killed and its reader gets ErrTooMuchOutput). Its stderr is read all the
// time (so it never blocks) and the last StderrTail bytes of it that are
// not progress lines end up in the error of a failed run. The file is
// passed as "file:" + its absolute path, so ffmpeg never reads it as an
// option or as another protocol (http:, concat:, pipe:); the protocol
// whitelist allows file alone, so no demuxer can reach the network.
//
// # Sampling (frames.go)
//
// One ffmpeg process decodes the video stream once. Every frame is scaled
// (the shorter side to Sampling.Side, never enlarged) and converted to
// RGB in ffmpeg; then its select filter
// keeps the first frame, every frame whose scene score (FFmpeg's scene
// detection: the mean absolute difference to the previous frame,
// normalised) exceeds Sampling.SceneThreshold, and a frame whenever
// Sampling.Interval has passed since the last kept one; no frame is kept
// sooner than 60/MaxPerMinute seconds after the previous one, so a minute
// never has more than MaxPerMinute. Only kept frames, already small,
// cross the pipe, so an hour of 1080p costs one small frame buffer at a
// time, not a slice of decoded frames. The showinfo filter prints each kept frame's
// time on stderr before the frame is written to stdout; the reader pairs
// them by sequence number.
//
// # Audio (audio.go)
//
// The audio track comes as signed 16-bit little-endian mono at 16 kHz and
// is cut into overlapping windows as it streams (the windows that
// audio.Windows gives for the whole track), holding one window at a time.
package video

package engine

import "fmt"

// Video objects (written by ingest from FFmpeg's output, see media/video):
//
//   - the video itself: modality "video", its source the file, its vectors
//     the normalised mean of its segments' vectors per space (CLIP4Clip's
//     mean pooling), its metadata ffprobe's (duration_s, width, height,
//     video_codec, fps, rotation, created, gps_lat, gps_lon, …) and
//     MetaKeyframe, the key of the frame segment whose keyframe is its
//     thumbnail;
//   - one frame segment per sampled frame: modality "image", key
//     SegmentKey(video, start, end), metadata parent, segment_start,
//     segment_end (seconds: the span the frame stands for) and
//     segment_kind SegmentKindFrame, its image vector from the frame, and
//     the frame as a JPEG kept in the blob store: its keyframe;
//   - the audio track's windows: modality "audio", key
//     AudioTrackKey(video, start, end), metadata parent, segment_start,
//     segment_end, as a long audio file's windows.
//
// A frame segment's media (/media) is its video, as an audio window's is
// its recording, so a player can start at segment_start; its keyframe is
// what OpenStill gives for thumbnails and re-ranking.

// SegmentKindFrame is the segment_kind of a video's frame segments.
const SegmentKindFrame = "frame"

// MetaKeyframe is the metadata field of a video naming the key of the
// frame segment whose keyframe stands for it.
const MetaKeyframe = "keyframe"

// SegmentKey is the key of the segment of the object keyed parent that
// spans [start, end) seconds (to the millisecond): an audio window or a
// video frame, parent#t=START,END as in a media fragment URI.
func SegmentKey(parent string, start, end float64) string {
	return fmt.Sprintf("%s#t=%.3f,%.3f", parent, start, end)
}

// AudioTrackKey is the key of a window of a video's audio track: the
// segment key with the media fragment's track dimension, so that it never
// collides with a frame of the same span.
func AudioTrackKey(parent string, start, end float64) string {
	return SegmentKey(parent, start, end) + "&track=audio"
}

// IsFrameSegment reports whether metadata is a video frame segment's.
func IsFrameSegment(md map[string]any) bool {
	return md["segment_kind"] == SegmentKindFrame
}

package video

import "bytes"

// Sniff names the container of a video file from its first bytes ("" when
// it is not one this package takes) and the media type to serve it as.
// MP4/MOV (ISO base media: an ftyp box whose brand is not an audio-only
// one), Matroska/WebM (EBML), AVI (RIFF AVI), MPEG transport and program
// streams, FLV and ASF/WMV are recognised; Ogg is left to audio.
func Sniff(head []byte) (container, mediaType string) {
	switch {
	case len(head) >= 12 && string(head[4:8]) == "ftyp":
		brand := string(head[8:12])
		switch brand {
		case "M4A ", "M4B ", "M4P ", "F4A ", "F4B ":
			return "", "" // audio in an MP4 container
		case "qt  ":
			return "mov", "video/quicktime"
		}
		return "mp4", "video/mp4"
	case len(head) >= 4 && bytes.Equal(head[:4], []byte{0x1A, 0x45, 0xDF, 0xA3}):
		// EBML: the doc type says WebM or Matroska.
		if bytes.Contains(head[:min(len(head), 64)], []byte("webm")) {
			return "webm", "video/webm"
		}
		return "matroska", "video/x-matroska"
	case len(head) >= 12 && string(head[:4]) == "RIFF" && string(head[8:12]) == "AVI ":
		return "avi", "video/x-msvideo"
	case len(head) >= 4 && bytes.Equal(head[:4], []byte{0x00, 0x00, 0x01, 0xBA}):
		return "mpeg", "video/mpeg"
	case isTS(head):
		return "mpegts", "video/mp2t"
	case len(head) >= 4 && string(head[:3]) == "FLV" && head[3] == 1:
		return "flv", "video/x-flv"
	case len(head) >= 16 && bytes.Equal(head[:16], asfHeader):
		return "asf", "video/x-ms-asf"
	}
	return "", ""
}

var asfHeader = []byte{0x30, 0x26, 0xB2, 0x75, 0x8E, 0x66, 0xCF, 0x11, 0xA6, 0xD9, 0x00, 0xAA, 0x00, 0x62, 0xCE, 0x6C}

// isTS: MPEG-TS packets are 188 bytes, each starting with the sync byte
// 0x47; three in a row are convincing.
func isTS(b []byte) bool {
	if len(b) < 3*188 {
		return false
	}
	return b[0] == 0x47 && b[188] == 0x47 && b[2*188] == 0x47
}

package media

import (
	"path/filepath"
	"strings"
)

// FormatName returns the common name of the container ffprobe calls format
// (its format_name, such as "mov,mp4,m4a,3gp,3g2,mj2") for the file path.
// ffprobe names one demuxer for a family of formats; the file's extension
// tells them apart: "MP4" for .mp4, "QuickTime/MOV" for .mov, "WebM" for
// .webm. A format it does not know is returned as it is.
func FormatName(format, path string) string {
	ext := strings.ToLower(filepath.Ext(path))
	switch format {
	case "mov,mp4,m4a,3gp,3g2,mj2":
		switch ext {
		case ".mov", ".qt":
			return "QuickTime/MOV"
		case ".m4a":
			return "MP4 audio (M4A)"
		case ".3gp":
			return "3GP"
		case ".3g2":
			return "3G2"
		case ".mj2":
			return "Motion JPEG 2000"
		}
		return "MP4"
	case "matroska,webm":
		if ext == ".webm" {
			return "WebM"
		}
		return "Matroska"
	case "asf":
		if ext == ".wmv" {
			return "WMV"
		}
		return "ASF"
	}
	if name, ok := formatNames[format]; ok {
		return name
	}
	return format
}

// formatNames are the common names of ffprobe formats that name one
// container whatever the file's extension.
var formatNames = map[string]string{
	"mpegts":       "MPEG-TS",
	"mpeg":         "MPEG-PS",
	"avi":          "AVI",
	"flv":          "FLV",
	"ogg":          "Ogg",
	"mxf":          "MXF",
	"nut":          "NUT",
	"ivf":          "IVF",
	"dv":           "DV",
	"wtv":          "WTV",
	"rm":           "RealMedia",
	"gif":          "GIF",
	"apng":         "APNG",
	"yuv4mpegpipe": "YUV4MPEG",
	"h264":         "raw H.264",
	"hevc":         "raw H.265",
	"mpegvideo":    "raw MPEG video",
	"m4v":          "raw MPEG-4 video",
	"vc1":          "raw VC-1",
	"obu":          "raw AV1",
	"mjpeg":        "raw MJPEG",
	"hls":          "HLS playlist",
	"dash":         "DASH manifest",
	"concat":       "concat list",
	"image2":       "image sequence",
	"wav":          "WAV",
	"mp3":          "MP3",
	"aac":          "ADTS AAC",
	"flac":         "FLAC",
}

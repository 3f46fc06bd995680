package publish

import (
	"fmt"
	"path"
	"regexp"
	"strconv"
	"strings"

	"github.com/chunkcode/chunkcode/transcode/manifest"
)

// checkRefs verifies that every URI the playlist or manifest at name (a
// key relative to the target's prefix) names, resolved relative to it, is
// one of files. HLS master and media playlists and DASH MPDs are read
// with the manifest package, so a text it cannot read fails too.
func checkRefs(name string, data []byte, files map[string]bool) error {
	uris, err := references(data, ContentType(name) == TypeDASH)
	if err != nil {
		return fmt.Errorf("%w: %s: %v", ErrVerify, name, err)
	}
	for _, u := range uris {
		target, err := resolve(name, u)
		if err != nil {
			return fmt.Errorf("%w: %s names %q: %v", ErrVerify, name, u, err)
		}
		if !files[target] {
			return fmt.Errorf("%w: %s names %s, which is not in the ladder", ErrVerify, name, target)
		}
	}
	return nil
}

// references returns the URIs a playlist or MPD names.
func references(data []byte, dash bool) ([]string, error) {
	if dash {
		mpd, err := manifest.ParseMPD(data)
		if err != nil {
			return nil, err
		}
		return mpdReferences(mpd)
	}
	if strings.Contains(string(data), "#EXT-X-STREAM-INF") {
		m, err := manifest.ParseMaster(data)
		if err != nil {
			return nil, err
		}
		var uris []string
		for _, v := range m.Variants {
			uris = append(uris, v.URI)
		}
		for _, r := range append(m.Audio, m.Subtitles...) {
			uris = append(uris, r.URI)
		}
		return uris, nil
	}
	p, err := manifest.ParsePlaylist(data)
	if err != nil {
		return nil, err
	}
	var uris []string
	if p.Init != "" {
		uris = append(uris, p.Init)
	}
	for _, s := range p.Segments {
		uris = append(uris, s.URI)
	}
	return uris, nil
}

// mpdReferences expands every representation's BaseURL or SegmentTemplate
// into the files it names. An MPD-level or period-level BaseURL is not
// modelled by manifest.MPD, so none is applied.
func mpdReferences(mpd manifest.MPD) ([]string, error) {
	var uris []string
	for _, p := range mpd.Periods {
		for _, as := range p.AdaptationSets {
			for _, r := range as.Representations {
				st := r.SegmentTemplate
				if st == nil {
					if r.BaseURL != "" {
						uris = append(uris, r.BaseURL)
					}
					continue
				}
				base := r.BaseURL
				if st.Initialization != "" {
					u, err := expand(st.Initialization, r, 0, 0)
					if err != nil {
						return nil, err
					}
					uris = append(uris, base+u)
				}
				if st.SegmentTimeline == nil {
					return nil, fmt.Errorf("representation %s: a SegmentTemplate without a SegmentTimeline", r.ID)
				}
				starts, _, err := st.SegmentTimeline.Segments()
				if err != nil {
					return nil, err
				}
				for i, t := range starts {
					u, err := expand(st.Media, r, st.StartNumber+i, t)
					if err != nil {
						return nil, err
					}
					uris = append(uris, base+u)
				}
			}
		}
	}
	return uris, nil
}

// templateID matches a DASH template identifier, with an optional printf
// width such as %05d (ISO/IEC 23009-1, 5.3.9.4.4).
var templateID = regexp.MustCompile(`\$(RepresentationID|Number|Time|Bandwidth)(%0(\d+)d)?\$|\$\$`)

// expand substitutes the identifiers of a SegmentTemplate attribute.
func expand(tmpl string, r manifest.Representation, number int, time uint64) (string, error) {
	out := templateID.ReplaceAllStringFunc(tmpl, func(m string) string {
		if m == "$$" {
			return "$"
		}
		sub := templateID.FindStringSubmatch(m)
		var v string
		switch sub[1] {
		case "RepresentationID":
			return r.ID
		case "Number":
			v = strconv.Itoa(number)
		case "Time":
			v = strconv.FormatUint(time, 10)
		case "Bandwidth":
			v = strconv.Itoa(r.Bandwidth)
		}
		if sub[3] != "" {
			w, _ := strconv.Atoi(sub[3])
			if len(v) < w {
				v = strings.Repeat("0", w-len(v)) + v
			}
		}
		return v
	})
	if strings.Contains(templateID.ReplaceAllString(tmpl, ""), "$") {
		return "", fmt.Errorf("template %q: an identifier this check does not know", tmpl)
	}
	return out, nil
}

// resolve resolves the relative URI u against the file at name, both keys
// relative to the target's prefix. Absolute URLs, absolute paths, queries
// and URIs that leave the prefix are refused: they would name objects
// outside the ladder.
func resolve(name, u string) (string, error) {
	switch {
	case u == "":
		return "", fmt.Errorf("an empty URI")
	case strings.Contains(u, "://") || strings.HasPrefix(u, "/"):
		return "", fmt.Errorf("not a relative URI")
	case strings.ContainsAny(u, "?#"):
		return "", fmt.Errorf("a query or fragment")
	}
	joined := path.Join(path.Dir(name), u)
	if joined == ".." || strings.HasPrefix(joined, "../") {
		return "", fmt.Errorf("outside the output prefix")
	}
	return joined, nil
}

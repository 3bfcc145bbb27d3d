package imageclean

import (
	"bytes"
	"image/jpeg"
	"image/png"
	"os"
	"testing"
)

// FuzzClean: no upload panics Clean (its EXIF readers for JPEG and WebP
// are written by hand); whatever it accepts comes out as an image of the
// type it says, without the input's EXIF.
func FuzzClean(f *testing.F) {
	small := halves(8, 6)
	var p bytes.Buffer
	if err := png.Encode(&p, small); err != nil {
		f.Fatal(err)
	}
	f.Add(p.Bytes(), uint8(1))
	for o := uint16(1); o <= 8; o++ {
		f.Add(jpegWithExif(f, small, tiffExif(o)), uint8(0))
	}
	if w, err := os.ReadFile("testdata/gopher-doc.1bpp.lossless.webp"); err == nil {
		f.Add(w, uint8(2))
	}
	types := []string{JPEG, PNG, WebP}
	f.Fuzz(func(t *testing.T, data []byte, which uint8) {
		ct := types[int(which)%len(types)]
		out, outCT, err := Clean(data, ct, Options{MaxPixels: 1 << 16})
		if err != nil {
			return
		}
		switch outCT {
		case JPEG:
			if _, err := jpeg.Decode(bytes.NewReader(out)); err != nil {
				t.Fatalf("Clean(%s) answered a JPEG that does not decode: %v", ct, err)
			}
		case PNG:
			if _, err := png.Decode(bytes.NewReader(out)); err != nil {
				t.Fatalf("Clean(%s) answered a PNG that does not decode: %v", ct, err)
			}
		default:
			t.Fatalf("Clean(%s) answered content type %q", ct, outCT)
		}
		if bytes.Contains(out, []byte("Exif\x00\x00")) {
			t.Fatalf("Clean(%s) kept an EXIF block", ct)
		}
	})
}

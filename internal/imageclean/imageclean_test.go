package imageclean

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"os"
	"testing"

	"golang.org/x/image/webp"
)

var (
	red  = color.RGBA{220, 20, 20, 255}
	blue = color.RGBA{20, 20, 220, 255}
)

// halves is a w×h image, its left half red and its right half blue.
func halves(w, h int) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			c := red
			if x >= w/2 {
				c = blue
			}
			img.Set(x, y, c)
		}
	}
	return img
}

// tiffExif is little-endian TIFF bytes with IFD0 holding Make "Canon",
// Orientation o and a GPS IFD (latitude N 29° 1' 52", longitude E 119°
// 10' 15"), as a phone writes them.
func tiffExif(o uint16) []byte {
	le := binary.LittleEndian
	var b []byte
	u16 := func(v uint16) { b = le.AppendUint16(b, v) }
	u32 := func(v uint32) { b = le.AppendUint32(b, v) }
	b = append(b, 'I', 'I')
	u16(42)
	u32(8) // IFD0
	// IFD0: 3 entries (2 + 3×12 + 4 = 42 bytes), then "Canon\0" at 50,
	// then the GPS IFD at 56.
	u16(3)
	u16(0x010F)
	u16(2)
	u32(6)
	u32(50) // Make
	u16(0x0112)
	u16(3)
	u32(1)
	u16(o)
	u16(0) // Orientation
	u16(0x8825)
	u16(4)
	u32(1)
	u32(56) // GPS IFD
	u32(0)  // no next IFD
	b = append(b, "Canon\x00"...)
	// GPS IFD at 56: 4 entries (2 + 48 + 4 = 54 bytes), rationals at 110.
	u16(4)
	u16(1)
	u16(2)
	u32(2)
	b = append(b, 'N', 0, 0, 0)
	u16(2)
	u16(5)
	u32(3)
	u32(110)
	u16(3)
	u16(2)
	u32(2)
	b = append(b, 'E', 0, 0, 0)
	u16(4)
	u16(5)
	u32(3)
	u32(134)
	u32(0)
	for _, r := range []uint32{29, 1, 1, 1, 52, 1, 119, 1, 10, 1, 15, 1} {
		u32(r)
	}
	return b
}

// jpegWithExif is a JPEG of img with an APP1 EXIF segment of tiff right
// after its start, and bytes appended after its end.
func jpegWithExif(t testing.TB, img image.Image, tiff []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 95}); err != nil {
		t.Fatal(err)
	}
	plain := buf.Bytes()
	seg := append([]byte("Exif\x00\x00"), tiff...)
	app1 := []byte{0xFF, 0xE1, 0, 0}
	binary.BigEndian.PutUint16(app1[2:], uint16(len(seg)+2))
	out := append([]byte{}, plain[:2]...)
	out = append(out, app1...)
	out = append(out, seg...)
	out = append(out, plain[2:]...)
	return append(out, "PK\x03\x04trailing zip"...)
}

// noMetadata fails when out holds any of the uploaded metadata.
func noMetadata(t *testing.T, out []byte) {
	t.Helper()
	for _, s := range []string{"Exif", "Canon", "II*\x00", "PK\x03\x04", "tEXt", "Author", "eXIf", "XMP"} {
		if bytes.Contains(out, []byte(s)) {
			t.Errorf("the cleaned image still holds %q", s)
		}
	}
}

func near(c color.Color, want color.RGBA) bool {
	r, g, b, _ := c.RGBA()
	d := func(a uint32, b uint8) int { return max(int(a>>8)-int(b), int(b)-int(a>>8)) }
	return d(r, want.R) < 40 && d(g, want.G) < 40 && d(b, want.B) < 40
}

// TestJPEGExifGPSStripped: a phone JPEG with GPS, camera and orientation 6
// comes back upright (turned clockwise: the left half on top) and without
// any of it; a JPEG without EXIF is only re-encoded.
func TestJPEGExifGPSStripped(t *testing.T) {
	t.Parallel()
	in := jpegWithExif(t, halves(64, 32), tiffExif(6))
	if got := orientation(jpegExif(in)); got != 6 {
		t.Fatalf("the test image's orientation reads as %d", got)
	}
	out, ct, err := Clean(in, JPEG, Options{})
	if err != nil || ct != JPEG {
		t.Fatalf("Clean = %s, %v", ct, err)
	}
	noMetadata(t, out)
	img, err := jpeg.Decode(bytes.NewReader(out))
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b.Dx() != 32 || b.Dy() != 64 {
		t.Fatalf("cleaned image is %v, want 32×64 (turned)", b)
	}
	if !near(img.At(16, 8), red) || !near(img.At(16, 56), blue) {
		t.Fatalf("turned the wrong way: top %v, bottom %v", img.At(16, 8), img.At(16, 56))
	}

	out, _, err = Clean(jpegWithExif(t, halves(64, 32), tiffExif(1)), JPEG, Options{})
	if err != nil {
		t.Fatal(err)
	}
	noMetadata(t, out)
	if cfg, _ := jpeg.DecodeConfig(bytes.NewReader(out)); cfg.Width != 64 || cfg.Height != 32 {
		t.Fatalf("orientation 1 changed the size: %+v", cfg)
	}
}

// TestOrientations: each of the eight EXIF orientations, pixel by pixel.
func TestOrientations(t *testing.T) {
	t.Parallel()
	// A 3×2 image whose pixels are numbered 1..6 in reading order.
	src := image.NewRGBA(image.Rect(0, 0, 3, 2))
	for i := range 6 {
		src.Set(i%3, i/3, color.RGBA{uint8(i + 1), 0, 0, 255})
	}
	// What each orientation shows, in reading order.
	want := map[int][]uint8{
		1: {1, 2, 3, 4, 5, 6},
		2: {3, 2, 1, 6, 5, 4},
		3: {6, 5, 4, 3, 2, 1},
		4: {4, 5, 6, 1, 2, 3},
		5: {1, 4, 2, 5, 3, 6},
		6: {4, 1, 5, 2, 6, 3},
		7: {6, 3, 5, 2, 4, 1},
		8: {3, 6, 2, 5, 1, 4},
	}
	for o, w := range want {
		img := orient(src, o)
		b := img.Bounds()
		var got []uint8
		for y := b.Min.Y; y < b.Max.Y; y++ {
			for x := b.Min.X; x < b.Max.X; x++ {
				r, _, _, _ := img.At(x, y).RGBA()
				got = append(got, uint8(r>>8))
			}
		}
		if !bytes.Equal(got, w) {
			t.Errorf("orientation %d: %v (%v), want %v", o, got, b, w)
		}
	}
}

// pngChunk is one PNG chunk with its CRC.
func pngChunk(typ string, data []byte) []byte {
	b := binary.BigEndian.AppendUint32(nil, uint32(len(data)))
	b = append(b, typ...)
	b = append(b, data...)
	return binary.BigEndian.AppendUint32(b, crc32.ChecksumIEEE(append([]byte(typ), data...)))
}

// TestPNGTextStripped: text and eXIf chunks and trailing bytes are gone.
func TestPNGTextStripped(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	if err := png.Encode(&buf, halves(8, 8)); err != nil {
		t.Fatal(err)
	}
	plain := buf.Bytes()
	in := append([]byte{}, plain[:33]...) // signature and IHDR
	in = append(in, pngChunk("tEXt", []byte("Author\x00Zhang San +8613800000101"))...)
	in = append(in, pngChunk("eXIf", tiffExif(1))...)
	in = append(in, plain[33:]...)
	in = append(in, "PK\x03\x04trailing zip"...)
	if _, err := png.Decode(bytes.NewReader(in)); err != nil {
		t.Fatalf("the test PNG does not decode: %v", err)
	}
	out, ct, err := Clean(in, PNG, Options{})
	if err != nil || ct != PNG {
		t.Fatalf("Clean = %s, %v", ct, err)
	}
	noMetadata(t, out)
	if bytes.Contains(out, []byte("Zhang")) {
		t.Fatal("the text chunk survived")
	}
}

// TestWebPBecomesJPEG: an extended WebP with an EXIF chunk (orientation
// 8) comes back as an upright JPEG without it. The picture is x/image's
// own test file gopher-doc.1bpp.lossless.webp (BSD licence).
func TestWebPBecomesJPEG(t *testing.T) {
	t.Parallel()
	plain, err := os.ReadFile("testdata/gopher-doc.1bpp.lossless.webp")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := webpConfig(plain)
	if err != nil {
		t.Fatal(err)
	}
	// RIFF / WEBP / VP8X (EXIF flag, canvas size) / VP8L / EXIF.
	vp8x := make([]byte, 10)
	vp8x[0] = 0x08 // EXIF present
	put24 := func(b []byte, v int) { b[0], b[1], b[2] = byte(v), byte(v>>8), byte(v>>16) }
	put24(vp8x[4:], cfg.Width-1)
	put24(vp8x[7:], cfg.Height-1)
	chunk := func(id string, data []byte) []byte {
		b := append([]byte(id), binary.LittleEndian.AppendUint32(nil, uint32(len(data)))...)
		b = append(b, data...)
		if len(data)%2 == 1 {
			b = append(b, 0)
		}
		return b
	}
	body := append([]byte("WEBP"), chunk("VP8X", vp8x)...)
	body = append(body, plain[12:]...) // the VP8L chunk as it was
	body = append(body, chunk("EXIF", tiffExif(8))...)
	in := append([]byte("RIFF"), binary.LittleEndian.AppendUint32(nil, uint32(len(body)))...)
	in = append(in, body...)
	if got := orientation(webpExif(in)); got != 8 {
		t.Fatalf("the test image's orientation reads as %d", got)
	}
	out, ct, err := Clean(in, WebP, Options{})
	if err != nil || ct != JPEG {
		t.Fatalf("Clean = %s, %v", ct, err)
	}
	noMetadata(t, out)
	got, err := jpeg.DecodeConfig(bytes.NewReader(out))
	if err != nil || got.Width != cfg.Height || got.Height != cfg.Width {
		t.Fatalf("cleaned %+v, %v; want %d×%d (turned)", got, err, cfg.Height, cfg.Width)
	}
}

func webpConfig(b []byte) (image.Config, error) {
	return webp.DecodeConfig(bytes.NewReader(b))
}

// TestLimits: a header claiming 100,000 × 100,000 pixels is refused before
// any decoding; bytes that are not the image, or another type, are refused.
func TestLimits(t *testing.T) {
	t.Parallel()
	ihdr := binary.BigEndian.AppendUint32(nil, 100000)
	ihdr = binary.BigEndian.AppendUint32(ihdr, 100000)
	ihdr = append(ihdr, 8, 2, 0, 0, 0) // 8-bit RGB
	bomb := append([]byte("\x89PNG\r\n\x1a\n"), pngChunk("IHDR", ihdr)...)
	if _, _, err := Clean(bomb, PNG, Options{}); !errors.Is(err, ErrTooManyPixels) {
		t.Errorf("pixel bomb: %v", err)
	}
	small := jpegWithExif(t, halves(64, 32), tiffExif(1))
	if _, _, err := Clean(small, JPEG, Options{MaxPixels: 64*32 - 1}); !errors.Is(err, ErrTooManyPixels) {
		t.Errorf("over a small limit: %v", err)
	}
	if _, _, err := Clean(small[:len(small)/2], JPEG, Options{}); !errors.Is(err, ErrUndecodable) {
		t.Errorf("cut JPEG: %v", err)
	}
	if _, _, err := Clean([]byte("<html>"), PNG, Options{}); !errors.Is(err, ErrUndecodable) {
		t.Errorf("html as PNG: %v", err)
	}
	if _, _, err := Clean(small, "image/gif", Options{}); !errors.Is(err, ErrUnsupported) {
		t.Errorf("gif: %v", err)
	}
}

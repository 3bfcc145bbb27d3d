// Package imageclean makes an uploaded photo safe to keep and to serve:
// it decodes the image, turns it upright by its EXIF orientation, and
// encodes the pixels again, so nothing of the uploaded file survives but
// the picture: no EXIF (GPS position, camera, owner, time), no XMP, no ICC
// profile, no PNG text chunks, no thumbnail, nothing appended after the
// image's end (a file that is also a ZIP or an HTML page).
//
// Why decode and encode rather than cut the metadata segments out: cutting
// needs a parser per container that knows every place metadata hides (APP
// segments, MakerNotes, PNG text and eXIf chunks, RIFF chunks, trailing
// bytes) and keeps whatever it does not know; an encoder writes only what
// it knows, pixels. The price is a second JPEG compression (quality 90,
// close to what phones write) and the CPU of a decode, bounded by the pixel
// limit checked before decoding (DecodeConfig reads only the header).
//
// WebP comes back as JPEG: the Go team's golang.org/x/image/webp decodes
// but there is no WebP encoder in the standard library or x/image, and
// photos of hazards do not need WebP's transparency (a transparent pixel
// becomes white, as the member page's own canvas does).
package imageclean

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/jpeg"
	"image/png"

	"golang.org/x/image/webp"
)

// Content types Clean takes.
const (
	JPEG = "image/jpeg"
	PNG  = "image/png"
	WebP = "image/webp"
)

// Errors of Clean.
var (
	// ErrUnsupported: the type is not JPEG, PNG or WebP.
	ErrUnsupported = errors.New("not a JPEG, PNG or WebP image")
	// ErrUndecodable: the bytes are not a whole image of the type.
	ErrUndecodable = errors.New("the image cannot be read")
	// ErrTooManyPixels: width × height is over the limit (a decompression
	// bomb, or a panorama far larger than a report needs).
	ErrTooManyPixels = errors.New("the image has too many pixels")
)

// Options bound Clean.
type Options struct {
	// MaxPixels is the largest width × height decoded. Zero means
	// 40,000,000 (a 40-megapixel photo, about 160 MB decoded).
	MaxPixels int
	// Quality is the JPEG quality of the output. Zero means 90.
	Quality int
}

// Clean returns the image of data (of content type ct) upright and with
// no metadata, and the content type of the result (WebP becomes JPEG).
func Clean(data []byte, ct string, opt Options) (out []byte, outCT string, err error) {
	if opt.MaxPixels <= 0 {
		opt.MaxPixels = 40_000_000
	}
	if opt.Quality <= 0 {
		opt.Quality = 90
	}
	var decodeConfig func([]byte) (image.Config, error)
	var decode func([]byte) (image.Image, error)
	var exif []byte
	switch ct {
	case JPEG:
		decodeConfig = func(b []byte) (image.Config, error) { return jpeg.DecodeConfig(bytes.NewReader(b)) }
		decode = func(b []byte) (image.Image, error) { return jpeg.Decode(bytes.NewReader(b)) }
		exif = jpegExif(data)
	case PNG:
		// PNG's eXIf orientation is not applied: browsers disagree on it,
		// so the uploader may well have seen the picture as stored.
		decodeConfig = func(b []byte) (image.Config, error) { return png.DecodeConfig(bytes.NewReader(b)) }
		decode = func(b []byte) (image.Image, error) { return png.Decode(bytes.NewReader(b)) }
	case WebP:
		decodeConfig = func(b []byte) (image.Config, error) { return webp.DecodeConfig(bytes.NewReader(b)) }
		decode = func(b []byte) (image.Image, error) { return webp.Decode(bytes.NewReader(b)) }
		exif = webpExif(data)
	default:
		return nil, "", ErrUnsupported
	}
	cfg, err := decodeConfig(data)
	if err != nil {
		return nil, "", fmt.Errorf("%w: %w", ErrUndecodable, err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return nil, "", fmt.Errorf("%w: %d×%d pixels", ErrUndecodable, cfg.Width, cfg.Height)
	}
	if int64(cfg.Width)*int64(cfg.Height) > int64(opt.MaxPixels) {
		return nil, "", fmt.Errorf("%w: %d×%d, at most %d", ErrTooManyPixels, cfg.Width, cfg.Height, opt.MaxPixels)
	}
	img, err := decode(data)
	if err != nil {
		return nil, "", fmt.Errorf("%w: %w", ErrUndecodable, err)
	}
	img = orient(img, orientation(exif))
	var buf bytes.Buffer
	buf.Grow(len(data))
	if ct == PNG {
		if err := png.Encode(&buf, img); err != nil {
			return nil, "", err
		}
		return buf.Bytes(), PNG, nil
	}
	if o, ok := img.(interface{ Opaque() bool }); ok && !o.Opaque() {
		img = onWhite(img)
	}
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: opt.Quality}); err != nil {
		return nil, "", err
	}
	return buf.Bytes(), JPEG, nil
}

// onWhite draws img over white (JPEG has no transparency).
func onWhite(img image.Image) image.Image {
	b := img.Bounds()
	dst := image.NewRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	draw.Draw(dst, dst.Bounds(), image.NewUniform(color.White), image.Point{}, draw.Src)
	draw.Draw(dst, dst.Bounds(), img, b.Min, draw.Over)
	return dst
}

// orient returns img turned as EXIF orientation o (1 to 8) says to show
// it; 1 and unknown values return img itself.
func orient(img image.Image, o int) image.Image {
	if o < 2 || o > 8 {
		return img
	}
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	src := image.NewRGBA(image.Rect(0, 0, w, h))
	draw.Draw(src, src.Bounds(), img, b.Min, draw.Src)
	dw, dh := w, h
	if o >= 5 { // the four orientations that swap the sides
		dw, dh = h, w
	}
	dst := image.NewRGBA(image.Rect(0, 0, dw, dh))
	for y := range dh {
		for x := range dw {
			var sx, sy int
			switch o {
			case 2: // mirrored
				sx, sy = w-1-x, y
			case 3: // upside down
				sx, sy = w-1-x, h-1-y
			case 4: // mirrored upside down
				sx, sy = x, h-1-y
			case 5: // transposed
				sx, sy = y, x
			case 6: // to be turned 90° clockwise
				sx, sy = y, h-1-x
			case 7: // transversed
				sx, sy = w-1-y, h-1-x
			case 8: // to be turned 90° counter-clockwise
				sx, sy = w-1-y, x
			}
			si, di := src.PixOffset(sx, sy), dst.PixOffset(x, y)
			copy(dst.Pix[di:di+4], src.Pix[si:si+4])
		}
	}
	return dst
}

// jpegExif returns the TIFF bytes of a JPEG's EXIF APP1 segment, or nil.
func jpegExif(b []byte) []byte {
	if len(b) < 4 || b[0] != 0xFF || b[1] != 0xD8 {
		return nil
	}
	for i := 2; i+4 <= len(b); {
		if b[i] != 0xFF {
			return nil
		}
		marker := b[i+1]
		if marker == 0xFF { // fill byte
			i++
			continue
		}
		if marker == 0xDA || marker == 0xD9 { // start of scan, end of image
			return nil
		}
		n := int(binary.BigEndian.Uint16(b[i+2:]))
		if n < 2 || i+2+n > len(b) {
			return nil
		}
		seg := b[i+4 : i+2+n]
		if marker == 0xE1 && bytes.HasPrefix(seg, []byte("Exif\x00\x00")) {
			return seg[6:]
		}
		i += 2 + n
	}
	return nil
}

// webpExif returns the TIFF bytes of a WebP's EXIF chunk, or nil.
func webpExif(b []byte) []byte {
	if len(b) < 12 || string(b[:4]) != "RIFF" || string(b[8:12]) != "WEBP" {
		return nil
	}
	for i := 12; i+8 <= len(b); {
		id := string(b[i : i+4])
		n := int(binary.LittleEndian.Uint32(b[i+4:]))
		if n < 0 || i+8+n > len(b) {
			return nil
		}
		if id == "EXIF" {
			// Some writers keep JPEG's "Exif\0\0" before the TIFF header.
			return bytes.TrimPrefix(b[i+8:i+8+n], []byte("Exif\x00\x00"))
		}
		i += 8 + n + n%2
	}
	return nil
}

// orientation reads the Orientation tag (0x0112) of IFD0 of TIFF bytes;
// 1 when there is none or the bytes are not TIFF.
func orientation(t []byte) int {
	if len(t) < 8 {
		return 1
	}
	var bo binary.ByteOrder
	switch string(t[:2]) {
	case "II":
		bo = binary.LittleEndian
	case "MM":
		bo = binary.BigEndian
	default:
		return 1
	}
	if bo.Uint16(t[2:]) != 42 {
		return 1
	}
	off := int(bo.Uint32(t[4:]))
	if off < 8 || off+2 > len(t) {
		return 1
	}
	n := int(bo.Uint16(t[off:]))
	for i := range n {
		e := off + 2 + 12*i
		if e+12 > len(t) {
			return 1
		}
		if bo.Uint16(t[e:]) == 0x0112 && bo.Uint16(t[e+2:]) == 3 { // SHORT
			if v := int(bo.Uint16(t[e+8:])); v >= 1 && v <= 8 {
				return v
			}
			return 1
		}
	}
	return 1
}

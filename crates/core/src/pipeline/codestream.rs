//! The frame header of an encapsulated codestream — JPEG (SOFn), JPEG-LS (SOF55) or
//! JPEG 2000 (SIZ, bare or inside a JP2 box) — read from the first bytes of a DICOM
//! pixel fragment without decoding a pixel.
//!
//! Why: dicom-rs's JPEG and JPEG 2000 adapters write what the codestream decodes to
//! into a buffer sized from the data set's Rows × Columns, and index past it when the
//! codestream is larger (a file whose header was edited, or damaged). Natively that is a
//! panic `decode` catches; in wasm a panic aborts the whole worker. So `decode` compares
//! this header with the data set first and refuses a mismatch by name, with both sizes.
//! It also tells the sample precision of a lossy JPEG, which dicom-rs's JPEG decoder
//! reads only at 8 bits.
//!
//! Hand-written rather than through a codec crate: the headers are a few fixed fields
//! behind markers, and the decoders that would read them (jpeg-decoder, openjp2) decode
//! far more than the header before telling it.

/// The codec of a codestream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Codec {
    /// DCT JPEG (baseline, extended, progressive, arithmetic): lossy.
    JpegLossy,
    /// Lossless (process 14) or hierarchical JPEG.
    JpegOther,
    JpegLs,
    Jpeg2000,
}

impl Codec {
    /// The codec's name, as a user knows it.
    pub fn name(self) -> &'static str {
        match self {
            Codec::JpegLossy | Codec::JpegOther => "JPEG",
            Codec::JpegLs => "JPEG-LS",
            Codec::Jpeg2000 => "JPEG 2000",
        }
    }
}

/// What a codestream's frame header says about the image it holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameHeader {
    pub codec: Codec,
    pub width: u32,
    /// 0 in a JPEG whose height comes later, in a DNL segment.
    pub height: u32,
    /// Components (samples per pixel).
    pub components: u16,
    /// Bits per sample (of the first component, for JPEG 2000).
    pub precision: u8,
}

/// The frame header of the codestream `bytes` starts with, or `None` when it starts
/// with none of them or is cut off before its header (then the decoder says why).
pub fn frame_header(bytes: &[u8]) -> Option<FrameHeader> {
    if bytes.starts_with(&[0xFF, 0xD8]) {
        jpeg(bytes)
    } else if bytes.starts_with(&[0xFF, 0x4F, 0xFF, 0x51]) {
        jpeg2000_siz(&bytes[2..])
    } else if bytes.get(4..8) == Some(b"jP  ") {
        // Only a bare codestream inside: a box in a box is no JP2 file.
        jp2_codestream(bytes)
            .filter(|c| c.starts_with(&[0xFF, 0x4F, 0xFF, 0x51]))
            .and_then(|c| jpeg2000_siz(&c[2..]))
    } else {
        None
    }
}

fn be16(bytes: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes(bytes.get(at..at + 2)?.try_into().ok()?))
}

fn be32(bytes: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(bytes.get(at..at + 4)?.try_into().ok()?))
}

/// The marker segments after SOI up to the first start-of-frame (JPEG, JPEG-LS).
fn jpeg(bytes: &[u8]) -> Option<FrameHeader> {
    let mut at = 2;
    loop {
        if *bytes.get(at)? != 0xFF {
            return None;
        }
        let marker = *bytes.get(at + 1)?;
        if marker == 0xFF {
            at += 1; // a fill byte
            continue;
        }
        let codec = match marker {
            0xC0 | 0xC1 | 0xC2 | 0xC9 | 0xCA => Some(Codec::JpegLossy),
            0xC3 | 0xC5..=0xC7 | 0xCB | 0xCD..=0xCF => Some(Codec::JpegOther),
            0xF7 => Some(Codec::JpegLs),
            // The scan started with no frame header: nothing to tell.
            0xDA => return None,
            _ => None,
        };
        if let Some(codec) = codec {
            // SOFn: length, P, Y, X, Nf.
            return Some(FrameHeader {
                codec,
                precision: *bytes.get(at + 4)?,
                height: be16(bytes, at + 5)?.into(),
                width: be16(bytes, at + 7)?.into(),
                components: (*bytes.get(at + 9)?).into(),
            });
        }
        at += 2 + usize::from(be16(bytes, at + 2)?);
    }
}

/// The SIZ segment that follows SOC: the reference grid's size less its offset.
fn jpeg2000_siz(siz: &[u8]) -> Option<FrameHeader> {
    // FF51, Lsiz, Rsiz, Xsiz, Ysiz, XOsiz, YOsiz, XTsiz, YTsiz, XTOsiz, YTOsiz, Csiz, Ssiz…
    let (x, y) = (be32(siz, 6)?, be32(siz, 10)?);
    let (x0, y0) = (be32(siz, 14)?, be32(siz, 18)?);
    Some(FrameHeader {
        codec: Codec::Jpeg2000,
        width: x.checked_sub(x0)?,
        height: y.checked_sub(y0)?,
        components: be16(siz, 38)?,
        precision: (siz.get(40)? & 0x7F) + 1,
    })
}

/// The contiguous codestream box (`jp2c`) of a JP2 file.
fn jp2_codestream(bytes: &[u8]) -> Option<&[u8]> {
    let mut at = 0usize;
    while at + 8 <= bytes.len() {
        let length = be32(bytes, at)? as usize;
        let (header, end) = match length {
            // The box runs to the end of the data.
            0 => (8, bytes.len()),
            // A 64-bit length follows the type.
            1 => {
                let long = u64::from(be32(bytes, at + 8)?) << 32 | u64::from(be32(bytes, at + 12)?);
                (16, at.checked_add(usize::try_from(long).ok()?)?)
            }
            n => (8, at.checked_add(n)?),
        };
        if end <= at {
            return None;
        }
        if bytes.get(at + 4..at + 8)? == b"jp2c" {
            return bytes.get(at + header..end.min(bytes.len()));
        }
        at = end;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A minimal JPEG: SOI, an APP0 to skip, then a SOFn of the given marker.
    fn jpeg_header(marker: u8, precision: u8, height: u16, width: u16, nf: u8) -> Vec<u8> {
        let mut out = vec![0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x04, 0xAA, 0xBB, 0xFF, marker];
        out.extend_from_slice(&(8 + 3 * u16::from(nf)).to_be_bytes());
        out.push(precision);
        out.extend_from_slice(&height.to_be_bytes());
        out.extend_from_slice(&width.to_be_bytes());
        out.push(nf);
        out
    }

    fn siz(x: u32, y: u32, x0: u32, y0: u32, components: u16, ssiz: u8) -> Vec<u8> {
        let mut out = vec![0xFF, 0x4F, 0xFF, 0x51, 0x00, 41, 0x00, 0x00];
        for v in [x, y, x0, y0, x, y, 0, 0] {
            out.extend_from_slice(&v.to_be_bytes());
        }
        out.extend_from_slice(&components.to_be_bytes());
        out.extend_from_slice(&[ssiz, 1, 1]);
        out
    }

    #[test]
    fn jpeg_frame_headers_are_read_past_other_segments() {
        let h = frame_header(&jpeg_header(0xC0, 8, 480, 640, 3)).unwrap();
        assert_eq!(
            h,
            FrameHeader {
                codec: Codec::JpegLossy,
                width: 640,
                height: 480,
                components: 3,
                precision: 8
            }
        );
        assert_eq!(
            frame_header(&jpeg_header(0xC3, 16, 10, 20, 1))
                .unwrap()
                .codec,
            Codec::JpegOther
        );
        let ls = frame_header(&jpeg_header(0xF7, 12, 512, 256, 1)).unwrap();
        assert_eq!(
            (ls.codec, ls.width, ls.height, ls.precision),
            (Codec::JpegLs, 256, 512, 12)
        );
    }

    #[test]
    fn jpeg_2000_sizes_are_the_grid_less_its_offset_bare_or_in_a_jp2_box() {
        let bare = siz(300, 200, 44, 0, 1, 15);
        let h = frame_header(&bare).unwrap();
        assert_eq!(
            (h.codec, h.width, h.height, h.components, h.precision),
            (Codec::Jpeg2000, 256, 200, 1, 16)
        );
        let mut jp2 = vec![0, 0, 0, 12, b'j', b'P', b' ', b' ', 0x0D, 0x0A, 0x87, 0x0A];
        jp2.extend_from_slice(&(8 + bare.len() as u32).to_be_bytes());
        jp2.extend_from_slice(b"jp2c");
        jp2.extend_from_slice(&bare);
        assert_eq!(frame_header(&jp2), Some(h));
    }

    #[test]
    fn anything_else_or_a_cut_header_tells_nothing_and_never_panics() {
        assert_eq!(frame_header(b""), None);
        assert_eq!(frame_header(&[0xFF, 0xD8, 0xFF, 0xDA, 0, 2]), None);
        let whole = jpeg_header(0xC0, 8, 480, 640, 3);
        for cut in 0..whole.len() {
            assert_eq!(frame_header(&whole[..cut]), None, "cut at {cut}");
        }
        let whole = siz(300, 200, 0, 0, 3, 7);
        // (The first component's sub-sampling, its last two bytes, is not read.)
        for cut in 0..whole.len() - 2 {
            assert_eq!(frame_header(&whole[..cut]), None, "cut at {cut}");
        }
        // An offset beyond the grid is no image.
        assert_eq!(frame_header(&siz(10, 10, 20, 0, 1, 7)), None);
        // A JP2 whose boxes lead nowhere.
        let mut jp2 = vec![0, 0, 0, 12, b'j', b'P', b' ', b' ', 0x0D, 0x0A, 0x87, 0x0A];
        jp2.extend_from_slice(&[0xFF; 8]);
        assert_eq!(frame_header(&jp2), None);
    }
}

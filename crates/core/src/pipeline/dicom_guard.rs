//! A length check of a DICOM file's elements before dicom-rs reads it.
//!
//! dicom-rs allocates each element's declared length before reading its value, so one
//! flipped byte in a 39 kB file can declare a 2 GB value: natively that costs seconds of
//! zero-filling, in a browser tab it is an out-of-memory crash. This walk reads only tags
//! and lengths (file meta group, then the data set in its transfer syntax, into
//! sequences and items, over encapsulated pixel fragments) and refuses any length that
//! runs past the end of its file or container, so what dicom-rs then allocates is bounded
//! by the file's size. A deflated data set is first inflated here under a bound (the
//! pixel budget and room for headers: a 1 MB file that inflates to 1 GiB is refused after
//! 144 MiB), then walked like any other — dicom-rs inflates it again to read it, which
//! costs a second inflation but keeps its reader unchanged; the walk's depth limit is
//! what keeps 300 000 nested sequences from overflowing dicom-rs's stack.
//!
//! RLE frames get one more check, because fuzzing found that dicom-rs's RLE decoder
//! indexes past its buffer (a panic, which in wasm aborts the whole module) when a
//! segment decodes to fewer bytes than the image has pixels: each frame's segment table
//! must be consistent and each segment must unpack to at least rows × columns bytes.
//!
//! What is wrong comes back as a [`GuardError`], one variant per kind of damage, with
//! the tag and the byte offset where they help; `decode` wraps it into its
//! `DecodeError` ("the DICOM file is damaged or truncated: …"). Offsets count from the
//! `DICM` magic, i.e. 128 bytes less than in a file with a preamble.

use std::cell::Cell;

use dicom_core::Tag;

const UNDEFINED: u32 = 0xFFFF_FFFF;
const MAX_DEPTH: u32 = 32;
const ITEM: Tag = Tag(0xFFFE, 0xE000);
const ITEM_END: Tag = Tag(0xFFFE, 0xE00D);
const SEQUENCE_END: Tag = Tag(0xFFFE, 0xE0DD);
const PIXEL_DATA: Tag = Tag(0x7FE0, 0x0010);
const TRANSFER_SYNTAX: Tag = Tag(0x0002, 0x0010);
const RLE_LOSSLESS: &str = "1.2.840.10008.1.2.5";
const DEFLATED: &str = "1.2.840.10008.1.2.1.99";
/// The most a deflated data set may inflate to: the largest frame the pixel budget
/// allows at two bytes a sample, plus 16 MiB for everything else.
pub const MAX_INFLATED: usize = 2 * super::decode::MAX_SAMPLES as usize + (16 << 20);

/// Why a DICOM file's structure is refused before dicom-rs reads it. The messages are
/// the part after "the DICOM file is damaged or truncated: ".
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum GuardError {
    /// An explicit-VR element with a 4-byte length whose 12-byte header runs past the
    /// end of the file.
    #[error("the header of element {tag} is cut off at byte {offset}")]
    TruncatedHeader { tag: Tag, offset: usize },
    /// Fewer than the 8 bytes of an element header remain in the file or container.
    #[error("an element header is cut off at byte {offset}")]
    TruncatedElement { offset: usize },
    /// Fewer than the 8 bytes of an item header remain in the sequence.
    #[error("an item header is cut off at byte {offset}")]
    TruncatedItem { offset: usize },
    /// A value longer than what is left of its file or container: what would make
    /// dicom-rs allocate gigabytes.
    #[error("element {tag} declares {declared} bytes but only {remaining} remain")]
    LengthPastEnd {
        tag: Tag,
        /// Where the element's header starts.
        offset: usize,
        declared: u32,
        remaining: usize,
    },
    /// Sequences within items within sequences, deeper than any real file nests them.
    #[error("sequences are nested more than {limit} deep")]
    NestedTooDeep { limit: u32 },
    /// Something other than an item (or the delimiter) inside a sequence.
    #[error("expected a sequence item at byte {offset}, found {found}")]
    NotAnItem { offset: usize, found: Tag },
    /// A sequence of undefined length that reaches its container's end undelimited.
    #[error("a sequence of undefined length has no end delimiter")]
    UnterminatedSequence,
    /// Something other than a fragment (or the delimiter) in encapsulated pixel data.
    #[error("expected a pixel data fragment at byte {offset}, found {found}")]
    NotAFragment { offset: usize, found: Tag },
    /// Encapsulated pixel data that reaches the end of the file undelimited.
    #[error("the encapsulated pixel data has no end delimiter")]
    UnterminatedPixelData,
    /// An RLE frame too short for its 64-byte segment table.
    #[error("RLE frame {frame} is {len} bytes, shorter than its 64-byte header")]
    RleFrameTooShort { frame: usize, len: usize },
    /// An RLE segment table that counts a number of segments other than samples per
    /// pixel × bytes per sample.
    #[error("RLE frame {frame} has {segments} segments, the image needs {expected}")]
    RleSegmentCount {
        frame: usize,
        segments: usize,
        expected: usize,
    },
    /// An RLE segment table offset inside the header, or before the previous segment's.
    #[error("RLE frame {frame}: segment {segment} has an impossible offset {offset}")]
    RleSegmentOffset {
        frame: usize,
        segment: usize,
        offset: usize,
    },
    /// An RLE segment that unpacks to fewer bytes than the image has pixels (what made
    /// dicom-rs's decoder index past its buffer).
    #[error("RLE frame {frame}: segment {segment} unpacks to {unpacked} bytes, the image has {pixels} pixels")]
    RleSegmentShort {
        frame: usize,
        segment: usize,
        unpacked: usize,
        pixels: usize,
    },
    /// A deflated data set that inflates past [`MAX_INFLATED`].
    #[error("the deflated data set inflates to more than {limit} bytes")]
    InflatesTooLarge { limit: usize },
    /// A deflated data set that is not valid deflate data.
    #[error("the deflated data set cannot be inflated: {reason}")]
    Deflate { reason: String },
}

/// Image attributes read on the way, for the RLE check.
#[derive(Default)]
struct Geometry {
    rows: Cell<u16>,
    columns: Cell<u16>,
    samples_per_pixel: Cell<u16>,
    bits_allocated: Cell<u16>,
}

/// Checks the file that starts at its `DICM` magic (preamble already skipped).
pub fn check_lengths(file: &[u8]) -> Result<(), GuardError> {
    let meta = Walker {
        bytes: file,
        explicit: true,
        ..Walker::default()
    };
    let mut pos = 4;
    let mut transfer_syntax = String::new();
    while pos + 8 <= file.len() && meta.u16(pos) == 0x0002 {
        let (tag, header, len) = meta.header(pos)?;
        let value = meta.value_range(tag, pos, pos + header, len, file.len())?;
        if tag == TRANSFER_SYNTAX {
            transfer_syntax = String::from_utf8_lossy(&file[value.clone()])
                .trim_end_matches(['\0', ' '])
                .to_string();
        }
        pos = value.end;
    }
    if transfer_syntax == DEFLATED {
        // Offsets in errors then count within the inflated data set.
        let inflated = inflate(&file[pos..], MAX_INFLATED)?;
        let data = Walker {
            bytes: &inflated,
            explicit: true,
            ..Walker::default()
        };
        return data.elements(0, inflated.len(), false, 0).map(|_| ());
    }
    let (explicit, big_endian) = match transfer_syntax.as_str() {
        "1.2.840.10008.1.2" => (false, false),
        "1.2.840.10008.1.2.2" => (true, true),
        _ => (true, false),
    };
    let rle = transfer_syntax == RLE_LOSSLESS;
    let data = Walker {
        bytes: file,
        explicit,
        big_endian,
        rle,
        ..Walker::default()
    };
    data.elements(pos, file.len(), false, 0).map(|_| ())
}

/// Raw deflate (RFC 1951, as the transfer syntax specifies), stopped one byte past
/// `limit`.
fn inflate(deflated: &[u8], limit: usize) -> Result<Vec<u8>, GuardError> {
    use std::io::Read;
    let mut out = Vec::new();
    flate2::read::DeflateDecoder::new(deflated)
        .take(limit as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|e| GuardError::Deflate {
            reason: e.to_string(),
        })?;
    if out.len() > limit {
        return Err(GuardError::InflatesTooLarge { limit });
    }
    Ok(out)
}

#[derive(Default)]
struct Walker<'a> {
    bytes: &'a [u8],
    explicit: bool,
    big_endian: bool,
    rle: bool,
    geometry: Geometry,
}

impl Walker<'_> {
    fn u16(&self, at: usize) -> u16 {
        let b = [self.bytes[at], self.bytes[at + 1]];
        if self.big_endian {
            u16::from_be_bytes(b)
        } else {
            u16::from_le_bytes(b)
        }
    }

    fn u32(&self, at: usize) -> u32 {
        let b = [
            self.bytes[at],
            self.bytes[at + 1],
            self.bytes[at + 2],
            self.bytes[at + 3],
        ];
        if self.big_endian {
            u32::from_be_bytes(b)
        } else {
            u32::from_le_bytes(b)
        }
    }

    fn tag(&self, at: usize) -> Tag {
        Tag(self.u16(at), self.u16(at + 2))
    }

    /// Tag, header size and declared length of the element at `at` (8 bytes available).
    fn header(&self, at: usize) -> Result<(Tag, usize, u32), GuardError> {
        let tag = self.tag(at);
        if tag.0 == 0xFFFE || !self.explicit {
            return Ok((tag, 8, self.u32(at + 4)));
        }
        // As dicom-rs reads it: the short-form VRs have a 2-byte length; every other VR,
        // an unknown one included (read as UN), a 4-byte length after 2 reserved bytes.
        let vr = &self.bytes[at + 4..at + 6];
        let short = matches!(
            vr,
            b"AE"
                | b"AS"
                | b"AT"
                | b"CS"
                | b"DA"
                | b"DS"
                | b"DT"
                | b"FL"
                | b"FD"
                | b"IS"
                | b"LO"
                | b"LT"
                | b"PN"
                | b"SH"
                | b"SL"
                | b"SS"
                | b"ST"
                | b"TM"
                | b"UI"
                | b"UL"
                | b"US"
        );
        if !short {
            if at + 12 > self.bytes.len() {
                return Err(GuardError::TruncatedHeader { tag, offset: at });
            }
            Ok((tag, 12, self.u32(at + 8)))
        } else {
            Ok((tag, 8, u32::from(self.u16(at + 6))))
        }
    }

    /// The value of the element whose header is at `at` and whose value starts at
    /// `start`, if its declared `len` fits before `end`.
    fn value_range(
        &self,
        tag: Tag,
        at: usize,
        start: usize,
        len: u32,
        end: usize,
    ) -> Result<std::ops::Range<usize>, GuardError> {
        let remaining = end.saturating_sub(start);
        if len as usize > remaining {
            return Err(GuardError::LengthPastEnd {
                tag,
                offset: at,
                declared: len,
                remaining,
            });
        }
        Ok(start..start + len as usize)
    }

    fn is_sequence(&self, at: usize, value: &std::ops::Range<usize>) -> bool {
        if self.explicit {
            &self.bytes[at + 4..at + 6] == b"SQ"
        } else {
            value.len() >= 8 && self.tag(value.start) == ITEM
        }
    }

    /// Elements from `pos` to `end` (or to an item delimiter); returns where they stop.
    fn elements(
        &self,
        mut pos: usize,
        end: usize,
        in_undefined_item: bool,
        depth: u32,
    ) -> Result<usize, GuardError> {
        if depth > MAX_DEPTH {
            return Err(GuardError::NestedTooDeep { limit: MAX_DEPTH });
        }
        while pos < end {
            if pos + 8 > end {
                return Err(GuardError::TruncatedElement { offset: pos });
            }
            let (tag, header, len) = self.header(pos)?;
            if in_undefined_item && tag == ITEM_END {
                return Ok(pos + 8);
            }
            let start = pos + header;
            if len == UNDEFINED {
                let explicit_bytes =
                    self.explicit && matches!(&self.bytes[pos + 4..pos + 6], b"OB" | b"OW");
                pos = if tag == PIXEL_DATA || explicit_bytes {
                    self.fragments(start, end)?
                } else {
                    self.items(start, end, true, depth)?
                };
                continue;
            }
            let value = self.value_range(tag, pos, start, len, end)?;
            if depth == 0 && value.len() == 2 {
                let field = match (tag.0, tag.1) {
                    (0x0028, 0x0002) => Some(&self.geometry.samples_per_pixel),
                    (0x0028, 0x0010) => Some(&self.geometry.rows),
                    (0x0028, 0x0011) => Some(&self.geometry.columns),
                    (0x0028, 0x0100) => Some(&self.geometry.bits_allocated),
                    _ => None,
                };
                if let Some(field) = field {
                    field.set(self.u16(value.start));
                }
            }
            if self.is_sequence(pos, &value) {
                self.items(value.start, value.end, false, depth)?;
            }
            pos = value.end;
        }
        Ok(end)
    }

    /// The items of a sequence; with `undefined`, up to its delimiter.
    fn items(
        &self,
        mut pos: usize,
        end: usize,
        undefined: bool,
        depth: u32,
    ) -> Result<usize, GuardError> {
        while pos < end {
            if pos + 8 > end {
                return Err(GuardError::TruncatedItem { offset: pos });
            }
            let (tag, len) = (self.tag(pos), self.u32(pos + 4));
            match tag {
                SEQUENCE_END if undefined => return Ok(pos + 8),
                ITEM if len == UNDEFINED => pos = self.elements(pos + 8, end, true, depth + 1)?,
                ITEM => {
                    let value = self.value_range(tag, pos, pos + 8, len, end)?;
                    self.elements(value.start, value.end, false, depth + 1)?;
                    pos = value.end;
                }
                found => return Err(GuardError::NotAnItem { offset: pos, found }),
            }
        }
        if undefined {
            return Err(GuardError::UnterminatedSequence);
        }
        Ok(end)
    }

    /// Encapsulated pixel data: fragments up to the sequence delimiter.
    fn fragments(&self, mut pos: usize, end: usize) -> Result<usize, GuardError> {
        let mut index = 0;
        while pos + 8 <= end {
            let (tag, len) = (self.tag(pos), self.u32(pos + 4));
            match tag {
                SEQUENCE_END => return Ok(pos + 8),
                ITEM => {
                    let value = self.value_range(tag, pos, pos + 8, len, end)?;
                    // The first item is the basic offset table; each later one a frame.
                    if self.rle && index > 0 {
                        self.check_rle_frame(index, &self.bytes[value.clone()])?;
                    }
                    index += 1;
                    pos = value.end;
                }
                found => return Err(GuardError::NotAFragment { offset: pos, found }),
            }
        }
        Err(GuardError::UnterminatedPixelData)
    }
}

impl Walker<'_> {
    fn check_rle_frame(&self, frame: usize, fragment: &[u8]) -> Result<(), GuardError> {
        let g = &self.geometry;
        let pixels = usize::from(g.rows.get()) * usize::from(g.columns.get());
        let expected = usize::from(g.samples_per_pixel.get().max(1))
            * usize::from(g.bits_allocated.get().div_ceil(8).max(1));
        if fragment.len() < 64 {
            return Err(GuardError::RleFrameTooShort {
                frame,
                len: fragment.len(),
            });
        }
        let word = |i: usize| {
            u32::from_le_bytes([
                fragment[i],
                fragment[i + 1],
                fragment[i + 2],
                fragment[i + 3],
            ]) as usize
        };
        let segments = word(0);
        if segments != expected {
            return Err(GuardError::RleSegmentCount {
                frame,
                segments,
                expected,
            });
        }
        let mut offsets: Vec<usize> = (0..segments).map(|i| word(4 + 4 * i)).collect();
        offsets.push(fragment.len());
        for (segment, pair) in offsets.windows(2).enumerate() {
            if pair[0] < 64 || pair[0] > pair[1] {
                return Err(GuardError::RleSegmentOffset {
                    frame,
                    segment,
                    offset: pair[0],
                });
            }
            let unpacked = packbits_len(&fragment[pair[0]..pair[1]], pixels);
            if unpacked < pixels {
                return Err(GuardError::RleSegmentShort {
                    frame,
                    segment,
                    unpacked,
                    pixels,
                });
            }
        }
        Ok(())
    }
}

/// How many bytes a PackBits segment unpacks to, counting up to `want`.
fn packbits_len(segment: &[u8], want: usize) -> usize {
    let (mut i, mut out) = (0, 0);
    while i < segment.len() && out < want {
        let n = segment[i] as i8;
        i += 1;
        match n {
            0.. => {
                let literal = (n as usize + 1).min(segment.len() - i);
                out += literal;
                i += literal;
            }
            -128 => {}
            _ if i < segment.len() => {
                out += (1 - isize::from(n)) as usize;
                i += 1;
            }
            _ => break,
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A minimal file: meta group with the transfer syntax, then `data`.
    fn file(ts: &str, data: &[u8]) -> Vec<u8> {
        let mut uid = ts.as_bytes().to_vec();
        if uid.len() % 2 == 1 {
            uid.push(0);
        }
        let mut out = b"DICM".to_vec();
        out.extend_from_slice(&[0x02, 0x00, 0x10, 0x00, b'U', b'I']);
        out.extend_from_slice(&(uid.len() as u16).to_le_bytes());
        out.extend_from_slice(&uid);
        out.extend_from_slice(data);
        out
    }

    fn explicit(group: u16, element: u16, vr: &[u8; 2], value: &[u8]) -> Vec<u8> {
        let mut out = [group.to_le_bytes(), element.to_le_bytes()].concat();
        out.extend_from_slice(vr);
        out.extend_from_slice(&(value.len() as u16).to_le_bytes());
        out.extend_from_slice(value);
        out
    }

    #[test]
    fn accepts_well_formed_elements_and_sequences() {
        let mut data = explicit(0x0008, 0x0060, b"CS", b"CT");
        // A sequence of undefined length holding one item of undefined length.
        data.extend_from_slice(&[
            0x08, 0x00, 0x15, 0x11, b'S', b'Q', 0, 0, 0xFF, 0xFF, 0xFF, 0xFF,
        ]);
        data.extend_from_slice(&[0xFE, 0xFF, 0x00, 0xE0, 0xFF, 0xFF, 0xFF, 0xFF]);
        data.extend(explicit(0x0008, 0x1150, b"UI", b"1.2"));
        data.extend_from_slice(&[
            0xFE, 0xFF, 0x0D, 0xE0, 0, 0, 0, 0, 0xFE, 0xFF, 0xDD, 0xE0, 0, 0, 0, 0,
        ]);
        assert_eq!(check_lengths(&file("1.2.840.10008.1.2.1", &data)), Ok(()));
    }

    #[test]
    fn refuses_a_length_past_the_end() {
        let mut data = explicit(0x0008, 0x0060, b"CS", b"CT");
        data.extend_from_slice(&[
            0x10, 0x00, 0x10, 0x00, b'O', b'B', 0, 0, 0x00, 0x00, 0x00, 0x70,
        ]);
        let err = check_lengths(&file("1.2.840.10008.1.2.1", &data)).unwrap_err();
        assert_eq!(
            err,
            GuardError::LengthPastEnd {
                tag: Tag(0x0010, 0x0010),
                offset: 42,
                declared: 0x7000_0000,
                remaining: 0,
            }
        );
        assert_eq!(
            err.to_string(),
            "element (0010,0010) declares 1879048192 bytes but only 0 remain"
        );
    }

    #[test]
    fn decode_reports_the_guard_error_typed_and_in_the_users_words() {
        use crate::pipeline::decode::{decode, DecodeError, FrameChoice};
        let mut data = explicit(0x0008, 0x0060, b"CS", b"CT");
        data.extend_from_slice(&[
            0x10, 0x00, 0x10, 0x00, b'O', b'B', 0, 0, 0x00, 0x00, 0x00, 0x70,
        ]);
        let err = decode(&file("1.2.840.10008.1.2.1", &data), FrameChoice::First).unwrap_err();
        assert!(
            matches!(
                err,
                DecodeError::DicomStructure(GuardError::LengthPastEnd { .. })
            ),
            "{err:?}"
        );
        assert_eq!(
            crate::error_chain(&err),
            "the DICOM file is damaged or truncated: element (0010,0010) declares 1879048192 bytes but only 0 remain"
        );
    }

    #[test]
    fn implicit_little_endian_lengths_are_checked_too() {
        let data = [0x08, 0x00, 0x60, 0x00, 0xFF, 0xFF, 0xFF, 0x0F, b'C', b'T'];
        let err = check_lengths(&file("1.2.840.10008.1.2", &data)).unwrap_err();
        assert!(
            matches!(
                err,
                GuardError::LengthPastEnd {
                    tag: Tag(0x0008, 0x0060),
                    offset: 30,
                    declared: 0x0FFF_FFFF,
                    remaining: 2,
                }
            ),
            "{err:?}"
        );
        assert!(
            err.to_string().starts_with("element (0008,0060) declares"),
            "{err}"
        );
    }

    #[test]
    fn a_long_header_cut_off_names_its_element() {
        // An OB header needs 12 bytes; the file ends after 10.
        let data = [0x10, 0x00, 0x10, 0x00, b'O', b'B', 0, 0, 0, 0];
        let err = check_lengths(&file("1.2.840.10008.1.2.1", &data)).unwrap_err();
        assert_eq!(
            err,
            GuardError::TruncatedHeader {
                tag: Tag(0x0010, 0x0010),
                offset: 32
            }
        );
        assert_eq!(
            err.to_string(),
            "the header of element (0010,0010) is cut off at byte 32"
        );
    }

    #[test]
    fn a_short_element_header_is_refused() {
        let mut data = explicit(0x0008, 0x0060, b"CS", b"CT");
        data.extend_from_slice(&[0x10, 0x00, 0x10]);
        let err = check_lengths(&file("1.2.840.10008.1.2.1", &data)).unwrap_err();
        assert_eq!(err, GuardError::TruncatedElement { offset: 42 });
    }

    #[test]
    fn sequences_nested_too_deep_are_refused() {
        // Implicit VR: a sequence is recognised by an item at the start of its value.
        // Each level is (0008,1115) of undefined length holding one undefined item.
        let level = [
            0x08, 0x00, 0x15, 0x11, 0xFF, 0xFF, 0xFF, 0xFF, // sequence, undefined
            0xFE, 0xFF, 0x00, 0xE0, 0xFF, 0xFF, 0xFF, 0xFF, // item, undefined
        ];
        let data: Vec<u8> = (0..=MAX_DEPTH + 1).flat_map(|_| level).collect();
        let err = check_lengths(&file("1.2.840.10008.1.2", &data)).unwrap_err();
        assert_eq!(err, GuardError::NestedTooDeep { limit: MAX_DEPTH });
        assert_eq!(err.to_string(), "sequences are nested more than 32 deep");
    }

    fn deflated(data: &[u8]) -> Vec<u8> {
        use std::io::Write;
        let mut e = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(data).unwrap();
        file(DEFLATED, &e.finish().unwrap())
    }

    #[test]
    fn a_deflated_data_set_is_inflated_and_walked_like_any_other() {
        let mut data = explicit(0x0008, 0x0060, b"CS", b"CT");
        assert_eq!(check_lengths(&deflated(&data)), Ok(()));
        // Inflated, a length past the end is found as in a plain file.
        data.extend_from_slice(&[0x10, 0x00, 0x10, 0x00, b'P', b'N', 0xF0, 0xFF]);
        assert!(matches!(
            check_lengths(&deflated(&data)),
            Err(GuardError::LengthPastEnd {
                declared: 0xFFF0,
                ..
            })
        ));
        // Deeply nested sequences (explicit VR: SQ of undefined length, one item of
        // undefined length each), as 300 000 levels overflowed dicom-rs's stack.
        let level = [
            0x08, 0x00, 0x15, 0x11, b'S', b'Q', 0, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0xFE, 0xFF, 0x00,
            0xE0, 0xFF, 0xFF, 0xFF, 0xFF,
        ];
        let nested: Vec<u8> = (0..300_000).flat_map(|_| level).collect();
        assert_eq!(
            check_lengths(&deflated(&nested)),
            Err(GuardError::NestedTooDeep { limit: MAX_DEPTH })
        );
    }

    #[test]
    fn a_deflate_bomb_is_stopped_at_the_bound() {
        // 200 MiB of zeros deflate to ~200 kB.
        let bomb = deflated(&vec![0u8; MAX_INFLATED + (56 << 20)]);
        assert!(bomb.len() < 1 << 20, "{}", bomb.len());
        assert_eq!(
            check_lengths(&bomb),
            Err(GuardError::InflatesTooLarge {
                limit: MAX_INFLATED
            })
        );
        // Not deflate data at all.
        let junk = file(DEFLATED, &[0xFF; 64]);
        assert!(matches!(
            check_lengths(&junk),
            Err(GuardError::Deflate { .. })
        ));
    }

    #[test]
    fn something_other_than_an_item_in_a_sequence_is_refused() {
        let mut data = vec![
            0x08, 0x00, 0x15, 0x11, b'S', b'Q', 0, 0, 0xFF, 0xFF, 0xFF, 0xFF,
        ];
        data.extend(explicit(0x0008, 0x1150, b"UI", b"1.2"));
        let err = check_lengths(&file("1.2.840.10008.1.2.1", &data)).unwrap_err();
        assert_eq!(
            err,
            GuardError::NotAnItem {
                offset: 44,
                found: Tag(0x0008, 0x1150)
            }
        );
        assert_eq!(
            err.to_string(),
            "expected a sequence item at byte 44, found (0008,1150)"
        );
    }

    #[test]
    fn a_bad_rle_segment_table_is_refused() {
        // 2×2 pixels, 8 bits, one sample: one segment expected; the table says three.
        let mut data = Vec::new();
        for (element, value) in [(0x0002u16, 1u16), (0x0010, 2), (0x0011, 2), (0x0100, 8)] {
            data.extend(explicit(0x0028, element, b"US", &value.to_le_bytes()));
        }
        let mut frame = vec![0u8; 64];
        frame[0] = 3;
        frame.extend_from_slice(&[3, 1, 2, 3, 4]);
        data.extend_from_slice(&[
            0xE0, 0x7F, 0x10, 0x00, b'O', b'B', 0, 0, 0xFF, 0xFF, 0xFF, 0xFF,
        ]);
        data.extend_from_slice(&[0xFE, 0xFF, 0x00, 0xE0, 0, 0, 0, 0]);
        data.extend_from_slice(&[0xFE, 0xFF, 0x00, 0xE0]);
        data.extend_from_slice(&(frame.len() as u32).to_le_bytes());
        data.extend_from_slice(&frame);
        data.extend_from_slice(&[0xFE, 0xFF, 0xDD, 0xE0, 0, 0, 0, 0]);
        let rle = |data: &[u8]| check_lengths(&file(RLE_LOSSLESS, data));
        assert_eq!(
            rle(&data),
            Err(GuardError::RleSegmentCount {
                frame: 1,
                segments: 3,
                expected: 1
            })
        );
        // One segment, but starting inside the 64-byte header.
        let table = data.len() - 8 - frame.len();
        data[table] = 1;
        data[table + 4] = 10;
        assert_eq!(
            rle(&data),
            Err(GuardError::RleSegmentOffset {
                frame: 1,
                segment: 0,
                offset: 10
            })
        );
        // At 64, a literal run of 4 bytes: exactly the 4 pixels, accepted.
        data[table + 4] = 64;
        assert_eq!(rle(&data), Ok(()));
        // A literal run of 3 bytes, then a run header with nothing left to copy.
        data[table + 64] = 2;
        let err = rle(&data).unwrap_err();
        assert_eq!(
            err.to_string(),
            "RLE frame 1: segment 0 unpacks to 3 bytes, the image has 4 pixels"
        );
    }

    #[test]
    fn packbits_lengths() {
        // 2 literal bytes, then a run of 3, then a no-op, then a literal cut short.
        assert_eq!(
            packbits_len(&[1, 7, 8, 0xFE, 9, 0x80, 5, 1], 100),
            2 + 3 + 1
        );
        assert_eq!(packbits_len(&[0x81, 0], 100), 128);
        assert_eq!(
            packbits_len(&[0x81, 0, 0x81, 0], 10),
            128,
            "stops counting once enough"
        );
    }

    #[test]
    fn unterminated_fragments_are_refused() {
        let mut data = vec![
            0xE0, 0x7F, 0x10, 0x00, b'O', b'B', 0, 0, 0xFF, 0xFF, 0xFF, 0xFF,
        ];
        data.extend_from_slice(&[0xFE, 0xFF, 0x00, 0xE0, 2, 0, 0, 0, 9, 9]);
        let err = check_lengths(&file("1.2.840.10008.1.2.4.50", &data)).unwrap_err();
        assert_eq!(err, GuardError::UnterminatedPixelData);
        assert!(err.to_string().contains("no end delimiter"), "{err}");
    }
}

//! A length check of a DICOM file's elements before dicom-rs reads it.
//!
//! dicom-rs allocates each element's declared length before reading its value, so one
//! flipped byte in a 39 kB file can declare a 2 GB value: natively that costs seconds of
//! zero-filling, in a browser tab it is an out-of-memory crash. This walk reads only tags
//! and lengths (file meta group, then the data set in its transfer syntax, into
//! sequences and items, over encapsulated pixel fragments) and refuses any length that
//! runs past the end of its file or container, so what dicom-rs then allocates is bounded
//! by the file's size. Deflated data sets are compressed and cannot be walked; they are
//! left to dicom-rs.
//!
//! RLE frames get one more check, because fuzzing found that dicom-rs's RLE decoder
//! indexes past its buffer (a panic, which in wasm aborts the whole module) when a
//! segment decodes to fewer bytes than the image has pixels: each frame's segment table
//! must be consistent and each segment must unpack to at least rows × columns bytes.

use std::cell::Cell;

const UNDEFINED: u32 = 0xFFFF_FFFF;
const MAX_DEPTH: u32 = 32;
const ITEM: (u16, u16) = (0xFFFE, 0xE000);
const ITEM_END: (u16, u16) = (0xFFFE, 0xE00D);
const SEQUENCE_END: (u16, u16) = (0xFFFE, 0xE0DD);
const PIXEL_DATA: (u16, u16) = (0x7FE0, 0x0010);
const RLE_LOSSLESS: &str = "1.2.840.10008.1.2.5";

/// Image attributes read on the way, for the RLE check.
#[derive(Default)]
struct Geometry {
    rows: Cell<u16>,
    columns: Cell<u16>,
    samples_per_pixel: Cell<u16>,
    bits_allocated: Cell<u16>,
}

/// Checks the file that starts at its `DICM` magic (preamble already skipped).
pub fn check_lengths(file: &[u8]) -> Result<(), String> {
    let meta = Walker {
        bytes: file,
        explicit: true,
        ..Walker::default()
    };
    let mut pos = 4;
    let mut transfer_syntax = String::new();
    while pos + 8 <= file.len() && meta.u16(pos) == 0x0002 {
        let (tag, header, len) = meta.header(pos)?;
        let value = meta.value_range(tag, pos + header, len, file.len())?;
        if tag == (0x0002, 0x0010) {
            transfer_syntax = String::from_utf8_lossy(&file[value.clone()])
                .trim_end_matches(['\0', ' '])
                .to_string();
        }
        pos = value.end;
    }
    let (explicit, big_endian) = match transfer_syntax.as_str() {
        "1.2.840.10008.1.2.1.99" => return Ok(()),
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

    fn tag(&self, at: usize) -> (u16, u16) {
        (self.u16(at), self.u16(at + 2))
    }

    /// Tag, header size and declared length of the element at `at` (8 bytes available).
    fn header(&self, at: usize) -> Result<((u16, u16), usize, u32), String> {
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
                return Err(format!(
                    "the header of element {} is cut off at byte {at}",
                    show(tag)
                ));
            }
            Ok((tag, 12, self.u32(at + 8)))
        } else {
            Ok((tag, 8, u32::from(self.u16(at + 6))))
        }
    }

    fn value_range(
        &self,
        tag: (u16, u16),
        start: usize,
        len: u32,
        end: usize,
    ) -> Result<std::ops::Range<usize>, String> {
        let len = len as usize;
        if len > end.saturating_sub(start) {
            return Err(format!(
                "element {} declares {len} bytes but only {} remain",
                show(tag),
                end.saturating_sub(start)
            ));
        }
        Ok(start..start + len)
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
    ) -> Result<usize, String> {
        if depth > MAX_DEPTH {
            return Err(format!("sequences are nested more than {MAX_DEPTH} deep"));
        }
        while pos < end {
            if pos + 8 > end {
                return Err(format!("an element header is cut off at byte {pos}"));
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
            let value = self.value_range(tag, start, len, end)?;
            if depth == 0 && value.len() == 2 {
                let field = match tag {
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
    ) -> Result<usize, String> {
        while pos < end {
            if pos + 8 > end {
                return Err(format!("an item header is cut off at byte {pos}"));
            }
            let (tag, len) = (self.tag(pos), self.u32(pos + 4));
            match tag {
                SEQUENCE_END if undefined => return Ok(pos + 8),
                ITEM if len == UNDEFINED => pos = self.elements(pos + 8, end, true, depth + 1)?,
                ITEM => {
                    let value = self.value_range(tag, pos + 8, len, end)?;
                    self.elements(value.start, value.end, false, depth + 1)?;
                    pos = value.end;
                }
                other => {
                    return Err(format!(
                        "expected a sequence item at byte {pos}, found {}",
                        show(other)
                    ))
                }
            }
        }
        if undefined {
            return Err("a sequence of undefined length has no end delimiter".into());
        }
        Ok(end)
    }

    /// Encapsulated pixel data: fragments up to the sequence delimiter.
    fn fragments(&self, mut pos: usize, end: usize) -> Result<usize, String> {
        let mut index = 0;
        while pos + 8 <= end {
            let (tag, len) = (self.tag(pos), self.u32(pos + 4));
            match tag {
                SEQUENCE_END => return Ok(pos + 8),
                ITEM => {
                    let value = self.value_range(tag, pos + 8, len, end)?;
                    // The first item is the basic offset table; each later one a frame.
                    if self.rle && index > 0 {
                        self.check_rle_frame(index, &self.bytes[value.clone()])?;
                    }
                    index += 1;
                    pos = value.end;
                }
                other => {
                    return Err(format!(
                        "expected a pixel data fragment at byte {pos}, found {}",
                        show(other)
                    ))
                }
            }
        }
        Err("the encapsulated pixel data has no end delimiter".into())
    }
}

impl Walker<'_> {
    fn check_rle_frame(&self, frame: usize, fragment: &[u8]) -> Result<(), String> {
        let g = &self.geometry;
        let pixels = usize::from(g.rows.get()) * usize::from(g.columns.get());
        let expected = usize::from(g.samples_per_pixel.get().max(1))
            * usize::from(g.bits_allocated.get().div_ceil(8).max(1));
        if fragment.len() < 64 {
            return Err(format!(
                "RLE frame {frame} is {} bytes, shorter than its 64-byte header",
                fragment.len()
            ));
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
            return Err(format!(
                "RLE frame {frame} has {segments} segments, the image needs {expected}"
            ));
        }
        let mut offsets: Vec<usize> = (0..segments).map(|i| word(4 + 4 * i)).collect();
        offsets.push(fragment.len());
        for (i, pair) in offsets.windows(2).enumerate() {
            if pair[0] < 64 || pair[0] > pair[1] {
                return Err(format!(
                    "RLE frame {frame}: segment {i} has an impossible offset {}",
                    pair[0]
                ));
            }
            let unpacked = packbits_len(&fragment[pair[0]..pair[1]], pixels);
            if unpacked < pixels {
                return Err(format!("RLE frame {frame}: segment {i} unpacks to {unpacked} bytes, the image has {pixels} pixels"));
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

fn show((group, element): (u16, u16)) -> String {
    format!("({group:04X},{element:04X})")
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
            "element (0010,0010) declares 1879048192 bytes but only 0 remain"
        );
    }

    #[test]
    fn implicit_little_endian_lengths_are_checked_too() {
        let data = [0x08, 0x00, 0x60, 0x00, 0xFF, 0xFF, 0xFF, 0x0F, b'C', b'T'];
        let err = check_lengths(&file("1.2.840.10008.1.2", &data)).unwrap_err();
        assert!(err.starts_with("element (0008,0060) declares"), "{err}");
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
        assert!(check_lengths(&file("1.2.840.10008.1.2.4.50", &data))
            .unwrap_err()
            .contains("no end delimiter"));
    }
}

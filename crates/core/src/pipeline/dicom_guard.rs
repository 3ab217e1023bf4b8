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

const UNDEFINED: u32 = 0xFFFF_FFFF;
const MAX_DEPTH: u32 = 32;
const ITEM: (u16, u16) = (0xFFFE, 0xE000);
const ITEM_END: (u16, u16) = (0xFFFE, 0xE00D);
const SEQUENCE_END: (u16, u16) = (0xFFFE, 0xE0DD);
const PIXEL_DATA: (u16, u16) = (0x7FE0, 0x0010);

/// Checks the file that starts at its `DICM` magic (preamble already skipped).
pub fn check_lengths(file: &[u8]) -> Result<(), String> {
    let meta = Walker {
        bytes: file,
        explicit: true,
        big_endian: false,
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
    let data = match transfer_syntax.as_str() {
        "1.2.840.10008.1.2.1.99" => return Ok(()),
        "1.2.840.10008.1.2" => Walker {
            bytes: file,
            explicit: false,
            big_endian: false,
        },
        "1.2.840.10008.1.2.2" => Walker {
            bytes: file,
            explicit: true,
            big_endian: true,
        },
        _ => Walker {
            bytes: file,
            explicit: true,
            big_endian: false,
        },
    };
    data.elements(pos, file.len(), false, 0).map(|_| ())
}

struct Walker<'a> {
    bytes: &'a [u8],
    explicit: bool,
    big_endian: bool,
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
        while pos + 8 <= end {
            let (tag, len) = (self.tag(pos), self.u32(pos + 4));
            match tag {
                SEQUENCE_END => return Ok(pos + 8),
                ITEM => pos = self.value_range(tag, pos + 8, len, end)?.end,
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

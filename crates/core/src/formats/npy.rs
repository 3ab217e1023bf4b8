//! Embeddings as NumPy `.npy`: float32, N × D, what `numpy.load` returns unchanged; and
//! reading an N × D float32 or float64 array back.
//!
//! Written and read with `npyz`: the format's header is a Python literal, and a
//! hand-written writer is easy to get subtly wrong for numpy's padding rules. Reading
//! checks what the header declares against the bytes actually there before anything
//! is read, so a damaged or hostile header cannot make the app reserve memory for
//! data that does not exist.

use super::ImportError;

/// `rows` (one length) as a float32 `.npy`, shape `rows.len() × dim`.
pub fn npy_f32(rows: &[impl AsRef<[f32]>]) -> Vec<u8> {
    use npyz::WriterBuilder;
    let dim = rows.first().map_or(0, |r| r.as_ref().len());
    let mut out = Vec::new();
    {
        let mut writer = npyz::WriteOptions::<f32>::new()
            .default_dtype()
            .shape(&[rows.len() as u64, dim as u64])
            .writer(&mut out)
            .begin_nd()
            .expect("writing to memory cannot fail");
        for r in rows {
            writer
                .extend(r.as_ref().iter().copied())
                .expect("writing to memory cannot fail");
        }
        writer.finish().expect("writing to memory cannot fail");
    }
    out
}

/// Reads an N × D `.npy` of float32 or float64 (C order) into rows. Every value must be
/// finite: a NaN would silently poison every cosine it enters.
pub fn read_npy(bytes: &[u8]) -> Result<Vec<Vec<f32>>, ImportError> {
    check_header(bytes)?;
    let npy = npyz::NpyFile::new(bytes).map_err(|e| ImportError::Npy(e.to_string()))?;
    let shape = npy.shape().to_vec();
    if shape.len() != 2 {
        return Err(ImportError::NpyShape(shape));
    }
    if npy.order() != npyz::Order::C {
        return Err(ImportError::Npy(
            "Fortran-ordered arrays are not read; save with numpy.ascontiguousarray first".into(),
        ));
    }
    let dtype = npy.dtype();
    let item_size = match &dtype {
        npyz::DType::Plain(t)
            if t.type_char() == npyz::TypeChar::Float && matches!(t.size_field(), 4 | 8) =>
        {
            t.size_field()
        }
        other => return Err(ImportError::NpyType(other.descr())),
    };
    let (rows, columns) = (shape[0], shape[1]);
    if columns == 0 {
        return Err(ImportError::NpyShape(shape));
    }
    // The data follows the header, so the whole file is an upper bound on its size. A
    // shape that declares more is refused before a value is read. (A shape whose
    // product overflows u64 is refused here in release builds; npyz itself multiplies
    // the shape unchecked, which panics in builds with overflow checks.)
    let declared = rows
        .checked_mul(columns)
        .and_then(|n| n.checked_mul(item_size));
    if declared.is_none_or(|d| d > bytes.len() as u64) {
        return Err(ImportError::NpyTooShort {
            rows,
            columns,
            bytes: bytes.len(),
        });
    }
    let values: Vec<f32> = if item_size == 4 {
        npy.into_vec::<f32>()
            .map_err(|e| ImportError::Npy(e.to_string()))?
    } else {
        npy.into_vec::<f64>()
            .map_err(|e| ImportError::Npy(e.to_string()))?
            .into_iter()
            .map(|v| v as f32)
            .collect()
    };
    // Checked once more after the f64 → f32 narrowing: 1e300 is finite in f64, not in f32.
    if let Some(i) = values.iter().position(|v| !v.is_finite()) {
        return Err(ImportError::Npy(format!(
            "value {i} (row {}) is not a finite number",
            i / columns as usize
        )));
    }
    Ok(values
        .chunks(columns as usize)
        .map(<[f32]>::to_vec)
        .collect())
}

/// Deepest bracket nesting accepted in an `.npy` header. A float array's header is
/// `{'descr': '<f4', 'fortran_order': False, 'shape': (N, D), }`: two levels. The
/// header parser `npyz` uses (py_literal, a backtracking grammar) takes time
/// exponential in the nesting — found by fuzzing: 18 unclosed `[` in a 137-byte file
/// took a minute, 40 would freeze the page for ever — so deeper headers are refused
/// before it sees them. 4 leaves room for what numpy might add; what we read never
/// needs more (structured dtypes, the only deeper headers numpy writes, are refused
/// anyway).
pub const MAX_HEADER_NESTING: usize = 4;

/// The header is checked before `npyz` reads it. Its length must fit in the file:
/// `npyz` reserves a buffer of the declared length before reading it — up to 4 GiB for
/// a version 2 or 3 file of a few bytes. And its brackets must not nest deeper than
/// [`MAX_HEADER_NESTING`]. Layout (numpy's `format.py`): the magic `\x93NUMPY`, major
/// and minor version bytes, then the header length as a little-endian u16 (version 1)
/// or u32 (versions 2 and 3), then the header. Anything else is left for `npyz` to
/// refuse.
fn check_header(bytes: &[u8]) -> Result<(), ImportError> {
    const MAGIC: &[u8] = b"\x93NUMPY";
    if !bytes.starts_with(MAGIC) || bytes.len() < 10 {
        return Ok(());
    }
    let (prefix, claimed) = match bytes[6] {
        1 => (10, u64::from(u16::from_le_bytes([bytes[8], bytes[9]]))),
        2 | 3 if bytes.len() >= 12 => (
            12,
            u64::from(u32::from_le_bytes([
                bytes[8], bytes[9], bytes[10], bytes[11],
            ])),
        ),
        _ => return Ok(()),
    };
    if prefix + claimed > bytes.len() as u64 {
        return Err(ImportError::NpyHeaderTooLong {
            claimed,
            bytes: bytes.len(),
        });
    }
    // Brackets inside quotes count too: a float array's header has none there.
    let header = &bytes[prefix as usize..(prefix + claimed) as usize];
    let mut depth = 0usize;
    for &b in header {
        match b {
            b'(' | b'[' | b'{' => {
                depth += 1;
                if depth > MAX_HEADER_NESTING {
                    return Err(ImportError::NpyHeaderNesting { depth });
                }
            }
            b')' | b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An `.npy` header declaring `shape` of `T`, followed by `values`.
    fn npy_of<T: npyz::Serialize + npyz::AutoSerialize + Copy>(
        shape: &[u64],
        values: &[T],
    ) -> Vec<u8> {
        use npyz::WriterBuilder;
        let mut out = Vec::new();
        let mut w = npyz::WriteOptions::<T>::new()
            .default_dtype()
            .shape(shape)
            .writer(&mut out)
            .begin_nd()
            .unwrap();
        w.extend(values.iter().copied()).unwrap();
        w.finish().unwrap();
        out
    }

    /// Only the header of a float32 `.npy` declaring `shape`, no data.
    fn header_only(shape: &[u64]) -> Vec<u8> {
        use npyz::WriterBuilder;
        let mut out = Vec::new();
        let w = npyz::WriteOptions::<f32>::new()
            .default_dtype()
            .shape(shape)
            .writer(&mut out)
            .begin_nd()
            .unwrap();
        // `finish` would report the missing data, which is the point here.
        drop(w);
        out
    }

    #[test]
    fn npy_round_trips_and_has_numpys_header() {
        let rows = vec![vec![1.0f32, -2.5, 3.25], vec![0.0, 1e-7, f32::MAX]];
        let bytes = npy_f32(&rows);
        assert_eq!(&bytes[..6], b"\x93NUMPY");
        let header = String::from_utf8_lossy(&bytes[10..bytes.len() - 24]);
        assert!(header.contains("'descr': '<f4'"), "{header}");
        assert!(header.contains("'shape': (2, 3"), "{header}");
        assert_eq!(
            (bytes.len() - 24) % 64,
            0,
            "numpy aligns the data to 64 bytes"
        );
        assert_eq!(read_npy(&bytes).unwrap(), rows);
    }

    #[test]
    fn float64_is_read_as_float32() {
        let bytes = npy_of(&[2, 2], &[0.5f64, -1.0, 2.0, 0.25]);
        assert_eq!(
            read_npy(&bytes).unwrap(),
            vec![vec![0.5f32, -1.0], vec![2.0, 0.25]]
        );
        // 1e300 is a fine f64 but infinite as f32: refused, naming value 3 of row 1.
        let too_big = npy_of(&[2, 2], &[0.5f64, -1.0, 2.0, 1e300]);
        assert!(
            matches!(read_npy(&too_big), Err(ImportError::Npy(m)) if m.contains("value 3 (row 1)"))
        );
    }

    /// A version 1 `.npy` whose header is `header`, and no data.
    fn with_header(header: &str) -> Vec<u8> {
        let mut out = b"\x93NUMPY\x01\x00".to_vec();
        out.extend_from_slice(&(header.len() as u16).to_le_bytes());
        out.extend_from_slice(header.as_bytes());
        out
    }

    #[test]
    fn deeply_nested_headers_are_refused_before_the_parser_sees_them() {
        // What the fuzzer found, shortened: unclosed brackets in the shape. npyz's
        // parser takes time exponential in their number (a minute at 18); 12 keep
        // this test quick even where that parser would run. Before the fix this was a
        // parse error after the wait, not the nesting. Refused at the first level past
        // the limit, without reading further.
        let deep = format!(
            "{{'descr': '<f4', 'fortran_order': False, 'shape': ({} f8'\n",
            "[".repeat(11)
        );
        assert_eq!(
            read_npy(&with_header(&deep)),
            Err(ImportError::NpyHeaderNesting { depth: 5 })
        );
        let message = ImportError::NpyHeaderNesting { depth: 5 }.to_string();
        assert!(
            message.contains("5 deep") && message.contains("4 at most"),
            "{message}"
        );
        // A real header nests two deep and is read as before.
        let rows = vec![vec![1.0f32, 2.0]];
        assert_eq!(read_npy(&npy_f32(&rows)).unwrap(), rows);
    }

    #[test]
    fn bad_npy_files_are_explained() {
        assert!(matches!(read_npy(b"not numpy"), Err(ImportError::Npy(_))));
        let one_d = npy_of(&[3], &[1.0f32, 2.0, 3.0]);
        assert_eq!(read_npy(&one_d), Err(ImportError::NpyShape(vec![3])));
        let empty_rows = npy_of::<f32>(&[1 << 40, 0], &[]);
        assert_eq!(
            read_npy(&empty_rows),
            Err(ImportError::NpyShape(vec![1 << 40, 0]))
        );
        let nan = npy_f32(&[vec![1.0f32, f32::NAN]]);
        assert!(
            matches!(read_npy(&nan), Err(ImportError::Npy(m)) if m.contains("value 1 (row 0)"))
        );
        let ints = npy_of(&[1, 2], &[1i32, 2]);
        assert!(matches!(read_npy(&ints), Err(ImportError::NpyType(t)) if t.contains("i4")));
    }

    #[test]
    fn a_header_longer_than_the_file_is_refused_before_npyz_reserves_it() {
        // Version 2: a u32 length; 4 GiB − 16 claimed by a 16-byte file.
        let mut v2 = b"\x93NUMPY\x02\x00".to_vec();
        v2.extend_from_slice(&0xFFFF_FFF0u32.to_le_bytes());
        v2.extend_from_slice(b"{'de");
        match read_npy(&v2) {
            Err(ImportError::NpyHeaderTooLong { claimed, bytes }) => {
                assert_eq!((claimed, bytes), (0xFFFF_FFF0, 16));
            }
            other => panic!("{other:?}"),
        }
        // Version 1: a u16 length.
        let mut v1 = b"\x93NUMPY\x01\x00".to_vec();
        v1.extend_from_slice(&60_000u16.to_le_bytes());
        assert!(matches!(
            read_npy(&v1),
            Err(ImportError::NpyHeaderTooLong {
                claimed: 60_000,
                ..
            })
        ));
        // A real file's header fits, of course.
        assert!(read_npy(&npy_f32(&[vec![1.0f32; 4]])).is_ok());
        let message = read_npy(&v2).unwrap_err().to_string();
        assert!(
            message.contains("header claims 4294967280 bytes"),
            "{message}"
        );
    }

    #[test]
    fn a_huge_declared_shape_is_refused_before_reading() {
        // 2^40 rows of 1024 float32 would be 4 PiB; the file holds one row.
        let mut huge = header_only(&[1 << 40, 1024]);
        huge.extend([0u8; 4096]);
        assert_eq!(
            read_npy(&huge),
            Err(ImportError::NpyTooShort {
                rows: 1 << 40,
                columns: 1024,
                bytes: huge.len()
            })
        );
        // One row short of its declaration: 2 × 2 float32 declared (16 bytes), 3 values there.
        let mut short = npy_f32(&[vec![1.0f32, 2.0], vec![3.0, 4.0]]);
        short.truncate(short.len() - 4);
        assert!(matches!(read_npy(&short), Err(ImportError::Npy(_))));
    }
}

//! Fuzz target: the scoring endpoint's answer through `endpoint::wire::parse_response`
//! (and `failure_message`, what an error status shows of it), both shapes (one object of columns, an array of rows), for a request of one to four
//! rows. Whatever the body, it must give a response or a `ResponseError`, never panic.
//! Run with `scripts/fuzz wire_response`.
//!
//! Input layout: one selector byte, then the body. The selector picks the request (its
//! row count, what each row carries) and the dimension the parser demands; the body is
//! read as the app reads it, lossily as UTF-8. The seeds (`src/seeds.rs`) use the same
//! layout ([`medinsight_fuzz::wire_request`] is shared so both agree).
#![no_main]

use libfuzzer_sys::fuzz_target;
use medinsight_core::endpoint::wire::{failure_message, parse_response};

fuzz_target!(|data: &[u8]| {
    let Some((&selector, body)) = data.split_first() else {
        return;
    };
    let (request, options) = medinsight_fuzz::wire_request(selector);
    let body = String::from_utf8_lossy(body);
    // What the user is told when the same body comes with an error status.
    let _ = failure_message((selector & 0x80 != 0).then_some("ValueError"), &body);
    if let Ok(response) = parse_response(&body, &request, options) {
        // What the parser promises the app: one entry per row, a vector exactly where
        // the row asked for one, all of one length, all finite.
        assert_eq!(response.images.len(), request.rows.len());
        assert_eq!(response.texts.len(), request.rows.len());
        let mut width = options.dimension;
        for (row, (image, text)) in request
            .rows
            .iter()
            .zip(response.images.iter().zip(&response.texts))
        {
            assert_eq!(row.image.is_some(), image.is_some());
            assert_eq!(row.text.is_some(), text.is_some());
            for v in image.iter().chain(text.iter()) {
                assert!(v.iter().all(|x| x.is_finite()));
                assert_eq!(*width.get_or_insert(v.len()), v.len());
            }
        }
        if let Some(s) = response.scaling_factor {
            assert!(s.log().is_finite());
        }
    }
});

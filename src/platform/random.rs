//! Random bytes from the browser's cryptographic source (`crypto.getRandomValues`,
//! through `getrandom`, which the app already carries for the CLIP tokenizer): the
//! session's pseudonym key is drawn here. Natively (the app's code is also checked
//! natively) the same call asks the operating system.

use super::BrowserError;

/// `N` bytes no one can predict.
pub fn bytes<const N: usize>() -> Result<[u8; N], BrowserError> {
    let mut out = [0u8; N];
    getrandom::fill(&mut out).map_err(|e| BrowserError::Call {
        what: "drawing random numbers (crypto.getRandomValues)",
        message: e.to_string(),
    })?;
    Ok(out)
}

//! An HTTP answer's body read whole, but only up to a bound: a server that
//! sends more is not one to trust, and must not be able to fill memory.

/// Why a body was not read whole.
#[derive(Debug)]
pub enum BodyError {
    /// More than the bound arrived (reading stopped there).
    TooLarge,
    /// The stream broke off; each caller words the cause its own way.
    Broke(reqwest::Error),
}

/// The body of `resp`, at most `max` bytes.
pub async fn read_capped(mut resp: reqwest::Response, max: usize) -> Result<Vec<u8>, BodyError> {
    let mut body = Vec::new();
    loop {
        match resp.chunk().await {
            Ok(Some(chunk)) if body.len() + chunk.len() > max => return Err(BodyError::TooLarge),
            Ok(Some(chunk)) => body.extend_from_slice(&chunk),
            Ok(None) => return Ok(body),
            Err(e) => return Err(BodyError::Broke(e)),
        }
    }
}

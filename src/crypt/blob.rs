//! Whole files sealed with age (binary, not inline): session transcripts. The plaintext starts
//! with `ctx1f\n<store path>\n`, so a sealed file copied to another path fails to open instead
//! of showing up in another session.

use std::io::{BufRead, Read, Write};

use super::{CryptError, Identity, Recipients};

const ENVELOPE: &str = "ctx1f";

type Result<T, E = CryptError> = std::result::Result<T, E>;

/// Seals `plain` for the store path `path` to every recipient.
pub fn seal_file(path: &str, plain: &[u8], to: &Recipients) -> Result<Vec<u8>> {
    if to.is_empty() {
        return Err(CryptError::NoRecipients);
    }
    let err = |reason: String| CryptError::Encrypt {
        locator: path.to_string(),
        reason,
    };
    let enc = age::Encryptor::with_recipients(to.keys.iter().map(|k| k as &dyn age::Recipient))
        .map_err(|e| err(e.to_string()))?;
    let mut out = Vec::with_capacity(plain.len() + 256);
    let mut w = enc.wrap_output(&mut out).map_err(|e| err(e.to_string()))?;
    let io = |e: std::io::Error| err(e.to_string());
    w.write_all(format!("{ENVELOPE}\n{path}\n").as_bytes())
        .map_err(io)?;
    w.write_all(plain).map_err(io)?;
    w.finish().map_err(io)?;
    Ok(out)
}

/// A reader of the plaintext of a file sealed for `path`, past its binding.
fn opener<'a>(
    path: &str,
    sealed: &'a [u8],
    id: &Identity,
) -> Result<std::io::BufReader<impl Read + 'a>> {
    let err = |reason: &str| CryptError::Decrypt {
        locator: path.to_string(),
        reason: reason.to_string(),
    };
    let dec = age::Decryptor::new(sealed).map_err(|e| err(&e.to_string()))?;
    let reader = dec
        .decrypt(std::iter::once(&id.inner as &dyn age::Identity))
        .map_err(|_| err("this machine's key is not among its recipients"))?;
    let mut reader = std::io::BufReader::new(reader);
    let mut line = String::new();
    for want in [ENVELOPE, path] {
        line.clear();
        reader
            .read_line(&mut line)
            .map_err(|e| err(&e.to_string()))?;
        if line.strip_suffix('\n') != Some(want) {
            return Err(err("not sealed for this place (copied from elsewhere?)"));
        }
    }
    Ok(reader)
}

/// Opens a file sealed for `path`.
pub fn open_file(path: &str, sealed: &[u8], id: &Identity) -> Result<Vec<u8>> {
    let mut reader = opener(path, sealed, id)?;
    let mut out = Vec::new();
    reader
        .read_to_end(&mut out)
        .map_err(|e| CryptError::Decrypt {
            locator: path.to_string(),
            reason: e.to_string(),
        })?;
    Ok(out)
}

/// The first line of a file sealed for `path`, decrypting no more than it needs (a chunk's
/// header, without its megabytes of transcript).
pub fn open_first_line(path: &str, sealed: &[u8], id: &Identity) -> Result<String> {
    let mut reader = opener(path, sealed, id)?;
    let mut line = String::new();
    reader
        .read_line(&mut line)
        .map_err(|e| CryptError::Decrypt {
            locator: path.to_string(),
            reason: e.to_string(),
        })?;
    Ok(line.trim_end_matches('\n').to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_file_opens_only_at_its_path_and_with_a_recipients_key() {
        let id = Identity::generate();
        let other = Identity::generate();
        let pairs = [("m".to_string(), id.public_key())];
        let to =
            Recipients::parse(pairs.iter().map(|(a, b)| (a, b))).unwrap_or_else(|e| panic!("{e}"));
        let sealed = seal_file("sessions/p/s/m-1.age", b"{\"a\":1}\nrest\n", &to)
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(!String::from_utf8_lossy(&sealed).contains("rest"));
        let open = open_file("sessions/p/s/m-1.age", &sealed, &id);
        assert_eq!(open.ok().as_deref(), Some(&b"{\"a\":1}\nrest\n"[..]));
        let head = open_first_line("sessions/p/s/m-1.age", &sealed, &id);
        assert_eq!(head.ok().as_deref(), Some("{\"a\":1}"));
        assert!(open_file("sessions/p/t/m-1.age", &sealed, &id).is_err());
        assert!(open_file("sessions/p/s/m-1.age", &sealed, &other).is_err());
    }
}

//! `dvt docs serve`: a small static file server for `target/docs/`.
//!
//! It answers `GET` and `HEAD` for files under the docs folder and nothing
//! else, one thread per connection. It is meant for one person's browser,
//! not for the internet, so it binds to 127.0.0.1 unless told otherwise.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Component, Path, PathBuf};

use crate::diagnostic::Diagnostic;
use crate::output::Printer;

/// Serves `docs_dir` until the process is stopped.
pub fn serve(printer: &Printer, docs_dir: &Path, host: &str, port: u16) -> Result<(), Diagnostic> {
    if !docs_dir.join("index.html").is_file() {
        return Err(
            Diagnostic::error(format!("there is no site in `{}`", docs_dir.display()))
                .hint("run `dvt docs generate` first"),
        );
    }
    let listener = TcpListener::bind((host, port)).map_err(|error| {
        Diagnostic::error(format!("cannot listen on `{host}:{port}`: {error}")).hint("pick another port with `--port`")
    })?;
    let address = listener
        .local_addr()
        .map_err(|error| Diagnostic::error(format!("cannot read the listening address: {error}")))?;
    let host_shown = if address.ip().is_unspecified() {
        "127.0.0.1".to_string()
    } else {
        address.ip().to_string()
    };
    let url = if address.is_ipv6() {
        format!("http://[{host_shown}]:{}/", address.port())
    } else {
        format!("http://{host_shown}:{}/", address.port())
    };
    printer.result(&format!("Serving the docs at {url} (Ctrl-C to stop)"));
    for stream in listener.incoming() {
        let Ok(stream) = stream else { continue };
        let docs_dir = docs_dir.to_path_buf();
        std::thread::spawn(move || {
            // A client that goes away mid-answer is not our problem.
            let _ = answer(stream, &docs_dir);
        });
    }
    Ok(())
}

fn answer(mut stream: TcpStream, docs_dir: &Path) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    // Read the headers to the empty line; none of them matter here.
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 || line.trim().is_empty() {
            break;
        }
    }
    let mut words = request_line.split_whitespace();
    let method = words.next().unwrap_or_default();
    let target = words.next().unwrap_or("/");
    if method != "GET" && method != "HEAD" {
        return respond(
            &mut stream,
            "405 Method Not Allowed",
            "text/plain; charset=utf-8",
            b"method not allowed\n",
            true,
        );
    }
    let Some(path) = resolve(docs_dir, target) else {
        return respond(
            &mut stream,
            "404 Not Found",
            "text/plain; charset=utf-8",
            b"not found\n",
            true,
        );
    };
    match std::fs::read(&path) {
        Ok(body) => respond(&mut stream, "200 OK", content_type(&path), &body, method == "GET"),
        Err(_) => respond(
            &mut stream,
            "404 Not Found",
            "text/plain; charset=utf-8",
            b"not found\n",
            true,
        ),
    }
}

/// The file a request path names, or `None` when it would leave the docs folder.
fn resolve(docs_dir: &Path, target: &str) -> Option<PathBuf> {
    let path = target.split(['?', '#']).next().unwrap_or("/");
    let path = percent_decode(path)?;
    let mut resolved = docs_dir.to_path_buf();
    for component in Path::new(path.trim_start_matches('/')).components() {
        match component {
            Component::Normal(part) => resolved.push(part),
            Component::CurDir => {}
            _ => return None,
        }
    }
    if resolved.is_dir() {
        resolved.push("index.html");
    }
    Some(resolved)
}

fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        if bytes[index] == b'%' {
            let hex = std::str::from_utf8(bytes.get(index + 1..index + 3)?).ok()?;
            decoded.push(u8::from_str_radix(hex, 16).ok()?);
            index += 3;
        } else {
            decoded.push(bytes[index]);
            index += 1;
        }
    }
    String::from_utf8(decoded).ok()
}

fn content_type(path: &Path) -> &'static str {
    match path.extension().and_then(|extension| extension.to_str()) {
        Some("html") => "text/html; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("json") => "application/json",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        _ => "application/octet-stream",
    }
}

fn respond(
    stream: &mut TcpStream,
    status: &str,
    content_type: &str,
    body: &[u8],
    with_body: bool,
) -> std::io::Result<()> {
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nCache-Control: no-cache\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes())?;
    if with_body {
        stream.write_all(body)?;
    }
    stream.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_paths_stay_inside_the_docs_folder() {
        let docs = Path::new("/srv/docs");
        assert_eq!(resolve(docs, "/data.js?v=1"), Some(PathBuf::from("/srv/docs/data.js")));
        assert_eq!(resolve(docs, "/a%20b.css"), Some(PathBuf::from("/srv/docs/a b.css")));
        assert_eq!(resolve(docs, "/../secret"), None);
        assert_eq!(resolve(docs, "/%2e%2e/secret"), None);
    }
}

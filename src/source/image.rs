//! Container images: a `docker save` tarball or an OCI image layout
//! directory. Every layer is read as a stream (gzip, zstd or plain tar; a
//! layer is never held in memory whole), each regular file in it scanned as
//! content of its own (archives inside as usual), and the image config's
//! environment and build history are scanned too: secrets passed as build
//! arguments end up there. Findings are named `IMAGE!LAYER-DIGEST!path`.
//!
//! Layers are read in order and every one is scanned, so a secret that a
//! later layer deletes (a whiteout, `.wh.NAME`) or overwrites is still found:
//! it stays in the image for anyone who pulls it. Such findings say so in
//! their `context`.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::finding::Origin;
use crate::stats::SkipReason;

use super::Worker;

/// Largest manifest, index or config read (they are small JSON documents).
const MAX_METADATA: u64 = 16 << 20;

/// Why an image could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    /// Neither a tarball nor an OCI layout.
    #[error(
        "{path}: not a container image (expected a `docker save` tarball or an OCI image layout directory): {detail}"
    )]
    NotAnImage {
        /// The argument.
        path: PathBuf,
        /// What is missing or wrong.
        detail: String,
    },
}

/// One layer: its digest (or tarball member name) and where its bytes are.
#[derive(Debug, Clone)]
struct Layer {
    digest: String,
    blob: String,
}

/// What the manifest names.
#[derive(Debug)]
struct Manifest {
    config: Option<String>,
    layers: Vec<Layer>,
}

/// Where an image's blobs are.
enum Store {
    /// A `docker save` tarball: member name -> (data offset, size).
    Tarball { path: PathBuf, members: HashMap<String, (u64, u64)> },
    /// An OCI image layout directory.
    Layout { root: PathBuf },
}

impl Store {
    fn open(path: &Path) -> Result<Store, ImageError> {
        let not_image = |detail: String| ImageError::NotAnImage { path: path.to_path_buf(), detail };
        if path.is_dir() {
            if !path.join("index.json").is_file() {
                return Err(not_image("the directory has no index.json".into()));
            }
            return Ok(Store::Layout { root: path.to_path_buf() });
        }
        let file = File::open(path).map_err(|err| not_image(err.to_string()))?;
        let mut archive = tar::Archive::new(BufReader::new(file));
        let mut members = HashMap::new();
        let entries = archive.entries().map_err(|err| not_image(format!("not a tar archive: {err}")))?;
        for entry in entries {
            let entry = entry.map_err(|err| not_image(format!("corrupt tar archive: {err}")))?;
            if !entry.header().entry_type().is_file() {
                continue;
            }
            let name = entry.path().map(|name| name.to_string_lossy().trim_start_matches("./").to_string());
            if let Ok(name) = name {
                members.insert(name, (entry.raw_file_position(), entry.size()));
            }
        }
        if !members.contains_key("manifest.json") && !members.contains_key("index.json") {
            return Err(not_image("the tarball has neither manifest.json nor index.json".into()));
        }
        Ok(Store::Tarball { path: path.to_path_buf(), members })
    }

    /// A blob's bytes as a stream (`name`: a tarball member, or `sha256:HEX` in a layout).
    fn reader(&self, name: &str) -> std::io::Result<Box<dyn Read>> {
        match self {
            Store::Tarball { path, members } => {
                let (offset, size) =
                    members.get(name).or_else(|| members.get(&blob_path(name))).copied().ok_or_else(|| {
                        std::io::Error::new(std::io::ErrorKind::NotFound, format!("no {name} in the tarball"))
                    })?;
                let mut file = File::open(path)?;
                file.seek(SeekFrom::Start(offset))?;
                Ok(Box::new(BufReader::with_capacity(1 << 16, file).take(size)))
            }
            Store::Layout { root } => {
                let relative = if name.contains(':') { blob_path(name) } else { name.to_string() };
                // Digests are checked to be `algorithm:hex` before they name a file.
                Ok(Box::new(BufReader::with_capacity(1 << 16, File::open(root.join(relative))?)))
            }
        }
    }

    fn json(&self, name: &str) -> Result<Value, String> {
        let mut text = Vec::new();
        self.reader(name)
            .and_then(|reader| reader.take(MAX_METADATA).read_to_end(&mut text))
            .map_err(|err| format!("reading {name}: {err}"))?;
        serde_json::from_slice(&text).map_err(|err| format!("{name} is not JSON: {err}"))
    }
}

/// `sha256:HEX` -> `blobs/sha256/HEX` (the layout path), for well-formed digests only.
fn blob_path(digest: &str) -> String {
    match digest.split_once(':') {
        Some((algorithm, hex))
            if algorithm.bytes().all(|byte| byte.is_ascii_alphanumeric())
                && !hex.is_empty()
                && hex.bytes().all(|byte| byte.is_ascii_hexdigit()) =>
        {
            format!("blobs/{algorithm}/{hex}")
        }
        _ => String::from("blobs/invalid-digest"),
    }
}

/// The manifest of the image: `manifest.json` (docker save), else the OCI index's first image manifest.
fn manifest(store: &Store) -> Result<Manifest, String> {
    if let Store::Tarball { members, .. } = store {
        if members.contains_key("manifest.json") {
            let list = store.json("manifest.json")?;
            let first = list.get(0).ok_or("manifest.json lists no image")?;
            let layers = first
                .get("Layers")
                .and_then(Value::as_array)
                .ok_or("manifest.json has no Layers")?
                .iter()
                .filter_map(Value::as_str)
                .map(|blob| Layer { digest: layer_digest(blob), blob: blob.to_string() })
                .collect();
            let config = first.get("Config").and_then(Value::as_str).map(str::to_string);
            return Ok(Manifest { config, layers });
        }
    }
    let mut document = store.json("index.json")?;
    // An index may point at further indexes (multi-platform images): follow to the first image manifest.
    for _ in 0..4 {
        let Some(manifests) = document.get("manifests").and_then(Value::as_array) else { break };
        let chosen = manifests
            .iter()
            .find(|manifest| {
                manifest.pointer("/platform/os").and_then(Value::as_str).is_none_or(|os| os == "linux")
                    && manifest
                        .pointer("/platform/architecture")
                        .and_then(Value::as_str)
                        .is_none_or(|arch| arch == "amd64")
            })
            .or_else(|| manifests.first())
            .ok_or("the image index lists no manifest")?;
        let digest = chosen.get("digest").and_then(Value::as_str).ok_or("a manifest entry has no digest")?;
        document = store.json(digest)?;
    }
    let layers = document
        .get("layers")
        .and_then(Value::as_array)
        .ok_or("the image manifest has no layers")?
        .iter()
        .filter_map(|layer| layer.get("digest").and_then(Value::as_str))
        .map(|digest| Layer { digest: digest.to_string(), blob: digest.to_string() })
        .collect();
    let config = document.pointer("/config/digest").and_then(Value::as_str).map(str::to_string);
    Ok(Manifest { config, layers })
}

/// A layer's digest from its tarball member name (`blobs/sha256/HEX` or `HEX/layer.tar`).
fn layer_digest(blob: &str) -> String {
    if let Some(hex) = blob.strip_prefix("blobs/sha256/") {
        return format!("sha256:{hex}");
    }
    match blob.split('/').next() {
        Some(id) if id.len() == 64 && id.bytes().all(|byte| byte.is_ascii_hexdigit()) => format!("sha256:{id}"),
        _ => blob.to_string(),
    }
}

/// The decompressed stream of a layer: gzip, zstd or a plain tar, told by its first bytes.
fn decompressed(mut raw: Box<dyn Read>) -> std::io::Result<Box<dyn Read>> {
    let mut magic = [0u8; 4];
    let mut filled = 0;
    while filled < magic.len() {
        match raw.read(&mut magic[filled..])? {
            0 => break,
            read => filled += read,
        }
    }
    let stream: Box<dyn Read> = Box::new(std::io::Cursor::new(magic[..filled].to_vec()).chain(raw));
    Ok(match magic {
        [0x1f, 0x8b, ..] => Box::new(flate2::read::MultiGzDecoder::new(stream)),
        [0x28, 0xb5, 0x2f, 0xfd] => Box::new(
            ruzstd::decoding::StreamingDecoder::new(stream)
                .map_err(|err| std::io::Error::new(std::io::ErrorKind::InvalidData, err.to_string()))?,
        ),
        _ => stream,
    })
}

/// What an image scan found, and what identifies the image and its layers.
#[derive(Debug, Default)]
pub struct ImageScan {
    /// Findings and totals.
    pub results: super::ScanResults,
    /// The image id (its config's digest), when the manifest names one.
    pub image_id: Option<String>,
    /// The layers' digests, in order.
    pub layers: Vec<String>,
}

/// Files of a layer, read by a reader thread and scanned by a worker
/// (batched: one hand-over per batch, not per small file).
struct Batch {
    layer: usize,
    files: Vec<(String, Vec<u8>)>,
}

/// A batch is handed over once it holds this many bytes or [`BATCH_FILES`] files.
const BATCH_BYTES: usize = 1 << 20;
/// See [`BATCH_BYTES`].
const BATCH_FILES: usize = 64;

/// What one layer holds and hides, as its reader saw it.
#[derive(Default)]
struct LayerIndex {
    files: HashSet<String>,
    whiteouts: Vec<String>,
    opaque: Vec<String>,
}

/// Scans the image at `path` (a `docker save` tarball or an OCI layout), its
/// findings named after `label` (the path, or the registry reference it was pulled from), with
/// `threads` scanning workers (0: one per CPU core). Layers are decompressed
/// by up to as many reader threads, each walking its layer's tar stream in
/// order and handing the files to the workers in batches, so one large layer
/// is scanned in parallel too.
pub fn scan_image(
    path: &Path,
    label: &str,
    scanner: &crate::engine::Scanner,
    content: super::ContentOptions,
    threads: usize,
) -> Result<ImageScan, ImageError> {
    let store = Store::open(path)?;
    let manifest = manifest(&store).map_err(|detail| ImageError::NotAnImage { path: path.to_path_buf(), detail })?;
    let image = Origin::File(PathBuf::from(label));
    let layer_origins: Vec<Origin> =
        manifest.layers.iter().map(|layer| Origin::archive_member(&image, layer.digest.clone())).collect();
    let digests: Vec<String> = manifest.layers.iter().map(|layer| layer.digest.clone()).collect();
    let threads = if threads == 0 { std::thread::available_parallelism().map_or(2, usize::from) } else { threads };
    let mut results = super::ScanResults::default();
    if let Some(config) = &manifest.config {
        let mut worker = Worker::new(scanner, content);
        scan_config(&store, config, &image, &mut worker);
        results.merge(worker.results);
    }
    let (sender, receiver) = std::sync::mpsc::sync_channel::<Batch>(threads * 2);
    let receiver = std::sync::Mutex::new(receiver);
    let next_layer = std::sync::atomic::AtomicUsize::new(0);
    let (scanned, read) = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                let (receiver, layer_origins) = (&receiver, &layer_origins);
                scope.spawn(move || scan_batches(scanner, content, receiver, layer_origins))
            })
            .collect();
        let readers: Vec<_> = (0..threads.min(manifest.layers.len()))
            .map(|_| {
                let (store, manifest, layer_origins, next_layer) = (&store, &manifest, &layer_origins, &next_layer);
                let sender = sender.clone();
                scope.spawn(move || {
                    let mut stats = super::ScanResults::default();
                    let mut indexes = Vec::new();
                    loop {
                        let index = next_layer.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(layer) = manifest.layers.get(index) else { break };
                        let mut layer_index = LayerIndex::default();
                        let stream = store.reader(&layer.blob).and_then(decompressed);
                        let origin = &layer_origins[index];
                        let read = stream.and_then(|stream| {
                            read_layer(stream, index, origin, content.max_size, &mut stats, &mut layer_index, &sender)
                        });
                        if let Err(err) = read {
                            stats.stats.skip(
                                origin.display_path(),
                                SkipReason::Unreadable,
                                Some(format!("layer: {err}")),
                            );
                        }
                        indexes.push((index, layer_index));
                    }
                    (stats, indexes)
                })
            })
            .collect();
        drop(sender);
        let read: Vec<_> = readers.into_iter().map(|reader| reader.join().expect("a layer reader panicked")).collect();
        let scanned: Vec<_> =
            workers.into_iter().map(|worker| worker.join().expect("a scanning worker panicked")).collect();
        (scanned, read)
    });
    let mut layers: Vec<LayerIndex> = (0..manifest.layers.len()).map(|_| LayerIndex::default()).collect();
    for (stats, indexes) in read {
        results.merge(stats);
        for (index, layer_index) in indexes {
            layers[index] = layer_index;
        }
    }
    for (worker_results, placed) in scanned {
        let offset = results.findings.len();
        results.merge(worker_results);
        for (finding, index, file) in placed {
            if let Some(fate) = fate(&layers, index, &file, &digests) {
                results.findings[offset + finding].context.push(fate);
            }
        }
    }
    let image_id = manifest.config.as_deref().map(layer_digest);
    Ok(ImageScan { results, image_id, layers: digests })
}

/// A scanning worker: batches until the readers are done; returns its results
/// and, for each of its findings, the layer and path it came from.
fn scan_batches(
    scanner: &crate::engine::Scanner,
    content: super::ContentOptions,
    receiver: &std::sync::Mutex<std::sync::mpsc::Receiver<Batch>>,
    layer_origins: &[Origin],
) -> (super::ScanResults, Vec<(usize, usize, String)>) {
    let mut worker = Worker::new(scanner, content);
    let mut placed = Vec::new();
    loop {
        let batch = receiver.lock().unwrap_or_else(std::sync::PoisonError::into_inner).recv();
        let Ok(batch) = batch else { break };
        for (path, bytes) in batch.files {
            let origin = Origin::archive_member(&layer_origins[batch.layer], path.clone());
            let before = worker.results.findings.len();
            worker.scan_content(&bytes, &origin);
            for finding in before..worker.results.findings.len() {
                placed.push((finding, batch.layer, path.clone()));
            }
        }
    }
    (worker.results, placed)
}

/// How a later layer hides `path` of layer `index`, if one does.
fn fate(layers: &[LayerIndex], index: usize, path: &str, digests: &[String]) -> Option<String> {
    let under = |dir: &String| path == dir || path.starts_with(&format!("{dir}/"));
    for (later, (layer, digest)) in layers.iter().zip(digests).enumerate().skip(index + 1) {
        if layer.whiteouts.iter().any(under) || layer.opaque.iter().any(under) {
            return Some(format!(
                "deleted by layer {} ({digest}), but still in layer {} of the image: anyone who pulls it can read it",
                later + 1,
                index + 1
            ));
        }
        if layer.files.contains(path) {
            return Some(format!(
                "overwritten by layer {} ({digest}), but still in layer {} of the image",
                later + 1,
                index + 1
            ));
        }
    }
    None
}

/// Reads one layer's tar stream: records whiteouts and files, hands the
/// regular files to the workers in batches (skips are counted in `skips`).
fn read_layer(
    stream: Box<dyn Read>,
    index: usize,
    layer: &Origin,
    max_size: u64,
    skips: &mut super::ScanResults,
    seen: &mut LayerIndex,
    jobs: &std::sync::mpsc::SyncSender<Batch>,
) -> std::io::Result<()> {
    let mut archive = tar::Archive::new(stream);
    let mut batch = Batch { layer: index, files: Vec::new() };
    let mut batch_bytes = 0;
    for entry in archive.entries()? {
        let mut entry = entry?;
        let name = entry.path()?.to_string_lossy().trim_start_matches("./").trim_end_matches('/').to_string();
        let (dir, file) = name.rsplit_once('/').unwrap_or(("", name.as_str()));
        if file == ".wh..wh..opq" {
            seen.opaque.push(dir.to_string());
            continue;
        }
        if let Some(deleted) = file.strip_prefix(".wh.") {
            seen.whiteouts.push(if dir.is_empty() { deleted.to_string() } else { format!("{dir}/{deleted}") });
            continue;
        }
        if !entry.header().entry_type().is_file() {
            continue;
        }
        seen.files.insert(name.clone());
        if entry.size() > max_size {
            let detail = format!("{} bytes; the limit is --max-file-size {max_size}", entry.size());
            skips.stats.skip(Origin::archive_member(layer, name).display_path(), SkipReason::TooLarge, Some(detail));
            continue;
        }
        let mut content = Vec::with_capacity(usize::try_from(entry.size()).unwrap_or(0));
        if let Err(err) = (&mut entry).take(max_size).read_to_end(&mut content) {
            let where_ = Origin::archive_member(layer, name).display_path();
            skips.stats.skip(where_, SkipReason::Unreadable, Some(err.to_string()));
            continue;
        }
        batch_bytes += content.len();
        batch.files.push((name, content));
        if batch_bytes >= BATCH_BYTES || batch.files.len() >= BATCH_FILES {
            let full = std::mem::replace(&mut batch, Batch { layer: index, files: Vec::new() });
            batch_bytes = 0;
            if jobs.send(full).is_err() {
                return Ok(()); // the workers are gone (a panic): nothing more can be scanned
            }
        }
    }
    if !batch.files.is_empty() {
        let _ = jobs.send(batch);
    }
    Ok(())
}

/// Scans the config's environment, command, labels and build history (one value per line).
fn scan_config(store: &Store, config: &str, image: &Origin, worker: &mut Worker<'_>) {
    let origin = |section: &str| Origin::archive_member(image, format!("config/{section}"));
    let document = match store.json(config) {
        Ok(document) => document,
        Err(detail) => {
            worker.results.stats.skip(origin("").display_path(), SkipReason::Unreadable, Some(detail));
            return;
        }
    };
    let mut sections: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    let strings = |value: Option<&Value>| -> Vec<String> {
        value.and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str).map(str::to_string).collect()
    };
    sections.insert("Env", strings(document.pointer("/config/Env")));
    let mut command = strings(document.pointer("/config/Entrypoint"));
    command.extend(strings(document.pointer("/config/Cmd")));
    sections.insert("Cmd", vec![command.join(" ")]);
    let labels = document.pointer("/config/Labels").and_then(Value::as_object);
    sections.insert(
        "Labels",
        labels
            .into_iter()
            .flatten()
            .map(|(key, value)| format!("{key}={}", value.as_str().unwrap_or_default()))
            .collect(),
    );
    let history = document.get("history").and_then(Value::as_array);
    sections.insert(
        "history",
        history
            .into_iter()
            .flatten()
            .map(|step| step.get("created_by").and_then(Value::as_str).unwrap_or_default().to_string())
            .collect(),
    );
    for (section, lines) in sections {
        if lines.iter().all(String::is_empty) {
            continue;
        }
        let text = lines.join("\n") + "\n";
        worker.scan_content(text.as_bytes(), &origin(section));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_name_layout_blobs_and_nothing_else() {
        assert_eq!(blob_path("sha256:0123abcd"), "blobs/sha256/0123abcd");
        assert_eq!(blob_path("sha256:../../etc/passwd"), "blobs/invalid-digest");
        assert_eq!(blob_path("../x"), "blobs/invalid-digest");
        assert_eq!(layer_digest(&format!("{}/layer.tar", "a".repeat(64))), format!("sha256:{}", "a".repeat(64)));
        assert_eq!(layer_digest("blobs/sha256/beef"), "sha256:beef");
    }
}

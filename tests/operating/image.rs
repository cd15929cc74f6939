//! The controller's image (issue 14): scripts/image.sh packages this test's binary into an OCI
//! archive without a container daemon, twice; the archive is read back by other tools than the
//! writer (skopeo, umoci, tar) and its binary is run from the layer, both with the layer's own
//! dynamic loader and libraries and in a container with crun. The Dockerfile and the Deployment
//! are checked against the same configuration. Needs umoci, skopeo and crun
//! (`scripts/tools.sh install`).

use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

const VERSION: &str = env!("CARGO_PKG_VERSION");
const NONROOT: u64 = 65532;

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Fails with the way to install `tool` when it is not on PATH.
fn need(tool: &str) {
    let found = Command::new(tool)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok();
    assert!(
        found,
        "{tool} is missing: run `scripts/tools.sh install` (it installs umoci, skopeo and crun)"
    );
}

/// Runs `cmd` (stdin closed), killing it after `limit`; fails unless it exits 0.
fn run(cmd: &mut Command, limit: Duration) -> Output {
    let out = run_unchecked(cmd, limit);
    assert!(
        out.status.success(),
        "{cmd:?} failed ({}):\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn run_unchecked(cmd: &mut Command, limit: Duration) -> Output {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{cmd:?} does not start: {e}"));
    let deadline = Instant::now() + limit;
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!(
                "{cmd:?} still running after {limit:?}:\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

fn stdout(cmd: &mut Command) -> String {
    String::from_utf8(run(cmd, Duration::from_secs(60)).stdout).unwrap()
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// One entry of the layer: `tar --numeric-owner --full-time -tv` fields.
#[derive(Debug)]
struct Entry {
    mode: String,
    owner: String,
    time: String,
}

/// What the built image is, gathered once (the scratch directory is removed afterwards).
struct Facts {
    /// The script's stdout: archive path, manifest digest.
    printed: Vec<String>,
    second_digest: String,
    archives_identical: bool,
    manifest: Value,
    manifest_digest: String,
    index: Value,
    config: Value,
    layer: BTreeMap<String, Entry>,
    /// The runtime config umoci derives from the image (what a kubelet's runtime would run).
    runtime_process: Value,
    /// `ld.so --list` and `--version` of /pitagora through the layer's loader and libraries.
    loader_list: String,
    loader_version: String,
    rootfs: String,
    passwd: String,
    /// `/pitagora --version` in a crun container: Ok(stdout) or Err(how it failed).
    crun: Result<String, String>,
}

fn facts() -> &'static Facts {
    static FACTS: OnceLock<Facts> = OnceLock::new();
    FACTS.get_or_init(gather)
}

/// Removes the scratch directory however `gather` ends.
struct Scratch(PathBuf);
impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn build(out: &Path) -> Vec<String> {
    let printed = stdout(
        Command::new(repo().join("scripts/image.sh"))
            .args(["--binary", env!("CARGO_BIN_EXE_pitagora"), "--out"])
            .arg(out)
            // The defaults: the commit's revision and time.
            .env_remove("SOURCE_DATE_EPOCH")
            .env_remove("PITAGORA_REVISION")
            .env_remove("PITAGORA_SOURCE"),
    );
    printed.lines().map(str::to_owned).collect()
}

fn gather() -> Facts {
    for tool in ["umoci", "skopeo", "crun"] {
        need(tool);
    }
    let scratch = Scratch(
        PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("image-{}", std::process::id())),
    );
    let dir = &scratch.0;
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).unwrap();
    let (first, second) = (dir.join("first.oci.tar"), dir.join("second.oci.tar"));
    let printed = build(&first);
    let second_digest = build(&second).get(1).cloned().unwrap_or_default();
    let archives_identical = std::fs::read(&first).unwrap() == std::fs::read(&second).unwrap();

    let archive = format!("oci-archive:{}", first.display());
    let raw = run(
        Command::new("skopeo").args(["inspect", "--raw", &archive]),
        Duration::from_secs(60),
    )
    .stdout;
    let manifest_digest = format!("sha256:{:x}", Sha256::digest(&raw));
    let manifest: Value = serde_json::from_slice(&raw).unwrap();
    let config: Value = serde_json::from_str(&stdout(
        Command::new("skopeo").args(["inspect", "--config", &archive]),
    ))
    .unwrap();
    let index: Value = serde_json::from_str(&stdout(
        Command::new("tar")
            .arg("-xOf")
            .arg(&first)
            .arg("index.json"),
    ))
    .unwrap();

    // The layout as skopeo copies it, the layer as tar lists it, the bundle as umoci unpacks it.
    let layout = dir.join("layout");
    run(
        Command::new("skopeo")
            .args(["copy", "-q", &archive])
            .arg(format!("oci:{}:smoke", layout.display())),
        Duration::from_secs(60),
    );
    let blob = manifest["layers"][0]["digest"]
        .as_str()
        .expect("a layer")
        .replace(':', "/");
    let listing = stdout(
        Command::new("tar")
            .args(["--numeric-owner", "--full-time", "-tvzf"])
            .arg(layout.join("blobs").join(blob))
            .env("TZ", "UTC"),
    );
    let layer = listing
        .lines()
        .map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            assert_eq!(f.len(), 6, "unexpected tar listing line {line:?}");
            let name = f[5].trim_end_matches('/').to_owned();
            let entry = Entry {
                mode: f[0].to_owned(),
                owner: f[1].to_owned(),
                time: format!("{}T{}Z", f[3], f[4]),
            };
            (name, entry)
        })
        .collect::<BTreeMap<_, _>>();

    let bundle = dir.join("bundle");
    let mut unpack = Command::new("umoci");
    unpack.arg("unpack");
    if !is_root() {
        unpack.arg("--rootless");
    }
    run(
        unpack
            .arg("--image")
            .arg(format!("{}:smoke", layout.display()))
            .arg(&bundle),
        Duration::from_secs(60),
    );
    let spec_path = bundle.join("config.json");
    let mut spec: Value = serde_json::from_slice(&std::fs::read(&spec_path).unwrap()).unwrap();
    let runtime_process = spec["process"].clone();

    // The loader of the layer, with the layer's library directories only.
    let rootfs = bundle.join("rootfs");
    let loader = layer
        .keys()
        .find(|name| {
            name.rsplit('/')
                .next()
                .is_some_and(|file| file.starts_with("ld-linux"))
        })
        .map(|name| rootfs.join(name))
        .expect("the layer has a dynamic loader (ld-linux*)");
    let lib_dirs: BTreeSet<String> = layer
        .keys()
        .filter(|name| name.contains(".so"))
        .filter_map(|name| Path::new(name).parent())
        .map(|parent| rootfs.join(parent).display().to_string())
        .collect();
    let lib_path = lib_dirs.into_iter().collect::<Vec<_>>().join(":");
    let through_loader = |before: &str, after: &str| {
        stdout(
            Command::new(&loader)
                .args(["--inhibit-cache", "--library-path", &lib_path])
                .args((!before.is_empty()).then_some(before))
                .arg(rootfs.join("pitagora"))
                .args((!after.is_empty()).then_some(after))
                .env_clear(),
        )
    };
    let loader_list = through_loader("--list", "");
    let loader_version = through_loader("", "--version");
    let passwd = std::fs::read_to_string(rootfs.join("etc/passwd")).unwrap();

    // The container: the image's user and environment, a read-only root (as in the Deployment).
    spec["process"]["args"] = serde_json::json!(["/pitagora", "--version"]);
    spec["process"]["terminal"] = Value::Bool(false);
    spec["root"]["readonly"] = Value::Bool(true);
    std::fs::write(&spec_path, serde_json::to_vec(&spec).unwrap()).unwrap();
    let crun = crun(
        &bundle,
        &format!("pitagora-image-test-{}", std::process::id()),
    );

    Facts {
        printed,
        second_digest,
        archives_identical,
        manifest,
        manifest_digest,
        index,
        config,
        layer,
        runtime_process,
        loader_list,
        loader_version,
        rootfs: rootfs.display().to_string(),
        passwd,
        crun,
    }
}

/// Runs the bundle with crun. Without cgroups of its own (`--cgroup-manager=disabled`: a smoke
/// test needs no limits). On a host with hybrid cgroups (v1 controllers plus a v2 hierarchy that
/// has a controller, which crun refuses), as root, it runs in a private mount namespace without
/// the v2 mount, so crun sees plain v1.
fn crun(bundle: &Path, id: &str) -> Result<String, String> {
    let limit = Duration::from_secs(30);
    let direct = run_unchecked(
        Command::new("crun")
            .args(["--cgroup-manager=disabled", "run", "--bundle"])
            .arg(bundle)
            .arg(id),
        limit,
    );
    let out = if !direct.status.success()
        && String::from_utf8_lossy(&direct.stderr).contains("hybrid mode")
        && is_root()
    {
        let _ = run_unchecked(Command::new("crun").args(["delete", "-f", id]), limit);
        run_unchecked(
            Command::new("unshare")
                .args(["--mount", "--propagation", "private", "sh", "-c"])
                .arg(
                    "umount /sys/fs/cgroup/unified && \
                     exec crun --cgroup-manager=disabled run --bundle \"$1\" \"$2\"",
                )
                .arg("sh")
                .arg(bundle)
                .arg(id),
            limit,
        )
    } else {
        direct
    };
    let _ = run_unchecked(Command::new("crun").args(["delete", "-f", id]), limit);
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(format!(
            "{}: {}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

fn git(args: &[&str]) -> String {
    stdout(
        Command::new("git")
            .current_dir(repo())
            .args(args)
            .env("TZ", "UTC"),
    )
    .trim()
    .to_owned()
}

#[test]
fn config_runs_the_controller_as_nonroot_with_the_commit_labels() {
    let f = facts();
    let c = &f.config;
    assert_eq!(c["os"], "linux");
    assert_eq!(c["config"]["User"], "65532:65532");
    assert_eq!(c["config"]["Entrypoint"], serde_json::json!(["/pitagora"]));
    assert_eq!(c["config"]["Cmd"], serde_json::json!(["run"]));
    let env = c["config"]["Env"].as_array().unwrap();
    assert!(
        env.contains(&Value::from(
            "SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt"
        )),
        "{env:?}"
    );
    let labels = &c["config"]["Labels"];
    assert_eq!(
        labels["org.opencontainers.image.revision"],
        git(&["rev-parse", "HEAD"])
    );
    assert_eq!(labels["org.opencontainers.image.version"], VERSION);
    let committed = git(&[
        "log",
        "-1",
        "--format=%cd",
        "--date=format-local:%Y-%m-%dT%H:%M:%SZ",
    ]);
    assert_eq!(c["created"], committed.as_str(), "dated at the commit");
    assert_eq!(
        labels["org.opencontainers.image.created"],
        committed.as_str()
    );
    // Tagged as the Deployment runs it.
    let tag = &f.index["manifests"][0]["annotations"]["org.opencontainers.image.ref.name"];
    assert_eq!(*tag, VERSION);
    // What a runtime makes of it: uid/gid 65532, /pitagora run.
    assert_eq!(f.runtime_process["user"]["uid"], NONROOT);
    assert_eq!(f.runtime_process["user"]["gid"], NONROOT);
    assert_eq!(
        f.runtime_process["args"],
        serde_json::json!(["/pitagora", "run"])
    );
}

#[test]
fn layer_holds_the_binary_its_libraries_and_no_shell() {
    let f = facts();
    assert_eq!(
        f.manifest["layers"].as_array().unwrap().len(),
        1,
        "one layer"
    );
    let layer = &f.layer;
    let binary = &layer["pitagora"];
    assert_eq!(
        (binary.mode.as_str(), binary.owner.as_str()),
        ("-rwxr-xr-x", "0/0")
    );
    let home = &layer["home/nonroot"];
    assert_eq!(
        (home.mode.as_str(), home.owner.as_str()),
        ("drwx------", "65532/65532")
    );
    assert_eq!(layer["tmp"].mode, "drwxrwxrwt");
    assert!(
        f.passwd
            .lines()
            .any(|l| l.starts_with("nonroot:x:65532:65532:")),
        "no nonroot user in /etc/passwd:\n{}",
        f.passwd
    );
    for name in ["bin", "bin/sh", "usr/bin", "bin/bash", "bin/busybox"] {
        assert!(
            !layer.contains_key(name),
            "{name} in the image: {:?}",
            layer.keys()
        );
    }
    // Regular files: the binary, the identity and TLS files, shared objects; nothing else.
    let expected = [
        "pitagora",
        "etc/passwd",
        "etc/group",
        "etc/nsswitch.conf",
        "etc/ssl/certs/ca-certificates.crt",
    ];
    for (name, entry) in layer {
        assert_eq!(
            entry.owner,
            if name == "home/nonroot" {
                "65532/65532"
            } else {
                "0/0"
            }
        );
        if entry.mode.starts_with('-') {
            assert!(
                expected.contains(&name.as_str()) || name.contains(".so"),
                "unexpected file {name} in the image"
            );
        }
        assert!(
            !entry.mode.starts_with('l'),
            "symlink {name}: libraries are copied"
        );
    }
    for name in expected {
        assert!(
            layer.contains_key(name),
            "{name} missing: {:?}",
            layer.keys()
        );
    }
    // Every entry is dated at the image's creation (the commit), not at build time.
    let created = f.config["created"].as_str().unwrap();
    for (name, entry) in layer {
        assert_eq!(entry.time, created, "{name} mtime");
    }
}

#[test]
fn binary_runs_from_the_layer_with_the_layer_libraries_only() {
    let f = facts();
    for line in f.loader_list.lines() {
        if let Some((_, resolved)) = line.split_once("=> ") {
            assert!(
                resolved.trim_start().starts_with(&f.rootfs),
                "resolved outside the layer: {line}\n{}",
                f.loader_list
            );
        } else {
            assert!(
                line.contains("vdso"),
                "unresolved library: {line}\n{}",
                f.loader_list
            );
        }
    }
    assert_eq!(f.loader_version.trim(), format!("pitagora {VERSION}"));
}

#[test]
fn binary_runs_in_a_container() {
    let out = facts()
        .crun
        .as_ref()
        .unwrap_or_else(|e| panic!("crun could not run the image: {e}"));
    assert_eq!(out.trim(), format!("pitagora {VERSION}"));
}

#[test]
fn two_builds_give_the_same_image() {
    let f = facts();
    assert_eq!(f.printed.len(), 2, "path and digest: {:?}", f.printed);
    assert_eq!(
        f.printed[1], f.manifest_digest,
        "the printed digest is the manifest's"
    );
    assert_eq!(
        f.index["manifests"][0]["digest"],
        f.manifest_digest.as_str()
    );
    assert_eq!(
        f.second_digest, f.manifest_digest,
        "same manifest digest twice"
    );
    assert!(
        f.archives_identical,
        "the two archives differ byte for byte"
    );
}

#[test]
fn dockerfile_describes_the_same_image() {
    let text = std::fs::read_to_string(repo().join("Dockerfile")).unwrap();
    for line in [
        "FROM rust:1.95-bookworm AS build".to_owned(),
        "FROM gcr.io/distroless/cc-debian12:nonroot".to_owned(),
        "USER 65532:65532".to_owned(),
        r#"ENTRYPOINT ["/pitagora"]"#.to_owned(),
        r#"CMD ["run"]"#.to_owned(),
        "ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt".to_owned(),
        format!("ARG VERSION={VERSION}"),
    ] {
        assert!(text.lines().any(|l| l == line), "Dockerfile lacks `{line}`");
    }
    assert!(text.contains("cargo build --release --locked"));
}

#[test]
fn deployment_runs_this_image_locked_down() {
    let text = std::fs::read_to_string(repo().join("manifests/deployment.yaml")).unwrap();
    let doc: Value = serde_saphyr::from_str(&text).unwrap();
    let pod = &doc["spec"]["template"]["spec"];
    let c = &pod["containers"][0];
    assert_eq!(c["image"], format!("pitagora:{VERSION}"));
    assert_eq!(c["imagePullPolicy"], "IfNotPresent");
    assert_eq!(c["args"][0], "run", "the image's CMD");
    assert_eq!(pod["securityContext"]["runAsNonRoot"], true);
    assert_eq!(pod["securityContext"]["runAsUser"], NONROOT);
    assert_eq!(pod["securityContext"]["runAsGroup"], NONROOT);
    let sc = &c["securityContext"];
    assert_eq!(sc["readOnlyRootFilesystem"], true);
    assert_eq!(sc["allowPrivilegeEscalation"], false);
    assert_eq!(sc["capabilities"]["drop"], serde_json::json!(["ALL"]));
}

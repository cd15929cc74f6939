//! The parameters fluentd's own plugins know, with the kind of value each takes: the forward
//! output (`<server>` included) and the `<buffer>` section of every output with fluentd's buffer
//! plugins, as fluentd 1.x's sources declare them (`config_param` in `out_forward.rb`,
//! `output.rb`, `buffer.rb`, `buf_file.rb`, `buf_file_single.rb`).
//!
//! fluentd refuses a value of the wrong kind for an enumeration and reads a malformed number or
//! size as zero; a parameter its plugin does not know it ignores with a warning. pitagora refuses
//! both in a verbatim store: the fluentd is shared by every team, and an ignored `retry_forver
//! true` would silently drop that route's logs after 72 hours.

/// What a parameter's value must be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Free text (hosts, paths, names).
    Text,
    /// `true`, `false`, `yes` or `no`.
    Bool,
    /// A whole number.
    Integer,
    /// A decimal number.
    Float,
    /// A duration: a number with an optional `s`, `m`, `h` or `d`.
    Time,
    /// A size above zero: a number with an optional `k`, `m`, `g` or `t`.
    Size,
    /// One of these words.
    Enum(&'static [&'static str]),
}

use Kind::*;

/// The parameters every plugin takes.
const PLUGIN: &[(&str, Kind)] = &[
    ("@type", Text),
    ("@id", Text),
    ("@label", Text),
    (
        "@log_level",
        Enum(&["trace", "debug", "info", "warn", "error", "fatal"]),
    ),
];

/// The parameters every output takes.
const OUTPUT: &[(&str, Kind)] = &[
    ("time_as_integer", Bool),
    ("slow_flush_log_threshold", Float),
];

/// `out_forward`'s own parameters.
const FORWARD: &[(&str, Kind)] = &[
    ("transport", Enum(&["tcp", "tls"])),
    ("send_timeout", Time),
    ("connect_timeout", Time),
    ("heartbeat_type", Enum(&["transport", "tcp", "udp", "none"])),
    ("heartbeat_interval", Time),
    ("recover_wait", Time),
    ("hard_timeout", Time),
    ("phi_threshold", Integer),
    ("phi_failure_detector", Bool),
    ("require_ack_response", Bool),
    ("ack_response_timeout", Time),
    ("read_interval_msec", Integer),
    ("read_length", Size),
    ("expire_dns_cache", Time),
    ("dns_round_robin", Bool),
    ("ignore_network_errors_at_startup", Bool),
    ("verify_connection_at_startup", Bool),
    ("compress", Enum(&["text", "gzip"])),
    ("keepalive", Bool),
    ("keepalive_timeout", Time),
    ("tls_version", Text),
    ("tls_ciphers", Text),
    ("tls_insecure_mode", Bool),
    ("tls_allow_self_signed_cert", Bool),
    ("tls_verify_hostname", Bool),
    ("tls_ca_cert_path", Text),
    ("tls_cert_path", Text),
    ("tls_client_cert_path", Text),
    ("tls_client_private_key_path", Text),
    ("tls_client_private_key_passphrase", Text),
    ("tls_cert_thumbprint", Text),
    ("tls_cert_logical_store_name", Text),
    ("tls_cert_use_enterprise_store", Bool),
];

/// `out_forward`'s `<server>`.
const SERVER: &[(&str, Kind)] = &[
    ("host", Text),
    ("name", Text),
    ("port", Integer),
    ("shared_key", Text),
    ("username", Text),
    ("password", Text),
    ("standby", Bool),
    ("weight", Integer),
];

/// An output's `<buffer>` section, whatever its buffer plugin.
const BUFFER: &[(&str, Kind)] = &[
    ("@type", Text),
    ("timekey", Time),
    ("timekey_wait", Time),
    ("timekey_use_utc", Bool),
    ("timekey_zone", Text),
    ("flush_at_shutdown", Bool),
    (
        "flush_mode",
        Enum(&["default", "lazy", "interval", "immediate"]),
    ),
    ("flush_interval", Time),
    ("flush_thread_count", Integer),
    ("flush_thread_interval", Float),
    ("flush_thread_burst_interval", Float),
    ("delayed_commit_timeout", Time),
    (
        "overflow_action",
        Enum(&["throw_exception", "block", "drop_oldest_chunk"]),
    ),
    ("retry_forever", Bool),
    ("retry_timeout", Time),
    ("retry_max_times", Integer),
    ("retry_secondary_threshold", Float),
    ("retry_type", Enum(&["exponential_backoff", "periodic"])),
    ("retry_wait", Time),
    ("retry_exponential_backoff_base", Float),
    ("retry_max_interval", Time),
    ("retry_randomize", Bool),
    ("disable_chunk_backup", Bool),
    ("chunk_limit_size", Size),
    ("chunk_limit_records", Integer),
    ("total_limit_size", Size),
    ("queue_limit_length", Integer),
    ("chunk_full_threshold", Float),
    ("queued_chunks_limit_size", Integer),
    ("compress", Enum(&["text", "gzip", "zstd"])),
];

/// What the file buffers add.
const FILE_BUFFER: &[(&str, Kind)] = &[
    ("path", Text),
    ("path_suffix", Text),
    ("file_permission", Text),
    ("dir_permission", Text),
];

/// What the single-file buffer adds.
const FILE_SINGLE_BUFFER: &[(&str, Kind)] = &[
    ("path", Text),
    ("calc_num_records", Bool),
    ("chunk_format", Enum(&["msgpack", "text", "auto"])),
    ("file_permission", Text),
    ("dir_permission", Text),
];

/// Where a directive sits, for the parameters it may hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Section<'a> {
    /// The body of an output, by its `@type`.
    Output(&'a str),
    /// `<server>` of a forward output.
    Server,
    /// `<buffer>`, by its `@type` (`memory` when unset).
    Buffer(&'a str),
}

/// The parameters `section` takes, when pitagora knows them (fluentd's own plugins).
fn known(section: Section) -> Option<Vec<(&'static str, Kind)>> {
    let tables: Vec<&[(&str, Kind)]> = match section {
        Section::Output("forward") => vec![PLUGIN, OUTPUT, FORWARD],
        Section::Output(_) => return None,
        Section::Server => vec![SERVER],
        Section::Buffer("memory") => vec![BUFFER],
        Section::Buffer("file") => vec![BUFFER, FILE_BUFFER],
        Section::Buffer("file_single") => vec![BUFFER, FILE_SINGLE_BUFFER],
        Section::Buffer(_) => return None,
    };
    Some(tables.into_iter().flatten().copied().collect())
}

/// Why the parameter `key value` does not belong in `section`, when it does not; `None` also
/// when pitagora does not know the section's plugin.
pub fn problem(section: Section, key: &str, value: &str) -> Option<String> {
    let params = known(section)?;
    let Some((_, kind)) = params.iter().find(|(k, _)| *k == key) else {
        return Some(format!(
            "is not a parameter of {}: fluentd would ignore it with a warning (a misspelt setting silently left at its default)",
            describe(section)
        ));
    };
    (!fits(*kind, value)).then(|| format!("takes {}", expected(*kind)))
}

fn describe(section: Section) -> String {
    match section {
        Section::Output(plugin) => format!("the {plugin} output"),
        Section::Server => "<server>".to_owned(),
        Section::Buffer(plugin) => format!("a {plugin} <buffer>"),
    }
}

fn expected(kind: Kind) -> String {
    match kind {
        Text => "text".to_owned(),
        Bool => "true or false".to_owned(),
        Integer => "a whole number".to_owned(),
        Float => "a number".to_owned(),
        Time => "a duration such as 5s, 10m or 1h".to_owned(),
        Size => "a size above zero such as 8m or 512m".to_owned(),
        Enum(words) => format!("one of {}", words.join(", ")),
    }
}

fn fits(kind: Kind, value: &str) -> bool {
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let number = |s: &str| match s.split_once('.') {
        Some((whole, fraction)) => digits(whole) && digits(fraction),
        None => digits(s),
    };
    let unit = |s: &'static str| {
        move |v: &str| {
            let v = v.strip_suffix(|c: char| s.contains(c)).unwrap_or(v);
            number(v)
        }
    };
    match kind {
        Text => true,
        Bool => matches!(value, "true" | "false" | "yes" | "no"),
        Integer => digits(value.strip_prefix('-').unwrap_or(value)),
        Float => number(value.strip_prefix('-').unwrap_or(value)),
        Time => unit("smhd")(value),
        Size => {
            let lower = value.to_ascii_lowercase();
            unit("kmgt")(&lower) && lower.bytes().any(|b| (b'1'..=b'9').contains(&b))
        }
        Enum(words) => words.contains(&value),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_read_the_way_fluentd_reads_their_kind() {
        let table: &[(Kind, &str, bool)] = &[
            (Size, "8m", true),
            (Size, "512M", true),
            (Size, "1024", true),
            (Size, "0", false),
            (Size, "0m", false),
            (Size, "eight", false),
            (Time, "5s", true),
            (Time, "0.5", true),
            (Time, "soon", false),
            (Bool, "yes", true),
            (Bool, "treu", false),
            (Integer, "-1", true),
            (Integer, "1.5", false),
            (Enum(&["block"]), "blocks", false),
        ];
        for (kind, value, ok) in table {
            assert_eq!(fits(*kind, value), *ok, "{kind:?} {value}");
        }
    }

    #[test]
    fn a_plugin_pitagora_does_not_know_is_left_to_fluentd() {
        assert_eq!(problem(Section::Output("s3"), "anything", "x"), None);
        assert_eq!(problem(Section::Buffer("redis"), "anything", "x"), None);
    }
}

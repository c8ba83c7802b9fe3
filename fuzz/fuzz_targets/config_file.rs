//! The `--config` TOML file: parsed on its own (with its queue declarations resolved) and
//! loaded the way the server loads it (`cauda --config FILE`, settings under the flags' names,
//! checked by clap). Any text must give a configuration or an error message, never a panic;
//! each line is also tried as a `--queue` value.
#![no_main]

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use cauda::config_file::{parse_file, parse_queue_flag, resolve, Place};
use cauda::Config;
use libfuzzer_sys::fuzz_target;

/// One file per fuzzing process, rewritten for each input.
fn path() -> &'static PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        std::env::temp_dir().join(format!("cauda-fuzz-config-{}.toml", std::process::id()))
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(file) = parse_file(Path::new("cauda.toml"), text) {
        for setting in &file.settings {
            assert!(setting.at.to_string().starts_with("cauda.toml:"));
        }
        let _ = resolve(file.queues, "000000000000", "us-east-1");
    }
    for line in text.lines() {
        if let Ok(spec) = parse_queue_flag(line, Place::new("--queue")) {
            assert!(!spec.name.is_empty());
            let _ = resolve(vec![spec], "000000000000", "us-east-1");
        }
    }
    if std::fs::write(path(), data).is_ok() {
        let _ = Config::load(["cauda".as_ref(), "--config".as_ref(), path().as_os_str()]);
    }
});

//! Strict `--key=value` flags (../../README.md, "The contract every peer program keeps"): an
//! unknown or repeated flag, a missing required one or a bad value is a usage error (exit 2),
//! and every message names the bad flag or value and what is valid.

use std::collections::BTreeMap;

pub struct Flags {
    values: BTreeMap<String, String>,
}

impl Flags {
    /// Parses `args` (after the mode), accepting only the keys in `valid`.
    pub fn parse(args: &[String], valid: &[&str]) -> Result<Flags, String> {
        let mut values = BTreeMap::new();
        for arg in args {
            let (key, value) = arg
                .strip_prefix("--")
                .and_then(|kv| kv.split_once('='))
                .ok_or_else(|| format!("'{arg}' is not --key=value"))?;
            if !valid.contains(&key) {
                return Err(format!("unknown flag --{key} (valid: --{})", valid.join(", --")));
            }
            if values.insert(key.to_string(), value.to_string()).is_some() {
                return Err(format!("flag --{key} given twice"));
            }
        }
        Ok(Flags { values })
    }

    /// The flag's text, `default` when absent; no default makes it required.
    pub fn text(&self, key: &str, default: Option<&str>) -> Result<String, String> {
        match (self.values.get(key), default) {
            (Some(v), _) => Ok(v.clone()),
            (None, Some(d)) => Ok(d.to_string()),
            (None, None) => Err(format!("missing required flag --{key}")),
        }
    }

    /// The flag as an integer >= `min` (1 for counts, 0 for a port), `default` when absent.
    pub fn int(&self, key: &str, default: Option<i64>, min: i64) -> Result<i64, String> {
        let text = self.text(key, None).or_else(|e| default.map(|d| d.to_string()).ok_or(e))?;
        match text.parse::<i64>() {
            Ok(v) if v >= min => Ok(v),
            _ => Err(format!("--{key}={text}: want an integer >= {min}")),
        }
    }

    /// The flag as one of `choices`, `default` when absent.
    pub fn choice(
        &self,
        key: &str,
        default: Option<&str>,
        choices: &[&str],
    ) -> Result<String, String> {
        let v = self.text(key, default)?;
        if choices.contains(&v.as_str()) {
            Ok(v)
        } else {
            Err(format!("--{key}={v}: want one of {}", choices.join(", ")))
        }
    }
}

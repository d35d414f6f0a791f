//! Claude Code plugins. The intent travels in settings.json (`enabledPlugins`,
//! `extraKnownMarketplaces`, `pluginConfigs`); what is installed (`plugins/`, with absolute paths
//! and downloads) stays per machine, and Claude Code installs an enabled plugin at its next start.

use std::path::Path;

use serde_json::Value;

use crate::env::Env;

/// The files under `plugins/` that record what is installed on this machine.
const INSTALLED: &[&str] = &["installed_plugins.json", "installed_plugins_v2.json"];

/// Plugins enabled in this machine's settings.json that are not installed here
/// (`name@marketplace`, sorted).
pub fn not_installed(env: &Env) -> Vec<String> {
    let Some(settings) = read_json(&env.claude_dir.join("settings.json")) else {
        return Vec::new();
    };
    let Some(enabled) = settings.get("enabledPlugins").and_then(Value::as_object) else {
        return Vec::new();
    };
    let installed = installed(&env.claude_dir.join("plugins"));
    let mut out: Vec<String> = enabled
        .iter()
        .filter(|(name, on)| on.as_bool() == Some(true) && !installed.contains(*name))
        .map(|(name, _)| name.clone())
        .collect();
    out.sort();
    out
}

/// The plugins the install registry names (`{"plugins": {"name@mkt": …}}`, or the older map at
/// the top level).
fn installed(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for name in INSTALLED {
        let Some(doc) = read_json(&dir.join(name)) else {
            continue;
        };
        let map = doc.get("plugins").filter(|p| p.is_object()).unwrap_or(&doc);
        if let Some(m) = map.as_object() {
            out.extend(m.keys().filter(|k| k.contains('@')).cloned());
        }
    }
    out
}

fn read_json(path: &Path) -> Option<Value> {
    serde_json::from_slice(&std::fs::read(path).ok()?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enabled_but_not_installed_plugins_are_named() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let mut env = Env::from_process(Some(dir.path().join("s")));
        env.claude_dir = dir.path().join(".claude");
        let plugins = env.claude_dir.join("plugins");
        std::fs::create_dir_all(&plugins).unwrap_or_else(|e| panic!("{e}"));
        let settings = r#"{"enabledPlugins": {"a@m": true, "b@m": true, "c@m": false}}"#;
        std::fs::write(env.claude_dir.join("settings.json"), settings)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            not_installed(&env),
            vec!["a@m".to_string(), "b@m".to_string()]
        );
        let registry = r#"{"version": 2, "plugins": {"a@m": [{"scope": "user"}]}}"#;
        std::fs::write(plugins.join("installed_plugins.json"), registry)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(not_installed(&env), vec!["b@m".to_string()]);
    }
}

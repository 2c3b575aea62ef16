//! The dry run's plan: keys grouped by provider and action (API replace, API
//! revoke, guided, gateway, exec), what each group needs, one line per key.

use std::collections::BTreeMap;

use super::action::ActionKind;
use super::runner::Rotator;
use super::target::{How, Target};

impl Rotator<'_> {
    /// The dry run's plan, grouped by provider and action: what each group
    /// will do and what it needs, then one line per key.
    pub(super) fn print_plan(&mut self, ready: &[&Target<'_>]) {
        let mut groups: BTreeMap<(String, (&str, &str)), Vec<&Target<'_>>> = BTreeMap::new();
        for target in ready {
            groups.entry((target.provider_name(), self.group_of(target))).or_default().push(target);
        }
        for ((provider, (group, needs)), targets) in groups {
            let keys = if targets.len() == 1 { "1 key".to_string() } else { format!("{} keys", targets.len()) };
            eprintln!("  {provider}: {group}, {keys} (needs {needs})");
            for target in targets {
                self.summary.planned += 1;
                self.say("plan", &target.label(), &format!("would {}", self.plan_text(target)));
            }
        }
    }

    /// A target's plan group (API replace, API revoke, guided, gateway or
    /// exec) and what that group needs.
    fn group_of(&self, target: &Target<'_>) -> (&'static str, &'static str) {
        match &target.how {
            How::Builtin(ActionKind::Guided) if self.options.gateways.contains_key(&target.provider()) => {
                ("gateway", "the gateway's admin key")
            }
            How::Builtin(kind) => (kind.group(self.options.revoke_only), kind.needs()),
            How::Exec(_) => ("exec", "whatever the command uses"),
        }
    }

    pub(super) fn plan_text(&self, target: &Target<'_>) -> String {
        let mut steps = vec![match &target.how {
            How::Builtin(ActionKind::Guided) => match self.options.gateways.get(&target.provider()) {
                Some(gateway) => format!(
                    "create a replacement through the gateway {} and deactivate the old key after {}",
                    gateway.base_url, gateway.grace
                ),
                None => ActionKind::Guided.describe(false).to_string(),
            },
            How::Builtin(kind) => kind.describe(self.options.revoke_only).to_string(),
            How::Exec(command) => format!("run `{command}` with the finding on stdin"),
        }];
        let new_key = matches!(&target.how, How::Builtin(kind) if kind.issues_new_key(self.options.revoke_only))
            || target.how == How::Builtin(ActionKind::Guided);
        if new_key {
            for delivery in &self.options.deliveries {
                steps.push(format!("deliver the new key: {}", delivery.describe()));
            }
            if self.options.deliveries.is_empty() && target.how != How::Builtin(ActionKind::Guided) {
                steps.push("deliver the new key (give --deliver-env, --deliver-vault or --deliver-exec)".into());
            }
        }
        if target.rule.verify.is_some() {
            steps.push("confirm the exposed key no longer works".into());
        }
        steps.join("; then ")
    }
}

#[cfg(test)]
mod rotation_docs {
    use std::collections::{BTreeMap, BTreeSet};

    use crate::rules::RuleSet;

    const START: &str = "<!-- providers:start -->\n";
    const END: &str = "<!-- providers:end -->";

    /// One table row per provider: its rotation kinds and the actions or console.
    fn table(rules: &RuleSet) -> String {
        let mut providers: BTreeMap<String, (BTreeSet<&str>, Vec<String>)> = BTreeMap::new();
        for rule in &rules.rules {
            let Some(kind) = crate::rotate::action::rotation_of(rule) else { continue };
            let name = rule.provider.as_ref().map_or_else(|| rule.id.clone(), |provider| provider.name.clone());
            let entry = providers.entry(name).or_default();
            let how = match kind {
                crate::rotate::action::ActionKind::Guided => rule
                    .provider
                    .as_ref()
                    .and_then(|provider| provider.console.clone())
                    .map_or_else(|| "console".to_string(), |console| format!("<{console}>")),
                _ => format!("`{}`", kind.name()),
            };
            entry.0.insert(kind.kind());
            if !entry.1.contains(&how) {
                entry.1.push(how);
            }
        }
        let mut text = String::from("| provider | rotation | how |\n|---|---|---|\n");
        for (name, (kinds, how)) in providers {
            let kinds: Vec<&str> = kinds.into_iter().collect();
            text.push_str(&format!("| {name} | {} | {} |\n", kinds.join(", "), how.join(", ")));
        }
        text
    }

    #[test]
    fn docs_rotation_lists_every_provider_with_its_rotation_kind() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/rotation.md");
        let doc = std::fs::read_to_string(path).unwrap();
        let start = doc.find(START).expect("docs/rotation.md has the providers markers") + START.len();
        let end = doc.find(END).expect("docs/rotation.md has the providers end marker");
        let expected = table(&RuleSet::defaults().unwrap());
        if std::env::var_os("KEYHOUND_UPDATE_DOCS").is_some() {
            std::fs::write(path, format!("{}{expected}{}", &doc[..start], &doc[end..])).unwrap();
            return;
        }
        assert!(
            doc[start..end] == expected,
            "docs/rotation.md's provider table is out of date: KEYHOUND_UPDATE_DOCS=1 cargo test --lib rotation_docs"
        );
    }
}

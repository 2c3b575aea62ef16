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
        }
        if target.rule.verify.is_some() {
            steps.push("confirm the exposed key no longer works".into());
        }
        steps.join("; then ")
    }
}

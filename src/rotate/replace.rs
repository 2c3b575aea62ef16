//! Running a provider recipe ([`super::recipe`]) inside a rotation run:
//! revoke or roll in one go, or create → deliver → check the new key →
//! revoke the exposed one → confirm it is dead. A replacement whose revocation
//! fails stays pending, and `--complete` revokes without creating another key.

use crate::finding::Secret;
use crate::verify::runner::verify_secret;
use crate::verify::Status;

use super::action::ActionKind;
use super::recipe::{self, Recipe, Step};
use super::runner::{Outcome, Rotator};
use super::target::Target;

/// The state file's note that the exposed key still has to be revoked.
pub const RESUME_REVOKE: &str = "revoke";

/// Acts on `target` with the recipe of `kind`.
pub(super) fn run(rotator: &mut Rotator<'_>, target: &Target<'_>, kind: ActionKind) -> anyhow::Result<Outcome> {
    let recipe = kind.recipe().expect("API actions have a recipe");
    let base_url = recipe::base_url(recipe, &rotator.options.verify.endpoints);
    let ctx = rotator.context(&base_url, target, &target.details);
    let step = recipe::run(recipe, &ctx);
    match step {
        Ok(Step::Finished(effect)) => rotator.follow_up(target, effect),
        Ok(Step::Issued { new_secret, new_key_id, detail }) => {
            replace(rotator, target, kind, recipe, new_secret, new_key_id, detail)
        }
        Err(reason) => {
            rotator.record(target, "revoke", "failed", &reason, None)?;
            Ok(Outcome::Failed(rotator.with_console(reason, target)))
        }
    }
}

/// A new key exists: deliver it, check it answers live, then revoke the exposed one.
fn replace(
    rotator: &mut Rotator<'_>,
    target: &Target<'_>,
    kind: ActionKind,
    recipe: &Recipe,
    new_secret: Secret,
    new_key_id: Option<String>,
    detail: String,
) -> anyhow::Result<Outcome> {
    rotator.learn_secret(&new_secret);
    rotator.record(target, "create", "ok", &detail, new_key_id.as_deref())?;
    if let Err(reason) = rotator.deliver_all(target, &new_secret, new_key_id.as_deref())? {
        let saved = rotator.save_undelivered(target, &new_secret)?;
        return Ok(Outcome::Retiring {
            detail: format!(
                "{reason}; the new key was saved to {} (mode 600) and the exposed key still works: store the new key, \
                 then `keyhound rotate REPORT --complete` revokes the exposed one",
                saved.display()
            ),
            new_key_id,
        });
    }
    if let Some(status) = new_key_status(rotator, target, recipe, &new_secret, new_key_id.as_deref()) {
        if status != Status::Live {
            let note = format!(
                "the new key answers {status}, so the exposed key was left working; once the new key works, \
                 `keyhound rotate REPORT --complete` revokes the exposed one"
            );
            rotator.record(target, "check-new", "failed", &note, new_key_id.as_deref())?;
            return Ok(Outcome::Retiring { detail: note, new_key_id });
        }
        rotator.record(target, "check-new", "ok", "the new key answers live", new_key_id.as_deref())?;
    }
    retire(rotator, target, kind, new_key_id)
}

/// Revokes the exposed key once its replacement is in place (also `--complete`).
pub(super) fn retire(
    rotator: &mut Rotator<'_>,
    target: &Target<'_>,
    kind: ActionKind,
    new_key_id: Option<String>,
) -> anyhow::Result<Outcome> {
    let recipe = kind.recipe().expect("API actions have a recipe");
    let base_url = recipe::base_url(recipe, &rotator.options.verify.endpoints);
    let ctx = rotator.context(&base_url, target, &target.details);
    match recipe::retire(recipe, &ctx) {
        Ok(effect) => {
            let detail = effect.detail().to_string();
            rotator.record(target, "revoke", "ok", &detail, new_key_id.as_deref())?;
            rotator.confirm(target, format!("replaced; {detail}"), new_key_id)
        }
        Err(reason) => {
            rotator.record(target, "revoke", "failed", &reason, new_key_id.as_deref())?;
            Ok(Outcome::Retiring {
                detail: format!(
                    "the new key is in place, but revoking the exposed one failed ({reason}); \
                     `keyhound rotate REPORT --complete` tries again"
                ),
                new_key_id,
            })
        }
    }
}

/// The new key's verification status (`None` when the rule has no verifier).
fn new_key_status(
    rotator: &Rotator<'_>,
    target: &Target<'_>,
    recipe: &Recipe,
    new_secret: &Secret,
    new_key_id: Option<&str>,
) -> Option<Status> {
    target.rule.verify.as_ref()?;
    let mut companions = target.companions.clone();
    if let (Some(rule), Some(id)) = (recipe.new_id_companion, new_key_id) {
        companions.insert(rule.to_string(), id.to_string());
    }
    let verification =
        verify_secret(target.rule, new_secret.expose(), &companions, &rotator.options.verify, &rotator.client);
    Some(verification.status)
}

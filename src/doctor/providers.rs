//! Providers and models: each provider the enabled specialists use, probed
//! once with every model they use on it, by the same check `up` runs.

use std::collections::{BTreeMap, BTreeSet};

use super::{CheckKind, Finding, Level};
use crate::config::{Loaded, ResolvedProvider};
use crate::health::{ProviderCheck, Severity};

/// Probe every provider in use, all at once.
pub async fn check_all(loaded: &Loaded) -> Vec<Finding> {
    let mut uses: BTreeMap<String, (ResolvedProvider, BTreeSet<String>)> = BTreeMap::new();
    for spec in loaded.specs.iter().filter(|s| s.enabled) {
        uses.entry(spec.provider.identity())
            .or_insert_with(|| (spec.provider.clone(), BTreeSet::new()))
            .1
            .insert(spec.model.clone());
    }
    let checks = uses.into_values().map(|(cfg, models)| async move {
        let provider = crate::provider::build(&cfg);
        provider.check(models).await
    });
    futures::future::join_all(checks)
        .await
        .iter()
        .flat_map(|c| findings(c))
        .collect()
}

fn level(s: Severity) -> Level {
    match s {
        Severity::Warn => Level::Warn,
        Severity::Fail => Level::Fail,
    }
}

/// A check's findings: its general problem, else one per missing model, else ok.
pub fn findings(c: &ProviderCheck) -> Vec<Finding> {
    let subject = &c.provider;
    if let Some(p) = &c.general {
        let mut f = Finding::new(CheckKind::Provider, subject, level(p.severity), &p.message);
        f.fix = p.fix.clone();
        return vec![f];
    }
    let mut out = vec![Finding::new(
        CheckKind::Provider,
        subject,
        Level::Ok,
        format!("provider {} ({}) at {} answers", c.provider, c.kind, c.url),
    )];
    if !c.listed {
        out.push(Finding::new(
            CheckKind::Model,
            c.models.iter().cloned().collect::<Vec<_>>().join(", "),
            Level::Ok,
            format!("not checked: {} has no model list cadre asks for", c.kind),
        ));
        return out;
    }
    for model in &c.models {
        let f = match c.missing.get(model) {
            Some(p) => {
                let mut f = Finding::new(CheckKind::Model, model, level(p.severity), &p.message);
                f.fix = p.fix.clone();
                f
            }
            None => Finding::new(
                CheckKind::Model,
                model,
                Level::Ok,
                format!("provider {} has model `{model}`", c.provider),
            ),
        };
        out.push(f);
    }
    out
}

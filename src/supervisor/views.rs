//! What the supervisor shows of its specialists: views, live views with
//! counters, health and usage, and the map in-process chats find.

use std::sync::Arc;

use super::{LiveView, SlotView, Supervisor};

impl Supervisor {
    /// Every specialist with its spec, counters, health and usage.
    pub(super) fn live(&mut self) -> Vec<LiveView> {
        let views = self.snapshot();
        views.into_iter().filter_map(|v| self.live_of(v)).collect()
    }

    /// `view`'s specialist with its spec, counters, health and usage.
    pub(super) fn live_of(&mut self, view: SlotView) -> Option<LiveView> {
        let s = self.slots.get(&view.name)?;
        let (spec, served) = (s.spec.clone(), s.handle.as_ref().map(|h| h.serving()));
        // Not serving now: what it would serve (its meter and cells are kept by name).
        let serving = served.unwrap_or_else(|| Arc::new(self.serving(&spec)));
        let s = self.slots.get(&view.name)?;
        Some(LiveView {
            spec: s.spec.clone(),
            counters: s.handle.as_ref().map(|h| h.counters()),
            revision: s.revision.clone(),
            provider_health: serving.provider_health(),
            component_health: serving.component_health(),
            usage: serving.meter.report(),
            view,
        })
    }

    /// What in-process chats find: every slot with a running listener.
    /// Cheap when nothing changed (no map is built).
    pub(super) fn publish(&self) {
        let running = self
            .slots
            .iter()
            .filter_map(|(n, s)| Some((n, s.handle.as_ref()?.chat_path())))
            .collect();
        self.specialists.publish(running);
    }

    /// One specialist's view, without looking at the others.
    pub(super) fn one(&mut self, name: &str) -> Option<LiveView> {
        let view = self.view_of(name)?;
        self.live_of(view)
    }

    pub(super) fn view_of(&self, name: &str) -> Option<SlotView> {
        let (name, s) = self.slots.get_key_value(name)?;
        let mark = self.marks.of_specialist(name);
        Some(SlotView {
            name: name.clone(),
            host: s.spec.host.clone(),
            port: s.port,
            state: s.state(mark),
            last_error: s.error(mark),
        })
    }

    pub(super) fn snapshot(&self) -> Vec<SlotView> {
        self.slots
            .keys()
            .filter_map(|n| self.view_of(n.as_str()))
            .collect()
    }
}

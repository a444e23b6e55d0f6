//! Why a prompt did not render, told as the template's author needs it:
//! the innermost template and line, the undefined variable, and the nearest
//! key that does exist.

use minijinja::ErrorKind;

use super::SpecialistContext;

/// Why a prompt did not render.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RenderError {
    /// The specialist's own template does not exist.
    #[error("template `{template}` not found in {dir}")]
    NotFound { template: String, dir: String },
    /// A template failed to parse or render.
    #[error("template `{template}` line {line}: {message}")]
    Template {
        /// The template the error is in (may be an included one).
        template: String,
        /// 1-based line in that template (0 when unknown).
        line: usize,
        /// The undefined variable, when that is the problem (`specialist.personality.rol`).
        variable: Option<String>,
        /// Byte range of the offending expression in that template, when known.
        span: Option<std::ops::Range<usize>>,
        message: String,
    },
}

/// The undefined variable named in a minijinja detail ("`specialist.x` is undefined").
fn undefined_variable(e: &minijinja::Error) -> Option<String> {
    if e.kind() != ErrorKind::UndefinedError {
        return None;
    }
    let d = e.detail()?;
    crate::config::suggest::quoted(d)
        .first()
        .map(|s| (*s).to_owned())
}

/// The innermost template error: an error inside an included or extended
/// template arrives wrapped in the outer template's error.
fn innermost(e: &minijinja::Error) -> &minijinja::Error {
    let mut cur = e;
    let mut src = std::error::Error::source(e);
    while let Some(s) = src {
        if let Some(inner) = s.downcast_ref::<minijinja::Error>()
            && inner.name().is_some()
        {
            cur = inner;
        }
        src = s.source();
    }
    cur
}

pub(super) fn convert(template: &str, e: &minijinja::Error) -> RenderError {
    let e = innermost(e);
    let variable = undefined_variable(e);
    let mut message = match e.detail() {
        Some(d) => format!("{}: {d}", e.kind()),
        None => e.kind().to_string(),
    };
    if let Some(v) = &variable
        && !message.contains(v.as_str())
    {
        message.push_str(&format!(" (`{v}`)"));
    }
    RenderError::Template {
        template: e.name().unwrap_or(template).to_owned(),
        line: e.line().unwrap_or(0),
        variable,
        span: e.range(),
        message,
    }
}

/// For `specialist.personality.rol`, suggest the nearest existing key of `specialist.personality`.
pub(super) fn with_suggestion(mut e: RenderError, specialist: &SpecialistContext) -> RenderError {
    if let RenderError::Template {
        variable: Some(v),
        message,
        ..
    } = &mut e
    {
        let mut parts: Vec<&str> = v.split('.').collect();
        let Some(last) = parts.pop() else { return e };
        if parts.first() != Some(&"specialist") {
            return e;
        }
        let mut node = serde_json::to_value(specialist).unwrap_or_default();
        for p in &parts[1..] {
            node = node.get(p).cloned().unwrap_or_default();
        }
        if let Some(obj) = node.as_object()
            && let Some(s) = crate::config::suggest::nearest(last, obj.keys().map(String::as_str))
        {
            parts.push(s);
            message.push_str(&format!(", did you mean `{}`?", parts.join(".")));
        }
    }
    e
}

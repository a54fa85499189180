//! Dotprompt's built-in Handlebars helpers: `role`, `history`, `section`, `media`, `json`,
//! `ifEquals`, `unlessEquals`, and the data-variable lookup behind `@state`, `@auth`, ....
//!
//! `role`, `history`, `section` and `media` write markers that [`crate::messages`] turns into
//! messages and parts after rendering.

use genkit_core::{JsonMap, Message};
use handlebars::{
    Context, Handlebars, Helper, HelperDef, HelperResult, Output, PathAndJson, RenderContext,
    RenderError, RenderErrorReason, Renderable, ScopedJson,
};
use serde_json::Value;

use crate::messages::{
    HISTORY_MARKER, MEDIA_MARKER_PREFIX, ROLE_MARKER_PREFIX, SECTION_MARKER_PREFIX,
};

/// The helper the template compiler rewrites `@name.path` data references into.
pub(crate) const DATA_HELPER: &str = "__dotprompt_data";

/// Registers the built-in helpers on `hb`.
pub(crate) fn register(hb: &mut Handlebars<'static>) {
    hb.register_helper("role", Box::new(RoleHelper));
    hb.register_helper("history", Box::new(HistoryHelper));
    hb.register_helper("section", Box::new(SectionHelper));
    hb.register_helper("media", Box::new(MediaHelper));
    hb.register_helper("json", Box::new(JsonHelper));
    hb.register_helper("ifEquals", Box::new(EqualsHelper { negate: false }));
    hb.register_helper("unlessEquals", Box::new(EqualsHelper { negate: true }));
}

fn param_str<'a>(h: &'a Helper<'_>, idx: usize, helper: &str) -> Result<&'a str, RenderError> {
    h.param(idx)
        .and_then(|p| p.value().as_str())
        .ok_or_else(|| {
            RenderErrorReason::ParamTypeMismatchForName(
                "string",
                helper.to_owned(),
                idx.to_string(),
            )
            .into()
        })
}

struct RoleHelper;
impl HelperDef for RoleHelper {
    fn call<'reg: 'rc, 'rc>(
        &self,
        h: &Helper<'rc>,
        _: &'reg Handlebars<'reg>,
        _: &'rc Context,
        _: &mut RenderContext<'reg, 'rc>,
        out: &mut dyn Output,
    ) -> HelperResult {
        let role = param_str(h, 0, "role")?;
        if !matches!(role, "system" | "user" | "model" | "tool") {
            return Err(RenderErrorReason::Other(format!(
                "role must be system, user, model or tool, got '{role}'"
            ))
            .into());
        }
        out.write(ROLE_MARKER_PREFIX)?;
        out.write(role)?;
        out.write(">>>")?;
        Ok(())
    }
}

struct HistoryHelper;
impl HelperDef for HistoryHelper {
    fn call<'reg: 'rc, 'rc>(
        &self,
        _: &Helper<'rc>,
        _: &'reg Handlebars<'reg>,
        _: &'rc Context,
        _: &mut RenderContext<'reg, 'rc>,
        out: &mut dyn Output,
    ) -> HelperResult {
        out.write(HISTORY_MARKER)?;
        out.write(">>>")?;
        Ok(())
    }
}

struct SectionHelper;
impl HelperDef for SectionHelper {
    fn call<'reg: 'rc, 'rc>(
        &self,
        h: &Helper<'rc>,
        _: &'reg Handlebars<'reg>,
        _: &'rc Context,
        _: &mut RenderContext<'reg, 'rc>,
        out: &mut dyn Output,
    ) -> HelperResult {
        let name = param_str(h, 0, "section")?;
        out.write(SECTION_MARKER_PREFIX)?;
        out.write(" ")?;
        out.write(name)?;
        out.write(">>>")?;
        Ok(())
    }
}

struct MediaHelper;
impl HelperDef for MediaHelper {
    fn call<'reg: 'rc, 'rc>(
        &self,
        h: &Helper<'rc>,
        _: &'reg Handlebars<'reg>,
        _: &'rc Context,
        _: &mut RenderContext<'reg, 'rc>,
        out: &mut dyn Output,
    ) -> HelperResult {
        let url = h
            .hash_get("url")
            .map(|v| render_value(v.value()))
            .unwrap_or_default();
        out.write(MEDIA_MARKER_PREFIX)?;
        out.write("url ")?;
        out.write(&url)?;
        if let Some(ct) = h.hash_get("contentType").map(|v| render_value(v.value())) {
            if !ct.is_empty() {
                out.write(" ")?;
                out.write(&ct)?;
            }
        }
        out.write(">>>")?;
        Ok(())
    }
}

struct JsonHelper;
impl HelperDef for JsonHelper {
    fn call<'reg: 'rc, 'rc>(
        &self,
        h: &Helper<'rc>,
        _: &'reg Handlebars<'reg>,
        _: &'rc Context,
        _: &mut RenderContext<'reg, 'rc>,
        out: &mut dyn Output,
    ) -> HelperResult {
        let value = h.param(0).map(PathAndJson::value).unwrap_or(&Value::Null);
        let indent = h
            .hash_get("indent")
            .and_then(|v| v.value().as_u64())
            .unwrap_or(0);
        let text = if indent == 0 {
            serde_json::to_string(value)
        } else {
            let pad = " ".repeat(indent.min(10) as usize);
            let mut buf = Vec::new();
            let fmt = serde_json::ser::PrettyFormatter::with_indent(pad.as_bytes());
            let mut ser = serde_json::Serializer::with_formatter(&mut buf, fmt);
            serde::Serialize::serialize(value, &mut ser)
                .map(|()| String::from_utf8_lossy(&buf).into_owned())
        };
        let text = text.map_err(|e| RenderErrorReason::Other(format!("json: {e}")))?;
        out.write(&text)?;
        Ok(())
    }
}

/// JavaScript's `===` on JSON values: numbers by value, strings, booleans and null by value;
/// a missing value equals only another missing value. Arrays and objects compare by content
/// (JavaScript compares them by identity, which JSON data cannot express).
fn strict_equals(a: Option<&PathAndJson<'_>>, b: Option<&PathAndJson<'_>>) -> bool {
    let missing = |p: Option<&PathAndJson<'_>>| p.is_none_or(PathAndJson::is_value_missing);
    match (missing(a), missing(b)) {
        (true, true) => return true,
        (true, false) | (false, true) => return false,
        _ => {}
    }
    let (Some(a), Some(b)) = (a, b) else {
        return false;
    };
    match (a.value(), b.value()) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (x, y) => x == y,
    }
}

struct EqualsHelper {
    negate: bool,
}
impl HelperDef for EqualsHelper {
    fn call<'reg: 'rc, 'rc>(
        &self,
        h: &Helper<'rc>,
        r: &'reg Handlebars<'reg>,
        ctx: &'rc Context,
        rc: &mut RenderContext<'reg, 'rc>,
        out: &mut dyn Output,
    ) -> HelperResult {
        let equal = strict_equals(h.param(0), h.param(1));
        let branch = if equal != self.negate {
            h.template()
        } else {
            h.inverse()
        };
        match branch {
            Some(t) => t.render(r, ctx, rc, out),
            None => Ok(()),
        }
    }
}

/// Serves `@name.path` lookups for one render: Handlebars' own `@name` variables take no
/// path, so the compiler rewrites them into calls of this helper. `@metadata` is
/// `{prompt, docs, messages}`; any other name is a key of the render's context.
pub(crate) struct DataHelper<'a> {
    pub(crate) prompt: &'a Value,
    pub(crate) messages: Option<&'a [Message]>,
    pub(crate) docs: Option<&'a [Value]>,
    pub(crate) context: Option<&'a JsonMap>,
}

fn navigate<'v>(mut cur: &'v Value, segs: &mut dyn Iterator<Item = &str>) -> Option<&'v Value> {
    for seg in segs {
        cur = match cur {
            Value::Object(m) => m.get(seg)?,
            Value::Array(a) => a.get(seg.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(cur)
}

impl DataHelper<'_> {
    fn lookup(&self, path: &str) -> Option<Value> {
        let mut segs = path.split(['.', '/']).filter(|s| !s.is_empty());
        let head = segs.next()?;
        if head != "metadata" {
            let root = self.context?.get(head)?;
            return navigate(root, &mut segs).cloned();
        }
        match segs.next() {
            None => {
                let mut m = JsonMap::new();
                m.insert("prompt".into(), self.prompt.clone());
                if let Some(d) = self.docs {
                    m.insert("docs".into(), Value::Array(d.to_vec()));
                }
                if let Some(ms) = self.messages {
                    m.insert("messages".into(), serde_json::to_value(ms).ok()?);
                }
                Some(Value::Object(m))
            }
            Some("prompt") => navigate(self.prompt, &mut segs).cloned(),
            Some("docs") => {
                let docs = Value::Array(self.docs?.to_vec());
                navigate(&docs, &mut segs).cloned()
            }
            Some("messages") => {
                let messages = serde_json::to_value(self.messages?).ok()?;
                navigate(&messages, &mut segs).cloned()
            }
            Some(_) => None,
        }
    }
}

impl HelperDef for DataHelper<'_> {
    fn call_inner<'reg: 'rc, 'rc>(
        &self,
        h: &Helper<'rc>,
        _: &'reg Handlebars<'reg>,
        _: &'rc Context,
        _: &mut RenderContext<'reg, 'rc>,
    ) -> Result<ScopedJson<'rc>, RenderError> {
        let path = h
            .param(0)
            .and_then(|p| p.value().as_str())
            .unwrap_or_default();
        Ok(match self.lookup(path) {
            Some(v) => ScopedJson::Derived(v),
            None => ScopedJson::Missing,
        })
    }
}

/// How Handlebars writes a value into the output: strings as is, null and missing as
/// nothing, other JSON compactly.
pub(crate) fn render_value(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        other => other.to_string(),
    }
}

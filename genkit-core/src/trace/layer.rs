//! [`GenkitLayer`]: a `tracing-subscriber` layer that turns Genkit spans into Genkit trace data
//! (`SpanData`: ids, times, `genkit:*` attributes, status, exception events) and hands them to
//! the exporter.
//!
//! Trace ids, span ids, `genkit:path`, `genkit:isRoot`, `genkit:key` and
//! `genkit:isFailureSource` are computed here from the span tree, so the instrumented code only
//! says what it is (type, name) and how it ended.

use std::future::Future;
use std::pin::Pin;
use std::sync::OnceLock;
use std::task::{Context as TaskContext, Poll};
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{json, Map, Value};
use tracing::field::{Field, Visit};
use tracing::{span, Dispatch, Span, Subscriber};
use tracing_subscriber::filter::filter_fn;
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::{Layer, Registry};

use super::export::{exporter, ExportSpan};
use super::{attr, TARGET};

/// Target of the span that carries ids chosen before an action starts (see [`root_span`]).
const ROOT_TARGET: &str = "genkit::root";

/// Converts Genkit spans to Genkit trace data and exports them to the telemetry server.
///
/// Built by [`layer`]; it only does work while the Developer UI runtime has installed an
/// exporter (dev mode). Its type is what tells whether a subscriber already exports Genkit
/// traces:
///
/// ```
/// use genkit_core::trace::GenkitLayer;
/// use tracing_subscriber::prelude::*;
/// let dispatch = tracing::Dispatch::new(tracing_subscriber::registry().with(genkit_core::trace::layer()));
/// assert!(dispatch.downcast_ref::<GenkitLayer>().is_some());
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct GenkitLayer {
    _private: (),
}

/// The layer to add to an application's own subscriber, so that Genkit traces reach the
/// Developer UI while the application keeps its logging:
///
/// ```
/// use tracing_subscriber::prelude::*;
/// let subscriber = tracing_subscriber::registry().with(genkit_core::trace::layer());
/// # drop(subscriber);
/// ```
///
/// Without it, the Developer UI runtime runs the actions it is asked to run under a subscriber
/// of its own, so traces still work (but the application's subscriber does not see those runs).
/// The layer filters itself to Genkit's spans.
pub fn layer<S>() -> impl Layer<S>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    GenkitLayer::default().with_filter(filter_fn(|meta| {
        meta.target() == TARGET || meta.target() == ROOT_TARGET
    }))
}

/// The dispatcher actions run by the Developer UI should run under: `None` when the
/// application's default subscriber already has a [`GenkitLayer`], a private one otherwise.
pub(crate) fn dispatch_for_actions() -> Option<Dispatch> {
    if tracing::dispatcher::get_default(|d| d.downcast_ref::<GenkitLayer>().is_some()) {
        return None;
    }
    static PRIVATE: OnceLock<Dispatch> = OnceLock::new();
    Some(
        PRIVATE
            .get_or_init(|| Dispatch::new(Registry::default().with(layer())))
            .clone(),
    )
}

/// A future run under a dispatcher of its own: polled *and dropped* with it as the default.
///
/// `tracing`'s `WithDispatch` sets the dispatcher only while polling. A run dropped half-way
/// (a client that disconnects) then drops its spans' guards under the application's own
/// subscriber, and `tracing-subscriber`'s registry, which closes a span through the *default*
/// dispatcher when its last guard exits, is handed ids from another registry: it panics ("no
/// such span exists"), or closes an unrelated span of its own.
pub(crate) struct Dispatched<F> {
    dispatch: Dispatch,
    future: Option<Pin<Box<F>>>,
}

impl<F> Dispatched<F> {
    pub(crate) fn new(dispatch: Dispatch, future: F) -> Self {
        Self {
            dispatch,
            future: Some(Box::pin(future)),
        }
    }
}

impl<F: Future> Future for Dispatched<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<F::Output> {
        let this = self.get_mut();
        let _default = tracing::dispatcher::set_default(&this.dispatch);
        let Some(future) = this.future.as_mut() else {
            return Poll::Pending;
        };
        let poll = future.as_mut().poll(cx);
        if poll.is_ready() {
            // dropped here, still under the dispatcher
            this.future = None;
        }
        poll
    }
}

impl<F> Drop for Dispatched<F> {
    fn drop(&mut self) {
        if let Some(future) = self.future.take() {
            let _default = tracing::dispatcher::set_default(&self.dispatch);
            drop(future);
        }
    }
}

/// A span that makes the first Genkit span opened inside it the root of trace `trace_id`, with
/// span id `span_id` and `labels` as extra attributes: how the reflection server knows the
/// trace id before the action starts (for its early `X-Genkit-Trace-Id` header).
pub(crate) fn root_span(trace_id: &str, span_id: &str, labels: &Map<String, Value>) -> Span {
    let labels = serde_json::to_string(labels).unwrap_or_default();
    tracing::info_span!(
        target: "genkit::root",
        "genkit.root",
        trace_id = trace_id,
        span_id = span_id,
        labels = labels.as_str()
    )
}

fn now_ms() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64() * 1000.0)
        .unwrap_or(0.0)
}

#[derive(Default)]
struct Exception {
    kind: Option<String>,
    message: Option<String>,
    stack: Option<String>,
}

/// One open Genkit span.
struct Record {
    trace_id: String,
    span_id: String,
    parent_span_id: Option<String>,
    parent: Option<span::Id>,
    path: String,
    name: String,
    start: f64,
    attrs: Map<String, Value>,
    exception: Exception,
    root: bool,
    child_failed: bool,
}

/// The ids (and labels) a root span should get.
struct Carrier {
    trace_id: String,
    span_id: Option<String>,
    labels: Map<String, Value>,
}

struct Fields<'a> {
    attrs: &'a mut Map<String, Value>,
    exception: &'a mut Exception,
}

impl Fields<'_> {
    fn put(&mut self, field: &Field, value: Value) {
        let slot = match field.name() {
            attr::EXCEPTION_TYPE => &mut self.exception.kind,
            attr::EXCEPTION_MESSAGE => &mut self.exception.message,
            attr::EXCEPTION_STACKTRACE => &mut self.exception.stack,
            name => {
                self.attrs.insert(name.to_owned(), value);
                return;
            }
        };
        *slot = Some(match value {
            Value::String(s) => s,
            other => other.to_string(),
        });
    }
}

impl Visit for Fields<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.put(field, Value::String(value.to_owned()));
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.put(field, Value::Bool(value));
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.put(field, json!(value));
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.put(field, json!(value));
    }
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.put(field, json!(value));
    }
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.put(field, Value::String(format!("{value:?}")));
    }
}

/// Reads the carrier's string fields.
struct CarrierFields(Map<String, Value>);

impl Visit for CarrierFields {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0
            .insert(field.name().to_owned(), Value::String(value.to_owned()));
    }
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0
            .insert(field.name().to_owned(), Value::String(format!("{value:?}")));
    }
}

fn str_attr<'a>(attrs: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    attrs.get(key).and_then(Value::as_str)
}

/// `{name,t:flow}`, `{name,t:util}`, `{name,t:action,s:tool}`, `{name,t:flowStep}`.
fn path_segment(attrs: &Map<String, Value>, name: &str) -> String {
    let ty = str_attr(attrs, attr::TYPE).unwrap_or("action");
    match (ty, str_attr(attrs, attr::SUBTYPE)) {
        ("action", Some("flow")) => format!("{{{name},t:flow}}"),
        ("action", Some(sub)) => format!("{{{name},t:action,s:{sub}}}"),
        (ty, _) => format!("{{{name},t:{ty}}}"),
    }
}

/// The attributes Genkit JS sends in a span's realtime start post.
const START_ATTRS: [&str; 3] = [attr::TYPE, attr::SUBTYPE, attr::KEY];

impl Record {
    fn span_data(&self, end: f64, attributes: Map<String, Value>, status: Value) -> Value {
        let mut events = Vec::new();
        if end > 0.0 && self.exception.kind.is_some() {
            let mut attrs = Map::new();
            let fields = [
                (attr::EXCEPTION_TYPE, &self.exception.kind),
                (attr::EXCEPTION_MESSAGE, &self.exception.message),
                (attr::EXCEPTION_STACKTRACE, &self.exception.stack),
            ];
            for (key, value) in fields {
                if let Some(v) = value.as_ref().filter(|v| !v.is_empty()) {
                    attrs.insert(key.to_owned(), json!(v));
                }
            }
            events.push(json!({
                "time": end,
                "annotation": {"attributes": attrs, "description": "exception"},
            }));
        }
        let mut data = json!({
            "spanId": self.span_id,
            "traceId": self.trace_id,
            "startTime": self.start,
            "endTime": end,
            "attributes": attributes,
            "displayName": self.name,
            "links": [],
            "instrumentationLibrary": {"name": "genkit-tracer", "version": "v1"},
            "spanKind": "INTERNAL",
            "sameProcessAsParentSpan": {"value": true},
            "status": status,
            "timeEvents": {"timeEvent": events},
        });
        if let (Some(parent), Some(obj)) = (&self.parent_span_id, data.as_object_mut()) {
            obj.insert("parentSpanId".to_owned(), json!(parent));
        }
        data
    }

    fn export(&self, end: f64, attributes: Map<String, Value>, status: Value) -> ExportSpan {
        ExportSpan {
            trace_id: self.trace_id.clone(),
            span_id: self.span_id.clone(),
            data: self.span_data(end, attributes, status),
            root: self.root.then(|| (self.name.clone(), self.start, end)),
        }
    }
}

enum Parent {
    Genkit {
        trace_id: String,
        span_id: String,
        path: String,
        id: span::Id,
    },
    Carrier {
        trace_id: String,
        span_id: Option<String>,
        labels: Map<String, Value>,
    },
    None,
}

impl<S> Layer<S> for GenkitLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &span::Attributes<'_>, id: &span::Id, ctx: Context<'_, S>) {
        let Some(exporter) = exporter() else { return };
        let Some(span) = ctx.span(id) else { return };
        let target = attrs.metadata().target();
        if target == ROOT_TARGET {
            let mut fields = CarrierFields(Map::new());
            attrs.record(&mut fields);
            let get = |k: &str| str_attr(&fields.0, k).map(str::to_owned);
            let labels = get("labels")
                .and_then(|l| serde_json::from_str::<Map<String, Value>>(&l).ok())
                .unwrap_or_default();
            if let Some(trace_id) = get("trace_id") {
                span.extensions_mut().insert(Carrier {
                    trace_id,
                    span_id: get("span_id"),
                    labels,
                });
            }
            return;
        }
        if target != TARGET {
            return;
        }

        let mut parent = Parent::None;
        for ancestor in span.scope().skip(1) {
            if let Some(r) = ancestor.extensions().get::<Record>() {
                parent = Parent::Genkit {
                    trace_id: r.trace_id.clone(),
                    span_id: r.span_id.clone(),
                    path: r.path.clone(),
                    id: ancestor.id(),
                };
                break;
            }
            if let Some(c) = ancestor.extensions_mut().get_mut::<Carrier>() {
                parent = Parent::Carrier {
                    trace_id: c.trace_id.clone(),
                    span_id: c.span_id.take(),
                    labels: c.labels.clone(),
                };
                break;
            }
        }

        let mut fields = Map::new();
        let mut exception = Exception::default();
        attrs.record(&mut Fields {
            attrs: &mut fields,
            exception: &mut exception,
        });
        let name = str_attr(&fields, attr::NAME).unwrap_or("span").to_owned();
        if let (Some("action"), Some(sub)) = (
            str_attr(&fields, attr::TYPE),
            str_attr(&fields, attr::SUBTYPE),
        ) {
            let key = format!("/{sub}/{name}");
            fields.insert(attr::KEY.to_owned(), Value::String(key));
        }
        let segment = path_segment(&fields, &name);

        let record = match parent {
            Parent::Genkit {
                trace_id,
                span_id,
                path,
                id,
            } => Record {
                trace_id,
                span_id: super::new_span_id(),
                parent_span_id: Some(span_id),
                parent: Some(id),
                path: format!("{path}/{segment}"),
                name,
                start: now_ms(),
                attrs: fields,
                exception,
                root: false,
                child_failed: false,
            },
            Parent::Carrier {
                trace_id,
                span_id,
                labels,
            } => {
                let mut fields = fields;
                for (k, v) in labels {
                    fields.entry(k).or_insert(v);
                }
                Record {
                    trace_id,
                    span_id: span_id.unwrap_or_else(super::new_span_id),
                    parent_span_id: None,
                    parent: None,
                    path: format!("/{segment}"),
                    name,
                    start: now_ms(),
                    attrs: fields,
                    exception,
                    root: true,
                    child_failed: false,
                }
            }
            Parent::None => Record {
                trace_id: super::new_trace_id(),
                span_id: super::new_span_id(),
                parent_span_id: None,
                parent: None,
                path: format!("/{segment}"),
                name,
                start: now_ms(),
                attrs: fields,
                exception,
                root: true,
                child_failed: false,
            },
        };

        if exporter.realtime() {
            let early: Map<String, Value> = record
                .attrs
                .iter()
                .filter(|(k, _)| START_ATTRS.contains(&k.as_str()) || !k.starts_with("genkit:"))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            exporter.send(record.export(0.0, early, json!({"code": 0})));
        }
        span.extensions_mut().insert(record);
    }

    fn on_record(&self, id: &span::Id, values: &span::Record<'_>, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut ext = span.extensions_mut();
        if let Some(record) = ext.get_mut::<Record>() {
            values.record(&mut Fields {
                attrs: &mut record.attrs,
                exception: &mut record.exception,
            });
        }
    }

    fn on_close(&self, id: span::Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(&id) else { return };
        let Some(mut record) = span.extensions_mut().remove::<Record>() else {
            return;
        };
        let Some(exporter) = exporter() else { return };
        let end = now_ms();
        let state = match str_attr(&record.attrs, attr::STATE) {
            Some(s) => s.to_owned(),
            None => {
                // dropped before it finished: the caller gave up (cancel, disconnect)
                record
                    .exception
                    .kind
                    .get_or_insert_with(|| "Cancelled".to_owned());
                record.exception.message.get_or_insert_with(|| {
                    "the action was cancelled before it finished".to_owned()
                });
                "error".to_owned()
            }
        };
        let failed = state == "error";
        let mut attributes = std::mem::take(&mut record.attrs);
        attributes.insert(attr::STATE.to_owned(), json!(state));
        attributes.insert(attr::PATH.to_owned(), json!(record.path));
        if record.root {
            attributes.insert(attr::IS_ROOT.to_owned(), json!(true));
        }
        let status = if failed {
            if !record.child_failed {
                attributes.insert(attr::IS_FAILURE_SOURCE.to_owned(), json!(true));
            }
            json!({"code": 2, "message": record.exception.message.clone().unwrap_or_default()})
        } else {
            json!({"code": 0})
        };
        if failed {
            if let Some(parent) = record.parent.as_ref().and_then(|p| ctx.span(p)) {
                if let Some(p) = parent.extensions_mut().get_mut::<Record>() {
                    p.child_failed = true;
                }
            }
        }
        exporter.send(record.export(end, attributes, status));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_segments_follow_genkit() {
        let attrs = |t: &str, s: Option<&str>| {
            let mut m = Map::new();
            m.insert(attr::TYPE.into(), json!(t));
            if let Some(s) = s {
                m.insert(attr::SUBTYPE.into(), json!(s));
            }
            m
        };
        assert_eq!(
            path_segment(&attrs("action", Some("flow")), "f"),
            "{f,t:flow}"
        );
        assert_eq!(
            path_segment(&attrs("action", Some("tool")), "t"),
            "{t,t:action,s:tool}"
        );
        assert_eq!(
            path_segment(&attrs("util", None), "generate"),
            "{generate,t:util}"
        );
        assert_eq!(
            path_segment(&attrs("flowStep", None), "s"),
            "{s,t:flowStep}"
        );
    }

    #[test]
    fn the_layer_is_found_by_downcast_through_its_filter() {
        let dispatch = Dispatch::new(Registry::default().with(layer()));
        assert!(dispatch.downcast_ref::<GenkitLayer>().is_some());
        let plain = Dispatch::new(Registry::default());
        assert!(plain.downcast_ref::<GenkitLayer>().is_none());
    }
}

//! Compiling a template once: Handlebars parse, data-variable rewrite, partial discovery.

use std::collections::HashMap;

use handlebars::template::{Parameter, Subexpression, Template, TemplateElement};
use handlebars::Path;
use serde_json::Value;

use crate::helpers::DATA_HELPER;

/// Handlebars' own `@` variables, served by its block helpers.
const BUILTIN_LOCALS: &[&str] = &["index", "first", "last", "key", "root"];

/// A data reference `@name...` that Handlebars would read without its path: the raw text.
fn data_ref(p: &Parameter) -> Option<String> {
    match p {
        Parameter::Path(Path::Local((0, name, raw)))
            if !BUILTIN_LOCALS.contains(&name.as_str()) =>
        {
            Some(raw.trim_start_matches('@').to_owned())
        }
        _ => None,
    }
}

fn lookup_call(path: String) -> Parameter {
    Parameter::Subexpression(Subexpression::new(
        Parameter::Name(DATA_HELPER.to_owned()),
        vec![Parameter::Literal(Value::String(path))],
        HashMap::new(),
    ))
}

fn rewrite_param(p: &mut Parameter) {
    if let Some(path) = data_ref(p) {
        *p = lookup_call(path);
        return;
    }
    if let Parameter::Subexpression(sub) = p {
        rewrite_element(&mut sub.element);
    }
}

fn rewrite_params(params: &mut [Parameter], hash: &mut HashMap<String, Parameter>) {
    params.iter_mut().for_each(rewrite_param);
    hash.values_mut().for_each(rewrite_param);
}

fn rewrite_element(e: &mut TemplateElement) {
    match e {
        TemplateElement::Expression(h) | TemplateElement::HtmlExpression(h) => {
            // `{{@state.count}}` itself: call the data helper in place of the path
            if h.params.is_empty() && h.hash.is_empty() {
                if let Some(path) = data_ref(&h.name) {
                    h.name = Parameter::Name(DATA_HELPER.to_owned());
                    h.params = vec![Parameter::Literal(Value::String(path))];
                    return;
                }
            }
            rewrite_params(&mut h.params, &mut h.hash);
        }
        TemplateElement::HelperBlock(h) => {
            rewrite_params(&mut h.params, &mut h.hash);
            if let Some(t) = h.template.as_mut() {
                rewrite(t);
            }
            if let Some(t) = h.inverse.as_mut() {
                rewrite(t);
            }
        }
        TemplateElement::DecoratorExpression(d)
        | TemplateElement::DecoratorBlock(d)
        | TemplateElement::PartialExpression(d)
        | TemplateElement::PartialBlock(d) => {
            rewrite_params(&mut d.params, &mut d.hash);
            if let Some(t) = d.template.as_mut() {
                rewrite(t);
            }
        }
        _ => {}
    }
}

/// Rewrites every `@name.path` data reference (Handlebars drops the path of `@` variables)
/// into a call of the per-render data helper.
pub(crate) fn rewrite(t: &mut Template) {
    t.elements.iter_mut().for_each(rewrite_element);
}

/// A partial a template uses, with the 1-based line and column of its `{{>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PartialUse {
    pub(crate) name: String,
    pub(crate) line: Option<usize>,
    pub(crate) column: Option<usize>,
}

fn partial_name(p: &Parameter) -> Option<String> {
    match p {
        Parameter::Name(n) => Some(n.clone()),
        Parameter::Path(Path::Relative((_, raw))) => Some(raw.clone()),
        Parameter::Literal(Value::String(s)) => Some(s.clone()),
        _ => None,
    }
}

/// The partials `t` names statically (dynamic `{{> (expr)}}` partials are not known here).
pub(crate) fn partials(t: &Template) -> Vec<PartialUse> {
    let mut out = Vec::new();
    collect(t, &mut out);
    out
}

fn collect(t: &Template, out: &mut Vec<PartialUse>) {
    for (i, e) in t.elements.iter().enumerate() {
        let at = t.mapping.get(i);
        match e {
            TemplateElement::PartialExpression(d) | TemplateElement::PartialBlock(d) => {
                if let Some(name) = partial_name(&d.name) {
                    // `{{> @partial-block}}` is Handlebars' own
                    if name != "@partial-block" && !out.iter().any(|p: &PartialUse| p.name == name)
                    {
                        out.push(PartialUse {
                            name,
                            line: at.map(|m| m.0),
                            column: at.map(|m| m.1),
                        });
                    }
                }
                if let Some(inner) = &d.template {
                    collect(inner, out);
                }
            }
            TemplateElement::HelperBlock(h) => {
                if let Some(inner) = &h.template {
                    collect(inner, out);
                }
                if let Some(inner) = &h.inverse {
                    collect(inner, out);
                }
            }
            TemplateElement::DecoratorBlock(d) => {
                if let Some(inner) = &d.template {
                    collect(inner, out);
                }
            }
            _ => {}
        }
    }
}

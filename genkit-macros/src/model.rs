//! The validated model of a `#[tool]`: what the function means as a tool, with the spans
//! errors point at. Every rule is checked here (or, for trait bounds, by the code
//! `expand` generates on the user's spans), and every violation is recorded.

use syn::ext::IdentExt;
use syn::{
    Expr, FnArg, GenericArgument, Ident, Pat, PatType, Path, PathArguments, ReturnType, Type,
};

use crate::ast::ToolFn;
use crate::attr::{Arg, Attrs};
use crate::doc;
use crate::errors::Errors;

/// A function `#[tool]` can turn into a tool.
pub(crate) struct Tool<'a> {
    /// The function as written.
    pub(crate) item: &'a ToolFn,
    /// The path of `genkit_core`.
    pub(crate) krate: Path,
    /// The tool name models see.
    pub(crate) name: String,
    /// The description models see.
    pub(crate) description: String,
    /// The parameters, in order.
    pub(crate) params: Vec<Param<'a>>,
    /// The input type; `None` when the function takes no input (the tool's input is `()`).
    pub(crate) input: Option<&'a Type>,
    /// The output type `O` (the answer type, for an interrupt-only tool).
    pub(crate) output: Type,
    /// The return type as written (`ToolResult<O>`, `Result<O, E>`); `None` for an
    /// interrupt-only tool.
    pub(crate) returns: Option<&'a Type>,
    /// `interrupt = P`: the payload type.
    pub(crate) interrupt: Option<&'a Type>,
    /// `payload = expr`: an interrupt-only tool's payload, from its input.
    pub(crate) payload: Option<&'a Expr>,
}

/// What a parameter of the function is.
pub(crate) enum Param<'a> {
    /// The tool input.
    Input,
    /// The `ToolContext`.
    Context(&'a PatType),
    /// A `State<S>`: application state, `S` given.
    State(&'a Type),
}

impl Tool<'_> {
    /// The interrupt-only form: a function without a body.
    pub(crate) fn is_interrupt_only(&self) -> bool {
        self.item.body.is_none()
    }

    /// The function's name.
    pub(crate) fn ident(&self) -> &Ident {
        &self.item.sig.ident
    }
}

/// Checks `item` against every rule. Returns the model when the signature can be turned
/// into a tool (the attribute arguments may still have been wrong: see `errors`), `None`
/// when it cannot.
pub(crate) fn validate<'a>(
    attrs: &'a Attrs,
    item: &'a ToolFn,
    errors: &mut Errors,
) -> Option<Tool<'a>> {
    let signature_ok = check_signature(item, errors);
    let (params, input) = classify_params(item, errors);
    let returns = check_return(item, errors);
    let name = tool_name(attrs, item, errors);
    let description = description(attrs, item, errors);
    check_interrupt(attrs, item, errors);

    let (output, returns) = returns?;
    let params = params?;
    if !signature_ok {
        return None;
    }
    Some(Tool {
        item,
        krate: attrs.krate(),
        name,
        description,
        params,
        input,
        output,
        returns,
        interrupt: attrs.interrupt.as_ref().map(|a| &a.value),
        payload: attrs.payload.as_ref().map(|a| &a.value),
    })
}

/// `const`, `unsafe`, `extern`, variadic, generics, `self`: what a tool cannot be.
fn check_signature(item: &ToolFn, errors: &mut Errors) -> bool {
    let sig = &item.sig;
    let mut ok = true;
    let mut reject = |tokens: &dyn quote::ToTokens, message: &str| {
        ok = false;
        errors.at(tokens, message);
    };
    if let Some(t) = &sig.constness {
        reject(t, "a tool cannot be a `const fn`");
    }
    if let Some(t) = &sig.unsafety {
        reject(
            t,
            "a tool cannot be `unsafe`: the model may call it with any input",
        );
    }
    if let Some(t) = &sig.abi {
        reject(t, "a tool cannot have an `extern` ABI");
    }
    if let Some(t) = &sig.variadic {
        reject(t, "a tool cannot be variadic");
    }
    let generic = "a tool cannot be generic: its input and output must be concrete types, \
                   so that their JSON schemas are known";
    match &sig.generics.where_clause {
        _ if !sig.generics.params.is_empty() => reject(&sig.generics.params, generic),
        Some(w) => reject(w, generic),
        None => {}
    }
    for arg in &sig.inputs {
        if let FnArg::Receiver(r) = arg {
            reject(
                r,
                "a tool cannot take `self`: put `#[tool]` on a free function \
                 (the model calls it with its input, not on a value)",
            );
        }
    }
    ok
}

/// True when the function takes `self` (it sits in an `impl` block).
pub(crate) fn has_receiver(item: &ToolFn) -> bool {
    item.sig
        .inputs
        .iter()
        .any(|a| matches!(a, FnArg::Receiver(_)))
}

/// Sorts the parameters into one input, one context and any number of states; `None` when
/// they make no tool.
fn classify_params<'a>(
    item: &'a ToolFn,
    errors: &mut Errors,
) -> (Option<Vec<Param<'a>>>, Option<&'a Type>) {
    let mut params = Vec::new();
    let mut input: Option<&Type> = None;
    let mut context = false;
    let mut ok = true;
    for arg in &item.sig.inputs {
        let FnArg::Typed(pt) = arg else { continue };
        if is_context(&pt.ty) {
            if context {
                ok = false;
                errors.at(pt, "a tool takes at most one `ToolContext`");
            } else if item.body.is_none() {
                ok = false;
                errors.at(
                    pt,
                    "an interrupt-only tool (a function without a body) takes no `ToolContext`: \
                     remove it, or write a body that calls `ctx.interrupt(..)`",
                );
            }
            context = true;
            params.push(Param::Context(pt));
        } else if let Some(state) = state_type(&pt.ty) {
            match state {
                Ok(inner) if item.body.is_some() => params.push(Param::State(inner)),
                Ok(_) => {
                    ok = false;
                    errors.at(
                        pt,
                        "an interrupt-only tool (a function without a body) takes no `State`: \
                         it runs no code; remove it, or write a body",
                    );
                }
                Err(message) => {
                    ok = false;
                    errors.at(&pt.ty, message);
                }
            }
        } else if let Some(r) = context_by_ref(&pt.ty) {
            ok = false;
            errors.at(
                r,
                "take the context by value: `ctx: ToolContext` (it is cheap to clone)",
            );
        } else if let Some(r) = state_by_ref(&pt.ty) {
            ok = false;
            errors.at(
                r,
                "take the state by value: `State(name): State<S>` (the instance gives each call \
                 a clone)",
            );
        } else if let Some(t) = impl_trait(&pt.ty) {
            ok = false;
            errors.at(
                t,
                "a tool cannot be generic: its input must be a concrete type, \
                 so that its JSON schema is known",
            );
        } else if input.is_some() {
            ok = false;
            errors.at(
                pt,
                "too many parameters: a tool takes one input, and optionally a `ToolContext` \
                 and `State<S>` values; put the values in one struct (the model sends one JSON \
                 object)",
            );
        } else {
            input = Some(&pt.ty);
            params.push(Param::Input);
        }
    }
    (ok.then_some(params), input)
}

/// `State<S>` by its last path segment: `Ok(S)`, or what is wrong with its arguments.
fn state_type(ty: &Type) -> Option<Result<&Type, &'static str>> {
    let Type::Path(p) = ty else { return None };
    let last = p.path.segments.last()?;
    if p.qself.is_some() || last.ident != "State" {
        return None;
    }
    let wrong = "write the state's type: `State<S>`, one type argument";
    Some(match &last.arguments {
        PathArguments::AngleBracketed(a) if a.args.len() == 1 => match a.args.first() {
            Some(GenericArgument::Type(t)) => Ok(t),
            _ => Err(wrong),
        },
        _ => Err(wrong),
    })
}

/// `&State<S>` or `&mut State<S>`.
fn state_by_ref(ty: &Type) -> Option<&Type> {
    match ty {
        Type::Reference(r) if state_type(&r.elem).is_some() => Some(ty),
        _ => None,
    }
}

/// `ToolContext`, by its last path segment (the macro sees no types, only their names).
fn is_context(ty: &Type) -> bool {
    matches!(ty, Type::Path(p) if p.qself.is_none()
        && p.path.segments.last().is_some_and(|s| s.ident == "ToolContext" && s.arguments.is_empty()))
}

/// `&ToolContext` or `&mut ToolContext`.
fn context_by_ref(ty: &Type) -> Option<&Type> {
    match ty {
        Type::Reference(r) if is_context(&r.elem) => Some(ty),
        _ => None,
    }
}

/// An `impl Trait` anywhere in the type.
fn impl_trait(ty: &Type) -> Option<&Type> {
    match ty {
        Type::ImplTrait(_) => Some(ty),
        Type::Reference(r) => impl_trait(&r.elem),
        Type::Paren(p) => impl_trait(&p.elem),
        Type::Group(g) => impl_trait(&g.elem),
        Type::Slice(s) => impl_trait(&s.elem),
        Type::Array(a) => impl_trait(&a.elem),
        Type::Ptr(p) => impl_trait(&p.elem),
        Type::Tuple(t) => t.elems.iter().find_map(impl_trait),
        Type::Path(p) => p.path.segments.iter().find_map(|s| match &s.arguments {
            PathArguments::AngleBracketed(a) => a.args.iter().find_map(|g| match g {
                GenericArgument::Type(t) => impl_trait(t),
                _ => None,
            }),
            _ => None,
        }),
        _ => None,
    }
}

/// The output type, and the return type as written (for a function with a body).
fn check_return<'a>(item: &'a ToolFn, errors: &mut Errors) -> Option<(Type, Option<&'a Type>)> {
    let interrupt_only = item.body.is_none();
    let ty = match &item.sig.output {
        ReturnType::Type(_, ty) => &**ty,
        ReturnType::Default => {
            let message = if interrupt_only {
                "an interrupt-only tool declares its answer type: `fn name(input: Input) -> Answer;`"
            } else {
                "a tool returns `ToolResult<O>` (or `Result<O, E>` whose error converts into `ToolError`): add the return type"
            };
            errors.at(&item.sig.ident, message);
            return None;
        }
    };
    if let Some(t) = impl_trait(ty) {
        errors.at(
            t,
            "a tool returns a concrete `ToolResult<O>`, not an `impl Trait`",
        );
        return None;
    }
    match result_output(ty) {
        Some(output) if interrupt_only => Some((output.clone(), None)),
        Some(output) => Some((output.clone(), Some(ty))),
        None if interrupt_only => Some((ty.clone(), None)),
        None => {
            errors.at(
                ty,
                "a tool returns `ToolResult<O>` (or `Result<O, E>` whose error converts into \
                 `ToolError`), so it can fail or interrupt",
            );
            None
        }
    }
}

/// `O` of `ToolResult<O>`, `Result<O, E>`, `anyhow::Result<O>`, ...
fn result_output(ty: &Type) -> Option<&Type> {
    let Type::Path(p) = ty else { return None };
    if p.qself.is_some() {
        return None;
    }
    let last = p.path.segments.last()?;
    if last.ident != "Result" && last.ident != "ToolResult" {
        return None;
    }
    let PathArguments::AngleBracketed(args) = &last.arguments else {
        return None;
    };
    match args.args.first()? {
        GenericArgument::Type(t) => Some(t),
        _ => None,
    }
}

/// `name = "..."` or the function name; either must be a name model APIs accept.
fn tool_name(attrs: &Attrs, item: &ToolFn, errors: &mut Errors) -> String {
    let (name, span) = match &attrs.name {
        Some(Arg { value, .. }) => (value.value(), value.span()),
        None => {
            let ident = &item.sig.ident;
            (ident.unraw().to_string(), ident.span())
        }
    };
    if !is_valid_tool_name(&name) {
        errors.at_span(
            span,
            format!(
                "invalid tool name {name:?}: model APIs (OpenAI, Gemini, ...) accept 1 to 64 \
                 ASCII letters, digits, `_` and `-` (`^[a-zA-Z0-9_-]{{1,64}}$`){}",
                if attrs.name.is_some() {
                    ""
                } else {
                    "; set another with `#[tool(name = \"...\")]`"
                }
            ),
        );
    }
    name
}

/// `^[a-zA-Z0-9_-]{1,64}$`, as `genkit_core::is_valid_tool_name`.
fn is_valid_tool_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// `description = "..."`, or the doc comment; one of them is required.
fn description(attrs: &Attrs, item: &ToolFn, errors: &mut Errors) -> String {
    let from_doc = doc::render(&doc::doc_lines(
        &item.attrs,
        errors,
        attrs.description.is_none(),
    ));
    let (text, span) = match &attrs.description {
        Some(Arg { value, .. }) => (value.value().trim().to_owned(), value.span()),
        None => (from_doc, item.sig.ident.span()),
    };
    if text.is_empty() {
        errors.at_span(
            span,
            "a tool needs a description, which tells the model what it does and when to call it: \
             write a doc comment (`/// ...`) or `#[tool(description = \"...\")]`",
        );
    }
    text
}

/// `interrupt = P` and `payload = expr` agree with the form of the function.
fn check_interrupt(attrs: &Attrs, item: &ToolFn, errors: &mut Errors) {
    let interrupt_only = item.body.is_none();
    match (&attrs.interrupt, &attrs.payload) {
        (_, Some(payload)) if !interrupt_only => errors.at_span(
            payload.key,
            "`payload` is for interrupt-only tools (functions without a body); \
             in a body, pass the payload to `ctx.interrupt(..)`",
        ),
        (None, Some(payload)) => errors.at_span(
            payload.key,
            "`payload` needs the payload type: add `interrupt = PayloadType`",
        ),
        (Some(interrupt), None) if interrupt_only => errors.at(
            &interrupt.value,
            "an interrupt-only tool with a payload type computes its payload from the input: \
             add `payload = function` (a `fn(&Input) -> Payload`)",
        ),
        _ => {}
    }
}

/// The parameter's binding, when it is a plain name (`ctx`, `mut ctx`).
pub(crate) fn binding(pt: &PatType) -> Option<&syn::PatIdent> {
    match &*pt.pat {
        Pat::Ident(p) if p.subpat.is_none() && p.by_ref.is_none() => Some(p),
        _ => None,
    }
}

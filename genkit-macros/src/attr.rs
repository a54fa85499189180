//! Parsing the arguments of `#[tool(...)]`.

use proc_macro2::{Span, TokenStream, TokenTree};
use syn::meta::ParseNestedMeta;
use syn::parse::discouraged::Speculative;
use syn::parse::{Parse, ParseStream, Parser};
use syn::{Expr, LitStr, Path, Token, Type};

use crate::errors::Errors;

/// The keys `#[tool(...)]` accepts, as error messages list them.
const KEYS: &str = "`name`, `description`, `interrupt`, `payload`, `crate`";

/// One `key = value` argument, with the span of its key.
pub(crate) struct Arg<T> {
    /// The key's span.
    pub(crate) key: Span,
    /// The value.
    pub(crate) value: T,
}

/// The arguments of `#[tool(...)]`, each at most once.
#[derive(Default)]
pub(crate) struct Attrs {
    /// `name = "..."`: the tool name, instead of the function name.
    pub(crate) name: Option<Arg<LitStr>>,
    /// `description = "..."`: the description, instead of the doc comment.
    pub(crate) description: Option<Arg<LitStr>>,
    /// `interrupt = Type`: the type of the tool's interrupt payload.
    pub(crate) interrupt: Option<Arg<Type>>,
    /// `payload = expr`: how an interrupt-only tool computes its payload from the input.
    pub(crate) payload: Option<Arg<Expr>>,
    /// `crate = "path"`: where `genkit_core` is.
    pub(crate) krate: Option<Arg<Path>>,
}

impl Attrs {
    /// The path of `genkit_core`: `crate = ..`, or `::genkit_core`.
    pub(crate) fn krate(&self) -> Path {
        match &self.krate {
            Some(k) => k.value.clone(),
            None => syn::parse_quote!(::genkit_core),
        }
    }
}

/// Parses the attribute arguments; every problem is recorded in `errors`, and what could be
/// read is returned.
pub(crate) fn parse(args: TokenStream, errors: &mut Errors) -> Attrs {
    let mut attrs = Attrs::default();
    let parser = syn::meta::parser(|meta| parse_one(&meta, &mut attrs, errors));
    if let Err(e) = parser.parse2(args) {
        errors.push(e);
    }
    attrs
}

fn parse_one(
    meta: &ParseNestedMeta<'_>,
    attrs: &mut Attrs,
    errors: &mut Errors,
) -> syn::Result<()> {
    let key = &meta.path;
    let span = syn::spanned::Spanned::span(key);
    if key.is_ident("name") {
        if let Some(v) = value(meta, "name", "\"...\"", <LitStr as Parse>::parse, errors)? {
            set(&mut attrs.name, "name", span, v, errors);
        }
    } else if key.is_ident("description") {
        if let Some(v) = value(
            meta,
            "description",
            "\"...\"",
            <LitStr as Parse>::parse,
            errors,
        )? {
            set(&mut attrs.description, "description", span, v, errors);
        }
    } else if key.is_ident("interrupt") {
        if let Some(v) = value(
            meta,
            "interrupt",
            "PayloadType",
            <Type as Parse>::parse,
            errors,
        )? {
            set(&mut attrs.interrupt, "interrupt", span, v, errors);
        }
    } else if key.is_ident("payload") {
        if let Some(v) = value(meta, "payload", "function", <Expr as Parse>::parse, errors)? {
            set(&mut attrs.payload, "payload", span, v, errors);
        }
    } else if key.is_ident("crate") {
        if let Some(v) = value(meta, "crate", "\"path\"", parse_crate_path, errors)? {
            set(&mut attrs.krate, "crate", span, v, errors);
        }
    } else {
        let shown = quote::ToTokens::to_token_stream(key)
            .to_string()
            .replace(' ', "");
        errors.at(
            key,
            format!("unknown `#[tool]` argument `{shown}`; expected one of {KEYS}"),
        );
        skip_value(meta.input)?;
    }
    Ok(())
}

/// The value of `key = value`, parsed by `parse`; a missing or malformed value is recorded
/// (showing the form `key = example`) and skipped, so the next arguments are still read.
fn value<T>(
    meta: &ParseNestedMeta<'_>,
    key: &str,
    example: &str,
    parse: impl FnOnce(ParseStream<'_>) -> syn::Result<T>,
    errors: &mut Errors,
) -> syn::Result<Option<T>> {
    let input = meta.input;
    if !input.peek(Token![=]) {
        errors.at(
            &meta.path,
            format!("`{key}` takes a value: `{key} = {example}`"),
        );
        skip_value(input)?;
        return Ok(None);
    }
    input.parse::<Token![=]>()?;
    let fork = input.fork();
    match parse(&fork) {
        Ok(v) if fork.is_empty() || fork.peek(Token![,]) => {
            input.advance_to(&fork);
            Ok(Some(v))
        }
        _ => {
            errors.at_span(input.span(), format!("expected `{key} = {example}`"));
            skip_value(input)?;
            Ok(None)
        }
    }
}

/// Keeps the first value of a key; a repeated key is an error on its second occurrence.
fn set<T>(slot: &mut Option<Arg<T>>, name: &str, key: Span, value: T, errors: &mut Errors) {
    if slot.is_some() {
        errors.at_span(key, format!("duplicate `#[tool]` argument `{name}`"));
    } else {
        *slot = Some(Arg { key, value });
    }
}

/// `crate = "path"` (as serde writes it) or `crate = path`.
fn parse_crate_path(input: ParseStream<'_>) -> syn::Result<Path> {
    if input.peek(LitStr) {
        let lit: LitStr = input.parse()?;
        lit.parse_with(Path::parse_mod_style)
    } else {
        input.call(Path::parse_mod_style)
    }
}

/// Skips whatever follows an unknown key, up to the next `,`.
fn skip_value(input: ParseStream<'_>) -> syn::Result<()> {
    while !input.is_empty() && !input.peek(Token![,]) {
        input.parse::<TokenTree>()?;
    }
    Ok(())
}

//! Parsing the item under `#[tool]`: a function, with a body or (interrupt-only) without.

use syn::parse::{Parse, ParseStream};
use syn::{braced, Attribute, Block, Signature, Token, Visibility};

/// A function as written: `fn name(..) -> T { .. }`, or `fn name(..) -> T;`.
///
/// A function without a body is valid syntax (rustc rejects it only after macro expansion,
/// like `#[cfg(any())] fn f();`), so an attribute can give it a meaning: here, a tool that
/// always interrupts.
pub(crate) struct ToolFn {
    /// Outer attributes, then the body's inner attributes (as `syn::ItemFn` keeps them).
    pub(crate) attrs: Vec<Attribute>,
    /// The visibility.
    pub(crate) vis: Visibility,
    /// The signature.
    pub(crate) sig: Signature,
    /// The body; `None` for `fn f(..) -> T;`.
    pub(crate) body: Option<Block>,
}

impl Parse for ToolFn {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let mut attrs = input.call(Attribute::parse_outer)?;
        let vis: Visibility = input.parse()?;
        let sig: Signature = input.parse()?;
        let body = if input.peek(Token![;]) {
            input.parse::<Token![;]>()?;
            None
        } else {
            let content;
            let brace_token = braced!(content in input);
            attrs.extend(content.call(Attribute::parse_inner)?);
            let stmts = content.call(Block::parse_within)?;
            Some(Block { brace_token, stmts })
        };
        Ok(ToolFn {
            attrs,
            vis,
            sig,
            body,
        })
    }
}

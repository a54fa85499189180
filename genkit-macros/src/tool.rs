//! `#[tool]`: parse, validate, expand; on errors, the errors plus stubs.

use proc_macro2::TokenStream;
use quote::quote;

use crate::ast::ToolFn;
use crate::errors::Errors;
use crate::{attr, dummy, expand, model};

/// The expansion of `#[tool(args)] item`.
pub(crate) fn tool(args: TokenStream, item: TokenStream) -> TokenStream {
    let mut errors = Errors::default();
    let attrs = attr::parse(args, &mut errors);
    let item_fn: ToolFn = match syn::parse2(item.clone()) {
        Ok(f) => f,
        Err(e) => {
            // not a function: say so, and leave the item alone
            let e = syn::Error::new(e.span(), format!("`#[tool]` goes on a function: {e}"));
            errors.push(e);
            let errors = errors.into_compile_errors();
            return quote!(#errors #item);
        }
    };
    let expansion = match model::validate(&attrs, &item_fn, &mut errors) {
        Some(tool) => expand::expand(&tool),
        None => dummy::dummy(&item_fn, &attrs.krate()),
    };
    let errors = errors.into_compile_errors();
    quote!(#errors #expansion)
}

#[cfg(test)]
mod tests {
    use proc_macro2::{TokenStream, TokenTree};
    use quote::quote;

    fn idents(tokens: TokenStream, out: &mut Vec<String>) {
        for token in tokens {
            match token {
                TokenTree::Ident(i) => out.push(i.to_string()),
                TokenTree::Group(g) => idents(g.stream(), out),
                _ => {}
            }
        }
    }

    fn expand(args: TokenStream, item: TokenStream) -> Vec<String> {
        let mut out = Vec::new();
        idents(super::tool(args, item), &mut out);
        out
    }

    const DEPENDENCIES: [&str; 7] = [
        "genkit_core",
        "serde",
        "serde_json",
        "schemars",
        "futures",
        "std",
        "alloc",
    ];

    /// With `crate = "..."`, no path of the expansion names `genkit_core` or a dependency
    /// (`core` only, which every crate has): a crate that renamed `genkit-core` compiles.
    #[test]
    fn every_path_goes_through_the_crate_argument() {
        let items = [
            quote! {
                /// Ask.
                async fn ask(input: Questions, ctx: ToolContext) -> ToolResult<String> {
                    ctx.interrupt(())
                }
            },
            quote! {
                /// Confirm.
                fn confirm(input: Transfer) -> Answer;
            },
            // rejected (generic): the stubs too
            quote! {
                /// Generic.
                async fn generic<T>(input: T) -> ToolResult<String> { Ok(String::new()) }
            },
        ];
        for item in items {
            let expansion = expand(quote!(crate = "gk", interrupt = P, payload = f), item);
            for dependency in DEPENDENCIES {
                assert!(
                    !expansion.iter().any(|i| i == dependency),
                    "{dependency} in {expansion:?}"
                );
            }
            assert!(expansion.iter().any(|i| i == "gk"));
        }
    }

    #[test]
    fn by_default_paths_start_at_genkit_core() {
        let expansion = expand(
            quote!(),
            quote! {
                /// Ask.
                async fn ask(input: Questions, ctx: ToolContext) -> ToolResult<String> {
                    ctx.interrupt(())
                }
            },
        );
        assert!(expansion.iter().any(|i| i == "genkit_core"));
        for dependency in &DEPENDENCIES[1..] {
            assert!(!expansion.iter().any(|i| i == dependency), "{dependency}");
        }
    }
}

//! What `#[tool]` emits for a function it rejected, beside the errors: the function itself
//! and stubs of everything a tool provides, so that the code using the tool compiles and the
//! only errors are the ones about the function.

use proc_macro2::TokenStream;
use quote::quote;
use syn::{ItemFn, Path};

use crate::ast::ToolFn;
use crate::expand::{sort_attrs, SortedAttrs};
use crate::model::has_receiver;

/// The stubs for `item`.
pub(crate) fn dummy(item: &ToolFn, krate: &Path) -> TokenStream {
    let ToolFn {
        attrs,
        vis,
        sig,
        body,
    } = item;
    if has_receiver(item) {
        // a method: the stubs could not live in its `impl` block; emit it as written
        let block = body.clone().unwrap_or_else(|| syn::parse_quote!({}));
        let item = ItemFn {
            attrs: attrs.clone(),
            vis: vis.clone(),
            sig: sig.clone(),
            block: Box::new(block),
        };
        return quote!(#item);
    }
    let ident = &sig.ident;
    let SortedAttrs { docs, cfgs, others } = sort_attrs(attrs);
    let call = body.as_ref().map(|block| {
        let mut sig = sig.clone();
        sig.ident = syn::Ident::new("call", ident.span());
        let item = ItemFn {
            attrs: others.iter().map(|a| (*a).clone()).collect(),
            vis: syn::parse_quote!(pub),
            sig,
            block: Box::new(block.clone()),
        };
        quote!(#item)
    });
    let name = ident.to_string();
    let invalid = quote!(#krate::__private::Invalid);
    let tool_ty = quote!(#krate::Tool<#invalid, #invalid>);
    let result = |ok: TokenStream| quote!(::core::result::Result<#ok, #krate::GenkitError>);
    let part = result(quote!(#krate::Part));
    let t = result(quote!(T));
    quote! {
        #(#cfgs)*
        #(#docs)*
        #[allow(non_camel_case_types)]
        #[derive(Clone, Copy, Debug)]
        #vis struct #ident;

        #(#cfgs)*
        #[allow(dead_code, unused_variables, clippy::all)]
        impl #ident {
            pub const NAME: &'static str = #name;

            pub fn respond<T>(&self, interrupt: &#krate::Interrupt, output: T) -> #part {
                ::core::unimplemented!()
            }

            pub fn restart<R, T>(
                &self,
                interrupt: &#krate::Interrupt,
                resumed: R,
                new_input: ::core::option::Option<T>,
            ) -> #part {
                ::core::unimplemented!()
            }

            pub fn payload<T>(&self, interrupt: &#krate::Interrupt) -> #t {
                ::core::unimplemented!()
            }

            #call
        }

        #(#cfgs)*
        impl ::core::ops::Deref for #ident {
            type Target = #tool_ty;

            fn deref(&self) -> &#tool_ty {
                ::core::unimplemented!()
            }
        }

        #(#cfgs)*
        impl #krate::TypedTool for #ident {
            type Input = #invalid;
            type Output = #invalid;

            fn action(&self) -> &#krate::__private::Arc<#krate::ToolAction> {
                ::core::unimplemented!()
            }
        }
    }
}

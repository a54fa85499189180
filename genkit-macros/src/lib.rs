//! Work in progress: the `#[tool]` attribute (issue 3). Until it lands, it leaves the item as is.
#![deny(missing_docs)]

use proc_macro::TokenStream;

/// Placeholder: returns the item unchanged.
#[proc_macro_attribute]
pub fn tool(_attr: TokenStream, item: TokenStream) -> TokenStream {
    item
}

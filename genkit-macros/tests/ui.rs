//! trybuild UI tests of `#[tool]`: `ui/pass` compile (and run), `ui/fail` fail with the
//! checked-in `.stderr`. Regenerate those with `TRYBUILD=overwrite cargo test -p genkit-macros --test ui`,
//! then read every one.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.pass("tests/ui/pass/*.rs");
    t.compile_fail("tests/ui/fail/*.rs");
}

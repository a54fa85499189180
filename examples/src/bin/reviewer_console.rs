//! The reviewer console: `cargo run -p examples --features serve --bin reviewer_console`, then
//! open the printed URL. Customers' clients talk to the agent at `/agents/support`; a reviewer
//! approves, edits or refuses its refunds on the page. The model is scripted (see
//! `examples::reviewer_console`), so it runs without a model server.
//!
//! `--port N` picks the port (default: any free one); the first line printed is the URL.

use examples::reviewer_console::Console;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut port = 0u16;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--port" => port = args.next().unwrap_or_default().parse()?,
            "--help" | "-h" => {
                println!("usage: reviewer_console [--port N]");
                return Ok(());
            }
            other => anyhow::bail!("unknown argument {other:?} (try --help)"),
        }
    }
    let console = Console::new()?;
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    println!("reviewer console at http://{}/", listener.local_addr()?);
    axum::serve(listener, console.router()).await?;
    Ok(())
}

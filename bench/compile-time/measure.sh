#!/usr/bin/env bash
# The compile-time cost of `#[tool]` (issue 8): a crate with 50 tools, next to the same 50
# functions without the attribute.
#
# Generates three throwaway crates in a temporary directory (outside the repository), all
# depending on this checkout's genkit-core by path, with the same 50 functions and the same
# input/output structs (deriving Deserialize, Serialize and JsonSchema):
#
#   plain    - the functions as plain `pub` fns, no attribute: what the functions themselves
#              cost (the derives' generic impls are never instantiated);
#   builder  - the same plain fns, each also made a tool by hand with the builder API,
#              `Tool::new(name, description, |input, ctx| f(input, ..))`: the way to get the
#              same 50 tools without the macro (serde and schemars instantiated per type);
#   tools    - each function under `#[tool]` (5 shapes: async, async with ToolContext, plain
#              fn returning Result<_, String>, typed interrupt, nested types).
#
# `tools` - `plain` is the whole cost of turning 50 functions into tools with the attribute;
# `tools` - `builder` is what the attribute costs beyond the hand-written equivalent.
#
# Builds the dependencies once (shared target directory), then rebuilds each crate alone
# (`touch src/lib.rs`) several times, `cargo build` (debug) and `cargo check`, and prints the
# median and the minimum wall time of each, and the difference.
#
# Usage: bench/compile-time/measure.sh [runs]      (default 5 runs per measurement)
#        KEEP=1 bench/compile-time/measure.sh      (keep the generated crates; prints where)
#
# Run it on an otherwise idle machine: it measures wall time.
set -euo pipefail

RUNS="${1:-5}"
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/genkit-tool-compile.XXXXXX")"
if [[ "${KEEP:-0}" != "1" ]]; then
  trap 'rm -rf "$WORK"' EXIT
fi
N=50

# ---------------------------------------------------------------------------------------------
# Generating the crates

# The structs of function $1: input In$1, output Out$1 (and for some shapes, more types).
structs() {
  local i=$1
  cat <<EOF

/// Input of function $i.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
pub struct In$i {
    /// what to look for
    pub query: String,
EOF
  case $((i % 5)) in
    0) cat <<EOF
    /// how many results at most
    pub limit: u32,
    /// whether to include archived entries
    pub archived: bool,
}
EOF
    ;;
    1) cat <<EOF
    /// an optional language code
    pub lang: Option<String>,
    /// tags to filter by
    pub tags: Vec<String>,
    /// a weight between 0 and 1
    pub weight: f64,
}
EOF
    ;;
    2) cat <<EOF
    /// an offset from the start
    pub offset: i64,
}
EOF
    ;;
    3) cat <<EOF
    /// the amount involved, in cents
    pub amount: u64,
    /// who asks
    pub requester: String,
}

/// What the user is asked to approve for function $i.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
pub struct Approval$i {
    /// the question shown
    pub question: String,
    /// the amount at stake
    pub amount: u64,
}
EOF
    ;;
    4) cat <<EOF
    /// the sort order
    pub order: Order$i,
    /// extra filters
    pub filters: Vec<Filter$i>,
}

/// A sort order.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Order$i {
    /// newest first
    Newest,
    /// oldest first
    Oldest,
    /// most relevant first
    Relevance,
}

/// One filter.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
pub struct Filter$i {
    /// the field
    pub field: String,
    /// the value it must have
    pub value: String,
}
EOF
    ;;
  esac
  cat <<EOF

/// Output of function $i.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
pub struct Out$i {
    /// the items found
    pub items: Vec<Item$i>,
    /// a note for the model
    pub note: Option<String>,
}

/// One item of function $i's output.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
pub struct Item$i {
    /// the item's id
    pub id: u64,
    /// the item's title
    pub title: String,
    /// a score
    pub score: f32,
}
EOF
}

# Function $1; $2 = 1 with `#[tool]`, 0 without.
function_() {
  local i=$1 tool=$2 attr=""
  case $((i % 5)) in
    0)
      [[ $tool == 1 ]] && attr="#[tool]"
      cat <<EOF

/// Searches the catalogue ($i) for entries matching the query.
$attr
pub async fn search_$i(input: In$i) -> ToolResult<Out$i> {
    let n = input.limit.min(3) as u64;
    Ok(Out$i {
        items: (0..n).map(|id| Item$i { id, title: format!("{} {id}", input.query), score: 1.0 }).collect(),
        note: input.archived.then(|| "archived included".to_owned()),
    })
}
EOF
      ;;
    1)
      [[ $tool == 1 ]] && attr="#[tool]"
      cat <<EOF

/// Translates the query ($i) into the requested language.
$attr
pub async fn translate_$i(input: In$i, ctx: ToolContext) -> ToolResult<Out$i> {
    let lang = input.lang.clone().unwrap_or_else(|| "en".to_owned());
    Ok(Out$i {
        items: vec![Item$i { id: input.tags.len() as u64, title: format!("{}:{lang}", input.query), score: input.weight as f32 }],
        note: ctx.is_resumed().then(|| "resumed".to_owned()),
    })
}
EOF
      ;;
    2)
      [[ $tool == 1 ]] && attr="#[tool]"
      cat <<EOF

/// Reads a page ($i) of the log, starting at the offset.
$attr
pub fn read_log_$i(input: In$i) -> Result<Out$i, String> {
    if input.offset < 0 {
        return Err(format!("negative offset {}", input.offset));
    }
    Ok(Out$i { items: Vec::new(), note: Some(input.query) })
}
EOF
      ;;
    3)
      if [[ $tool == 1 ]]; then
        attr="#[tool(interrupt = Approval$i)]"
        local payload="Approval$i { question: format!(\"Approve {}?\", input.query), amount: input.amount }"
      else
        local payload="Approval$i { question: format!(\"Approve {}?\", input.query), amount: input.amount }"
      fi
      cat <<EOF

/// Pays ($i) the amount; large amounts need the user's approval first.
$attr
pub async fn pay_$i(input: In$i, ctx: ToolContext) -> ToolResult<Out$i> {
    if input.amount > 10_000 && !ctx.is_resumed() {
        return ctx.interrupt($payload);
    }
    Ok(Out$i { items: vec![Item$i { id: input.amount, title: input.requester, score: 0.0 }], note: None })
}
EOF
      ;;
    4)
      [[ $tool == 1 ]] && attr="#[tool]"
      cat <<EOF

/// Lists ($i) entries in the requested order, filtered.
$attr
pub fn list_$i(input: In$i) -> ToolResult<Out$i> {
    let note = format!("{:?} with {} filters", input.order, input.filters.len());
    Ok(Out$i { items: Vec::new(), note: Some(note) })
}
EOF
      ;;
  esac
}

# The hand-written tool for function $1, with the builder API.
builder_() {
  local i=$1
  case $((i % 5)) in
    0) echo "
/// search_$i as a tool, by hand.
pub fn search_${i}_tool() -> Tool<In$i, Out$i> {
    Tool::new(\"search_$i\", \"Searches the catalogue ($i) for entries matching the query.\", |input: In$i, _ctx: ToolContext| search_$i(input))
}" ;;
    1) echo "
/// translate_$i as a tool, by hand.
pub fn translate_${i}_tool() -> Tool<In$i, Out$i> {
    Tool::new(\"translate_$i\", \"Translates the query ($i) into the requested language.\", |input: In$i, ctx: ToolContext| translate_$i(input, ctx))
}" ;;
    2) echo "
/// read_log_$i as a tool, by hand.
pub fn read_log_${i}_tool() -> Tool<In$i, Out$i> {
    Tool::new(\"read_log_$i\", \"Reads a page ($i) of the log, starting at the offset.\", |input: In$i, _ctx: ToolContext| async move { Ok(read_log_$i(input)?) })
}" ;;
    3) echo "
/// pay_$i as a tool, by hand.
pub fn pay_${i}_tool() -> Tool<In$i, Out$i> {
    Tool::new(\"pay_$i\", \"Pays ($i) the amount; large amounts need the user's approval first.\", |input: In$i, ctx: ToolContext| pay_$i(input, ctx))
}" ;;
    4) echo "
/// list_$i as a tool, by hand.
pub fn list_${i}_tool() -> Tool<In$i, Out$i> {
    Tool::new(\"list_$i\", \"Lists ($i) entries in the requested order, filtered.\", |input: In$i, _ctx: ToolContext| async move { list_$i(input) })
}" ;;
  esac
}

# Crate $1 (directory name): plain, builder or tools.
generate() {
  local name=$1 tool=0 dir="$WORK/$1"
  [[ $name == tools ]] && tool=1
  mkdir -p "$dir/src"
  cp "$REPO/Cargo.lock" "$dir/Cargo.lock"
  cat >"$dir/Cargo.toml" <<EOF
[package]
name = "$name"
version = "0.0.0"
edition = "2021"
publish = false

[dependencies]
genkit-core = { path = "$REPO/genkit-core" }
serde = { version = "1", features = ["derive"] }
schemars = "1"

[workspace]
EOF
  {
    echo "//! $N functions with their input and output types ($name)."
    echo "#![allow(clippy::all)]"
    echo "use genkit_core::prelude::*;"
    echo "use schemars::JsonSchema;"
    echo "use serde::{Deserialize, Serialize};"
    for ((i = 0; i < N; i++)); do
      structs "$i"
      function_ "$i" "$tool"
      if [[ $name == builder ]]; then
        builder_ "$i"
      fi
    done
  } >"$dir/src/lib.rs"
}

generate plain
generate builder
generate tools

# ---------------------------------------------------------------------------------------------
# Measuring

export CARGO_TARGET_DIR="$WORK/target"
export CARGO_INCREMENTAL=0  # measure a full compile of the crate, not an incremental one

now() { date +%s.%N; }

# Median and minimum of the numbers on stdin.
stats() {
  sort -g | awk '{ a[NR] = $1 } END {
    m = (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2;
    printf "%.2f %.2f\n", m, a[1] }'
}

# Rebuilds crate $1 alone with `cargo $2`, RUNS times; prints "median min".
measure() {
  local name=$1 cmd=$2 times=()
  (cd "$WORK/$name" && cargo "$cmd" -q >/dev/null 2>&1)  # dependencies, and a first build
  for ((r = 0; r < RUNS; r++)); do
    touch "$WORK/$name/src/lib.rs"
    local t0 t1
    t0=$(now)
    (cd "$WORK/$name" && cargo "$cmd" -q)
    t1=$(now)
    times+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')")
  done
  printf '%s\n' "${times[@]}" | stats
}

echo "Building the dependencies (genkit-core, serde, schemars, ...) once; this takes a while." >&2
for name in plain builder tools; do
  # Every crate must build without a warning: the comparison is only fair if all three do.
  (cd "$WORK/$name" && cargo build -q 2>&1 | tail -20) >&2
  (cd "$WORK/$name" && cargo check -q 2>&1 | tail -20) >&2
done

echo "rustc: $(rustc --version)"
echo "crates in $WORK; $N functions each; $RUNS runs per line; wall seconds"
printf '%-8s %-6s %8s %8s\n' command crate median min
declare -A result
for cmd in build check; do
  for name in plain builder tools; do
    read -r med min < <(measure "$name" "$cmd")
    result[$cmd-$name]=$med
    printf '%-8s %-6s %8s %8s\n' "$cmd" "$name" "$med" "$min"
  done
done
for cmd in build check; do
  awk -v t="${result[$cmd-tools]}" -v p="${result[$cmd-plain]}" -v b="${result[$cmd-builder]}" \
    -v c="$cmd" -v n="$N" 'BEGIN {
    printf "cargo %s: #[tool] adds %.2f s to the plain fns for %d tools (%.0f ms per tool, %.2fx);", \
      c, t - p, n, (t - p) * 1000 / n, t / p
    printf " %+.2f s next to the builder API (%+.0f ms per tool)\n", t - b, (t - b) * 1000 / n }'
done
echo "source lines: plain $(wc -l <"$WORK/plain/src/lib.rs"), builder $(wc -l <"$WORK/builder/src/lib.rs"), tools $(wc -l <"$WORK/tools/src/lib.rs")"
if [[ "${KEEP:-0}" == "1" ]]; then
  echo "kept: $WORK"
fi

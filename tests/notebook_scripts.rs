//! The scripts that keep notebooks/ stored with its outputs, on small fixture
//! notebooks written to a temporary folder:
//! - scripts/check-notebooks.py (run by CI after executing every notebook) must
//!   pass a stored notebook whose outputs are of the same kinds as a fresh
//!   execution's, and fail — naming the notebook, the cell and its first line,
//!   and the command that regenerates them — on a changed source, a missing or
//!   extra kind of output, a notebook stored without outputs, an error output
//!   and a bare `()` result;
//! - scripts/store-notebook.py (`scripts/render-notebooks.sh --store`) must
//!   store an executed notebook lightly and stably, and refuse a bad one.
//!
//! They need python3; without it these tests say so and pass, except in CI
//! (`CI=true`), where a missing python3 fails them.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::{json, Value};

const REGENERATE: &str = "scripts/render-notebooks.sh --store";

fn python() -> Option<&'static str> {
    let found = Command::new("python3").arg("--version").output().is_ok_and(|o| o.status.success());
    if found {
        return Some("python3");
    }
    assert!(
        std::env::var_os("CI").is_none_or(|v| v != "true"),
        "CI=true but python3 is not found: the notebook scripts cannot be tested"
    );
    eprintln!("python3 not found: the notebook scripts' tests are skipped");
    None
}

fn script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts").join(name)
}

fn run(py: &str, name: &str, args: &[&Path]) -> (Output, String) {
    let o = Command::new(py).arg(script(name)).args(args).output().expect("python3 runs");
    let all = format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
    (o, all)
}

fn code(source: &str, outputs: Value) -> Value {
    json!({"cell_type": "code", "execution_count": null, "id": "x", "metadata": {},
           "outputs": outputs, "source": source})
}

fn stdout(text: &str) -> Value {
    json!({"output_type": "stream", "name": "stdout", "text": text})
}

fn result(data: Value) -> Value {
    json!({"output_type": "execute_result", "execution_count": 1, "data": data, "metadata": {}})
}

fn display(data: Value) -> Value {
    json!({"output_type": "display_data", "data": data, "metadata": {}})
}

/// A small notebook as executed: a prelude without output, a cell printing,
/// a table (HTML) and a plot (SVG); `n` changes the numbers and the pixels.
fn notebook(n: u32) -> Value {
    json!({
        "nbformat": 4, "nbformat_minor": 5,
        "metadata": {"kernelspec": {"name": "rust", "display_name": "Rust", "language": "rust"}},
        "cells": [
            {"cell_type": "markdown", "id": "m", "metadata": {}, "source": "# Fixture\n\nProse."},
            code(":dep freqtag = { path = \"..\" }", json!([])),
            code("let x = 1;\nprintln!(\"{x}\");", json!([stdout(&format!("{n}\n"))])),
            code("scores", json!([result(json!({"text/html": format!("<table>{n}</table>"), "text/plain": "df"}))])),
            code("freqtag::plots::layer_profile(&results)?",
                 json!([display(json!({"image/svg+xml": format!("<svg>{n}</svg>")}))])),
        ]
    })
}

fn write(dir: &Path, rel: &str, nb: &Value) -> PathBuf {
    let p = dir.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(&p, serde_json::to_string_pretty(nb).unwrap()).unwrap();
    p
}

/// Check `stored` against `executed` (same file name, in two folders).
fn check(py: &str, stored: &Value, executed: &Value) -> (Output, String) {
    let dir = tempfile::tempdir().unwrap();
    let s = write(dir.path(), "stored/01-fixture.ipynb", stored);
    write(dir.path(), "executed/01-fixture.ipynb", executed);
    run(py, "check-notebooks.py", &[&dir.path().join("executed"), &s])
}

/// The check fails, and its message names the notebook, `cell` (its index and
/// first source line), `what`, and the command that regenerates the notebooks.
fn fails(py: &str, stored: &Value, executed: &Value, cell: &str, what: &str) {
    let (o, msg) = check(py, stored, executed);
    assert_eq!(o.status.code(), Some(1), "expected exit 1: {msg}");
    let line = msg.lines().find(|l| l.contains(cell)).unwrap_or_else(|| panic!("no line names {cell}: {msg}"));
    assert!(line.contains("01-fixture.ipynb"), "the notebook is not named: {line}");
    assert!(line.contains(what), "expected '{what}' in: {line}");
    assert!(msg.contains(REGENERATE), "the regeneration command is not given: {msg}");
}

#[test]
fn a_stored_notebook_matching_its_execution_passes() {
    let Some(py) = python() else { return };
    // other numbers, other pixels, stdout in two chunks, timing metadata: same kinds
    let mut executed = notebook(2);
    executed["cells"][2]["outputs"] = json!([stdout("2"), stdout("\n")]);
    executed["cells"][3]["metadata"] = json!({"execution": {"iopub.execute_input": "2026-11-30T10:00:00Z"}});
    let (o, msg) = check(py, &notebook(1), &executed);
    assert_eq!(o.status.code(), Some(0), "{msg}");
    assert!(msg.contains("1 stored notebook(s) match"), "{msg}");
}

#[test]
fn a_changed_source_fails() {
    let Some(py) = python() else { return };
    let mut executed = notebook(1);
    executed["cells"][2]["source"] = json!("let x = 2;\nprintln!(\"{x}\");");
    fails(py, &notebook(1), &executed, "cell #2 (let x = 1;)", "source differs");
    // a cell more in the executed notebook
    let mut longer = notebook(1);
    longer["cells"].as_array_mut().unwrap().push(code("1 + 1", json!([result(json!({"text/plain": "2"}))])));
    fails(py, &notebook(1), &longer, "cell #5 (1 + 1)", "only in the executed notebook");
}

#[test]
fn a_missing_or_extra_kind_of_output_fails() {
    let Some(py) = python() else { return };
    // the plot became a PNG: another mime type
    let mut executed = notebook(1);
    executed["cells"][4]["outputs"] = json!([display(json!({"image/png": "iVBORw0KGgo="}))]);
    fails(py, &notebook(1), &executed, "cell #4 (freqtag::plots::layer_profile(&results)?)", "output kinds differ");
    // the executed cell also writes to stderr
    let mut executed = notebook(1);
    executed["cells"][2]["outputs"]
        .as_array_mut()
        .unwrap()
        .push(json!({"output_type": "stream", "name": "stderr", "text": "warning\n"}));
    fails(py, &notebook(1), &executed, "cell #2 (let x = 1;)", "executed stderr, stdout");
    // the stored table lost its HTML
    let mut stored = notebook(1);
    stored["cells"][3]["outputs"] = json!([result(json!({"text/plain": "df"}))]);
    fails(py, &stored, &notebook(1), "cell #3 (scores)", "execute_result[text/plain]");
}

#[test]
fn a_notebook_stored_without_outputs_fails() {
    let Some(py) = python() else { return };
    let mut stored = notebook(1);
    for cell in stored["cells"].as_array_mut().unwrap() {
        if cell["cell_type"] == "code" {
            cell["outputs"] = json!([]);
        }
    }
    fails(py, &stored, &notebook(1), "cell #2 (let x = 1;)", "stored without outputs");
    fails(py, &stored, &notebook(1), "cell #4 (freqtag::plots::layer_profile(&results)?)", "stored without outputs");
}

#[test]
fn an_error_output_fails() {
    let Some(py) = python() else { return };
    let error = json!({"output_type": "error", "ename": "Error", "evalue": "no such file", "traceback": []});
    let mut stored = notebook(1);
    stored["cells"][3]["outputs"] = json!([error]);
    // stored with an error the executed notebook also has: still an error
    fails(py, &stored, &stored, "cell #3 (scores)", "shows an error");
    fails(py, &stored, &notebook(1), "cell #3 (scores)", "shows an error");
}

#[test]
fn a_bare_unit_result_fails() {
    let Some(py) = python() else { return };
    let mut stored = notebook(1);
    stored["cells"][2]["outputs"] = json!([stdout("1\n"), result(json!({"text/plain": "()"}))]);
    fails(py, &stored, &stored, "cell #2 (let x = 1;)", "bare `()` result");
}

#[test]
fn a_missing_executed_copy_fails() {
    let Some(py) = python() else { return };
    let dir = tempfile::tempdir().unwrap();
    let s = write(dir.path(), "stored/01-fixture.ipynb", &notebook(1));
    std::fs::create_dir_all(dir.path().join("executed")).unwrap();
    let (o, msg) = run(py, "check-notebooks.py", &[&dir.path().join("executed"), &s]);
    assert_eq!(o.status.code(), Some(1), "{msg}");
    assert!(msg.contains("01-fixture.ipynb: no executed copy"), "{msg}");
}

#[test]
fn storing_drops_volatile_metadata_and_keeps_the_outputs() {
    let Some(py) = python() else { return };
    let dir = tempfile::tempdir().unwrap();
    let mut source = notebook(1);
    for cell in source["cells"].as_array_mut().unwrap() {
        if cell["cell_type"] == "code" {
            cell["outputs"] = json!([]);
        }
    }
    let stored = write(dir.path(), "notebooks/01-fixture.ipynb", &source);
    let mut executed = notebook(7);
    executed["metadata"]["language_info"] = json!({"name": "Rust", "version": "kernel-run specific"});
    let png = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==";
    executed["cells"][2]["outputs"] =
        json!([stdout("\u{1b}[1mseven\u{1b}[0m\n"), stdout("and more\n"), display(json!({"image/png": png}))]);
    for (i, n) in [(1, 3), (2, 5), (3, 8), (4, 13)] {
        executed["cells"][i]["execution_count"] = json!(n);
        executed["cells"][i]["metadata"] = json!({"execution": {"shell.execute_reply": "2026-11-30T10:00:00Z"}});
    }
    executed["cells"][3]["outputs"][0]["execution_count"] = json!(8);
    let ex = write(dir.path(), "executed/01-fixture.ipynb", &executed);

    let (o, msg) = run(py, "store-notebook.py", &[&ex, &stored]);
    assert!(o.status.success(), "{msg}");
    let text = std::fs::read_to_string(&stored).unwrap();
    assert_eq!(msg.trim(), text.len().to_string(), "prints the stored size");
    let nb: Value = serde_json::from_str(&text).unwrap();
    assert!(!text.contains("execution\""), "timing metadata left: {text}");
    assert!(!text.contains('\u{1b}'), "ANSI escapes left: {text}");
    assert_eq!(nb["metadata"], source["metadata"], "top-level metadata is the committed one");
    let counts: Vec<_> = (1..5).map(|i| nb["cells"][i]["execution_count"].as_i64().unwrap()).collect();
    assert_eq!(counts, [1, 2, 3, 4]);
    assert_eq!(nb["cells"][3]["outputs"][0]["execution_count"], 3);
    let outs = nb["cells"][2]["outputs"].as_array().unwrap();
    assert_eq!(outs.len(), 2, "the two stdout chunks merged: {outs:?}");
    assert_eq!(outs[0]["text"], json!(["seven\n", "and more\n"]));
    assert_eq!(outs[1]["data"]["image/png"], png, "the image is kept as it was");
    assert_eq!(nb["cells"][4]["outputs"][0]["data"]["image/svg+xml"], "<svg>7</svg>");
    assert!(!dir
        .path()
        .join("notebooks")
        .read_dir()
        .unwrap()
        .any(|e| { e.unwrap().file_name().to_string_lossy().ends_with(".tmp") }));

    // the stored notebook passes the check against its own execution
    let (o, msg) = run(py, "check-notebooks.py", &[&dir.path().join("executed"), &stored]);
    assert_eq!(o.status.code(), Some(0), "{msg}");
}

#[test]
fn storing_refuses_a_unit_result_and_a_notebook_edited_meanwhile() {
    let Some(py) = python() else { return };
    let dir = tempfile::tempdir().unwrap();
    let stored = write(dir.path(), "notebooks/01-fixture.ipynb", &notebook(0));
    let before = std::fs::read_to_string(&stored).unwrap();

    let mut unit = notebook(1);
    unit["cells"][2]["outputs"] = json!([result(json!({"text/plain": "()"}))]);
    let ex = write(dir.path(), "executed/01-fixture.ipynb", &unit);
    let (o, msg) = run(py, "store-notebook.py", &[&ex, &stored]);
    assert_eq!(o.status.code(), Some(1), "{msg}");
    assert!(msg.contains("cell #2 (let x = 1;)") && msg.contains("`()`"), "{msg}");
    assert_eq!(std::fs::read_to_string(&stored).unwrap(), before, "left untouched");

    let mut edited = notebook(1);
    edited["cells"][0]["source"] = json!("# Fixture, before an edit");
    let ex = write(dir.path(), "executed/01-fixture.ipynb", &edited);
    let (o, msg) = run(py, "store-notebook.py", &[&ex, &stored]);
    assert_eq!(o.status.code(), Some(1), "{msg}");
    assert!(msg.contains("changed while it was being executed"), "{msg}");
    assert_eq!(std::fs::read_to_string(&stored).unwrap(), before, "left untouched");
}

//! Sweeps as a user runs them, on the shipped MNIST CNN (fast): shards give
//! the same tables as one run, a run killed with SIGKILL resumes to the same
//! tables, a lazy scan reads a slice, and every bad grid value is a one-line
//! error naming it.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use freqtag::polars::prelude::*;
use freqtag::sweep::{collect, merge, scan, table_files, Shard, SweepFile, Table};

fn data() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("data")
}

fn freqtag(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_freqtag")).args(args).output().expect("the binary runs")
}

/// A sweep file on the MNIST model: 4 images (a glob and a `.npy` range) ×
/// 2 layouts × 2 depths (16 points) × the axes in `extra`.
fn sweep_file(dir: &Path, extra: &str) -> PathBuf {
    let d = data();
    let text = format!(
        r#"
models = ["{model}"]
images = ["{images}/c*a.png", "{images}/lfw_subset.npy:0-1"]
taps   = ["default"]
tables = ["scores", "components", "layers"]

[grid]
parts = ["left-right", "top-bottom"]
freqs = [[6.0, 7.5]]
depth = [0.25, 0.125]
{extra}

[design]
fs = 120.0
frames = 240
"#,
        model = d.join("models/mnist_cnn.onnx").display(),
        images = d.join("images").display(),
    );
    let p = dir.join("sweep.toml");
    std::fs::write(&p, text).unwrap();
    p
}

fn run_lib(config: &Path, out: &Path, shard: Shard) -> freqtag::sweep::Summary {
    let plan = SweepFile::load(config).unwrap().to_sweep().unwrap().plan().unwrap();
    plan.run(out, shard, &|_| {}, &|_, _| {}).unwrap()
}

/// Equal tables, NaN equal to NaN (noise-free spectra have NaN SNRs).
fn assert_same(a: &DataFrame, b: &DataFrame, what: &str) {
    assert_eq!(a.shape(), b.shape(), "{what}: shapes differ");
    assert_eq!(a.get_column_names(), b.get_column_names(), "{what}: columns differ");
    for (ca, cb) in a.columns().iter().zip(b.columns()) {
        let same = match ca.dtype() {
            DataType::Float64 | DataType::Float32 => {
                let (x, y) = (ca.cast(&DataType::Float64).unwrap(), cb.cast(&DataType::Float64).unwrap());
                let (x, y) = (x.f64().unwrap(), y.f64().unwrap());
                let same = x.iter().zip(y.iter()).all(|(u, v)| match (u, v) {
                    (Some(u), Some(v)) => u.to_bits() == v.to_bits() || (u.is_nan() && v.is_nan()),
                    (None, None) => true,
                    _ => false,
                });
                same
            }
            _ => ca.as_materialized_series().equals_missing(cb.as_materialized_series()),
        };
        assert!(same, "{what}: column {} differs", ca.name());
    }
}

fn markers(out: &Path) -> usize {
    std::fs::read_dir(out.join("_done"))
        .map(|r| r.flatten().filter(|e| e.path().extension().is_some_and(|x| x == "json")).count())
        .unwrap_or(0)
}

#[test]
fn shards_give_the_same_tables_as_one_run() {
    let tmp = tempfile::tempdir().unwrap();
    // noise makes half the points run all 240 frames (uneven shards) and
    // checks that a point draws the same noise whichever shard runs it
    let cfg = sweep_file(tmp.path(), "noise = [0.0, 0.02]");
    let whole = tmp.path().join("whole");
    let s = run_lib(&cfg, &whole, Shard::default());
    assert_eq!((s.grid_points, s.ran, s.skipped), (32, 32, 0), "{s}");
    assert_eq!(markers(&whole), 32);

    // three shards writing into one shared folder
    let shared = tmp.path().join("shared");
    let ran: Vec<usize> = (0..3).map(|i| run_lib(&cfg, &shared, Shard { index: i, count: 3 }).ran).collect();
    assert_eq!(ran.iter().sum::<usize>(), 32);
    assert!(ran.iter().all(|&n| n > 0), "{ran:?}");
    // two shards on "separate machines", merged by the library and by the CLI
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    let (na, nb) =
        (run_lib(&cfg, &a, Shard { index: 0, count: 2 }).ran, run_lib(&cfg, &b, Shard { index: 1, count: 2 }).ran);
    assert_eq!(na + nb, 32);
    let merged = tmp.path().join("merged");
    let m = merge(&[a.clone(), b.clone()], &merged).unwrap();
    assert_eq!((m.points, m.grid_points), (32, 32));
    let merged_cli = tmp.path().join("merged-cli");
    let o =
        freqtag(&["sweep", "merge", "--out", merged_cli.to_str().unwrap(), a.to_str().unwrap(), b.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));

    for t in [Table::Scores, Table::Components, Table::Layers] {
        let reference = collect(&whole, t).unwrap();
        assert!(reference.height() > 0);
        for dir in [&shared, &merged, &merged_cli] {
            assert_same(&reference, &collect(dir, t).unwrap(), &format!("{} in {}", t.name(), dir.display()));
        }
    }

    // the parameters are columns, and a lazy scan filters on them
    let scores = collect(&whole, Table::Scores).unwrap();
    for k in freqtag::sweep::KEYS {
        assert!(scores.column(k).is_ok(), "column {k} missing");
    }
    let slice = scan(&whole, Table::Scores)
        .unwrap()
        .filter(col("mod_depth").eq(lit(0.125)).and(col("parts").eq(lit("top-bottom"))))
        .collect()
        .unwrap();
    assert_eq!(slice.height() * 4, scores.height(), "a quarter of the grid");
    assert_eq!(slice.column("noise").unwrap().as_materialized_series().unique().unwrap().len(), 2);
    let images = slice.column("image").unwrap().as_materialized_series().unique().unwrap();
    assert_eq!(images.len(), 4, "camera, chelsea, lfw_subset_000, lfw_subset_001");

    // a re-run finds everything done
    let again = run_lib(&cfg, &whole, Shard::default());
    assert_eq!((again.ran, again.skipped), (0, 32));
}

#[test]
fn a_killed_run_resumes_to_identical_tables() {
    let tmp = tempfile::tempdir().unwrap();
    // 64 points: enough that the kill lands mid-way
    let cfg =
        sweep_file(tmp.path(), "modulation = [\"multiplicative\", \"contrast\"]\nphases = [[0.0, 0.0], [0.0, 1.5]]");
    let reference = tmp.path().join("reference");
    let s = run_lib(&cfg, &reference, Shard::default());
    assert_eq!(s.ran, 64);

    let out = tmp.path().join("killed");
    let mut child = Command::new(env!("CARGO_BIN_EXE_freqtag"))
        .args(["sweep", cfg.to_str().unwrap(), "--out", out.to_str().unwrap(), "--quiet"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while markers(&out) < 5 && start.elapsed() < Duration::from_secs(120) {
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let done = markers(&out);
    assert!(done >= 5, "the run made no progress before the kill");
    assert!(done < 64, "the run finished before the kill; nothing was interrupted");
    // every Parquet file left behind reads, whole
    for t in [Table::Scores, Table::Components, Table::Layers] {
        for f in table_files(&out, t) {
            freqtag::export::read_parquet(&f).unwrap_or_else(|e| panic!("{} is corrupt: {e}", f.display()));
        }
    }

    // simulate a kill between a point's files and its marker: the marker
    // is gone, one table is missing and a temporary file is left over
    let plan = SweepFile::load(&cfg).unwrap().to_sweep().unwrap().plan().unwrap();
    let p = &plan.points[0];
    std::fs::remove_file(out.join("_done").join(format!("{}.json", p.id()))).unwrap();
    let folder = out.join("layers").join(p.partition());
    std::fs::remove_file(folder.join("part.parquet")).unwrap();
    std::fs::write(folder.join(".part.parquet.12345.tmp"), b"half a file").unwrap();

    let o = freqtag(&["sweep", cfg.to_str().unwrap(), "--out", out.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(err.contains("already done") && err.contains("run now"), "{err}");
    assert_eq!(markers(&out), 64);
    assert!(!folder.join(".part.parquet.12345.tmp").exists(), "stale temporary file left");
    for t in [Table::Scores, Table::Components, Table::Layers] {
        assert_same(&collect(&reference, t).unwrap(), &collect(&out, t).unwrap(), t.name());
    }
}

#[test]
fn bad_grid_values_give_clear_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let cases: &[(&str, &str, &str)] = &[
        ("[grid]\nfreqs = [6.0, 7.5]", "", "grid.freqs takes a list of lists"),
        ("[grid]\nfreqs = [[6.2, 7.5]]", "", "off its bin"),
        ("[grid]\nfreqs = [[6.0, 7.5]]\ndepth = [0.9]", "", "α dips"),
        ("[grid]\nparts = [\"diagonal\"]", "", "grid.parts value 'diagonal'"),
        ("[grid]\nfreqs = [[6.0, 7.5], [3.0, 4.5, 6.0]]", "", "no layout in grid.parts has 3 part(s)"),
        ("[grid]\nmodulation = [\"sawtooth\"]", "", "unknown modulation 'sawtooth'"),
        ("[grid]\ndepth = [0.25, 0.25]", "", "grid.depth lists '0.25' twice"),
        ("[grid]\nnoise = [-0.1]", "", "noise sigma must be ≥ 0"),
        ("[grid]\ndepth = []", "", "grid.depth is empty"),
        ("[grid]\nfreqz = [[6.0, 7.5]]", "", "unknown field `freqz`"),
        ("taps = [\"/no/such/Conv\"]", "", "no tap named '/no/such/Conv'"),
        ("tables = [\"everything\"]", "", "unknown table 'everything'"),
        ("backend = \"gpu\"", "", "unknown backend 'gpu'"),
        ("", "images = [\"/no/such/*.png\"]", "pattern '/no/such/*.png' has no PNG or JPEG file"),
        ("", "images = [\"/no/such/file.png\"]", "no such file"),
    ];
    for (i, (body, images, needle)) in cases.iter().enumerate() {
        let out = tmp.path().join(format!("out{i}"));
        let images = if images.is_empty() {
            format!("images = [\"{}\"]", data().join("images/camera.png").display())
        } else {
            images.to_string()
        };
        // top-level keys must precede the tables
        let (top, table) = if body.starts_with('[') { ("", *body) } else { (*body, "") };
        let text = format!(
            "models = [\"{}\"]\n{images}\n{top}\nout = \"{}\"\n{table}\n",
            data().join("models/mnist_cnn.onnx").display(),
            out.display()
        );
        let cfg = tmp.path().join(format!("bad{i}.toml"));
        std::fs::write(&cfg, text).unwrap();
        let o = freqtag(&["sweep", cfg.to_str().unwrap()]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(!o.status.success(), "case {i} succeeded");
        assert!(!err.contains("panicked"), "case {i} panicked: {err}");
        assert!(err.contains(needle), "case {i}: expected '{needle}' in: {err}");
        assert_eq!(err.trim().lines().count(), 1, "case {i}: error is not one line: {err}");
        assert!(!out.exists(), "case {i} created the output folder");
    }

    let o = freqtag(&["sweep", "x.toml", "--shard", "3/3"]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("no such file") || !o.status.success());
    let cfg = sweep_file(tmp.path(), "");
    let o =
        freqtag(&["sweep", cfg.to_str().unwrap(), "--out", tmp.path().join("s").to_str().unwrap(), "--shard", "3/3"]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("shard must look like i/n"));

    // re-running into a folder with other shared settings is refused
    let out = tmp.path().join("settings");
    let o = freqtag(&["sweep", cfg.to_str().unwrap(), "--out", out.to_str().unwrap(), "--quiet"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = std::fs::read_to_string(&cfg).unwrap().replace("frames = 240", "frames = 480");
    std::fs::write(&cfg, text).unwrap();
    let o = freqtag(&["sweep", cfg.to_str().unwrap(), "--out", out.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        !o.status.success() && err.contains("holds a sweep with other settings (frames was 240, now 480)"),
        "{err}"
    );
}

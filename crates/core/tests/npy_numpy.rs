//! The `.npy` export as numpy itself reads it: `numpy.load` gives float32, shape
//! N × 1024 and the very values written. Uses the Python that scripts/bootstrap set up
//! with numpy from PyPI (`MEDINSIGHT_PYTHON`), or `python3`.

use std::process::Command;

use medinsight_core::formats::npy::{npy_f32, read_npy};

fn python() -> String {
    std::env::var("MEDINSIGHT_PYTHON").unwrap_or_else(|_| "python3".into())
}

#[test]
fn numpy_loads_the_export_unchanged() {
    // 3 × 1024 values, all different, some awkward (tiny, negative, large).
    let rows: Vec<Vec<f32>> = (0..3)
        .map(|r| {
            (0..1024)
                .map(|c| ((r * 1024 + c) as f32 * 0.37).sin() * 10f32.powi(c % 7 - 3))
                .collect()
        })
        .collect();
    let dir = std::env::temp_dir().join(format!("medinsight-npy-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("embeddings.npy");
    std::fs::write(&path, npy_f32(&rows)).unwrap();

    // numpy prints dtype, shape, and the values' exact float32 bit patterns.
    let script = "import sys, numpy as np\n\
                  a = np.load(sys.argv[1])\n\
                  print(a.dtype, a.shape)\n\
                  sys.stdout.write(a.view(np.uint32).tobytes().hex())\n";
    let out = Command::new(python())
        .args(["-c", script])
        .arg(&path)
        .output()
        .unwrap_or_else(|e| panic!("could not run {} (run scripts/bootstrap): {e}", python()));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "numpy failed to load the file: {stderr}"
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    let (first, hex) = stdout.split_once('\n').unwrap();
    assert_eq!(first, "float32 (3, 1024)");
    let expected: String = rows
        .iter()
        .flatten()
        .flat_map(|v| v.to_bits().to_le_bytes())
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(hex.len(), expected.len());
    assert!(hex == expected, "numpy read different values");

    // And what numpy writes, we read.
    let saved = dir.join("from_numpy.npy");
    let out = Command::new(python())
        .args(["-c", "import sys, numpy as np; np.save(sys.argv[1], np.arange(6, dtype=np.float64).reshape(2, 3) / 4)"])
        .arg(&saved)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let back = read_npy(&std::fs::read(&saved).unwrap()).unwrap();
    assert_eq!(back, vec![vec![0.0, 0.25, 0.5], vec![0.75, 1.0, 1.25]]);
    let _ = std::fs::remove_dir_all(&dir);
}

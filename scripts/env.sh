# Sourced by scripts/run and scripts/test after scripts/bootstrap: the environment the
# project's tools run in. Kept in one place so both commands agree.

# Our npm wasm-opt first, so Trunk never picks Debian's broken wasm-opt 108.
export PATH="$PWD/node_modules/.bin:${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
# Trunk asks crates.io for its own latest version at start; it needs no answer.
export TRUNK_SKIP_VERSION_CHECK=true
export CHROMEDRIVER="${CHROMEDRIVER:-/usr/bin/chromedriver}"
export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner
export WASM_BINDGEN_TEST_TIMEOUT=120
# The Python that has numpy (scripts/bootstrap), for tests that check our files with it.
export MEDINSIGHT_PYTHON="$PWD/target/venv/bin/python"

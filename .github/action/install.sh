#!/usr/bin/env bash
# Installs the harness for the action: the release's static binary for this runner's
# architecture when the action's own checkout records its SHA-256 for the action's ref, and
# only then; otherwise built from the action's checkout with the toolchain it pins. A binary
# whose SHA-256 differs from the recorded one is refused in one line. The hashes come from
# the checkout, never from a file downloaded beside the binary.
#
# Environment: ACTION_PATH (the action's checkout), ACTION_REF (the ref it was used at; the
# step passes github.action_ref through env:, as a composite step's script cannot read it),
# ACTION_REPOSITORY (owner/name), RELEASES (the server, https://github.com by default),
# RUNNER_TEMP and GITHUB_PATH, as a runner sets them.
set -euo pipefail

bin="$RUNNER_TEMP/harness/bin"
mkdir -p "$bin"
case "$(uname -m)" in
  x86_64) asset=harness-linux-x64 ;;
  aarch64 | arm64) asset=harness-linux-arm64 ;;
  *) asset="" ;;
esac
sums="$ACTION_PATH/.github/action/harness.sha256"
want=""
if [ -n "$asset" ] && [ -n "${ACTION_REF:-}" ] && [ -f "$sums" ]; then
  want=$(awk -v name="$ACTION_REF/$asset" '$2 == name { print $1 }' "$sums")
fi

if [ -n "$want" ]; then
  url="${RELEASES:-https://github.com}/$ACTION_REPOSITORY/releases/download/$ACTION_REF/$asset"
  download="$bin/harness.download"
  if ! curl -fsSL --retry 3 -o "$download" "$url"; then
    echo "::error::could not download $url"
    exit 1
  fi
  got=$(sha256sum "$download" | cut -d ' ' -f 1)
  if [ "$got" != "$want" ]; then
    rm -f "$download"
    echo "::error::$url has SHA-256 $got, not $want as the action's checkout records for $ACTION_REF: refused"
    exit 1
  fi
  chmod +x "$download"
  mv "$download" "$bin/harness"
  echo "harness $ACTION_REF ($asset, SHA-256 $got as recorded) installed from the release"
else
  echo "no release binary of the harness is recorded for ${ACTION_REF:-this ref} (${asset:-$(uname -m)}): building it from the action's checkout"
  cd "$ACTION_PATH"
  rustup show active-toolchain || rustup toolchain install
  cargo install --locked --path "$ACTION_PATH/harness" --root "$RUNNER_TEMP/harness"
fi
echo "$bin" >> "$GITHUB_PATH"

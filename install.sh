#!/bin/sh
# Installs the agentos-toolchain single binary.
#
#   curl -fsSL https://github.com/agentos-toolchain/agentos-toolchain/releases/latest/download/install.sh | sh
#   sh install.sh [--prefix DIR] [--version X.Y.Z]
#
# Downloads agentos-toolchain-<platform> and SHA256SUMS from the release (or a mirror), checks the
# binary against its SHA256SUMS line, and only then installs it as DIR/bin/agentos-toolchain
# (default DIR: ~/.local). On any failure nothing is left behind: the download happens in a
# temporary directory, and the binary enters DIR/bin by an atomic rename.
#
# Environment:
#   AGENTOS_TOOLCHAIN_BASE_URL  where the artifacts are (a mirror); overrides --version
#   AGENTOS_TOOLCHAIN_PLATFORM  the platform to install for, instead of detecting it (e.g. linux-x64)
set -eu

REPO_URL="https://github.com/agentos-toolchain/agentos-toolchain/releases"
prefix="${HOME:?HOME is not set}/.local"
version=""

say() { printf 'install.sh: %s\n' "$*" >&2; }
die() {
  say "$*"
  exit 1
}

while [ $# -gt 0 ]; do
  case "$1" in
    --prefix) [ $# -ge 2 ] || die "--prefix needs a directory"; prefix="$2"; shift 2 ;;
    --prefix=*) prefix="${1#--prefix=}"; shift ;;
    --version) [ $# -ge 2 ] || die "--version needs a version"; version="$2"; shift 2 ;;
    --version=*) version="${1#--version=}"; shift ;;
    -h | --help)
      sed -n '2,16p' "$0" 2>/dev/null | sed 's/^# \{0,1\}//'
      exit 0
      ;;
    *) die "unknown option: $1 (try --help)" ;;
  esac
done

if [ -n "${AGENTOS_TOOLCHAIN_BASE_URL:-}" ]; then
  base_url="${AGENTOS_TOOLCHAIN_BASE_URL%/}"
elif [ -n "$version" ]; then
  base_url="$REPO_URL/download/v${version#v}"
else
  base_url="$REPO_URL/latest/download"
fi

detect_platform() {
  os="$(uname -s)"
  cpu="$(uname -m)"
  case "$os" in
    Linux) os=linux ;;
    Darwin) os=darwin ;;
    MINGW* | MSYS* | CYGWIN*) os=windows ;;
  esac
  case "$cpu" in
    x86_64 | amd64) cpu=x64 ;;
    aarch64 | arm64) cpu=arm64 ;;
  esac
  echo "$os-$cpu"
}

platform="${AGENTOS_TOOLCHAIN_PLATFORM:-$(detect_platform)}"
case "$platform" in
  linux-x64) ;;
  *)
    die "no prebuilt binary for $platform (only linux-x64 is built).
  Use npm instead, on any platform with Node.js >= 20.17:  npx agentos-toolchain --help"
    ;;
esac
artifact="agentos-toolchain-$platform"

if command -v curl >/dev/null 2>&1; then
  fetch() { curl -fsSL --retry 2 -o "$2" "$1"; }
elif command -v wget >/dev/null 2>&1; then
  fetch() { wget -q -O "$2" "$1"; }
else
  die "needs curl or wget to download"
fi

if command -v sha256sum >/dev/null 2>&1; then
  sha256() { sha256sum "$1" | cut -d ' ' -f 1; }
elif command -v shasum >/dev/null 2>&1; then
  sha256() { shasum -a 256 "$1" | cut -d ' ' -f 1; }
else
  die "needs sha256sum or shasum to verify the download"
fi

tmp="$(mktemp -d 2>/dev/null || mktemp -d -t agentos-toolchain)"
staged=""
cleanup() {
  rm -rf "$tmp"
  [ -z "$staged" ] || rm -f "$staged"
}
trap cleanup EXIT
trap 'exit 1' HUP INT TERM

say "downloading $artifact from $base_url"
fetch "$base_url/SHA256SUMS" "$tmp/SHA256SUMS" || die "could not download $base_url/SHA256SUMS"
fetch "$base_url/$artifact" "$tmp/$artifact" || die "could not download $base_url/$artifact"

# A SHA256SUMS line is "<64 hex>  <name>" (or " *<name>" when written in binary mode).
expected="$(awk -v name="$artifact" '$2 == name || $2 == "*" name { print $1; exit }' "$tmp/SHA256SUMS")"
[ -n "$expected" ] || die "SHA256SUMS from $base_url has no entry for $artifact; nothing installed"
actual="$(sha256 "$tmp/$artifact")"
if [ "$actual" != "$expected" ]; then
  die "checksum mismatch for $artifact: expected $expected, got $actual; nothing installed"
fi

bindir="$prefix/bin"
mkdir -p "$bindir" || die "could not create $bindir"
staged="$bindir/.agentos-toolchain.$$"
cp "$tmp/$artifact" "$staged" && chmod 0755 "$staged" || die "could not write to $bindir"
mv -f "$staged" "$bindir/agentos-toolchain" || die "could not install into $bindir"
staged=""
say "installed $bindir/agentos-toolchain ($("$bindir/agentos-toolchain" --version 2>/dev/null || echo "version unknown"))"

case ":${PATH:-}:" in
  *":$bindir:"*) ;;
  *) say "$bindir is not on PATH; add it, e.g.: export PATH=\"$bindir:\$PATH\"" ;;
esac

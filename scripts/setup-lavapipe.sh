#!/usr/bin/env bash
# Installs a software Vulkan driver (Mesa's lavapipe) that Dawn accepts, so that the WebGPU
# backend can be tested on machines without a GPU. See docs/gpu.md.
#
#   scripts/setup-lavapipe.sh               install (if needed) and print what to export
#   eval "$(scripts/setup-lavapipe.sh --print-env)"
#                                           install (if needed); stdout holds only export lines
#
# What it does (Debian 12 "bookworm"):
#   1. apt-get installs libvulkan1 (the Vulkan loader) and mesa-vulkan-drivers (lavapipe's runtime
#      libraries). Debian 12's own lavapipe (Mesa 22.3) is too old for Dawn.
#   2. Downloads mesa-vulkan-drivers from bookworm-backports (Mesa 25) with a private apt
#      configuration and unpacks it into .vulkan/ in the repository: the system keeps Debian 12's Mesa.
#   3. Writes .vulkan/lvp_icd.json pointing at that libvulkan_lvp.so.
# Idempotent: a second run only checks files. When apt is unreachable it warns and exits 0.
set -uo pipefail

print_env=0
for arg in "$@"; do
  case "$arg" in
    --print-env) print_env=1 ;;
    -h | --help)
      awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"
      exit 0
      ;;
    *)
      echo "setup-lavapipe: unknown option '$arg' (expected --print-env or --help)" >&2
      exit 2
      ;;
  esac
done

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
vk_dir="$repo_root/.vulkan"
icd_json="$vk_dir/lvp_icd.json"
runtime_dir="$vk_dir/runtime"

# Everything except the export lines goes to stderr, so that `eval "$(... --print-env)"` is safe.
log() { echo "setup-lavapipe: $*" >&2; }
warn() { echo "setup-lavapipe: WARNING: $*" >&2; }

have_loader() {
  ldconfig -p 2>/dev/null | grep -q 'libvulkan\.so\.1 '
}

lvp_library() {
  find "$vk_dir/root" -name 'libvulkan_lvp.so' -print -quit 2>/dev/null
}

already_done() {
  [[ -f "$icd_json" ]] || return 1
  local lib
  lib="$(lvp_library)"
  [[ -n "$lib" && -f "$lib" ]] && grep -q "\"$lib\"" "$icd_json" && have_loader
}

emit_env() {
  mkdir -p "$runtime_dir" && chmod 0700 "$runtime_dir"
  if [[ $print_env -eq 1 ]]; then
    printf 'export VK_ICD_FILENAMES=%q\n' "$icd_json"
    if [[ -z "${XDG_RUNTIME_DIR:-}" || ! -d "${XDG_RUNTIME_DIR:-/nonexistent}" ]]; then
      printf 'export XDG_RUNTIME_DIR=%q\n' "$runtime_dir"
    fi
  else
    log "lavapipe is ready. To use it, export:"
    echo "  export VK_ICD_FILENAMES=$icd_json"
    echo "  export XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-$runtime_dir}"
  fi
}

# Leaves the rest of CI running: a missing software driver only skips the GPU tests.
give_up() {
  warn "$1"
  warn "lavapipe not installed; the WebGPU tests will be skipped."
  [[ $print_env -eq 1 ]] && echo "# setup-lavapipe: not available ($1)"
  exit 0
}

if already_done; then
  log "already installed in $vk_dir"
  emit_env
  exit 0
fi

if [[ "$(uname -s)" != Linux ]] || ! command -v apt-get >/dev/null || ! command -v dpkg-deb >/dev/null; then
  give_up "this script needs a Debian-based Linux (apt-get and dpkg-deb)"
fi

# shellcheck disable=SC1091
codename="$(. /etc/os-release 2>/dev/null && echo "${VERSION_CODENAME:-}")"
if [[ "$codename" != bookworm ]]; then
  give_up "written for Debian 12 (bookworm), found '${codename:-unknown}'; install a Mesa >= 24 lavapipe and point VK_ICD_FILENAMES at its ICD json"
fi

as_root() {
  if [[ $(id -u) -eq 0 ]]; then
    "$@"
  elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
    sudo "$@"
  else
    return 1
  fi
}

export DEBIAN_FRONTEND=noninteractive

# 1. The loader and lavapipe's runtime dependencies from the system's own suites.
if ! have_loader || ! dpkg -s mesa-vulkan-drivers >/dev/null 2>&1; then
  mkdir -p "$vk_dir"
  apt_log="$vk_dir/apt-install.log"
  log "installing libvulkan1 and mesa-vulkan-drivers with apt-get (log: $apt_log)"
  as_root apt-get update -qq >"$apt_log" 2>&1 \
    || give_up "apt-get update failed (no root, or the archive is unreachable): $(tail -n 1 "$apt_log")"
  as_root apt-get install -y -qq --no-install-recommends libvulkan1 mesa-vulkan-drivers >>"$apt_log" 2>&1 \
    || give_up "apt-get install libvulkan1 mesa-vulkan-drivers failed: $(tail -n 1 "$apt_log")"
fi

# 2. Mesa 25's lavapipe from bookworm-backports, into a private folder.
archive_uri="$(apt-cache policy 2>/dev/null | awk '$3 ~ /^bookworm\/main/ { print $2; exit }')"
archive_uri="${archive_uri:-http://deb.debian.org/debian}"
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
[[ -f "$keyring" ]] || give_up "missing $keyring (package debian-archive-keyring)"

apt_dir="$vk_dir/apt"
mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial" "$apt_dir/sources.list.d" "$vk_dir/deb"
echo "deb [signed-by=$keyring] $archive_uri bookworm-backports main" >"$apt_dir/sources.list"
apt_private=(
  -o "Dir::Etc::SourceList=$apt_dir/sources.list"
  -o "Dir::Etc::SourceParts=$apt_dir/sources.list.d"
  -o "Dir::State::Lists=$apt_dir/lists"
  -o "Dir::Cache=$apt_dir/cache"
  -o "APT::Sandbox::User=root"
  -o "Debug::NoLocking=1"
)

log "fetching the bookworm-backports index from $archive_uri"
apt-get "${apt_private[@]}" -o APT::Update::Error-Mode=any update -qq >&2 \
  || give_up "apt-get update of bookworm-backports failed (archive unreachable?)"

rm -f "$vk_dir"/deb/mesa-vulkan-drivers_*.deb
(cd "$vk_dir/deb" && apt-get "${apt_private[@]}" download -qq mesa-vulkan-drivers/bookworm-backports >&2) \
  || give_up "apt-get download mesa-vulkan-drivers/bookworm-backports failed"
deb="$(find "$vk_dir/deb" -name 'mesa-vulkan-drivers_*.deb' -print -quit)"
[[ -n "$deb" ]] || give_up "the downloaded mesa-vulkan-drivers .deb was not found"

rm -rf "$vk_dir/root"
dpkg-deb -x "$deb" "$vk_dir/root" || give_up "dpkg-deb -x $deb failed"

# 3. The ICD json, with the api_version the package itself declares.
lib="$(lvp_library)"
[[ -n "$lib" ]] || give_up "libvulkan_lvp.so not found in $deb"
pkg_json="$(find "$vk_dir/root" -name 'lvp_icd*.json' -print -quit)"
api_version="$(grep -o '"api_version"[^,}]*' "$pkg_json" 2>/dev/null | grep -o '[0-9][0-9.]*' | head -n 1)"
api_version="${api_version:-1.3.0}"
cat >"$icd_json" <<EOF
{
  "file_format_version": "1.0.0",
  "ICD": {
    "library_path": "$lib",
    "api_version": "$api_version"
  }
}
EOF

version="$(dpkg-deb -f "$deb" Version)"
log "installed lavapipe from mesa-vulkan-drivers $version in $vk_dir"
emit_env

#!/usr/bin/env bash
# Static checks of the deployment files with checkov: the Bicep under infra/, infra/openapi.yaml, secrets committed
# under infra/, and the GitHub workflows. Any failed check, or any file checkov cannot parse, fails the script.
# Findings we accept are suppressed inline, next to the resource, with the reason:
#   Bicep: //checkov:skip=CKV_AZURE_XX: reason      YAML: # checkov:skip=CKV_OPENAPI_XX: reason
# checkov lives in its own virtualenv (its pinned dependencies clash with the app's), created on first use and reused
# afterwards, so the script is idempotent. Override with CHECKOV_VENV, CHECKOV_VERSION or PYTHON.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"

CHECKOV_VERSION="${CHECKOV_VERSION:-3.3.30}"
CHECKOV_VENV="${CHECKOV_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/assistants-on-responses/checkov-${CHECKOV_VERSION}}"
PYTHON="${PYTHON:-python3}"
started=$SECONDS

if ! "$CHECKOV_VENV/bin/checkov" --version 2>/dev/null | grep -qxF "$CHECKOV_VERSION"; then
  echo "infra-checks: installing checkov $CHECKOV_VERSION into $CHECKOV_VENV"
  rm -rf "$CHECKOV_VENV"
  mkdir -p "$(dirname "$CHECKOV_VENV")"
  "$PYTHON" -m venv "$CHECKOV_VENV"
  pip_log="$(mktemp)"
  if ! "$CHECKOV_VENV/bin/python" -m pip install --quiet --disable-pip-version-check "checkov==$CHECKOV_VERSION" \
      >"$pip_log" 2>&1; then
    cat "$pip_log" >&2
    rm -rf "$CHECKOV_VENV" "$pip_log"
    echo "infra-checks: could not install checkov $CHECKOV_VERSION" >&2
    exit 1
  fi
  rm -f "$pip_log"
fi

export CKV_PARSE_ERROR_FAIL=true          # an unparsable file is a failure, not a silent skip
export CKV_SKIP_PACKAGE_UPDATE_CHECK=true  # no "new version available" look-up

status=0
scan() {
  echo "infra-checks: checkov $*"
  if ! "$CHECKOV_VENV/bin/checkov" "$@" --skip-download --quiet --compact; then
    status=1
  fi
}

scan -d infra --framework bicep
scan -f infra/openapi.yaml --framework openapi
scan -d infra --framework secrets
scan -d .github/workflows --framework github_actions

if [ "$status" -eq 0 ]; then
  echo "infra-checks: all checks passed in $((SECONDS - started)) s"
else
  echo "infra-checks: FAILED (see the checks above) after $((SECONDS - started)) s" >&2
fi
exit "$status"

#!/usr/bin/env bash
# The package alone works (issue 16, item 12): build the wheel, install it into a fresh venv the way
# `pip install okpay` would (no constraints.txt, no dev extra, nothing from this checkout on the
# path), then run `okpay check --deploy` under production-like settings and `okpay migrate` on a
# fresh SQLite database. An import that is not a declared dependency fails here.
#   scripts/check_package.sh             (PYTHON=python3.12 picks another interpreter)
set -euo pipefail
cd "$(dirname "$0")/.."
repo="$(pwd)"
python="${PYTHON:-python3}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

step() { printf '%s (%ds)\n' "$1" "$SECONDS"; }
"$python" -m venv "$work/venv"
"$work/venv/bin/python" -m pip wheel -q --no-deps -w "$work/dist" "$repo"
step "wheel built"
"$work/venv/bin/python" -m pip install -q "$work"/dist/okpay-*.whl
step "installed with its declared dependencies"
mkdir "$work/home"
cd "$work"  # nothing of the checkout importable from here

run() {
  env -i PATH="$work/venv/bin:/usr/bin:/bin" HOME="$work" LANG=C.UTF-8 \
    OKPAY_HOME="$work/home" OKPAY_DEBUG=false \
    OKPAY_SECRET_KEY="ci-$("$python" -c 'import secrets; print(secrets.token_urlsafe(48))')" \
    OKPAY_BASE_URL=https://pay.example.com OKPAY_ALLOWED_HOSTS=pay.example.com OKPAY_BEHIND_PROXY=true \
    OKPAY_MAIL_AUTHSERV_ID=mx.pay.example.com \
    OKPAY_METRICS_TOKEN="$("$python" -c 'import secrets; print(secrets.token_urlsafe(32))')" \
    "$work/venv/bin/okpay" "$@"
}
run check --deploy --fail-level WARNING
step "check --deploy passed"
run migrate --no-input -v 0
run shell -c "from django.db import connection; print('migrated:', connection.vendor, len(connection.introspection.table_names()), 'tables')"
step "package OK: $(ls "$work/dist")"

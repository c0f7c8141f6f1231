#!/usr/bin/env bash
# Update every app's message catalogues, then compile them.
#   scripts/compile_messages.sh            compile only
#   scripts/compile_messages.sh --extract  extract new strings first (then translate them in the .po)
#   scripts/compile_messages.sh --extract web   the same for one app
set -euo pipefail
cd "$(dirname "$0")/../src/okpay"
okpay="$(cd ../.. && pwd)/.venv/bin/okpay"
extract=false
[ "${1:-}" = "--extract" ] && extract=true
only="${2:-}"
for app in */; do
  app=${app%/}
  [ -f "$app/apps.py" ] || continue
  [ -z "$only" ] || [ "$only" = "$app" ] || continue
  if $extract; then
    mkdir -p "$app/locale"
    (cd "$app" && "$okpay" makemessages -l zh_Hans -l en --no-obsolete --no-location -v 0 --ignore "migrations/*")
  fi
  [ -d "$app/locale" ] || continue
  for po in "$app"/locale/*/LC_MESSAGES/django.po; do
    [ -f "$po" ] && msgfmt --check -o "${po%.po}.mo" "$po"
  done
done
echo "messages compiled"

# Debian packages for building and testing runbox. Extra package lists come
# from scripts/packages.d/*.txt (one package per line), so each part of the
# project names its own needs.
pkgs=$(cat scripts/packages.d/*.txt | sed 's/#.*//' | tr -s ' \n' ' ')
missing=""
for p in $pkgs; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $p"
done
if [ -n "$missing" ]; then
  echo "installing:$missing" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >/dev/null
  # shellcheck disable=SC2086
  apt-get install -y -q --no-install-recommends $missing >/dev/null
fi

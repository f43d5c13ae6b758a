# Debian packages for building and testing runbox. The lists live in
# scripts/packages.d/*.txt, one entry per line, so each part of the project
# names its own needs. An entry COMMAND:PACKAGE installs PACKAGE only when
# COMMAND is missing (a machine may already have, say, Node.js and npm
# from elsewhere, which Debian's packages would conflict with).
missing=""
for entry in $(cat scripts/packages.d/*.txt | sed 's/#.*//' | tr -s ' \n' '\n' | sort -u); do
  case "$entry" in
    *:*) command -v "${entry%%:*}" >/dev/null 2>&1 && continue
         p=${entry#*:} ;;
    *) p=$entry ;;
  esac
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $p"
done
if [ -n "$missing" ]; then
  echo "installing:$missing" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >/dev/null
  # shellcheck disable=SC2086
  apt-get install -y -q --no-install-recommends $missing >/dev/null
fi
unset missing entry p

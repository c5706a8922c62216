#!/usr/bin/env bash
# Fetches real photos for the end-to-end ingest test from Debian's
# python3-skimage package (only the data files are unpacked; nothing is
# installed) into the folder given as $1, and prints that folder.
set -euo pipefail
dest=${1:?usage: e2e-media.sh DIR}
mkdir -p "$dest"
if [ -f "$dest/astronaut.png" ]; then echo "$dest"; exit 0; fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
if ! apt-get download python3-skimage >/dev/null 2>&1; then
  apt-get update >/dev/null 2>&1 || true
  apt-get download python3-skimage >/dev/null
fi
dpkg-deb -x python3-skimage_*.deb x
data=x/usr/lib/python3/dist-packages/skimage/data
for f in astronaut.png chelsea.png coffee.png rocket.jpg motorcycle_left.png hubble_deep_field.jpg retina.jpg camera.png; do
  cp "$data/$f" "$dest/"
done
echo "$dest"

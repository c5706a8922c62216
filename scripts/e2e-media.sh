#!/usr/bin/env bash
# Fetches real media for the end-to-end tests from Debian packages (only
# the data files are unpacked; nothing is installed): photos from
# python3-skimage into $1, LibriVox speech clips from pocketsphinx-testdata
# into $1/speech. Prints $1.
set -euo pipefail
dest=${1:?usage: e2e-media.sh DIR}
mkdir -p "$dest"
if [ -f "$dest/astronaut.png" ] && [ -d "$dest/speech" ]; then echo "$dest"; exit 0; fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
if ! apt-get download python3-skimage pocketsphinx-testdata >/dev/null 2>&1; then
  apt-get update >/dev/null 2>&1 || true
  apt-get download python3-skimage pocketsphinx-testdata >/dev/null
fi
dpkg-deb -x python3-skimage_*.deb x
dpkg-deb -x pocketsphinx-testdata_*.deb x
mkdir -p "$dest/speech"
cp x/usr/share/pocketsphinx/test/data/librivox/*.wav "$dest/speech/"
data=x/usr/lib/python3/dist-packages/skimage/data
for f in astronaut.png chelsea.png coffee.png rocket.jpg motorcycle_left.png hubble_deep_field.jpg retina.jpg camera.png; do
  cp "$data/$f" "$dest/"
done
echo "$dest"

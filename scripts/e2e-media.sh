#!/usr/bin/env bash
# Fetches real media for the end-to-end tests from Debian packages: photos
# from python3-skimage into $1 and LibriVox speech clips from
# pocketsphinx-testdata into $1/speech (both only unpacked, not installed),
# and sentences spoken by espeak-ng (installed if missing) into $1/speech,
# one of them encoded as Ogg Vorbis by oggenc (vorbis-tools); installs
# FFmpeg for the video tests.
# Prints $1.
set -euo pipefail
dest=${1:?usage: e2e-media.sh DIR}
mkdir -p "$dest"
# FFmpeg (ffmpeg, ffprobe) for the video tests, which make their videos
# from these photos and speech.
if ! command -v ffmpeg >/dev/null 2>&1 || ! command -v ffprobe >/dev/null 2>&1; then
  apt-get install -y ffmpeg >/dev/null 2>&1 || { apt-get update >/dev/null 2>&1; apt-get install -y ffmpeg >/dev/null; }
fi
if [ -f "$dest/astronaut.png" ] && [ -f "$dest/speech/espeak-4.ogg" ]; then echo "$dest"; exit 0; fi
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
if ! command -v espeak-ng >/dev/null 2>&1 || ! command -v oggenc >/dev/null 2>&1; then
  apt-get install -y espeak-ng vorbis-tools >/dev/null 2>&1 || { apt-get update >/dev/null 2>&1; apt-get install -y espeak-ng vorbis-tools >/dev/null; }
fi
espeak-ng -w "$dest/speech/espeak-1.wav" "The quick brown fox jumps over the lazy dog."
espeak-ng -w "$dest/speech/espeak-2.wav" "Rosetta searches images, text and audio in one database."
espeak-ng -w "$dest/speech/espeak-3.wav" -s 120 "Where is the nearest train station?"
espeak-ng --stdout "Search for a sound and find where it was said." | oggenc -Q -o "$dest/speech/espeak-4.ogg" -
echo "$dest"

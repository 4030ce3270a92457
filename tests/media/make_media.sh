#!/bin/sh
# How the real media files in this folder were made (kept in git: ~120 KB).
# Each is a genuine file of its container, written by ffmpeg 7 (the static build
# that `pip install imageio-ffmpeg` ships), of one solid colour at a frame every
# 30-120 s, so a feature-length duration fits in a few KB. The probe tests read
# their headers over HTTP Range requests and compare with what ffmpeg reports:
#   film-1080p-faststart.mp4      1920x800, 1:35:00, moov before mdat
#   film-720p-moov-at-end.mp4     1280x536, 1:44:00, moov after mdat (the usual default)
#   film-2160p.mkv                3840x1600, ~1:16:00, Matroska (Segment Info at the start)
#   episode-480p.webm             854x480, 0:44:00, WebM/VP8
#   episode-720p-fragmented.mp4   1280x720, 0:45:00, fragmented, empty moov, no index:
#                                 the header does not know the duration
#   episode-720p-sidx.mp4         the same with a segment index (sidx) that does
set -e
FFMPEG=${FFMPEG:-$(python3 -c 'import imageio_ffmpeg; print(imageio_ffmpeg.get_ffmpeg_exe())')}
x264="-c:v libx264 -preset ultrafast -crf 51 -g 100000"
$FFMPEG -y -f lavfi -i "color=c=black:s=1920x800:r=1/30:d=5700" $x264 -movflags +faststart film-1080p-faststart.mp4
$FFMPEG -y -f lavfi -i "color=c=gray:s=1280x536:r=1/30:d=6240" $x264 film-720p-moov-at-end.mp4
$FFMPEG -y -f lavfi -i "color=c=blue:s=3840x1600:r=1/120:d=4500" $x264 film-2160p.mkv
$FFMPEG -y -f lavfi -i "color=c=red:s=854x480:r=1/60:d=2640" -c:v libvpx -b:v 10k -g 100000 episode-480p.webm
$FFMPEG -y -f lavfi -i "color=c=green:s=1280x720:r=1/60:d=2700" $x264 \
    -movflags +frag_keyframe+empty_moov+default_base_moof episode-720p-fragmented.mp4
$FFMPEG -y -f lavfi -i "color=c=green:s=1280x720:r=1/60:d=2700" $x264 \
    -movflags +frag_keyframe+empty_moov+default_base_moof+global_sidx episode-720p-sidx.mp4

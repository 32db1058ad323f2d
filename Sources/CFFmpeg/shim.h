#ifndef REVERIE_CFFMPEG_SHIM_H
#define REVERIE_CFFMPEG_SHIM_H
#include <libavformat/avformat.h>
#include <libavcodec/avcodec.h>
#include <libswscale/swscale.h>
#include <libavutil/avutil.h>
#include <libavutil/imgutils.h>
#include <libavutil/opt.h>
#include <libavutil/display.h>
#include <libavutil/pixdesc.h>
#include <libavutil/channel_layout.h>
#include <libavutil/audio_fifo.h>

/* Macros Swift cannot import. */
static inline int reverie_averror(int e) { return AVERROR(e); }
static inline int reverie_averror_eof(void) { return AVERROR_EOF; }
static inline int reverie_averror_eagain(void) { return AVERROR(EAGAIN); }
static inline int64_t reverie_nopts_value(void) { return AV_NOPTS_VALUE; }
static inline int reverie_time_base(void) { return AV_TIME_BASE; }
static inline void reverie_err2str(int err, char *buf, size_t size) { av_strerror(err, buf, size); }
#endif

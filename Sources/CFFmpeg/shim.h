#ifndef REVERIE_CFFMPEG_SHIM_H
#define REVERIE_CFFMPEG_SHIM_H
#include <libavformat/avformat.h>
#include <libavcodec/avcodec.h>
#include <libswscale/swscale.h>
#include <libswresample/swresample.h>
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
static inline int reverie_averror_invaliddata(void) { return AVERROR_INVALIDDATA; }
static inline int64_t reverie_nopts_value(void) { return AV_NOPTS_VALUE; }
static inline int reverie_time_base(void) { return AV_TIME_BASE; }
static inline void reverie_err2str(int err, char *buf, size_t size) { av_strerror(err, buf, size); }

/* Fixed-size arrays in FFmpeg structs import as tuples; these helpers keep Swift away from them. */
static inline uint8_t *reverie_frame_data(const AVFrame *f, int plane) { return f->data[plane]; }
static inline int reverie_frame_linesize(const AVFrame *f, int plane) { return f->linesize[plane]; }

/* frame (any format, f->width x f->height) -> packed dst (dstH rows of dstStride bytes). */
static inline int reverie_sws_frame_to_packed(struct SwsContext *c, const AVFrame *f, uint8_t *dst, int dstStride) {
    uint8_t *planes[4] = { dst, NULL, NULL, NULL };
    int strides[4] = { dstStride, 0, 0, 0 };
    return sws_scale(c, (const uint8_t * const *)f->data, f->linesize, 0, f->height, planes, strides);
}

/* packed src (srcH rows of srcStride bytes) -> frame planes (any format). */
static inline int reverie_sws_packed_to_frame(struct SwsContext *c, const uint8_t *src, int srcStride, int srcH, AVFrame *f) {
    const uint8_t *planes[4] = { src, NULL, NULL, NULL };
    int strides[4] = { srcStride, 0, 0, 0 };
    return sws_scale(c, planes, strides, 0, srcH, f->data, f->linesize);
}

/* Colour matrix and range for a conversion; spaces are AVColorSpace values, ranges 1 = full. */
static inline int reverie_sws_colorspace(struct SwsContext *c, int srcSpace, int srcFull, int dstSpace, int dstFull) {
    return sws_setColorspaceDetails(c, sws_getCoefficients(srcSpace), srcFull,
                                    sws_getCoefficients(dstSpace), dstFull, 0, 1 << 16, 1 << 16);
}

/* Audio re-encoding: resample a decoded frame (or flush with in = NULL) into out's buffers; FIFO by frame. */
static inline int reverie_swr_convert_frame_into(struct SwrContext *s, AVFrame *out, int capacity, const AVFrame *in) {
    return swr_convert(s, out->extended_data, capacity,
                       in ? (const uint8_t **)in->extended_data : NULL, in ? in->nb_samples : 0);
}
static inline int reverie_fifo_write(AVAudioFifo *f, AVFrame *frame, int n) { return av_audio_fifo_write(f, (void **)frame->extended_data, n); }
static inline int reverie_fifo_read(AVAudioFifo *f, AVFrame *frame, int n) { return av_audio_fifo_read(f, (void **)frame->extended_data, n); }
#endif

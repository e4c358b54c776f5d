// libjpeg(-turbo) for Swift: its errors longjmp out of the decoder, which Swift cannot catch, so
// decoding runs in this C function, which sets the jump point and returns the library's message.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <setjmp.h>
#include <jpeglib.h>

struct vsc_jpeg_error {
    struct jpeg_error_mgr manager;
    jmp_buf jump;
    int warnings;
    char message[JMSG_LENGTH_MAX];
};

static void vsc_jpeg_error_exit(j_common_ptr info) {
    struct vsc_jpeg_error *e = (struct vsc_jpeg_error *)info->err;
    (*info->err->format_message)(info, e->message);
    longjmp(e->jump, 1);
}

// Corrupt-data warnings (level −1: "Premature end of JPEG file", "Corrupt JPEG data") are kept,
// not printed: the caller refuses a file that had them.
static void vsc_jpeg_emit_message(j_common_ptr info, int level) {
    struct vsc_jpeg_error *e = (struct vsc_jpeg_error *)info->err;
    if (level < 0 && e->warnings++ == 0) (*info->err->format_message)(info, e->message);
}

/// The error manager both directions use: messages kept, errors jump back to the caller.
static struct jpeg_error_mgr *vsc_jpeg_errors(struct vsc_jpeg_error *e) {
    memset(e, 0, sizeof *e);
    jpeg_std_error(&e->manager);
    e->manager.error_exit = vsc_jpeg_error_exit;
    e->manager.emit_message = vsc_jpeg_emit_message;
    return &e->manager;
}

/// Decodes the JPEG in `data` (`size` bytes) to 8-bit pixels, `channels` 1 (grey) or 3 (RGB),
/// converted by the library. On success returns 0 and a malloc'd buffer in *pixels (free() it);
/// otherwise returns 1 with the library's message in `message`.
static inline int vsc_jpeg_decode(const unsigned char *data, unsigned long size, int channels,
                                  unsigned char **pixels, int *width, int *height,
                                  char *message, size_t message_size) {
    struct jpeg_decompress_struct info;
    struct vsc_jpeg_error err;
    unsigned char *volatile out = NULL;
    *pixels = NULL;
    info.err = vsc_jpeg_errors(&err);
    if (setjmp(err.jump)) {
        snprintf(message, message_size, "%s", err.message);
        jpeg_destroy_decompress(&info);
        free(out);
        return 1;
    }
    jpeg_create_decompress(&info);
    jpeg_mem_src(&info, data, size);
    jpeg_read_header(&info, TRUE);
    info.out_color_space = channels == 1 ? JCS_GRAYSCALE : JCS_RGB;
    jpeg_start_decompress(&info);
    size_t stride = (size_t)info.output_width * (size_t)info.output_components;
    out = (unsigned char *)malloc(stride * info.output_height);
    if (!out) { snprintf(err.message, sizeof err.message, "out of memory"); longjmp(err.jump, 1); }
    while (info.output_scanline < info.output_height) {
        JSAMPROW row = out + stride * info.output_scanline;
        jpeg_read_scanlines(&info, &row, 1);
    }
    jpeg_finish_decompress(&info);
    *width = (int)info.output_width;
    *height = (int)info.output_height;
    jpeg_destroy_decompress(&info);
    if (err.warnings) {
        snprintf(message, message_size, "corrupt JPEG data (%s)", err.message);
        free(out);
        return 1;
    }
    *pixels = out;
    return 0;
}

/// Encodes 8-bit pixels (1 or 3 channels) as a JPEG file at `path` with `quality` (tests write
/// their image folders with it). Returns 0, or 1 with the library's message.
static inline int vsc_jpeg_write(const char *path, const unsigned char *pixels, int width, int height, int channels,
                                 int quality, char *message, size_t message_size) {
    struct jpeg_compress_struct info;
    struct vsc_jpeg_error err;
    FILE *volatile file = NULL;
    info.err = vsc_jpeg_errors(&err);
    if (setjmp(err.jump)) {
        snprintf(message, message_size, "%s", err.message);
        jpeg_destroy_compress(&info);
        if (file) fclose(file);
        return 1;
    }
    jpeg_create_compress(&info);
    file = fopen(path, "wb");
    if (!file) { snprintf(err.message, sizeof err.message, "cannot open for writing"); longjmp(err.jump, 1); }
    jpeg_stdio_dest(&info, file);
    info.image_width = (JDIMENSION)width;
    info.image_height = (JDIMENSION)height;
    info.input_components = channels;
    info.in_color_space = channels == 1 ? JCS_GRAYSCALE : JCS_RGB;
    jpeg_set_defaults(&info);
    jpeg_set_quality(&info, quality, TRUE);
    jpeg_start_compress(&info, TRUE);
    while (info.next_scanline < info.image_height) {
        JSAMPROW row = (JSAMPROW)(pixels + (size_t)info.next_scanline * (size_t)width * (size_t)channels);
        jpeg_write_scanlines(&info, &row, 1);
    }
    jpeg_finish_compress(&info);
    jpeg_destroy_compress(&info);
    fclose(file);
    return 0;
}

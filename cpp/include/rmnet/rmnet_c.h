/**
 * @file rmnet_c.h
 * @brief C ABI of the rmnet inpainting runtime, for C and for other languages' FFIs.
 *
 * Every function returns an rmnet_status; on failure, rmnet_last_error() gives a message for the
 * calling thread. No C++ exception crosses this boundary. Structs passed in carry their size
 * (struct_size, set by their _init function) so fields can be appended in later versions without
 * breaking old callers: the library reads only the fields a caller's struct_size covers, and
 * steps through the arrays of rmnet_inpainter_run_batch by it.
 *
 * Image and mask structs also carry the length of their buffer (data_size): the library checks
 * every row it will touch against it (and the row arithmetic against overflow) before reading or
 * writing a byte, so a short buffer or a bogus size/pitch is RMNET_ERROR_INVALID_ARGUMENT, never
 * an out-of-bounds access.
 *
 * @code
 *   rmnet_options opt;
 *   rmnet_options_init(&opt);
 *   opt.model_path = "rmnet.onnx";
 *   rmnet_inpainter* inp = NULL;
 *   if (rmnet_inpainter_create(&opt, &inp) != RMNET_OK) fprintf(stderr, "%s\n", rmnet_last_error());
 *
 *   rmnet_image image;
 *   rmnet_image_init(&image);
 *   image.data = rgb;  image.data_size = h * pitch;  image.height = h;  image.width = w;  image.pitch = pitch;
 *   rmnet_mask mask;
 *   rmnet_mask_init(&mask);
 *   mask.data = holes;  mask.data_size = h * w;  mask.height = h;  mask.width = w;
 *   rmnet_inpainter_run(inp, &image, &mask, &image);   // in place
 *   rmnet_inpainter_destroy(inp);
 * @endcode
 */
#ifndef RMNET_C_H
#define RMNET_C_H

#include <stddef.h>
#include <stdint.h>

#if defined(_WIN32)
#define RMNET_CAPI __declspec(dllexport)
#else
#define RMNET_CAPI __attribute__((visibility("default")))
#endif

#ifdef __cplusplus
extern "C" {
#endif

/** Status codes (same values as rmnet::Status). */
typedef enum rmnet_status
{
    RMNET_OK = 0,
    RMNET_ERROR_INVALID_ARGUMENT = 1,
    RMNET_ERROR_MODEL_NOT_FOUND = 2,
    RMNET_ERROR_MODEL_INVALID = 3,
    RMNET_ERROR_ENGINE_MISMATCH = 4,
    RMNET_ERROR_BACKEND_UNAVAILABLE = 5,
    RMNET_ERROR_INFERENCE_FAILED = 6,
    RMNET_ERROR_CUDA = 7,
    RMNET_ERROR_INTERNAL = 8
} rmnet_status;

typedef enum rmnet_backend
{
    RMNET_BACKEND_AUTO = 0,
    RMNET_BACKEND_TENSORRT = 1,
    RMNET_BACKEND_OPENCV = 2
} rmnet_backend;

typedef enum rmnet_precision
{
    RMNET_PRECISION_AUTO = 0,
    RMNET_PRECISION_FP32 = 1,
    RMNET_PRECISION_FP16 = 2
} rmnet_precision;

typedef enum rmnet_strategy
{
    RMNET_STRATEGY_RESIZE = 0,
    RMNET_STRATEGY_ORIGINAL = 1
} rmnet_strategy;

typedef enum rmnet_pixel_format
{
    RMNET_PIXEL_RGB = 0,
    RMNET_PIXEL_BGR = 1
} rmnet_pixel_format;

/** Opaque inpainter handle. */
typedef struct rmnet_inpainter rmnet_inpainter;

/**
 * Non-owning HxWx3 uint8 image; rows are @c pitch bytes apart (0 = tightly packed).
 * Initialise with rmnet_image_init(). struct_size and data_size lead the struct; the first
 * release's layout (without them) is refused with RMNET_ERROR_INVALID_ARGUMENT.
 */
typedef struct rmnet_image
{
    uint32_t struct_size; /**< sizeof(rmnet_image), set by rmnet_image_init */
    uint8_t* data;
    size_t data_size;     /**< bytes at @c data (required): at least (height - 1) * pitch + 3 * width */
    int32_t height;
    int32_t width;
    int32_t channels;     /**< must be 3 */
    size_t pitch;
    int32_t format;       /**< rmnet_pixel_format */
} rmnet_image;

/**
 * Non-owning HxW uint8 mask, nonzero = hole; rows are @c pitch bytes apart (0 = packed).
 * Initialise with rmnet_mask_init(); versioned like rmnet_image.
 */
typedef struct rmnet_mask
{
    uint32_t struct_size; /**< sizeof(rmnet_mask), set by rmnet_mask_init */
    const uint8_t* data;
    size_t data_size;     /**< bytes at @c data (required): at least (height - 1) * pitch + width */
    int32_t height;
    int32_t width;
    size_t pitch;
} rmnet_mask;

/** Creation options; initialise with rmnet_options_init(), then set what you need. */
typedef struct rmnet_options
{
    uint32_t struct_size;    /**< sizeof(rmnet_options), set by rmnet_options_init */
    const char* model_path;  /**< .onnx (OpenCV DNN, CPU) or .engine/.plan (TensorRT) */
    int32_t backend;         /**< rmnet_backend */
    int32_t device;          /**< CUDA device ordinal */
    int32_t precision;       /**< rmnet_precision */
    int32_t strategy;        /**< rmnet_strategy */
    int32_t model_size;      /**< resize strategy: model resolution (multiple of 16), default 256 */
    int32_t cuda_graph;      /**< TensorRT: capture pre+infer+composite (default 1) */
    int32_t check_sidecar;   /**< TensorRT: verify <engine>.json (default 1) */
    const char* onnx_sha256; /**< TensorRT: expected sidecar onnx_sha256, or NULL */
    int32_t num_threads;     /**< OpenCV DNN threads, 0 = default */
} rmnet_options;

/** Per-stage milliseconds of the last run. */
typedef struct rmnet_stage_times
{
    double preprocess_ms;
    double infer_ms;
    double composite_ms;
} rmnet_stage_times;

/** Fills @p options with defaults (auto backend, resize strategy, 256). */
RMNET_CAPI void rmnet_options_init(rmnet_options* options);

/** Zeroes @p image and sets struct_size, 3 channels and RGB. */
RMNET_CAPI void rmnet_image_init(rmnet_image* image);

/** Zeroes @p mask and sets struct_size. */
RMNET_CAPI void rmnet_mask_init(rmnet_mask* mask);

/** Loads a model. On success *out receives a handle to release with rmnet_inpainter_destroy. */
RMNET_CAPI rmnet_status rmnet_inpainter_create(const rmnet_options* options, rmnet_inpainter** out);

/** Inpaints one image into @p out (same size; may alias @p image). */
RMNET_CAPI rmnet_status rmnet_inpainter_run(
    rmnet_inpainter* inpainter, const rmnet_image* image, const rmnet_mask* mask, const rmnet_image* out);

/** Inpaints @p count images. Each array's stride is its first element's struct_size (every
 * element of one array must carry the same struct_size). */
RMNET_CAPI rmnet_status rmnet_inpainter_run_batch(rmnet_inpainter* inpainter, const rmnet_image* images,
    const rmnet_mask* masks, const rmnet_image* outs, int32_t count);

/** Stage timings of the last successful run. */
RMNET_CAPI rmnet_status rmnet_inpainter_stage_times(const rmnet_inpainter* inpainter, rmnet_stage_times* times);

/** Releases a handle (NULL is fine). */
RMNET_CAPI void rmnet_inpainter_destroy(rmnet_inpainter* inpainter);

/** Message of the last failure on this thread ("" if none). Valid until the next call. */
RMNET_CAPI const char* rmnet_last_error(void);

/** Constant name of a status, e.g. "RMNET_ERROR_INVALID_ARGUMENT". */
RMNET_CAPI const char* rmnet_status_string(rmnet_status status);

/** Library version, e.g. "0.1.0". */
RMNET_CAPI const char* rmnet_version(void);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* RMNET_C_H */
